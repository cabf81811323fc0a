"""Scoring against users' gold standards (i2b2 2014 XML, JSONL) and the `deid-score` / `deid` commands.

The gold files are written here by hand; every expected figure below is counted by hand from
them (see the comments), not computed by the code under test.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medtitan.deid import load_deidentifier, score_against_ground_truth
from medtitan.deid.score import (
    GoldDocument,
    GoldSpan,
    ScoreInputError,
    format_examples,
    format_score_table,
    read_gold,
    read_predictions,
    score_documents,
)

# Offsets:  "Record" 0-6, "2067-05-03" 13-23, "Gary Hunt" 33-42 ("Gary Hu" 33-40), "45" 46-48,
#           "teacher" 52-59, "Ann Lee" 70-77 ("Ann" 70-73, "Lee" 74-77), "617-555-0199" 81-93.
NOTE = "Record date: 2067-05-03\nPatient: Gary Hunt, a 45 yo teacher.\nCall Dr. Ann Lee at 617-555-0199.\n"
TAGS = """<NAME id="P0" start="33" end="42" text="Gary Hunt" TYPE="PATIENT" comment="" />
<DATE id="D0" start="13" end="23" text="2067-05-03" TYPE="DATE" comment="" />
<PROFESSION id="R0" start="52" end="59" text="teacher" TYPE="PROFESSION" comment="" />
<NAME id="P1" start="70" end="77" text="Ann Lee" TYPE="DOCTOR" comment="" />
<CONTACT id="C0" start="81" end="93" text="617-555-0199" TYPE="PHONE" comment="" />"""

# Offsets: "Smith" 12-17, "3/4/2021" 21-29, "MRN 1234567" 31-42, "1234567" 35-42.
LETTER = "Seen by Dr. Smith on 3/4/2021. MRN 1234567."

PREDICTIONS = [
    {
        "id": "note-01",
        "spans": [
            [13, 23, "DATE"],  # the date: found
            [33, 40, "NAME"],  # "Gary Hu": the patient partly (6 of 8 characters)
            [70, 73, "NAME"],
            [74, 77, "NAME"],  # "Ann" + "Lee": the doctor found
            [0, 6, "NAME"],  # "Record": a false positive
            [46, 48, "AGE"],
        ],
    },  # "45": a false positive
    {"id": "j1", "spans": [[12, 17, "NAME"], [21, 29, "DATE"], [31, 42, "MRN"]]},  # all three found
]


def xml_file(path: Path, text: str, tags: str) -> Path:
    path.write_bytes(
        (
            '<?xml version="1.0" encoding="UTF-8" ?>\n<deIdi2b2>\n<TEXT><![CDATA['
            f"{text}]]></TEXT>\n<TAGS>\n{tags}\n</TAGS>\n</deIdi2b2>\n"
        ).encode()
    )
    return path


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text(
        "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows), encoding="utf-8"
    )
    return path


@pytest.fixture
def gold_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "gold"
    (folder / "xml").mkdir(parents=True)
    xml_file(folder / "xml" / "note-01.xml", NOTE, TAGS)
    write_jsonl(
        folder / "letters.jsonl",
        [
            {
                "id": "j1",
                "text": LETTER,
                "spans": [
                    [12, 17, "NAME"],
                    [21, 29, "DATE"],
                    {"start": 35, "end": 42, "type": "MRN", "text": "1234567"},
                ],
            }
        ],
    )
    return folder


@pytest.fixture
def predictions(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "predictions.jsonl", PREDICTIONS)


def scored(gold_dir: Path, predictions: Path, **options):
    gold = read_gold([gold_dir])
    predicted, problems = read_predictions(predictions, gold)
    assert problems == []
    return score_documents(gold.documents, predicted, **options)


# --- readers ------------------------------------------------------------------------------------


def test_readers_take_i2b2_xml_and_jsonl_from_a_folder(gold_dir):
    gold = read_gold([gold_dir])
    assert gold.problems == []
    assert [doc.id for doc in gold.documents] == ["j1", "note-01"]  # letters.jsonl sorts before xml/
    note = gold.documents[1]
    assert note.text == NOTE
    assert [(s.start, s.end, s.type, s.subtype, s.tag) for s in note.spans] == [
        (33, 42, "NAME", "PATIENT", "P0"),
        (13, 23, "DATE", "DATE", "D0"),
        (52, 59, "PROFESSION", "PROFESSION", "R0"),
        (70, 77, "NAME", "DOCTOR", "P1"),
        (81, 93, "CONTACT", "PHONE", "C0"),
    ]
    assert [(s.start, s.end, s.type) for s in gold.documents[0].spans] == [
        (12, 17, "NAME"),
        (21, 29, "DATE"),
        (35, 42, "MRN"),
    ]


def test_xml_text_mismatches_and_bad_tags_are_reported_not_fatal(tmp_path):
    path = xml_file(
        tmp_path / "odd.xml",
        NOTE,
        "\n".join(
            [
                '<NAME id="P0" start="33" end="42" text="Gary Hunter" TYPE="PATIENT" />',  # wrong text: kept
                '<DATE id="D0" start="13" end="200" text="2067-05-03" TYPE="DATE" />',  # past the end: left out
                '<DATE id="D1" start="x" end="23" TYPE="DATE" />',  # not a number: left out
                '<NAME id="P1" start="69" end="70" text=" " TYPE="DOCTOR" />',  # a blank: left out
                '<NAME id="P2" start="70" end="77" TYPE="DOCTOR" />',  # no text attribute: fine
            ]
        ),
    )
    gold = read_gold([path])
    messages = [str(problem) for problem in gold.problems]
    assert len(messages) == 4, messages
    assert messages[0].startswith(f"{path} tag D1: ") and "not integers" in messages[0]
    assert messages[1].startswith(f"{path} tag P0: ") and "'Gary Hunter' != text[33:42] 'Gary Hunt'" in messages[1]
    assert messages[2].startswith(f"{path} tag D0: ") and "offsets 13-200" in messages[2]
    assert messages[3].startswith(f"{path} tag P1: ") and "only whitespace" in messages[3]
    assert [span.tag for span in gold.documents[0].spans] == ["P0", "P2"]


def test_xml_offsets_count_crlf_as_stored_and_converted_copies_are_detected(tmp_path):
    crlf = NOTE.replace("\n", "\r\n")  # every offset after a line end moves by one per \r
    stored = xml_file(
        tmp_path / "stored.xml",
        crlf,
        '<NAME id="P0" start="34" end="43" text="Gary Hunt" TYPE="PATIENT" />\n'
        '<CONTACT id="C0" start="83" end="95" text="617-555-0199" TYPE="PHONE" />',
    )
    gold = read_gold([stored])
    assert gold.problems == []
    assert gold.documents[0].text == crlf  # not folded to \n, as an XML parser would
    assert [crlf[s.start : s.end] for s in gold.documents[0].spans] == ["Gary Hunt", "617-555-0199"]

    converted = xml_file(tmp_path / "converted.xml", crlf, TAGS)  # offsets of the \n text, file in \r\n
    gold = read_gold([converted])
    assert len(gold.problems) == 1 and gold.problems[0].where == str(converted)
    assert "read with \\n line ends" in gold.problems[0].message
    assert gold.documents[0].text == NOTE


def test_jsonl_errors_name_the_file_and_line(tmp_path):
    good = {"id": "a", "text": "Dr. Smith", "spans": [[4, 9, "NAME"]]}
    cases = [
        (['{"id": "a", "text": "Dr. Smith", "spans": [[4, 9, "NAME"]]', good], ":1: malformed JSON"),
        ([good, {"text": "Dr. Smith", "spans": [[4, 9]]}], ":2: span 0: expected [start, end, TYPE]"),
        (
            [good, good, {"text": "Dr. Smith", "spans": [{"start": 4, "end": "9", "type": "NAME"}]}],
            ":3: span 0: start and end must be integers",
        ),
        ([good, {"text": "Dr. Smith"}], ":2: no 'spans' list"),
        ([{"spans": []}], ":1: missing text field 'text'"),
    ]
    for number, (rows, message) in enumerate(cases):
        path = write_jsonl(tmp_path / f"gold{number}.jsonl", rows)
        with pytest.raises(ScoreInputError) as error:
            read_gold([path])
        assert str(error.value).startswith(f"{path}:") and message in str(error.value), (message, str(error.value))
    with pytest.raises(ScoreInputError, match="unknown gold format"):
        read_gold([write_jsonl(tmp_path / "gold.csv", ["x"])])


def test_predictions_by_line_order_and_their_problems(gold_dir, tmp_path):
    gold = read_gold([gold_dir])
    by_order = write_jsonl(
        tmp_path / "ordered.jsonl", [{"spans": PREDICTIONS[1]["spans"]}, {"spans": PREDICTIONS[0]["spans"]}]
    )
    predicted, problems = read_predictions(by_order, gold)
    assert problems == [] and predicted["note-01"][0] == (13, 23, "DATE")
    with pytest.raises(ScoreInputError, match="1 lines without ids cannot be matched by order to 2 gold"):
        read_predictions(write_jsonl(tmp_path / "short.jsonl", [{"spans": []}]), gold)
    with pytest.raises(ScoreInputError, match="1 of 2 lines have an 'id'"):
        read_predictions(write_jsonl(tmp_path / "mixed.jsonl", [{"spans": []}, {"id": "j1", "spans": []}]), gold)
    odd = write_jsonl(tmp_path / "odd.jsonl", [{"id": "j1", "spans": []}, {"id": "zz", "spans": []}])
    predicted, problems = read_predictions(odd, gold)
    assert [str(p) for p in problems] == [
        f"{odd}:2: id 'zz' is not a gold document; ignored",
        (
            f"{odd}: no line for gold document 'note-01' ({gold_dir / 'xml' / 'note-01.xml'}): "
            "scored as if nothing was found"
        ),
    ]
    with pytest.raises(ScoreInputError, match=r"bad\.jsonl:2: span 0: type must be"):
        read_predictions(
            write_jsonl(tmp_path / "bad.jsonl", [{"id": "j1", "spans": []}, {"id": "x", "spans": [[0, 1, 5]]}]), gold
        )


# --- scoring ------------------------------------------------------------------------------------


def test_recall_char_recall_and_precision_by_hand(gold_dir, predictions):
    score = scored(gold_dir, predictions)
    overall = score.overall.to_json()
    # Counted gold: patient, date, doctor, phone (XML; the profession is excluded) + 3 (JSONL) = 7.
    # Found: date, doctor, Smith, 3/4/2021, 1234567 = 5; partial: the patient. Non-whitespace
    # characters: 8 + 10 + 6 + 12 + 5 + 8 + 7 = 56, covered 6 + 10 + 6 + 0 + 5 + 8 + 7 = 42.
    # Predicted: 6 + 3 = 9, of which "Record" and "45" overlap nothing.
    assert {
        k: overall[k] for k in ("gold", "found", "partial", "gold_chars", "covered_chars", "predicted", "correct")
    } == {"gold": 7, "found": 5, "partial": 1, "gold_chars": 56, "covered_chars": 42, "predicted": 9, "correct": 7}
    assert overall["span_recall"] == pytest.approx(5 / 7)
    assert overall["char_recall"] == pytest.approx(0.75)
    assert overall["precision"] == pytest.approx(7 / 9)

    by_type = {kind: counts.to_json() for kind, counts in score.by_type.items()}
    # NAME: patient (partial, 6/8), doctor, Smith -> 2 of 3, characters 17/19; predicted NAME: 5, "Record" wrong.
    assert (by_type["NAME"]["gold"], by_type["NAME"]["found"], by_type["NAME"]["partial"]) == (3, 2, 1)
    assert by_type["NAME"]["char_recall"] == pytest.approx(17 / 19)
    assert (by_type["NAME"]["predicted"], by_type["NAME"]["correct"]) == (5, 4)
    assert (by_type["CONTACT"]["gold"], by_type["CONTACT"]["found"], by_type["CONTACT"]["char_recall"]) == (1, 0, 0.0)
    assert (by_type["AGE"]["gold"], by_type["AGE"]["predicted"], by_type["AGE"]["precision"]) == (0, 1, 0.0)
    assert by_type["AGE"]["span_recall"] is None
    assert (by_type["PROFESSION"]["gold"], by_type["PROFESSION"]["found"]) == (1, 0)
    assert set(score.by_subtype) == {"NAME/PATIENT", "NAME/DOCTOR", "CONTACT/PHONE"}  # DATE/DATE says nothing more
    assert score.by_subtype["NAME/PATIENT"].to_json()["char_recall"] == pytest.approx(6 / 8)
    assert score.not_counted == {"PROFESSION": 1}


def test_excluded_and_counted_types_are_options(gold_dir, predictions):
    everything = scored(gold_dir, predictions, exclude_types=()).overall
    assert (everything.gold, everything.found, everything.gold_chars, everything.covered_chars) == (8, 5, 63, 42)
    names = scored(gold_dir, predictions, types=["NAME"]).overall
    assert (names.gold, names.found, names.partial) == (3, 2, 1)
    no_doctors = scored(gold_dir, predictions, exclude_types=["PROFESSION", "DOCTOR"])
    assert (no_doctors.overall.gold, no_doctors.overall.found) == (6, 4)
    assert no_doctors.not_counted == {"NAME/DOCTOR": 1, "PROFESSION": 1}
    # Precision is over every predicted span, whatever is excluded from recall.
    assert no_doctors.overall.predicted == 9 and no_doctors.overall.correct == 7


def test_per_type_table(gold_dir, predictions):
    table = format_score_table(scored(gold_dir, predictions)).splitlines()
    rows = {
        line.split("|")[0].split()[0] if line.strip() and not line.startswith(("-", "*")) else line: line
        for line in table
    }
    assert table[0].split() == [
        "type",
        "gold",
        "found",
        "partial",
        "recall",
        "char",
        "rec",
        "|",
        "predicted",
        "correct",
        "precision",
    ]
    assert rows["overall"].split() == ["overall", "7", "5", "1", "0.7143", "0.7500", "|", "9", "7", "0.7778"]
    assert rows["NAME"].split() == ["NAME", "3", "2", "1", "0.6667", "0.8947", "|", "5", "4", "0.8000"]
    assert rows["PATIENT"].startswith("  PATIENT") and rows["PATIENT"].split()[1:6] == [
        "1",
        "0",
        "1",
        "0.0000",
        "0.7500",
    ]
    assert rows["AGE"].split() == ["AGE", "-", "|", "1", "0", "0.0000"]
    assert rows["PROFESSION"].split()[:3] == ["PROFESSION", "*", "1"]
    assert table[-1] == "* not in overall: PROFESSION (1)"
    bars = {line.index("|") for line in table if "|" in line}
    assert len(bars) == 1  # aligned columns


def test_misses_and_false_positives_with_context(gold_dir, predictions):
    score = scored(gold_dir, predictions)
    phone = score.misses["CONTACT"][0]
    assert (phone["id"], phone["tag"], phone["text"], phone["covered_chars"], phone["chars"]) == (
        "note-01",
        "C0",
        "617-555-0199",
        0,
        12,
    )
    assert phone["context"] == " teacher.\\nCall Dr. Ann Lee at [[617-555-0199]].\\n"  # 30 characters before
    patient = score.misses["NAME"][0]
    assert (patient["text"], patient["covered_chars"], patient["chars"]) == ("Gary Hunt", 6, 8)
    assert patient["context"] == "ord date: 2067-05-03\\nPatient: [[Gary Hunt]], a 45 yo teacher.\\nCall Dr. An"
    assert [e["text"] for e in score.misses["PROFESSION"]] == ["teacher"]  # excluded types still show their misses
    assert [(e["text"], e["context"]) for e in score.false_positives["NAME"]] == [
        ("Record", "[[Record]] date: 2067-05-03\\nPatient: Gar")
    ]
    assert [e["text"] for e in score.false_positives["AGE"]] == ["45"]
    text = format_examples(score)
    assert "  CONTACT/PHONE    note-01@81:  teacher.\\nCall Dr. Ann Lee at [[617-555-0199]].\\n" in text
    assert "NAME/PATIENT     note-01@33 6/8 chars covered:" in text
    assert scored(gold_dir, predictions, max_examples=0).misses == {}  # counts stay, examples go


def test_legacy_wrapper_is_the_same_scorer():
    truth = [
        {
            "id": "a",
            "spans": [
                {"start": 4, "end": 9, "type": "NAME", "text": "Smith"},
                {"start": 13, "end": 21, "type": "DATE", "text": "1/2/2020"},
            ],
        }
    ]
    predicted = {"a": [(4, 9, "NAME"), (0, 2, "NAME")], "b": [(0, 3, "AGE")]}
    legacy = score_against_ground_truth(predicted, truth, texts_by_id={"a": "Dr. Smith on 1/2/2020.", "b": "abc"})
    assert (
        legacy["overall"]["planted"],
        legacy["overall"]["found"],
        legacy["overall"]["detected"],
        legacy["overall"]["correct"],
    ) == (2, 1, 3, 1)
    assert legacy["overall"]["recall"] == legacy["overall"]["span_recall"] == 0.5
    assert legacy["by_type"]["AGE"]["recall"] == 1.0 and legacy["by_type"]["AGE"]["span_recall"] is None
    assert [m["text"] for m in legacy["missed"]] == ["1/2/2020"]
    assert [(f["id"], f["text"]) for f in legacy["false_positives"]] == [("b", "abc"), ("a", "Dr")]  # by type
    assert "overall" in format_score_table(legacy)


def test_a_large_gold_file_is_swept_not_compared_pairwise():
    """100,000 gold and 100,000 predicted spans in one 1.9 MB document (pairwise: 10^10 checks)."""
    unit = "Dr. Smith 12/03/2020. "  # "Smith" 4-9 and the date 10-20 of every 22-character unit
    n = 50_000
    text = unit * n
    gold = [GoldSpan(22 * i + 4, 22 * i + 9, "NAME") for i in range(n)] + [
        GoldSpan(22 * i + 10, 22 * i + 20, "DATE") for i in range(n)
    ]
    predicted = [(22 * i + 4, 22 * i + 9, "NAME") for i in range(n)] + [
        (22 * i + 10, 22 * i + 15, "DATE") for i in range(n)
    ]  # half of each date
    started = time.perf_counter()
    score = score_documents([GoldDocument("big", text, gold, "big")], {"big": predicted}, max_examples=3)
    seconds = time.perf_counter() - started
    print(f"\n{len(gold):,} gold and {len(predicted):,} predicted spans scored in {seconds:.2f} s")
    assert (score.overall.gold, score.overall.found, score.overall.partial) == (2 * n, n, n)
    assert (score.overall.gold_chars, score.overall.covered_chars) == (n * (5 + 10), n * (5 + 5))
    assert score.overall.correct == score.overall.predicted == 2 * n
    assert len(score.misses["DATE"]) == 3
    assert seconds < 30


# --- the commands ---------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("medtitan-data")
    return subprocess.run([str(script), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_deid_score_command_with_predictions_and_with_the_rules_engine(gold_dir, predictions, tmp_path):
    result = run_cli("deid-score", gold_dir, "--predictions", predictions, "--json", tmp_path / "score.json")
    assert result.returncode == 0, result.stderr
    assert "gold: 2 documents, 8 spans from 2 files" in result.stdout
    assert "overall            7       5       1  0.7143   0.7500  |         9       7    0.7778" in result.stdout
    assert "[[617-555-0199]]" in result.stdout
    saved = json.loads((tmp_path / "score.json").read_text())
    assert saved["predictions"] == str(predictions) and saved["excluded_types"] == ["PROFESSION"]
    assert saved["overall"]["covered_chars"] == 42 and saved["problems"] == []

    result = run_cli(
        "deid-score",
        gold_dir / "xml" / "note-01.xml",
        gold_dir / "letters.jsonl",
        "--engine",
        "rules",
        "--json",
        tmp_path / "rules.json",
        "--exclude-types",
    )
    assert result.returncode == 0, result.stderr
    assert "engine: rules" in result.stdout and "overall" in result.stdout
    saved = json.loads((tmp_path / "rules.json").read_text())
    assert saved["engine"] == "rules" and saved["excluded_types"] == [] and saved["overall"]["gold"] == 8
    # The command's figures are those of the rule engine's spans scored in this process.
    gold = read_gold([gold_dir])
    results = load_deidentifier("rules").deidentify_batch([doc.text for doc in gold.documents])
    expected = score_documents(
        gold.documents, {d.id: r.spans for d, r in zip(gold.documents, results)}, exclude_types=()
    ).to_json()
    assert saved["overall"] == expected["overall"] and saved["by_type"] == expected["by_type"]

    result = run_cli("deid-score", tmp_path / "missing")
    assert result.returncode == 2 and "missing: no such file or folder" in result.stderr


def test_deid_score_default_engine_is_said(gold_dir):
    from medtitan.deid.cli import DEFAULT_ENGINE

    result = run_cli("deid-score", gold_dir)
    assert result.returncode == 0, result.stderr
    assert f"engine: {DEFAULT_ENGINE}" in result.stdout


PHI_OF_THE_INPUTS = ["Smith", "Ölmez", "12345678", "234-5678", "Jones"]


def test_deid_command_scrubs_files_and_accounts_for_every_line(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_jsonl(
        inputs / "notes.jsonl",
        [
            {"id": "a", "text": "Seen by Dr. Smith on 03/14/2025.", "doc_type": "note"},
            {"id": "b", "text": 12},
            "",
            "{broken",
            {"id": "c", "text": "Call (555) 234-5678.", "meta": {"x": 1}},
        ],
    )
    (inputs / "more.jsonl.gz").write_bytes(gzip.compress(b'{"body": "Mrs. \xc3\x96lmez, MRN: 12345678"}\n'))
    (inputs / "letter.txt").write_bytes(b"Dr. Jones saw him\r\non 1/2/2020.\r\n")
    output = tmp_path / "out"
    result = run_cli(
        "deid", inputs / "notes.jsonl", inputs / "letter.txt", "--output", output, "--engine", "rules", "--spans"
    )
    assert result.returncode == 0, result.stderr
    assert f"{inputs / 'notes.jsonl'}:2: text field 'text' is a int, not a string" in result.stdout
    assert f"{inputs / 'notes.jsonl'}:4: malformed JSON" in result.stdout
    total = next(line for line in result.stdout.splitlines() if line.startswith("total"))
    assert total.split() == ["total", "5", "3", "2", "1", "5"]  # records = written + bad; blank lines apart
    assert "spans by type: " in result.stdout and "MB/s" in result.stdout

    rows = [json.loads(line) for line in (output / "notes.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {"id": "a", "text": "Seen by Dr. [NAME] on [DATE].", "doc_type": "note"},
        {"id": "c", "text": "Call [PHONE].", "meta": {"x": 1}},
    ]
    sidecar = [json.loads(line) for line in (output / "notes.jsonl.spans.jsonl").read_text().splitlines()]
    assert sidecar == [
        {"line": 1, "id": "a", "spans": [[12, 17, "NAME"], [21, 31, "DATE"]]},
        {"line": 5, "id": "c", "spans": [[5, 19, "PHONE"]]},
    ]
    assert (output / "letter.txt").read_bytes() == b"Dr. [NAME] saw him\r\non [DATE].\r\n"  # \r\n kept
    report = json.loads((output / "deid_report.json").read_text())
    assert [(f["name"], f["records"], f["written"], f["bad"]) for f in report["files"]] == [
        ("notes.jsonl", 4, 2, 2),
        ("letter.txt", 1, 1, 0),
    ]
    assert [(b["line"], b["reason"][:14]) for b in report["bad"]] == [(2, "text field 'te"), (4, "malformed JSON")]

    # A folder, another text field, a compressed file; no PHI in the sidecars or the report.
    result = run_cli(
        "deid", inputs, "--output", output / "folder", "--engine", "rules", "--text-field", "body", "--spans"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(gzip.decompress((output / "folder" / "more.jsonl.gz").read_bytes())) == {
        "body": "Mrs. [NAME], MRN: [MRN]"
    }
    written = " ".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in output.rglob("*")
        if p.is_file() and not p.name.endswith(".gz")
    )
    assert not [marker for marker in PHI_OF_THE_INPUTS if marker in written]

    result = run_cli("deid", inputs, "--output", inputs)
    assert result.returncode == 2 and "would overwrite it" in result.stderr


@pytest.mark.parametrize("engine", ["rules", "default"])
def test_deid_surrogates_replace_phi_consistently_and_reproducibly(tmp_path, engine):
    text = "Dr. Smith saw the patient on 03/14/2025 and again on 03/24/2025. Dr. Smith agrees.\n"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    outputs = []
    for run in ("one", "two"):
        result = run_cli(
            "deid",
            tmp_path / "a.txt",
            "--output",
            tmp_path / run,
            "--engine",
            engine,
            "--replace",
            "surrogate",
            "--seed",
            "7",
        )
        assert result.returncode == 0, result.stderr
        outputs.append((tmp_path / run / "a.txt").read_text(encoding="utf-8"))
    scrubbed = outputs[0]
    assert outputs[0] == outputs[1]  # same text, same seed: same surrogates
    assert "Smith" not in scrubbed and "03/14/2025" not in scrubbed and "[" not in scrubbed, scrubbed
    first, second = scrubbed.split("Dr. ")[1].split()[0], scrubbed.split("Dr. ")[2].split()[0]
    assert first == second, scrubbed  # the same name, the same surrogate within a document
    dates = [w for w in scrubbed.replace(".", " ").split() if w.count("/") == 2]
    import datetime as dt

    parsed = [dt.datetime.strptime(d, "%m/%d/%Y") for d in dates]
    assert len(parsed) == 2 and (parsed[1] - parsed[0]).days == 10, scrubbed  # one shift per document
