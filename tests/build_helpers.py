"""Writing build configs for tests, and reading shards with an independent MMIDIDX reader."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO_SOURCES = [
    ("notes", "clinical_notes.jsonl", "clinical_notes", 0.35),
    ("discharge", "discharge_summaries.jsonl", "discharge_summaries", 0.20),
    ("radiology", "radiology.jsonl", "radiology", 0.15),
    ("pharmacology", "pharmacology.jsonl", "pharmacology", 0.15),
    ("icd10", "icd10_descriptions.jsonl", "icd10_descriptions", 0.15),
]


def write_config(
    path: Path,
    tokenizer: Path,
    sources: list[tuple[str, list[Path], str, float]],
    *,
    eval_sets: list[Path] = (),
    output: Path | None = None,
    extra: str = "",
    **build,
) -> Path:
    lines = ["[build]", f'output = "{output or path.parent / "build"}"', f'tokenizer = "{tokenizer}"']
    settings = {"seq_len": 256, "seed": 1234, "validation_tokens": 10_000, "partition_docs": 300} | build
    lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    for name, paths, doc_type, weight in sources:
        lines += [
            "",
            "[[sources]]",
            f'name = "{name}"',
            f"paths = {json.dumps([str(p) for p in paths])}",
            f'doc_type = "{doc_type}"',
            f"weight = {weight}",
        ]
    lines += ["", "[decontamination]", f"eval_sets = {json.dumps([str(p) for p in eval_sets])}"]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def demo_config(path: Path, demo_dir: Path, tokenizer: Path, **kwargs) -> Path:
    sources = [(name, [demo_dir / file], doc_type, weight) for name, file, doc_type, weight in DEMO_SOURCES]
    return write_config(path, tokenizer, sources, eval_sets=[demo_dir / "evals" / "demo_mcq.jsonl"], **kwargs)


def run_build(config: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("medtitan-data")
    return subprocess.run(
        [str(script), "build", "--config", str(config), "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, **(env or {})),
    )


def output_files(output: Path) -> dict[str, bytes]:
    """Every output file but the resume state (work/, private/work/) and the timings."""
    return {
        str(p.relative_to(output)): p.read_bytes()
        for p in sorted(output.rglob("*"))
        if p.is_file()
        and p.relative_to(output).parts[0] != "work"
        and p.relative_to(output).parts[:2] != ("private", "work")
        and p.name != "timing.json"
    }


def read_megatron(prefix: Path) -> list[np.ndarray]:
    """Read a .bin/.idx pair from the MMIDIDX specification alone (independent of medtitan)."""
    index = prefix.with_name(prefix.name + ".idx").read_bytes()
    assert index[:9] == b"MMIDIDX\x00\x00", "magic"
    (version,) = struct.unpack_from("<Q", index, 9)
    assert version == 1
    code = index[17]
    dtype = {8: np.dtype("<u2"), 4: np.dtype("<i4")}[code]
    sequences, documents = struct.unpack_from("<QQ", index, 18)
    offset = 34
    sizes = np.frombuffer(index, "<i4", sequences, offset)
    offset += 4 * sequences
    pointers = np.frombuffer(index, "<i8", sequences, offset)
    offset += 8 * sequences
    doc_idx = np.frombuffer(index, "<i8", documents, offset)
    assert offset + 8 * documents == len(index), "index size"
    assert doc_idx[0] == 0 and doc_idx[-1] == sequences and np.all(np.diff(doc_idx) >= 0)
    data = prefix.with_name(prefix.name + ".bin").read_bytes()
    samples = []
    for size, pointer in zip(sizes, pointers):
        assert pointer + size * dtype.itemsize <= len(data)
        samples.append(np.frombuffer(data, dtype, size, pointer))
    return samples
