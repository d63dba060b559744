#!/usr/bin/env bash
# tests/scripts/library_cli.sh: `moerge library` end to end on tests/data/tiny, alone and under
# mpirun -np 2: init, import, list, show, verify, export (compared tensor by tensor with the sources
# by an independent Python reader), rm, bad-input exit codes, and h5py reading the library's files.
set -euo pipefail

source_dir=${MOERGE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${MOERGE_BIN:-$source_dir/build/bin/moerge}
data=$source_dir/tests/data/tiny
python=/usr/bin/python3
work=$(mktemp -d "${MOERGE_BINARY_DIR:-/tmp}/library_cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
mpi=(timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2)
lib=$work/lib

say() { echo "library_cli: $*"; }
fail() {
  echo "library_cli: FAIL: $*" >&2
  exit 1
}
# run EXPECTED_CODE CMD...: run, keep stdout/stderr in $work/out and $work/err, check the exit code.
run() {
  local want=$1
  shift
  set +e
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  set -e
  if [ "$got" -ne "$want" ]; then
    cat "$work/out" "$work/err" >&2
    fail "'$*' exited $got, expected $want"
  fi
}
expect_in() {  # expect_in FILE TEXT
  grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "expected '$2' in $(basename "$1")"; }
}

say "help"
run 0 "$bin" library --help
expect_in "$work/out" "init LIB --base HF_DIR"
for sub in init import list show verify export rm; do
  run 0 "$bin" library "$sub" --help
  expect_in "$work/out" "usage: moerge library $sub"
done
run 2 "$bin" library

say "init"
run 0 "$bin" library init "$lib" --base "$data/base" --tag domain=general
run 1 "$bin" library init "$lib" --base "$data/base"
expect_in "$work/err" "exists and is not empty (use --force to replace it)"
run 0 "$bin" library init "$lib" --base "$data/base_sharded" --force --quiet
[ ! -s "$work/out" ] && [ ! -s "$work/err" ] || fail "--quiet init printed something"

say "import: one alone, two under mpirun -np 2"
run 0 "$bin" library import "$lib" "$data/adapters/lora_a" --tag domain=code --tag lang=c
expect_in "$work/out" "imported lora 'lora_a'"
run 0 "${mpi[@]}" "$bin" library import "$lib" "$data/adapters/lora_b" "$data/full_bf16" --quiet
[ ! -s "$work/err" ] || { cat "$work/err" >&2; fail "--quiet import under mpirun wrote to stderr"; }

say "list"
run 0 "$bin" library list "$lib"
cp "$work/out" "$work/listing"
cat "$work/listing"
[ "$(wc -l <"$work/listing")" -eq 5 ] || fail "list should print a header and 4 objects"
expect_in "$work/listing" "rank/params"
grep -E '^lora_a +lora +r=4 +F32 .* domain=code,lang=c ' "$work/listing" >/dev/null || fail "lora_a row"
grep -E '^lora_b +lora +r=2 +BF16 ' "$work/listing" >/dev/null || fail "lora_b row"
grep -E '^full_bf16 +full +35.1K +BF16 ' "$work/listing" >/dev/null || fail "full_bf16 row"
run 0 "$bin" library list "$lib" --kind lora
[ "$(wc -l <"$work/out")" -eq 3 ] || fail "list --kind lora should print 2 objects"
run 0 "${mpi[@]}" "$bin" library list "$lib"
cmp -s "$work/out" "$work/listing" || fail "list under mpirun differs (or printed twice)"

say "show"
run 0 "$bin" library show "$lib" lora_a
expect_in "$work/out" "/lora/model.layers.0.self_attn.q_proj/A"
expect_in "$work/out" "/stats/phatgoose/model.layers.0.self_attn.q_proj/gate"
expect_in "$work/out" "xxh3:"
expect_in "$work/out" "moerge-library/1"

say "verify"
run 0 "$bin" library verify "$lib"
expect_in "$work/out" "verified 4 objects"
run 0 "${mpi[@]}" "$bin" library verify "$lib"
expect_in "$work/out" "verified 4 objects"
run 0 "$bin" library verify "$lib" lora_b base

say "export"
run 0 "$bin" library export "$lib" lora_a "$work/out_lora_a"
run 0 "$bin" library export "$lib" lora_b "$work/out_lora_b"
run 0 "${mpi[@]}" "$bin" library export "$lib" full_bf16 "$work/out_full"
run 0 "$bin" library export "$lib" base "$work/out_base"
cmp "$work/out_lora_a/adapter_config.json" "$data/adapters/lora_a/adapter_config.json"
cmp "$work/out_full/config.json" "$data/full_bf16/config.json"
cmp "$work/out_base/config.json" "$data/base_sharded/config.json"

say "independent checks with $python (safetensors parsed by hand, HDF5 read with h5py)"
"$python" - "$data" "$work" "$lib" <<'PY'
import json, struct, sys
import h5py
import numpy as np

data, work, lib = sys.argv[1:4]

def read_safetensors(path):
    """{name: (dtype, shape, raw bytes)} parsed from the file format itself."""
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], blob[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in header.items()}

def read_dir(path, stem):
    import glob, os
    files = sorted(glob.glob(os.path.join(path, stem + "*.safetensors")))
    out = {}
    for file in files:
        out.update(read_safetensors(file))
    return out

def same(expected, actual, what):
    assert expected.keys() == actual.keys(), f"{what}: names differ: {sorted(expected.keys() ^ actual.keys())}"
    for name in expected:
        assert expected[name] == actual[name], f"{what}: tensor {name} differs"
    print(f"  {what}: {len(expected)} tensors byte-identical")

same(read_dir(f"{data}/adapters/lora_a", "adapter_model"), read_dir(f"{work}/out_lora_a", "adapter_model"), "lora_a")
same(read_safetensors(f"{data}/adapters/lora_a/phatgoose_gates.safetensors"),
     read_safetensors(f"{work}/out_lora_a/phatgoose_gates.safetensors"), "lora_a gates")
same(read_dir(f"{data}/adapters/lora_b", "adapter_model"), read_dir(f"{work}/out_lora_b", "adapter_model"), "lora_b")
same(read_dir(f"{data}/full_bf16", "model"), read_dir(f"{work}/out_full", "model"), "full_bf16")
same(read_safetensors(f"{data}/full_bf16/fisher.safetensors"), read_safetensors(f"{work}/out_full/fisher.safetensors"),
     "full_bf16 fisher")
same(read_dir(f"{data}/base_sharded", "model"), read_dir(f"{work}/out_base", "model"), "base (from shards)")

# bf16 in the library, read by h5py: HDF5's own conversion of the custom type to float32 must give
# exactly the values the bf16 bits encode (bf16 -> f32 is exact), and the raw bytes at the
# dataset's offset must be the source's bytes.
src = read_dir(f"{data}/full_bf16", "model")
dtype, shape, raw = src["model.embed_tokens.weight"]
assert dtype == "BF16"
expected = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
with h5py.File(f"{lib}/experts/full_bf16.h5", "r") as f:
    assert f.attrs["moerge_format"] in (b"moerge-library/1", "moerge-library/1")
    ds = f["/params/model.embed_tokens.weight"]
    stored = ds.id.get_type()  # the custom 16-bit float as machine.md defines it
    assert stored.get_size() == 2 and stored.get_fields() == (15, 7, 8, 0, 7) and stored.get_ebias() == 127
    assert ds.shape == tuple(shape), ds.shape
    assert ds.attrs["key"] in (b"model.embed_tokens.weight", "model.embed_tokens.weight")
    values = ds.astype(np.float32)[...]
    assert values.view(np.uint32).tolist() == expected.view(np.uint32).tolist(), "bf16 values differ"
    offset = ds.id.get_offset()
with open(f"{lib}/experts/full_bf16.h5", "rb") as f:
    f.seek(offset)
    assert f.read(len(raw)) == raw, "bf16 raw bytes differ"
print(f"  h5py: bf16 {shape} values and raw bytes bit-exact")

lora = read_dir(f"{data}/adapters/lora_a", "adapter_model")
dtype, shape, raw = lora["base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight"]
expected = np.frombuffer(raw, dtype="<f4").reshape(shape)
with h5py.File(f"{lib}/library.h5", "r") as index:  # through the index's external link
    a = index["objects/lora_a/lora/model.layers.1.self_attn.v_proj/A"][...]
    assert index["catalogue/lora_a"].attrs["kind"] in (b"lora", "lora")
assert a.dtype == np.float32 and a.shape == tuple(shape)
assert a.view(np.uint32).tolist() == expected.view(np.uint32).tolist(), "LoRA A differs"
print(f"  h5py: LoRA A {shape} bit-exact through library.h5's external link")
PY

say "a flipped byte is found, naming the dataset"
cp -a "$lib" "$work/bad"
"$python" - "$work/bad/experts/lora_b.h5" <<'PY'
import sys, h5py
path = sys.argv[1]
with h5py.File(path, "r") as f:
    offset = f["/lora/model.layers.0.mlp.gate_proj/B"].id.get_offset()
with open(path, "r+b") as f:
    f.seek(offset + 3)
    byte = f.read(1)[0]
    f.seek(offset + 3)
    f.write(bytes([byte ^ 0x5A]))
PY
run 1 "$bin" library verify "$work/bad"
expect_in "$work/out" "experts/lora_b.h5:/lora/model.layers.0.mlp.gate_proj/B: checksum: expected xxh3:"
expect_in "$work/out" "experts/lora_b.h5: sha256: expected"
expect_in "$work/out" "verify FAILED: 2 mismatches"
run 1 "${mpi[@]}" "$bin" library verify "$work/bad"
expect_in "$work/out" "/lora/model.layers.0.mlp.gate_proj/B: checksum"
run 0 "$bin" library verify "$work/bad" lora_a full_bf16
run 1 "$bin" library export "$work/bad" lora_b "$work/out_bad"
expect_in "$work/err" "differs from the catalogue's"
[ ! -e "$work/out_bad" ] || fail "a refused export left $work/out_bad"

say "bad input: clear message, right exit code, library unchanged"
run 2 "$bin" library import "$lib" "$data/adapters/lora_a" --name a/b
expect_in "$work/err" "object name 'a/b' is invalid"
run 2 "$bin" library import "$lib" "$data/adapters/lora_a" "$data/adapters/lora_b" --name x
expect_in "$work/err" "--name needs exactly one DIR"
run 2 "$bin" library import "$lib"
expect_in "$work/err" "DIR is missing"
run 2 "$bin" library list "$lib" --bogus
expect_in "$work/err" "unrecognised option '--bogus'"
run 2 "$bin" library list "$lib" --kind adapter
run 2 "$bin" library init "$work/x" --base "$data/base" --tag nokey
run 2 "$bin" library frobnicate
run 1 "$bin" library import "$lib" "$work/no_such_dir"
expect_in "$work/err" "no_such_dir: no such directory"
run 1 "$bin" library import "$lib" "$data/adapters/lora_a"
expect_in "$work/err" "an object named 'lora_a' exists already"
run 1 "$bin" library import "$lib" "$data/base"
expect_in "$work/err" "'base' is reserved"
run 1 "$bin" library show "$lib" nope
expect_in "$work/err" "no object named 'nope' (the library holds: base, full_bf16, lora_a, lora_b)"
run 1 "$bin" library export "$lib" lora_a "$work/out_lora_a"
expect_in "$work/err" "exists and is not an empty directory"
run 1 "$bin" library rm "$lib" base
run 1 "$bin" library list "$work"
expect_in "$work/err" "not a moerge library"
# An adapter that does not fit the base, under mpirun: one message, exit 1, no hang, nothing written.
mkdir -p "$work/misfit"
cp "$data/adapters/lora_a/adapter_model.safetensors" "$work/misfit/"
sed 's/"r": 4/"r": 3/' "$data/adapters/lora_a/adapter_config.json" >"$work/misfit/adapter_config.json"
run 1 "${mpi[@]}" "$bin" library import "$lib" "$data/adapters/lora_a" "$work/misfit" --replace
expect_in "$work/err" "misfit"
run 0 "$bin" library list "$lib"
cmp -s "$work/out" "$work/listing" || fail "failed imports changed the listing"
leftovers=$(find "$lib" -name '.*.tmp-*')
[ -z "$leftovers" ] || fail "temporaries left behind: $leftovers"
run 0 "$bin" library verify "$lib"

say "rm"
run 0 "$bin" library rm "$lib" lora_b
run 0 "$bin" library list "$lib"
! grep -q '^lora_b ' "$work/out" || fail "lora_b still listed after rm"
[ ! -e "$lib/experts/lora_b.h5" ] || fail "rm left experts/lora_b.h5"
run 0 "$bin" library verify "$lib"
expect_in "$work/out" "verified 3 objects"

say "ok"
