#!/bin/bash
# A real one-node Slurm on this machine, for tests: munged, slurmctld and slurmd from Debian's
# packages (slurm-wlm, munge), with every key, state file, log, socket and port of its own under
# one folder, so it touches nothing of a Slurm or munge the machine may already run.
#
#   slurm/testing/cluster.sh install        apt-get install slurm-wlm munge (root; CI does this)
#   slurm/testing/cluster.sh start DIR      start it; prints the line to eval: export SLURM_CONF=DIR/slurm.conf
#   slurm/testing/cluster.sh stop DIR       stop the daemons started in DIR, and only those
#
# The node is this machine: all its CPUs and its memory less 1 GiB (2 GiB per CPU by default, so
# two one-CPU jobs run side by side), one partition "debug". A requeued job may wait for its
# BeginTime, as on any cluster; tests release it with `scontrol update JobId=N StartTime=now`.
# Root only: slurmd runs jobs as their user.
set -euo pipefail

usage() { echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2; }
[[ $# -ge 1 ]] || usage

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

stop() {
    local dir="$1" name pid
    # Jobs still running (a test that failed half-way) go first: their steps outlive slurmd.
    if [[ -f "$dir/slurm.conf" && -f "$dir/slurmctld.pid" ]]; then
        SLURM_CONF="$dir/slurm.conf" scancel --quiet --user "$(id -un)" 2>/dev/null || true
        sleep 1
    fi
    for name in slurmd slurmctld munged; do
        pid="$(cat "$dir/$name.pid" 2>/dev/null || true)"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/$name.pid"
    done
}

case "$1" in
install)
    [[ $(id -u) -eq 0 ]] || { echo "$0 install: needs root (apt-get)" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
    echo "installed: $(slurmctld -V), $(munged --version 2>&1 | head -n 1)"
    ;;
start)
    [[ $# -eq 2 ]] || usage
    dir="$(mkdir -p "$2" && cd "$2" && pwd)"
    [[ $(id -u) -eq 0 ]] || { echo "$0 start: needs root (slurmd runs jobs as their user)" >&2; exit 1; }
    for tool in munged slurmctld slurmd sbatch; do
        command -v "$tool" >/dev/null || { echo "$0 start: $tool not found; run '$0 install' (root)" >&2; exit 1; }
    done
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
    chmod 755 "$dir" "$dir/munge"
    if [[ ! -f "$dir/munge/munge.key" ]]; then
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$dir/munge/munge.key"
    fi
    socket="$dir/munge/munge.socket"
    munged --force --socket="$socket" --key-file="$dir/munge/munge.key" --log-file="$dir/munged.log" \
        --pid-file="$dir/munged.pid" --seed-file="$dir/munge/munged.seed"
    host="$(hostname -s)"
    memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
    cat > "$dir/slurm.conf" <<EOF
ClusterName=medtitan-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=2048
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=30
MinJobAge=600
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -f "$SLURM_CONF" -i
    slurmd -f "$SLURM_CONF"
    for _ in $(seq 100); do
        if sinfo -h -o '%t' 2>/dev/null | grep -qx idle; then
            echo "export SLURM_CONF=$SLURM_CONF"
            exit 0
        fi
        sleep 0.2
    done
    echo "$0 start: the node did not become idle in 20 s; logs in $dir" >&2
    tail -n 5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
    stop "$dir"
    exit 1
    ;;
stop)
    [[ $# -eq 2 ]] || usage
    stop "$2"
    ;;
*)
    usage
    ;;
esac
