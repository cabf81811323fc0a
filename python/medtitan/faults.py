"""Fault injection for the resume and guard tests, in one place. Two environment variables:

    MEDTITAN_BUILD_CRASH=<stage>[:<partition>]
        the build process exits abruptly inside that stage (after that partition's output,
        before the stage is done): medtitan.data resumes from there.
    MEDTITAN_TRAIN_INJECT="nan@7,spike@12,crash@9,crash_in_save@4"
        at those training steps: a NaN loss or a 50x loss (before backward, on every rank;
        each fires once, as bad data at that point of the stream would), every rank killed
        after the step (its checkpoint, if any, written), or killed inside the checkpoint save
        (after the files, before the rename that marks the checkpoint complete).

Every crash is the same: stdout flushed, then os._exit(CRASH_EXIT_CODE), no cleanup, as a
killed process would leave things."""

from __future__ import annotations

import os
import sys

BUILD_CRASH_ENV = "MEDTITAN_BUILD_CRASH"
TRAIN_INJECT_ENV = "MEDTITAN_TRAIN_INJECT"
CRASH_EXIT_CODE = 75


def crash() -> None:
    sys.stdout.flush()
    os._exit(CRASH_EXIT_CODE)


def build_crash_point(stage: str, partition: int | None = None) -> None:
    """Crash here if MEDTITAN_BUILD_CRASH names this stage (and this partition, if it names one)."""
    wanted = os.environ.get(BUILD_CRASH_ENV)
    if not wanted:
        return
    name, _, part = wanted.partition(":")
    if name == stage and (not part or (partition is not None and int(part) == partition)):
        crash()


TRAINING_FAULTS = ("nan", "spike", "crash", "crash_in_save")


def training_faults() -> dict[str, set[int]]:
    """MEDTITAN_TRAIN_INJECT as {kind: steps} for each kind of TRAINING_FAULTS ("crash@9" and
    "crash_in_save@9" both hold)."""
    faults: dict[str, set[int]] = {kind: set() for kind in TRAINING_FAULTS}
    for item in filter(None, os.environ.get(TRAIN_INJECT_ENV, "").split(",")):
        kind, _, step = item.partition("@")
        if kind not in faults or not step.isdigit():
            raise ValueError(f"{TRAIN_INJECT_ENV}: {item!r} is not nan@N, spike@N, crash@N or crash_in_save@N")
        faults[kind].add(int(step))
    return faults
