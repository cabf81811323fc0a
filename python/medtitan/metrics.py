"""Training metrics: console, <dump_folder>/metrics.jsonl (one object per logged step) and
TensorBoard when installed; device peak FLOPs for MFU; memory."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import torch

from medtitan.config import Metrics

# Dense bf16 peak FLOP/s per GPU (vendor figures, no sparsity).
PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "B200": 2250e12, "L4": 121e12, "A10": 125e12}


def device_peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None  # no meaningful peak for a CPU: MFU is reported as null
    name = torch.cuda.get_device_name(device)
    for key, flops in PEAK_BF16_FLOPS.items():
        if key in name:
            return flops
    return None


def memory_gib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


class MetricsLogger:
    def __init__(self, dump_folder: Path, rank: int, config: Metrics) -> None:
        self.rank = rank
        self.file = None
        self.tensorboard = None
        if rank == 0:
            dump_folder.mkdir(parents=True, exist_ok=True)
            self.file = open(dump_folder / "metrics.jsonl", "a", encoding="utf-8")
            self.events = open(dump_folder / "events.jsonl", "a", encoding="utf-8")
            if config.enable_tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter

                    self.tensorboard = SummaryWriter(str(dump_folder / "tensorboard"))
                except ImportError:
                    print("metrics: TensorBoard is not installed; metrics go to metrics.jsonl only", file=sys.stderr)

    def log(self, record: dict) -> None:
        if self.rank != 0:
            return
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        shown = "  ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items() if v is not None
        )
        print(shown, flush=True)
        if self.tensorboard is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.tensorboard.add_scalar(key, value, record["step"])

    def log_event(self, record: dict) -> None:
        """Guard decisions, resumes and rollbacks: <dump_folder>/events.jsonl and the console."""
        if self.rank != 0:
            return
        self.events.write(json.dumps(record) + "\n")
        self.events.flush()
        print("event: " + "  ".join(f"{k} {v}" for k, v in record.items()), flush=True)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.events.close()
        if self.tensorboard is not None:
            self.tensorboard.close()
