"""`medtitan-data build` end to end on the demo corpus: shards a Megatron reader reads, every
document accounted for, planted PHI / duplicates / evaluation leaks handled, determinism
across worker counts, kill-and-resume, bad input."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from medtitan.data.shards import ShardDataset, verify
from tests.build_helpers import demo_config, output_files, read_megatron, run_build, write_config
from tests.conftest import read_jsonl


@pytest.fixture(scope="module")
def demo_build(demo_dir, demo_tokenizer_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("build")
    # keep_work: a test below reads the tokenized partitions of work/filter.
    config = demo_config(
        folder / "demo.toml", demo_dir, demo_tokenizer_dir / "tokenizer.model", workers=2, keep_work=True
    )
    result = run_build(config)
    assert result.returncode == 0, result.stderr + result.stdout
    return folder / "build", result.stdout, config


def stage_invariants(report: dict) -> None:
    previous_kept = None
    for name, stage in report["stages"].items():
        assert stage["in"] == stage["kept"] + stage["removed"] + stage["quarantined"], name
        assert (
            sum(stage["reasons"].get(k, 0) for k in stage["reasons"] if not k.startswith("quarantined"))
            == stage["removed"]
        ), name
        if previous_kept is not None:
            assert stage["in"] == previous_kept, f"{name} receives what the stage before kept"
        previous_kept = stage["kept"]


def test_shards_are_readable_by_a_reader_written_from_the_spec(demo_build, demo_tokenizer_dir):
    output, _, _ = demo_build
    manifest = json.loads((output / "manifest.json").read_text())
    eos = manifest["eos_id"]
    assert manifest["dtype"] == "uint16" and manifest["sample_len"] == manifest["seq_len"] + 1 == 257
    for split, info in manifest["splits"].items():
        samples = [s for shard in info["shards"] for s in read_megatron(output / info["folder"] / shard)]
        assert len(samples) == info["samples"] > 0
        assert sum(len(s) for s in samples) == info["tokens"] == info["samples"] * 257
        assert all(len(s) == 257 for s in samples)
        eos_count = sum(int((s == eos).sum()) for s in samples)
        report = json.loads((output / "report.json").read_text())
        # Every packed document ends with </s>; only the dropped tail loses its end.
        # Validation is packed per doc_type, so each type may drop a tail.
        tails = 1 if split == "train" else len(report["validation_doc_types"])
        assert abs(eos_count - report["splits"][split]["documents"]) <= tails
        vocab = manifest["tokenizer"]["vocab_size"]
        assert all(int(s.max()) < vocab for s in samples)


def test_shard_dataset_gives_zero_copy_views(demo_build):
    from medtitan.data import ShardDataset as PublicShardDataset

    assert PublicShardDataset is ShardDataset
    output, _, _ = demo_build
    dataset = ShardDataset(output / "train")
    manifest = json.loads((output / "manifest.json").read_text())
    assert len(dataset) == manifest["splits"]["train"]["samples"]
    first, last = dataset[0], dataset[-1]
    assert first.dtype == np.uint16 and len(first) == 257
    assert isinstance(first.base, np.memmap) or isinstance(first, np.memmap)
    assert not first.flags.owndata and not first.flags.writeable
    reference = [s for shard in manifest["splits"]["train"]["shards"] for s in read_megatron(output / "train" / shard)]
    assert np.array_equal(first, reference[0]) and np.array_equal(last, reference[-1])
    with pytest.raises(IndexError):
        dataset[len(dataset)]


def test_every_document_is_accounted_for(demo_build, demo_dir):
    output, stdout, _ = demo_build
    report = json.loads((output / "report.json").read_text())
    stage_invariants(report)
    total = sum(len(read_jsonl(p)) for p in demo_dir.glob("*.jsonl"))
    assert report["stages"]["ingest"]["in"] == total
    removed = read_jsonl(output / "removed.jsonl")
    assert len(removed) == sum(report["stages"][name]["removed"] for name in ("filter", "dedup", "decontaminate"))
    assert "stage" in stdout and "throughput" in stdout and "achieved" in stdout


def test_planted_duplicates_and_leaks_are_removed_and_nothing_else(demo_build, demo_dir):
    output, _, _ = demo_build
    removed = {(r["id"], r["reason"]) for r in read_jsonl(output / "removed.jsonl")}
    by_reason: dict[str, set] = {}
    for doc_id, reason in removed:
        by_reason.setdefault(reason, set()).add(doc_id)
    families = read_jsonl(demo_dir / "ground_truth" / "duplicates.jsonl")
    filtered = by_reason.get("too_short", set()) | by_reason.get("non_alphanumeric", set())
    planted_copies = {c for f in families for c in f["copies"]}
    dedup_removed = by_reason.get("exact_duplicate", set()) | by_reason.get("near_duplicate", set())
    # Each family keeps exactly one member (the smallest id) and loses the others.
    for family in families:
        members = sorted(m for m in [family["original"]] + family["copies"] if m not in filtered)
        if members:
            assert members[0] not in dedup_removed, family
            assert set(members[1:]) <= dedup_removed, family
    false_merges = dedup_removed - {m for f in families for m in [f["original"]] + f["copies"]}
    assert not false_merges
    assert len(dedup_removed) >= 0.99 * len(planted_copies - filtered)
    contaminated = {r["doc_id"] for r in read_jsonl(demo_dir / "ground_truth" / "contamination.jsonl")}
    removed_for_leaks = by_reason.get("contaminated", set())
    assert contaminated - dedup_removed - filtered <= removed_for_leaks, "every planted leak is removed"
    assert removed_for_leaks <= contaminated, "the clean corpus loses nothing to decontamination"
    audit = read_jsonl(output / "decontamination_audit.jsonl")
    assert all(row["overlap"] > 0.7 and row["eval_id"].startswith("demo-mcq-") for row in audit)


def test_phi_is_replaced_by_placeholders(demo_build, demo_dir):
    output, _, _ = demo_build
    report = json.loads((output / "report.json").read_text())
    spans = report["stages"]["deid"]["spans"]
    assert spans.get("NAME", 0) > 1000 and spans.get("DATE", 0) > 1000
    from medtitan.tokenizer import Tokenizer

    manifest = json.loads((output / "manifest.json").read_text())
    tokenizer = Tokenizer.from_file(manifest["tokenizer"]["path"])
    text = "".join(tokenizer.decode(s.tolist()) for s in list(ShardDataset(output / "train"))[:200])
    assert "[NAME]" in text and "[DATE]" in text and "[MRN]" in text
    truth = read_jsonl(demo_dir / "ground_truth" / "phi_spans.jsonl")
    ssns = {s["text"] for row in truth for s in row["spans"] if s["type"] == "SSN"}
    assert ssns and not any(ssn in text for ssn in ssns)


def test_mix_reaches_the_configured_shares_and_validation_spans_every_doc_type(demo_build):
    output, _, _ = demo_build
    report = json.loads((output / "report.json").read_text())
    for name, source in report["sources"].items():
        assert source["achieved_share"] == pytest.approx(source["target_share"], abs=0.01), name
    assert set(report["validation_doc_types"]) == {s["doc_type"] for s in report["sources"].values()}


def _window_hashes(ids: np.ndarray, width: int) -> np.ndarray:
    """A 64-bit polynomial hash of every `width`-token window (wrapping uint64 arithmetic)."""
    if len(ids) < width:
        return np.zeros(0, np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(ids.astype(np.uint64), width)
    powers = np.uint64(1_000_003) ** np.arange(width, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return (windows * powers).sum(axis=1, dtype=np.uint64)


def test_every_validation_sample_is_labelled_with_the_doc_type_of_its_documents(demo_build):
    """doc_types.json beside the validation shards: one label per sample, in shard order, and
    each sample's token windows come from documents of that type (looked up in the build's
    tokenized partitions)."""
    from medtitan.data.shards import sample_doc_types

    output, _, _ = demo_build
    manifest = json.loads((output / "manifest.json").read_text())
    eos, width = manifest["eos_id"], 16
    windows_by_type: dict[str, list] = {}
    for rows_path in sorted((output / "work" / "filter").glob("part-*[0-9].jsonl")):
        tokens = np.load(rows_path.with_suffix(".tokens.npz"))
        ids, offsets = tokens["ids"], tokens["offsets"]
        for index, row in enumerate(read_jsonl(rows_path)):
            windows_by_type.setdefault(row["doc_type"], []).append(
                _window_hashes(ids[offsets[index] : offsets[index + 1]], width)
            )
    windows = {t: np.unique(np.concatenate(h)) for t, h in windows_by_type.items()}
    names, labels = sample_doc_types(output / "validation")
    dataset = ShardDataset(output / "validation")
    assert len(labels) == len(dataset) == manifest["splits"]["validation"]["samples"]
    assert set(names) == set(json.loads((output / "report.json").read_text())["validation_doc_types"])
    assert set(labels.tolist()) == set(range(len(names)))  # every doc_type has samples
    for number, (sample, label) in enumerate(zip(dataset, labels)):
        pieces = np.split(np.asarray(sample), np.flatnonzero(sample == eos))  # windows never cross </s>
        hashes = np.concatenate([_window_hashes(p[p != eos], width) for p in pieces])
        found = {t for t, known in windows.items() if np.isin(hashes, known).mean() > 0.9}
        assert found == {names[label]}, (number, names[label], found)


def test_inspect_verifies_checksums_and_catches_corruption(demo_build, tmp_path):
    import shutil

    output, _, _ = demo_build
    script = Path(sys.executable).with_name("medtitan-data")
    ok = subprocess.run([str(script), "inspect", str(output), "--verify"], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "0 problems" in ok.stdout and "train:" in ok.stdout
    copy = tmp_path / "copy"
    shutil.copytree(output, copy, ignore=shutil.ignore_patterns("work"))
    shard = next((copy / "train").glob("*.bin"))
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert any("sha256 differs" in p for p in verify(copy))
    bad = subprocess.run([str(script), "inspect", str(copy), "--verify"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "FAILED" in bad.stdout


def test_same_output_whatever_the_number_of_workers(demo_build, demo_dir, demo_tokenizer_dir, tmp_path):
    output, _, _ = demo_build
    config = demo_config(
        tmp_path / "one.toml", demo_dir, demo_tokenizer_dir / "tokenizer.model", output=tmp_path / "one", workers=1
    )
    result = run_build(config)
    assert result.returncode == 0, result.stderr
    assert output_files(tmp_path / "one") == output_files(output)


@pytest.mark.parametrize("crash", ["deid:1", "filter:2", "decontaminate:3", "pack", "write"])
def test_a_build_killed_mid_stage_resumes_to_identical_output(
    crash, demo_build, demo_dir, demo_tokenizer_dir, tmp_path
):
    output, _, _ = demo_build
    config = demo_config(
        tmp_path / "crash.toml", demo_dir, demo_tokenizer_dir / "tokenizer.model", output=tmp_path / "out", workers=2
    )
    crashed = run_build(config, env={"MEDTITAN_BUILD_CRASH": crash})
    assert crashed.returncode == 75, crashed.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()
    # keep_work is false (the default), yet a failed build keeps its work to resume from.
    assert (tmp_path / "out" / "work" / "state.json").exists()
    assert (tmp_path / "out" / "private" / "work" / "ingest" / "DONE.json").exists()
    resumed = run_build(config)
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(tmp_path / "out") == output_files(output)
    assert not (tmp_path / "out" / "work").exists() and not (tmp_path / "out" / "private").exists()


def test_a_build_killed_at_a_random_moment_resumes_to_identical_output(
    demo_build, demo_dir, demo_tokenizer_dir, tmp_path
):
    output, _, _ = demo_build
    config = demo_config(
        tmp_path / "kill.toml", demo_dir, demo_tokenizer_dir / "tokenizer.model", output=tmp_path / "out", workers=2
    )
    script = Path(sys.executable).with_name("medtitan-data")
    for delay in (0.8, 1.6):
        process = subprocess.Popen(
            [str(script), "build", "--config", str(config), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    resumed = run_build(config)
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(tmp_path / "out") == output_files(output)


def test_bad_input_is_quarantined_with_file_and_record(demo_dir, demo_tokenizer_dir, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    bad = tmp_path / "bad"
    bad.mkdir()
    good = read_jsonl(demo_dir / "clinical_notes.jsonl")[:120]
    payload = "".join(json.dumps(r) + "\n" for r in good).encode()
    (bad / "truncated.jsonl.gz").write_bytes(gzip.compress(payload)[:-200])
    lines = [json.dumps(r) for r in good[:20]] + [
        "{not json",
        '{"body": "wrong field name"}',
        '{"text": null}',
        "[1, 2]",
    ]
    (bad / "malformed.jsonl").write_text("\n".join(lines) + "\n")
    (bad / "garbage.jsonl").write_bytes(bytes(range(256)) * 40 + b"\n\x00\xff\xfe binary \n")
    (bad / "empty.jsonl").write_bytes(b"")
    huge = '{"id": "huge", "text": "' + "a" * (200 * 1024 * 1024) + '"}\n'
    (bad / "huge.jsonl").write_text(huge)
    del huge
    pq.write_table(pa.table({"body": ["no text column here"]}), bad / "wrong_schema.parquet")
    sources = [
        (name, [bad / name], "clinical_notes", 1.0)
        for name in (
            "truncated.jsonl.gz",
            "malformed.jsonl",
            "garbage.jsonl",
            "empty.jsonl",
            "huge.jsonl",
            "wrong_schema.parquet",
        )
    ]
    config = write_config(
        tmp_path / "bad.toml", demo_tokenizer_dir / "tokenizer.model", sources, validation_tokens=1000
    )
    result = run_build(config)
    assert result.returncode == 0, result.stderr + result.stdout
    output = tmp_path / "build"
    report = json.loads((output / "report.json").read_text())
    stage_invariants(report)
    quarantine = read_jsonl(output / "quarantine.jsonl")
    where = {(Path(q["path"]).name, q["line"]) for q in quarantine}
    assert ("malformed.jsonl", 21) in where and ("malformed.jsonl", 24) in where
    assert any(name == "huge.jsonl" for name, _ in where)
    assert any(name == "wrong_schema.parquet" for name, _ in where)
    assert any(
        name == "truncated.jsonl.gz" and "unreadable" in q["reason"]
        for q in quarantine
        for name in [Path(q["path"]).name]
    )
    assert sum(1 for q in quarantine if Path(q["path"]).name == "garbage.jsonl") >= 1
    reasons = " | ".join(q["reason"] for q in quarantine)
    assert "missing text field 'text'" in reasons and "exceeds" in reasons and "malformed JSON" in reasons
    assert report["stages"]["ingest"]["kept"] >= 20  # the good records of every file made it through


def test_config_errors_name_the_file_and_key(demo_tokenizer_dir, tmp_path):
    config = write_config(
        tmp_path / "typo.toml",
        demo_tokenizer_dir / "tokenizer.model",
        [("x", [tmp_path / "absent.jsonl"], "notes", 1.0)],
        seq_len=0,
    )
    result = run_build(config)
    assert result.returncode == 2 and "typo.toml" in result.stderr and "seq_len" in result.stderr
    (tmp_path / "data.jsonl").write_text('{"text": "hello"}\n')
    config = write_config(
        tmp_path / "missing.toml",
        demo_tokenizer_dir / "tokenizer.model",
        [("x", [tmp_path / "absent.jsonl"], "notes", 1.0)],
    )
    result = run_build(config)
    assert result.returncode == 2 and "absent.jsonl does not exist" in result.stderr
    config.write_text(config.read_text() + "\n[filters]\nmin_tokenz = 3\n")
    result = run_build(config)
    assert result.returncode == 2 and "min_tokenz" in result.stderr


def test_token_budget_size_capped_shards_and_the_perplexity_hook(demo_dir, demo_tokenizer_dir, tmp_path):
    (tmp_path / "my_scorer.py").write_text(
        "def score(texts):\n    return [1000.0 if 'Drug information note' in t else 5.0 for t in texts]\n"
    )
    extra = '\n[filters]\nperplexity_scorer = "my_scorer:score"\nmax_perplexity = 100.0\n'
    config = demo_config(
        tmp_path / "budget.toml",
        demo_dir,
        demo_tokenizer_dir / "tokenizer.model",
        total_tokens=300_000,
        shard_bytes=40 * 257 * 2,
        extra=extra,
    )
    result = run_build(config, env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr + result.stdout
    output = tmp_path / "build"
    report = json.loads((output / "report.json").read_text())
    stage_invariants(report)
    assert report["stages"]["filter"]["reasons"]["perplexity"] >= 10
    removed = [r for r in read_jsonl(output / "removed.jsonl") if r["reason"] == "perplexity"]
    texts = {r["id"]: r["text"] for r in read_jsonl(demo_dir / "pharmacology.jsonl")}
    assert all("Drug information note" in texts[r["id"]] for r in removed)
    achieved = sum(s["achieved_tokens"] for s in report["sources"].values())
    assert achieved == pytest.approx(300_000, rel=0.02)
    manifest = json.loads((output / "manifest.json").read_text())
    shards = manifest["splits"]["train"]["shards"]
    assert len(shards) > 10 and all((output / "train" / f"{s}.bin").stat().st_size <= 40 * 257 * 2 for s in shards)
    assert sum(len(read_megatron(output / "train" / s)) for s in shards) == manifest["splits"]["train"]["samples"]


def test_large_vocabularies_are_written_as_int32_and_read_back(tmp_path):
    from medtitan import _core

    sample_len, samples = 5, 7
    tokens = np.arange(samples * sample_len, dtype="<u4") + 70_000  # ids beyond uint16
    (tmp_path / "packed.u32").write_bytes(tokens.tobytes())
    shards = _core.write_shards(tmp_path / "packed.u32", sample_len, 3, 3, 128_000, tmp_path / "big")
    assert [s["samples"] for s in shards] == [3, 3, 1]
    dataset = ShardDataset(tmp_path)
    assert dataset.dtype == np.dtype("<i4") and len(dataset) == samples
    rows = sorted(tuple(dataset[i].tolist()) for i in range(samples))
    assert rows == [tuple(range(70_000 + k * sample_len, 70_000 + (k + 1) * sample_len)) for k in range(samples)]
    assert [
        tuple(s.tolist()) for p in sorted(tmp_path.glob("big-*.idx")) for s in read_megatron(p.with_suffix(""))
    ] == [tuple(dataset[i].tolist()) for i in range(samples)]


def test_an_empty_split_is_one_shard_every_reader_can_memory_map(tmp_path):
    """No samples: one shard of no sequences whose .bin holds one unused token, so a reader
    that memory-maps the .bin (Megatron's does; numpy cannot map an empty file) opens it."""
    from medtitan import _core

    (tmp_path / "packed.u32").write_bytes(b"")
    (shard,) = _core.write_shards(tmp_path / "packed.u32", 5, 3, 3, 8000, tmp_path / "validation")
    assert shard["samples"] == 0
    prefix = tmp_path / "validation-00000"
    assert np.memmap(prefix.with_name(prefix.name + ".bin"), dtype="<u2", mode="r").shape == (1,)
    assert read_megatron(prefix) == [] and len(ShardDataset(tmp_path)) == 0
