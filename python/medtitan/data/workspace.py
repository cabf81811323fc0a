"""The build's work folders (its resume state: OUTPUT/work, and OUTPUT/private/work for the
stages that see raw text) and the small file helpers every stage and task shares: atomic
writes, JSONL, stable hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from medtitan.data.private import (
    PRIVATE_FOLDER,
    PRIVATE_STAGES,
    WORK_FOLDER,
    is_private,
    make_private_folder,
)


def temporary_name(path: Path, suffix: str = "") -> Path:
    """Where `path` is written before its rename: unique to this process and host, so two
    copies of one task (a retried Slurm element racing a stale one) never share a file."""
    import socket

    return path.with_name(f"{path.name}.{socket.gethostname()}.{os.getpid()}.tmp{suffix}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write `path` under a temporary name, then rename. In a private folder (mode 0700) the
    file is created 0600: it inherits the folder's privacy whoever writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    mode = 0o600 if is_private(path.parent) else 0o666  # 0o666: the umask decides, as open() does
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as handle:
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
    """Per-stage folders, partition files and DONE markers: OUTPUT/work/<stage>, except the
    stages that see raw text (private.PRIVATE_STAGES), in OUTPUT/private/work/<stage> (0700
    folders, 0600 files). state.json, the fingerprint of the build, is OUTPUT/work/state.json."""

    def __init__(self, output: Path) -> None:
        output = Path(output)
        self.root = output / WORK_FOLDER
        self.private = output / PRIVATE_FOLDER
        self.private_root = self.private / WORK_FOLDER

    def folder(self, name: str) -> Path:
        """Where a stage's work lives (not created)."""
        return (self.private_root if name in PRIVATE_STAGES else self.root) / name

    def stage(self, name: str) -> Path:
        path = self.folder(name)
        if name in PRIVATE_STAGES:
            return make_private_folder(path, self.private)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def private_folder(self) -> Path:
        """OUTPUT/private, created 0700 (and set back to 0700 if an older build left it wider)."""
        return make_private_folder(self.private, self.private)

    def done(self, name: str) -> dict | None:
        marker = self.folder(name) / "DONE.json"
        return json.loads(marker.read_text()) if marker.exists() else None

    def remove(self) -> None:
        """Delete the work copies (both folders), keeping the rest of OUTPUT/private. The
        fingerprint goes first: a removal cut short leaves nothing that looks resumable."""
        (self.root / "state.json").unlink(missing_ok=True)
        for root in (self.private_root, self.root):
            if root.exists():
                shutil.rmtree(root)
        if self.private.is_dir() and not any(self.private.iterdir()):
            self.private.rmdir()

    def mark_done(self, name: str, stats: dict) -> None:
        write_json(self.stage(name) / "DONE.json", stats)

    def part(self, stage: str, index: int, suffix: str = ".jsonl") -> Path:
        return self.stage(stage) / f"part-{index:05d}{suffix}"
