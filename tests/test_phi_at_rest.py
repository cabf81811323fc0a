"""PHI at rest in a build output: raw (not yet de-identified) text lives only in OUTPUT/private/
(0700 folders, 0600 files, never in the manifest); nothing released holds a planted PHI string;
a bad record reaches the released quarantine as file, line, reason and hash; a successful build
removes its work copies unless `[build] keep_work`; `inspect --verify` fails when raw text sits
among the released files.

The PHI is the demo corpus's own, planted by data_tools/demo_corpus.py and listed in
ground_truth/phi_spans.jsonl. The check looks for the distinctive strings only (see
`distinctive`), so a hit means a leak, not a coincidence."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from medtitan.data.private import at_rest_problems
from medtitan.data.shards import ShardDataset
from tests.build_helpers import DEMO_SOURCES, output_files, run_build, write_config
from tests.conftest import read_jsonl

PROBE_PAIRS = 40


def distinctive(span: dict) -> bool:
    """A planted PHI string that cannot turn up in released text by chance: at least six
    characters, and either holding a digit or '@' (MRNs, SSNs, phone and fax numbers, emails,
    street addresses, written and numeric dates) or a name of two or more words ("Pamela
    Owens", "Graham, Rahul"). Left out: single-word names (surnames such as "Parker" or
    "Washington" are also eponyms, places and ordinary words, e.g. in the real ICD-10 text),
    ages (two or three digits, as any lab value) and anything shorter (matches by chance)."""
    text = span["text"]
    if len(text) < 6:
        return False
    if any(c.isdigit() for c in text) or "@" in text:
        return True
    return span["type"] == "NAME" and len(re.findall(r"[A-Za-z]+", text)) >= 2


@pytest.fixture(scope="module")
def planted(demo_dir) -> list[str]:
    spans = [s for row in read_jsonl(demo_dir / "ground_truth" / "phi_spans.jsonl") for s in row["spans"]]
    found = sorted({s["text"] for s in spans if distinctive(s)})
    assert len(found) > 5000  # names, MRNs, dates, phones, ... of every synthetic document
    return found


def found_in(text: str, strings: list[str]) -> list[str]:
    """The strings occurring in `text`. Exact: a string can only occur where its first six
    characters do, so one pass collects the text's 6-character windows and only strings whose
    prefix is among them get the full substring search (10,000 searches of megabytes of text
    would take many seconds)."""
    windows = {text[i : i + 6] for i in range(len(text) - 5)}
    return [s for s in strings if s[:6] in windows and s in text]


def bad_lines(demo_dir: Path) -> tuple[list[str], list[str]]:
    """Lines of a source file: a good record, then three bad ones that carry planted PHI (taken
    from the ground truth, so the scan knows it); returns (lines, the PHI they carry)."""
    spans = {
        s["type"]: s["text"]
        for row in read_jsonl(demo_dir / "ground_truth" / "phi_spans.jsonl")
        for s in row["spans"]
        if distinctive(s)
    }
    name, mrn, ssn, email = spans["NAME"], spans["MRN"], spans["SSN"], spans["EMAIL"]
    good = read_jsonl(demo_dir / "clinical_notes.jsonl")[0]
    lines = [
        json.dumps(good),
        '{"id": "bad-1", "text": "Seen today: ' + name + ", MRN " + mrn,  # cut short: malformed JSON
        json.dumps({"id": "bad-2", "body": f"{name}, SSN {ssn}"}),  # no text field
        json.dumps({"id": "bad-3", "text": None, "contact": email}),
    ]  # text not a string
    return lines, [name, mrn, ssn, email]


@pytest.fixture(scope="module")
def builds(demo_dir, demo_tokenizer_dir, tmp_path_factory) -> dict:
    """The demo corpus plus a file of bad records, built twice with probe pairs kept: with
    keep_work (the work copies stay: the private folder is full) and without (the default)."""
    folder = tmp_path_factory.mktemp("phi_at_rest")
    lines, carried = bad_lines(demo_dir)
    bad = folder / "bad_records.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    sources = [(name, [demo_dir / file], doc_type, weight) for name, file, doc_type, weight in DEMO_SOURCES]
    sources.append(("bad", [bad], "clinical_notes", 0.05))
    outputs = {}
    for name, keep in (("kept", True), ("released", False)):
        config = write_config(
            folder / f"{name}.toml",
            demo_tokenizer_dir / "tokenizer.model",
            sources,
            eval_sets=[demo_dir / "evals" / "demo_mcq.jsonl"],
            output=folder / name,
            keep_work=keep,
            extra=f"\n[deid]\nprobe_pairs = {PROBE_PAIRS}\n",
        )
        result = run_build(config)
        assert result.returncode == 0, result.stderr + result.stdout
        outputs[name] = folder / name
    return {"outputs": outputs, "bad": bad, "lines": lines, "carried": carried}


def released_texts(output: Path):
    """(path, text) of every file outside OUTPUT/private/: the shards decoded sample by sample
    with the build's tokenizer (a split folder at a time), token files (work/pack/*.u32,
    work/filter/*.tokens.npz, present with keep_work) decoded whole, every other file as text."""
    from medtitan.tokenizer import Tokenizer

    manifest = json.loads((output / "manifest.json").read_text())
    tokenizer = Tokenizer.from_file(manifest["tokenizer"]["path"])
    for info in manifest["splits"].values():
        dataset = ShardDataset(output / info["folder"])
        assert len(dataset) == info["samples"] > 0
        yield output / info["folder"], "\n".join(tokenizer.decode(dataset[i].tolist()) for i in range(len(dataset)))
    for path in sorted(p for p in output.rglob("*") if p.is_file()):
        if path.relative_to(output).parts[0] == "private" or path.suffix == ".bin":
            continue
        if path.suffix == ".u32":
            yield path, tokenizer.decode(np.fromfile(path, dtype="<u4").tolist())
        elif path.name.endswith(".tokens.npz"):
            yield path, tokenizer.decode(np.load(path)["ids"].tolist())
        else:
            yield path, path.read_bytes().decode("utf-8", errors="replace")


@pytest.mark.parametrize("name", ["released", "kept"])
def test_no_planted_phi_in_any_released_file(name, builds, planted):
    output = builds["outputs"][name]
    scanned, leaks = set(), {}
    for path, text in released_texts(output):
        scanned.add(str(path.relative_to(output)))
        found = found_in(text, planted)
        if found:
            leaks[str(path)] = found[:5]
    assert not leaks, leaks
    for required in (
        "manifest.json",
        "report.json",
        "removed.jsonl",
        "quarantine.jsonl",
        "decontamination_audit.jsonl",
        "train",
        "validation",
    ):
        assert required in scanned, required
    if name == "kept":
        assert any(p.startswith("work/filter/") for p in scanned) and "work/pack/train.u32" in scanned


def test_the_scan_finds_phi_where_it_is(builds, planted):
    """The same scan on the raw work copies (private) finds the planted PHI: an empty result
    above means none is there, not a scan that cannot see."""
    private = builds["outputs"]["kept"] / "private"
    text = "\n".join(p.read_text() for p in sorted((private / "work" / "ingest").glob("part-*.jsonl")))
    assert len(found_in(text, planted)) > 0.9 * len(planted)
    pairs = read_jsonl(private / "phi_probe_pairs.jsonl")
    assert len(pairs) == PROBE_PAIRS and all(p["secret"] in text for p in pairs)


def test_raw_text_lives_only_in_an_owner_only_private_folder(builds):
    output = builds["outputs"]["kept"]
    private = output / "private"
    folders = [private] + [p for p in private.rglob("*") if p.is_dir()]
    files = [p for p in private.rglob("*") if not p.is_dir()]
    assert {str(p.relative_to(private)) for p in folders[1:]} >= {"work", "work/ingest", "work/deid"}
    # The raw partitions, the raw lines of the quarantine, the probe pairs and the deid stats
    # (they carry the probe pairs' secrets): all here, and nowhere else.
    names = {str(p.relative_to(private)) for p in files}
    assert {
        "phi_probe_pairs.jsonl",
        "work/ingest/quarantine.jsonl",
        "work/ingest/part-00000.jsonl",
        "work/deid/part-00000.json",
    } <= names
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in folders), [oct(p.stat().st_mode) for p in folders]
    assert all(p.is_file() and stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert not (output / "work" / "ingest").exists() and not (output / "work" / "deid").exists()
    manifest = json.loads((output / "manifest.json").read_text())
    assert not [n for n in manifest["files"] if n.startswith(("private", "work"))]  # never listed, never hashed
    assert at_rest_problems(output) == []


def test_a_successful_build_removes_its_work_copies_unless_asked_to_keep_them(builds):
    kept, released = builds["outputs"]["kept"], builds["outputs"]["released"]
    assert not (released / "work").exists()
    # What was asked for stays: the probe pairs that `medtitan eval phi-probe --pairs BUILD` reads.
    assert [p.name for p in (released / "private").iterdir()] == ["phi_probe_pairs.jsonl"]
    assert stat.S_IMODE((released / "private").stat().st_mode) == 0o700
    assert stat.S_IMODE((released / "private" / "phi_probe_pairs.jsonl").stat().st_mode) == 0o600
    assert (kept / "work" / "state.json").exists() and (kept / "private" / "work" / "ingest" / "DONE.json").exists()
    # keep_work never changes what is released.
    assert output_files(released) == output_files(kept)


def test_a_bad_record_is_released_as_file_line_reason_and_hash(builds):
    output, bad, lines = builds["outputs"]["kept"], builds["bad"], builds["lines"]
    released = {q["line"]: q for q in read_jsonl(output / "quarantine.jsonl") if q["path"] == str(bad)}
    assert sorted(released) == [2, 3, 4]
    for line, entry in released.items():
        assert set(entry) == {"source", "path", "line", "reason", "sha256"}
        assert entry["source"] == "bad"
        assert entry["sha256"] == hashlib.sha256(lines[line - 1].encode()).hexdigest()
    assert released[2]["reason"].startswith("malformed JSON")
    assert released[3]["reason"] == "missing text field 'text'"
    assert "not a string" in released[4]["reason"]
    text = (output / "quarantine.jsonl").read_text()
    assert not [s for s in builds["carried"] if s in text] and '"raw"' not in text
    # The raw lines' start is kept, privately, for whoever fixes the source.
    private = read_jsonl(output / "private" / "work" / "ingest" / "quarantine.jsonl")
    raw = {q["line"]: q["raw"] for q in private if q["path"] == str(bad)}
    assert raw[2] == lines[1] and builds["carried"][0] in raw[3]


def _verify(output: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("medtitan-data")
    return subprocess.run(
        [str(script), "inspect", str(output), "--verify"], capture_output=True, text=True, timeout=300, check=False
    )


def test_inspect_verify_fails_when_raw_text_sits_among_the_released_files(builds, demo_dir, tmp_path):
    kept, released = builds["outputs"]["kept"], builds["outputs"]["released"]
    ok = _verify(released)
    assert ok.returncode == 0 and "0 problems" in ok.stdout, ok.stdout + ok.stderr

    def raw_source(copy: Path) -> Path:  # a source file, raw PHI, dropped beside the shards
        return Path(shutil.copy(demo_dir / "clinical_notes.jsonl", copy / "train" / "notes.jsonl"))

    def ingest_part(copy: Path) -> Path:  # a raw partition where older builds kept it
        (copy / "work" / "ingest").mkdir(parents=True)
        return Path(
            shutil.copy(
                kept / "private" / "work" / "ingest" / "part-00000.jsonl", copy / "work" / "ingest" / "part-00000.jsonl"
            )
        )

    def raw_quarantine(copy: Path) -> Path:  # a quarantine with its raw lines, in the work folder
        (copy / "work").mkdir(exist_ok=True)
        return Path(shutil.copy(kept / "private" / "work" / "ingest" / "quarantine.jsonl", copy / "work" / "bad.jsonl"))

    def probe_pairs(copy: Path) -> Path:  # private file moved out of the private folder
        return Path(shutil.move(copy / "private" / "phi_probe_pairs.jsonl", copy / "phi_probe_pairs.jsonl"))

    def open_folder(copy: Path) -> Path:
        os.chmod(copy / "private", 0o755)
        return copy / "private"

    def open_file(copy: Path) -> Path:
        os.chmod(copy / "private" / "phi_probe_pairs.jsonl", 0o644)
        return copy / "private" / "phi_probe_pairs.jsonl"

    for case in (raw_source, ingest_part, raw_quarantine, probe_pairs, open_folder, open_file):
        copy = tmp_path / case.__name__
        shutil.copytree(released, copy)  # keeps the modes
        culprit = case(copy)
        result = _verify(copy)
        assert result.returncode == 1, (case.__name__, result.stdout + result.stderr)
        assert f"FAILED {culprit}:" in result.stdout, (case.__name__, result.stdout)
