#!/usr/bin/env bash
# tests/scripts/merge_lora.sh: lora_cat and lora_svd merge PEFT adapters into one adapter. The
# result's B A equals numpy's sum_i w_i s_i B_i A_i (lora_cat; lora_svd at full rank) or numpy's
# truncated SVD of that sum (lora_svd at a lower rank); the bytes are the same at 1 and 2 ranks;
# the output reads back through moerge's PEFT importer; bad inputs fail cleanly with no output.
#
# Env (set by ctest): MOERGE_BIN, MOERGE_SOURCE_DIR, MOERGE_BINARY_DIR.
set -euo pipefail

: "${MOERGE_BIN:?}" "${MOERGE_SOURCE_DIR:?}" "${MOERGE_BINARY_DIR:?}"
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$MOERGE_SOURCE_DIR/tests/data/tiny
W=$MOERGE_BINARY_DIR/merge_lora.$$
trap 'rm -rf "$W"' EXIT
mkdir -p "$W"
say() { printf 'merge_lora: %s\n' "$*"; }
fail() { printf 'merge_lora: FAIL: %s\n' "$*" >&2; exit 1; }

# lora_a: r 4, F32, q/v only; lora_b: r 2, BF16, rsLoRA, all seven modules.
recipe() {  # recipe METHOD [RANK]
  printf 'models:\n  - {model: %s, parameters: {weight: 0.7}}\n  - {model: %s, parameters: {weight: -0.4}}\n' \
    "$T/adapters/lora_a" "$T/adapters/lora_b"
  printf 'merge_method: %s\nbase_model: %s\n' "$1" "$T/base"
  if [ -n "${2:-}" ]; then printf 'parameters: {rank: %s}\n' "$2"; fi
}
recipe lora_cat > "$W/cat.yml"
recipe lora_svd 3 > "$W/svd3.yml"
recipe lora_svd 6 > "$W/svd6.yml"

for name in cat svd3 svd6; do
  "$MOERGE_BIN" merge "$W/$name.yml" "$W/$name" --quiet || fail "moerge merge $name.yml"
  mpirun --oversubscribe -np 2 "$MOERGE_BIN" merge "$W/$name.yml" "$W/$name-np2" --quiet || fail "2-rank $name"
  cmp -s "$W/$name/adapter_model.safetensors" "$W/$name-np2/adapter_model.safetensors" \
    || fail "$name: 2 ranks wrote other bytes than 1"
done
say "lora_cat, lora_svd (rank 3 and 6): same bytes at 1 and 2 ranks"

"$PY" - "$MOERGE_SOURCE_DIR/tools/reference" "$T" "$W" <<'PYEOF'
import json, os, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import merge_ref
tiny, work = sys.argv[2], sys.argv[3]
weights = {"lora_a": 0.7, "lora_b": -0.4}
inputs = {}
for name in weights:
    d = os.path.join(tiny, "adapters", name)
    cfg = json.load(open(os.path.join(d, "adapter_config.json")))
    s = cfg["lora_alpha"] / (np.sqrt(cfg["r"]) if cfg.get("use_rslora") else cfg["r"])
    t = merge_ref.load_safetensors(os.path.join(d, "adapter_model.safetensors"))
    for key in t:
        if key.endswith(".lora_A.weight"):
            module = key[len("base_model.model."):-len(".lora_A.weight")]
            inputs.setdefault(module, []).append((t[key], t[key.replace("lora_A", "lora_B")], weights[name] * s))
def result(out):
    cfg = json.load(open(os.path.join(work, out, "adapter_config.json")))
    assert cfg["lora_alpha"] == cfg["r"] and not cfg["use_rslora"], cfg
    t = merge_ref.load_safetensors(os.path.join(work, out, "adapter_model.safetensors"))
    return cfg["r"], {k[len("base_model.model."):-len(".lora_A.weight")]: (t[k], t[k.replace("lora_A", "lora_B")])
                      for k in t if k.endswith(".lora_A.weight")}
worst = {}
for out, rank in (("cat", None), ("svd6", 6), ("svd3", 3)):
    r, got = result(out)
    assert set(got) == set(inputs), (out, sorted(set(got) ^ set(inputs)))
    assert r == (6 if rank is None else rank), (out, r)
    for module, parts in inputs.items():
        a, b = got[module]
        mine = b.astype(np.float64) @ a.astype(np.float64)
        if rank is None:
            want = sum(s * (bb.astype(np.float64) @ aa.astype(np.float64)) for aa, bb, s in parts)
        else:
            bb, aa = merge_ref.lora_svd(parts, rank)
            want = bb.astype(np.float64) @ aa.astype(np.float64)
        err = np.abs(mine - want).max() / max(np.abs(want).max(), 1e-30)
        worst[out] = max(worst.get(out, 0.0), err)
        if out == "svd3" and len(parts) == 2:  # rank 3 < 6: the truncation must be visible
            full = sum(s * (bb.astype(np.float64) @ aa.astype(np.float64)) for aa, bb, s in parts)
            assert np.abs(mine - full).max() > 1e-3 * np.abs(full).max(), module
# f32 factors of a float64 reference: 1e-5 relative to the largest entry of delta W.
for out, err in worst.items():
    print(f"merge_lora: {out}: B A vs numpy, worst relative error {err:.2e} (tolerance 1e-5)")
    assert err < 1e-5, (out, err)
PYEOF
say "B A matches numpy (sum of deltas; truncated SVD at rank 3)"

lib=$W/lib
"$MOERGE_BIN" library init "$lib" --base "$T/base" --quiet
"$MOERGE_BIN" library import "$lib" "$W/svd3" --name merged --quiet || fail "the merged adapter does not import"
say "the merged adapter imports into a library"

expect() {  # expect CODE TEXT CMD...: exit code, message, one error line, no output dir
  local code=$1 text=$2; shift 2
  set +e; "$@" > "$W/out.txt" 2> "$W/err.txt"; local got=$?; set -e
  [ "$got" = "$code" ] || { cat "$W/err.txt"; fail "exit $got (want $code): $*"; }
  grep -q -- "$text" "$W/err.txt" || { cat "$W/err.txt"; fail "no '$text' in the error of: $*"; }
  [ "$(grep -c 'error:' "$W/err.txt")" = 1 ] || { cat "$W/err.txt"; fail "not one error line: $*"; }
  [ ! -e "$W/bad" ] || fail "output written for: $*"
  [ -z "$(ls -a "$W" | grep -E '^\.bad')" ] || fail "temporary output left for: $*"
}
sed "s#$T/adapters/lora_b#$T/full_bf16#" "$W/cat.yml" > "$W/hf.yml"
expect 1 "is a Hugging Face model, not a PEFT adapter" "$MOERGE_BIN" merge "$W/hf.yml" "$W/bad"
recipe lora_svd 0 > "$W/rank0.yml"
expect 2 "parameters.rank: must be a whole number >= 1, got 0" "$MOERGE_BIN" merge "$W/rank0.yml" "$W/bad"
expect 2 "writes a PEFT adapter" "$MOERGE_BIN" merge "$W/cat.yml" "$W/bad" --library "$lib"
expect 2 "already exists" "$MOERGE_BIN" merge "$W/cat.yml" "$W/cat"
say "bad inputs: one error each, no output"
