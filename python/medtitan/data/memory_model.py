"""Peak memory of the build, per task and for the driver, as a function of the configuration.

Every task reads one partition (or one shuffle bucket, which holds about a partition's worth of
records because there are as many buckets as partitions), so its peak is

    peak_task(step) = floor(step) + per_partition(step) x partition_mb      (TASK_MODEL)

where partition_mb is the size of the largest ingest partition (build.partition_docs documents
as JSONL). The corpus size does not appear: doubling the corpus doubles the number of tasks, not
their memory. decontaminate adds the 13-gram index of the evaluation samples
(EVAL_INDEX_PER_MB x their size). The driver holds one partition while ingesting, the confirmed
near-duplicate pairs, and 8 bytes per packed sample for the seeded shuffle of the write stage:

    peak_driver = DRIVER_FLOOR_MB + DRIVER_PER_PARTITION_MB x partition_mb
                  + 8 x samples / 2^20 + PAIR_BYTES x near_duplicate_pairs / 2^20

The constants are fitted on a 2-core x86_64 machine (Python 3.11, numpy, pyarrow) with
partitions of 1 to 11 MB (benchmarks/build_memory.py), and every prediction adds
MACHINE_HEADROOM_MB: the floors are the interpreter and its imports, which differ between
machines of the same kind by a megabyte or two (CI measured dedup-bands 1.3 MB above the machine
the floors were fitted on). tests/test_memory_model.py checks measured <= predicted at two corpus
sizes and that no task grows with the corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

# (floor MB, MB per partition MB): the floor is the interpreter with what the step imports
# (numpy, pyarrow, the Rust core) before any data; deid and decontaminate (which scrubs the
# evaluation items to index them as the corpus will read) also load the de-identifier: its
# lexicons (~60 MB) and tagger, and a per-thread word cache bounded at 200,000 words; filter
# loads CLD2's tables (+9 MB, measured 54.5 MB at the small scale against 46.7 before) and,
# when one is configured, the reference LM (about its file size, not in this model).
TASK_MODEL = {
    "deid": (127.0, 6.0),
    "filter": (51.0, 7.5),
    "dedup-map": (86.0, 4.8),
    "dedup-exact": (84.0, 0.5),
    "dedup-bands": (86.0, 4.0),
    "dedup-confirm": (76.0, 1.8),
    "decontaminate": (115.0, 1.5),
    "mix-scan": (81.0, 1.9),
    "mix-sort": (82.0, 0.5),
    "mix-select": (82.0, 0.5),
    "mix-copies": (83.0, 0.5),
    "mix-plan": (73.0, 0.5),
}
EVAL_INDEX_PER_MB = 6.0  # the contamination index, per MB of evaluation samples (decontaminate only)
DRIVER_FLOOR_MB = 118.0  # with the de-identifier it loads to check [deid] before any task
DRIVER_PER_PARTITION_MB = 4.0
PAIR_BYTES = 400  # one confirmed pair in the driver's union-find (Python tuples and dict entries)
MACHINE_HEADROOM_MB = 5.0  # added to every prediction: library pages and allocator state vary by machine


def partition_mb(output: str | Path) -> float:
    """Size of the largest ingest partition of a build, in MB."""
    from medtitan.data.workspace import Workspace

    parts = list(Workspace(Path(output)).folder("ingest").glob("part-*.jsonl"))  # needs [build] keep_work
    return max((p.stat().st_size for p in parts), default=0) / 2**20


def predict_task_mb(step: str, partition: float, eval_mb: float = 0.0) -> float:
    floor, per_partition = TASK_MODEL[step]
    extra = EVAL_INDEX_PER_MB * eval_mb if step == "decontaminate" else 0.0
    return MACHINE_HEADROOM_MB + floor + per_partition * partition + extra


def predict_driver_mb(partition: float, samples: int, pairs: int) -> float:
    floor = MACHINE_HEADROOM_MB + DRIVER_FLOOR_MB
    return floor + DRIVER_PER_PARTITION_MB * partition + 8 * samples / 2**20 + PAIR_BYTES * pairs / 2**20


def measured(output: str | Path) -> dict:
    """Peak memory of a finished build: per step the largest task's (from work/tasks, as the
    tasks reported it) and the driver's (timing.json)."""
    output = Path(output)
    steps = {}
    for path in sorted((output / "work" / "tasks").glob("*.json")):
        peaks = [task["peak_rss_mb"] for task in json.loads(path.read_text())]
        if peaks:
            steps[path.stem] = max(peaks)
    timing = json.loads((output / "timing.json").read_text())
    return {"tasks": steps, "driver": timing.get("driver_peak_rss_mb")}
