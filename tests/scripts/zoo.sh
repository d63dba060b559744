#!/usr/bin/env bash
# tests/scripts/zoo.sh: the expert zoo builder still works (quick build + its checker), the
# committed zoo in data/zoo passes the numpy-only checker (names, shapes, dtypes, MANIFEST.sha256,
# 40 MB budget, specialisation criteria, an independent numpy forward reproducing its bits per
# byte), and every zoo model and expert loads in moerge's HF / PEFT importers.
#
# Env (set by ctest): MOERGE_BIN, MOERGE_SOURCE_DIR, MOERGE_BINARY_DIR.
set -euo pipefail

: "${MOERGE_BIN:?set MOERGE_BIN to the moerge executable}"
: "${MOERGE_SOURCE_DIR:?set MOERGE_SOURCE_DIR to the source tree}"
: "${MOERGE_BINARY_DIR:?set MOERGE_BINARY_DIR to the build tree}"

PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
ZOO=$MOERGE_SOURCE_DIR/data/zoo
SCRATCH=$MOERGE_BINARY_DIR/zoo_test.$$
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH"

say() { printf 'zoo: %s\n' "$*"; }
fail() {
  printf 'zoo: FAIL: %s\n' "$*" >&2
  exit 1
}

say "quick build of the zoo (tiny sizes, temp dir) and its check"
"$PY" "$MOERGE_SOURCE_DIR/tools/zoo/build_zoo.py" --quick --out "$SCRATCH/quick" \
  >"$SCRATCH/quick.log" 2>&1 || { tail -30 "$SCRATCH/quick.log"; fail "quick zoo build failed"; }
grep -q "quick build passed" "$SCRATCH/quick.log" || fail "quick build did not report success"
grep -q "0 failure(s)" "$SCRATCH/quick.log" || fail "check_zoo reported failures on the quick zoo"

say "the committed zoo passes check_zoo.py --full"
"$PY" "$MOERGE_SOURCE_DIR/tools/zoo/check_zoo.py" "$ZOO" --full >"$SCRATCH/check.log" 2>&1 \
  || { cat "$SCRATCH/check.log"; fail "check_zoo.py --full failed on $ZOO"; }
tail -1 "$SCRATCH/check.log"

say "the checker is not blind: a flipped byte in an expert breaks the manifest check"
cp -r "$ZOO" "$SCRATCH/broken"
adapter=$(ls -d "$SCRATCH"/broken/experts/lora/*/ | head -1)adapter_model.safetensors
printf '\x01' | dd of="$adapter" bs=1 seek=$(($(stat -c %s "$adapter") - 3)) conv=notrunc status=none
if "$PY" "$MOERGE_SOURCE_DIR/tools/zoo/check_zoo.py" "$SCRATCH/broken" --no-numerics \
  >"$SCRATCH/broken.log" 2>&1; then
  fail "check_zoo.py accepted a zoo whose adapter bytes changed"
fi
grep -q "MANIFEST" "$SCRATCH/broken.log" || { cat "$SCRATCH/broken.log"; fail "no MANIFEST failure named"; }

say "every zoo model and expert imports into a library (moerge's HF / PEFT importers)"
lib=$SCRATCH/lib
"$MOERGE_BIN" library init "$lib" --base "$ZOO/base" --quiet
n_import=0
for dir in "$ZOO"/experts/lora/*/ "$ZOO"/experts/full/*/; do
  kind=$(basename "$(dirname "$dir")")
  name=${kind}_$(basename "$dir")
  "$MOERGE_BIN" library import "$lib" "$dir" --name "$name" --quiet \
    || fail "moerge library import refused $dir"
  n_import=$((n_import + 1))
done
"$MOERGE_BIN" library verify "$lib" >"$SCRATCH/verify.log" || { cat "$SCRATCH/verify.log"; fail "verify failed"; }
n_listed=$("$MOERGE_BIN" library list "$lib" | tail -n +2 | grep -vc '^base ')
[[ $n_listed -eq $n_import ]] || fail "library lists $n_listed experts, imported $n_import"
n_lora=$(ls -d "$ZOO"/experts/lora/*/ | wc -l)
n_full=$(ls -d "$ZOO"/experts/full/*/ | wc -l)
[[ $n_lora -ge 15 && $n_full -ge 8 ]] || fail "zoo has $n_lora LoRA and $n_full full experts (want >= 15, >= 8)"
say "imported $n_import experts ($n_lora LoRA, $n_full full); all checks passed"
