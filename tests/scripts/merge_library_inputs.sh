#!/bin/bash
# `moerge merge` with library objects as models (`LIB/:base`, `LIB/:experts/NAME`): a library
# built from the bundled zoo (base, three full fine-tunes with their Fisher, three LoRA experts),
# merged with linear, ties, task_arithmetic, fisher, regmean, dare_ties on LoRA inputs and lora_cat, gives
# the same output bytes as the same recipe naming the source directories, at 1, 2 and 3 ranks.
# A missing object, a wrong library path, an object of another kind and a fisher merge of an
# object without Fisher statistics each fail with their own message and write nothing.
set -euo pipefail
BIN=${MOERGE_BIN:?MOERGE_BIN not set}
SRC=${MOERGE_SOURCE_DIR:?MOERGE_SOURCE_DIR not set}
WORK=$(mktemp -d "${MOERGE_BINARY_DIR:-/tmp}/merge-library-inputs-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
MPI="mpirun --allow-run-as-root --oversubscribe"
ZOO=$SRC/data/zoo
LIB=$WORK/lib
say() { printf 'merge_library_inputs: %s\n' "$*"; }
fail() {
  printf 'merge_library_inputs: FAIL: %s\n' "$*" >&2
  exit 1
}

# The library: every expert under a name saying its kind; full_man is imported without its Fisher.
"$BIN" library init "$LIB" --base "$ZOO/base" --quiet > /dev/null || fail "library init failed"
for domain in cmake perl python; do
  "$BIN" library import "$LIB" "$ZOO/experts/full/$domain" --name "full_$domain" --quiet > /dev/null ||
    fail "import of full/$domain failed"
  "$BIN" library import "$LIB" "$ZOO/experts/lora/$domain" --name "lora_$domain" --quiet > /dev/null ||
    fail "import of lora/$domain failed"
done
mkdir "$WORK/man"
cp "$ZOO/experts/full/man/config.json" "$ZOO/experts/full/man/model.safetensors" "$WORK/man/"
"$BIN" library import "$LIB" "$WORK/man" --name full_man --quiet > /dev/null || fail "import of full_man failed"

# RegMean inputs: two full fine-tunes with regmean_gram.safetensors (numpy, fixed seeds), imported
# as gram_cmake and gram_perl. No moerge command stores Gram matrices yet, so the same matrices are
# added to the object files as /stats/gram/<module>/G with h5py, and the index gets the files' new
# size and SHA-256.
for domain in cmake perl; do
  "$BIN" library import "$LIB" "$ZOO/experts/full/$domain" --name "gram_$domain" --quiet > /dev/null ||
    fail "import of gram_$domain failed"
done
/usr/bin/python3 - "$ZOO" "$WORK" "$LIB" <<'PY' || fail "adding Gram matrices failed"
import hashlib, json, os, shutil, struct, sys
import h5py
import numpy as np
zoo, work, lib = sys.argv[1:4]
blob = open(os.path.join(zoo, "base", "model.safetensors"), "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + n]); header.pop("__metadata__", None)
for idx, domain in enumerate(["cmake", "perl"]):
    rng = np.random.default_rng(2000 + idx)
    grams = {}
    for key in sorted(header):
        shape = header[key]["shape"]
        if len(shape) == 2 and key.endswith("_proj.weight"):
            x = rng.normal(0, 1, (2 * shape[1], shape[1]))
            grams[key] = (x.T @ x / x.shape[0]).astype(np.float32)
    out = os.path.join(work, "gram_" + domain)
    os.makedirs(out)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(zoo, "experts", "full", domain, name), out)
    head, off, blobs = {}, 0, []
    for key in sorted(grams):
        b = grams[key].tobytes()
        head[key] = {"dtype": "F32", "shape": list(grams[key].shape), "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    t = json.dumps(head).encode(); t += b" " * ((8 - (8 + len(t)) % 8) % 8)
    open(os.path.join(out, "regmean_gram.safetensors"), "wb").write(struct.pack("<Q", len(t)) + t + b"".join(blobs))
    path = os.path.join(lib, "experts", "gram_" + domain + ".h5")
    with h5py.File(path, "r+") as f:
        for key, gram in grams.items():
            f.create_dataset("/stats/gram/" + key[:-len(".weight")] + "/G", data=gram)
    with h5py.File(os.path.join(lib, "library.h5"), "r+") as index:
        entry = index["catalogue"]["gram_" + domain]
        entry.attrs["size"] = np.int64(os.path.getsize(path))
        entry.attrs["sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
PY

# A recipe in two spellings: @full_x@ / @lora_x@ / @base@ become directories or library references.
spell() {  # spell dir|lib TEMPLATE OUT
  if [ "$1" = dir ]; then
    sed -e "s|@base@|$ZOO/base|g" -e "s|@full_\([a-z]*\)@|$ZOO/experts/full/\1|g" -e "s|@\(gram_[a-z]*\)@|$WORK/\1|g" \
      -e "s|@lora_\([a-z]*\)@|$ZOO/experts/lora/\1|g" "$2" > "$3"
  else
    sed -e "s|@base@|$LIB/:base|g" -e "s|@\(full_[a-z]*\)@|$LIB/:experts/\1|g" -e "s|@\(gram_[a-z]*\)@|$LIB/:experts/\1|g" \
      -e "s|@\(lora_[a-z]*\)@|$LIB/:experts/\1|g" "$2" > "$3"
  fi
}
cat > "$WORK/linear.tmpl" <<'YML'
models:
  - {model: "@full_cmake@", parameters: {weight: 0.5}}
  - {model: "@full_perl@", parameters: {weight: 0.3}}
  - {model: "@full_python@", parameters: {weight: 0.2}}
merge_method: linear
YML
cat > "$WORK/ties.tmpl" <<'YML'
models:
  - {model: "@full_cmake@", parameters: {weight: 0.5, density: 0.4}}
  - {model: "@full_perl@", parameters: {weight: 0.3, density: 0.7}}
  - {model: "@full_python@", parameters: {weight: 0.4, density: 0.5}}
  - {model: "@lora_cmake@", parameters: {weight: 0.6, density: 0.6}}
merge_method: ties
base_model: "@base@"
dtype: bfloat16
YML
cat > "$WORK/task_arithmetic.tmpl" <<'YML'
models:
  - {model: "@full_cmake@", parameters: {weight: 0.5}}
  - {model: "@full_python@", parameters: {weight: [0.2, 0.6]}}
  - {model: "@lora_perl@", parameters: {weight: 0.7}}
  - {model: "@lora_python@", parameters: {weight: -0.3}}
merge_method: task_arithmetic
base_model: "@base@"
parameters: {lambda: 0.9}
YML
cat > "$WORK/fisher.tmpl" <<'YML'
models:
  - {model: "@full_cmake@", parameters: {weight: 1.0}}
  - {model: "@full_perl@", parameters: {weight: 0.5}}
  - {model: "@full_python@", parameters: {weight: 0.8}}
merge_method: fisher
parameters: {normalize: true}
YML
cat > "$WORK/regmean.tmpl" <<'YML'
models:
  - {model: "@gram_cmake@", parameters: {weight: 0.6}}
  - {model: "@gram_perl@", parameters: {weight: 0.4}}
merge_method: regmean
parameters: {alpha: 0.9}
YML
cat > "$WORK/dare_ties.tmpl" <<'YML'
models:
  - {model: "@lora_cmake@", parameters: {weight: 0.5, density: 0.5}}
  - {model: "@lora_perl@", parameters: {weight: 0.4, density: 0.7}}
  - {model: "@lora_python@", parameters: {weight: 0.6, density: 0.6}}
merge_method: dare_ties
base_model: "@base@"
seed: 7
YML
cat > "$WORK/lora_cat.tmpl" <<'YML'
models:
  - {model: "@lora_cmake@", parameters: {weight: 0.7}}
  - {model: "@lora_python@", parameters: {weight: -0.4}}
merge_method: lora_cat
base_model: "@base@"
YML

# The output files' SHA-256. The recipe copy differs by construction (it names other paths), and so
# does base_model_name_or_path in a merged adapter's config: that file is compared without it.
digest() {
  (cd "$1" && sha256sum $(ls | grep -v -e '^moerge_recipe.yml$' -e '^adapter_config.json$'))
  if [ -f "$1/adapter_config.json" ]; then
    /usr/bin/python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c.pop("base_model_name_or_path"); print(json.dumps(c, sort_keys=True))' \
      "$1/adapter_config.json" | sha256sum | sed 's/-$/adapter_config.json without base_model_name_or_path/'
  fi
}

for method in linear ties task_arithmetic fisher regmean dare_ties lora_cat; do
  spell dir "$WORK/$method.tmpl" "$WORK/$method.dir.yml"
  spell lib "$WORK/$method.tmpl" "$WORK/$method.lib.yml"
  grep -q ":experts/" "$WORK/$method.lib.yml" || fail "$method: the library spelling names no library object"
  "$BIN" merge "$WORK/$method.dir.yml" "$WORK/$method.dir" --quiet > "$WORK/$method.dir.log" 2>&1 ||
    { cat "$WORK/$method.dir.log"; fail "$method from directories failed"; }
  expected=$(digest "$WORK/$method.dir")
  for n_rank in 1 2 3; do
    out="$WORK/$method.lib.np$n_rank"
    OMP_NUM_THREADS=1 $MPI -np "$n_rank" "$BIN" merge "$WORK/$method.lib.yml" "$out" --quiet > "$out.log" 2>&1 ||
      { cat "$out.log"; fail "$method from library objects at $n_rank ranks failed"; }
    actual=$(digest "$out")
    [ "$actual" = "$expected" ] ||
      { printf 'directories:\n%s\nlibrary at %s ranks:\n%s\n' "$expected" "$n_rank" "$actual"; fail "$method: outputs differ"; }
  done
  say "$method: library objects at 1, 2, 3 ranks = directories ($(printf '%s\n' "$expected" | grep -m1 safetensors))"
done

# A small memory limit (one row per chunk, many collective reads) gives the same bytes too.
OMP_NUM_THREADS=1 $MPI -np 2 "$BIN" merge "$WORK/ties.lib.yml" "$WORK/ties.small" --memory-limit 1 --quiet \
  > "$WORK/small.log" 2>&1 || { cat "$WORK/small.log"; fail "ties with --memory-limit 1 failed"; }
[ "$(digest "$WORK/ties.small")" = "$(digest "$WORK/ties.dir")" ] || fail "ties with --memory-limit 1: outputs differ"
say "ties at 2 ranks with --memory-limit 1 = directories"

# Bad references: exit 1, one clear message, nothing written (checked at 1 and 2 ranks).
expect_refusal() {  # expect_refusal NAME MODEL_LINE MESSAGE...
  local name=$1 model=$2
  shift 2
  printf 'models:\n  - {model: "%s"}\n  - {model: "%s"}\nmerge_method: %s\n' \
    "$model" "$ZOO/experts/full/perl" "$([ "$name" = fisher ] && echo fisher || echo linear)" > "$WORK/bad_$name.yml"
  for n_rank in 1 2; do
    local status=0
    OMP_NUM_THREADS=1 $MPI -np "$n_rank" "$BIN" merge "$WORK/bad_$name.yml" "$WORK/bad_$name" > "$WORK/bad_$name.log" 2>&1 ||
      status=$?
    [ "$status" -eq 1 ] || { cat "$WORK/bad_$name.log"; fail "$name at $n_rank ranks: exit $status (expected 1)"; }
    for message in "$@"; do
      grep -qF -- "$message" "$WORK/bad_$name.log" ||
        { cat "$WORK/bad_$name.log"; fail "$name: the message does not say '$message'"; }
    done
    [ ! -e "$WORK/bad_$name" ] && [ ! -e "$WORK/.bad_$name.moerge-partial" ] || fail "$name: output was written"
  done
  say "refused $name at 1 and 2 ranks: $(grep -m1 -F -- "$1" "$WORK/bad_$name.log" | sed 's/^ *//' | cut -c1-150)"
}
expect_refusal missing_object "$LIB/:experts/nope" "no object named 'nope'" \
  "(the library holds: base, full_cmake, full_man, full_perl, full_python, gram_cmake, gram_perl, lora_cmake, lora_perl, lora_python)"
expect_refusal wrong_library "$WORK/nolib/:experts/full_cmake" "$WORK/nolib: no such library directory"
expect_refusal wrong_kind "$LIB/:merges/full_cmake" "object 'full_cmake' is a full object, named $LIB/:experts/full_cmake"
expect_refusal fisher "$LIB/:experts/full_man" "fisher needs a diagonal Fisher" "experts/full_man.h5:/stats/fisher is missing"
say "PASS"
