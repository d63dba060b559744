#!/bin/bash
# `moerge merge` at 1, 2, 3 and 4 ranks gives the same output bytes for every method, and a rank
# that fails (NaN input) ends the job quickly with a non-zero exit and nothing under the final name.
set -euo pipefail
BIN=${MOERGE_BIN:?MOERGE_BIN not set}
SRC=${MOERGE_SOURCE_DIR:?MOERGE_SOURCE_DIR not set}
WORK=$(mktemp -d "${MOERGE_BINARY_DIR:-/tmp}/merge-ranks-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
MPI="mpirun --allow-run-as-root --oversubscribe"
TINY=$SRC/tests/data/tiny
BASE=$TINY/base

# Two F32 fine-tunes of the tiny base (numpy, fixed seeds), each with a Fisher file; ft_nan holds a NaN.
/usr/bin/python3 - "$TINY/base" "$WORK" <<'PY'
import json, os, struct, sys
import numpy as np
base_dir, work = sys.argv[1], sys.argv[2]
with open(os.path.join(base_dir, "model.safetensors"), "rb") as f:
    blob = f.read()
n = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + n])
header.pop("__metadata__", None)
data = blob[8 + n:]
base = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], "<f4").reshape(v["shape"]) for k, v in header.items()}
def save(path, tensors):
    head, off, blobs = {}, 0, []
    for k in sorted(tensors):
        b = np.ascontiguousarray(tensors[k], "<f4").tobytes()
        head[k] = {"dtype": "F32", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    t = json.dumps(head).encode(); t += b" " * ((8 - (8 + len(t)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(t)) + t + b"".join(blobs))
config = open(os.path.join(base_dir, "config.json")).read()
for idx, name in enumerate(["ft0", "ft1", "ft_nan"]):
    rng = np.random.default_rng(1000 + idx)
    os.makedirs(os.path.join(work, name))
    model = {k: (v + rng.normal(0, 0.02, v.shape)).astype(np.float32) for k, v in base.items()}
    if name == "ft_nan":
        model["model.layers.1.mlp.down_proj.weight"][20, 3] = np.nan
    save(os.path.join(work, name, "model.safetensors"), model)
    save(os.path.join(work, name, "fisher.safetensors"), {k: rng.uniform(0.01, 2, v.shape).astype(np.float32) for k, v in base.items()})
    grams = {}
    for k, v in base.items():
        if v.ndim == 2 and k.endswith("_proj.weight"):
            x = rng.normal(0, 1, (2 * v.shape[1], v.shape[1]))
            grams[k] = (x.T @ x / x.shape[0]).astype(np.float32)
    save(os.path.join(work, name, "regmean_gram.safetensors"), grams)
    open(os.path.join(work, name, "config.json"), "w").write(config)
PY

FT0=$WORK/ft0
FT1=$WORK/ft1
LORA=$TINY/adapters/lora_b
three="models:
  - model: $FT0
    parameters: {weight: 0.5, density: 0.4}
  - model: $FT1
    parameters: {weight: 0.3, density: 0.7}
  - model: $LORA
    parameters: {weight: 0.2, density: 0.5}"
two="models:
  - model: $FT0
    parameters: {weight: 0.6}
  - model: $FT1
    parameters: {weight: 0.4}"
declare -A recipes=(
  [linear]="$two
merge_method: linear"
  [task_arithmetic]="$three
merge_method: task_arithmetic
base_model: $BASE"
  [ties]="$three
merge_method: ties
base_model: $BASE"
  [ties_global]="$three
merge_method: ties
base_model: $BASE
ties_scope: global"
  [dare_linear]="$three
merge_method: dare_linear
base_model: $BASE
seed: 5"
  [dare_ties]="$three
merge_method: dare_ties
base_model: $BASE
seed: 5
dtype: bfloat16"
  [breadcrumbs]="$three
merge_method: breadcrumbs
base_model: $BASE
parameters: {gamma: 0.05}"
  [breadcrumbs_ties]="$three
merge_method: breadcrumbs_ties
base_model: $BASE"
  [della]="$three
merge_method: della
base_model: $BASE
seed: 9
parameters: {epsilon: 0.1}"
  [della_linear]="$three
merge_method: della_linear
base_model: $BASE
seed: 9
parameters: {epsilon: 0.1}"
  [slerp]="models:
  - model: $BASE
  - model: $FT0
merge_method: slerp
base_model: $BASE
parameters:
  t:
    - filter: self_attn
      value: [0, 1]
    - value: 0.4"
  [model_stock]="$two
merge_method: model_stock
base_model: $BASE"
  [model_stock_rows]="$two
merge_method: model_stock
base_model: $BASE
parameters: {filter_wise: true}"
  [fisher]="$two
merge_method: fisher
parameters: {normalize: true}"
  [regmean]="$two
merge_method: regmean
parameters: {alpha: 0.8}"
  [passthrough]="models:
  - model: $FT1
merge_method: passthrough
out_dtype: float16"
)

n_fail=0
for method in $(echo "${!recipes[@]}" | tr ' ' '\n' | sort); do
  printf '%s\n' "${recipes[$method]}" > "$WORK/$method.yml"
  hashes=()
  for n_rank in 1 2 3 4; do
    out=$WORK/out-$method-$n_rank
    OMP_NUM_THREADS=1 $MPI -np $n_rank "$BIN" merge "$WORK/$method.yml" "$out" --quiet --memory-limit 1
    hashes+=("$(sha256sum "$out/model.safetensors" | cut -d' ' -f1)")
  done
  if [ "$(printf '%s\n' "${hashes[@]}" | sort -u | wc -l)" != 1 ]; then
    echo "FAIL $method: hashes differ across 1/2/3/4 ranks: ${hashes[*]}"
    n_fail=$((n_fail + 1))
  else
    echo "ok   $method ${hashes[0]:0:16}"
  fi
done

# A failing rank: the NaN lies in rows that rank 2 of 3 reads; the job must end, quickly, non-zero.
cat > "$WORK/nan.yml" <<YML
models:
  - model: $WORK/ft_nan
merge_method: task_arithmetic
base_model: $BASE
YML
start=$(date +%s)
if timeout 60 $MPI -np 3 "$BIN" merge "$WORK/nan.yml" "$WORK/out-nan" --quiet 2> "$WORK/nan.err"; then
  echo "FAIL nan: exit status 0"; n_fail=$((n_fail + 1))
elif [ $? = 124 ]; then
  echo "FAIL nan: the job hung"; n_fail=$((n_fail + 1))
fi
elapsed=$(( $(date +%s) - start ))
if [ -e "$WORK/out-nan" ]; then echo "FAIL nan: output under the final name"; n_fail=$((n_fail + 1)); fi
if ! grep -q "non-finite value (nan) at element" "$WORK/nan.err"; then
  echo "FAIL nan: no clear message:"; cat "$WORK/nan.err"; n_fail=$((n_fail + 1))
fi
echo "nan input: failed in ${elapsed}s: $(grep -m1 'non-finite' "$WORK/nan.err" || true)"

[ $n_fail = 0 ] && echo "all merges identical at 1, 2, 3, 4 ranks" || { echo "$n_fail failure(s)"; exit 1; }
