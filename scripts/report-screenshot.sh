#!/usr/bin/env bash
# Takes a screenshot of a tcbench HTML report (tcbench -report DIR) with
# headless Chromium, installing Debian's chromium (and the Liberation
# fonts the charts are measured with) when they are missing.
#
#   scripts/report-screenshot.sh DIR out.png [WIDTH,HEIGHT]
#
# The window is 1280x2000 unless WIDTH,HEIGHT is given; the page beyond it
# is cut off.
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  echo "usage: $0 REPORT_DIR OUT.png [WIDTH,HEIGHT]" >&2
  exit 2
fi
dir=$1 out=$2 size=${3:-1280,2000}
if [ ! -f "$dir/index.html" ]; then
  echo "$0: $dir/index.html not found (write one with: go run ./cmd/tcbench -report $dir)" >&2
  exit 2
fi

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/fonts/truetype/liberation ] || need+=(fonts-liberation)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$0: needs ${need[*]}; install them (apt-get install ${need[*]}) or run as root on Debian" >&2
    exit 1
  fi
  echo "== installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

page=$(cd "$dir" && pwd)/index.html
case $out in /*) ;; *) out=$PWD/$out ;; esac
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"
# --no-sandbox: Chromium refuses to run as root otherwise.
chromium --headless --disable-gpu --no-sandbox --disable-dev-shm-usage --hide-scrollbars \
  --user-data-dir="$profile" --window-size="$size" --screenshot="$out" "file://$page" 2>/dev/null || true
if [ ! -s "$out" ]; then
  echo "$0: chromium wrote no screenshot" >&2
  exit 1
fi
echo "$out"
