#!/usr/bin/env bash
# The compatibility run: every package's unit tests on the machine's own
# Node (20 here) against the previous OpenTelemetry JS line, sdk-metrics
# 2.12.x with api 1.9.x, which the packages' peer ranges promise. It works
# on a copy of the sources in .cache/compat/ (git-ignored) whose package.json
# files pin that line; its node_modules is reused while they are unchanged.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$root/.cache/compat"

# npm scripts put the pinned Node (the `node` devDependency) first on PATH.
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/node_modules/\.bin$' | paste -sd:)"
export PATH

mkdir -p "$work"
rm -rf "$work/packages" "$work/test" "$work/examples"
(cd "$root" && git ls-files -co --exclude-standard | grep -v '^scratch/' | tar -cf - -T -) | (cd "$work" && tar -xf -)

cd "$work"
rm -f package-lock.json
node - <<'JS'
const fs = require('node:fs');
// Every OpenTelemetry devDependency moves to the previous line: the stable
// packages from 3.1.x to 2.12.0, the experimental ones from 0.301.x to
// 0.223.0 (which pin the SDK at exactly 2.12.0: one copy of each), the API to
// 1.9.0. A rule, not a list, so a devDependency added later moves with them.
// The logs SDK became stable with 3.x: its 2.12 line is experimental.
const experimentalBefore = new Set(['@opentelemetry/sdk-logs']);
const previousLine = (name, version) =>
  version.startsWith('3.') ? (experimentalBefore.has(name) ? '0.223.0' : '2.12.0')
    : version.startsWith('0.301.') ? '0.223.0'
    : version.startsWith('1.10.') ? '1.9.0'
    : null;
for (const file of ['package.json', ...fs.readdirSync('packages').map(p => `packages/${p}/package.json`)]) {
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  const deps = pkg.devDependencies ?? {};
  delete deps.node; // the machine's own Node, not the pinned one
  for (const [name, version] of Object.entries(deps)) {
    if (!name.startsWith('@opentelemetry/')) continue;
    const previous = previousLine(name, version);
    if (!previous) throw new Error(`compat: no previous line known for ${name}@${version}`);
    deps[name] = previous;
  }
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
}
JS
stamp="$(cat package.json packages/*/package.json | sha256sum | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat .installed 2>/dev/null)" != "$stamp" ]; then
  npm install --no-audit --no-fund --loglevel=error
  echo "$stamp" >.installed
fi
version() { node -p "JSON.parse(require('fs').readFileSync('node_modules/$1/package.json')).version"; }
echo "compat: Node $(node --version), @opentelemetry/sdk-metrics $(version @opentelemetry/sdk-metrics), @opentelemetry/api $(version @opentelemetry/api)"
npx tsc -b packages/*/tsconfig.json
npx lerna run test --scope '@datapunk/*'
