"""The distributed, stateful training loader over the build's shards.

The order of samples is a pure function of (manifest fingerprint, seed, epoch): a seeded
permutation per epoch. Step k's global batch is the next `global_batch_size` samples of that
order; data-parallel rank r takes its contiguous share, cut into micro-batches. The resume
state is two integers (epoch, position), and the number of ranks never changes which samples
make up a global batch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from medtitan import _core
from medtitan.data.shards import ShardDataset


@dataclass
class LoaderState:
    epoch: int = 0
    position: int = 0  # index into the epoch's order of the next sample


class ShardLoader:
    def __init__(
        self,
        folder,
        seq_len: int,
        global_batch_size: int,
        local_batch_size: int,
        dp_rank: int,
        dp_size: int,
        seed: int,
        fingerprint: str,
    ) -> None:
        self.dataset = ShardDataset(folder)
        if len(self.dataset) == 0:
            raise ValueError(f"{folder}: no samples")
        sample_len = len(self.dataset[0])
        if sample_len != seq_len + 1:
            raise ValueError(
                f"{folder}: samples hold {sample_len} tokens but training.seq_len + 1 = {seq_len + 1}; "
                "rebuild the data or change training.seq_len"
            )
        per_rank, remainder = divmod(global_batch_size, dp_size)
        if remainder or per_rank % local_batch_size:
            raise ValueError(
                f"training.global_batch_size {global_batch_size} must be a multiple of "
                f"local_batch_size {local_batch_size} x data-parallel degree {dp_size}"
            )
        self.global_batch_size, self.local_batch_size = global_batch_size, local_batch_size
        self.dp_rank, self.dp_size = dp_rank, dp_size
        self.accumulation_steps = per_rank // local_batch_size
        self.seed, self.fingerprint = seed, fingerprint
        self.state = LoaderState()
        self._order_epoch, self._order = -1, None

    def order(self, epoch: int) -> np.ndarray:
        if epoch != self._order_epoch:
            digest = hashlib.sha256(f"{self.fingerprint}:{self.seed}:{epoch}".encode()).digest()
            seed = int.from_bytes(digest[:8], "little")
            self._order = np.frombuffer(_core.permutation(len(self.dataset), seed), dtype="<u8").astype(np.int64)
            self._order_epoch = epoch
        return self._order

    def global_batch_indices(self) -> np.ndarray:
        """The sample indices of the next global batch (advances the state)."""
        picked = []
        while len(picked) < self.global_batch_size:
            order = self.order(self.state.epoch)
            take = min(self.global_batch_size - len(picked), len(order) - self.state.position)
            picked.extend(order[self.state.position : self.state.position + take].tolist())
            self.state.position += take
            if self.state.position == len(order):
                self.state = LoaderState(self.state.epoch + 1, 0)
        return np.array(picked, dtype=np.int64)

    def next_step(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """This rank's micro-batches (inputs, labels) of the next global batch."""
        indices = self.global_batch_indices()
        per_rank = self.global_batch_size // self.dp_size
        mine = indices[self.dp_rank * per_rank : (self.dp_rank + 1) * per_rank]
        batches = []
        for start in range(0, per_rank, self.local_batch_size):
            samples = np.stack([self.dataset[int(i)] for i in mine[start : start + self.local_batch_size]]).astype(
                np.int64
            )
            tokens = torch.from_numpy(samples)
            batches.append((tokens[:, :-1], tokens[:, 1:]))
        return batches

    def skip_steps(self, steps: int) -> None:
        """Advance past `steps` global batches without reading them (roll back past bad data)."""
        for _ in range(steps):
            self.global_batch_indices()

    def state_dict(self) -> dict:
        return {"epoch": self.state.epoch, "position": self.state.position}

    def load_state_dict(self, state: dict) -> None:
        self.state = LoaderState(int(state["epoch"]), int(state["position"]))
