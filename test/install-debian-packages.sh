#!/usr/bin/env bash
# Installs Prometheus and promtool for the end-to-end suite from Debian's
# `prometheus` package (2.42: native histograms and the remote-write
# receiver behind flags), unless both are already on the PATH. The package's
# own service is not used: the tests start their own server on a free
# loopback port with a data folder of their own. Without apt (or root) the
# install is skipped with a message, except in CI (CI=true), where it fails.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  echo "prometheus: reusing $(prometheus --version 2>&1 | head -1)"
  exit 0
fi
fail() {
  if [ "${CI:-}" = "true" ]; then
    echo "prometheus: $1; the end-to-end suite needs it in CI" >&2
    exit 1
  fi
  echo "prometheus: $1; skipping (the Prometheus tests will be skipped)" >&2
  exit 0
}
command -v apt-get >/dev/null 2>&1 || fail "apt-get is not available"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "installing needs root or sudo"
  sudo="sudo"
fi
echo "prometheus: installing Debian's prometheus package"
# policy-rc.d keeps the package from starting its system service.
policy=/usr/sbin/policy-rc.d
placed=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  placed=1
fi
trap 'if [ -n "$placed" ]; then $sudo rm -f "$policy"; fi' EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
prometheus --version 2>&1 | head -1
