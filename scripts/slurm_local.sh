#!/usr/bin/env bash
# A real single-node Slurm on this machine, for tests and for trying the Slurm walk-through of
# docs/cluster.md: munged, slurmctld and slurmd on localhost, one partition `debug` with the
# machine's cores. Everything (slurm.conf, munge key and socket, state, logs, pid files) lives in
# one state folder; nothing under /etc is changed and no system service is started.
#
#   scripts/slurm_local.sh start [--install]   # start what is not running (idempotent)
#   scripts/slurm_local.sh status              # exit 0 when the node accepts jobs
#   scripts/slurm_local.sh stop                # stop the three daemons again
#   scripts/slurm_local.sh env                 # print `export SLURM_CONF=...` for eval
#
#   GAINAKT_SLURM_DIR  state folder (default /tmp/gainakt-slurm)
#   --install          apt-get install slurm-wlm and munge when missing (needs root or sudo -n)
#
# Clients (sbatch, squeue, scancel, dask-jobqueue) find this cluster through
# SLURM_CONF=$GAINAKT_SLURM_DIR/slurm.conf: `eval "$(scripts/slurm_local.sh env)"`.
# Cgroup-free configuration (proctrack/linuxproc, task/none) so that it also runs in
# containers; the daemons run as the calling user (root in CI), jobs as the submitting user.
set -euo pipefail

DIR="${GAINAKT_SLURM_DIR:-/tmp/gainakt-slurm}"
CONF="$DIR/slurm.conf"
SOCK="$DIR/munge/munge.socket"
export SLURM_CONF="$CONF"

die() { echo "slurm_local: $*" >&2; exit 1; }

need_bins() {
  local missing=()
  for b in munged slurmctld slurmd sbatch scontrol; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  printf '%s\n' "${missing[@]}"
}

install_pkgs() {
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo -n"
  command -v apt-get >/dev/null 2>&1 \
    || die "no apt-get: install Slurm (slurmctld, slurmd, sbatch) and munge by hand"
  echo "slurm_local: apt-get install slurm-wlm munge (log: $DIR/apt.log)"
  { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
      --no-install-recommends slurm-wlm munge; } >"$DIR/apt.log" 2>&1 \
    || die "apt-get install slurm-wlm munge failed (see $DIR/apt.log)"
}

alive() {  # alive PIDFILE: the process named in the pid file runs
  [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # leave 1 GB to the system; --mem requests are checked against RealMemory
  mem=$(awk '/MemTotal/ {m=int($2/1024)-1024; print (m>512?m:512)}' /proc/meminfo)
  mkdir -p "$DIR/ctld" "$DIR/spool" "$DIR/munge"
  cat >"$CONF.tmp" <<EOF
# written by scripts/slurm_local.sh: single-node Slurm on $host
ClusterName=gainakt
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
SlurmctldPort=${GAINAKT_SLURM_PORT:-6817}
SlurmdPort=$(( ${GAINAKT_SLURM_PORT:-6817} + 1 ))
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmdTimeout=30
KillWait=5
MinJobAge=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start_munge() {
  local pidf="$DIR/munge/munged.pid"
  alive "$pidf" && return 0
  if [[ ! -s "$DIR/munge/munge.key" ]]; then
    (umask 077; head -c 1024 /dev/urandom >"$DIR/munge/munge.key")
  fi
  chmod 700 "$DIR/munge"
  munged --force --socket="$SOCK" --key-file="$DIR/munge/munge.key" \
    --pid-file="$pidf" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed" \
    || die "munged did not start (see $DIR/munge/munged.log)"
}

ready() {  # the controller answers and the node takes jobs
  local st
  scontrol ping 2>/dev/null | grep -q "is UP" || return 1
  st=$(sinfo -h -N -o '%T' 2>/dev/null | head -1)
  [[ "$st" == idle* || "$st" == mixed* || "$st" == allocated* ]]
}

cmd_start() {
  mkdir -p "$DIR"
  local missing
  missing=$(need_bins)
  if [[ -n "$missing" ]]; then
    if [[ "${1:-}" == "--install" ]]; then
      install_pkgs
      missing=$(need_bins)
    fi
    [[ -z "$missing" ]] || die "missing $(echo $missing | tr '\n' ' ')(Debian: apt-get" \
      "install slurm-wlm munge, or run: $0 start --install)"
  fi
  # (re)write slurm.conf unless a controller runs with it: follows the cores/memory of this machine
  alive "$DIR/slurmctld.pid" || write_conf
  start_munge
  if ! alive "$DIR/slurmctld.pid"; then
    slurmctld -f "$CONF" || die "slurmctld did not start (see $DIR/slurmctld.log)"
  fi
  if ! alive "$DIR/slurmd.pid"; then
    slurmd -f "$CONF" || die "slurmd did not start (see $DIR/slurmd.log)"
  fi
  local i
  for i in $(seq 1 60); do
    if ready; then
      echo "slurm_local: up ($(sinfo -h -o '%P %D node(s) %c CPUs %T' | head -1));" \
        "export SLURM_CONF=$CONF"
      return 0
    fi
    # a node left DOWN by an earlier unclean stop: return it to service
    if (( i % 5 == 0 )); then
      scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    fi
    sleep 1
  done
  die "Slurm did not become ready in 60 s (logs: $DIR/slurmctld.log, $DIR/slurmd.log)"
}

cmd_stop() {
  [[ -d "$DIR" ]] || { echo "slurm_local: not running"; return 0; }
  local f pid i
  for f in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munge/munged.pid"; do
    alive "$f" || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  echo "slurm_local: stopped (state kept in $DIR)"
}

cmd_status() {
  [[ -s "$CONF" ]] || { echo "slurm_local: not configured ($CONF missing)"; return 1; }
  local d
  for d in munge/munged slurmctld slurmd; do
    if alive "$DIR/$d.pid"; then echo "  ${d#munge/} running (pid $(cat "$DIR/$d.pid"))"
    else echo "  ${d#munge/} not running"; fi
  done
  if ready; then sinfo; squeue; return 0; fi
  echo "slurm_local: not ready"; return 1
}

case "${1:-}" in
  start)  shift; cmd_start "$@" ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  env)    echo "export SLURM_CONF=$CONF" ;;
  *)      echo "usage: $0 start [--install] | stop | status | env" >&2; exit 2 ;;
esac
