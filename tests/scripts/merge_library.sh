#!/bin/bash
# `moerge merge --library LIB`: the merge is stored as merges/<OUT_DIR name>.h5, listed and verified,
# exports to the same tensors as OUT_DIR; a name already in the library and a library with another
# base are refused before any work, with nothing written.
set -euo pipefail
BIN=${MOERGE_BIN:?MOERGE_BIN not set}
SRC=${MOERGE_SOURCE_DIR:?MOERGE_SOURCE_DIR not set}
WORK=$(mktemp -d "${MOERGE_BINARY_DIR:-/tmp}/merge-library-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
MPI="mpirun --allow-run-as-root --oversubscribe"
TINY=$SRC/tests/data/tiny
say() { printf 'merge_library: %s\n' "$*"; }
fail() {
  printf 'merge_library: FAIL: %s\n' "$*" >&2
  exit 1
}

"$BIN" library init "$WORK/lib" --base "$TINY/base" --quiet > /dev/null || fail "library init failed"
cat > "$WORK/ties.yml" <<YML
models:
  - model: $TINY/adapters/lora_a
    parameters: {weight: 0.5, density: 0.5}
  - model: $TINY/adapters/lora_b
    parameters: {weight: 0.5, density: 0.7}
merge_method: ties
base_model: $TINY/base
YML

# 1. Merge at 2 ranks into OUT_DIR and the library.
OMP_NUM_THREADS=1 $MPI -np 2 "$BIN" merge "$WORK/ties.yml" "$WORK/soup" --library "$WORK/lib" > "$WORK/merge.log" 2>&1 ||
  { cat "$WORK/merge.log"; fail "merge --library failed"; }
[ -f "$WORK/lib/merges/soup.h5" ] || fail "merges/soup.h5 was not written"
listing=$("$BIN" library list "$WORK/lib") || fail "library list failed"
printf '%s\n' "$listing" | sed 's/^/    /'
grep -E '^soup[[:space:]].*merge' <<<"$listing" > /dev/null || fail "library list does not show the merge 'soup' of kind merge"
"$BIN" library verify "$WORK/lib" > /dev/null || fail "library verify failed after storing the merge"
"$BIN" library export "$WORK/lib" soup "$WORK/exported" > /dev/null || fail "library export of the merge failed"
/usr/bin/python3 - "$WORK/soup/model.safetensors" "$WORK/exported/model.safetensors" <<'PY' || fail "the exported merge differs from OUT_DIR"
import json, struct, sys
def load(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    head = json.loads(blob[8:8 + n]); head.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], blob[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]) for k, v in head.items()}
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
for k in a:
    assert a[k] == b[k], k
print(f"merge_library: {len(a)} tensors of the export equal OUT_DIR's (dtype, shape, bytes)")
PY
cmp "$WORK/soup/config.json" "$WORK/exported/config.json" || fail "the exported config.json differs"

# 2. The same name again (another OUT_DIR called soup): refused before any work, nothing written.
mkdir -p "$WORK/other"
status=0
"$BIN" merge "$WORK/ties.yml" "$WORK/other/soup" --library "$WORK/lib" > "$WORK/again.log" 2>&1 || status=$?
[ "$status" -eq 2 ] || { cat "$WORK/again.log"; fail "a second merge named soup: exit $status (expected 2)"; }
grep -q "already holds an object named 'soup'" "$WORK/again.log" || { cat "$WORK/again.log"; fail "no clear message for a taken name"; }
[ ! -e "$WORK/other/soup" ] && [ ! -e "$WORK/other/.soup.moerge-partial" ] || fail "the refused merge wrote output"

# 3. A library whose base has another shape: refused before any work.
/usr/bin/python3 - "$TINY/base" "$WORK/wide" <<'PY'
import json, os, struct, sys
import numpy as np
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
config = json.load(open(os.path.join(src, "config.json")))
blob = open(os.path.join(src, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
head = json.loads(blob[8:8 + n]); head.pop("__metadata__", None)
config["vocab_size"] += 2
out, off, blobs = {}, 0, []
for k in sorted(head):
    shape = list(head[k]["shape"])
    if k in ("model.embed_tokens.weight", "lm_head.weight"):
        shape[0] += 2
    b = np.zeros(shape, "<f4").tobytes()
    out[k] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
    off += len(b); blobs.append(b)
t = json.dumps(out).encode(); t += b" " * ((8 - (8 + len(t)) % 8) % 8)
open(os.path.join(dst, "model.safetensors"), "wb").write(struct.pack("<Q", len(t)) + t + b"".join(blobs))
json.dump(config, open(os.path.join(dst, "config.json"), "w"))
PY
"$BIN" library init "$WORK/widelib" --base "$WORK/wide" --quiet > /dev/null || fail "library init of the wide base failed"
status=0
"$BIN" merge "$WORK/ties.yml" "$WORK/soup2" --library "$WORK/widelib" > "$WORK/wide.log" 2>&1 || status=$?
[ "$status" -eq 1 ] || { cat "$WORK/wide.log"; fail "a library with another base: exit $status (expected 1)"; }
grep -q "the merge does not fit the library's base" "$WORK/wide.log" && grep -q "lm_head.weight" "$WORK/wide.log" ||
  { cat "$WORK/wide.log"; fail "no clear message for a library with another base"; }
[ ! -e "$WORK/soup2" ] && [ ! -e "$WORK/.soup2.moerge-partial" ] || fail "the refused merge wrote output"
say "PASS: stored, listed, verified and exported the merge; a taken name and another base refused"
