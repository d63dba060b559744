#!/usr/bin/env bash
# tests/scripts/eval_routers.sh: `moerge eval --router` on the expert zoo: the oracle reproduces each
# expert's own figure of data/zoo/results/bpb.csv (1e-6 relative), uniform_merge equals a dense
# merge done by `moerge merge` (linear, 1/14 each) evaluated as a model (1e-5 relative), a
# sequence router gives the same CSV on 1 and 2 MPI ranks, and bad inputs end with one error line
# naming what to fix (unknown router, missing data sample, oracle without the domain's expert,
# an adapter of another base, a granularity the router does not have).
#
# Env (set by ctest): MOERGE_BIN, MOERGE_SOURCE_DIR, MOERGE_BINARY_DIR.
set -euo pipefail

: "${MOERGE_BIN:?set MOERGE_BIN to the moerge executable}"
: "${MOERGE_SOURCE_DIR:?set MOERGE_SOURCE_DIR to the source tree}"
: "${MOERGE_BINARY_DIR:?set MOERGE_BINARY_DIR to the build tree}"

PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 OMP_NUM_THREADS=1
ZOO=$MOERGE_SOURCE_DIR/data/zoo
MPI="mpirun --allow-run-as-root --oversubscribe"
SCRATCH=$(mktemp -d "$MOERGE_BINARY_DIR/eval_routers.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

say() { printf 'eval_routers: %s\n' "$*"; }
fail() {
  printf 'eval_routers: FAIL: %s\n' "$*" >&2
  exit 1
}

EXPERTS=()
IN_DOMAINS=()
while IFS=$'\t' read -r name lora; do
  EXPERTS+=(--expert "$ZOO/$lora")
  IN_DOMAINS+=(--domain "$name=$ZOO/eval/$name/test")
done < <("$PY" -c "
import json
for d in json.load(open('$ZOO/domains.json'))['domains']:
    if not d.get('held_out'): print(d['name'], d['lora_expert'], sep='\t')")
[[ ${#EXPERTS[@]} -ge 4 ]] || fail "domains.json lists fewer than 2 in-distribution experts"

# 1. The oracle: each domain with its own expert == the zoo's lora_<domain> figure.
"$MOERGE_BIN" eval --model "$ZOO/base" "${EXPERTS[@]}" --router oracle "${IN_DOMAINS[@]}" -q -o "$SCRATCH/oracle.csv"
"$PY" - "$SCRATCH/oracle.csv" "$ZOO/results/bpb.csv" <<'PYEOF' || fail "oracle differs from results/bpb.csv"
import csv, sys
ours = list(csv.DictReader(open(sys.argv[1])))
card = {(r["system"], r["domain"]): float(r["bits_per_byte"]) for r in csv.DictReader(open(sys.argv[2]))}
assert len(ours) >= 2, ours
worst = 0.0
for row in ours:
    assert row["system"] == "oracle", row
    expected = card[("lora_" + row["domain"], row["domain"])]
    worst = max(worst, abs(float(row["bits_per_byte"]) - expected) / expected)
print(f"eval_routers: oracle on {len(ours)} domains, largest relative difference {worst:.2e}")
assert worst <= 1e-6, worst
PYEOF

# 2. uniform_merge == `moerge merge` linear 1/N of the same adapters, evaluated as a dense model.
N=$(( ${#EXPERTS[@]} / 2 ))
{
  echo "merge_method: linear"
  echo "base_model: $ZOO/base"
  echo "dtype: float32"
  echo "models:"
  for ((i = 1; i < ${#EXPERTS[@]}; i += 2)); do
    echo "  - model: ${EXPERTS[$i]}"
    echo "    parameters:"
    echo "      weight: $("$PY" -c "print(repr(1.0 / $N))")"
  done
} > "$SCRATCH/uniform.yml"
D1=${IN_DOMAINS[1]}
"$MOERGE_BIN" merge "$SCRATCH/uniform.yml" "$SCRATCH/uniform" --quiet > "$SCRATCH/merge.log" 2>&1 ||
  fail "moerge merge of the uniform recipe failed: $(tail -3 "$SCRATCH/merge.log")"
"$MOERGE_BIN" eval --model "$SCRATCH/uniform" --domain "$D1" -q -o "$SCRATCH/merged.csv"
"$MOERGE_BIN" eval --model "$ZOO/base" "${EXPERTS[@]}" --router uniform_merge --domain "$D1" -q -o "$SCRATCH/um.csv"
"$PY" - "$SCRATCH/um.csv" "$SCRATCH/merged.csv" <<'PYEOF' || fail "uniform_merge differs from moerge merge's output"
import csv, sys
a = float(list(csv.DictReader(open(sys.argv[1])))[0]["bits_per_byte"])
b = float(list(csv.DictReader(open(sys.argv[2])))[0]["bits_per_byte"])
print(f"eval_routers: uniform_merge {a:.8f} vs moerge merge linear {b:.8f}")
assert abs(a - b) <= 1e-5 * b, (a, b)
PYEOF

# 3. A sequence router (context rule, MPI): the same CSV bytes on 1 and 2 ranks.
"$MOERGE_BIN" eval --model "$ZOO/base" "${EXPERTS[@]}" --router retrieval --domains-json "$ZOO/domains.json" \
  --domain "x=$ZOO/eval/shell/test" --split-label held_out -q -o "$SCRATCH/r1.csv" 2>/dev/null ||
  fail "retrieval on 1 rank failed"
$MPI -np 2 "$MOERGE_BIN" eval --model "$ZOO/base" "${EXPERTS[@]}" --router retrieval --domains-json "$ZOO/domains.json" \
  --domain "x=$ZOO/eval/shell/test" --split-label held_out -q -o "$SCRATCH/r2.csv" 2>/dev/null ||
  fail "retrieval on 2 ranks failed"
cmp "$SCRATCH/r1.csv" "$SCRATCH/r2.csv" || fail "retrieval: 1 and 2 ranks differ"
say "retrieval: 1 and 2 ranks give the same CSV"

# 4. Errors: one line naming the problem, exit code, no output file.
expect_error() {  # expect_error CODE SUBSTRING ARGS...
  local code=$1 text=$2
  shift 2
  local status=0
  "$MOERGE_BIN" eval "$@" -q -o "$SCRATCH/err.csv" > "$SCRATCH/out.txt" 2> "$SCRATCH/err.txt" || status=$?
  [[ $status -eq $code ]] || fail "expected exit $code, got $status for: $* ($(cat "$SCRATCH/err.txt"))"
  grep -qF -- "$text" "$SCRATCH/err.txt" || fail "expected '$text' in: $(cat "$SCRATCH/err.txt")"
  [[ ! -e $SCRATCH/err.csv ]] || fail "an output file was left by a failed run: $*"
  say "refused as expected: $(head -1 "$SCRATCH/err.txt")"
}
expect_error 2 "no router of that name" --model "$ZOO/base" "${EXPERTS[@]}" --router nope "${IN_DOMAINS[@]:0:2}"
expect_error 1 "no data sample for expert 'c_headers'" --model "$ZOO/base" "${EXPERTS[@]}" --router centroid \
  "${IN_DOMAINS[@]:0:2}"
expect_error 1 "domain 'shell' has no expert of that name" --model "$ZOO/base" "${EXPERTS[@]}" --router oracle \
  --domain "shell=$ZOO/eval/shell/test"
expect_error 2 "--granularity token is not available" --model "$ZOO/base" "${EXPERTS[@]}" --router retrieval \
  --granularity token "${IN_DOMAINS[@]:0:2}"
expect_error 1 "lora_a" --model "$ZOO/base" "${EXPERTS[@]}" --expert "$MOERGE_SOURCE_DIR/tests/data/tiny/adapters/lora_a" \
  --router arrow "${IN_DOMAINS[@]:0:2}"
say "ok"
