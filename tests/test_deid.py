"""De-identification: the Rust rule engine against the demo corpus's planted PHI, formats the demo
does not plant, clinical text that must stay, character offsets, the plug-in loader and scoring."""

from __future__ import annotations

import json
import textwrap
import time
from collections import Counter

import pytest

from medtitan import _core
from medtitan.deid import (
    DeidResult,
    RuleBasedDeidentifier,
    format_score_table,
    load_deidentifier,
    score_against_ground_truth,
)
from tests.conftest import SHARED_DATA, needs_shared_data, read_jsonl

SYNTH_SOURCE = "medtitan_synth"
TYPES = [
    "NAME",
    "MRN",
    "SSN",
    "PHONE",
    "FAX",
    "EMAIL",
    "URL",
    "IP",
    "ADDRESS",
    "ZIP",
    "DATE",
    "AGE",
    "HOSPITAL",
    "LOCATION",
]


@pytest.fixture(scope="module")
def demo_records(demo_dir) -> list[dict]:
    """Every document of the demo corpus: the synthetic ones (with planted PHI) and the ICD-10
    descriptions (none planted, so every detection there is a false positive)."""
    records = [record for path in sorted(demo_dir.glob("*.jsonl")) for record in read_jsonl(path)]
    assert {r["source"] for r in records} >= {SYNTH_SOURCE}
    assert any(r["source"] != SYNTH_SOURCE for r in records)
    return records


@pytest.fixture(scope="module")
def demo_results(demo_records) -> list[DeidResult]:
    return RuleBasedDeidentifier(num_threads=1).deidentify_batch([r["text"] for r in demo_records])


def redact(text: str, spans) -> str:
    """The scrubbed text, rebuilt in Python from the spans."""
    out, at = [], 0
    for start, end, kind in spans:
        out += [text[at:start], f"[{kind}]"]
        at = end
    return "".join(out) + text[at:]


def found(text: str) -> list[tuple[str, str]]:
    return [(text[s:e], kind) for s, e, kind in _core.deidentify(text)[1]]


# --- the demo corpus ----------------------------------------------------------------------------


def test_demo_corpus_recall_and_precision(demo_dir, demo_records):
    texts = [r["text"] for r in demo_records]
    engine = RuleBasedDeidentifier(num_threads=1)
    engine.deidentify_batch(texts)  # warm the per-thread regex caches, then time a pass
    started = time.perf_counter()
    results = engine.deidentify_batch(texts)
    seconds = time.perf_counter() - started
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6

    truth = read_jsonl(demo_dir / "ground_truth" / "phi_spans.jsonl")
    predicted = {r["id"]: result.spans for r, result in zip(demo_records, results)}
    score = score_against_ground_truth(predicted, truth, texts_by_id={r["id"]: r["text"] for r in demo_records})
    print(f"\n{len(texts):,} documents, {megabytes:.2f} MB, {megabytes / seconds:.1f} MB/s on one thread")
    print(format_score_table(score))
    for example in score["missed"][:10] + score["false_positives"][:10]:
        print("  ", example)

    overall = score["overall"]
    assert overall["planted"] == sum(len(row["spans"]) for row in truth) > 10_000
    assert overall["recall"] >= 0.99, score["missed"]
    assert overall["precision"] >= 0.95, score["false_positives"]
    for kind in ("NAME", "MRN", "SSN", "PHONE", "FAX", "EMAIL", "ADDRESS", "DATE", "AGE"):
        assert score["by_type"][kind]["planted"] > 0
        assert score["by_type"][kind]["recall"] >= 0.95, (kind, score["by_type"][kind])


def test_icd_descriptions_have_no_detections(demo_records, demo_results):
    flagged = [
        (r["id"], r["text"][s:e], kind)
        for r, result in zip(demo_records, demo_results)
        if r["source"] != SYNTH_SOURCE
        for s, e, kind in result.spans
    ]
    assert sum(r["source"] != SYNTH_SOURCE for r in demo_records) >= 100
    assert flagged == []


def test_surrogates_on_the_demo_corpus_hide_every_planted_value(demo_dir, demo_records):
    """The default engine with surrogates: no distinctive planted value survives, no placeholder
    appears, the output is the same on a second run, and a name keeps its surrogate within a note."""
    engine = load_deidentifier("default", replace="surrogate", seed=1234, num_threads=2)
    synthetic = [r for r in demo_records if r["source"] == SYNTH_SOURCE][:400]
    results = engine.deidentify_batch([r["text"] for r in synthetic])
    assert [r.text for r in results] == [r.text for r in engine.deidentify_batch([r["text"] for r in synthetic])]
    truth = {row["id"]: row["spans"] for row in read_jsonl(demo_dir / "ground_truth" / "phi_spans.jsonl")}
    checked = 0
    for record, result in zip(synthetic, results):
        assert result.spans and "[NAME]" not in result.text and "[DATE]" not in result.text
        for span in truth.get(record["id"], []):
            # Distinctive values only: a short word or number may occur in the text by chance.
            if len(span["text"]) >= 6 and (any(c.isdigit() for c in span["text"]) or " " in span["text"]):
                assert span["text"] not in result.text, (record["id"], span)
                checked += 1
    assert checked > 1_000
    # One note, one surrogate per name (the Rust unit tests check the forms one by one).
    text = "Mr. Owens was seen today. Owens reports chest pain; Dr. Hakimi examined Mr. Owens."
    scrubbed = engine.deidentify_batch([text])[0].text
    surrogate = scrubbed.split("Mr. ")[1].split()[0]
    assert "Owens" not in scrubbed and scrubbed.count(surrogate) == 3, scrubbed


def test_scrubbed_text_is_the_redaction_of_the_spans(demo_records, demo_results, demo_dir):
    truth = {row["id"]: row["spans"] for row in read_jsonl(demo_dir / "ground_truth" / "phi_spans.jsonl")}
    for record, result in zip(demo_records, demo_results):
        text = record["text"]
        assert result.text == redact(text, result.spans)
        ends = [0]
        for start, end, kind in result.spans:
            assert ends[-1] <= start < end <= len(text) and kind in TYPES, (record["id"], result.spans)
            ends.append(end)
        # No planted identifier survives scrubbing (long enough to be unambiguous).
        for span in truth.get(record["id"], []):
            if span["type"] in ("MRN", "SSN", "PHONE", "FAX", "EMAIL", "ADDRESS") or len(span["text"]) >= 8:
                assert span["text"] not in result.text, (record["id"], span)


def test_one_thread_equals_all_cores_equals_one_by_one(demo_records, demo_results):
    texts = [r["text"] for r in demo_records]
    default = _core.deidentify_batch(texts)
    assert default == _core.deidentify_batch(texts, 1)
    assert [(r.text, r.spans) for r in demo_results] == [(t, list(s)) for t, s in default]
    assert [_core.deidentify(t) for t in texts[::25]] == default[::25]


def test_one_pass_engine_equals_rule_by_rule_reference(demo_records, demo_results):
    """The engine scans once with all rules combined; the reference runs every rule on its own
    and resolves overlaps afterwards. They must agree on every document."""
    for record, result in zip(demo_records, demo_results):
        assert result.spans == _core._deid_spans_rule_by_rule(record["text"]), record["id"]


# --- formats the demo does not plant --------------------------------------------------------------


@pytest.mark.parametrize(
    "text, phi, kind",
    [
        ("Portal: https://mychart.example.org/visit?id=4471.", "https://mychart.example.org/visit?id=4471", "URL"),
        ("see www.example.com/records/123 for images", "www.example.com/records/123", "URL"),
        ("login from 10.0.23.177 at the clinic", "10.0.23.177", "IP"),
        ("device fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a", "IP"),
        ("seen on 14.03.2025 in clinic", "14.03.2025", "DATE"),
        ("seen on 25/12/2024 in clinic", "25/12/2024", "DATE"),
        ("admitted on the 3rd of May, 2021", "3rd of May, 2021", "DATE"),
        ("follow up on Sept. 5, 2019", "Sept. 5, 2019", "DATE"),
        ("surgery on 14-Mar-25", "14-Mar-25", "DATE"),
        ("symptoms since March 2025", "March 2025", "DATE"),
        ("symptoms since 03/2019", "03/2019", "DATE"),
        ("returns on June 30 for labs", "June 30", "DATE"),
        ("DOB 2/7/1931", "2/7/1931", "DATE"),
        ("She moved in 2015 and quit smoking in 1998.", "2015", "DATE"),
        ("seen on 4/10, pain 3/10", "4/10", "DATE"),
        ("a 101 years old woman", "101", "AGE"),
        ("age 95, lives alone", "95", "AGE"),
        ("aged 91.", "91", "AGE"),
        ("93 yo F with CHF", "93", "AGE"),
        ("94 y/o M", "94", "AGE"),
        ("96 years of age", "96", "AGE"),
        ("Referring physician: John Q. Public, MD", "John Q. Public", "NAME"),
        ("Mrs. Anne-Marie O'Brien was seen", "Anne-Marie O'Brien", "NAME"),
        ("Cosigned by: Dr. Wei Li", "Wei Li", "NAME"),
        ("PO Box 1234, Salem, OR 97301", "PO Box 1234, Salem, OR 97301", "ADDRESS"),
        ("1600 Pennsylvania Ave NW, Washington, DC 20500", "1600 Pennsylvania Ave NW, Washington, DC 20500", "ADDRESS"),
        ("moved to Boise, ID 83702 in May", "83702", "ZIP"),
        ("SSN: 123 45 6789", "123 45 6789", "SSN"),
        ("Acct #: 77123456", "77123456", "MRN"),
        ("Fax # (212) 555-0199", "(212) 555-0199", "FAX"),
        ("cell: 212 555 0199", "212 555 0199", "PHONE"),
        ("call +44 20 7946 0958 after hours", "+44 20 7946 0958", "PHONE"),
        # identifiers of every kind after their label
        ("BCBS member ID VB23223089, group EG74784677.", "EG74784677", "MRN"),
        ("Provider NPI GXS777076, DEA 0760833477.", "GXS777076", "MRN"),
        ("ICD SN 6450-W4054, last interrogated 12/23/1990", "6450-W4054", "MRN"),
        ("Portal username: karellj", "karellj", "MRN"),
        ("Unit no: 2500895  Adm: 16-JAN-2004", "2500895", "MRN"),
        # ages over 89 in words and in apposition
        ("Ms. Lalic is a ninety-five-year-old woman", "ninety-five", "AGE"),
        ("Father died at 93 of old age.", "93", "AGE"),
        ("His brother, 92, is the primary caregiver.", "92", "AGE"),
        # dates: month and two-digit year, a month alone after a cue, a day alone
        ("he was switched to D4T in 1/95. However", "1/95", "DATE"),
        ("diarrhea since September, but", "September", "DATE"),
        ("Soft tissue debridement on 03/16/08 of right thigh", "03/16/08", "DATE"),
        ("Return to clinic on the 15th for suture removal.", "15th", "DATE"),
        # dates as real notes write them: m/yy without a cue, zero-padded, glued, years in lists
        ("PAST SURGICAL HISTORY: Gallbladder 7/82. Hernia 5/79", "7/82", "DATE"),
        ("status post anterior wall MI 07/07 and was found", "07/07", "DATE"),
        ("knee pain since 03/10/03 after falling", "03/10/03", "DATE"),
        ("placed on ASA and discharged1/19/93.", "1/19/93", "DATE"),
        ("sinus surgeries in 1987, 1990 and 2005.", "1990", "DATE"),
        ("s/p TURP (1992).", "1992", "DATE"),
        ("Her father died in January 2004 of congestive heart failure.", "January 2004", "DATE"),
        ("biopsy June of this year was noted", "June", "DATE"),
        # names in headers, signatures and messages; places and phones with a cue
        ("findings discussed with Dr.Fanaro by phone", "Fanaro", "NAME"),
        ("Cosigned Jeiprusski, Memchondia 06/24/05", "Jeiprusski, Memchondia", "NAME"),
        ("Technologist: AV.\nINDICATION: cough", "AV", "NAME"),
        ("born in Finland in 1950", "Finland", "LOCATION"),
        ("Tel 6-5260  Fax 683-814-7536", "6-5260", "PHONE"),
    ],
)
def test_formats_beyond_the_demo(text, phi, kind):
    assert (phi, kind) in found(text), found(text)


@pytest.mark.parametrize(
    "text",
    [
        "BP 120/80 mmHg, HR 72, pain 5/10, strength 5/5 in all extremities.",
        "metoprolol 0.5 mg PO BID and heparin 1,000 units IV; potassium 4.1, Hgb 13.2, INR 1.1.",
        "ICD-10 A00.1, S72.001A and E11.65; CPT 99213.",
        "Disc bulge at L4-L5 and C5-6; T7 and T8 compression.",
        "Seen at 10:30, meds at 14:00; ratio 1:2:3.",
        "Dr. appointment was rescheduled; the dr. on call agreed.",
        "No significant MR. Mitral inflow was normal.",
        "A 45-year-old man; father died at age 80; infant age 90 days.",
        "Saturation 92% on room air, 93 young adults enrolled.",
        "pectin methylesterase (EC 3.1.1.11); version 1.2.3.4.5",
        "omeprazole 20 MG DR daily; 2 VIEWS CHEST PA AND LATERAL; CA 19-9 and CA 125.",
        "Patient: Alert and oriented. CC: Low Back Pain.",
        "Results on ClinicalTrials.gov and drugs.com.",
        "May 5 tablets be given? 3 Mar; 13/45/2020; ranges 5-10-15.",
        "Follow up with Dr. X in two weeks; seen by Dr. ABC; Dr. Y. agreed.",
        "Model #: 12345; group of 1000 patients; age group 18-65 years; ins 10 units.",
        "on the 3rd floor by the 2nd dose in 2/3 of patients; Blood cultures 4/4 bottles positive.",
        "transferred to the CT scanner; Hereditary coproporphyria (HCP) is rare.",
        "Vytorin 10/40 mg daily; H&H 10/32; a width of 1/32 inch; carriers of 9/64 (14%).",
        "The B12 level was greater than 2000. Smith et al. (2005) found no change.",
    ],
)
def test_clinical_text_is_left_alone(text):
    assert found(text) == []


def test_non_ascii_offsets_are_python_character_offsets():
    text = "Café 😀 naïve — Dr. Müller saw Ms. Ölmez on 03/14/2025 in Zürich. ☎ (555) 234-5678"
    scrubbed, spans = _core.deidentify(text)
    assert [(text[s:e], k) for s, e, k in spans] == [
        ("Müller", "NAME"),
        ("Ölmez", "NAME"),
        ("03/14/2025", "DATE"),
        ("(555) 234-5678", "PHONE"),
    ]
    assert scrubbed == redact(text, spans)
    assert scrubbed == "Café 😀 naïve — Dr. [NAME] saw Ms. [NAME] on [DATE] in Zürich. ☎ [PHONE]"
    # The same text in a batch, beside ASCII texts, gives the same offsets.
    assert _core.deidentify_batch(["Dr. Smith", text, ""], 1)[1] == (scrubbed, spans)


def test_empty_and_phi_free_inputs():
    assert _core.deidentify("") == ("", [])
    assert _core.deidentify_batch([]) == []
    assert _core.deidentify_batch(["", "no identifiers here"]) == [("", []), ("no identifiers here", [])]
    assert RuleBasedDeidentifier().deidentify("") == DeidResult("", [])


def test_num_threads_must_be_positive():
    with pytest.raises(ValueError, match="num_threads"):
        _core.deidentify_batch(["Dr. Smith"], 0)
    with pytest.raises(ValueError, match="num_threads"):
        RuleBasedDeidentifier(num_threads=0)
    assert _core.deidentify_batch(["Dr. Smith"], 3) == [("Dr. [NAME]", [(4, 9, "NAME")])]


def test_placeholder_types():
    assert _core.deid_types() == TYPES
    assert RuleBasedDeidentifier.types() == TYPES


# --- the plug-in loader ---------------------------------------------------------------------------

PLUGIN = textwrap.dedent('''
    from medtitan.deid import DeidResult

    class Upper:
        """Replaces nothing; returns every text upper-cased (a visible stand-in engine)."""
        def deidentify_batch(self, texts):
            return [DeidResult(t.upper(), []) for t in texts]

    def make_upper():
        return Upper()

    instance = Upper()
    not_an_engine = 42

    class NoMethod:
        pass
''')


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    (tmp_path / "my_deid_plugin.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_deid_plugin"


def test_loader_builds_the_rule_engine_and_user_engines(plugin_module):
    assert isinstance(load_deidentifier("rules"), RuleBasedDeidentifier)
    for attr in ("Upper", "make_upper", "instance"):
        engine = load_deidentifier(f"{plugin_module}:{attr}")
        assert engine.deidentify_batch(["Dr. Smith"]) == [DeidResult("DR. SMITH", [])]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("no_such_module_xyz:Engine", "cannot import module"),
        ("my_deid_plugin:Missing", "has no attribute 'Missing'"),
        ("my_deid_plugin:not_an_engine", "no deidentify_batch"),
        ("my_deid_plugin:NoMethod", "no deidentify_batch"),
        ("regexes", "expected 'default', 'rules' or 'package.module:attr'"),
    ],
)
def test_loader_errors_name_the_spec(plugin_module, spec, message):
    with pytest.raises(ValueError) as error:
        load_deidentifier(spec)
    assert repr(spec) in str(error.value) and message in str(error.value)


# --- scoring ----------------------------------------------------------------------------------------


def test_scoring_counts_coverage_and_overlap():
    truth = [
        {
            "id": "a",
            "spans": [
                {"start": 9, "end": 19, "type": "NAME", "text": "Hunt, Gary"},
                {"start": 25, "end": 33, "type": "MRN", "text": "12345678"},
                {"start": 40, "end": 50, "type": "ADDRESS", "text": "1 Oak\n  St"},
            ],
        },
        {"id": "b", "spans": [{"start": 0, "end": 4, "type": "DATE", "text": "2020"}]},
    ]
    predicted = {
        "a": [
            (9, 14, "NAME"),
            (15, 19, "NAME"),  # covers "Hunt," and "Gary": found
            (25, 30, "MRN"),  # misses "678": not found, but correct
            (40, 45, "ADDRESS"),
            (48, 50, "ADDRESS"),  # gap is whitespace only: found
            (60, 62, "DATE"),
        ],  # overlaps nothing: wrong
        "icd": [(0, 3, "NAME")],  # a document without PHI: wrong
    }
    score = score_against_ground_truth(predicted, truth)
    by_type = score["by_type"]
    assert (by_type["NAME"]["found"], by_type["MRN"]["found"], by_type["ADDRESS"]["found"]) == (1, 0, 1)
    assert (by_type["DATE"]["planted"], by_type["DATE"]["found"]) == (1, 0)
    assert (by_type["NAME"]["detected"], by_type["NAME"]["correct"]) == (3, 2)
    assert score["overall"]["recall"] == pytest.approx(2 / 4)
    assert score["overall"]["precision"] == pytest.approx(5 / 7)
    # Without the comma, "Hunt" + "Gary" leave a non-whitespace character uncovered.
    predicted["a"][0] = (9, 13, "NAME")
    assert score_against_ground_truth(predicted, truth)["by_type"]["NAME"]["found"] == 0


# --- the shared development corpus ------------------------------------------------------------------


@needs_shared_data
def test_shared_clinical_notes_are_scrubbed_lightly():
    path = SHARED_DATA / "clinical_notes.jsonl"
    texts = [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    started = time.perf_counter()
    results = _core.deidentify_batch(texts)
    seconds = time.perf_counter() - started
    counts: Counter[str] = Counter()
    scrubbed = 0
    for text, (out, spans) in zip(texts, results):
        assert out == redact(text, spans)
        for start, end, kind in spans:
            counts[kind] += 1
            scrubbed += end - start
    total = sum(len(t) for t in texts)
    print(
        f"\n{path.name}: {len(texts):,} notes, {total / 1e6:.1f}M characters, {seconds:.2f} s; "
        f"scrubbed {scrubbed / total:.3%} of characters"
    )
    print("  spans by type: " + ", ".join(f"{k} {v:,}" for k, v in counts.most_common()))
    assert len(texts) > 1000
    assert scrubbed / total <= 0.05
    # MTSamples keeps real dates and ages over 89 and masks names behind titles ("Dr. X").
    assert counts["DATE"] > 100 and counts["AGE"] > 5 and counts["NAME"] > 100
    # The one-pass engine and the rule-by-rule reference agree on real text too.
    for text, (_, spans) in list(zip(texts, results))[::7]:
        assert spans == _core._deid_spans_rule_by_rule(text)
