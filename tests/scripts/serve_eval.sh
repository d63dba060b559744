#!/usr/bin/env bash
# tests/scripts/serve_eval.sh: `moerge eval` expert-parallel on the expert zoo (docs/serving.md).
# Rank 0 coordinates, the other ranks host the LoRA experts. Checks: the CSV of every
# expert-parallel system (a single expert, the oracle, Arrow top-2, PHATGOOSE, centroid, retrieval,
# c-BTM, learned) and of a data-parallel one (retrieval with parameter aggregation) is
# byte-identical at 1, 2, 3 and 4 ranks, also with a placement file that pins and replicates experts; a bad placement
# file is one clear error and no CSV; `moerge infer` gives the same generations at 1, 2 and 4 ranks
# and the oracle's equal `moerge generate` with that expert; an expert rank killed with SIGKILL or
# stopped with SIGSTOP ends the job with a non-zero exit, a message naming the rank and its
# experts, and no CSV.
#
# Env (set by ctest): MOERGE_BIN, MOERGE_SOURCE_DIR, MOERGE_BINARY_DIR.
set -euo pipefail

: "${MOERGE_BIN:?set MOERGE_BIN to the moerge executable}"
: "${MOERGE_SOURCE_DIR:?set MOERGE_SOURCE_DIR to the source tree}"
: "${MOERGE_BINARY_DIR:?set MOERGE_BINARY_DIR to the build tree}"

export OMP_NUM_THREADS=1
ZOO=$MOERGE_SOURCE_DIR/data/zoo
MPI="mpirun --allow-run-as-root --oversubscribe"
SCRATCH=$(mktemp -d "$MOERGE_BINARY_DIR/serve_eval.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

say() { printf 'serve_eval: %s\n' "$*"; }
fail() {
  printf 'serve_eval: FAIL: %s\n' "$*" >&2
  exit 1
}

# Four experts; two domains cut to their first three documents to keep 16 runs short.
EXPERTS=()
for name in c_headers python cmake licences; do EXPERTS+=(--expert "$ZOO/experts/lora/$name"); done
DOMAINS=()
for name in python cmake; do
  mkdir -p "$SCRATCH/docs/$name"
  find "$ZOO/eval/$name/test" -type f | LC_ALL=C sort | head -3 | xargs -I{} cp {} "$SCRATCH/docs/$name/"
  DOMAINS+=(--domain "$name=$SCRATCH/docs/$name")
done

run() {  # run N NAME [eval options...]: the CSV goes to $SCRATCH/NAME.npN.csv
  local n_rank=$1 name=$2
  shift 2
  $MPI -np "$n_rank" "$MOERGE_BIN" eval --model "$ZOO/base" "${EXPERTS[@]}" "${DOMAINS[@]}" -q \
    -o "$SCRATCH/$name.np$n_rank.csv" "$@" || fail "$name at $n_rank ranks exited with $?"
}

# 1. Every expert-parallel system gives the same bytes at 1, 2, 3 and 4 ranks.
for system in single oracle arrow phatgoose; do
  for n_rank in 1 2 3 4; do
    case $system in
      single) $MPI -np "$n_rank" "$MOERGE_BIN" eval --model "$ZOO/base" --expert "$ZOO/experts/lora/python" \
                "${DOMAINS[@]}" -q -o "$SCRATCH/single.np$n_rank.csv" || fail "single at $n_rank ranks" ;;
      oracle) run "$n_rank" oracle --router oracle ;;
      arrow) run "$n_rank" arrow --router arrow --top-k 2 ;;
      phatgoose) run "$n_rank" phatgoose --router phatgoose ;;
    esac
    cmp -s "$SCRATCH/$system.np1.csv" "$SCRATCH/$system.np$n_rank.csv" ||
      fail "$system: $n_rank ranks differ from 1 rank: $(diff "$SCRATCH/$system.np1.csv" "$SCRATCH/$system.np$n_rank.csv" | head -4)"
  done
  [[ $(wc -l < "$SCRATCH/$system.np1.csv") -eq 3 ]] || fail "$system: expected a header and 2 rows"
  say "$system: identical CSV at 1, 2, 3 and 4 ranks ($(sed -n 2p "$SCRATCH/$system.np1.csv"))"
done
# Routers whose statistics come from forwards through the dispatcher (samples: 2 validation
# documents per expert); and one that combines parameters, which runs data-parallel.
SAMPLES=()
for name in c_headers python cmake licences; do
  mkdir -p "$SCRATCH/samples/$name"
  find "$ZOO/eval/$name/validation" -type f | LC_ALL=C sort | head -2 | xargs -I{} cp {} "$SCRATCH/samples/$name/"
  SAMPLES+=(--expert-data "$name=$SCRATCH/samples/$name")
done
for system in centroid retrieval cbtm learned retrieval_parameter; do
  for n_rank in 1 2 3 4; do
    if [[ $system == retrieval_parameter ]]; then
      run "$n_rank" "$system" --router retrieval --aggregate parameter "${SAMPLES[@]}"
    else
      run "$n_rank" "$system" --router "$system" "${SAMPLES[@]}"
    fi
    cmp -s "$SCRATCH/$system.np1.csv" "$SCRATCH/$system.np$n_rank.csv" ||
      fail "$system: $n_rank ranks differ from 1 rank: $(diff "$SCRATCH/$system.np1.csv" "$SCRATCH/$system.np$n_rank.csv" | head -4)"
  done
  say "$system: identical CSV at 1, 2, 3 and 4 ranks ($(sed -n 2p "$SCRATCH/$system.np1.csv"))"
done

# The systems differ from each other (the comparison above could not pass on a constant).
[[ $(cut -d, -f5 "$SCRATCH"/{oracle,arrow,phatgoose,centroid,retrieval,cbtm,learned}.np1.csv | sort -u | wc -l) -ge 14 ]] ||
  fail "the routers gave the same figures"

# 2. A placement file that pins and replicates experts: same bytes; the coordinator logs it.
printf 'python: [1, 2, 3]\ncmake: 3\n' > "$SCRATCH/placement.yml"
$MPI -np 4 "$MOERGE_BIN" eval --model "$ZOO/base" "${EXPERTS[@]}" "${DOMAINS[@]}" --router arrow --top-k 2 \
  --placement "$SCRATCH/placement.yml" -o "$SCRATCH/pinned.csv" > "$SCRATCH/pinned.log" 2>&1 ||
  fail "pinned placement: $(tail -3 "$SCRATCH/pinned.log")"
grep -q "placement: rank 3: .*(python, cmake)" "$SCRATCH/pinned.log" || fail "placement not logged: $(grep placement "$SCRATCH/pinned.log")"
cmp -s "$SCRATCH/arrow.np1.csv" "$SCRATCH/pinned.csv" || fail "pinned and replicated placement changed the figures"
say "placement file (python on ranks 1-3, cmake on 3): identical CSV"

# 3. Library objects: the base and the experts from an HDF5 expert library (each host opens only its
#    experts' files) give the directories' figures.
LIB=$SCRATCH/lib
"$MOERGE_BIN" library init "$LIB" --base "$ZOO/base" -q || fail "library init"
"$MOERGE_BIN" library import "$LIB" "$ZOO/experts/lora/c_headers" "$ZOO/experts/lora/python" \
  "$ZOO/experts/lora/cmake" "$ZOO/experts/lora/licences" -q || fail "library import"
for router in arrow phatgoose; do
  $MPI -np 3 "$MOERGE_BIN" eval --model "$LIB/:base" --expert "$LIB/:experts/c_headers" --expert "$LIB/:experts/python" \
    --expert "$LIB/:experts/cmake" --expert "$LIB/:experts/licences" "${DOMAINS[@]}" --router "$router" \
    $([[ $router == arrow ]] && echo --top-k 2) -q -o "$SCRATCH/lib_$router.csv" || fail "library $router at 3 ranks"
  cmp -s "$SCRATCH/$router.np1.csv" "$SCRATCH/lib_$router.csv" || fail "library objects change the $router figures"
done
say "library objects (LIB/:base, LIB/:experts/NAME) at 3 ranks: the directories' CSV"

# 4. Bad placement files and spare ranks.
printf 'pyhton: 1\n' > "$SCRATCH/bad.yml"
if $MPI -np 2 "$MOERGE_BIN" eval --model "$ZOO/base" "${EXPERTS[@]}" "${DOMAINS[@]}" --router arrow \
  --placement "$SCRATCH/bad.yml" -q -o "$SCRATCH/bad.csv" > "$SCRATCH/bad.log" 2>&1; then
  fail "an unknown expert in the placement file was accepted"
fi
grep -q "bad.yml: expert 'pyhton' is not one of this system's experts (c_headers, python, cmake, licences)" \
  "$SCRATCH/bad.log" || fail "unexpected message: $(cat "$SCRATCH/bad.log")"
[[ ! -e $SCRATCH/bad.csv ]] || fail "a CSV appeared after a bad placement file"
$MPI -np 6 "$MOERGE_BIN" eval --model "$ZOO/base" --expert "$ZOO/experts/lora/python" "${DOMAINS[@]}" \
  -o "$SCRATCH/spare.csv" > "$SCRATCH/spare.log" 2>&1 || fail "6 ranks for one expert: $(tail -3 "$SCRATCH/spare.log")"
grep -q "4 of the 5 expert ranks host no expert" "$SCRATCH/spare.log" || fail "no warning about spare ranks"
cmp -s "$SCRATCH/single.np1.csv" "$SCRATCH/spare.csv" || fail "spare ranks changed the figures"
say "bad placement file: one error, no CSV; spare ranks: a warning"

# 5. moerge infer: generations identical at 1, 2 and 4 ranks (oracle, Arrow top-2); the oracle's
#    equal `moerge generate` with the prompt's expert (in-process LoRA, no dispatcher).
printf '%s\n' '{"id":"c","prompt":"cmake_minimum_required(","domain":"cmake"}' \
  '{"id":"p","prompt":"import os\nimport ","domain":"python"}' '{"prompt":"/* ","domain":"c_headers"}' \
  > "$SCRATCH/prompts.jsonl"
for router in oracle arrow; do
  for n_rank in 1 2 4; do
    $MPI -np "$n_rank" "$MOERGE_BIN" infer --model "$ZOO/base" "${EXPERTS[@]}" --router "$router" \
      --prompts "$SCRATCH/prompts.jsonl" --max-new-tokens 32 --batch 2 -q -o "$SCRATCH/infer_$router.np$n_rank.jsonl" ||
      fail "infer $router at $n_rank ranks"
    cmp -s "$SCRATCH/infer_$router.np1.jsonl" "$SCRATCH/infer_$router.np$n_rank.jsonl" ||
      fail "infer $router: $n_rank ranks differ from 1 rank"
  done
  [[ $(wc -l < "$SCRATCH/infer_$router.np1.jsonl") -eq 3 ]] || fail "infer $router: expected 3 lines"
done
"$MOERGE_BIN" generate --model "$ZOO/base" --expert "$ZOO/experts/lora/cmake" --prompt "cmake_minimum_required(" \
  --max-new-tokens 32 > "$SCRATCH/generate_cmake.txt" || fail "generate failed"
/usr/bin/python3 - "$SCRATCH/infer_oracle.np1.jsonl" "$SCRATCH/generate_cmake.txt" <<'PYEOF' || fail "oracle infer differs from generate"
import json, sys
line = json.loads(open(sys.argv[1]).readline())
text = open(sys.argv[2]).read()
assert line["id"] == "c" and line["system"] == "oracle", line
assert text == line["prompt"] + line["generation"] + "\n", (text, line)
assert len(line["generation"]) == 32 and line["stop"] == "max_new_tokens", line
PYEOF
printf '{"prompt": "x", "domain": "rust"}\n' > "$SCRATCH/bad_prompts.jsonl"
if $MPI -np 2 "$MOERGE_BIN" infer --model "$ZOO/base" "${EXPERTS[@]}" --router oracle --prompts "$SCRATCH/bad_prompts.jsonl" \
  -q -o "$SCRATCH/bad.jsonl" > "$SCRATCH/bad_prompts.log" 2>&1; then fail "an unknown domain was accepted"; fi
grep -q "bad_prompts.jsonl: prompt 0: --router oracle needs a \"domain\" naming one of the experts (c_headers, python, cmake, licences); found 'rust'" \
  "$SCRATCH/bad_prompts.log" || fail "unexpected message: $(cat "$SCRATCH/bad_prompts.log")"
printf 'not json\n' > "$SCRATCH/bad_prompts.jsonl"
if "$MOERGE_BIN" infer --model "$ZOO/base" --prompts "$SCRATCH/bad_prompts.jsonl" -q -o "$SCRATCH/bad.jsonl" \
  > "$SCRATCH/bad_prompts.log" 2>&1; then fail "a line that is not JSON was accepted"; fi
grep -q "bad_prompts.jsonl:1: not JSON" "$SCRATCH/bad_prompts.log" || fail "unexpected message: $(cat "$SCRATCH/bad_prompts.log")"
[[ ! -e $SCRATCH/bad.jsonl ]] || fail "an output appeared after bad prompts"
say "infer: identical generations at 1, 2 and 4 ranks; oracle == generate with the expert; bad prompts: one error"

# 6. Faults: an expert rank killed (SIGKILL) or stopped (SIGSTOP) mid-run.
signal_rank() {  # signal_rank SIGNAL RANK LOG: once LOG shows the placement, signal that rank's process
  local sig=$1 rank=$2 log=$3 pid env_rank
  for _ in $(seq 100); do grep -q "placement: rank" "$log" 2>/dev/null && break; sleep 0.1; done
  sleep 1
  for pid in $(pgrep -x moerge); do
    env_rank=$( (tr "\0" "\n" < "/proc/$pid/environ") 2>/dev/null | sed -n "s/^OMPI_COMM_WORLD_RANK=//p") || true
    if [[ $env_rank == "$rank" ]] && grep -q "$SCRATCH" "/proc/$pid/cmdline" 2>/dev/null; then
      kill "-$sig" "$pid"
      return 0
    fi
  done
  return 1
}
LONG=(--domain "python=$ZOO/eval/python/test" --domain "cmake=$ZOO/eval/cmake/test")
for sig in KILL STOP; do
  log=$SCRATCH/fault_$sig.log
  start=$SECONDS
  $MPI -np 3 "$MOERGE_BIN" eval --model "$ZOO/base" "${EXPERTS[@]}" "${LONG[@]}" --router arrow --top-k 2 \
    --reply-timeout 2 -o "$SCRATCH/fault_$sig.csv" > "$log" 2>&1 &
  job=$!
  signal_rank "$sig" 1 "$log" || fail "SIG$sig: no rank-1 process found"
  status=0
  wait "$job" || status=$?
  elapsed=$((SECONDS - start))
  [[ $status -ne 0 ]] || fail "SIG$sig: the job exited 0"
  [[ ! -e $SCRATCH/fault_$sig.csv ]] || fail "SIG$sig: a CSV appeared"
  (( elapsed < 60 )) || fail "SIG$sig: the job took $elapsed s to end"
  if [[ $sig == KILL ]]; then
    grep -q "rank 1 hosts experts c_headers, cmake" "$log" || fail "SIGKILL: the experts of rank 1 are not named: $(cat "$log")"
  else
    grep -q "no answer to a liveness probe" "$log" && grep -q "rank 1 (experts c_headers, cmake)" "$log" ||
      fail "SIGSTOP: rank 1 and its experts are not named: $(cat "$log")"
  fi
  say "SIG$sig on expert rank 1: exit $status after ${elapsed} s, rank and experts named, no CSV"
done
pkill -KILL -f "$SCRATCH" 2>/dev/null || true
say "all checks passed"
