#!/usr/bin/env bash
# Copies the Numenta Anomaly Benchmark's labelled operations series
# (realAWSCloudwatch, realKnownCause) and their label windows from a git
# snapshot of numenta/NAB into bench/data/nab/ (git-ignored), for
# bench:detection's real-data table. See bench/README.md.
#   bench/fetch-nab.sh [path to the NAB git dir]
set -euo pipefail
src="${1:-/work/.mirror/numenta+NAB/repo}"
out="$(cd "$(dirname "$0")" && pwd)/data/nab"
git --git-dir="$src" rev-parse --verify HEAD >/dev/null
mkdir -p "$out/data/realAWSCloudwatch" "$out/data/realKnownCause" "$out/labels"
git --git-dir="$src" show HEAD:labels/combined_windows.json >"$out/labels/combined_windows.json"
for dir in realAWSCloudwatch realKnownCause; do
  git --git-dir="$src" ls-tree --name-only "HEAD:data/$dir" | while read -r file; do
    git --git-dir="$src" show "HEAD:data/$dir/$file" >"$out/data/$dir/$file"
  done
done
git --git-dir="$src" rev-parse HEAD >"$out/COMMIT"
echo "copied $(find "$out/data" -name '*.csv' | wc -l) series to $out (NAB commit $(cat "$out/COMMIT"))"
