#!/usr/bin/env bash
# tests/scripts/slurm_import.sh: bring up SLURM, run jobs/import.sbatch with sbatch --wait, check the library and a failing job.
#
# Env (set by ctest): MOERGE_BIN, MOERGE_SOURCE_DIR, MOERGE_BINARY_DIR.
# Needs root: it runs cluster/up.sh (idempotent) and leaves SLURM running afterwards, because other
# script tests may use the same SLURM at the same time. MOERGE_SLURM_TEARDOWN=1 runs cluster/down.sh
# at the end when this test was the one that brought SLURM up. MOERGE_SLURM_EXISTING=1 skips up.sh
# and submits to the SLURM that is already configured (a site's cluster; the scratch directory
# under MOERGE_BINARY_DIR must then be on a shared filesystem).
set -euo pipefail

: "${MOERGE_BIN:?set MOERGE_BIN to the moerge executable}"
: "${MOERGE_SOURCE_DIR:?set MOERGE_SOURCE_DIR to the source tree}"
: "${MOERGE_BINARY_DIR:?set MOERGE_BINARY_DIR to the build tree}"
export MOERGE_BIN OMP_NUM_THREADS=1

JOB_TIMEOUT=240  # three jobs plus up.sh stay within ctest's 900 s
DATA=$MOERGE_SOURCE_DIR/tests/data/tiny
JOB=$MOERGE_SOURCE_DIR/jobs/import.sbatch
SCRATCH=$MOERGE_BINARY_DIR/slurm_import

say() { printf 'slurm_import: %s\n' "$*"; }
fail() {
  printf 'slurm_import: FAIL: %s\n' "$*" >&2
  exit 1
}

# show_file PATH: print a file for the log, indented.
show_file() {
  printf 'slurm_import: --- %s ---\n' "$1"
  sed 's/^/    /' "$1" || true
}

# submit NAME ARGS...: sbatch --wait the import job (bounded by JOB_TIMEOUT); sets job_id,
# job_status (sbatch's exit code, which is the job's) and job_out (the job's output file).
submit() {
  local name=$1
  shift
  say "submitting ($name): sbatch --parsable --wait -D $SCRATCH $JOB $*"
  job_status=0
  timeout "$JOB_TIMEOUT" sbatch --parsable --wait -D "$SCRATCH" "$JOB" "$@" \
    >"$SCRATCH/$name.sbatch.out" 2>"$SCRATCH/$name.sbatch.err" || job_status=$?
  job_id=$(head -n 1 "$SCRATCH/$name.sbatch.out" | cut -d';' -f1)
  if [ "$job_status" -eq 124 ]; then
    if [ -n "$job_id" ]; then scancel "$job_id" || true; fi
    show_file "$SCRATCH/$name.sbatch.err"
    fail "job $name ($job_id) did not finish within $JOB_TIMEOUT s"
  fi
  [[ "$job_id" =~ ^[0-9]+$ ]] || { show_file "$SCRATCH/$name.sbatch.err"; fail "sbatch gave no job id for $name (exit $job_status)"; }
  job_out=$SCRATCH/moerge-import-$job_id.out
  say "job $job_id ($name) ended; sbatch --wait returned $job_status"
}

[ -x "$MOERGE_BIN" ] || fail "MOERGE_BIN is not an executable: $MOERGE_BIN"
[ -d "$DATA/base" ] || fail "test data missing: $DATA/base"

brought_up=0
if [ "${MOERGE_SLURM_EXISTING:-0}" = 1 ]; then
  say "using the SLURM already configured (MOERGE_SLURM_EXISTING=1)"
  scontrol ping | grep -q 'is UP' || fail "MOERGE_SLURM_EXISTING=1 but 'scontrol ping' finds no controller"
else
  [ "$(id -u)" -eq 0 ] || fail "bringing up SLURM needs root (run as root, or set MOERGE_SLURM_EXISTING=1 to use a running SLURM)"
  if ! scontrol ping 2>/dev/null | grep -q 'is UP'; then
    brought_up=1
  fi
  say "cluster/up.sh"
  bash "$MOERGE_SOURCE_DIR/cluster/up.sh" || fail "cluster/up.sh failed"
fi
if [ "$brought_up" -eq 1 ] && [ "${MOERGE_SLURM_TEARDOWN:-0}" = 1 ]; then
  trap 'say "cluster/down.sh (this test brought SLURM up)"; bash "$MOERGE_SOURCE_DIR/cluster/down.sh"' EXIT
fi

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
say "library init: $SCRATCH/lib from $DATA/base"
"$MOERGE_BIN" library init "$SCRATCH/lib" --base "$DATA/base" || fail "moerge library init failed"

# 1. A good import of two LoRA adapters on 2 ranks; LIB is relative to the job's -D directory.
submit good lib "$DATA/adapters/lora_a" "$DATA/adapters/lora_b"
[ -f "$job_out" ] || fail "job output file $job_out does not exist"
show_file "$job_out"
[ "$job_status" -eq 0 ] || fail "good import job $job_id exited with $job_status (expected 0)"
grep -q 'moerge-import: done' "$job_out" || fail "job output $job_out lacks the final 'done' line"
job_state=$(scontrol show job "$job_id" 2>/dev/null | grep -o 'JobState=[A-Z_]*' || true)
[ -z "$job_state" ] || [ "$job_state" = JobState=COMPLETED ] || fail "job $job_id: $job_state (expected COMPLETED)"
listing=$("$MOERGE_BIN" library list "$SCRATCH/lib") || fail "moerge library list failed after the import"
printf '%s\n' "$listing" | sed 's/^/    /'
for name in lora_a lora_b; do
  grep -qw "$name" <<<"$listing" || fail "library list does not name $name after the import"
done
"$MOERGE_BIN" library verify "$SCRATCH/lib" >/dev/null || fail "moerge library verify failed after the import"

# 2. A failing import (a directory that does not exist) must make sbatch --wait return non-zero,
#    say why in the job output, and leave the library as it was.
missing=$SCRATCH/no_such_adapter
submit bad lib "$missing"
[ -f "$job_out" ] && show_file "$job_out"
bad_status=$job_status
[ "$bad_status" -ne 0 ] || fail "import of a missing directory: sbatch --wait returned 0 (expected non-zero)"
[ -f "$job_out" ] || fail "job output file $job_out does not exist"
grep -q 'no_such_adapter' "$job_out" || fail "job output $job_out does not name the missing directory"
grep -q 'import failed with exit code' "$job_out" || fail "job output $job_out does not report the failed step"
after=$("$MOERGE_BIN" library list "$SCRATCH/lib") || fail "moerge library list failed after the failed import"
[ "$after" = "$listing" ] || fail "the failed import changed the library listing"

# 3. A submission without arguments ends with the usage error (exit 2).
submit usage
[ "$job_status" -eq 2 ] || fail "job without arguments: sbatch --wait returned $job_status (expected 2)"
grep -q 'usage: sbatch jobs/import.sbatch LIB DIR' "$job_out" || fail "job output $job_out lacks the usage line"

say "PASS: good import (job exit 0, both adapters listed), failed import (exit $bad_status) and usage error detected"
