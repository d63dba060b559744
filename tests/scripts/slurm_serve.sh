#!/usr/bin/env bash
# tests/scripts/slurm_serve.sh: expert-parallel eval and infer through the real SLURM of cluster/:
# jobs/eval.sbatch (3 tasks: a coordinator and 2 expert hosts) gives the same CSV as a local
# one-rank run and its log holds the table; jobs/infer.sbatch gives the same JSONL as one rank; an
# expert task killed with SIGKILL ends the job (non-zero) with the task and its experts named and no
# CSV.
#
# Env (set by ctest): MOERGE_BIN, MOERGE_SOURCE_DIR, MOERGE_BINARY_DIR. Needs root for cluster/up.sh
# (idempotent; SLURM stays up), or MOERGE_SLURM_EXISTING=1 with the build tree on a shared filesystem.
set -euo pipefail

: "${MOERGE_BIN:?set MOERGE_BIN to the moerge executable}"
: "${MOERGE_SOURCE_DIR:?set MOERGE_SOURCE_DIR to the source tree}"
: "${MOERGE_BINARY_DIR:?set MOERGE_BINARY_DIR to the build tree}"
export MOERGE_BIN OMP_NUM_THREADS=1

JOB_TIMEOUT=300
ZOO=$MOERGE_SOURCE_DIR/data/zoo
SCRATCH=$MOERGE_BINARY_DIR/slurm_serve

say() { printf 'slurm_serve: %s\n' "$*"; }
fail() {
  printf 'slurm_serve: FAIL: %s\n' "$*" >&2
  exit 1
}
show_file() {
  printf 'slurm_serve: --- %s ---\n' "$1"
  sed 's/^/    /' "$1" || true
}

# run_job NAME SBATCH_FILE ARGS...: sbatch --wait (3 tasks on the node's cores, overcommitted);
# sets job_id, job_status and job_out.
run_job() {
  local name=$1 file=$2
  shift 2
  job_status=0
  timeout "$JOB_TIMEOUT" sbatch --parsable --wait -n 3 --overcommit -D "$SCRATCH" "$file" "$@" \
    >"$SCRATCH/$name.sbatch.out" 2>"$SCRATCH/$name.sbatch.err" || job_status=$?
  job_id=$(head -n 1 "$SCRATCH/$name.sbatch.out" | cut -d';' -f1)
  [[ "$job_id" =~ ^[0-9]+$ ]] || { show_file "$SCRATCH/$name.sbatch.err"; fail "sbatch gave no job id for $name (exit $job_status)"; }
  [ "$job_status" -ne 124 ] || { scancel "$job_id" || true; fail "job $name ($job_id) did not finish within $JOB_TIMEOUT s"; }
  job_out=$SCRATCH/$(basename "$file" .sbatch | sed 's/^/moerge-/')-$job_id.out
  say "job $job_id ($name) ended; sbatch --wait returned $job_status"
}

[ -x "$MOERGE_BIN" ] || fail "MOERGE_BIN is not an executable: $MOERGE_BIN"
if [ "${MOERGE_SLURM_EXISTING:-0}" = 1 ]; then
  scontrol ping | grep -q 'is UP' || fail "MOERGE_SLURM_EXISTING=1 but 'scontrol ping' finds no controller"
else
  [ "$(id -u)" -eq 0 ] || fail "bringing up SLURM needs root (or set MOERGE_SLURM_EXISTING=1)"
  bash "$MOERGE_SOURCE_DIR/cluster/up.sh" || fail "cluster/up.sh failed"
fi
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"

EXPERTS=()
for name in c_headers python cmake licences; do EXPERTS+=(--expert "$ZOO/experts/lora/$name"); done
DOMAINS=()
for name in python cmake; do
  mkdir -p "$SCRATCH/docs/$name"
  find "$ZOO/eval/$name/test" -type f | LC_ALL=C sort | head -3 | xargs -I{} cp {} "$SCRATCH/docs/$name/"
  DOMAINS+=(--domain "$name=$SCRATCH/docs/$name")
done

# 1. jobs/eval.sbatch: Arrow top-2 over 4 experts, 3 tasks == one local rank.
"$MOERGE_BIN" eval --model "$ZOO/base" "${EXPERTS[@]}" "${DOMAINS[@]}" --router arrow --top-k 2 -q \
  -o "$SCRATCH/local.csv" || fail "the local eval failed"
run_job eval "$MOERGE_SOURCE_DIR/jobs/eval.sbatch" --model "$ZOO/base" "${EXPERTS[@]}" "${DOMAINS[@]}" \
  --router arrow --top-k 2 --output "$SCRATCH/job.csv"
[ "$job_status" -eq 0 ] || { show_file "$job_out"; fail "eval job exited $job_status"; }
cmp -s "$SCRATCH/local.csv" "$SCRATCH/job.csv" || fail "the job's CSV differs from a local run: $(diff "$SCRATCH/local.csv" "$SCRATCH/job.csv")"
grep -q "placement: rank 2: " "$job_out" || { show_file "$job_out"; fail "no placement over 3 tasks in the log"; }
grep -Eq "^\(mean\) +in_distribution +2 dom\. +[0-9]+\.[0-9]{4}$" "$job_out" || { show_file "$job_out"; fail "no table in the job log"; }
say "eval.sbatch: 3 tasks give the CSV of one local rank; the log holds the table"

# 2. jobs/infer.sbatch: the oracle's generations == one local rank.
printf '%s\n' '{"id":"c","prompt":"cmake_minimum_required(","domain":"cmake"}' \
  '{"id":"p","prompt":"import ","domain":"python"}' > "$SCRATCH/prompts.jsonl"
"$MOERGE_BIN" infer --model "$ZOO/base" "${EXPERTS[@]}" --router oracle --prompts "$SCRATCH/prompts.jsonl" \
  --max-new-tokens 24 -q -o "$SCRATCH/local.jsonl" || fail "the local infer failed"
run_job infer "$MOERGE_SOURCE_DIR/jobs/infer.sbatch" --model "$ZOO/base" "${EXPERTS[@]}" --router oracle \
  --prompts "$SCRATCH/prompts.jsonl" --max-new-tokens 24 --output "$SCRATCH/job.jsonl"
[ "$job_status" -eq 0 ] || { show_file "$job_out"; fail "infer job exited $job_status"; }
cmp -s "$SCRATCH/local.jsonl" "$SCRATCH/job.jsonl" || fail "the job's generations differ from a local run"
say "infer.sbatch: 3 tasks give the generations of one local rank"

# 3. An expert task killed (SIGKILL) while the job runs.
timeout "$JOB_TIMEOUT" sbatch --parsable --wait -n 3 --overcommit -D "$SCRATCH" "$MOERGE_SOURCE_DIR/jobs/eval.sbatch" \
  --model "$ZOO/base" "${EXPERTS[@]}" --domain "python=$ZOO/eval/python/test" --domain "cmake=$ZOO/eval/cmake/test" \
  --router arrow --top-k 2 --output "$SCRATCH/killed.csv" >"$SCRATCH/kill.sbatch.out" 2>"$SCRATCH/kill.sbatch.err" &
waiter=$!
killed=0
for _ in $(seq 600); do
  for pid in $(pgrep -x moerge); do
    grep -q "$SCRATCH/killed.csv" "/proc/$pid/cmdline" 2>/dev/null || continue
    task=$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | sed -n 's/^SLURM_PROCID=//p') || true
    if [ "$task" = 1 ] && grep -q "placement: rank" "$SCRATCH"/moerge-eval-*.out 2>/dev/null; then
      sleep 1
      kill -KILL "$pid" && killed=1
      break 2
    fi
  done
  sleep 0.1
done
[ "$killed" -eq 1 ] || fail "found no running expert task to kill"
status=0
wait "$waiter" || status=$?
job_id=$(head -n 1 "$SCRATCH/kill.sbatch.out" | cut -d';' -f1)
job_out=$SCRATCH/moerge-eval-$job_id.out
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { show_file "$job_out"; fail "the job with a killed task returned $status"; }
[ ! -e "$SCRATCH/killed.csv" ] || fail "a CSV appeared after a task was killed"
grep -q "rank 1 hosts experts" "$job_out" || { show_file "$job_out"; fail "the killed task's experts are not named"; }
say "a killed expert task ends the job (exit $status) naming its experts; no CSV"
say "all checks passed"
