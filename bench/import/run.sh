#!/usr/bin/env bash
# Benchmark: import of a generated ~1 GiB bf16 safetensors model into an expert library
# (`moerge library init LIB --base DIR`), against `cp` of the same file to the same filesystem
# in the same run (with and without fsync, since moerge fsyncs what it publishes).
# Writes bench/results/import.csv and bench/results/import.md.
#
# usage: bench/import/run.sh [--repeat N] [--gib G] [--work DIR] [--bin MOERGE] [--before MOERGE_OLD]
# --before also times an older build in the same runs (tool moerge_import_before), for a
# before/after comparison under the same machine load.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
repeat=5 gib=1.0 work=${TMPDIR:-/tmp}/moerge-bench-import bin=$ROOT/build/release/bin/moerge before=""
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --gib) gib=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --before) before=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "no moerge binary at $bin (./moerge.sh build release)" >&2; exit 1; }
mkdir -p "$work"
model=$work/model-${gib}gib
[ -f "$model/model.safetensors" ] || /usr/bin/python3 "$ROOT/bench/import/make_model.py" "$model" --gib "$gib"
src=$model/model.safetensors
bytes=$(stat -c %s "$src")
raw=$work/raw.csv
echo "tool,run,seconds,peak_rss_kb,cpu_seconds,load1" > "$raw"
cat "$src" > /dev/null  # warm the page cache: every run reads from memory
timed() {  # timed TOOL RUN CMD...: append wall seconds, peak RSS, CPU seconds and load of CMD to raw.csv
  local tool=$1 run=$2; shift 2
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)  # the machine may be shared: record how busy it was
  /usr/bin/time -f "%e %M %U %S" -o "$work/time.txt" "$@" > /dev/null
  read -r seconds rss user sys < "$work/time.txt"
  local cpu
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  echo "$tool,$run,$seconds,$rss,$cpu,$load" >> "$raw"
  awk -v t="$tool" -v r="$run" -v s="$seconds" -v m="$rss" -v c="$cpu" -v l="$load" \
    'BEGIN { printf "  %-14s run %d: %6.2f s  cpu %5.2f s  peak RSS %7.1f MB  load %s\n", t, r, s, c, m / 1024, l }'
}
for run in $(seq 1 "$repeat"); do
  rm -rf "$work/copy" "$work/lib" && sync
  timed cp "$run" cp "$src" "$work/copy"
  rm -f "$work/copy" && sync
  timed cp_fsync "$run" bash -c "cp '$src' '$work/copy' && sync '$work/copy'"
  rm -f "$work/copy" && sync
  timed moerge_import "$run" "$bin" library init "$work/lib" --base "$model" --quiet
  if [ -n "$before" ]; then
    rm -rf "$work/lib" && sync
    timed moerge_import_before "$run" "$before" library init "$work/lib" --base "$model" --quiet
  fi
done
rm -rf "$work/copy" "$work/lib"
/usr/bin/python3 "$ROOT/bench/import/report.py" "$raw" "$bytes" "$ROOT/bench/results" \
  "bench/import/run.sh --repeat $repeat --gib $gib${before:+ --before $before}"
