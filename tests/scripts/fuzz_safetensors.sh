#!/usr/bin/env bash
# Build the safetensors header fuzzer with clang (libFuzzer + ASan + UBSan) and run it for
# ${MOERGE_FUZZ_SECONDS:-60} s, seeded with the malformed corpus and a few valid files. Fails on any
# finding (crash, sanitizer report, leak, timeout) and leaves the reproducer in the build dir.
set -euo pipefail

source_dir=${MOERGE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if [[ -n ${MOERGE_FUZZ_BUILD_DIR:-} ]]; then
  build_dir=$MOERGE_FUZZ_BUILD_DIR
elif [[ -n ${MOERGE_BINARY_DIR:-} ]]; then
  build_dir=$MOERGE_BINARY_DIR/fuzz
else
  build_dir=$source_dir/build/fuzz
fi
seconds=${MOERGE_FUZZ_SECONDS:-60}

for tool in clang clang++ cmake /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "fuzz_safetensors: $tool not found" >&2; exit 1; }
done

echo "fuzz_safetensors: building in $build_dir"
mkdir -p "$build_dir"
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DMOERGE_BUILD_FUZZ=ON -DMOERGE_BUILD_TESTS=OFF -DMOERGE_BUILD_BENCH=OFF >"$build_dir/configure.log" 2>&1 ||
  { cat "$build_dir/configure.log" >&2; exit 1; }
cmake --build "$build_dir" --target safetensors_header_fuzz -j2
fuzzer=$build_dir/tests/fuzz/safetensors_header_fuzz

# A fresh working corpus each run: the committed seeds are never modified.
work=$build_dir/safetensors-run
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
find "$source_dir/tests/data/malformed/safetensors" -type f ! -name EXPECTED.tsv -exec cp {} "$work/corpus/" \;
find "$source_dir/tests/data/malformed/index" -type f -name '*.safetensors' | while read -r shard; do
  cp "$shard" "$work/corpus/index-$(basename "$(dirname "$shard")")-$(basename "$shard")"
done
/usr/bin/python3 "$source_dir/tools/reference/safetensors_ref.py" make-sample \
  "$work/corpus/valid-python.safetensors" "$work/valid-python.json" >/dev/null

echo "fuzz_safetensors: $(ls "$work/corpus" | wc -l) seeds, running for $seconds s"
status=0
"$fuzzer" "$work/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -dict="$source_dir/tests/fuzz/safetensors.dict" -artifact_prefix="$work/artifacts/" \
  -print_final_stats=1 >"$work/fuzz.log" 2>&1 || status=$?
tail -n 25 "$work/fuzz.log"

findings=$(find "$work/artifacts" -type f | wc -l)
if grep -q -E 'runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)' "$work/fuzz.log"; then
  findings=$((findings + 1))
fi
if [[ $status -ne 0 || $findings -ne 0 ]]; then
  echo "fuzz_safetensors: FAILED (exit $status, $findings finding(s) in $work/artifacts; log $work/fuzz.log)" >&2
  exit 1
fi
echo "fuzz_safetensors: clean after $seconds s"
