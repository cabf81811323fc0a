"""Reading JSONL corpora (plain, .gz, .zst) without losing a record silently.

Every line of a file comes out as exactly one of: a `Record` (a JSON object with a string text
field) or a `Quarantined` (where it was, why it was rejected, the start of the raw line and the
sha256 of the whole line). Blank lines are counted, not returned. A file that cannot be opened
or decompressed raises `CorpusReadError` naming the file and the line reached.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst")
# A single document larger than this is almost certainly a broken export (a whole table in
# one field); it is quarantined rather than allowed to blow up downstream memory.
DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024
RAW_PREVIEW_CHARS = 200


class CorpusReadError(Exception):
    """A corpus file that cannot be read at all (missing, unreadable, corrupt compression)."""


@dataclass(frozen=True)
class Record:
    path: str
    line: int
    data: dict
    text: str


@dataclass(frozen=True)
class Quarantined:
    path: str
    line: int
    reason: str
    raw: str
    sha256: str = ""  # of the whole raw line (without its line break); "" when there is no line

    def to_json(self, include_raw: bool = False) -> dict:
        """Where, why and the line's hash; the raw start only with `include_raw` (it may hold PHI:
        only the build's private folder keeps it, never a report that ships)."""
        entry = {"path": self.path, "line": self.line, "reason": self.reason, "sha256": self.sha256}
        return entry | {"raw": self.raw} if include_raw else entry


def _open_binary(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.name.endswith(".zst"):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")


def _preview(raw: bytes) -> str:
    return raw[:RAW_PREVIEW_CHARS * 4].decode("utf-8", errors="replace")[:RAW_PREVIEW_CHARS]


def _quarantined(raw: bytes, path: str, line: int, reason: str) -> Quarantined:
    # The hash identifies the line without its text (what a release may carry, see
    # medtitan/data/private.py); the preview is raw text, for private use only.
    return Quarantined(path, line, reason, _preview(raw), hashlib.sha256(raw).hexdigest())


def classify_line(
    raw: bytes, path: str, line: int, text_field: str, max_record_bytes: int
) -> Record | Quarantined:
    """Turn one raw line into a Record or a Quarantined with the reason."""
    if len(raw) > max_record_bytes:
        return _quarantined(raw, path, line, f"record of {len(raw):,} bytes exceeds the {max_record_bytes:,}-byte limit")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return _quarantined(raw, path, line, f"invalid UTF-8 at byte {error.start}")
    try:
        data = json.loads(decoded)
    except json.JSONDecodeError as error:
        return _quarantined(raw, path, line, f"malformed JSON: {error.msg} at column {error.colno}")
    if not isinstance(data, dict):
        return _quarantined(raw, path, line, f"not a JSON object (a {type(data).__name__})")
    if text_field not in data:
        return _quarantined(raw, path, line, f"missing text field {text_field!r}")
    text = data[text_field]
    if not isinstance(text, str):
        return _quarantined(raw, path, line, f"text field {text_field!r} is a {type(text).__name__}, not a string")
    return Record(path, line, data, text)


def read_records(
    path: str | Path,
    text_field: str = "text",
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    blank_lines: list[int] | None = None,
) -> Iterator[Record | Quarantined]:
    """Every non-blank line of `path` as a Record or a Quarantined, in file order.

    Line numbers of blank lines are appended to `blank_lines` when it is given.
    """
    path = Path(path)
    line = 0
    try:
        with _open_binary(path) as stream:
            for line, raw in enumerate(stream, 1):
                raw = raw.rstrip(b"\r\n")
                if not raw.strip():
                    if blank_lines is not None:
                        blank_lines.append(line)
                    continue
                yield classify_line(raw, str(path), line, text_field, max_record_bytes)
    except FileNotFoundError as error:
        raise CorpusReadError(f"{path}: no such file") from error
    except (OSError, EOFError) as error:
        # gzip/zstd corruption and truncation surface here, after the lines already yielded.
        raise CorpusReadError(f"{path}: cannot read past line {line}: {error}") from error
    except Exception as error:  # zstandard raises its own ZstdError
        if type(error).__name__ == "ZstdError":
            raise CorpusReadError(f"{path}: corrupt zstd data after line {line}: {error}") from error
        raise
