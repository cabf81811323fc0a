"""The garbage test set generator (data_tools/garbage.py): deterministic, every kind made, each
item unlike its source and like its kind."""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter

import pytest

from data_tools import demo_corpus, garbage
from data_tools.pieces import render

PER_KIND = 6


@pytest.fixture(scope="module")
def sources() -> tuple[list[str], list[str]]:
    corpus = demo_corpus.generate(seed=1234, scale=0.05)
    unique: dict[str, str] = {}  # text -> id: the corpus plants exact copies; read_sources keeps the first
    for doc_type in ("clinical_notes", "radiology", "discharge_summaries"):
        for document in corpus.documents[doc_type]:
            unique.setdefault(render(document.pieces)[0], document.id)
    return list(unique.values()), list(unique)


@pytest.fixture(scope="module")
def items(sources) -> list[dict]:
    ids, texts = sources
    return garbage.generate(texts, seed=11, per_kind=PER_KIND, source_ids=ids)


def test_deterministic_per_seed(sources, items):
    ids, texts = sources
    assert garbage.generate(texts, seed=11, per_kind=PER_KIND, source_ids=ids) == items
    other = garbage.generate(texts, seed=12, per_kind=PER_KIND, source_ids=ids)
    assert [i["text"] for i in other] != [i["text"] for i in items]


def test_every_kind_made_and_unlike_its_source(sources, items):
    ids, texts = sources
    by_id = dict(zip(ids, texts))
    assert Counter(i["kind"] for i in items) == {kind: PER_KIND for kind in garbage.KINDS}
    assert len({i["id"] for i in items}) == len(items)
    clean = set(texts)
    for item in items:
        assert set(item) == {"id", "kind", "text", "source_id", "meta"}
        assert len(item["text"]) >= 200, item["id"]
        assert item["text"] not in clean, item["id"]
        if item["kind"] in garbage.DERIVED_KINDS:
            source = by_id[item["source_id"]]
            assert item["text"] != source and item["text"] not in source, item["id"]
        else:
            assert item["source_id"] is None


def _changed(a: str, b: str) -> float:
    return 1.0 - difflib.SequenceMatcher(None, a[:1500], b[:1500], autojunk=False).ratio()


def test_ocr_noise_grows_with_its_rate(sources, items):
    by_id = dict(zip(*sources))
    changed = {}
    for kind, rate in garbage.OCR_RATES.items():
        pairs = [(by_id[i["source_id"]], i["text"]) for i in items if i["kind"] == kind]
        changed[kind] = sum(_changed(s, t) for s, t in pairs) / len(pairs)
        assert 0.4 * rate <= changed[kind] <= 1.5 * rate, (kind, changed[kind])
    assert list(changed.values()) == sorted(changed.values())


def test_each_kind_looks_like_its_name(items):
    of = {kind: [i for i in items if i["kind"] == kind] for kind in garbage.KINDS}
    for item in of["mojibake"]:
        assert re.search("[\u00c2\u00c3\u00e2][\u0080-\u00bf\u0152-\u2122]", item["text"]), item["text"][:200]
    for item in of["number_table"]:
        letters = set(re.findall(r"[A-Za-z]", item["text"]))
        assert letters <= {"e"}, letters  # only the exponent of scientific notation
    for item in of["repeated_lines"]:
        top = Counter(item["text"].split("\n")).most_common(1)[0][1]
        assert top >= 10, item["meta"]
    for item in of["boilerplate"]:
        lines = item["text"].split("\n")
        counts = Counter(lines)
        assert sum(counts[line] > 1 for line in lines) >= 0.5 * len(lines), item["text"][:300]
    for item in of["random_bytes"]:
        assert sum(ch.isascii() and ch.isalpha() for ch in item["text"]) < 0.75 * len(item["text"])
    for item in of["other_language"]:
        assert garbage.LOCALES[item["meta"]["locale"]] == item["meta"]["language"]


def test_locales_are_real_languages_not_latin_fallbacks():
    assert all(garbage.locale_is_real(locale) for locale in garbage.LOCALES)
    assert not garbage.locale_is_real("pt_BR")  # falls back to faker's Latin lorem ipsum
    assert len(set(garbage.LOCALES.values())) >= 20


def test_other_language_items_are_identified_as_their_language(sources):
    from medtitan.quality.langid import LanguageIdentifier

    made = garbage.generate(sources[1], seed=5, per_kind=40, kinds=["other_language"])
    results = LanguageIdentifier().identify([i["text"] for i in made])
    named = sum(language == i["meta"]["language"] for (language, _), i in zip(results, made))
    assert named >= 0.95 * len(made), [(r, i["meta"]) for r, i in zip(results, made) if r[0] != i["meta"]["language"]]


def test_refuses_unknown_kinds_and_short_sources():
    with pytest.raises(ValueError, match="unknown garbage kinds"):
        garbage.generate(["x" * 500], kinds=["ocr_noise_50"])
    with pytest.raises(ValueError, match="at least"):
        garbage.generate(["too short"])


def test_cli_writes_the_set(tmp_path, sources):
    ids, texts = sources
    source = tmp_path / "clean.jsonl"
    source.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(ids, texts)), encoding="utf-8")
    for run in ("a", "b"):
        assert (
            garbage.main(["--output", str(tmp_path / run), "--seed", "3", "--per-kind", "2", "--source", str(source)])
            == 0
        )
    written = (tmp_path / "a" / "garbage.jsonl").read_bytes()
    assert written == (tmp_path / "b" / "garbage.jsonl").read_bytes()
    rows = [json.loads(line) for line in written.decode("utf-8").split("\n") if line]  # not splitlines: U+2028 is text
    assert Counter(r["kind"] for r in rows) == {kind: 2 for kind in garbage.KINDS}
    assert rows == garbage.generate(texts, seed=3, per_kind=2, source_ids=ids)
