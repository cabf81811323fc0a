"""The build's work folder (OUTPUT/work, its resume state) and the small file helpers every
stage and task shares: atomic writes, JSONL, stable hashes, per-stage counts, fault injection.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

STAGES = ("ingest", "deid", "filter", "dedup", "decontaminate", "mix", "pack", "write")
# Fault injection for the resume tests: MEDTITAN_BUILD_CRASH=<stage>[:<partition>] exits the
# process abruptly inside that stage (after that partition's output, before the stage is done).
CRASH_ENV = "MEDTITAN_BUILD_CRASH"


def crash_point(stage: str, partition: int | None = None) -> None:
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    name, _, part = wanted.partition(":")
    if name == stage and (not part or (partition is not None and int(part) == partition)):
        sys.stdout.flush()
        os._exit(75)


def temporary_name(path: Path, suffix: str = "") -> Path:
    """Where `path` is written before its rename: unique to this process and host, so two
    copies of one task (a retried Slurm element racing a stale one) never share a file."""
    import socket

    return path.with_name(f"{path.name}.{socket.gethostname()}.{os.getpid()}.tmp{suffix}")


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json(path: Path, value) -> None:
    write_atomic(path, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def write_jsonl(path: Path, rows) -> None:
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def stable_hash(*parts) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest(), "little")


class Workspace:
    """OUTPUT/work: per-stage folders, partition files and DONE markers."""

    def __init__(self, output: Path) -> None:
        self.root = output / "work"

    def stage(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def done(self, name: str) -> dict | None:
        marker = self.root / name / "DONE.json"
        return json.loads(marker.read_text()) if marker.exists() else None

    def mark_done(self, name: str, stats: dict) -> None:
        write_json(self.stage(name) / "DONE.json", stats)

    def part(self, stage: str, index: int, suffix: str = ".jsonl") -> Path:
        return self.stage(stage) / f"part-{index:05d}{suffix}"


@dataclass
class StageCounts:
    into: int = 0
    kept: int = 0
    removed: int = 0
    quarantined: int = 0

    def to_json(self, reasons: dict | None = None, **extra) -> dict:
        out = {"in": self.into, "kept": self.kept, "removed": self.removed, "quarantined": self.quarantined,
               "reasons": dict(sorted((reasons or {}).items()))}
        out.update(extra)
        return out
