#!/usr/bin/env bash
# tests/scripts/testdata_layout.sh: the committed tiny HF / PEFT test data follows the HF / PEFT
# layout (numpy-only checker), is exactly what its generators write, and the checker catches breaks.
#
# Env (set by ctest): MOERGE_SOURCE_DIR, MOERGE_BINARY_DIR. Needs /usr/bin/python3 with numpy.
set -euo pipefail

: "${MOERGE_SOURCE_DIR:?set MOERGE_SOURCE_DIR to the source tree}"
: "${MOERGE_BINARY_DIR:?set MOERGE_BINARY_DIR to the build tree}"

PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
TOOLS=$MOERGE_SOURCE_DIR/tools/testdata
TINY=$MOERGE_SOURCE_DIR/tests/data/tiny
MALFORMED=$MOERGE_SOURCE_DIR/tests/data/malformed/hf
SCRATCH=$MOERGE_BINARY_DIR/testdata_layout.$$
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH"

say() { printf 'testdata_layout: %s\n' "$*"; }
fail() {
  printf 'testdata_layout: FAIL: %s\n' "$*" >&2
  exit 1
}

say "layout of every tiny dir"
"$PY" "$TOOLS/check_layout.py" --base "$TINY/base" "$TINY/base" "$TINY/base_sharded" "$TINY/full_bf16" \
  "$TINY/adapters/lora_a" "$TINY/adapters/lora_b" || fail "check_layout.py refused the tiny data"

say "the committed data is what the generators write (byte for byte)"
"$PY" "$TOOLS/make_test_data.py" --out "$SCRATCH/tiny"
diff -r "$TINY" "$SCRATCH/tiny" || fail "tests/data/tiny differs from make_test_data.py's output: rerun it"
"$PY" "$TOOLS/make_malformed_hf.py" --out "$SCRATCH/malformed"
diff -r "$MALFORMED" "$SCRATCH/malformed" || fail "tests/data/malformed/hf differs from make_malformed_hf.py's output"

total=$(du -sb --apparent-size "$TINY" | cut -f1)
[ "$total" -lt 1000000 ] || fail "tests/data/tiny holds $total bytes, more than 1 MB"

say "the checker refuses broken dirs (each must print FAIL and exit 1)"
for case_dir in wrong_shape int8_weight missing_lm_head unexpected_tensor adapter_b_missing \
                adapter_a_d_in_mismatch adapter_module_not_in_base adapter_target_modules_regex \
                adapter_dora_magnitude_key; do
  if output=$("$PY" "$TOOLS/check_layout.py" --base "$TINY/base" "$MALFORMED/$case_dir"); then
    fail "check_layout.py accepted $case_dir: $output"
  fi
  grep -q '^FAIL ' <<<"$output" || fail "check_layout.py on $case_dir printed no FAIL line: $output"
done

# A shard whose data section is cut short breaks the framing.
cp -r "$TINY/base_sharded" "$SCRATCH/truncated"
shard=$SCRATCH/truncated/model-00002-of-00002.safetensors
truncate -s $(( $(stat -c %s "$shard") - 4 )) "$shard"
if "$PY" "$TOOLS/check_layout.py" "$SCRATCH/truncated" >/dev/null; then
  fail "check_layout.py accepted a truncated shard"
fi
say "ok"
