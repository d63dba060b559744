#!/usr/bin/env bash
# Every case of the committed malformed corpus, fed through the real CLI the way a user would:
# as the base of `moerge library init` (model files) or into `moerge library import` (adapters).
# Each must exit 1 (not crash), print one error naming the bad file and the expected reason, and
# leave nothing behind: no new library, no temporary files, the existing library unchanged.
set -uo pipefail
: "${MOERGE_BIN:?}" "${MOERGE_SOURCE_DIR:?}" "${MOERGE_BINARY_DIR:?}"
data=$MOERGE_SOURCE_DIR/tests/data
scratch=$MOERGE_BINARY_DIR/test-scratch/malformed_import-$$
rm -rf "$scratch" && mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
n_case=0 n_fail=0

fail() { echo "FAIL [$1]: $2"; n_fail=$((n_fail + 1)); }

# expect_refusal CASE EXPECTED WATCHED_DIR COMMAND...: run the command, check exit code, message,
# and that WATCHED_DIR's listing (names, sizes, hashes) did not change.
expect_refusal() {
  local name=$1 expected=$2 watched=$3; shift 3
  n_case=$((n_case + 1))
  local before after
  before=$(cd "$watched" && find . -type f -exec sha256sum {} + | sort)
  "$@" > "$scratch/out.txt" 2> "$scratch/err.txt"
  local rc=$?
  after=$(cd "$watched" && find . -type f -exec sha256sum {} + | sort)
  if [ $rc -ne 1 ]; then fail "$name" "exit code $rc, expected 1: $(head -c 300 "$scratch/err.txt")"; return; fi
  if ! grep -qF -- "$expected" "$scratch/err.txt"; then
    fail "$name" "error does not say '$expected': $(head -c 400 "$scratch/err.txt")"; return
  fi
  if ! head -n 1 "$scratch/err.txt" | grep -q '^moerge library: error: '; then
    fail "$name" "first stderr line is not the error: $(head -n 1 "$scratch/err.txt")"; return
  fi
  if [ "$before" != "$after" ]; then fail "$name" "files under $watched changed"; return; fi
  if find "$watched" -name '.*tmp*' | grep -q .; then fail "$name" "temporary files left in $watched"; return; fi
  if grep -q "HDF5-DIAG\|Segmentation\|Aborted\|terminate called" "$scratch/err.txt"; then
    fail "$name" "crash or HDF5 diagnostics"; return
  fi
}

config=$data/tiny/base/config.json
work=$scratch/work && mkdir -p "$work"

# 1. Malformed safetensors files as a model's weights (pickles as pytorch_model.bin).
while IFS=$'\t' read -r file expected; do
  case "$file" in '#'*|'') continue ;; esac
  dir=$scratch/models/$file && mkdir -p "$dir" && cp "$config" "$dir/"
  case "$file" in
    *.safetensors) cp "$data/malformed/safetensors/$file" "$dir/model.safetensors" ;;
    *) cp "$data/malformed/safetensors/$file" "$dir/pytorch_model.bin" ;;
  esac
  expect_refusal "safetensors/$file" "$expected" "$work" "$MOERGE_BIN" library init "$work/lib" --base "$dir" --quiet
  [ -e "$work/lib" ] && { fail "safetensors/$file" "a library appeared under the final name"; rm -rf "$work/lib"; }
done < "$data/malformed/safetensors/EXPECTED.tsv"

# 2. Broken sharded indexes.
while IFS=$'\t' read -r case_dir expected; do
  case "$case_dir" in '#'*|'') continue ;; esac
  dir=$scratch/index/$case_dir && mkdir -p "$(dirname "$dir")" && cp -r "$data/malformed/index/$case_dir" "$dir"
  cp "$config" "$dir/"
  expect_refusal "index/$case_dir" "$expected" "$work" "$MOERGE_BIN" library init "$work/lib" --base "$dir" --quiet
done < "$data/malformed/index/EXPECTED.tsv"

# 3. HF and PEFT cases: models as a base, adapters into an existing library.
"$MOERGE_BIN" library init "$scratch/lib" --base "$data/tiny/base" --quiet || { echo "FAIL: cannot create the library"; exit 1; }
while IFS=$'\t' read -r case_dir expected; do
  case "$case_dir" in '#'*|'') continue ;; esac
  dir=$data/malformed/hf/$case_dir
  # Adapters and full fine-tunes are imported against the base; other models are bases themselves.
  if [ -f "$dir/adapter_config.json" ] || ls "$dir"/adapter_model* > /dev/null 2>&1 || [[ $case_dir == full_ft* ]]; then
    expect_refusal "hf/$case_dir" "$expected" "$scratch/lib" "$MOERGE_BIN" library import "$scratch/lib" "$dir" --quiet
  else
    expect_refusal "hf/$case_dir" "$expected" "$work" "$MOERGE_BIN" library init "$work/lib" --base "$dir" --quiet
  fi
done < "$data/malformed/hf/EXPECTED.tsv"

echo "malformed_import: $((n_case - n_fail)) passed, $n_fail failed"
[ $n_fail -eq 0 ]
