"""`medtitan-data build`: raw sources -> de-identified, filtered, deduplicated, decontaminated,
tokenized, mixed, packed, shuffled Megatron shards, with a report that accounts for every
document. The stages, one module each, are in medtitan/data/stages/ (their list and order:
stages/__init__.py); this module runs them, resumes them, and dispatches their tasks.

Where their work lands (the resume state): OUTPUT/work/, and OUTPUT/private/work/ for ingest and
deid, which see raw text (private.py). The tasks run on an executor (executors.py: this process,
fresh processes, or Ray); a stage's driver step only sums their small outputs. Every task output
is written under a temporary name and renamed when complete, and every stage leaves DONE.json
when all of it is; a build that is killed and run again skips what is done and redoes the rest,
and ends byte-identical to an uninterrupted one. Partitions depend on input order only, and each
task is a pure function of its inputs and the config, so neither the executor nor the number of
workers changes the output. Memory per task and for the driver: memory_model.py.

Raw text rests only in OUTPUT/private/ (0700; never in the manifest): the released quarantine
names each bad record by file, line, reason and the sha256 of its line, not its text. A build
that succeeds deletes its work copies unless `[build] keep_work = true`; a failed or killed one
keeps them to resume from.
"""

from __future__ import annotations

import json
import os
import shutil
import time

from medtitan.checksums import sha256_of
from medtitan.data.build_config import BuildConfig, ConfigError
from medtitan.data.executors import LocalExecutor, make_executor
from medtitan.data.manifest import FORMAT_VERSION, write_release
from medtitan.data.private import PRIVATE_STAGES
from medtitan.data.stages import MODULES, STAGES, TASKS
from medtitan.data.stages.base import TaskContext, peak_rss_mb
from medtitan.data.workspace import Workspace, write_json
from medtitan.tokenizer import Tokenizer


class Builder:
    """The build driver: runs the stages in order (stages.MODULES), skips those done earlier,
    and runs their tasks on the executor (the stages.base.Driver a stage's run() gets)."""

    def __init__(self, config: BuildConfig, progress: bool = True, executor=None) -> None:
        self.config = config
        self.output = config.output
        self.work = Workspace(self.output)
        self.progress = progress
        self.workers = config.build.workers
        self.executor = executor or LocalExecutor(progress)
        # Threads inside one task. Local: every core (or build.workers). Process: one, since
        # build.workers processes already fill the cores. Ray: one per task (Ray schedules one
        # CPU each) unless build.workers says otherwise. Never changes the output.
        self.task_threads = {"local": self.workers, "process": 1}.get(self.executor.name, self.workers or 1)
        self.task_stats: dict[str, list[dict]] = {}
        self.tokenizer = Tokenizer.from_file(config.tokenizer)
        if self.tokenizer.eos_id < 0:
            raise ConfigError(f"{config.tokenizer}: the tokenizer has no </s> piece to end documents with")

    def log(self, message: str) -> None:
        if self.progress:
            print(message, flush=True)

    # --- the run ------------------------------------------------------------------------

    def run(self, stop_after: str | None = None) -> dict:
        """Run (or resume) every stage; with `stop_after`, only up to that stage (returns the
        stage results, not a report)."""
        if stop_after is not None and stop_after not in STAGES:
            raise ValueError(f"unknown stage {stop_after!r}; stages: {', '.join(STAGES)}")
        started = time.perf_counter()
        self._check_resume_state()
        results = {}
        for stage in STAGES[: STAGES.index(stop_after) + 1] if stop_after else STAGES:
            done = self.work.done(stage)
            if done is not None:
                self.log(f"{stage}: done earlier, skipped")
                results[stage] = done
                continue
            stage_started = time.perf_counter()
            results[stage] = MODULES[stage].run(self, results)
            results[stage]["seconds"] = round(time.perf_counter() - stage_started, 3)
            results[stage]["driver_peak_rss_mb"] = round(peak_rss_mb(), 1)
            self.work.mark_done(stage, results[stage])
            self.log(f"{stage}: done in {results[stage]['seconds']:.1f} s")
        if stop_after:
            return results
        report = write_release(
            self, results, time.perf_counter() - started, self.executor.name, self.workers or os.cpu_count() or 1
        )
        if not self.config.build.keep_work:
            # Only now, after success: a failed or killed build keeps its work to resume from.
            self.work.remove()
            self.log(
                f"removed the work copies ({self.work.root}, {self.work.private_root}); "
                "[build] keep_work = true keeps them"
            )
        return report

    def task_counts(self) -> dict[str, int]:
        """The partitioned task steps and their task counts (ingest must be done)."""
        ingest = self.work.done("ingest")
        if ingest is None:
            raise ValueError(
                f"{self.work.root}: ingest has not run; run `medtitan-data build --stop-after ingest` first"
            )
        partitions, buckets = ingest["partitions"], self.dedup_buckets(ingest["partitions"])
        dedup = self.config.dedup.enabled
        return {
            "deid": partitions,
            "filter": partitions,
            "dedup-map": partitions if dedup else 0,
            "dedup-exact": buckets if dedup else 0,
            "dedup-bands": buckets if dedup else 0,
            "dedup-confirm": partitions if dedup else 0,
            "decontaminate": partitions,
        }

    def run_task(self, step: str, index: int) -> dict:
        """One task of one step (for schedulers such as Slurm array jobs); idempotent. The
        steps before it must be complete (their tasks run, the build driver's merges done)."""
        state = self.work.root / "state.json"
        if not state.exists() or json.loads(state.read_text()) != self._fingerprint():
            raise ValueError(
                f"{state}: the config, tokenizer or inputs changed since ingest (or ingest never ran); "
                "a task must not mix them: run the build again from the start"
            )
        counts = self.task_counts()
        if step not in counts:
            raise ValueError(f"unknown task step {step!r}; steps: {', '.join(counts)}")
        if not 0 <= index < counts[step]:
            raise ValueError(f"{step} has {counts[step]} tasks; task {index} does not exist")
        if step == "decontaminate" and self.work.done("dedup") is None:
            # Its input is the per-partition removals that the driver's dedup union writes.
            raise ValueError(
                "decontaminate tasks need the dedup stage complete: run "
                "`medtitan-data build --config F --stop-after dedup` after the dedup-confirm tasks"
            )
        return TASKS[step](self.context(), index)

    def _fingerprint(self) -> dict:
        inputs = []
        for source in self.config.sources:
            for path in self.config.source_files(source):
                stat = path.stat()
                inputs.append(
                    {"source": source.name, "path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
                )
        for path in self.config.eval_files():
            stat = path.stat()
            inputs.append({"eval_set": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns})
        return {
            "config": self.config.to_json(),
            "tokenizer_sha256": sha256_of(self.config.tokenizer),
            "inputs": inputs,
            "format_version": FORMAT_VERSION,
        }

    def _check_resume_state(self) -> None:
        """Resume only a build of the same config, tokenizer and inputs; otherwise start over."""
        fingerprint = self._fingerprint()
        state = self.work.root / "state.json"
        if state.exists() and json.loads(state.read_text()) != fingerprint:
            self.log(f"{self.work.root}: config, tokenizer or inputs changed since the last run; starting over")
            state.unlink()
        if not state.exists():
            # No fingerprint: whatever work is left (a removal cut short) is not resumable.
            self.work.remove()
            self.work.root.mkdir(parents=True, exist_ok=True)
            write_json(state, fingerprint)
        for name in PRIVATE_STAGES:
            legacy = self.work.root / name  # where builds before OUTPUT/private/work kept raw text
            if legacy.exists():
                shutil.rmtree(legacy)

    # --- task dispatch ------------------------------------------------------------------

    def context(self) -> TaskContext:
        partitions = self.work.done("ingest")["partitions"]
        return TaskContext(self.config, partitions, self.task_threads, self.dedup_buckets(partitions))

    def dedup_buckets(self, partitions: int) -> int:
        return self.config.dedup.buckets or max(1, partitions)

    def run_tasks(self, name: str, indices) -> list[dict]:
        """Run the tasks of one step on the executor; returns their stats (peak memory
        included), also kept in work/tasks/<name>.json for the memory model."""
        stats = self.executor.map(TASKS[name], self.context(), list(indices), name)
        self.task_stats[name] = stats
        write_json(self.work.stage("tasks") / f"{name}.json", stats)
        return stats


def build(
    config: BuildConfig,
    progress: bool = True,
    executor: str = "local",
    address: str | None = None,
    stop_after: str | None = None,
) -> dict:
    """Run (or resume) the build described by `config` on the named executor (local, process,
    ray); returns the report (the stage results with `stop_after`)."""
    runner = make_executor(executor, address=address, processes=config.build.workers, progress=progress)
    try:
        return Builder(config, progress, runner).run(stop_after)
    finally:
        runner.close()
