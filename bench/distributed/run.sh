#!/usr/bin/env bash
# Benchmark: expert-parallel serving (bench/distributed/bench_distributed.cpp) on the zoo base
# (data/zoo/base) with (a) the 14 domain LoRA experts of data/zoo/experts/lora and (b) 64 random
# rank-8 LoRA experts generated in memory by their host ranks, Arrow top-2, at 1 and 2 ranks:
# prefill of 16 x 128 windows of the zoo's eval text, KV-cached decode at batch 1 and 16, each as
# dense base (the peer), routed through serve::ExpertDispatcher and, at one rank, routed in-process.
# At 2 ranks it also measures MPI ping-pong between ranks 0 and 1. A 3-rank run of the generated set
# measures memory only (3 ranks oversubscribe the 2 cores: no timings). Writes
# bench/results/distributed.csv (+ distributed_{memory,comm,gemm,load}.csv) and distributed.md (report.py), and the
# cost-model tables of docs/scaling.md (model.py, printed).
#
# usage: bench/distributed/run.sh [--repeat N] [--bin-dir DIR] [--work DIR]
#   --bin-dir: a build's bin/ holding moerge_bench_distributed; default: build/release/bin, built
#   first with the release preset (cmake --preset release; cmake --build --preset release).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
repeat=5 work=${TMPDIR:-/tmp}/moerge-bench-distributed bin_dir=""
args="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --bin-dir) bin_dir=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$bin_dir" ]; then
  (cd "$ROOT" && cmake --preset release > /dev/null && nice -n 10 cmake --build build/release -j2 --target moerge_bench_distributed)
  bin_dir=$ROOT/build/release/bin
fi
bench=$bin_dir/moerge_bench_distributed
[ -x "$bench" ] || { echo "no moerge_bench_distributed in $bin_dir" >&2; exit 1; }
mkdir -p "$work"
raw=$work/raw.txt
: > "$raw"

export OMP_NUM_THREADS=1
mpirun_n() { mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$@"; }
base=$ROOT/data/zoo/base
text=$ROOT/data/zoo/eval
cat "$base/model.safetensors" "$ROOT"/data/zoo/experts/lora/*/adapter_model.safetensors > /dev/null  # page cache warm
zoo_args=()
for dir in "$ROOT"/data/zoo/experts/lora/*/; do
  name=$(basename "$dir")
  [ "$name" = multitask ] && continue  # the 14 domain experts
  zoo_args+=(--lora "${dir%/}")
done
common=(--model "$base" --text "$text" --batch 16 --length 128 --prompt 64 --steps 64 --top-k 2 --repeat "$repeat")

run() {  # run RANKS ARGS...: one mpirun, its output appended to raw.txt
  local ranks=$1
  shift
  echo "== $ranks rank(s): $*" | cut -c1-160
  mpirun_n "$ranks" "$bench" "$@" | tee -a "$raw" | grep -E '^(RESULT|MEMORY)' | cut -c1-200
}
for ranks in 1 2; do
  run "$ranks" "${common[@]}" --label zoo14 "${zoo_args[@]}"
  run "$ranks" "${common[@]}" --label gen64 --generate 64 --generate-rank 8 --seed 1 --comm 0
done
# The same 2-rank zoo run with the base product after the exchange instead of during it: what the
# overlap gains.
run 2 "${common[@]}" --label zoo14_no_overlap --overlap 0 "${zoo_args[@]}" --comm 0
run 3 "${common[@]}" --label gen64 --generate 64 --generate-rank 8 --seed 1 --memory-only 1 --comm 0

/usr/bin/python3 "$ROOT/bench/distributed/report.py" "$raw" "$ROOT/bench/results" \
  "bench/distributed/run.sh${args:+ $args}" "$bench"
/usr/bin/python3 "$ROOT/bench/distributed/model.py" "$ROOT/bench/results/distributed.csv" \
  "$ROOT/bench/results/distributed_comm.csv"
