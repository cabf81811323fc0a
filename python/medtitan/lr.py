"""Learning-rate schedule: linear warmup to the peak, then cosine (or linear) decay to
min_lr_factor x peak at the last step."""

from __future__ import annotations

import math


def lr_factor(
    step: int, warmup_steps: int, total_steps: int, decay_type: str = "cosine", min_lr_factor: float = 0.1
) -> float:
    """Multiplier of the peak learning rate for 1-based `step`."""
    if warmup_steps > 0 and step <= warmup_steps:
        return step / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    if decay_type == "cosine":
        shape = 0.5 * (1 + math.cos(math.pi * progress))
    elif decay_type == "linear":
        shape = 1 - progress
    else:
        raise ValueError(f"lr_scheduler.decay_type must be cosine or linear, got {decay_type!r}")
    return min_lr_factor + (1 - min_lr_factor) * shape
