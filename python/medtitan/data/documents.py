"""Documents from JSONL (.gz, .zst) and Parquet inputs, with every bad record accounted for.

`read_documents` yields a `Document` per good record and collects `Quarantined` entries (file,
line or row, reason) for the rest, so callers can report them; nothing is dropped silently.
Every string a Document carries encodes as UTF-8 (no lone surrogate: jsonl.py), so writing it
or handing it to Rust cannot fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from medtitan.data.jsonl import (
    DEFAULT_MAX_RECORD_BYTES,
    INVALID_UNICODE_MODES,
    SUFFIXES as JSONL_SUFFIXES,
    CorpusReadError,
    Quarantined,
    Record,
    read_records,
)

PARQUET_SUFFIXES = (".parquet",)
NO_DOC_TYPE = "(no doc_type)"


@dataclass(frozen=True)
class Document:
    id: str
    doc_type: str
    text: str
    group: str  # duplicate family (meta.group) when given, else the id: the unit of splitting


@dataclass
class ReadReport:
    files: list[str] = field(default_factory=list)
    documents: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    blank_lines: int = 0
    repaired_records: int = 0  # documents whose lone surrogates became U+FFFD (invalid_unicode="replace")
    repaired_characters: int = 0  # the lone surrogates so replaced


def expand(inputs: list[str | Path]) -> list[Path]:
    """Files as given, and the .jsonl(.gz/.zst) and .parquet files directly in folders given."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(
                p for p in item.iterdir() if p.is_file() and p.name.endswith(JSONL_SUFFIXES + PARQUET_SUFFIXES)
            )
            if not found:
                raise CorpusReadError(f"{item}: folder holds no JSONL or Parquet files")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise CorpusReadError(f"{item}: no such file or folder")
    return files


def _document(data: dict, text: str, fallback_id: str, default_doc_type: str | None) -> Document:
    doc_type = data.get("doc_type")
    if not isinstance(doc_type, str) or not doc_type:
        doc_type = default_doc_type or NO_DOC_TYPE
    doc_id = str(data.get("id", fallback_id))
    meta = data.get("meta")
    group = meta.get("group") if isinstance(meta, dict) else None
    return Document(doc_id, doc_type, text, str(group) if group is not None else doc_id)


# Rows decoded to Python at a time: a bad row costs a row-by-row retry of its batch only.
PARQUET_BATCH_ROWS = 4096


def _parquet_rows(path: Path, table) -> Iterator[tuple[int, dict | Quarantined]]:
    """(row, values) per row, or (row, Quarantined) for a row whose strings are not valid UTF-8:
    Parquet writers need not validate, and pyarrow raises only when it decodes the value."""
    row = 0
    for batch in table.to_batches(max_chunksize=PARQUET_BATCH_ROWS):
        try:
            rows = batch.to_pylist()
        except UnicodeDecodeError:
            rows = None
        if rows is not None:
            for data in rows:
                yield row, data
                row += 1
            continue
        for offset in range(batch.num_rows):
            single = batch.slice(offset, 1)
            try:
                yield row, single.to_pylist()[0]
            except UnicodeDecodeError:
                yield row, Quarantined(str(path), row, _bad_utf8_column(single), "")
            row += 1


def _bad_utf8_column(single) -> str:
    for name in single.schema.names:
        try:
            single.column(name).to_pylist()
        except UnicodeDecodeError as error:
            return f"invalid UTF-8 in column {name!r} at byte {error.start}"
    return "invalid UTF-8"


def _read_parquet(path: Path, text_field: str, default_doc_type: str | None, report: ReadReport) -> Iterator[Document]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises several types for broken files
        raise CorpusReadError(f"{path}: cannot read Parquet: {error}") from error
    if text_field not in table.column_names:
        raise CorpusReadError(f"{path}: no column {text_field!r} (columns: {', '.join(table.column_names)})")
    for row, data in _parquet_rows(path, table):
        if isinstance(data, Quarantined):
            report.quarantined.append(data)
            continue
        text = data.get(text_field)
        if not isinstance(text, str):
            report.quarantined.append(
                Quarantined(str(path), row, f"text column {text_field!r} is {type(text).__name__}, not a string", "")
            )
            continue
        report.documents += 1
        yield _document(data, text, f"{path.name}:{row}", default_doc_type)


def read_documents(
    inputs: list[str | Path],
    text_field: str = "text",
    default_doc_type: str | None = None,
    report: ReadReport | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    file_errors: str = "raise",
    invalid_unicode: str = "quarantine",
) -> Iterator[Document]:
    """Every good document of `inputs` in file order; bad records go to `report.quarantined`.

    file_errors="quarantine" turns a file that cannot be read to the end (truncated or corrupt
    compression, unreadable Parquet) into one quarantined entry naming the file and the line
    reached, after the documents read before it, and goes on with the next file.
    invalid_unicode="replace" keeps a JSONL record holding lone surrogates (`"\\ud800"`) with
    each replaced by U+FFFD, counted in `report.repaired_*`; "quarantine" (the default) rejects it.
    """
    if file_errors not in ("raise", "quarantine"):
        raise ValueError(f"file_errors must be 'raise' or 'quarantine', got {file_errors!r}")
    if invalid_unicode not in INVALID_UNICODE_MODES:
        raise ValueError(f"invalid_unicode must be one of {INVALID_UNICODE_MODES}, got {invalid_unicode!r}")
    report = report if report is not None else ReadReport()
    for path in expand(inputs):
        report.files.append(str(path))
        blank: list[int] = []
        last_line = 0
        try:
            if path.name.endswith(PARQUET_SUFFIXES):
                yield from _read_parquet(path, text_field, default_doc_type, report)
                continue
            for item in read_records(
                path,
                text_field=text_field,
                max_record_bytes=max_record_bytes,
                blank_lines=blank,
                invalid_unicode=invalid_unicode,
            ):
                last_line = item.line
                if isinstance(item, Quarantined):
                    report.quarantined.append(item)
                    continue
                assert isinstance(item, Record)
                report.documents += 1
                if item.repaired:
                    report.repaired_records += 1
                    report.repaired_characters += item.repaired
                yield _document(item.data, item.text, f"{path.name}:{item.line}", default_doc_type)
        except CorpusReadError as error:
            if file_errors == "raise":
                raise
            report.quarantined.append(Quarantined(str(path), last_line + 1, f"unreadable from here on: {error}", ""))
        finally:
            report.blank_lines += len(blank)
