#!/usr/bin/env bash
# tests/scripts/eval_zoo.sh: `moerge eval` reproduces the zoo model card's bits per byte
# (data/zoo/results/bpb.csv, the trainer's figures) for the base, a LoRA expert (applied
# unmerged) and a full fine-tune (bf16) on a few domains; gives the same CSV bytes on 1 and 2 MPI
# ranks; scores a `moerge merge` output as the torch reference does; `moerge generate` matches the
# reference's greedy decoding; bad inputs end with one error line and the documented exit code.
#
# Env (set by ctest): MOERGE_BIN, MOERGE_SOURCE_DIR, MOERGE_BINARY_DIR; MOERGE_ZOO overrides the
# zoo directory (default $MOERGE_SOURCE_DIR/data/zoo).
set -euo pipefail

: "${MOERGE_BIN:?set MOERGE_BIN to the moerge executable}"
: "${MOERGE_SOURCE_DIR:?set MOERGE_SOURCE_DIR to the source tree}"
: "${MOERGE_BINARY_DIR:?set MOERGE_BINARY_DIR to the build tree}"

PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 OMP_NUM_THREADS=1
ZOO=${MOERGE_ZOO:-$MOERGE_SOURCE_DIR/data/zoo}
REF=$MOERGE_SOURCE_DIR/tools/reference/llama_ref.py
MPI="mpirun --allow-run-as-root --oversubscribe"
SCRATCH=$(mktemp -d "$MOERGE_BINARY_DIR/eval_zoo.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

say() { printf 'eval_zoo: %s\n' "$*"; }
fail() {
  printf 'eval_zoo: FAIL: %s\n' "$*" >&2
  exit 1
}
[[ -f $ZOO/results/bpb.csv ]] || fail "no $ZOO/results/bpb.csv (the zoo is incomplete)"

# Two in-distribution domains with a LoRA and a full expert, and one held-out domain.
read -r A B H < <("$PY" - "$ZOO/domains.json" <<'EOF'
import json, sys
domains = json.load(open(sys.argv[1]))["domains"]
both = [d["name"] for d in domains if not d.get("held_out") and d.get("lora_expert") and d.get("full_expert")]
held = [d["name"] for d in domains if d.get("held_out")]
print(both[0], both[1], held[0] if held else both[1])
EOF
)
[[ -n $A && -n $B ]] || fail "domains.json has no two domains with LoRA and full experts"
split_of() { [[ $1 == "$H" && $H != "$B" ]] && echo held_out || echo in_distribution; }
say "domains $A, $B (in distribution) and $H ($(split_of "$H"))"

# Compare every row of a CSV written by moerge eval with results/bpb.csv: same system, domain,
# split and byte count; bits per byte within 1e-4 relative (the model card promises float
# rounding; the issue asks for 0.5%).
check_against_card() {
  "$PY" - "$1" "$ZOO/results/bpb.csv" <<'EOF'
import csv, sys
card = {(r["system"], r["domain"]): r for r in csv.DictReader(open(sys.argv[2]))}
worst = 0.0
rows = list(csv.DictReader(open(sys.argv[1])))
assert rows, "no rows"
for row in rows:
    want = card.get((row["system"], row["domain"]))
    if want is None:
        sys.exit(f"{row['system']},{row['domain']} is not in the model card's bpb.csv")
    if row["split"] != want["split"] or row["n_bytes"] != want["n_bytes"]:
        sys.exit(f"{row['system']},{row['domain']}: split/bytes {row['split']}/{row['n_bytes']}, card {want['split']}/{want['n_bytes']}")
    got, ref = float(row["bits_per_byte"]), float(want["bits_per_byte"])
    rel = abs(got - ref) / ref
    worst = max(worst, rel)
    if rel > 1e-4:
        sys.exit(f"{row['system']},{row['domain']}: bits per byte {got} vs card {ref} (relative {rel:.2e})")
print(f"{len(rows)} rows match the card, worst relative difference {worst:.2e}")
EOF
}

say "base: moerge eval vs the model card"
"$MOERGE_BIN" eval --model "$ZOO/base" --domain "$A=$ZOO/eval/$A/test" --domain "$B=$ZOO/eval/$B/test" \
  --output "$SCRATCH/base.csv" >"$SCRATCH/base.out" 2>"$SCRATCH/base.err" || { cat "$SCRATCH/base.err"; fail "eval of the base"; }
grep -q "^system base" "$SCRATCH/base.out" || { cat "$SCRATCH/base.out"; fail "no table printed"; }
"$MOERGE_BIN" eval --model "$ZOO/base" --domain "$H=$ZOO/eval/$H/test" --split-label "$(split_of "$H")" \
  --output "$SCRATCH/base_held.csv" --quiet
check_against_card "$SCRATCH/base.csv" || fail "base figures differ from the card"
check_against_card "$SCRATCH/base_held.csv" || fail "base figures (held out) differ from the card"

say "LoRA expert $A applied unmerged"
"$MOERGE_BIN" eval --model "$ZOO/base" --expert "$ZOO/experts/lora/$A" --domain "$A=$ZOO/eval/$A/test" \
  --domain "$B=$ZOO/eval/$B/test" --output "$SCRATCH/lora.csv" --quiet
check_against_card "$SCRATCH/lora.csv" || fail "LoRA figures differ from the card"

say "full fine-tune $A (bf16) run as its own model"
"$MOERGE_BIN" eval --model "$ZOO/base" --expert "$ZOO/experts/full/$A" --domain "$A=$ZOO/eval/$A/test" \
  --output "$SCRATCH/full.csv" --quiet
check_against_card "$SCRATCH/full.csv" || fail "full fine-tune figures differ from the card"

say "the same CSV bytes on 2 MPI ranks"
$MPI -np 2 "$MOERGE_BIN" eval --model "$ZOO/base" --domain "$A=$ZOO/eval/$A/test" \
  --domain "$B=$ZOO/eval/$B/test" --output "$SCRATCH/base_np2.csv" --quiet
cmp "$SCRATCH/base.csv" "$SCRATCH/base_np2.csv" || fail "2 ranks wrote other figures than 1 rank"

say "a TIES merge of two full fine-tunes (moerge merge) scores as the torch reference says"
cat >"$SCRATCH/ties.yml" <<EOF
merge_method: ties
base_model: $ZOO/base
models:
  - model: $ZOO/experts/full/$A
    parameters: {weight: 1.0, density: 0.5}
  - model: $ZOO/experts/full/$B
    parameters: {weight: 1.0, density: 0.5}
parameters: {lambda: 1.0}
dtype: float32
EOF
"$MOERGE_BIN" merge "$SCRATCH/ties.yml" "$SCRATCH/ties_ab" --quiet
"$MOERGE_BIN" eval --model "$SCRATCH/ties_ab" --domain "$A=$ZOO/eval/$A/test" --output "$SCRATCH/ties.csv" --quiet
"$PY" "$REF" bpb --model "$SCRATCH/ties_ab" --docs "$ZOO/eval/$A/test" >"$SCRATCH/ties_ref.json"
"$PY" - "$SCRATCH/ties.csv" "$SCRATCH/ties_ref.json" <<'EOF' || fail "the merged model's bits per byte differ from the reference"
import csv, json, sys
(row,) = list(csv.DictReader(open(sys.argv[1])))
ref = json.load(open(sys.argv[2]))
assert row["system"] == "ties_ab", row
assert int(row["n_bytes"]) == ref["n_bytes"], (row, ref)
rel = abs(float(row["bits_per_byte"]) - ref["bits_per_byte"]) / ref["bits_per_byte"]
assert rel < 1e-5, (row, ref, rel)
print(f"merged model: {row['bits_per_byte']} vs reference {ref['bits_per_byte']:.10f} (relative {rel:.1e})")
EOF

say "generate: greedy bytes equal the reference's (which re-runs the whole sequence per step)"
prompt="The "
"$MOERGE_BIN" generate --model "$ZOO/base" --expert "$ZOO/experts/lora/$A" --prompt "$prompt" \
  --max-new-tokens 40 >"$SCRATCH/gen.txt"
"$PY" "$REF" generate --model "$ZOO/base" --lora "$ZOO/experts/lora/$A" --prompt "$prompt" \
  --max-new-tokens 40 >"$SCRATCH/gen_ref.txt"
cmp "$SCRATCH/gen.txt" "$SCRATCH/gen_ref.txt" || { cat "$SCRATCH/gen.txt" "$SCRATCH/gen_ref.txt"; fail "generate differs"; }

say "bad inputs: one error line, exit 1 for bad files, 2 for bad flags, no output file"
expect_error() {  # expect_error CODE PATTERN -- moerge args...
  local code=$1 pattern=$2
  shift 3
  local status=0
  "$MOERGE_BIN" "$@" --output "$SCRATCH/never.csv" >"$SCRATCH/err.out" 2>"$SCRATCH/err.txt" || status=$?
  [[ $status -eq $code ]] || { cat "$SCRATCH/err.txt"; fail "moerge $* exited $status, expected $code"; }
  [[ $(grep -c "^moerge eval: error: " "$SCRATCH/err.txt") -eq 1 ]] || { cat "$SCRATCH/err.txt"; fail "moerge $*: not one error line"; }
  grep -qF -- "$pattern" "$SCRATCH/err.txt" || { cat "$SCRATCH/err.txt"; fail "moerge $*: no '$pattern' in the error"; }
  [[ ! -e $SCRATCH/never.csv ]] || fail "moerge $* left an output file"
}
mkdir -p "$SCRATCH/no_config" "$SCRATCH/empty_domain"
cp "$ZOO/base/model.safetensors" "$SCRATCH/no_config/"
expect_error 1 "$SCRATCH/no_config" -- eval --model "$SCRATCH/no_config" --domain "$A=$ZOO/eval/$A/test"
expect_error 1 "does not fit base $MOERGE_SOURCE_DIR/tests/data/tiny/base" -- eval \
  --model "$MOERGE_SOURCE_DIR/tests/data/tiny/base" --expert "$ZOO/experts/lora/$A" --domain "$A=$ZOO/eval/$A/test"
expect_error 1 "$SCRATCH/empty_domain: holds no files" -- eval --model "$ZOO/base" --domain "x=$SCRATCH/empty_domain"
expect_error 2 "--domain 'python': expected NAME=DIR" -- eval --model "$ZOO/base" --domain python
expect_error 2 "--context 0 must be a positive number" -- eval --model "$ZOO/base" --context 0 \
  --domain "$A=$ZOO/eval/$A/test"
expect_error 2 "2 experts given without --router" -- eval --model "$ZOO/base" --expert "$ZOO/experts/lora/$A" \
  --expert "$ZOO/experts/lora/$B" --domain "$A=$ZOO/eval/$A/test"
say "all checks passed"
