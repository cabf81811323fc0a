"""The Rust encoder gives sentencepiece's ids exactly: differential tests on real and random
text, for models exercising every code path (charsmap normalizer, identity normalizer with
whitespace runs, user-defined symbols, byte fallback, unknown runs, unused pieces)."""

from __future__ import annotations

import json
import random

import pytest
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2

from medtitan.tokenizer import Tokenizer, TokenizerTrainingConfig, train_tokenizer
from tests.conftest import SHARED_DATA, needs_shared_data, read_jsonl

MISTRAL = SHARED_DATA / "baseline_tokenizers" / "tokenizer.model.v1"

# Pieces of random text: every kind of character that trips tokenizers.
ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyz",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    ".,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`",
    "éèêëàâäôöûüçñß",
    "e\u0301a\u0300o\u0308n\u0303",  # combining marks
    "中文字符医学病人",
    "日本語のテキスト",
    "한국어",
    "Ωμέγα",
    "кириллица",
    "עברית",
    "العربية",
    "😀🩺💊🫀🧬",
    "\U0001f468\u200d\u2695\ufe0f",
    "\u00a0\u2002\u3000\u200b\ufeff",  # odd spaces, zero widths
    "\x00\x01\x07\x1b\x7f",
    "ＦＵＬＬＷＩＤＴＨ１２３",
    "ﬁﬂ№™½²",
    "▁",
    "\ufffd",
]
MEDICAL = [
    "methylprednisolone",
    "[HISTORY]",
    "[PLAN]",
    "pneumothorax",
    "acetaminophen 500mg",
    "q.i.d.",
    "[IMPRESSION]:",
    "<s>",
    "</s>",
    "<unk>",
    "<0x41>",
    "p.o.",
    "XXXX-year-old",
]


def random_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    texts = ["", " ", "   ", "\n\n", "a", "▁▁", "x" * 3000, "methylprednisolone" * 50]
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(0, 25)):
            if rng.random() < 0.25:
                parts.append(rng.choice(MEDICAL))
            else:
                alphabet = rng.choice(ALPHABETS)
                parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))))
        texts.append(rng.choice(["", " ", "  "]).join(parts))
    return texts


def assert_same_ids(model_path, texts: list[str]) -> None:
    processor = spm.SentencePieceProcessor(model_file=str(model_path))
    tokenizer = Tokenizer.from_file(model_path)
    ours = tokenizer.encode_batch(texts)
    reference = processor.encode(texts)
    mismatches = [i for i, (a, b) in enumerate(zip(ours, reference)) if a != b]
    assert len(ours) == len(reference) == len(texts)
    if mismatches:
        i = mismatches[0]
        pytest.fail(
            f"{len(mismatches)} of {len(texts)} texts differ from sentencepiece on {model_path}; first "
            f"{texts[i]!r}: ours {[processor.id_to_piece(x) for x in ours[i]]} "
            f"sentencepiece {[processor.id_to_piece(x) for x in reference[i]]}"
        )
    # Single calls and one thread give the same ids as the batch on all cores.
    assert [tokenizer.encode(t) for t in texts[:300]] == reference[:300]
    assert tokenizer.encode_batch(texts, num_threads=1) == reference


@pytest.fixture(scope="module")
def identity_model(demo_dir, tmp_path_factory):
    """LLaMA-like options: identity normalizer, spaces kept, digits split, whitespace-only pieces."""
    output = tmp_path_factory.mktemp("identity_tokenizer")
    config = TokenizerTrainingConfig(
        vocab_size=3000,
        sample_chars=2_000_000,
        normalization="identity",
        collapse_spaces=False,
        split_digits=True,
        split_by_unicode_script=True,
    )
    train_tokenizer([demo_dir], output, config, progress=False)
    return output / "tokenizer.model"


@pytest.fixture(scope="module")
def model_with_unused_pieces(demo_tokenizer_dir, tmp_path_factory):
    """The demo model with some merged pieces marked UNUSED, and no byte fallback: exercises
    sentencepiece's resegmentation of unused pieces and its merging of unknown runs."""
    proto = model_pb2.ModelProto()
    proto.ParseFromString((demo_tokenizer_dir / "tokenizer.model").read_bytes())
    normal = [p for p in proto.pieces if p.type == model_pb2.ModelProto.SentencePiece.NORMAL and len(p.piece) > 2]
    for piece in normal[::7]:
        piece.type = model_pb2.ModelProto.SentencePiece.UNUSED
    kept = [p for p in proto.pieces if p.type != model_pb2.ModelProto.SentencePiece.BYTE]
    del proto.pieces[:]
    proto.pieces.extend(kept)
    proto.trainer_spec.byte_fallback = False
    path = tmp_path_factory.mktemp("unused") / "unused.model"
    path.write_bytes(proto.SerializeToString())
    return path


def demo_texts(demo_dir) -> list[str]:
    texts = []
    for path in sorted(demo_dir.glob("*.jsonl")) + [demo_dir / "evals" / "demo_mcq.jsonl"]:
        texts += [record["text"] for record in read_jsonl(path)]
    return texts


def test_demo_model_matches_sentencepiece_on_the_demo_corpus_and_random_unicode(demo_dir, demo_tokenizer_dir):
    model = demo_tokenizer_dir / "tokenizer.model"
    assert Tokenizer.from_file(model)._core.splits_into_words
    assert_same_ids(model, demo_texts(demo_dir) + random_texts(1, 3000))


def test_identity_model_with_whitespace_runs_matches_sentencepiece(demo_dir, identity_model):
    tokenizer = Tokenizer.from_file(identity_model)
    assert tokenizer.normalize("a  b") == "▁a▁▁b"  # runs of spaces are kept, not collapsed
    assert tokenizer._core.splits_into_words
    assert_same_ids(identity_model, demo_texts(demo_dir)[:800] + random_texts(2, 3000))


def test_unused_pieces_and_unknown_runs_match_sentencepiece(demo_dir, model_with_unused_pieces):
    tokenizer = Tokenizer.from_file(model_with_unused_pieces)
    assert not tokenizer._core.splits_into_words  # unused pieces force whole-sentence encoding
    texts = demo_texts(demo_dir)[:600] + random_texts(3, 2000)
    assert_same_ids(model_with_unused_pieces, texts)
    # Without byte fallback, a run of unknown characters is one <unk>.
    assert tokenizer.encode("中文字符") == [tokenizer.piece_to_id("▁"), tokenizer.unk_id]


@needs_shared_data
@pytest.mark.parametrize("which", ["medical_64k", "mistral_v1"])
def test_every_shared_document_and_random_unicode_match_sentencepiece(which, request):
    model = request.getfixturevalue("medical_64k_dir") / "tokenizer.model" if which == "medical_64k" else MISTRAL
    texts = []
    for path in sorted(SHARED_DATA.glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    assert len(texts) > 35_000
    assert_same_ids(model, texts + random_texts(4, 5000))


def test_decode_matches_sentencepiece_including_broken_byte_sequences(demo_tokenizer_dir, model_with_unused_pieces):
    for model in (demo_tokenizer_dir / "tokenizer.model", model_with_unused_pieces):
        processor = spm.SentencePieceProcessor(model_file=str(model))
        tokenizer = Tokenizer.from_file(model)
        for text in random_texts(5, 500):
            ids = tokenizer.encode(text)
            assert tokenizer.decode(ids) == processor.decode(ids)
        rng = random.Random(6)
        for _ in range(500):  # random ids: control pieces, lone byte pieces, unknowns
            ids = [rng.randrange(tokenizer.vocab_size) for _ in range(rng.randint(0, 30))]
            assert tokenizer.decode(ids) == processor.decode(ids), ids


def test_decode_round_trips_normalized_text(demo_tokenizer_dir):
    tokenizer = Tokenizer.from_file(demo_tokenizer_dir / "tokenizer.model")
    for text in [
        "The patient was prescribed acetaminophen 500mg for pain.",
        "[PLAN]\n1. Start aspirin 81 mg daily.",
        "Emoji 🩺 and CJK 病人 fall back to bytes",
        "Tabs\tand\nnewlines stay",
    ]:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    with pytest.raises(ValueError, match="invalid id"):
        tokenizer.decode([tokenizer.vocab_size])


def test_flat_file_and_arrow_entry_points_equal_encode_batch(demo_dir, demo_tokenizer_dir, tmp_path):
    import numpy as np
    import pyarrow as pa

    tokenizer = Tokenizer.from_file(demo_tokenizer_dir / "tokenizer.model")
    path = demo_dir / "radiology.jsonl"
    texts = [r["text"] for r in read_jsonl(path)]
    expected = tokenizer.encode_batch(texts)
    for ids, offsets in (
        tokenizer.encode_flat(texts),
        tokenizer.encode_jsonl(path),
        tokenizer.encode_arrow(pa.array(texts)),
        tokenizer.encode_arrow(pa.array(texts, pa.large_string())),
        tokenizer.encode_arrow(pa.chunked_array([texts[:100], texts[100:]])),
    ):
        assert ids.dtype == np.uint32 and offsets.dtype == np.int64 and len(offsets) == len(texts) + 1
        assert [ids[offsets[i] : offsets[i + 1]].tolist() for i in range(len(texts))] == expected
    sliced = pa.array(texts)[5:9]
    ids, offsets = tokenizer.encode_arrow(sliced)
    assert [ids[offsets[i] : offsets[i + 1]].tolist() for i in range(4)] == expected[5:9]


def test_user_defined_section_headers_are_single_tokens(demo_tokenizer_dir):
    tokenizer = Tokenizer.from_file(demo_tokenizer_dir / "tokenizer.model")
    for header in ("[HISTORY]", "[ASSESSMENT]", "[PLAN]", "[MEDICATIONS]", "[ALLERGIES]", "[FINDINGS]", "[IMPRESSION]"):
        assert tokenizer.piece_to_id(header) in tokenizer.encode(f"x {header}\ny")
        # The dummy-prefix space stays apart: a user-defined symbol never merges.
        assert tokenizer.encode(header) == [tokenizer.piece_to_id("▁"), tokenizer.piece_to_id(header)]


# --- bad input ------------------------------------------------------------------------------


def test_missing_and_corrupt_model_files_are_named(tmp_path, demo_tokenizer_dir):
    with pytest.raises(FileNotFoundError, match="nowhere.model"):
        Tokenizer.from_file(tmp_path / "nowhere.model")
    good = (demo_tokenizer_dir / "tokenizer.model").read_bytes()
    cases = {
        "empty.model": b"",
        "text.model": b"this is not a sentencepiece model\n",
        "truncated.model": good[: len(good) // 2],
        "noise.model": bytes(random.Random(0).randrange(256) for _ in range(5000)),
    }
    for name, payload in cases.items():
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(ValueError, match=name):
            Tokenizer.from_file(tmp_path / name)


def test_a_unigram_model_is_refused_with_the_reason(tmp_path, demo_dir):
    lines = [t for r in read_jsonl(demo_dir / "radiology.jsonl")[:300] for t in r["text"].split("\n") if t.strip()]
    with open(tmp_path / "unigram.model", "wb") as writer:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=writer, vocab_size=500, model_type="unigram", minloglevel=2
        )
    with pytest.raises(ValueError, match="unigram.model: only BPE models are supported; this is a unigram model"):
        Tokenizer.from_file(tmp_path / "unigram.model")


def test_non_utf8_and_empty_inputs(tmp_path, demo_tokenizer_dir):
    tokenizer = Tokenizer.from_file(demo_tokenizer_dir / "tokenizer.model")
    assert tokenizer.encode("") == [] and tokenizer.encode_batch([]) == []
    ids, offsets = tokenizer.encode_flat([])
    assert len(ids) == 0 and offsets.tolist() == [0]
    with pytest.raises(UnicodeEncodeError):
        tokenizer.encode("lone surrogate \ud800")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: invalid UTF-8"):
        tokenizer.encode_jsonl(bad)
    malformed = tmp_path / "malformed.jsonl"
    malformed.write_text('{"text": "fine"}\n{"text": \n')
    with pytest.raises(ValueError, match=r"malformed.jsonl:2: malformed JSON"):
        tokenizer.encode_jsonl(malformed)
    with pytest.raises(FileNotFoundError, match="absent.jsonl"):
        tokenizer.encode_jsonl(tmp_path / "absent.jsonl")
    with pytest.raises(ValueError, match="num_threads"):
        tokenizer.encode_batch(["x"], num_threads=0)
