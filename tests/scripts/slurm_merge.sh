#!/usr/bin/env bash
# tests/scripts/slurm_merge.sh: bring up SLURM, run jobs/merge.sbatch with sbatch --wait, compare with a local merge; a USR1 requeue resumes to the same bytes.
#
# Env (set by ctest): MOERGE_BIN, MOERGE_SOURCE_DIR, MOERGE_BINARY_DIR.
# Needs root: it runs cluster/up.sh (idempotent) and leaves SLURM running afterwards (other script
# tests may use it). MOERGE_SLURM_EXISTING=1 skips up.sh and submits to the SLURM already
# configured (the scratch directory under MOERGE_BINARY_DIR must then be on a shared filesystem).
set -euo pipefail

: "${MOERGE_BIN:?set MOERGE_BIN to the moerge executable}"
: "${MOERGE_SOURCE_DIR:?set MOERGE_SOURCE_DIR to the source tree}"
: "${MOERGE_BINARY_DIR:?set MOERGE_BINARY_DIR to the build tree}"
export MOERGE_BIN OMP_NUM_THREADS=1

JOB_TIMEOUT=300
DATA=$MOERGE_SOURCE_DIR/tests/data/tiny
JOB=$MOERGE_SOURCE_DIR/jobs/merge.sbatch
SCRATCH=$MOERGE_BINARY_DIR/slurm_merge

say() { printf 'slurm_merge: %s\n' "$*"; }
fail() {
  printf 'slurm_merge: FAIL: %s\n' "$*" >&2
  exit 1
}
show_file() {
  printf 'slurm_merge: --- %s ---\n' "$1"
  sed 's/^/    /' "$1" || true
}

# submit NAME ARGS...: sbatch --wait the merge job in the background; sets job_pid and the files
# $SCRATCH/NAME.sbatch.{out,err}. finish NAME: wait for it (bounded), sets job_id, job_status, job_out.
submit() {
  local name=$1
  shift
  say "submitting ($name): sbatch --parsable --wait -D $SCRATCH $JOB $*"
  timeout "$JOB_TIMEOUT" sbatch --parsable --wait -D "$SCRATCH" "$JOB" "$@" \
    >"$SCRATCH/$name.sbatch.out" 2>"$SCRATCH/$name.sbatch.err" &
  job_pid=$!
}
finish() {
  local name=$1
  job_status=0
  wait "$job_pid" || job_status=$?
  job_id=$(head -n 1 "$SCRATCH/$name.sbatch.out" | cut -d';' -f1)
  if [ "$job_status" -eq 124 ]; then
    if [ -n "$job_id" ]; then scancel "$job_id" || true; fi
    show_file "$SCRATCH/$name.sbatch.err"
    fail "job $name ($job_id) did not finish within $JOB_TIMEOUT s"
  fi
  [[ "$job_id" =~ ^[0-9]+$ ]] || { show_file "$SCRATCH/$name.sbatch.err"; fail "sbatch gave no job id for $name (exit $job_status)"; }
  job_out=$SCRATCH/moerge-merge-$job_id.out
  say "job $job_id ($name) ended; sbatch --wait returned $job_status"
}
digest() { (cd "$1" && sha256sum config.json model.safetensors moerge_recipe.yml); }

[ -x "$MOERGE_BIN" ] || fail "MOERGE_BIN is not an executable: $MOERGE_BIN"
[ -d "$DATA/base" ] || fail "test data missing: $DATA/base"
if [ "${MOERGE_SLURM_EXISTING:-0}" = 1 ]; then
  scontrol ping | grep -q 'is UP' || fail "MOERGE_SLURM_EXISTING=1 but 'scontrol ping' finds no controller"
else
  [ "$(id -u)" -eq 0 ] || fail "bringing up SLURM needs root (or set MOERGE_SLURM_EXISTING=1)"
  bash "$MOERGE_SOURCE_DIR/cluster/up.sh" || fail "cluster/up.sh failed"
fi

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"

# 1. A TIES merge of the tiny base with two LoRA adapters: the job's output equals a local merge.
cat > "$SCRATCH/lora.yml" <<YML
models:
  - model: $DATA/adapters/lora_a
    parameters: {weight: 0.5, density: 0.5}
  - model: $DATA/adapters/lora_b
    parameters: {weight: 0.5, density: 0.7}
merge_method: ties
base_model: $DATA/base
YML
"$MOERGE_BIN" merge "$SCRATCH/lora.yml" "$SCRATCH/local" --quiet || fail "the local merge failed"
submit good lora.yml out --memory-limit 1
finish good
[ -f "$job_out" ] || fail "job output file $job_out does not exist"
show_file "$job_out"
[ "$job_status" -eq 0 ] || fail "merge job $job_id exited with $job_status (expected 0)"
grep -q 'moerge-merge: done' "$job_out" || fail "job output $job_out lacks the final 'done' line"
grep -q 'nothing to resume' "$job_out" || fail "the fresh job's --resume did not say it starts afresh"
[ "$(digest "$SCRATCH/out")" = "$(digest "$SCRATCH/local")" ] || fail "the job's output differs from the local merge"

# 2. A failing merge (a recipe naming a missing model): non-zero, the reason in the output, no output dir.
sed "s|$DATA/adapters/lora_b|$SCRATCH/no_such_model|" "$SCRATCH/lora.yml" > "$SCRATCH/bad.yml"
submit bad bad.yml bad_out
finish bad
[ "$job_status" -ne 0 ] || fail "merge of a missing model: sbatch --wait returned 0"
grep -q 'no_such_model' "$job_out" || { show_file "$job_out"; fail "job output does not name the missing model"; }
[ ! -e "$SCRATCH/bad_out" ] || fail "the failed merge left $SCRATCH/bad_out"

# 3. USR1 (as SLURM sends before the time limit) mid-merge: the job requeues itself and the
#    requeued run resumes from the journal to the bytes of a local uninterrupted merge.
/usr/bin/python3 "$MOERGE_SOURCE_DIR/tests/scripts/merge_make_models.py" "$SCRATCH/models"
cat > "$SCRATCH/big.yml" <<YML
models:
  - model: $SCRATCH/models/ft0
    parameters: {weight: 0.6, density: 0.4}
  - model: $SCRATCH/models/ft1
    parameters: {weight: 0.4, density: 0.6}
merge_method: ties
base_model: $SCRATCH/models/base
dtype: bfloat16
YML
"$MOERGE_BIN" merge "$SCRATCH/big.yml" "$SCRATCH/big_local" --quiet --memory-limit 1 || fail "the local big merge failed"
submit requeue big.yml big_out --memory-limit 1
journal=$SCRATCH/.big_out.moerge-partial/moerge_journal.txt
n_done=0
for _ in $(seq 1 3000); do
  [ -f "$journal" ] && n_done=$(grep -c '^done ' "$journal" || true)
  [ "$n_done" -ge 3 ] && break
  kill -0 "$job_pid" 2>/dev/null || break
  sleep 0.02
done
[ "$n_done" -ge 3 ] || { finish requeue; show_file "$job_out"; fail "the journal never held 3 finished tensors"; }
first_id=$(head -n 1 "$SCRATCH/requeue.sbatch.out" | cut -d';' -f1)
scancel --batch --signal=USR1 "$first_id" || fail "scancel --signal=USR1 $first_id failed"
say "sent USR1 to job $first_id with $n_done tensors journalled"
finish requeue
show_file "$job_out"
[ "$job_status" -eq 0 ] || fail "requeued merge job $job_id exited with $job_status (expected 0)"
grep -q 'requeueing job' "$job_out" || fail "the job did not requeue itself on USR1"
grep -q 'restart 1' "$job_out" || fail "the job did not run again after the requeue"
grep -q 'tensors were already merged; skipping them' "$job_out" || fail "the requeued run did not resume"
[ "$(digest "$SCRATCH/big_out")" = "$(digest "$SCRATCH/big_local")" ] || fail "the requeued merge differs from the local merge"

# 4. A submission without arguments ends with the usage error (exit 2).
submit usage
finish usage
[ "$job_status" -eq 2 ] || fail "job without arguments: sbatch --wait returned $job_status (expected 2)"
grep -q 'usage: sbatch jobs/merge.sbatch RECIPE.yml OUT_DIR' "$job_out" || fail "job output lacks the usage line"

say "PASS: job output = local merge, failed merge detected, USR1 requeue resumed to the same bytes, usage error"
