"""Hand annotations of real notes: stored as offsets and hashes only, materialised at run time.

real_annotations.jsonl holds, per document, the source file and id, the SHA-256 of the document
text, the gold spans and the SHA-256 of each span's text; never the text itself (the notes are third-
party data, read from /work/shared/data when the set is built). Materialising checks every hash, so
a changed corpus fails loudly with the file and id instead of producing shifted gold.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ANNOTATIONS = Path(__file__).resolve().parent / "real_annotations.jsonl"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_annotations(path: Path = ANNOTATIONS) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line_no}: bad annotation record ({error})") from error
            missing = [k for k in ("file", "id", "sha256", "spans", "span_sha256", "split") if k not in record]
            if missing:
                raise ValueError(f"{path}:{line_no}: annotation record lacks {', '.join(missing)}")
            records.append(record)
    return records


def materialise(data_dir: Path, annotations: list[dict]) -> list[dict]:
    """Gold records ({"id", "text", "spans", ...}) of the annotated documents, hashes verified."""
    wanted: dict[str, set[str]] = {}
    for record in annotations:
        wanted.setdefault(record["file"], set()).add(record["id"])
    texts: dict[tuple[str, str], str] = {}
    groups: dict[tuple[str, str], str] = {}
    for file, ids in sorted(wanted.items()):
        with open(data_dir / file, encoding="utf-8") as handle:
            for line in handle:
                doc = json.loads(line)
                if doc["id"] in ids:
                    texts[(file, doc["id"])] = doc["text"]
                    groups[(file, doc["id"])] = (doc.get("meta") or {}).get("group") or doc["id"]
    out = []
    for record in annotations:
        where = f"{record['file']} id {record['id']}"
        text = texts.get((record["file"], record["id"]))
        if text is None:
            raise ValueError(f"annotated document {where} is missing from {data_dir}")
        if sha256(text) != record["sha256"]:
            raise ValueError(f"annotated document {where} changed: its text no longer matches the recorded sha256")
        if len(record["spans"]) != len(record["span_sha256"]):
            raise ValueError(f"annotated document {where}: spans and span_sha256 differ in length")
        for (start, end, label), digest in zip(record["spans"], record["span_sha256"], strict=True):
            if not (0 <= start < end <= len(text)) or sha256(text[start:end]) != digest:
                raise ValueError(f"annotated document {where}: span [{start}, {end}, {label}] does not match its hash")
        out.append(
            {
                "id": f"real:{record['id']}",
                "source_file": record["file"],
                "source_id": record["id"],
                "group": groups[(record["file"], record["id"])],
                "split": record["split"],
                "text": text,
                "spans": [list(s) for s in record["spans"]],
            }
        )
    return out
