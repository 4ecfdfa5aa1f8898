#!/usr/bin/env bash
# Installs the Debian packages the end-to-end and browser suites need, each
# unless its programs are already on the PATH:
#   prometheus  Prometheus and promtool 2.42 (native histograms and the
#               remote-write receiver behind flags)
#   chromium    the browser the dashboard tests drive (/usr/bin/chromium)
# Package services are not started: the tests start their own processes on
# free loopback ports. Without apt-get (or root/sudo) the install is skipped
# with a message, except in CI (CI=true), where it fails.
set -euo pipefail

declare -A PROGRAMS=([prometheus]="prometheus promtool" [chromium]="chromium")
missing=()
for package in "$@"; do
  for program in ${PROGRAMS[$package]:?unknown package $package}; do
    if ! command -v "$program" >/dev/null 2>&1; then
      missing+=("$package")
      break
    fi
  done
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "debian packages: reusing $*"
  exit 0
fi

fail() {
  if [ "${CI:-}" = "true" ]; then
    echo "debian packages: $1; the suites need ${missing[*]} in CI" >&2
    exit 1
  fi
  echo "debian packages: $1; skipping (the suites that need ${missing[*]} will be skipped)" >&2
  exit 0
}
command -v apt-get >/dev/null 2>&1 || fail "apt-get is not available"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "installing needs root or sudo"
  sudo="sudo"
fi
echo "debian packages: installing ${missing[*]}"
# policy-rc.d keeps the packages from starting system services.
policy=/usr/sbin/policy-rc.d
placed=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  placed=1
fi
trap 'if [ -n "$placed" ]; then $sudo rm -f "$policy"; fi' EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for package in "${missing[@]}"; do
  for program in ${PROGRAMS[$package]}; do
    echo "  $(command -v "$program")"
  done
done
