"""Reading the build's shards: Megatron MMIDIDX .bin/.idx pairs, as zero-copy numpy views.

ds = ShardDataset("out/build/train")      # a folder of shards, or one shard's prefix
len(ds), ds[0]                            # one packed sample (seq_len + 1 ids), no copy
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medtitan.checksums import sha256_of

MAGIC = b"MMIDIDX\x00\x00"
DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}
HEADER = struct.Struct("<9sQBQQ")


class ShardFormatError(ValueError):
    """A .idx/.bin pair that is not a valid MMIDIDX shard; the message names the file."""


@dataclass
class ShardIndex:
    path: Path
    dtype: np.dtype
    lengths: np.ndarray  # int32, tokens per sequence
    pointers: np.ndarray  # int64, byte offset of each sequence in .bin
    document_indices: np.ndarray  # int64, sequence index where each document starts (+ the end)


def read_index(idx_path: str | os.PathLike) -> ShardIndex:
    idx_path = Path(idx_path)
    data = np.memmap(idx_path, dtype=np.uint8, mode="r") if idx_path.stat().st_size else np.zeros(0, np.uint8)
    if len(data) < HEADER.size:
        raise ShardFormatError(f"{idx_path}: {len(data)} bytes is shorter than the MMIDIDX header")
    magic, version, code, sequences, documents = HEADER.unpack(bytes(data[: HEADER.size]))
    if magic != MAGIC:
        raise ShardFormatError(f"{idx_path}: not an MMIDIDX index (magic {magic!r})")
    if version != 1:
        raise ShardFormatError(f"{idx_path}: unsupported version {version}")
    if code not in DTYPES:
        raise ShardFormatError(f"{idx_path}: unknown dtype code {code}")
    expected = HEADER.size + sequences * 4 + sequences * 8 + documents * 8
    if len(data) != expected:
        raise ShardFormatError(f"{idx_path}: {len(data)} bytes, expected {expected} for {sequences} sequences")
    offset = HEADER.size
    lengths = np.frombuffer(data, dtype="<i4", count=sequences, offset=offset)
    offset += sequences * 4
    pointers = np.frombuffer(data, dtype="<i8", count=sequences, offset=offset)
    offset += sequences * 8
    document_indices = np.frombuffer(data, dtype="<i8", count=documents, offset=offset)
    return ShardIndex(idx_path, np.dtype(DTYPES[code]).newbyteorder("<"), lengths, pointers, document_indices)


class Shard:
    """One .bin/.idx pair; shard[i] is a numpy view into the memory-mapped .bin."""

    def __init__(self, prefix: str | os.PathLike) -> None:
        self.prefix = Path(prefix)
        self.index = read_index(self.prefix.with_name(self.prefix.name + ".idx"))
        bin_path = self.prefix.with_name(self.prefix.name + ".bin")
        size = bin_path.stat().st_size
        itemsize = self.index.dtype.itemsize
        if len(self.index.lengths):
            end = int(self.index.pointers[-1]) + int(self.index.lengths[-1]) * itemsize
            if end > size:
                raise ShardFormatError(f"{bin_path}: {size} bytes, but the index points to byte {end}")
        self.tokens = np.memmap(bin_path, dtype=self.index.dtype, mode="r") if size else np.zeros(0, self.index.dtype)

    def __len__(self) -> int:
        return len(self.index.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.index.pointers[i]) // self.index.dtype.itemsize
        return self.tokens[start : start + int(self.index.lengths[i])]


def shard_prefixes(path: str | os.PathLike) -> list[Path]:
    """Shard prefixes in a folder (sorted), or the one prefix given (with or without .idx)."""
    path = Path(path)
    if path.is_dir():
        prefixes = sorted(p.with_suffix("") for p in path.glob("*.idx"))
        if not prefixes:
            raise FileNotFoundError(f"{path}: no .idx shards in this folder")
        return prefixes
    prefix = path.with_suffix("") if path.suffix in (".idx", ".bin") else path
    if not prefix.with_name(prefix.name + ".idx").exists():
        raise FileNotFoundError(f"{prefix}.idx: no such shard index")
    return [prefix]


class ShardDataset:
    """All samples of a folder of shards (or of one shard), in shard order; [i] is a view."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.shards = [Shard(prefix) for prefix in shard_prefixes(path)]
        self._ends = np.cumsum([len(s) for s in self.shards], dtype=np.int64)

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def __getitem__(self, i: int) -> np.ndarray:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} out of range (dataset of {len(self)})")
        shard = int(np.searchsorted(self._ends, i, side="right"))
        start = int(self._ends[shard - 1]) if shard else 0
        return self.shards[shard][i - start]

    @property
    def dtype(self) -> np.dtype:
        return self.shards[0].index.dtype


DOC_TYPES_FILE = "doc_types.json"  # written by the build beside the validation shards


def sample_doc_types(folder: str | os.PathLike) -> tuple[list[str], np.ndarray] | None:
    """(doc_type names, index into them for every sample in ShardDataset order) of a shard
    folder whose samples are each of one doc_type (the build's validation split); None when the
    folder has no doc_types.json."""
    path = Path(folder) / DOC_TYPES_FILE
    if not path.exists():
        return None
    value = json.loads(path.read_text(encoding="utf-8"))
    labels = np.asarray(value["sample_doc_type"], dtype=np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= len(value["doc_types"])):
        raise ShardFormatError(f"{path}: sample_doc_type holds an index outside doc_types")
    return list(value["doc_types"]), labels


def verify(output: str | os.PathLike) -> list[str]:
    """Problems found in a build output: missing files, checksum or count mismatches. Empty: OK."""
    output = Path(output)
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    problems = []
    for name, expected in manifest["files"].items():
        path = output / name
        if not path.exists():
            problems.append(f"{path}: missing")
        elif sha256_of(path) != expected["sha256"]:
            problems.append(f"{path}: sha256 differs from the manifest")
    for split, info in manifest["splits"].items():
        try:
            dataset = ShardDataset(output / info["folder"])
        except (FileNotFoundError, ShardFormatError) as error:
            problems.append(str(error))
            continue
        tokens = sum(int(s.index.lengths.sum()) for s in dataset.shards)
        if len(dataset) != info["samples"] or tokens != info["tokens"]:
            problems.append(
                f"{split}: {len(dataset)} samples / {tokens} tokens on disk, manifest says "
                f"{info['samples']} / {info['tokens']}"
            )
        try:
            labelled = sample_doc_types(output / info["folder"])
        except (ShardFormatError, ValueError, KeyError) as error:
            problems.append(f"{output / info['folder'] / DOC_TYPES_FILE}: {error}")
            continue
        if labelled is not None and len(labelled[1]) != len(dataset):
            problems.append(
                f"{output / info['folder'] / DOC_TYPES_FILE}: {len(labelled[1])} sample labels for "
                f"{len(dataset)} samples"
            )
    return problems
