#!/usr/bin/env bash
# cluster/down.sh: stop the single-node SLURM that cluster/up.sh started; idempotent.
#
#   sudo cluster/down.sh      stop slurmd, then slurmctld, then munged if up.sh started it
#
# Daemons are found through their pid files and stopped by pid. munged is left running when it
# was already running before up.sh (another service may use it). slurm.conf, the munge key and
# the spool directories stay, so a later up.sh is quick; job state survives in the spool.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=cluster/common.sh
source "$HERE/common.sh"

require_root cluster/down.sh

main() {
  mkdir -p "$CLUSTER_STATE_DIR"
  exec 9>"$CLUSTER_LOCK"
  flock -w 60 9 || die "another cluster/up.sh or down.sh holds $CLUSTER_LOCK"

  conf_is_ours || die "$SLURM_CONF_PATH was not written by cluster/up.sh; not stopping a site's own SLURM (set MOERGE_CLUSTER_FORCE=1 to stop it anyway)"

  local pid
  if pid=$(pid_alive "$SLURMD_PID" slurmd); then
    say "stopping slurmd (pid $pid)"
    stop_pid "$pid" slurmd
  else
    say "slurmd not running"
  fi
  if pid=$(pid_alive "$SLURMCTLD_PID" slurmctld); then
    say "stopping slurmctld (pid $pid)"
    stop_pid "$pid" slurmctld
  else
    say "slurmctld not running"
  fi

  local started
  started=$(state_get munged_started)
  if [ -z "$started" ]; then
    say "munged not started by up.sh; leaving it alone"
  elif pid=$(pid_alive "$MUNGE_PID" munged) && { [ "$started" = "$pid" ] || [ "$started" = unknown ]; }; then
    say "stopping munged (pid $pid)"
    stop_pid "$pid" munged
    state_set munged_started ''
  else
    say "munged (started by up.sh) no longer running"
    state_set munged_started ''
  fi
  say "down"
}

main "$@"
