#!/usr/bin/env bash
# cluster/up.sh: bring up a real single-node SLURM (munge, slurmctld, slurmd) on this machine; idempotent.
#
#   sudo cluster/up.sh        start what is not running; returns once the node is idle in sinfo
#
# Writes /etc/slurm/slurm.conf for this host (from `hostname` and `slurmd -C`), creates the munge
# key if absent and the spool and log directories, then starts munged, slurmctld and slurmd
# directly (no systemd needed). A second run with everything up does nothing. A slurm.conf that
# up.sh did not write is left alone (set MOERGE_CLUSTER_FORCE=1 to replace it). Each wait is
# bounded by MOERGE_CLUSTER_TIMEOUT seconds (default 60); on a timeout it fails and shows the log.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=cluster/common.sh
source "$HERE/common.sh"

TIMEOUT=${MOERGE_CLUSTER_TIMEOUT:-60}
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "MOERGE_CLUSTER_TIMEOUT must be a whole number of seconds, got '$TIMEOUT'"

require_root cluster/up.sh

install_packages() {
  local missing=0 command
  for command in munged munge unmunge slurmctld slurmd sbatch srun sinfo scontrol; do
    command -v "$command" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "SLURM or munge is missing and there is no apt-get: install slurm-wlm and munge"
  say "installing slurm-wlm and munge"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge
}

munge_works() {
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1
}

start_munge() {
  if [ ! -s "$MUNGE_KEY" ]; then
    say "creating munge key $MUNGE_KEY (1024 random bytes)"
    install -d -o munge -g munge -m 0700 "$(dirname "$MUNGE_KEY")"
    local tmp=$MUNGE_KEY.tmp.$$
    ( umask 077; dd if=/dev/urandom of="$tmp" bs=1024 count=1 status=none )
    chown munge:munge "$tmp"
    chmod 0400 "$tmp"
    mv "$tmp" "$MUNGE_KEY"
  fi
  if munge_works; then
    say "munged already running"
    return 0
  fi
  local pid
  if pid=$(pid_alive "$MUNGE_PID" munged); then
    die_with_log "munged (pid $pid) runs but 'munge -n | unmunge' fails" "$MUNGE_LOG"
  fi
  [ -d "$MUNGE_RUN_DIR" ] || install -d -o munge -g munge -m 0755 "$MUNGE_RUN_DIR"
  [ -d /var/lib/munge ] || install -d -o munge -g munge -m 0711 /var/lib/munge
  [ -d /var/log/munge ] || install -d -o munge -g munge -m 0700 /var/log/munge
  say "starting munged"
  # As the munge user when possible; root needs --force. --force also clears a stale socket left
  # by a munged that died (none is alive here: checked above).
  if command -v runuser >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --force 9>&-
  else
    /usr/sbin/munged --force 9>&-
  fi
  local deadline=$((SECONDS + TIMEOUT))
  until munge_works; do
    [ "$SECONDS" -lt "$deadline" ] || die_with_log "munged did not answer 'munge -n | unmunge' within ${TIMEOUT} s" "$MUNGE_LOG"
    sleep 0.2
  done
  pid=$(pid_alive "$MUNGE_PID" munged) || pid=unknown
  state_set munged_started "$pid"
  say "munged up (pid $pid)"
}

# write_conf FILE: this machine's slurm.conf.
write_conf() {
  local host line word cpus='' boards=1 sockets_per_board='' cores='' threads='' memory=''
  host=$(node_name)
  line=$(slurmd -C | head -n 1) || die "'slurmd -C' failed"
  for word in $line; do
    case $word in
      CPUs=*) cpus=${word#*=} ;;
      Boards=*) boards=${word#*=} ;;
      SocketsPerBoard=*) sockets_per_board=${word#*=} ;;
      CoresPerSocket=*) cores=${word#*=} ;;
      ThreadsPerCore=*) threads=${word#*=} ;;
      RealMemory=*) memory=${word#*=} ;;
    esac
  done
  if [ -z "$cpus" ] || [ -z "$sockets_per_board" ] || [ -z "$cores" ] || [ -z "$threads" ] || [ -z "$memory" ]; then
    die "could not read CPUs, SocketsPerBoard, CoresPerSocket, ThreadsPerCore and RealMemory from 'slurmd -C': $line"
  fi
  local ctld_host=$host node_addr=''
  # Without a resolvable host name, both daemons talk over the loopback address.
  if ! getent hosts "$host" >/dev/null 2>&1; then
    ctld_host="$host(127.0.0.1)"
    node_addr=" NodeAddr=127.0.0.1"
  fi
  cat >"$1" <<EOF
$CONF_MARKER
ClusterName=local
SlurmctldHost=$ctld_host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE_SAVE_DIR
SlurmdSpoolDir=$SLURMD_SPOOL_DIR
SlurmctldPidFile=$SLURMCTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$SLURMCTLD_LOG
SlurmdLogFile=$SLURMD_LOG
# No cgroups: processes are tracked through /proc and tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
KillOnBadExit=1
NodeName=$host$node_addr CPUs=$cpus Sockets=$((boards * sockets_per_board)) CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES OverSubscribe=YES MaxTime=INFINITE State=UP
EOF
}

node_state() {
  sinfo -h -N -n "$(node_name)" -o '%T' 2>/dev/null | head -n 1
}

# node_ready: the node answers and can run jobs (idle, or busy with jobs already).
node_ready() {
  case $(node_state) in
    idle | mixed | allocated | completing) return 0 ;;
    *) return 1 ;;
  esac
}

wait_controller() {
  local deadline=$((SECONDS + TIMEOUT))
  until scontrol ping 2>/dev/null | grep -q 'is UP'; do
    pid_alive "$SLURMCTLD_PID" slurmctld >/dev/null || die_with_log "slurmctld exited during start-up" "$SLURMCTLD_LOG"
    [ "$SECONDS" -lt "$deadline" ] || die_with_log "slurmctld did not answer 'scontrol ping' within ${TIMEOUT} s" "$SLURMCTLD_LOG"
    sleep 0.3
  done
}

# registered_since TIME: slurmd has registered with slurmctld at or after TIME (ISO 8601, local).
registered_since() {
  local registered
  registered=$(scontrol show node "$(node_name)" -o 2>/dev/null | grep -o 'SlurmdStartTime=[^ ]*' | cut -d= -f2)
  [[ "$registered" =~ ^[0-9]{4}- ]] && ! [[ "$registered" < "$1" ]]
}

# wait_node [TIME]: until the node is ready (and, given TIME, its slurmd registered since then).
wait_node() {
  local host state since=${1:-} last_resume=-100 deadline=$((SECONDS + TIMEOUT))
  host=$(node_name)
  while ! node_ready || { [ -n "$since" ] && ! registered_since "$since"; }; do
    pid_alive "$SLURMD_PID" slurmd >/dev/null || die_with_log "slurmd exited during start-up" "$SLURMD_LOG" "$SLURMCTLD_LOG"
    [ "$SECONDS" -lt "$deadline" ] ||
      die_with_log "node $host is not idle after ${TIMEOUT} s (state '$(node_state)', reason '$(sinfo -h -N -n "$host" -o '%E' 2>/dev/null)')" \
        "$SLURMD_LOG" "$SLURMCTLD_LOG"
    state=$(node_state)
    # A responding node that is down or drained (e.g. after an unclean stop) is put back to work.
    case $state in
      down | drain | drained | draining)
        if [ $((SECONDS - last_resume)) -ge 5 ]; then
          say "node $host is $state (reason: $(sinfo -h -N -n "$host" -o '%E')); resuming it"
          scontrol update NodeName="$host" State=RESUME || true
          last_resume=$SECONDS
        fi
        ;;
    esac
    sleep 0.3
  done
}

main() {
  local start=$SECONDS
  install_packages
  mkdir -p "$CLUSTER_STATE_DIR"
  # fd 9 holds the lock; the daemons are started with it closed so that they do not keep it.
  exec 9>"$CLUSTER_LOCK"
  flock -w "$TIMEOUT" 9 || die "another cluster/up.sh or down.sh holds $CLUSTER_LOCK"

  conf_is_ours || die "$SLURM_CONF_PATH was not written by cluster/up.sh (first line differs); this looks like a site's own SLURM. Set MOERGE_CLUSTER_FORCE=1 to replace it."

  start_munge

  local new_conf=$CLUSTER_STATE_DIR/slurm.conf.new
  write_conf "$new_conf"
  local ctld_pid='' slurmd_pid=''
  ctld_pid=$(pid_alive "$SLURMCTLD_PID" slurmctld) || ctld_pid=''
  slurmd_pid=$(pid_alive "$SLURMD_PID" slurmd) || slurmd_pid=''

  if [ -e "$SLURM_CONF_PATH" ] && cmp -s "$new_conf" "$SLURM_CONF_PATH"; then
    rm -f "$new_conf"
    if [ -n "$ctld_pid" ] && [ -n "$slurmd_pid" ] && node_ready; then
      say "already up: slurmctld (pid $ctld_pid), slurmd (pid $slurmd_pid), node $(node_name) $(node_state)"
      return 0
    fi
  else
    if [ -n "$ctld_pid" ] || [ -n "$slurmd_pid" ]; then
      say "configuration changed; stopping the running daemons first"
      [ -n "$slurmd_pid" ] && stop_pid "$slurmd_pid" slurmd
      [ -n "$ctld_pid" ] && stop_pid "$ctld_pid" slurmctld
      ctld_pid='' slurmd_pid=''
    fi
    mkdir -p "$(dirname "$SLURM_CONF_PATH")"
    chmod 0644 "$new_conf"
    mv "$new_conf" "$SLURM_CONF_PATH"
    say "wrote $SLURM_CONF_PATH: $(grep '^NodeName=' "$SLURM_CONF_PATH")"
  fi

  install -d -m 0755 "$SLURM_LOG_DIR"
  install -d -m 0700 "$STATE_SAVE_DIR"
  install -d -m 0755 "$SLURMD_SPOOL_DIR"

  if [ -z "$ctld_pid" ]; then
    say "starting slurmctld"
    slurmctld -i 9>&- || die_with_log "slurmctld failed to start" "$SLURMCTLD_LOG"
  else
    say "slurmctld already running (pid $ctld_pid)"
  fi
  wait_controller
  ctld_pid=$(pid_alive "$SLURMCTLD_PID" slurmctld) || ctld_pid=unknown
  say "slurmctld up (pid $ctld_pid)"

  local slurmd_started_at=''
  if [ -z "$slurmd_pid" ]; then
    say "starting slurmd"
    slurmd_started_at=$(date +%Y-%m-%dT%H:%M:%S)
    slurmd 9>&- || die_with_log "slurmd failed to start" "$SLURMD_LOG"
  else
    say "slurmd already running (pid $slurmd_pid)"
  fi
  local deadline=$((SECONDS + TIMEOUT))
  until slurmd_pid=$(pid_alive "$SLURMD_PID" slurmd); do
    [ "$SECONDS" -lt "$deadline" ] || die_with_log "slurmd did not start within ${TIMEOUT} s" "$SLURMD_LOG"
    sleep 0.2
  done
  wait_node "$slurmd_started_at"
  say "up in $((SECONDS - start)) s: slurmctld (pid $ctld_pid), slurmd (pid $slurmd_pid), node $(node_name) $(node_state)"
  sinfo
}

main "$@"
