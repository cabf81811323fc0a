"""A window of training steps under torch.profiler, summarised where a person reads it first:
`<dump_folder>/<profiling.folder>/summary.json` with the top kernels by device time, how much
of the window the device was busy (the rest is host gaps: Python, launches, syncs), and how much
communication ran with no compute beside it (exposed). On a CPU there are no kernels: the
summary lists the top operators by self CPU time instead."""

from __future__ import annotations

import gzip
import json
import shutil
import time
from pathlib import Path

import torch

from medtitan.config import Profiling

COMMUNICATION_MARKERS = (
    "nccl",
    "allgather",
    "all_gather",
    "reducescatter",
    "reduce_scatter",
    "allreduce",
    "all_reduce",
    "sendrecv",
    "broadcast",
)


def _union_us(intervals: list[tuple[float, float]]) -> float:
    """Total length of a union of [start, end) intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def _subtract_us(intervals: list[tuple[float, float]], cover: list[tuple[float, float]]) -> float:
    """Length of the union of `intervals` not covered by the union of `cover`."""
    return _union_us(intervals + cover) - _union_us(cover)


def summarise(events, wall_s: float, steps: int, top: int = 15) -> dict:
    """The summary of a profiler's events over `wall_s` seconds of `steps` steps."""
    from torch.autograd import DeviceType

    kernels = [e for e in events if e.device_type != DeviceType.CPU]
    summary: dict = {"steps": steps, "wall_ms_per_step": 1000 * wall_s / steps}
    if kernels:
        by_name: dict[str, list[float]] = {}
        compute, communication = [], []
        for event in kernels:
            span = (event.time_range.start, event.time_range.end)
            by_name.setdefault(event.name, []).append(span[1] - span[0])
            is_comm = any(marker in event.name.lower() for marker in COMMUNICATION_MARKERS)
            (communication if is_comm else compute).append(span)
        busy_us = _union_us(compute + communication)
        wall_us = 1e6 * wall_s
        total_us = sum(sum(spans) for spans in by_name.values())
        summary |= {
            "device": "cuda",
            "device_busy_fraction": busy_us / wall_us if wall_us else None,
            "host_gap_ms_per_step": max(0.0, wall_us - busy_us) / 1000 / steps,
            "communication_ms_per_step": _union_us(communication) / 1000 / steps,
            "exposed_communication_ms_per_step": _subtract_us(communication, compute) / 1000 / steps,
            "top_kernels": [
                {
                    "name": name[:160],
                    "calls": len(spans),
                    "ms_per_step": sum(spans) / 1000 / steps,
                    "share": sum(spans) / total_us if total_us else 0.0,
                }
                for name, spans in sorted(by_name.items(), key=lambda item: -sum(item[1]))[:top]
            ],
        }
    else:
        by_name: dict[str, float] = {}
        for event in events:
            by_name[event.name] = by_name.get(event.name, 0.0) + event.self_cpu_time_total
        total_us = sum(by_name.values())
        summary |= {
            "device": "cpu",
            "top_operators": [
                {"name": name[:160], "ms_per_step": us / 1000 / steps, "share": us / total_us if total_us else 0.0}
                for name, us in sorted(by_name.items(), key=lambda item: -item[1])[:top]
            ],
        }
    return summary


class StepProfiler:
    """Profiles steps start_step .. start_step + steps - 1 of a run (rank 0 writes the summary;
    every rank profiles, so collectives see the same overheads)."""

    def __init__(self, config: Profiling, dump_folder: Path, rank: int) -> None:
        self.config, self.rank = config, rank
        self.folder = Path(dump_folder) / config.folder
        self.profile = None
        self.started = 0.0
        self.first = 0
        self.summary: dict | None = None

    def _sync(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def before_step(self, step: int) -> None:
        if not self.config.enable or step != self.config.start_step or self.profile is not None:
            return
        activities = [torch.profiler.ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        self._sync()
        self.profile = torch.profiler.profile(activities=activities)
        self.profile.__enter__()
        self.started, self.first = time.perf_counter(), step

    def after_step(self, step: int) -> None:
        if self.profile is not None and step >= self.config.start_step + self.config.steps - 1:
            self._finish(step)

    def close(self) -> None:
        """Ends a window the run stopped inside (a signal, the last step)."""
        if self.profile is not None:
            self._finish(None)

    def _finish(self, last: int | None) -> None:
        self._sync()
        wall = time.perf_counter() - self.started
        profile, self.profile = self.profile, None
        profile.__exit__(None, None, None)
        if self.rank != 0:
            return
        steps = (last - self.first + 1) if last is not None else self.config.steps
        self.summary = summarise(profile.events(), wall, max(steps, 1)) | {"first_step": self.first}
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n")
        if self.config.save_trace:
            raw = self.folder / "trace.json"
            profile.export_chrome_trace(str(raw))
            with open(raw, "rb") as source, gzip.open(self.folder / "trace.json.gz", "wb") as target:
                shutil.copyfileobj(source, target)
            raw.unlink()
        print(
            f"profile: steps {self.first}-{self.first + steps - 1} summarised in {self.folder / 'summary.json'}",
            flush=True,
        )
