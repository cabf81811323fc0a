"""What every stage shares: the interface a stage module fills in, the context its tasks get,
the counts it reports, and the peak-memory figure every task returns.

A stage is a module of medtitan.data.stages with two names:

    TASKS   {step: task}: its partitioned or keyed work, each `task(context, index) -> stats`
            (may be empty: ingest, pack and write run in the driver). A task reads its inputs
            from the work folder, writes its outputs there under temporary names renamed when
            complete (the last file written is its marker), and returns at once when its marker
            exists; it depends only on its inputs and the config, so any executor may run any
            subset, in any order, on any machine that sees the folder.
    run     `run(driver, results) -> dict`: runs the stage's tasks on the driver's executor and
            sums their small outputs into the stage's result (in, kept, removed, quarantined,
            reasons and the stage's own figures), given the results of the stages before it.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from medtitan.data.build_config import BuildConfig
from medtitan.data.workspace import Workspace

if TYPE_CHECKING:
    from medtitan.tokenizer import Tokenizer


@dataclass(frozen=True)
class TaskContext:
    """What a task needs besides its index: small and picklable, so it travels to worker
    processes and Ray."""

    config: BuildConfig
    partitions: int  # ingest partitions
    threads: int | None  # threads for the Rust calls inside one task (None: all cores)
    buckets: int = 1  # dedup shuffle buckets

    @property
    def work(self) -> Workspace:
        return Workspace(self.config.output)


Task = Callable[[TaskContext, int], dict]


class Driver(Protocol):
    """What a stage's `run` uses of the build driver (medtitan.data.build.Builder)."""

    config: BuildConfig
    output: Path
    work: Workspace
    tokenizer: Tokenizer

    def log(self, message: str) -> None: ...

    def run_tasks(self, step: str, indices) -> list[dict]:
        """Run the tasks of one step on the build's executor; returns their stats."""

    def dedup_buckets(self, partitions: int) -> int: ...


@dataclass
class StageCounts:
    into: int = 0
    kept: int = 0
    removed: int = 0
    quarantined: int = 0

    def to_json(self, reasons: dict | None = None, **extra) -> dict:
        out = {
            "in": self.into,
            "kept": self.kept,
            "removed": self.removed,
            "quarantined": self.quarantined,
            "reasons": dict(sorted((reasons or {}).items())),
        }
        out.update(extra)
        return out


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB. Linux: VmHWM, the high-water mark
    of this program's own address space (ru_maxrss would also count the parent's pages that a
    forked-then-exec'd worker held before exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def task_done(stats: dict | None = None) -> dict:
    """A task's return value: its own figures and its process's peak memory (for the memory model)."""
    return (stats or {}) | {"peak_rss_mb": round(peak_rss_mb(), 1)}
