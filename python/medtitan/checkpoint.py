"""DCP checkpoints: model and optimizer (sharded, reshardable to another data-parallel degree),
plus the step, the loader position, the stability guard and every rank's RNG states.

<folder>/step-<N>/ appears only complete: ranks save into step-<N>.tmp/, and rank 0 renames it
after all have finished. Kept: the latest `keep_latest_k`, and every `keep_every_n`-th.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

from medtitan.config import Checkpoint
from medtitan.faults import crash, training_faults

STEP_DIR = re.compile(r"^step-(\d+)$")


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class CheckpointManager:
    def __init__(self, folder: Path, config: Checkpoint, rank: int, model_description: dict | None = None) -> None:
        self.folder, self.config, self.rank = Path(folder), config, rank
        self.model_description = model_description  # written as model.json: what load_model builds

    def steps(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.folder.iterdir() if (m := STEP_DIR.match(p.name)) and p.is_dir())

    def save(self, step: int, model, optimizer, loader, guard) -> Path:
        final = self.folder / f"step-{step}"
        tmp = self.folder / f"step-{step}.tmp"
        if self.rank == 0:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            if self.model_description is not None:
                (tmp / "model.json").write_text(json.dumps(self.model_description, indent=2) + "\n")
        dist.barrier()
        model_state, optim_state = get_state_dict(model, optimizer)
        dcp.save({"model": model_state, "optimizer": optim_state}, checkpoint_id=str(tmp))
        extra = {
            "step": step,
            "loader": loader.state_dict(),
            "guard": guard.state_dict(),
            "rng": _rng_state(),
            "world_size": dist.get_world_size(),
        }
        torch.save(extra, tmp / f"extra-rank{self.rank}.pt")
        if step in training_faults()["crash_in_save"]:
            crash()  # after the files, before the rename that marks the checkpoint complete
        dist.barrier()
        if self.rank == 0:
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            self._prune()
        dist.barrier()
        return final

    def _prune(self) -> None:
        steps = self.steps()
        keep = set(steps[-self.config.keep_latest_k :]) if self.config.keep_latest_k > 0 else set(steps)
        if self.config.keep_every_n > 0:
            keep |= {s for s in steps if (s // max(1, self.config.interval)) % self.config.keep_every_n == 0}
        for step in steps:
            if step not in keep:
                shutil.rmtree(self.folder / f"step-{step}", ignore_errors=True)

    def load_latest(self, model, optimizer, loader, guard) -> int | None:
        """Restore the newest complete checkpoint; returns its step (None when there is none)."""
        steps = self.steps()
        if not steps:
            return None
        path = self.folder / f"step-{steps[-1]}"
        model_state, optim_state = get_state_dict(model, optimizer)
        state = {"model": model_state, "optimizer": optim_state}
        dcp.load(state, checkpoint_id=str(path))
        set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"])
        own = path / f"extra-rank{self.rank}.pt"
        extra = torch.load(own if own.exists() else path / "extra-rank0.pt", weights_only=False)
        loader.load_state_dict(extra["loader"])
        guard.load_state_dict(extra["guard"])
        if own.exists() and extra["world_size"] == dist.get_world_size():
            _set_rng_state(extra["rng"])  # same layout: every rank continues its own RNG stream
        return int(extra["step"])


def load_model(checkpoint_dir: str | Path) -> torch.nn.Module:
    """The model of a checkpoint saved under any sharding (FSDP, TP, both), as an ordinary
    fp32 module on the CPU, for evaluation and export. No process group is needed."""
    from dataclasses import fields

    from medtitan.models import build_model
    from medtitan.models.llama import ModelArgs

    checkpoint_dir = Path(checkpoint_dir)
    description_path = checkpoint_dir / "model.json"
    if not description_path.exists():
        raise FileNotFoundError(
            f"{description_path}: missing; is {checkpoint_dir} a medtitan checkpoint (step-N folder)?"
        )
    description = json.loads(description_path.read_text())
    known = {f.name for f in fields(ModelArgs)}
    args = {k: v for k, v in description["args"].items() if k in known}
    model = build_model(description["flavor"], device="cpu", **args)
    state = {"model": model.state_dict()}
    import warnings

    with warnings.catch_warnings():
        # Loading in one process without a process group is the intent here.
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        dcp.load(state, checkpoint_id=str(checkpoint_dir), no_dist=True)
    model.load_state_dict(state["model"])
    return model.float().eval()
