#!/bin/bash
# The data build as a chain of Slurm jobs. Run it on the login node (in tmux or screen: it
# waits for the ingest job):
#
#   CONFIG=data_configs/medical.toml PARTITION=cpu ACCOUNT=med slurm/build.sh
#   slurm/build.sh data_configs/medical.toml            # the same, CONFIG as the argument
#
#   1. ingest, one job (`medtitan-data build --stop-after ingest`); this script waits for it,
#      since the number of tasks of every later stage depends on the partitions it wrote;
#   2. `medtitan-data build-tasks` gives the task count of each partitioned step (deid, filter,
#      dedup-map, dedup-exact, dedup-bands, dedup-confirm, decontaminate); each step with tasks
#      becomes an array job whose elements run `medtitan-data build-task --stage S --task K`;
#      where the build moves on to another stage (deid -> filter -> dedup -> decontaminate), one
#      driver job, `medtitan-data build --stop-after <the stage before>`, does that stage's
#      global part (for dedup: the union of near-duplicate pairs) before the next tasks start;
#   3. a final driver job, `medtitan-data build`: mix, pack, write (every task found done).
# Each job waits for the one before it (--dependency=afterok); a failed job cancels the rest
# (--kill-on-invalid-dep=yes). Every step is idempotent, so running this script again resumes:
# finished tasks are skipped.
#
# build.output in CONFIG must be on a filesystem every node sees (NFS, Lustre, GPFS).
#
# Settings (environment variables):
#   CONFIG          the build config (or the first argument)
#   MEDTITAN        folder holding medtitan-data and python (default: <repo>/.venv/bin); it must
#                   exist at the same path on the compute nodes
#   PARTITION ACCOUNT QOS   passed to sbatch when set
#   CPUS            CPUs per task (default 8, or fewer when the partition's nodes have fewer, as
#                   sinfo reports them); TIME per task (default 02:00:00); MEM (optional)
#   DRIVER_CPUS DRIVER_TIME DRIVER_MEM   the same for the driver jobs: ingest, the stage merges
#                   and the final one (default: CPUS, 12:00:00, MEM)
#   MAX_CONCURRENT  array elements running at once, per array (default 64)
#   ARRAY_MAX       most tasks in one array (default 1000, under Slurm's default MaxArraySize
#                   of 1001); a step with more is split into several arrays
#   LOG_DIR         job logs (default slurm-logs, created)
#   SBATCH_EXTRA    more sbatch options, split on whitespace (e.g. "--mem-per-cpu=4G")

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONFIG="${1:-${CONFIG:-}}"
if [[ -z "$CONFIG" ]]; then
    echo "usage: CONFIG=build.toml $0   (or: $0 build.toml); settings in the header of $0" >&2
    exit 2
fi
[[ -f "$CONFIG" ]] || { echo "build.sh: config $CONFIG not found" >&2; exit 2; }
CONFIG="$(cd "$(dirname "$CONFIG")" && pwd)/$(basename "$CONFIG")"
MEDTITAN="${MEDTITAN:-$HERE/../.venv/bin}"
[[ -x "$MEDTITAN/medtitan-data" ]] || { echo "build.sh: $MEDTITAN/medtitan-data not found; set MEDTITAN" >&2; exit 2; }
MEDTITAN="$(cd "$MEDTITAN" && pwd)"
TASK_SCRIPT="$HERE/build_task.sbatch"

if [[ -z "${CPUS:-}" ]]; then
    CPUS=8
    # No more than a node has: sbatch rejects a request no node can meet.
    if command -v sinfo >/dev/null; then
        NODE_CPUS="$(sinfo -h ${PARTITION:+--partition="$PARTITION"} -o '%c' 2>/dev/null | awk 'NF' | sort -n | head -n 1 || true)"
        if [[ "$NODE_CPUS" =~ ^[0-9]+$ ]] && (( NODE_CPUS < CPUS )); then
            CPUS="$NODE_CPUS"
        fi
    fi
fi
MAX_CONCURRENT="${MAX_CONCURRENT:-64}"
ARRAY_MAX="${ARRAY_MAX:-1000}"
LOG_DIR="${LOG_DIR:-slurm-logs}"
mkdir -p "$LOG_DIR"
LOG_DIR="$(cd "$LOG_DIR" && pwd)"

COMMON=(--parsable --kill-on-invalid-dep=yes)
[[ -z "${PARTITION:-}" ]] || COMMON+=(--partition="$PARTITION")
[[ -z "${ACCOUNT:-}" ]] || COMMON+=(--account="$ACCOUNT")
[[ -z "${QOS:-}" ]] || COMMON+=(--qos="$QOS")
read -r -a EXTRA <<< "${SBATCH_EXTRA:-}"
COMMON+=(${EXTRA[@]+"${EXTRA[@]}"})
TASK_RESOURCES=(--cpus-per-task="$CPUS" --time="${TIME:-02:00:00}")
[[ -z "${MEM:-}" ]] || TASK_RESOURCES+=(--mem="$MEM")
DRIVER_RESOURCES=(--cpus-per-task="${DRIVER_CPUS:-$CPUS}" --time="${DRIVER_TIME:-12:00:00}")
[[ -z "${DRIVER_MEM:-${MEM:-}}" ]] || DRIVER_RESOURCES+=(--mem="${DRIVER_MEM:-$MEM}")

CHAIN=()       # what was submitted, in order, for the summary
SUBMITTED=()   # every job id
DEPENDENCY=()  # --dependency=afterok:<the job(s) of the previous step>

submit() {  # sbatch ARGS... -> the job id (without the ";cluster" that --parsable may add)
    local out
    echo "build.sh: sbatch $*" >&2
    out="$(sbatch "$@")" || return $?
    echo "${out%%;*}"
}

driver() {  # NAME [STOP_AFTER]: one `medtitan-data build` job after the previous step
    local id
    id=$(submit "${COMMON[@]}" ${DEPENDENCY[@]+"${DEPENDENCY[@]}"} --job-name="medtitan-$1" "${DRIVER_RESOURCES[@]}" \
         --output="$LOG_DIR/%x-%j.out" "$TASK_SCRIPT" "$MEDTITAN" "$CONFIG" build ${2:+"$2"})
    DEPENDENCY=(--dependency="afterok:$id")
    SUBMITTED+=("$id")
    CHAIN+=("$1 $id")
}

tasks() {  # STEP COUNT: arrays of ARRAY_MAX tasks at most, after the previous step
    local ids=() start size id
    for (( start = 0; start < $2; start += ARRAY_MAX )); do
        size=$(( $2 - start < ARRAY_MAX ? $2 - start : ARRAY_MAX ))
        id=$(submit "${COMMON[@]}" ${DEPENDENCY[@]+"${DEPENDENCY[@]}"} --job-name="medtitan-$1" \
             --array="0-$(( size - 1 ))%$MAX_CONCURRENT" "${TASK_RESOURCES[@]}" --output="$LOG_DIR/%x-%A_%a.out" \
             "$TASK_SCRIPT" "$MEDTITAN" "$CONFIG" task "$1" "$start")
        ids+=("$id")
    done
    DEPENDENCY=(--dependency="afterok:$(IFS=:; echo "${ids[*]}")")
    SUBMITTED+=("${ids[@]}")
    CHAIN+=("$1 ${ids[*]} ($2 tasks)")
}

echo "build.sh: config $CONFIG, medtitan $MEDTITAN, logs in $LOG_DIR"
if ! INGEST=$(submit "${COMMON[@]}" --wait --job-name=medtitan-ingest "${DRIVER_RESOURCES[@]}" \
        --output="$LOG_DIR/%x-%j.out" "$TASK_SCRIPT" "$MEDTITAN" "$CONFIG" build ingest); then
    echo "build.sh: the ingest job failed; see $LOG_DIR/medtitan-ingest-<jobid>.out" >&2
    exit 1
fi
echo "build.sh: ingest done (job $INGEST)"
CHAIN+=("ingest $INGEST (done)")
SUBMITTED+=("$INGEST")

COUNTS="$("$MEDTITAN/medtitan-data" build-tasks --config "$CONFIG")"
STEPS="$(printf '%s' "$COUNTS" | "$MEDTITAN/python" -c '
import json, sys
for step, count in json.load(sys.stdin).items():
    if not isinstance(count, int) or count < 0:
        sys.exit(f"build-tasks: step {step!r} has task count {count!r}, expected a number >= 0")
    print(step, count)
')" || { echo "build.sh: could not read the output of build-tasks: $COUNTS" >&2; exit 1; }

# A step belongs to the build stage its name starts with (dedup-map -> dedup). Before the
# first tasks of a stage, the stages before it must be complete, driver part included.
PREVIOUS_STAGE=ingest  # the stage the previous step belongs to
COMPLETE=ingest        # the last stage known complete
while read -r STEP COUNT; do
    [[ -n "$STEP" ]] || continue
    STAGE="${STEP%%-*}"
    if (( COUNT == 0 )); then
        echo "build.sh: $STEP has no tasks; skipped"
    else
        if [[ "$STAGE" != "$PREVIOUS_STAGE" && "$PREVIOUS_STAGE" != "$COMPLETE" ]]; then
            driver "merge-$PREVIOUS_STAGE" "$PREVIOUS_STAGE"
            COMPLETE="$PREVIOUS_STAGE"
        fi
        tasks "$STEP" "$COUNT"
    fi
    PREVIOUS_STAGE="$STAGE"
done <<< "$STEPS"
driver final

echo "build.sh: submitted; each job starts when the one before it has succeeded:"
for (( I = 0; I < ${#CHAIN[@]}; I++ )); do
    echo "  $(( I + 1 )). ${CHAIN[I]}"
done
echo "build.sh: watch: squeue -j $(IFS=,; echo "${SUBMITTED[*]}")"
echo "build.sh: after a failure, fix the cause and run this script again: finished tasks are skipped"
