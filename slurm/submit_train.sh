#!/bin/bash
# Submit slurm/train.sbatch with the resources the partition's nodes offer:
#
#   NODES=32 slurm/submit_train.sh                               # GPU cluster: every GPU of 32 nodes
#   CONFIG=train_configs/debug.toml PARTITION=cpu WORKERS=2 slurm/submit_train.sh   # CPU nodes, gloo
#   slurm/submit_train.sh --time=48:00:00 --qos=high             # more sbatch options pass through
#
# One variable each, or read from `sinfo` for PARTITION (default: the default partition):
#   NODES     nodes (default 1)
#   GPUS      GPUs per node (default: the nodes' gres "gpu" count; 0 on CPU nodes)
#   CPUS      CPUs per task, i.e. per node (default: the nodes' CPU count)
#   MEM       memory per node, sbatch's --mem (default 0: all of it)
#   WORKERS   training processes per node (default: GPUS, or 1 on CPU nodes)
# Everything train.sbatch reads (CONFIG, DUMP, EXTRA_ARGS, MEDTITAN, WARN_S, STOP_GRACE_S ...)
# passes through the environment. Prints sbatch's answer: "Submitted batch job N".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v sinfo >/dev/null || { echo "submit_train.sh: sinfo not found (not on a Slurm login node?)" >&2; exit 2; }
WHERE=()
[[ -z "${PARTITION:-}" ]] || WHERE=(--partition="$PARTITION")

# The smallest figure over the partition's nodes, so that every node can run a task.
smallest() { sinfo -h "${WHERE[@]}" -o "$1" | awk 'NF' | sort -n | head -n 1; }
gpus_of() {  # "gpu:8", "gpu:h100:8(S:0-1)", "(null)" -> 8, 8, 0
    sinfo -h "${WHERE[@]}" -o '%G' | awk '{
        n = 0
        split($0, entries, ",")
        for (i in entries) if (entries[i] ~ /^gpu/) { sub(/\(.*/, "", entries[i]); k = split(entries[i], f, ":"); n = f[k] + 0 }
        print n
    }' | sort -n | head -n 1
}

NODES="${NODES:-1}"
GPUS="${GPUS:-$(gpus_of)}"
CPUS="${CPUS:-$(smallest '%c')}"
MEM="${MEM:-0}"
[[ "$GPUS" =~ ^[0-9]+$ && "$CPUS" =~ ^[0-9]+$ ]] || { echo "submit_train.sh: could not read GPUs ($GPUS) or CPUs ($CPUS) from sinfo; set GPUS and CPUS" >&2; exit 2; }
if (( GPUS > 0 )); then
    export GPUS_PER_NODE="${WORKERS:-$GPUS}"
    RESOURCES=(--gpus-per-node="$GPUS")
else
    export GPUS_PER_NODE="${WORKERS:-1}"
    RESOURCES=()
fi
ARGS=(--nodes="$NODES" --cpus-per-task="$CPUS" --mem="$MEM" "${RESOURCES[@]}" "${WHERE[@]}" "$@")
echo "submit_train.sh: sbatch ${ARGS[*]} $HERE/train.sbatch (workers per node: $GPUS_PER_NODE)" >&2
exec sbatch "${ARGS[@]}" "$HERE/train.sbatch"
