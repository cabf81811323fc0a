"""Bad input never crashes silently or loses a record: readers and `medtitan-data stats`."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from medtitan.data.documents import expand
from medtitan.data.jsonl import CorpusReadError, Quarantined, Record, read_records
from medtitan.data.stats import corpus_stats, format_table

GOOD = [
    {
        "id": "a",
        "doc_type": "clinical_notes",
        "text": "Chest pain for two days, worse with exertion and relieved by rest today.",
    },
    {
        "id": "b",
        "doc_type": "clinical_notes",
        "text": "CHEST pain for two days,  worse with exertion and relieved by rest today.",
    },
    {
        "id": "c",
        "doc_type": "radiology",
        "text": "Lungs clear. No pleural effusion or pneumothorax. Heart size normal today.",
    },
    {
        "id": "d",
        "doc_type": "radiology",
        "text": "Lungs clear. No pleural effusion or pneumothorax. Heart size normal today!",
    },
    {"id": "e", "text": "A record without a doc_type is still counted, under its own row."},
]
BAD_LINES = [
    (b'{"id": "x", "text": "unterminated', "malformed JSON: Unterminated string starting at column 21"),
    (b'["a", "list"]', "not a JSON object (a list)"),
    (b'{"id": "y", "body": "no text field"}', "missing text field 'text'"),
    (b'{"id": "z", "text": 42}', "text field 'text' is a int, not a string"),
    (b'{"id": "w", "text": "caf\xe9"}', "invalid UTF-8 at byte"),
]


def write_mixed_file(path: Path) -> int:
    """GOOD records, BAD_LINES and two blank lines, interleaved; returns the number of lines."""
    lines = [json.dumps(r).encode() for r in GOOD[:2]] + [BAD_LINES[0][0], b""]
    lines += [json.dumps(r).encode() for r in GOOD[2:]] + [raw for raw, _ in BAD_LINES[1:]] + [b"   "]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return len(lines)


def test_every_line_is_a_record_a_quarantine_or_a_counted_blank(tmp_path):
    path = tmp_path / "mixed.jsonl"
    total_lines = write_mixed_file(path)
    blank: list[int] = []
    items = list(read_records(path, blank_lines=blank))
    records = [i for i in items if isinstance(i, Record)]
    quarantined = [i for i in items if isinstance(i, Quarantined)]
    assert len(records) + len(quarantined) + len(blank) == total_lines
    assert [r.data["id"] for r in records] == [r["id"] for r in GOOD]
    assert blank == [4, total_lines]
    for item, (_, reason) in zip(quarantined, BAD_LINES, strict=True):
        assert item.path == str(path) and reason in item.reason
    assert quarantined[0].line == 3


def test_oversized_records_are_quarantined_not_loaded(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"text": "x" * 5000}) + "\n" + json.dumps({"text": "ok"}) + "\n")
    items = list(read_records(path, max_record_bytes=1000))
    assert isinstance(items[0], Quarantined) and "exceeds the 1,000-byte limit" in items[0].reason
    assert isinstance(items[1], Record) and items[1].text == "ok"


def test_gzip_and_zstd_read_the_same_records(tmp_path):
    payload = "".join(json.dumps(r) + "\n" for r in GOOD).encode()
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(payload))
    (tmp_path / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(payload))
    (tmp_path / "c.jsonl").write_bytes(payload)
    texts = {name: [r.text for r in read_records(tmp_path / name)] for name in ("c.jsonl", "c.jsonl.gz", "c.jsonl.zst")}
    assert texts["c.jsonl"] == texts["c.jsonl.gz"] == texts["c.jsonl.zst"] == [r["text"] for r in GOOD]


def test_truncated_gzip_raises_an_error_naming_the_file(tmp_path):
    payload = gzip.compress(("".join(json.dumps(r) + "\n" for r in GOOD) * 200).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(CorpusReadError, match="cut.jsonl.gz"):
        list(read_records(path))


def test_missing_inputs_are_named(tmp_path):
    with pytest.raises(CorpusReadError, match="nowhere.jsonl: no such file"):
        expand([tmp_path / "nowhere.jsonl"])
    with pytest.raises(CorpusReadError, match="holds no"):
        expand([tmp_path])


def test_stats_counts_duplicates_and_quarantine(tmp_path):
    write_mixed_file(tmp_path / "mixed.jsonl")
    stats = corpus_stats([tmp_path], near_duplicates=True, threshold=0.5, progress=False)
    assert stats.documents == len(GOOD)
    assert len(stats.quarantined) == len(BAD_LINES) and stats.blank_lines == 2
    notes, radiology = stats.by_doc_type["clinical_notes"], stats.by_doc_type["radiology"]
    assert notes.documents == 2 and notes.exact_duplicates == 1  # b is a re-cased, re-spaced a
    assert radiology.exact_duplicates == 0 and radiology.near_duplicate_pairs == 1  # c ~ d
    assert {(a, b) for a, b, _ in stats.near_duplicate_pairs} == {("a", "b"), ("c", "d")}
    assert notes.words == len(GOOD[0]["text"].split()) + len(GOOD[1]["text"].split())
    assert stats.by_doc_type["(no doc_type)"].documents == 1
    table = format_table(stats)
    assert "quarantined records: 5; blank lines: 2" in table and "mixed.jsonl:3: malformed JSON" in table


def run_cli(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("medtitan-data")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120)


def test_stats_cli_prints_the_table_and_writes_json(tmp_path):
    write_mixed_file(tmp_path / "mixed.jsonl")
    out = tmp_path / "report" / "stats.json"
    result = run_cli("stats", str(tmp_path / "mixed.jsonl"), "--near-duplicates", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "clinical_notes" in result.stdout and "total" in result.stdout
    report = json.loads(out.read_text())
    assert report["documents"] == 5 and report["quarantined"] == 5
    assert len(report["quarantined_records"]) == 5


def test_stats_cli_reports_bad_paths_and_options_without_a_traceback(tmp_path):
    missing = run_cli("stats", str(tmp_path / "absent.jsonl"))
    assert missing.returncode == 2 and "absent.jsonl: no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    (tmp_path / "ok.jsonl").write_text(json.dumps(GOOD[0]) + "\n")
    bad_threshold = run_cli("stats", str(tmp_path / "ok.jsonl"), "--near-duplicates", "--threshold", "2")
    assert bad_threshold.returncode == 2 and "threshold must be in (0, 1]" in bad_threshold.stderr


def test_medtitan_info_reports_the_rust_core(tmp_path):
    script = Path(sys.executable).with_name("medtitan")
    result = subprocess.run([str(script), "info"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "rust core" in result.stdout and "_core.abi3" in result.stdout, result.stdout


def test_parquet_documents_are_read_and_bad_rows_quarantined(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from medtitan.data.documents import ReadReport, read_documents

    table = pa.table(
        {
            "id": ["p1", "p2", "p3"],
            "doc_type": ["radiology", "radiology", None],
            "body": ["Lungs are clear.", None, "No effusion."],
        }
    )
    pq.write_table(table, tmp_path / "reports.parquet")
    report = ReadReport()
    documents = list(read_documents([tmp_path], text_field="body", report=report))
    assert [(d.id, d.doc_type, d.text) for d in documents] == [
        ("p1", "radiology", "Lungs are clear."),
        ("p3", "(no doc_type)", "No effusion."),
    ]
    assert [(q.line, q.reason) for q in report.quarantined] == [(1, "text column 'body' is NoneType, not a string")]
    with pytest.raises(CorpusReadError, match="reports.parquet: no column 'text'"):
        list(read_documents([tmp_path / "reports.parquet"]))
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(CorpusReadError, match="broken.parquet: cannot read Parquet"):
        list(read_documents([tmp_path / "broken.parquet"]))


# --- text no UTF-8 writer accepts (issue 15, item 6) and what the fuzz of test_ingest_fuzz.py found ---

SURROGATE_LINES = [
    b'{"id": "s1", "text": "abc\\ud800def"}',  # a lone high surrogate in the text
    b'{"id": "\\udc00", "text": "the text is fine"}',  # a lone low surrogate in another field
    b'{"text": "fine", "meta": {"k\\udfff": 1}}',  # ... in a nested key
    b'{"id": "p", "text": "a pair \\ud83d\\ude00 is one character"}',  # valid: kept as it is
    b'{"id": "e", "text": "an escaped backslash: \\\\ud800"}',  # the text "\ud800", six characters: kept
]


def test_lone_surrogates_are_quarantined_with_file_line_and_reason(tmp_path):
    path = tmp_path / "scraped.jsonl"
    path.write_bytes(b"\n".join(SURROGATE_LINES) + b"\n")
    items = list(read_records(path))
    assert [(i.line, i.reason) for i in items if isinstance(i, Quarantined)] == [
        (1, "invalid text: lone surrogate U+D800 at character 3"),
        (2, "invalid text: lone surrogate U+DC00 outside the text field 'text' (in another field's name or value)"),
        (3, "invalid text: lone surrogate U+DFFF outside the text field 'text' (in another field's name or value)"),
    ]
    assert [i.text for i in items if isinstance(i, Record)] == [
        "a pair \U0001f600 is one character",
        "an escaped backslash: \\ud800",
    ]
    path.write_bytes(b'{"text": "\\udbff x \\udc01 y \\ud800"}\n')
    assert next(read_records(path)).reason == "invalid text: lone surrogate U+DBFF at character 0 (3 in all)"


def test_lone_surrogates_are_replaced_and_counted_when_asked(tmp_path):
    from medtitan.data.documents import ReadReport, read_documents

    path = tmp_path / "scraped.jsonl"
    path.write_bytes(b"\n".join(SURROGATE_LINES) + b"\n")
    report = ReadReport()
    documents = list(read_documents([path], report=report, invalid_unicode="replace"))
    assert [(d.id, d.text) for d in documents] == [
        ("s1", "abc\ufffddef"),
        ("\ufffd", "the text is fine"),
        ("scraped.jsonl:3", "fine"),
        ("p", "a pair \U0001f600 is one character"),
        ("e", "an escaped backslash: \\ud800"),
    ]
    assert report.quarantined == [] and (report.repaired_records, report.repaired_characters) == (3, 3)
    with pytest.raises(ValueError, match="invalid_unicode"):
        list(read_documents([path], invalid_unicode="ignore"))


def test_json_beyond_the_decoders_limits_is_quarantined_not_raised(tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_bytes(b'{"text": "x", "n": ' + b"1" * 5000 + b"}\n" + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    reasons = [item.reason for item in read_records(path)]
    assert reasons[0].startswith("malformed JSON: Exceeds the limit (4300 digits)")
    assert reasons[1] == "malformed JSON: nested too deeply"


def test_a_byte_order_mark_opening_a_file_is_skipped(tmp_path):
    path = tmp_path / "windows.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "first"}\r\n\xef\xbb\xbf{"text": "second"}\r\n')
    first, second = read_records(path)
    assert isinstance(first, Record) and first.text == "first"
    assert isinstance(second, Quarantined) and second.line == 2 and "BOM" in second.reason


def test_parquet_rows_with_invalid_utf8_are_quarantined(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from medtitan.data.documents import ReadReport, read_documents

    # pyarrow validates what it builds itself, not what other writers put in a file.
    raw = pa.array([b"Lungs are clear.", b"caf\xe9 au lait", b"No effusion."], pa.binary())
    text = pa.Array.from_buffers(pa.string(), 3, raw.buffers())
    pq.write_table(pa.table({"id": ["p1", "p2", "p3"], "text": text}), tmp_path / "exported.parquet")
    report = ReadReport()
    documents = list(read_documents([tmp_path / "exported.parquet"], report=report))
    assert [d.id for d in documents] == ["p1", "p3"]
    assert [(q.line, q.reason) for q in report.quarantined] == [(1, "invalid UTF-8 in column 'text' at byte 3")]


def test_deid_and_stats_clis_quarantine_lone_surrogates(tmp_path):
    path = tmp_path / "scraped.jsonl"
    path.write_bytes(b"\n".join(SURROGATE_LINES) + b"\n")
    deid = run_cli("deid", str(path), "--output", str(tmp_path / "clean"))
    assert deid.returncode == 0, deid.stderr
    assert "scraped.jsonl:1: invalid text: lone surrogate U+D800 at character 3" in deid.stdout + deid.stderr
    assert len((tmp_path / "clean" / "scraped.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    stats = run_cli("stats", str(path))
    assert stats.returncode == 0, stats.stderr
    assert "quarantined records: 3" in stats.stdout


def test_the_invalid_unicode_setting_is_validated_and_fingerprinted(tmp_path):
    from medtitan.data.build_config import ConfigError, load_build_config
    from tests.build_helpers import write_config

    (tmp_path / "c.jsonl").write_text('{"text": "x"}\n')
    sources = [("s", [tmp_path / "c.jsonl"], "notes", 1.0)]
    default = load_build_config(write_config(tmp_path / "a.toml", tmp_path / "t.model", sources))
    assert default.build.invalid_unicode == "quarantine" and "invalid_unicode" not in default.to_json()["build"]
    replace = load_build_config(
        write_config(tmp_path / "b.toml", tmp_path / "t.model", sources, invalid_unicode="replace")
    )
    assert replace.to_json()["build"]["invalid_unicode"] == "replace"  # it changes the output
    with pytest.raises(ConfigError, match=r'c.toml: build.invalid_unicode must be "quarantine" or "replace"'):
        load_build_config(write_config(tmp_path / "c.toml", tmp_path / "t.model", sources, invalid_unicode="drop"))


def test_a_build_quarantines_or_repairs_a_lone_surrogate(demo_tokenizer_dir, tmp_path):
    """The report of issue 15: one `"\\ud800"` record stopped the whole build, naming no file."""
    from tests.build_helpers import run_build, write_config
    from tests.conftest import read_jsonl

    text = "Seen today for follow up of hypertension; blood pressure improved on lisinopril. " * 4
    lines = [json.dumps({"id": f"d{i}", "text": f"{text} Visit {i}."}) for i in range(6)]
    lines.insert(2, json.dumps({"id": "bad", "text": "abc\ud800def " + text}))  # json.dumps writes \ud800
    (tmp_path / "scraped.jsonl").write_text("\n".join(lines) + "\n")
    for mode, folder in (("quarantine", "q"), ("replace", "r")):
        config = write_config(
            tmp_path / f"{folder}.toml",
            demo_tokenizer_dir / "tokenizer.model",
            [("web", [tmp_path / "scraped.jsonl"], "notes", 1.0)],
            output=tmp_path / folder,
            validation_tokens=100,
            invalid_unicode=mode,
            keep_work=True,
        )
        result = run_build(config)
        assert result.returncode == 0, result.stderr + result.stdout
        ingest = json.loads((tmp_path / folder / "report.json").read_text())["stages"]["ingest"]
        quarantine = read_jsonl(tmp_path / folder / "quarantine.jsonl")
        if mode == "quarantine":
            assert (ingest["kept"], ingest["quarantined"]) == (6, 1) and "repaired" not in ingest
            assert [(Path(q["path"]).name, q["line"], q["reason"]) for q in quarantine] == [
                ("scraped.jsonl", 3, "invalid text: lone surrogate U+D800 at character 3")
            ]
        else:
            assert (ingest["kept"], ingest["quarantined"], quarantine) == (7, 0, [])
            work = tmp_path / folder / "private" / "work" / "ingest"  # the stage's own result and output
            assert json.loads((work / "DONE.json").read_text())["repaired"] == {"records": 1, "lone_surrogates": 1}
            assert ingest["repaired"] == {"records": 1, "lone_surrogates": 1}  # and in the released report
            assert read_jsonl(work / "part-00000.jsonl")[2]["text"].startswith("abc\ufffddef ")
