"""Stability guards: NaN/Inf before the optimizer step, loss spikes (> loss_spike_factor x the
running average) and gradient-norm spikes (> grad_spike_factor x), with a configured policy:
warn, skip the step, or roll back to the last checkpoint and skip the offending data."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from medtitan.config import Stability

POLICIES = ("warn", "skip", "rollback")


@dataclass
class Decision:
    action: str  # "ok", "warn", "skip" or "rollback"
    reason: str | None = None


class StabilityGuard:
    def __init__(self, config: Stability) -> None:
        if config.policy not in POLICIES:
            raise ValueError(f"stability.policy must be one of {POLICIES}, got {config.policy!r}")
        self.config = config
        self.losses: deque[float] = deque(maxlen=config.window)
        self.norms: deque[float] = deque(maxlen=config.window)
        self.accepted = 0

    def check(self, step: int, loss: float, grad_norm: float) -> Decision:
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            # A non-finite update is never applied, whatever the policy.
            action = "rollback" if self.config.policy == "rollback" else "skip"
            return Decision(action, f"non-finite loss {loss} or gradient norm {grad_norm} at step {step}")
        reasons = []
        if self.accepted >= self.config.warmup and self.losses:
            mean_loss = sum(self.losses) / len(self.losses)
            mean_norm = sum(self.norms) / len(self.norms)
            if loss > self.config.loss_spike_factor * mean_loss:
                reasons.append(
                    f"loss spike {loss:.4f} > {self.config.loss_spike_factor}x running average {mean_loss:.4f}"
                )
            if grad_norm > self.config.grad_spike_factor * mean_norm:
                reasons.append(
                    f"gradient-norm spike {grad_norm:.4f} > {self.config.grad_spike_factor}x running average {mean_norm:.4f}"
                )
        if not reasons:
            return Decision("ok")
        return Decision(self.config.policy, f"step {step}: " + "; ".join(reasons))

    def accept(self, loss: float, grad_norm: float) -> None:
        self.losses.append(loss)
        self.norms.append(grad_norm)
        self.accepted += 1

    def state_dict(self) -> dict:
        return {"losses": list(self.losses), "norms": list(self.norms), "accepted": self.accepted}

    def load_state_dict(self, state: dict) -> None:
        self.losses = deque(state["losses"], maxlen=self.config.window)
        self.norms = deque(state["norms"], maxlen=self.config.window)
        self.accepted = int(state["accepted"])
