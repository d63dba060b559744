#!/bin/bash
# kill -9 of one rank mid-merge: the job ends (no hang), nothing appears under the final name, a
# rerun without --resume is refused, and the rerun with --resume skips the journalled tensors and
# gives the same bytes as an uninterrupted run (which itself ran with --resume and no partial dir).
set -euo pipefail
BIN=${MOERGE_BIN:?MOERGE_BIN not set}
WORK=$(mktemp -d "${MOERGE_BINARY_DIR:-/tmp}/merge-resume-XXXXXX")
MPI_PID=
cleanup() {
  if [ -n "$MPI_PID" ] && kill -0 "$MPI_PID" 2>/dev/null; then kill -9 "$MPI_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
MPI="mpirun --allow-run-as-root --oversubscribe"
say() { printf 'merge_resume: %s\n' "$*"; }
fail() {
  printf 'merge_resume: FAIL: %s\n' "$*" >&2
  exit 1
}

# A Llama-shaped F32 base and two fine-tunes, about 50 MB each (numpy, fixed seeds).
/usr/bin/python3 "$(dirname "$0")/merge_make_models.py" "$WORK"

cat > "$WORK/ties.yml" <<YML
models:
  - model: $WORK/ft0
    parameters: {weight: 0.6, density: 0.4}
  - model: $WORK/ft1
    parameters: {weight: 0.4, density: 0.6}
merge_method: ties
base_model: $WORK/base
dtype: bfloat16
YML
n_tensor=$(( 3 + 6 * 9 ))
# Small chunks (--memory-limit 1) keep the merge busy for a few seconds.
FLAGS=(--memory-limit 1)

# 1. The uninterrupted reference, with --resume and no partial directory: it must just start.
start=$(date +%s.%N)
OMP_NUM_THREADS=1 $MPI -np 2 "$BIN" merge "$WORK/ties.yml" "$WORK/ref" "${FLAGS[@]}" --resume > "$WORK/ref.log" 2>&1 ||
  { cat "$WORK/ref.log"; fail "the uninterrupted merge failed"; }
say "uninterrupted merge at 2 ranks: $(echo "$(date +%s.%N) - $start" | bc) s"
grep -q "nothing to resume" "$WORK/ref.log" || { cat "$WORK/ref.log"; fail "--resume without a partial directory did not say it starts afresh"; }
ref_hash=$(cd "$WORK/ref" && sha256sum config.json model.safetensors moerge_recipe.yml)

# 2. The same merge, rank 1 killed with SIGKILL once the journal holds some finished tensors.
OUT=$WORK/out
PARTIAL=$WORK/.out.moerge-partial
JOURNAL=$PARTIAL/moerge_journal.txt
OMP_NUM_THREADS=1 $MPI -np 2 "$BIN" merge "$WORK/ties.yml" "$OUT" "${FLAGS[@]}" > "$WORK/killed.log" 2>&1 &
MPI_PID=$!
n_done=0
for _ in $(seq 1 600); do
  if [ -f "$JOURNAL" ]; then
    n_done=$(grep -c '^done ' "$JOURNAL" || true)
    [ "$n_done" -ge 3 ] && break
  fi
  kill -0 "$MPI_PID" 2>/dev/null || break
  sleep 0.02
done
[ "$n_done" -ge 3 ] || { wait "$MPI_PID" || true; cat "$WORK/killed.log"; fail "the journal never held 3 finished tensors"; }
victim=
for pid in $(pgrep -P "$MPI_PID"); do
  if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then victim=$pid; fi
done
[ -n "$victim" ] || fail "rank 1 of mpirun $MPI_PID not found"
kill -9 "$victim"
killed_at=$(date +%s.%N)
n_done=$(grep -c '^done ' "$JOURNAL" || true)
say "killed rank 1 (pid $victim) with $n_done of $n_tensor tensors journalled"
[ "$n_done" -lt "$n_tensor" ] || fail "the merge finished before the kill; make the model larger"
status=0
timeout 60 tail --pid="$MPI_PID" -f /dev/null || fail "the job hung for 60 s after rank 1 was killed"
wait "$MPI_PID" || status=$?
MPI_PID=
elapsed=$(echo "$(date +%s.%N) - $killed_at" | bc)
say "the job ended ${elapsed} s after the kill with exit status $status"
[ "$status" -ne 0 ] || fail "the job exited 0 after a rank was killed"
[ ! -e "$OUT" ] || fail "$OUT exists after the killed merge"
[ -d "$PARTIAL" ] || fail "the partial directory $PARTIAL is gone"

# 3. A rerun without --resume is refused with a clear error and leaves the partial directory alone.
status=0
OMP_NUM_THREADS=1 $MPI -np 2 "$BIN" merge "$WORK/ties.yml" "$OUT" "${FLAGS[@]}" > "$WORK/again.log" 2>&1 || status=$?
[ "$status" -eq 2 ] || { cat "$WORK/again.log"; fail "rerun without --resume: exit $status (expected 2)"; }
grep -q "a partial merge into .* is there .* rerun with --resume" "$WORK/again.log" ||
  { cat "$WORK/again.log"; fail "rerun without --resume: no clear message"; }
[ "$(grep -c '^done ' "$JOURNAL")" -eq "$n_done" ] || fail "the refused rerun changed the journal"
[ ! -e "$OUT" ] || fail "$OUT exists after the refused rerun"

# 4. The rerun with --resume skips the journalled tensors and gives the reference's bytes.
OMP_NUM_THREADS=1 $MPI -np 2 "$BIN" merge "$WORK/ties.yml" "$OUT" "${FLAGS[@]}" --resume > "$WORK/resume.log" 2>&1 ||
  { cat "$WORK/resume.log"; fail "the resumed merge failed"; }
grep -q "$n_done of $n_tensor tensors were already merged; skipping them" "$WORK/resume.log" ||
  { cat "$WORK/resume.log"; fail "the resumed merge did not skip the $n_done journalled tensors"; }
grep -q "merged $n_tensor tensors (.*, $n_done resumed)" "$WORK/resume.log" ||
  { cat "$WORK/resume.log"; fail "the summary does not count $n_done resumed tensors"; }
[ ! -e "$PARTIAL" ] || fail "the partial directory remains after the resumed merge"
out_hash=$(cd "$OUT" && sha256sum config.json model.safetensors moerge_recipe.yml)
[ "$out_hash" = "$ref_hash" ] || { printf '%s\n---\n%s\n' "$ref_hash" "$out_hash"; fail "the resumed output differs from the uninterrupted one"; }
[ ! -e "$OUT/moerge_journal.txt" ] || fail "the journal was published"
say "PASS: kill -9 ended the job in ${elapsed} s, no output, rerun refused, resume skipped $n_done tensors, same SHA-256"
