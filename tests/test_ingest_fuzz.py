"""Bad input never stops a build: property-based fuzz of the JSONL readers, the ingest stage and
(with very few examples) the whole build, on files of random lines: good records, texts of any
code point (control characters, NUL, lone surrogate escapes, 1 MB+, empty), non-objects,
invalid or truncated JSON, invalid UTF-8, UTF-16 and latin-1 lines, byte order marks, CRLF, and
missing or non-string text fields.

Deterministic (derandomize, no example database) so CI sees the same examples every run.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from medtitan.data.build_config import load_build_config
from medtitan.data.documents import ReadReport, read_documents
from medtitan.data.jsonl import Quarantined, Record, read_records
from medtitan.data.stages import ingest
from medtitan.data.workspace import Workspace, read_jsonl
from tests.build_helpers import write_config

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
MODES = ("quarantine", "replace")
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
GOOD_TEXT = (
    "Patient seen in clinic for follow up of hypertension and type 2 diabetes; blood pressure "
    "improved on lisinopril, glucose logs reviewed, diet discussed, return in three months. "
)

# Any code point, surrogates, controls and NUL included (text() leaves surrogates out by default).
any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
control_char = st.sampled_from([chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]])
huge_texts = st.builds(
    lambda n, tail: (GOOD_TEXT * (n // len(GOOD_TEXT) + 1))[:n] + tail,
    st.integers(1_000_000, 1_100_000),
    st.sampled_from(["", "\ud800", "\x00"]),
)  # 1 MB+
texts = st.one_of(
    st.text(any_char, max_size=40),
    st.text(st.one_of(control_char, st.sampled_from(SURROGATES + ["\x00", "\u2028", "\ufeff", "a", " "])), max_size=20),
    st.just(""),
    huge_texts,
    st.builds(lambda k: (GOOD_TEXT * k).strip(), st.integers(1, 3)),
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(any_char, max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(any_char, max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def records(draw) -> dict:
    """A JSON object: usually with a string text field, sometimes without one or with another type."""
    record = {}
    if draw(st.booleans()):
        record["id"] = draw(st.one_of(st.text(any_char, max_size=8), st.integers(), json_values))
    if draw(st.integers(0, 9)) == 0:
        record["meta"] = {"group": draw(json_values)}
    kind = draw(st.integers(0, 9))
    if kind < 7:
        record["text"] = draw(texts)
    elif kind < 9:
        record["text"] = draw(json_values.filter(lambda v: not isinstance(v, str)))
    if draw(st.booleans()):
        record[draw(st.text(any_char, max_size=5))] = draw(json_values)
    return record


def _encode(value, how: str) -> bytes:
    """How a (possibly broken) exporter might have written one JSON value."""
    if how == "ascii":  # lone surrogates become legal \udxxx escapes
        return json.dumps(value).encode()
    text = json.dumps(value, ensure_ascii=False)
    if how == "utf-8":  # a lone surrogate becomes bytes no UTF-8 decoder accepts
        return text.encode("utf-8", errors="surrogatepass")
    return text.encode(how, errors="replace" if how == "latin-1" else "surrogatepass")


lines = st.one_of(
    st.builds(_encode, records(), st.sampled_from(["ascii", "ascii", "ascii", "utf-8", "utf-16", "latin-1"])),
    st.builds(
        lambda text: json.dumps({"text": text}).encode(),
        st.text(st.sampled_from(SURROGATES + ["x", "\\"]), min_size=1, max_size=6),
    ),
    st.builds(lambda text: json.dumps({"id": "huge", "text": text}).encode(), huge_texts),
    st.builds(lambda value: json.dumps(value).encode(), json_values),  # often not an object
    st.builds(lambda r, cut: json.dumps(r).encode()[:cut], records(), st.integers(0, 30)),  # truncated
    st.binary(max_size=40),  # invalid UTF-8, stray \r, ...
    st.sampled_from(
        [
            b"",
            b"   ",
            b"\t",
            b"{",
            b"}",
            b"null",
            b'"text"',
            b"\xef\xbb\xbf" + b'{"text": "bom"}',
            b"1" * 5000,
            b'{"text": "deep", "id": ' + b"[" * 3000 + b"]" * 3000 + b"}",
            b'{"text": "x", "n": NaN}',
        ]
    ),
)


class Corpus(bytes):
    """A generated file; printed short when a failing example holds a 1 MB line (derandomize
    makes it reproducible by running the test again)."""

    def __repr__(self) -> str:
        full = bytes.__repr__(self)
        return full if len(full) <= 2000 else f"Corpus({full[:900]} ... {full[-900:]}, {len(self):,} bytes)"


@st.composite
def corpora(draw) -> bytes:
    """A whole file: random lines, LF or CRLF (or both), maybe a BOM, maybe no final newline."""
    body = draw(st.lists(lines, min_size=1, max_size=12))
    ends = draw(st.sampled_from([[b"\n"], [b"\r\n"], [b"\n", b"\r\n"]]))
    data = b"".join(line + draw(st.sampled_from(ends)) for line in body)
    if draw(st.booleans()):
        data = data.rstrip(b"\r\n")
    return Corpus((b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + data)


def physical_lines(data: bytes) -> int:
    """Lines as a line reader sees them: a final line without its newline still counts."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def assert_encodable(value) -> None:
    """What downstream does to every string a reader hands on: UTF-8, and JSON of it."""
    json.dumps(value, ensure_ascii=False).encode("utf-8")


@settings(FUZZ, max_examples=150)
@given(data=corpora(), mode=st.sampled_from(MODES))
def test_every_line_is_a_record_a_quarantine_or_a_blank(data, mode):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.jsonl"
        path.write_bytes(data)
        blank: list[int] = []
        items = list(read_records(path, blank_lines=blank, invalid_unicode=mode))
        numbers = [item.line for item in items] + blank
        for item in items:  # what the examples covered: --hypothesis-show-statistics
            event(
                re.sub(r"\d+", "N", item.reason.split(":")[0])
                if isinstance(item, Quarantined)
                else "record over 1 MB"
                if len(item.text) > 1_000_000
                else "record"
            )
        assert sorted(numbers) == list(range(1, physical_lines(data) + 1))  # each line exactly once
        for item in items:
            assert item.path == str(path)
            if isinstance(item, Quarantined):
                assert item.reason and len(item.sha256) == 64
                assert_encodable(item.to_json(include_raw=True))
            else:
                assert isinstance(item, Record) and isinstance(item.text, str)
                assert_encodable(item.data)
                assert item.text == item.data["text"]
                assert (item.repaired > 0) <= (mode == "replace")
        report = ReadReport()
        documents = list(read_documents([path], report=report, file_errors="quarantine", invalid_unicode=mode))
        assert report.documents == len(documents) == sum(isinstance(i, Record) for i in items)
        assert len(documents) + len(report.quarantined) + report.blank_lines == physical_lines(data)
        assert report.repaired_records == sum(1 for i in items if isinstance(i, Record) and i.repaired)
        for document in documents:
            assert_encodable([document.id, document.doc_type, document.group, document.text])


def run_ingest(folder: Path, files: list[Path], mode: str) -> tuple[dict, Workspace]:
    """The ingest stage alone, as the build driver runs it (it needs no tokenizer)."""
    config = write_config(
        folder / "fuzz.toml",
        folder / "unused.model",
        [(f"s{i}", [file], "notes", 1.0) for i, file in enumerate(files)],
        partition_docs=3,
        invalid_unicode=mode,
    )
    driver = SimpleNamespace(
        config=load_build_config(config), work=Workspace(folder / "build"), log=lambda message: None
    )
    return ingest.run(driver, {}), driver.work


@settings(FUZZ, max_examples=40)
@given(files=st.lists(corpora(), min_size=1, max_size=3), mode=st.sampled_from(MODES))
def test_ingest_accounts_for_every_line_and_writes_what_it_reads(files, mode):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        paths = []
        for i, data in enumerate(files):
            paths.append(folder / f"f{i}.jsonl")
            paths[-1].write_bytes(data)
        result, work = run_ingest(folder, paths, mode)
        assert result["in"] == result["kept"] + result["removed"] + result["quarantined"] and result["removed"] == 0
        assert result["kept"] + result["quarantined"] + result["blank_lines"] == sum(map(physical_lines, files))
        partitions = [read_jsonl(work.part("ingest", i)) for i in range(result["partitions"])]  # strict UTF-8
        assert sum(map(len, partitions)) == result["kept"]
        quarantine = read_jsonl(work.stage("ingest") / "quarantine.jsonl")
        assert len(quarantine) == result["quarantined"]
        for entry in quarantine:
            assert entry["path"] in map(str, paths)
            assert 1 <= entry["line"] <= physical_lines(files[[str(p) for p in paths].index(entry["path"])])
            assert entry["reason"]
        assert ("repaired" in result) == (mode == "replace")
        if mode == "replace":
            assert result["repaired"]["lone_surrogates"] >= result["repaired"]["records"]
            assert not any(q["reason"].startswith("invalid text") for q in quarantine)


@settings(FUZZ, max_examples=6)
@given(data=corpora(), mode=st.sampled_from(MODES))
def test_the_whole_build_survives_and_its_counts_add_up(demo_tokenizer_dir, data, mode):
    """Random lines among good records (so every stage has work): the build finishes, and every
    stage of report.json accounts for what it received."""
    from medtitan.data.build import build

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "fuzz.jsonl").write_bytes(data)
        good = "".join(json.dumps({"id": f"g{i}", "text": f"{GOOD_TEXT * 3} Visit {i}."}) + "\n" for i in range(30))
        (folder / "good.jsonl").write_text(good + json.dumps({"id": "bad", "text": "a\ud800b " + GOOD_TEXT * 3}) + "\n")
        config = write_config(
            folder / "build.toml",
            demo_tokenizer_dir / "tokenizer.model",
            [("fuzz", [folder / "fuzz.jsonl"], "notes", 1.0), ("good", [folder / "good.jsonl"], "notes", 1.0)],
            validation_tokens=200,
            invalid_unicode=mode,
        )
        report = build(load_build_config(config), progress=False)
        previous_kept = None
        for name, stage in report["stages"].items():
            assert stage["in"] == stage["kept"] + stage["removed"] + stage["quarantined"], name
            if previous_kept is not None:
                assert stage["in"] == previous_kept, name
            previous_kept = stage["kept"]
        assert report["stages"] == json.loads((folder / "build" / "report.json").read_text())["stages"]
        assert report["stages"]["ingest"]["in"] == 31 + physical_lines(data) - _blank_lines(folder / "fuzz.jsonl")
        quarantine = read_jsonl(folder / "build" / "quarantine.jsonl")
        assert all(q["path"] and q["line"] >= 1 for q in quarantine)
        good_line = [q for q in quarantine if q["path"].endswith("good.jsonl")]
        assert len(good_line) == (1 if mode == "quarantine" else 0)


def _blank_lines(path: Path) -> int:
    blank: list[int] = []
    list(read_records(path, blank_lines=blank))
    return len(blank)
