"""The learned name/place tagger and the hybrid de-identifier: training on text built here
(learns a planted form, byte-identical runs, refuses other lexicons), the CLI, the packaged
model (sha256 against its sidecar, same spans on any thread count, cue-less names found and
medical words kept), lexicons and synthetic planting."""

from __future__ import annotations

import hashlib
import json
import random
import zlib

import pytest
from medtitan import _core
from medtitan.data.cli import main as data_cli
from medtitan.data.documents import Document
from medtitan.deid import HybridDeidentifier, load_deidentifier
from medtitan.deid.engine import default_tagger_path
from medtitan.deid.lexicons import lexicon_fingerprint, load_lexicons, planting_pool, reserved_for_evaluation
from medtitan.deid.synth import Planter, Pools, Surrogates, render

from tests.conftest import SHARED_DATA, needs_shared_data, read_jsonl

# A small lexicon of our own: fast to build, enough for the flags to mean something.
SMALL_LEXICONS = {
    "first_name": ["Ana", "Maria", "John", "Grace"],
    "last_name": ["Smith", "Nguyen", "Okafor"],
    "city": ["Boston", "Springfield", "Salt Lake City"],
    "state": ["Utah", "Texas"],
    "title": ["dr", "mr", "mrs", "ms"],
    "credential": ["md", "rn"],
    "relation": ["wife", "son", "daughter", "husband"],
    "hospital_word": ["hospital", "clinic", "memorial", "medical center"],
    "stop": ["foley", "lasix"],
    "medical_head": ["disease", "catheter"],
}

FILLER = [
    "The pain is better today.",
    "Lasix was given.",
    "Foley catheter removed.",
    "Vitals are stable.",
    "She denies chest pain.",
    "Plan discussed at length.",
    "Labs reviewed.",
    "No acute distress.",
]
CONTEXTS = [
    "Her daughter {} visited today.",
    "Discussed with {}, RN.",
    "Spoke with son {} by phone.",
    "Husband {} is at the bedside.",
    "{} reports less pain.",
]


def _invented(rng: random.Random) -> str:
    return rng.choice("BDKLMRSTVZ") + "".join(rng.choice("aeiou") + rng.choice("lnrstv") for _ in range(2))


def _examples(seed: int, count: int) -> tuple[list[tuple[str, list, int]], list[str]]:
    """Short notes of real-looking filler with an invented name after a cue; and the corpus (the
    same notes without the names) whose statistics the model keeps."""
    rng = random.Random(seed)
    examples, corpus = [], []
    for i in range(count):
        name = _invented(rng)
        context = rng.choice(CONTEXTS)
        before = " ".join(rng.sample(FILLER, 3)) + " "
        sentence = context.format(name)
        text = before + sentence + " " + rng.choice(FILLER)
        start = len(before) + context.index("{}")
        examples.append((text, [(start, start + len(name), "NAME")], i))
        corpus.append(text[:start] + text[start + len(name) :])
    return examples, corpus


def _train(seed: int = 1, epochs: int = 6) -> bytes:
    examples, corpus = _examples(7, 120)
    return _core.train_deid_tagger(
        examples,
        corpus,
        SMALL_LEXICONS,
        seed=seed,
        epochs=epochs,
        log2_buckets=14,
        corpus_folds=[i % 2 for i in range(len(corpus))],
    )


def test_tiny_training_finds_the_planted_form():
    engine = _core.DeidEngine(_train(), SMALL_LEXICONS, use_rules=False)
    texts = [
        "Vitals are stable. Her daughter Qorvita visited today. Labs reviewed.",
        "Spoke with son Bemuran by phone. Foley catheter removed.",
    ]
    found = [[(t[s:e], kind) for s, e, kind in spans] for t, spans in zip(texts, engine.detect_batch(texts))]
    assert found == [[("Qorvita", "NAME")], [("Bemuran", "NAME")]]
    scrubbed, _ = engine.deidentify_batch(texts[:1])[0]
    assert scrubbed == "Vitals are stable. Her daughter [NAME] visited today. Labs reviewed."


def test_training_is_byte_identical_and_seeded():
    first = _train(seed=3)
    assert _train(seed=3) == first
    assert _train(seed=4) != first
    info = _core.deid_model_info(first)
    assert info["sha256"] == hashlib.sha256(first).hexdigest()
    assert info["lexicon_fingerprint"] == lexicon_fingerprint(SMALL_LEXICONS)
    assert info["labels"] == ["O", "B-NAME", "I-NAME", "B-HOSPITAL", "I-HOSPITAL", "B-LOCATION", "I-LOCATION"]
    assert info["log2_buckets"] == 14


def test_bad_training_input_and_model_files_are_refused():
    examples, corpus = _examples(1, 4)
    with pytest.raises(ValueError, match='example 0: label "DATE"'):
        _core.train_deid_tagger([(examples[0][0], [(0, 3, "DATE")], 0)], corpus, SMALL_LEXICONS)
    with pytest.raises(ValueError, match="outside the text"):
        _core.train_deid_tagger([(examples[0][0], [(0, 10_000, "NAME")], 0)], corpus, SMALL_LEXICONS)
    with pytest.raises(ValueError, match='unknown lexicon category "surnames"'):
        _core.DeidEngine(None, {"surnames": ["Smith"]})
    model = _train(epochs=1)
    with pytest.raises(ValueError, match="checksum"):
        _core.DeidEngine(model[:-1], SMALL_LEXICONS)
    with pytest.raises(ValueError, match="magic"):
        _core.DeidEngine(b"not a model", SMALL_LEXICONS)


def test_a_model_trained_with_other_lexicons_is_refused():
    other = {**SMALL_LEXICONS, "first_name": SMALL_LEXICONS["first_name"] + ["Zelda"]}
    with pytest.raises(ValueError, match="trained with lexicon"):
        _core.DeidEngine(_train(epochs=1), other)
    # Case, spacing, order and duplicates are not content: the same fingerprint.
    same = {k: [f"  {e.upper()} " for e in reversed(v)] + v for k, v in SMALL_LEXICONS.items()}
    assert lexicon_fingerprint(same) == lexicon_fingerprint(SMALL_LEXICONS)
    _core.DeidEngine(_train(epochs=1), same)


def test_train_deid_cli_is_deterministic(tmp_path):
    rng = random.Random(5)
    notes = tmp_path / "notes.jsonl"
    with open(notes, "w", encoding="utf-8") as handle:
        for i in range(40):
            text = " ".join(rng.choice(FILLER) for _ in range(12))
            handle.write(json.dumps({"id": f"n{i}", "text": text, "meta": {"group": f"g{i % 20}"}}) + "\n")
    outputs = []
    for run in ("a", "b"):
        output = tmp_path / run / "tagger.bin"
        assert (
            data_cli(
                [
                    "train-deid",
                    "--corpus",
                    str(notes),
                    "--output",
                    str(output),
                    "--epochs",
                    "2",
                    "--buckets",
                    "4096",
                    "--seed",
                    "9",
                    "--quiet",
                ]
            )
            == 0
        )
        outputs.append(output)
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    sidecar = json.loads(outputs[0].with_name("tagger.bin.json").read_text())
    assert sidecar["sha256"] == hashlib.sha256(outputs[0].read_bytes()).hexdigest()
    assert sidecar["lexicon_fingerprint"] == lexicon_fingerprint()
    assert sidecar["corpus"] == [
        {"file": "notes.jsonl", "sha256": hashlib.sha256(notes.read_bytes()).hexdigest(), "bytes": notes.stat().st_size}
    ]
    assert sidecar["seed"] == 9 and sidecar["buckets"] == 4096
    assert set(sidecar["dev"]) <= {"engine", "tagger"}
    assert (
        data_cli(
            ["train-deid", "--corpus", str(notes), "--output", str(tmp_path / "x.bin"), "--buckets", "1000", "--quiet"]
        )
        == 2
    )


# --- the packaged model ---------------------------------------------------------------------------


def test_packaged_model_matches_its_sidecar():
    path = default_tagger_path()
    sidecar = json.loads(path.with_name(path.name + ".json").read_text())
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == sidecar["sha256"]
    assert len(data) == sidecar["bytes"] <= 4_000_000
    assert sidecar["lexicon_fingerprint"] == lexicon_fingerprint(), "the installed lexicon packages differ"
    assert HybridDeidentifier().sha256 == sidecar["sha256"]
    assert isinstance(load_deidentifier("default"), HybridDeidentifier)


@needs_shared_data
def test_packaged_model_is_what_train_deid_makes_of_the_shared_corpus(tmp_path):
    """The shipped weights are reproducible: the documented command on ../shared/data, with the
    sidecar's settings, writes the same bytes (so a reviewer can rebuild and audit them)."""
    path = default_tagger_path()
    sidecar = json.loads(path.with_name(path.name + ".json").read_text())
    corpus = [str(SHARED_DATA / entry["file"]) for entry in sidecar["corpus"]]
    for entry in sidecar["corpus"]:
        data = (SHARED_DATA / entry["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            pytest.skip(f"{entry['file']} differs from the copy the shipped tagger was trained on")
    output = tmp_path / "tagger.bin"
    assert (
        data_cli(
            [
                "train-deid",
                "--corpus",
                *corpus,
                "--output",
                str(output),
                "--seed",
                str(sidecar["seed"]),
                "--epochs",
                str(sidecar["epochs"]),
                "--buckets",
                str(sidecar["buckets"]),
                "--copies",
                str(sidecar["copies"]),
                "--runs",
                str(sidecar.get("runs", 1)),
                "--dev-fraction",
                str(sidecar["dev_fraction"]),
                "--quiet",
            ]
        )
        == 0
    )
    assert hashlib.sha256(output.read_bytes()).hexdigest() == sidecar["sha256"], (
        "the shipped tagger is not what train-deid makes now: retrain it (README, De-identification)"
    )


def test_a_model_file_that_is_not_its_sidecars_is_refused(tmp_path):
    path = default_tagger_path()
    copy = tmp_path / "tagger.bin"
    copy.write_bytes(path.read_bytes())
    sidecar = json.loads(path.with_name(path.name + ".json").read_text())
    copy.with_name("tagger.bin.json").write_text(json.dumps({**sidecar, "sha256": "0" * 64}))
    with pytest.raises(ValueError, match="differs from"):
        HybridDeidentifier(copy)
    with pytest.raises(FileNotFoundError, match="no such file"):
        HybridDeidentifier(tmp_path / "missing.bin")


NOTES = [
    "Spoke with son Marcus re: discharge plan. He agrees.",
    "Pt's daughter Jenny called, will visit tomorrow. Lasix 40 mg IV given. Foley draining clear urine.",
    "MRS GONZALEZ REPORTS FEELING BETTER TODAY.",
    "The patient is a pleasant 72-year-old woman from Duluth who presents with dyspnea.",
    "Bell's palsy on the left. Parkinson disease. Down syndrome. Heart rate regular.",
]


def test_hybrid_finds_cue_less_names_and_keeps_medical_words():
    results = HybridDeidentifier(num_threads=1).deidentify_batch(NOTES)
    found = [{(text[s:e], kind) for s, e, kind in r.spans} for text, r in zip(NOTES, results)]
    assert ("Marcus", "NAME") in found[0]
    assert ("Jenny", "NAME") in found[1]
    assert not {"Lasix", "Foley"} & {text for text, _ in found[1]}
    assert ("GONZALEZ", "NAME") in found[2]
    assert ("Duluth", "LOCATION") in found[3]
    assert found[4] == set(), found[4]


# Forms of real notes with no cue word: first names as subjects and objects, organisations other
# than hospitals, countries said of the person, towns after "lives in"; and words nearby that must
# stay: a state code that is an "ID", a line's "Tel", chemistry words, an eponym.
NO_CUE = [
    ("Follow-up visit. Instructed Dorinda to avoid caffeine and alcohol.", [("Dorinda", "NAME")]),
    ("She stated that Marisol was going to have her wisdom teeth removed.", [("Marisol", "NAME")]),
    (
        "Retired from Halvorsen Trucking in 2011. Fills prescriptions at Bexley Pharmacy.",
        [("Halvorsen Trucking", "HOSPITAL"), ("Bexley Pharmacy", "HOSPITAL")],
    ),
    ("Born in Portugal; moved to Tulsa in 1998.", [("Portugal", "LOCATION"), ("Tulsa", "LOCATION")]),
    (
        "Records from Quarnby Valley Hospital were reviewed. Lives in Oswego, NY 13126.",
        [("Quarnby Valley Hospital", "HOSPITAL"), ("Oswego, NY", "LOCATION")],
    ),
    ("Lives with her daughter in Brackenridge, independent with ADLs.", [("Brackenridge", "LOCATION")]),
]
KEPT = [
    "Interpreter: Ann Lee, ID 55-3321. Tel 555-201-3344.",
    "The serine protease cleaves peptide bonds. Von Hippel-Lindau disease.",
]


def test_hybrid_finds_names_places_and_organisations_without_cues():
    engine = HybridDeidentifier(num_threads=1)
    texts = [t for t, _ in NO_CUE]
    for (text, wanted), result in zip(NO_CUE, engine.deidentify_batch(texts)):
        found = {(text[s:e], kind) for s, e, kind in result.spans}
        assert set(wanted) <= found, (text, found)
    kept = [
        {text[s:e] for s, e, kind in r.spans if kind in ("NAME", "LOCATION", "HOSPITAL")}
        for text, r in zip(KEPT, engine.deidentify_batch(KEPT))
    ]
    assert kept == [{"Ann Lee"}, set()], kept


# Names a cue points at, in the forms nursing and operative notes write them: lowercase, capitals
# or invented, after a relation, a staff abbreviation, a verb of communication; a clause's subject
# before "notified", "aware", "was brought"; signed initials. A name found once is found again in
# any case. And words nearby that must stay: answer options of an exam question (an initial and an
# ordinary word), a "Tel" line after an address, role words and ordinary words after the same cues.
CUED = [
    ("Lives alone; her granddaughter qeltrabo checks in most days.", ["qeltrabo"]),
    ("PT'S SON VARNOSKI HERE, BROUGHT HOME MEDS.", ["VARNOSKI"]),
    ("Critical potassium read back to Zembrosa at 0410.", ["Zembrosa"]),
    ("Message left with Truvellin at the front desk.", ["Truvellin"]),
    ("msw drevanko notified of the housing issue.", ["drevanko"]),
    ("Dressing saturated; Ostravel notified, pressure held.", ["Ostravel"]),
    ("Stable overnight, KTW aware of low urine output.", ["KTW"]),
    ("Patient advised to go to ED. -m.t.k.\nNext line.", ["m.t.k."]),
    ("PROCEDURE:  Velnaris Quobrecht was brought to the operating room.", ["Velnaris Quobrecht"]),
    ("wife trelbani at bedside.  Trelbani asked about discharge.", ["trelbani", "Trelbani"]),
]
CUED_KEPT = [
    (
        "Which drug is correct?\nA. increases renal clearance\nB. irreversibly inhibits the enzyme\n"
        "C. binds glucocorticoid receptors\nD. prolongs the QT interval"
    ),
    "Jaramillo Valley Hospital\n7425 W. Main Drive\nSpringfield, IL 62701\nTel 449 645 4861  Fax 863 887 4594",
    "Sitter at bedside.  Wife at bedside.  Spoke with family.  Calling out for help overnight.",
]


def test_hybrid_finds_names_after_cues_and_keeps_nearby_words():
    engine = HybridDeidentifier(num_threads=1)
    for (text, wanted), result in zip(CUED, engine.deidentify_batch([t for t, _ in CUED])):
        names = {text[s:e] for s, e, kind in result.spans if kind == "NAME"}
        assert set(wanted) <= names, (text, names)
    for text, result in zip(CUED_KEPT, engine.deidentify_batch(CUED_KEPT)):
        found = {(text[s:e], kind) for s, e, kind in result.spans if kind in ("NAME", "LOCATION")}
        assert {w for w, _ in found} <= {"Springfield, IL"}, (text, found)


def test_hybrid_gives_the_same_spans_on_one_and_two_threads():
    texts = NOTES * 10
    if SHARED_DATA.is_dir():
        texts += [r["text"] for r in read_jsonl(SHARED_DATA / "clinical_notes.jsonl")[:300]]
    one = HybridDeidentifier(num_threads=1).deidentify_batch(texts)
    two = HybridDeidentifier(num_threads=2).deidentify_batch(texts)
    assert one == two
    assert one[: len(NOTES)] == one[len(NOTES) : 2 * len(NOTES)], "a text's result does not depend on its batch"


@needs_shared_data
def test_few_words_replaced_in_medical_reference_text():
    """PubMed abstracts, the drug lexicon and ICD-10 descriptions hold almost no PHI: the share of
    their whitespace words the hybrid engine replaces stays under 0.5%."""
    texts = [
        r["text"]
        for name in ("pubmed_abstracts", "drug_lexicon", "icd10_descriptions")
        for r in read_jsonl(SHARED_DATA / f"{name}.jsonl")
    ]
    results = HybridDeidentifier().deidentify_batch(texts)
    words = sum(len(t.split()) for t in texts)
    replaced = sum(len(t[s:e].split()) for t, r in zip(texts, results) for s, e, _ in r.spans)
    assert replaced / words < 0.005, f"{replaced:,} of {words:,} words replaced"


# --- lexicons and planting ------------------------------------------------------------------------


def test_lexicons():
    lexicons = load_lexicons()
    for category in (
        "first_name",
        "last_name",
        "city",
        "state",
        "state_abbr",
        "country",
        "street_suffix",
        "stop",
        "title",
        "credential",
        "relation",
        "staff",
        "hospital_word",
        "medical_head",
    ):
        assert lexicons[category], category
    assert {"Utah", "Texas"} <= set(lexicons["state"]) and "Boston" in lexicons["city"]
    assert lexicons["first_name"] == sorted(set(lexicons["first_name"]))
    assert (
        lexicon_fingerprint() == lexicon_fingerprint(lexicons) == _core.DeidEngine(None, lexicons).lexicon_fingerprint
    )
    assert reserved_for_evaluation("x") == (zlib.crc32(b"x") % 10 >= 8)
    pool = planting_pool(["Anna", "Boris", "Foley", "Salt Lake City", "x"] + [f"Name{i}" for i in range(50)], {"foley"})
    assert "Foley" not in pool
    assert all(not reserved_for_evaluation(e) for e in pool)
    assert len(pool) >= 30


def test_planting_is_deterministic_and_labels_real_cue_names():
    lexicons = load_lexicons()
    pools = Pools(lexicons, ["heart"])
    text = (
        "HISTORY:,  The patient was seen by Dr. Okonkwo for chest pain.  She lives with her husband.  "
        "Dr. X reviewed the films at XYZ Hospital.  Vitals are stable.  Okonkwo agreed with the plan."
    )
    doc = Document("d1", "clinical_notes", text, "g1")
    rules = _core.deidentify_batch([text])[0][1]
    planter = Planter(pools, lexicons, [], seed=3)
    first = planter.plant(doc, rules)
    assert planter.plant(doc, rules) == first
    assert planter.plant(doc, rules, copy=1) != first
    labelled = [(first.text[s:e], label) for s, e, label in first.spans]
    assert ("Okonkwo", "NAME") in labelled, labelled
    assert all(label in ("NAME", "HOSPITAL", "LOCATION", None) for _, label in labelled)
    assert all(a[1] <= b[0] for a, b in zip(first.spans, first.spans[1:])), "sorted and disjoint"
    assert "Vitals are stable." in first.text, "real text is kept"
    _, spans = render("Seen by {F} {L} from PT, with {R} {P}.", Surrogates(pools, random.Random(1)))
    assert len(spans) == 2 and spans[0][2] == "NAME", "adjacent first and last name are one span"
    # Organisations are HOSPITAL, countries said of the person LOCATION, other countries O.
    sentence, spans = render("Works for {O}. Born in {K}. Endemic in {Q}.", Surrogates(pools, random.Random(2)))
    assert [label for _, _, label in spans] == ["HOSPITAL", "LOCATION"], (sentence, spans)
    assert sentence.endswith(".") and sentence[spans[1][1] :].startswith(". Endemic in ")


def test_planting_leaves_real_cue_less_names_unlabelled():
    """A real name with no cue ("Instructed Ben to ...") is neither O (that would teach the model
    to miss it) nor NAME (it may be a word): its label is unknown."""
    lexicons = load_lexicons()
    pools = Pools(lexicons, [])
    text = "Follow-up visit.  Instructed Ben to avoid caffeine.  Vitals are stable."
    doc = Document("d2", "clinical_notes", text, "g2")
    example = Planter(pools, lexicons, [], seed=5).plant(doc, [])
    ben = example.text.index("Instructed Ben") + len("Instructed ")
    assert (ben, ben + 3, None) in example.spans, example.spans
