# cluster/common.sh: paths and helpers shared by cluster/up.sh and cluster/down.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034

SLURM_CONF_PATH=/etc/slurm/slurm.conf
export SLURM_CONF=$SLURM_CONF_PATH
# First line of every slurm.conf that up.sh writes: down.sh and up.sh touch no other configuration.
CONF_MARKER="# Written by moerge cluster/up.sh (single-node SLURM); rerun it to regenerate."
SLURM_LOG_DIR=/var/log/slurm
SLURMCTLD_LOG=$SLURM_LOG_DIR/slurmctld.log
SLURMD_LOG=$SLURM_LOG_DIR/slurmd.log
SLURMCTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
STATE_SAVE_DIR=/var/spool/slurmctld
SLURMD_SPOOL_DIR=/var/spool/slurmd
MUNGE_KEY=/etc/munge/munge.key
MUNGE_RUN_DIR=/run/munge
MUNGE_PID=$MUNGE_RUN_DIR/munged.pid
MUNGE_LOG=/var/log/munge/munged.log
# What up.sh started (so that down.sh stops only that) and a lock against concurrent runs.
CLUSTER_STATE_DIR=/run/moerge-cluster
CLUSTER_STATE=$CLUSTER_STATE_DIR/state
CLUSTER_LOCK=$CLUSTER_STATE_DIR/lock

say() { printf 'cluster: %s\n' "$*"; }

die() {
  printf 'cluster: error: %s\n' "$*" >&2
  exit 1
}

# die_with_log MESSAGE LOGFILE...: fail, showing the end of each log that explains why.
die_with_log() {
  local message=$1
  shift
  printf 'cluster: error: %s\n' "$message" >&2
  local log
  for log in "$@"; do
    if [ -r "$log" ]; then
      printf 'cluster: last lines of %s:\n' "$log" >&2
      tail -n 25 "$log" | sed 's/^/    /' >&2
    else
      printf 'cluster: (no log at %s)\n' "$log" >&2
    fi
  done
  exit 1
}

require_root() {
  [ "$(id -u)" -eq 0 ] || die "$1 must run as root (try: sudo $1)"
}

# pid_alive PIDFILE NAME: print the pid and succeed when PIDFILE names a live process called NAME.
pid_alive() {
  local pidfile=$1 name=$2 pid
  [ -r "$pidfile" ] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [ -n "$pid" ] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
  printf '%s\n' "$pid"
}

# conf_is_ours: succeed when there is no slurm.conf or up.sh wrote it; a site's own configuration
# is never overwritten or stopped unless MOERGE_CLUSTER_FORCE=1.
conf_is_ours() {
  [ ! -e "$SLURM_CONF_PATH" ] && return 0
  [ "$(head -n 1 "$SLURM_CONF_PATH")" = "$CONF_MARKER" ] && return 0
  [ "${MOERGE_CLUSTER_FORCE:-0}" = 1 ] && return 0
  return 1
}

# state_get KEY: the value up.sh recorded for KEY, or nothing.
state_get() {
  [ -r "$CLUSTER_STATE" ] || return 0
  sed -n "s/^$1=//p" "$CLUSTER_STATE" | tail -n 1
}

# state_set KEY VALUE: record VALUE for KEY (replacing an older value).
state_set() {
  mkdir -p "$CLUSTER_STATE_DIR"
  local tmp=$CLUSTER_STATE.tmp
  : >"$tmp"
  if [ -r "$CLUSTER_STATE" ]; then grep -v "^$1=" "$CLUSTER_STATE" >"$tmp" || true; fi
  printf '%s=%s\n' "$1" "$2" >>"$tmp"
  mv "$tmp" "$CLUSTER_STATE"
}

# stop_pid PID NAME: SIGTERM, wait up to 30 s, then SIGKILL; fail if it still lives.
stop_pid() {
  local pid=$1 name=$2 waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge 300 ]; then
      say "$name (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      kill -0 "$pid" 2>/dev/null && die "$name (pid $pid) did not stop"
      return 0
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# node_name: the name slurmd registers under (the short host name).
node_name() {
  hostname -s
}
