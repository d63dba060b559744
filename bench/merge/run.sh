#!/usr/bin/env bash
# Benchmark: `moerge merge` of a generated bf16 base + 3 fine-tunes (about 2.3 GB of input) with
# linear, ties and dare_ties (and task_arithmetic with --methods) at 1 and 2 ranks, against the read
# floor (bench/merge/read_floor.cpp: the same bytes streamed through mmap with no math) and the torch
# peer (bench/peers/merge_torch.py, mergekit's per-tensor loop) in the same run. Page cache warm.
# Writes bench/results/merge.csv and bench/results/merge.md.
#
# usage: bench/merge/run.sh [--repeat N] [--peer-repeat N] [--gib G] [--methods "linear ties ..."]
#                           [--work DIR] [--bin-dir DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
repeat=3 peer_repeat=2 gib=0.55 methods="linear ties dare_ties" work=${TMPDIR:-/tmp}/moerge-bench-merge
bin_dir=$ROOT/build/release/bin
args="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --peer-repeat) peer_repeat=$2; shift 2 ;;
    --gib) gib=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --bin-dir) bin_dir=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
for exe in moerge moerge_read_floor; do
  [ -x "$bin_dir/$exe" ] || { echo "no $exe in $bin_dir (cmake --preset release && cmake --build build/release --target moerge_cli moerge_read_floor)" >&2; exit 1; }
done
export OMP_NUM_THREADS=1
mpirun="mpirun --allow-run-as-root --oversubscribe --bind-to none"
models=$work/models-${gib}gib
[ -f "$models/ft3/model.safetensors" ] || /usr/bin/python3 "$ROOT/bench/merge/make_models.py" "$models" --gib "$gib"
files="$models/base/model.safetensors $models/ft1/model.safetensors $models/ft2/model.safetensors $models/ft3/model.safetensors"
bytes=$(stat -c %s $files | awk '{ s += $1 } END { printf "%.0f", s }')

mkdir -p "$work/recipes"
recipe() {  # recipe METHOD: the mergekit recipe the benchmark runs
  case "$1" in
    linear) printf 'models:\n' ; for m in base ft1 ft2 ft3; do printf '  - {model: %s, parameters: {weight: 0.25}}\n' "$models/$m"; done
            printf 'merge_method: linear\ndtype: bfloat16\n' ;;
    *) printf 'models:\n'; for m in ft1 ft2 ft3; do printf '  - {model: %s, parameters: {weight: 0.5, density: 0.5}}\n' "$models/$m"; done
       printf 'merge_method: %s\nbase_model: %s\ndtype: bfloat16\n' "$1" "$models/base"
       [ "$1" = dare_ties ] && printf 'rescale_mode: inverse_density\nseed: 0\n'
       [ "$1" = task_arithmetic ] && printf 'parameters: {normalize: true}\n'
       true ;;
  esac
}
for method in $methods; do recipe "$method" > "$work/recipes/$method.yml"; done

raw=$work/raw.csv
echo "tool,method,ranks,run,seconds,peak_rss_kb_max_rank" > "$raw"
now() { date +%s.%N; }
max_rss() { cat "$work"/rss.* | sort -n | tail -1; }
per_rank() {  # per_rank CMD...: run CMD under /usr/bin/time, peak RSS into $work/rss.<rank>
  echo 'exec /usr/bin/time -f %M -o "'"$work"'/rss.${OMPI_COMM_WORLD_RANK:-0}" "$@"'
}
record() {  # record TOOL METHOD RANKS RUN START
  local seconds rss
  seconds=$(awk -v a="$5" -v b="$(now)" 'BEGIN { printf "%.4f", b - a }')
  rss=$(max_rss)
  echo "$1,$2,$3,$4,$seconds,$rss" >> "$raw"
  awk -v t="$1" -v m="$2" -v n="$3" -v r="$4" -v s="$seconds" -v k="$rss" -v g="$bytes" \
    'BEGIN { printf "  %-18s %-16s %d rank run %d: %7.2f s  %6.3f GB/s  peak RSS %7.1f MB/rank\n", t, m, n, r, s, g / 1e9 / s, k / 1024 }'
}
echo "load average (1, 5, 15 min) at the start: $(cut -d' ' -f1-3 /proc/loadavg)" > "$work/load.txt"
cat $files > /dev/null  # warm the page cache: 2.3 GB of 24 GiB, every run reads from memory
wrap=$(per_rank)
for run in $(seq 1 "$repeat"); do
  for ranks in 1 2; do
    rm -f "$work"/rss.*; start=$(now)
    $mpirun -np "$ranks" bash -c "$wrap" _ "$bin_dir/moerge_read_floor" $files > /dev/null
    record read_floor all "$ranks" "$run" "$start"
    for method in $methods; do
      rm -rf "$work/out" "$work/.out.moerge-partial" "$work"/rss.*; sync; start=$(now)
      $mpirun -np "$ranks" bash -c "$wrap" _ "$bin_dir/moerge" merge "$work/recipes/$method.yml" "$work/out" --quiet
      record moerge "$method" "$ranks" "$run" "$start"
      if [ "$run" = 1 ] && [ "$ranks" = 1 ]; then cp "$work/out/model.safetensors" "$work/moerge-$method.safetensors"; fi
    done
  done
  if [ "$run" -le "$peer_repeat" ]; then
    for method in $methods; do
      weight=0.5; [ "$method" = linear ] && weight=0.25
      rm -rf "$work/peer" "$work"/rss.*; sync; start=$(now)
      bash -c "$wrap" _ /usr/bin/python3 "$ROOT/bench/peers/merge_torch.py" "$method" "$work/peer" --base "$models/base" \
        --models "$models/ft1" "$models/ft2" "$models/ft3" --weight "$weight" --density 0.5 > /dev/null
      record torch_peer "$method" 1 "$run" "$start"
      if [ "$run" = 1 ] && [ "$method" = linear ]; then
        echo "  linear: moerge (1 rank) against the torch peer:"
        /usr/bin/python3 "$ROOT/bench/merge/compare.py" "$work/moerge-linear.safetensors" "$work/peer/model.safetensors" \
          | tee "$work/linear_check.txt"
      fi
    done
  fi
done
rm -rf "$work/out" "$work/peer"
echo "load average (1, 5, 15 min) at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$work/load.txt"
# report.py appends bench/merge/notes.md (what changed, earlier figures) when it exists.
/usr/bin/python3 "$ROOT/bench/merge/report.py" "$raw" "$bytes" "$ROOT/bench/results" "$work/linear_check.txt" \
  "bench/merge/run.sh${args:+ $args}" "$work/load.txt" "$ROOT/bench/merge/notes.md"
