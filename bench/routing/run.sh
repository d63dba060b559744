#!/usr/bin/env bash
# The routing table: every router of docs/routing.md on every zoo domain's test split, written to
# bench/results/routing.csv (system,domain,split,n_bytes,bits_per_byte) and routing.md (report.py).
# Usage: bench/routing/run.sh [MOERGE_BIN]   (default: build/release/bin/moerge, then build-*-release)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
zoo="$root/data/zoo"
bin="${1:-${MOERGE_BIN:-}}"
if [[ -z "$bin" ]]; then
  for candidate in "$root/build/release/bin/moerge" "$root/build-routers-release/bin/moerge"; do
    [[ -x "$candidate" ]] && { bin="$candidate"; break; }
  done
fi
[[ -x "$bin" ]] || { echo "run.sh: no moerge binary (give its path as the first argument)" >&2; exit 2; }
out="$root/bench/results"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1

experts=()
in_domains=()
while IFS=$'\t' read -r name held_out lora; do
  if [[ "$held_out" == "False" ]]; then
    experts+=(--expert "$zoo/$lora")
    in_domains+=(--domain "$name=$zoo/eval/$name/test")
  fi
done < <(/usr/bin/python3 -c "
import json, sys
for d in json.load(open('$zoo/domains.json'))['domains']:
    print(d['name'], d.get('held_out', False), d.get('lora_expert', ''), sep='\t')")

timings="$work/timings.tsv"
run() {  # run SYSTEM ARGS...: one moerge eval, its CSV in $work/SYSTEM.csv, its time in timings.tsv
  local system="$1"; shift
  local start end
  start=$(date +%s.%N)
  nice -n 10 "$bin" eval --model "$zoo/base" "$@" --system-name "$system" --quiet -o "$work/$system.csv"
  end=$(date +%s.%N)
  printf '%s\t%.1f\n' "$system" "$(echo "$end - $start" | bc)" | tee -a "$timings" >&2
}

all=(--domains-json "$zoo/domains.json")
run base "${all[@]}"
run oracle "${experts[@]}" --router oracle "${in_domains[@]}"
run multitask --expert "$zoo/experts/lora/multitask" "${all[@]}"
run uniform_merge "${experts[@]}" --router uniform_merge "${all[@]}"
run arrow_top2 "${experts[@]}" --router arrow --top-k 2 "${all[@]}"
run arrow_top4 "${experts[@]}" --router arrow --top-k 4 "${all[@]}"
run phatgoose "${experts[@]}" --router phatgoose "${all[@]}"
run centroid "${experts[@]}" --router centroid "${all[@]}"
run retrieval "${experts[@]}" --router retrieval "${all[@]}"
run cbtm "${experts[@]}" --router cbtm "${all[@]}"
run learned "${experts[@]}" --router learned "${all[@]}"
run lorahub "${experts[@]}" --router lorahub "${all[@]}"

{
  echo "system,domain,split,n_bytes,bits_per_byte"
  for system in base oracle multitask uniform_merge arrow_top2 arrow_top4 phatgoose centroid retrieval cbtm learned lorahub; do
    tail -n +2 "$work/$system.csv"
  done
} > "$out/routing.csv.tmp"
mv "$out/routing.csv.tmp" "$out/routing.csv"
cp "$timings" "$out/routing_timings.tsv"
/usr/bin/python3 "$root/bench/routing/report.py" "$out/routing.csv" "$out/routing_timings.tsv" \
  --command "bench/routing/run.sh $bin" > "$out/routing.md.tmp"
mv "$out/routing.md.tmp" "$out/routing.md"
echo "wrote $out/routing.csv and $out/routing.md" >&2
