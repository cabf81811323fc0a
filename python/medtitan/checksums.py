"""The one file checksum of the project: the sha256 hex digest of a file, read in 4 MiB blocks
(manifests, the tokenizer and tagger fingerprints, the export's records)."""

from __future__ import annotations

import hashlib
import os


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
