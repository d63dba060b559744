#!/usr/bin/env bash
# Benchmark: tokens/s of moerge's Llama runtime (bench/runtime/bench_runtime.cpp) against the torch
# peer (bench/peers/runtime_torch.py: HF-style eager forward + KV cache, OpenBLAS, 2 threads,
# inference_mode) on the zoo base (data/zoo/base, d 128, 4 layers, context 128) and a generated
# ~100M-parameter model (bench/runtime/make_model.py, d 768, 12 layers, context 256): prefill of
# 16 sequences, KV-cached decode at batch 1 and 16, and routed (Arrow top-2 over 16 LoRA experts,
# unmerged) against the dense base at the same shapes. Every measurement is one process under
# /usr/bin/time (peak RSS); moerge and the peer run back to back. The peer runs at 2 threads (the
# brief) and at 1 thread: on the shared 2-core machine OpenMP's 2 threads can be much slower than 1
# when the other core is busy, so the report compares against the faster of the two. Writes bench/results/runtime.csv
# and bench/results/runtime.md.
#
# usage: bench/runtime/run.sh [--repeat N] [--models "zoo gen100m"] [--work DIR] [--bin-dir DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
repeat=3 models="zoo gen100m" work=${TMPDIR:-/tmp}/moerge-bench-runtime bin_dir=$ROOT/build/release/bin
args="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --bin-dir) bin_dir=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bench=$bin_dir/moerge_bench_runtime
[ -x "$bench" ] || { echo "no moerge_bench_runtime in $bin_dir (cmake --preset release && cmake --build build/release --target moerge_bench_runtime)" >&2; exit 1; }
peer="/usr/bin/python3 $ROOT/bench/peers/runtime_torch.py"
mkdir -p "$work"

# The models and their 16 LoRA experts. The zoo has 15 (14 domains + multitask): one generated
# rank-8 adapter is added so that both models route over 16.
[ -f "$work/gen100m/lora/expert15/adapter_model.safetensors" ] ||
  /usr/bin/python3 "$ROOT/bench/runtime/make_model.py" "$work/gen100m"
[ -f "$work/zoo-extra/lora/generated00/adapter_model.safetensors" ] ||
  /usr/bin/python3 "$ROOT/bench/runtime/make_model.py" --adapters-only "$ROOT/data/zoo/base" "$work/zoo-extra" \
    --n-adapter 1 --prefix generated --seed 1
model_dir() { case "$1" in zoo) echo "$ROOT/data/zoo/base" ;; *) echo "$work/$1/base" ;; esac; }
lora_args() {
  case "$1" in
    zoo) for dir in "$ROOT"/data/zoo/experts/lora/*/ "$work/zoo-extra/lora/generated00"; do printf -- '--lora %s ' "${dir%/}"; done ;;
    *) for dir in "$work/$1"/lora/*/; do printf -- '--lora %s ' "${dir%/}"; done ;;
  esac
}
# Shapes per model: prefill B x L, decode prompt P + N steps, within the model's context.
shapes() {
  case "$1" in
    zoo) echo "--length 128 --prompt 64 --steps 64" ;;
    *) echo "--length 256 --prompt 128 --steps 128" ;;
  esac
}

raw=$work/raw.csv
echo "tool,model,mode,phase,batch,n_token,best_s,median_s,tokens_per_s,runs,peak_rss_kb" > "$raw"
: > "$work/checks.txt"
measure() {  # measure TOOL MODEL CMD...: run CMD under /usr/bin/time, append its RESULT lines to raw.csv
  local tool=$1 model=$2 rss
  shift 2
  /usr/bin/time -f %M -o "$work/rss" "$@" > "$work/out.txt"
  rss=$(tail -1 "$work/rss")
  grep '^CHECK' "$work/out.txt" | sed "s/^/$model /" >> "$work/checks.txt" || true
  grep '^RESULT' "$work/out.txt" | while read -r _ fields; do
    declare -A kv=()
    for field in $fields; do kv[${field%%=*}]=${field#*=}; done
    echo "$tool,$model,${kv[mode]},${kv[phase]},${kv[batch]},${kv[n_token]},${kv[best_s]},${kv[median_s]},${kv[tokens_per_s]},${kv[runs]},$rss" >> "$raw"
    printf '  %-6s %-8s %-7s %-7s batch %2s: %10.1f tokens/s (best of %s)  peak RSS %7.1f MB\n' \
      "$tool" "$model" "${kv[mode]}" "${kv[phase]}" "${kv[batch]}" "${kv[tokens_per_s]}" "${kv[runs]}" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
  done
}

for model in $models; do
  dir=$(model_dir "$model")
  cat "$dir/model.safetensors" > /dev/null  # page cache warm
  shape=$(shapes "$model")
  echo "$model: $dir ($shape, repeat $repeat)"
  rm -rf "$work/check-$model"
  measure moerge "$model" "$bench" --model "$dir" --mode prefill --batch 16 $shape --repeat "$repeat" --check-dir "$work/check-$model"
  measure torch "$model" $peer --model "$dir" --mode prefill --batch 16 $shape --repeat "$repeat" --check-dir "$work/check-$model"
  measure torch1 "$model" $peer --model "$dir" --mode prefill --batch 16 $shape --repeat "$repeat" --threads 1
  for batch in 1 16; do
    measure moerge "$model" "$bench" --model "$dir" --mode decode --batch "$batch" $shape --repeat "$repeat"
    measure torch "$model" $peer --model "$dir" --mode decode --batch "$batch" $shape --repeat "$repeat"
    measure torch1 "$model" $peer --model "$dir" --mode decode --batch "$batch" $shape --repeat "$repeat" --threads 1
  done
  for phase_batch in prefill:16 decode:1 decode:16; do
    measure moerge "$model" "$bench" --model "$dir" --mode routed --phase "${phase_batch%:*}" --batch "${phase_batch#*:}" \
      $shape --repeat "$repeat" --top-k 2 $(lora_args "$model")
  done
done
cat "$work/checks.txt"
/usr/bin/python3 "$ROOT/bench/runtime/report.py" "$raw" "$work/checks.txt" "$ROOT/bench/results" \
  "bench/runtime/run.sh${args:+ $args}" "$bench"
