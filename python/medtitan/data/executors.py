"""Where the build's partitioned tasks run: this process (local, the default), a pool of
fresh processes on this machine (process), or a Ray cluster (ray).

A task is a module-level function `task(context, index) -> dict` (the TASKS of medtitan/data/stages/)
that reads its inputs from and writes its outputs to the build's work folder, and returns
small statistics. Tasks of one step are independent and pure, so the executor changes where
and when they run, never what they write: the output is byte-identical under every executor
(tests/test_executors.py). Under Ray the output folder must be on a filesystem that every
node sees.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence

from tqdm import tqdm

EXECUTORS = ("local", "process", "ray")


class LocalExecutor:
    """Tasks one after another in this process; the Rust core inside each uses all threads."""

    name = "local"

    def __init__(self, progress: bool = True) -> None:
        self.progress = progress

    def map(self, task: Callable, context, indices: Sequence[int], desc: str) -> list[dict]:
        return [
            task(context, index)
            for index in tqdm(indices, desc=desc, unit=" task", disable=not self.progress, leave=False)
        ]

    def close(self) -> None:
        pass


class ProcessExecutor:
    """Each task in a fresh process (spawned, one task per process), `processes` at a time.
    A task's peak memory is then its own process's, which is what the memory model measures."""

    name = "process"

    def __init__(self, processes: int | None = None, progress: bool = True) -> None:
        self.processes = processes or os.cpu_count() or 1
        self.progress = progress

    def map(self, task: Callable, context, indices: Sequence[int], desc: str) -> list[dict]:
        if not indices:
            return []
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(self.processes, maxtasksperchild=1) as pool:
            pending = [pool.apply_async(task, (context, index)) for index in indices]
            return [p.get() for p in tqdm(pending, desc=desc, unit=" task", disable=not self.progress, leave=False)]

    def close(self) -> None:
        pass


class RayExecutor:
    """Tasks as Ray tasks (one CPU each by default) on the cluster at `address`, or on a local
    cluster started for this build when no address is given."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_task: float = 1.0, progress: bool = True) -> None:
        try:
            import ray
        except ImportError as error:
            raise RuntimeError("the ray executor needs Ray: pip install 'ray>=2.40'") from error
        self.ray = ray
        self.started_here = not ray.is_initialized()
        if self.started_here:
            # The workers import medtitan from the same environment; nothing is uploaded.
            ray.init(address=address, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
        self.cpus_per_task = cpus_per_task
        self.progress = progress
        self._remote: dict[Callable, object] = {}

    def map(self, task: Callable, context, indices: Sequence[int], desc: str) -> list[dict]:
        if not indices:
            return []
        remote = self._remote.get(task)
        if remote is None:
            # Retries: a task is idempotent (it rewrites its own outputs atomically).
            remote = self._remote[task] = self.ray.remote(num_cpus=self.cpus_per_task, max_retries=2)(task)
        context_ref = self.ray.put(context)
        refs = [remote.remote(context_ref, index) for index in indices]
        with tqdm(total=len(refs), desc=desc, unit=" task", disable=not self.progress, leave=False) as bar:
            waiting = list(refs)
            while waiting:
                done, waiting = self.ray.wait(waiting, num_returns=1)
                bar.update(len(done))
        return self.ray.get(refs)  # in submission order, whatever the completion order

    def close(self) -> None:
        if self.started_here and self.ray.is_initialized():
            self.ray.shutdown()


def make_executor(name: str, address: str | None = None, processes: int | None = None, progress: bool = True):
    if name == "local":
        return LocalExecutor(progress)
    if name == "process":
        return ProcessExecutor(processes, progress)
    if name == "ray":
        return RayExecutor(address, progress=progress)
    raise ValueError(f"unknown executor {name!r}; known: {', '.join(EXECUTORS)}")
