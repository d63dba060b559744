#!/usr/bin/env bash
# tests/scripts/stats.sh: `moerge stats` on the expert zoo. A library (base + 3 LoRA experts) gets
# Arrow, PHATGOOSE, centroid, embedding and Gram statistics; `library verify` passes afterwards;
# h5py reads them back: every Arrow vector matches numpy's SVD of s B A (|cos| >= 1 - 1e-5, the
# largest-magnitude entry positive, sigma^2 within 1e-6 relative: ours is f64 through the r x r
# core, numpy's f64 on the full product), the gates equal the adapter's file, G is symmetric with
# n = the sample's bytes; 2 MPI ranks store the same datasets as 1; eval with library references
# prints the same CSV as with the directories; gates given by --phatgoose-gates for an adapter
# imported without them; bad input ends with one error line naming the fix.
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
SCRATCH=$(mktemp -d "$MOERGE_BINARY_DIR/stats.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
LIB=$SCRATCH/lib
DOMAINS=(python perl cmake)

say() { printf 'stats: %s\n' "$*"; }
fail() {
  printf 'stats: FAIL: %s\n' "$*" >&2
  exit 1
}

# Run a command that must fail with exit code $1 and print $2 (a fixed string) on stderr, once.
expect_error() {
  local code=$1 text=$2
  shift 2
  local rc=0
  "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
  [[ $rc -eq $code ]] || fail "exit $rc (expected $code) from: $* ($(cat "$SCRATCH/err"))"
  grep -qF -- "$text" "$SCRATCH/err" || fail "no '$text' in: $(cat "$SCRATCH/err")"
  [[ $(grep -c 'error' "$SCRATCH/err") -eq 1 ]] || fail "not exactly one error line: $(cat "$SCRATCH/err")"
}

# 1. A library with three LoRA experts; statistics computed and stored.
"$MOERGE_BIN" library init "$LIB" --base "$ZOO/base" -q
"$MOERGE_BIN" library import "$LIB" "$ZOO/experts/lora/python" "$ZOO/experts/lora/perl" "$ZOO/experts/lora/cmake" -q
cp -r "$LIB" "$SCRATCH/lib_np2"
"$MOERGE_BIN" stats "$LIB" --kind arrow --kind phatgoose -q
DATA=()
for domain in "${DOMAINS[@]}"; do DATA+=(--data "$domain=$ZOO/eval/$domain/validation"); done
"$MOERGE_BIN" stats "$LIB" --kind centroid --kind embedding --kind gram "${DATA[@]}" >"$SCRATCH/stats.out" 2>&1
grep -qF "'python': centroid, embedding, gram from" "$SCRATCH/stats.out" || fail "no summary line: $(cat "$SCRATCH/stats.out")"
"$MOERGE_BIN" library verify "$LIB" -q || fail "verify after stats"
say "stats stored for ${DOMAINS[*]}; library verify passes"

# 2. The stored arrays against numpy and the adapters' files.
"$PY" - "$LIB" "$ZOO" "${DOMAINS[@]}" <<'PYEOF' || fail "stored statistics differ from the numpy reference"
import json, struct, sys
import h5py, numpy as np

lib, zoo, domains = sys.argv[1], sys.argv[2], sys.argv[3:]

def safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for key, item in header.items():
        if key == "__metadata__":
            continue
        assert item["dtype"] == "F32", item
        begin, end = item["data_offsets"]
        out[key] = np.frombuffer(data[begin:end], dtype="<f4").reshape(item["shape"])
    return out

worst_cos, worst_sigma = 0.0, 0.0
for name in domains:
    with h5py.File(f"{lib}/experts/{name}.h5", "r") as f:
        scale = f.attrs["alpha"] / f.attrs["r"]
        modules = sorted(f["lora"].keys())
        assert len(modules) == 28, len(modules)
        for module in modules:
            a = f[f"lora/{module}/A"][()].astype(np.float64)
            b = f[f"lora/{module}/B"][()].astype(np.float64)
            _, s, vt = np.linalg.svd(scale * b @ a)
            v = f[f"stats/arrow/{module}/v"][()]
            sigma2 = f[f"stats/arrow/{module}/sigma2"][()]
            assert v.dtype == np.float32 and v.shape == (a.shape[1],), (v.dtype, v.shape)
            cos = abs(float(np.dot(v.astype(np.float64), vt[0])))
            worst_cos = max(worst_cos, 1 - cos)
            worst_sigma = max(worst_sigma, abs(sigma2 - s[0] ** 2) / s[0] ** 2)
            assert v[np.argmax(np.abs(v))] > 0, (name, module)
        gates = safetensors(f"{zoo}/experts/lora/{name}/phatgoose_gates.safetensors")
        for module in modules:
            stored = f[f"stats/phatgoose/{module}/gate"][()]
            assert np.array_equal(stored, gates[f"base_model.model.{module}.gate"]), (name, module)
        n_byte = int(f["stats/centroid"].attrs["n_byte"])
        d_model = f["stats/embedding"].shape[0]
        assert f["stats/embedding"].dtype == np.float32 and d_model == 128, f["stats/embedding"]
        for module in modules:
            g = f[f"stats/gram/{module}/G"][()]
            c = f[f"stats/centroid/{module}"][()].astype(np.float64)
            assert int(f[f"stats/gram/{module}/n"][()]) == n_byte, (module, n_byte)
            assert np.array_equal(g, g.T), module
            # G = X^T X / n, so its diagonal is at least the mean squared (Jensen); 1e-5 for f32.
            assert np.all(np.diag(g) * (1 + 1e-5) + 1e-12 >= c * c), module
            assert f[f"stats/gram/{module}/G"].attrs["key"].decode() == f"{module}.weight"
print(f"stats: arrow on {len(domains)} x 28 modules: largest 1 - |cos| {worst_cos:.1e}, "
      f"largest sigma^2 relative difference {worst_sigma:.1e}")
assert worst_cos <= 1e-5, worst_cos
assert worst_sigma <= 1e-6, worst_sigma
PYEOF

# 3. Two ranks store the same datasets as one (the files differ only in their 'created' stamps).
$MPI -np 2 "$MOERGE_BIN" stats "$SCRATCH/lib_np2" --kind arrow --kind phatgoose -q
"$MOERGE_BIN" library verify "$SCRATCH/lib_np2" -q || fail "verify after stats on 2 ranks"
for domain in "${DOMAINS[@]}"; do
  diff <("$MOERGE_BIN" library show "$LIB" "$domain" | grep '/stats/arrow\|/stats/phatgoose' | tr -s ' ') \
    <("$MOERGE_BIN" library show "$SCRATCH/lib_np2" "$domain" | grep '/stats/arrow\|/stats/phatgoose' | tr -s ' ') \
    >/dev/null || fail "$domain: statistics on 2 ranks differ from 1 rank"
done
say "2 ranks store the same arrow and phatgoose datasets as 1"

# 4. eval with library references == eval with the directories (bits per byte as strings).
"$MOERGE_BIN" eval --model "$LIB/:base" --expert "$LIB/:experts/python" \
  --domain python="$ZOO/eval/python/validation" -q -o "$SCRATCH/lib.csv"
"$MOERGE_BIN" eval --model "$ZOO/base" --expert "$ZOO/experts/lora/python" \
  --domain python="$ZOO/eval/python/validation" -q -o "$SCRATCH/dir.csv"
cmp -s "$SCRATCH/lib.csv" "$SCRATCH/dir.csv" || fail "eval differs: $(cat "$SCRATCH/lib.csv" "$SCRATCH/dir.csv")"
"$MOERGE_BIN" eval --model "$LIB/:base" --domain perl="$ZOO/eval/perl/validation" -q -o "$SCRATCH/lib_base.csv"
"$MOERGE_BIN" eval --model "$ZOO/base" --domain perl="$ZOO/eval/perl/validation" -q -o "$SCRATCH/dir_base.csv"
cmp -s "$SCRATCH/lib_base.csv" "$SCRATCH/dir_base.csv" || fail "eval of the base differs"
say "eval with LIB/:base and LIB/:experts/python equals the directories: $(tail -1 "$SCRATCH/lib.csv")"

# 5. Gates for an adapter imported without them.
mkdir "$SCRATCH/nogates"
cp "$ZOO/experts/lora/python/adapter_config.json" "$ZOO/experts/lora/python/adapter_model.safetensors" "$SCRATCH/nogates/"
"$MOERGE_BIN" library import "$LIB" "$SCRATCH/nogates" -q
expect_error 1 "give the gates with --phatgoose-gates nogates=FILE" \
  "$MOERGE_BIN" stats "$LIB" --expert nogates --kind phatgoose
"$MOERGE_BIN" stats "$LIB" --expert nogates --kind phatgoose \
  --phatgoose-gates "nogates=$ZOO/experts/lora/python/phatgoose_gates.safetensors" -q
"$MOERGE_BIN" library verify "$LIB" -q || fail "verify after --phatgoose-gates"
diff <("$MOERGE_BIN" library show "$LIB" python | grep '/stats/phatgoose' | awk '{print $1, $2, $3, $4, $NF}') \
  <("$MOERGE_BIN" library show "$LIB" nogates | grep '/stats/phatgoose' | awk '{print $1, $2, $3, $4, $NF}') \
  >/dev/null || fail "gates stored from --phatgoose-gates differ from the imported ones"
"$MOERGE_BIN" library export "$LIB" nogates "$SCRATCH/nogates_out" -q
"$PY" - "$SCRATCH/nogates_out/phatgoose_gates.safetensors" "$ZOO/experts/lora/python/phatgoose_gates.safetensors" <<'PYEOF' \
  || fail "export after --phatgoose-gates does not write the gates back under their keys"
import json, struct, sys
import numpy as np
def tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {key: np.frombuffer(data[item["data_offsets"][0]:item["data_offsets"][1]], dtype="<f4")
            for key, item in header.items() if key != "__metadata__"}
ours, theirs = tensors(sys.argv[1]), tensors(sys.argv[2])
assert sorted(ours) == sorted(theirs) and len(ours) == 28, (len(ours), len(theirs))
assert all(np.array_equal(ours[key], theirs[key]) for key in ours)
PYEOF
say "--phatgoose-gates stores the same gates as an import with the file; export writes them back"

# 6. Bad input: one error line naming the fix.
expect_error 2 "--kind 'arow' is not one of arrow, phatgoose, centroid, embedding, gram" \
  "$MOERGE_BIN" stats "$LIB" --kind arow
expect_error 1 "no object named 'nothere'" "$MOERGE_BIN" stats "$LIB" --expert nothere
expect_error 1 "expert 'python': --kind centroid needs a sample of its data: give --data python=DIR" \
  "$MOERGE_BIN" stats "$LIB" --expert python --kind centroid
expect_error 2 "--data perl=" "$MOERGE_BIN" stats "$LIB" --expert python --data "perl=$ZOO/eval/perl/validation"
expect_error 2 "--data 'python' is not NAME=DIR" "$MOERGE_BIN" stats "$LIB" --data python
expect_error 1 "'base' is a base object; statistics are computed for experts" \
  "$MOERGE_BIN" stats "$LIB" --expert base
expect_error 1 "no such library directory" "$MOERGE_BIN" stats "$SCRATCH/none"
expect_error 1 "--data python=$SCRATCH/none: $SCRATCH/none does not exist" \
  "$MOERGE_BIN" stats "$LIB" --expert python --expert perl --data "perl=$ZOO/eval/perl/validation" \
  --data "python=$SCRATCH/none"
expect_error 1 "is not a file" "$MOERGE_BIN" stats "$LIB" --expert python --phatgoose-gates "python=$SCRATCH/none"
"$MOERGE_BIN" library verify "$LIB" -q || fail "verify after the refused runs"
say "bad input refused with one error line each; the library still verifies"
say "PASS"
