"""Reading JSONL corpora (plain, .gz, .zst) without losing a record silently.

Every line of a file comes out as exactly one of: a `Record` (a JSON object with a string text
field) or a `Quarantined` (where it was, why it was rejected, the start of the raw line and the
sha256 of the whole line). Blank lines are counted, not returned. A file that cannot be opened
or decompressed raises `CorpusReadError` naming the file and the line reached.

Valid UTF-8 can still decode to a string nothing downstream accepts: a `\ud800` escape is legal
JSON but gives a lone surrogate, which UTF-8 cannot encode and pyo3 refuses. Such a record is
quarantined ("invalid text: ..."), or repaired (each lone surrogate -> U+FFFD) with
`invalid_unicode="replace"`; either way no later write or Rust call meets one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst")
# A single document larger than this is almost certainly a broken export (a whole table in
# one field); it is quarantined rather than allowed to blow up downstream memory.
DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024
RAW_PREVIEW_CHARS = 200
INVALID_UNICODE_MODES = ("quarantine", "replace")
UTF8_BOM = b"\xef\xbb\xbf"
# Only a \uD800-\uDFFF escape can put a surrogate into what valid UTF-8 decodes to: lines
# without one (all but a few) skip the scan of every string. This literal-prefix regex runs at
# ~2 GB/s, faster than `in` tests here. An escaped backslash before "u" matches too; the scan
# then finds nothing.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# json.loads joins a valid high + low pair into one character, so every one left is lone.
_SURROGATE = re.compile("[\ud800-\udfff]")


class CorpusReadError(Exception):
    """A corpus file that cannot be read at all (missing, unreadable, corrupt compression)."""


@dataclass(frozen=True)
class Record:
    path: str
    line: int
    data: dict
    text: str
    repaired: int = 0  # lone surrogates replaced by U+FFFD (invalid_unicode="replace")


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
    return raw[: RAW_PREVIEW_CHARS * 4].decode("utf-8", errors="replace")[:RAW_PREVIEW_CHARS]


def _quarantined(raw: bytes, path: str, line: int, reason: str) -> Quarantined:
    # The hash identifies the line without its text (what a release may carry, see
    # medtitan/data/private.py); the preview is raw text, for private use only.
    return Quarantined(path, line, reason, _preview(raw), hashlib.sha256(raw).hexdigest())


def _strings(data) -> Iterator[str]:
    """Every key and string value of a decoded record, iteratively (a record nested near the
    recursion limit must not overflow here)."""
    stack = [data]
    while stack:
        node = stack.pop()
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(key, str):
                yield key
            if isinstance(value, str):
                yield value
            elif isinstance(value, (dict, list)):
                stack.append(value)


def _repair(data) -> int:
    """Replace every lone surrogate in `data` (keys and values, in place) by U+FFFD; returns
    how many were replaced."""
    replaced = 0
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items = list(node.items())
            node.clear()  # rebuilt in order: a key may change
        else:
            items = list(enumerate(node))
        for key, value in items:
            if isinstance(key, str):
                key, count = _SURROGATE.subn("\ufffd", key)
                replaced += count
            if isinstance(value, str):
                value, count = _SURROGATE.subn("\ufffd", value)
                replaced += count
            elif isinstance(value, (dict, list)):
                stack.append(value)
            node[key] = value
    return replaced


def lone_surrogate_reason(text: str) -> str | None:
    """ "invalid text: lone surrogate U+D800 at character 12" for the first one in `text`
    (and how many in all), or None when there is none."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    total = len(_SURROGATE.findall(text))
    more = f" ({total:,} in all)" if total > 1 else ""
    return f"invalid text: lone surrogate U+{ord(found.group()):04X} at character {found.start()}{more}"


def _unicode_problem(data: dict, text_field: str) -> str | None:
    """Why the decoded record cannot be written as UTF-8, or None. Names the text field's
    position; elsewhere only says where, never a field's content (the reason is released)."""
    reason = lone_surrogate_reason(data[text_field])
    if reason is not None:
        return reason
    for string in _strings(data):
        found = _SURROGATE.search(string)
        if found is not None:
            return (
                f"invalid text: lone surrogate U+{ord(found.group()):04X} outside the text field "
                f"{text_field!r} (in another field's name or value)"
            )
    return None


def classify_line(
    raw: bytes,
    path: str,
    line: int,
    text_field: str,
    max_record_bytes: int,
    invalid_unicode: str = "quarantine",
) -> Record | Quarantined:
    """Turn one raw line into a Record or a Quarantined with the reason.

    invalid_unicode: "quarantine" a record holding a lone surrogate anywhere (text, other
    fields, keys), or "replace" each by U+FFFD and count them in `Record.repaired`.
    """
    if len(raw) > max_record_bytes:
        return _quarantined(
            raw, path, line, f"record of {len(raw):,} bytes exceeds the {max_record_bytes:,}-byte limit"
        )
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return _quarantined(raw, path, line, f"invalid UTF-8 at byte {error.start}")
    try:
        data = json.loads(decoded)
    except json.JSONDecodeError as error:
        return _quarantined(raw, path, line, f"malformed JSON: {error.msg.removesuffix(' at')} at column {error.colno}")
    except RecursionError:
        return _quarantined(raw, path, line, "malformed JSON: nested too deeply")
    except ValueError as error:  # an integer of more digits than int() accepts (sys.get_int_max_str_digits)
        return _quarantined(raw, path, line, f"malformed JSON: {str(error).split(';')[0]}")
    if not isinstance(data, dict):
        return _quarantined(raw, path, line, f"not a JSON object (a {type(data).__name__})")
    if text_field not in data:
        return _quarantined(raw, path, line, f"missing text field {text_field!r}")
    text = data[text_field]
    if not isinstance(text, str):
        return _quarantined(raw, path, line, f"text field {text_field!r} is a {type(text).__name__}, not a string")
    if _SURROGATE_ESCAPE.search(raw) is None:
        return Record(path, line, data, text)
    if invalid_unicode == "replace":
        repaired = _repair(data)
        text = data.get(text_field)
        if not isinstance(text, str):  # a repaired key now equal to text_field took its place
            return _quarantined(
                raw, path, line, f"text field {text_field!r} is ambiguous once lone surrogates are replaced"
            )
        return Record(path, line, data, text, repaired)
    reason = _unicode_problem(data, text_field)
    if reason is not None:
        return _quarantined(raw, path, line, reason)
    return Record(path, line, data, text)


def read_records(
    path: str | Path,
    text_field: str = "text",
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    blank_lines: list[int] | None = None,
    invalid_unicode: str = "quarantine",
) -> Iterator[Record | Quarantined]:
    """Every non-blank line of `path` as a Record or a Quarantined, in file order.

    Line numbers of blank lines are appended to `blank_lines` when it is given. A UTF-8 byte
    order mark opening the file (what some Windows tools write) is skipped.
    """
    if invalid_unicode not in INVALID_UNICODE_MODES:
        raise ValueError(f"invalid_unicode must be one of {INVALID_UNICODE_MODES}, got {invalid_unicode!r}")
    path = Path(path)
    line = 0
    try:
        with _open_binary(path) as stream:
            for line, raw in enumerate(stream, 1):
                raw = raw.rstrip(b"\r\n")
                if line == 1 and raw.startswith(UTF8_BOM):
                    raw = raw[len(UTF8_BOM) :]
                if not raw.strip():
                    if blank_lines is not None:
                        blank_lines.append(line)
                    continue
                yield classify_line(raw, str(path), line, text_field, max_record_bytes, invalid_unicode)
    except FileNotFoundError as error:
        raise CorpusReadError(f"{path}: no such file") from error
    except (OSError, EOFError) as error:
        # gzip/zstd corruption and truncation surface here, after the lines already yielded.
        raise CorpusReadError(f"{path}: cannot read past line {line}: {error}") from error
    except Exception as error:  # zstandard raises its own ZstdError
        if type(error).__name__ == "ZstdError":
            raise CorpusReadError(f"{path}: corrupt zstd data after line {line}: {error}") from error
        raise
