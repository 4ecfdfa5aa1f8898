#!/usr/bin/env bash
# The runtimes the packaging test installs with, each as a user has it: a
# Node binary with the npm version that Node release bundles, plus pnpm.
#   node20: the machine's own Node (20.x here)
#   node22: the newest Node 22 (the `node@22` package)
#   node24: the pinned Node (the root `node` devDependency, 24.21.0)
# Each gets .cache/packaging/runtimes/<id>/bin/{node,npm,npx,pnpm}; the test
# puts that folder first on PATH. The bundled npm version is read from the
# Node release's own changelog (the first "upgrade npm to" at or below its
# version heading). Everything is cached under .cache/packaging/ (git-ignored)
# and reused; delete that folder to provision afresh.
# Usage: provision.sh [node20 node22 node24] (default: all three)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="$root/.cache/packaging"

# npm scripts put the pinned Node (the `node` devDependency) first on PATH:
# the machine's Node and npm come back without node_modules/.bin.
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/node_modules/\.bin$' | paste -sd:)"
export PATH
# Settings of an enclosing `npm run` must not reach the installs below.
while IFS= read -r name; do unset "$name"; done < <(env | grep -o '^npm_[^=]*' || true)

PNPM_RANGE=10

# Installs `spec` into its own folder under .cache/packaging/ with the
# machine's npm, once. Prints the folder.
install_once() {
  local dir="$cache/$1" spec="$2"
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    # npm 11 runs a dependency's install script only if the project allows it
    # (the `node` package fetches its binary in one).
    printf '{ "private": true, "allowScripts": { "node": true } }\n' >"$dir/package.json"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$spec" >&2
    touch "$dir/.done"
  fi
  printf '%s' "$dir"
}

# The npm version bundled with the Node release `version`, from `changelog`.
bundled_npm() {
  local version="$1" changelog="$2"
  awk -v heading="Version ${version//./\\.}[ ']" '
    $0 ~ "^## " && $0 ~ heading { found = 1 }
    found && !printed && match($0, /upgrade npm to [0-9]+\.[0-9]+\.[0-9]+/) {
      print substr($0, RSTART + 15, RLENGTH - 15); printed = 1
    }' "$changelog"
}

# The changelog of the Node release line that `node_bin` belongs to: in the
# `node-<os>-<arch>` package of the `node` package (whose bin/node is a hard
# link to that package's), or in the Debian/NodeSource docs.
changelog_of() {
  local node_bin major prefix
  node_bin="$(readlink -f "$1")"
  major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
  prefix="$(dirname "$(dirname "$node_bin")")"
  for candidate in "$prefix"/node_modules/node-*/CHANGELOG.md \
    "$prefix/share/doc/nodejs/changelogs/CHANGELOG_V$major.md" \
    "$prefix/share/doc/nodejs/changelogs/CHANGELOG_V$major.md.gz"; do
    if [ -f "$candidate" ]; then
      printf '%s' "$candidate"
      return
    fi
  done
  echo "provision: no changelog of Node $major found beside $node_bin (a later root \`npm install\` prunes the node-<os>-<arch> package: \`npm rebuild node\` brings it back)" >&2
  return 1
}

# runtime ID NODE_BINARY: the bin folder of one runtime.
runtime() {
  local id="$1" node_bin version changelog npm_version npm_dir pnpm_dir bin
  node_bin="$(readlink -f "$2")"
  version="$("$node_bin" -p process.versions.node)"
  if [ "${version%%.*}" != "${id#node}" ]; then
    echo "provision: $id needs Node ${id#node}, $node_bin is $version" >&2
    return 1
  fi
  changelog="$(changelog_of "$node_bin")"
  npm_version="$(zcat -f "$changelog" | bundled_npm "$version" /dev/stdin)"
  if [ -z "$npm_version" ]; then
    echo "provision: no npm upgrade at or below Node $version in $changelog" >&2
    return 1
  fi
  npm_dir="$(install_once "npm-$npm_version" "npm@$npm_version")"
  pnpm_dir="$(install_once "pnpm-$PNPM_RANGE" "pnpm@$PNPM_RANGE")"
  bin="$cache/runtimes/$id/bin"
  rm -rf "$bin" && mkdir -p "$bin"
  ln -s "$node_bin" "$bin/node"
  ln -s "$npm_dir/node_modules/npm/bin/npm-cli.js" "$bin/npm"
  ln -s "$npm_dir/node_modules/npm/bin/npx-cli.js" "$bin/npx"
  ln -s "$pnpm_dir/node_modules/pnpm/bin/pnpm.cjs" "$bin/pnpm"
  echo "provision: $id = Node $version, npm $(cd / && "$bin/node" "$bin/npm" --version), pnpm $(cd / && "$bin/node" "$bin/pnpm" --version)" >&2
}

for id in "${@:-node20 node22 node24}"; do
  for one in $id; do
    case "$one" in
    node20) runtime node20 "$(command -v node)" ;;
    node22) runtime node22 "$(install_once node-22 node@22)/node_modules/node/bin/node" ;;
    node24) runtime node24 "$root/node_modules/node/bin/node" ;;
    *)
      echo "provision: unknown runtime $one (node20, node22, node24)" >&2
      exit 1
      ;;
    esac
  done
done
