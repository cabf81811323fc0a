"""The filter stage's quality filters on garbage and on clean text, in one run: issue 15's
acceptance set.

    .venv/bin/python benchmarks/filter_quality.py [--per-kind 200] [--seed 0] [--json FILE]

../shared/data's clinical notes, radiology reports, PubMed abstracts and general English are split
by a hash of the document id: 90% trains the reference n-gram LM (order 5, the 64K medical
tokenizer), 10% is held out. The garbage set (data_tools/garbage.py) is made from the held-out
texts only, so no garbage item is a corrupted copy of a text the LM was trained on; each item
keeps the doc_type of the text it was made from (kinds made from nothing are dealt to the four
doc_types in turn), so that it is judged as a corrupted document of that source would be. A build
with the default [filters] plus the reference LM (max_perplexity 1000 for uncalibrated doc_types),
de-identification off, runs up to the filter stage on the held-out clean texts and the garbage.
Printed: per garbage kind the share removed and by which filter,
per clean source the share removed with every removal listed, the median and 90th percentile
perplexity per source and kind, and the filter stage's throughput.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from common import REPO, SHARED, medical_tokenizer  # noqa: E402  (benchmarks/ is on sys.path)

CLEAN = {
    "clinical_notes": "clinical_notes.jsonl",
    "radiology": "radiology.jsonl",
    "pubmed_abstracts": "pubmed_abstracts.jsonl",
    "general_english": "general_english.jsonl",
}
# Which filters count as the right reason for each garbage kind.
RIGHT_REASONS = {
    "ocr_noise": {"unknown_words", "perplexity", "language"},
    "random_bytes": {"non_alphanumeric", "mojibake", "language", "perplexity"},  # bytes read in the wrong codec
    "mojibake": {"mojibake", "perplexity", "language", "non_alphanumeric"},
    "number_table": {"non_alphanumeric", "language"},
    "repeated_lines": {"repetition"},
    "boilerplate": {"repetition"},
    "other_language": {"language"},
}


def score_sets(model_path: Path, tokenizer_path: Path, sets: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Each set's perplexities under the reference LM (the same calls the filter stage makes)."""
    from medtitan import _core
    from medtitan.quality.reference_lm import perplexities
    from medtitan.tokenizer import Tokenizer

    model, tokenizer = _core.ReferenceLM.load(str(model_path)), Tokenizer.from_file(tokenizer_path)
    return {name: perplexities(model, *tokenizer.encode_flat(texts)) for name, texts in sets.items()}


def held_out(record: dict) -> bool:
    """One duplicate family in ten (meta.group, else the id): a held-out note's near-copy must not
    be in the training part, or the held-out perplexities come out too low."""
    family = str((record.get("meta") or {}).get("group") or record["id"])
    return int(hashlib.sha256(family.encode()).hexdigest()[:8], 16) % 10 == 0


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"{SHARED} is absent: this benchmark needs ../shared/data")
        return 1
    from data_tools import garbage
    from medtitan.quality.reference_lm import train_reference_lm

    tokenizer = medical_tokenizer()
    bin_ = Path(sys.executable).with_name("medtitan-data")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train, held = {}, {}
        for name, file in CLEAN.items():
            rows = read_jsonl(SHARED / file)
            train[name] = [r for r in rows if not held_out(r)]
            held[name] = [r for r in rows if held_out(r)]
            write_jsonl(work / f"train-{name}.jsonl", train[name])
            write_jsonl(work / f"held-{name}.jsonl", held[name])
        started = time.perf_counter()
        sidecar = train_reference_lm(
            [work / f"train-{n}.jsonl" for n in CLEAN], tokenizer, work / "reference.lm", order=5, progress=False
        )
        lm_seconds = time.perf_counter() - started
        print(
            f"reference LM: order 5, {sidecar['tokens']:,} training tokens ({sidecar['characters'] / 1e6:.1f} MB), "
            f"n-grams {sidecar['ngram_counts']}, {sidecar['bytes'] / 2**20:.1f} MiB, trained in {lm_seconds:.1f} s"
        )

        sources_texts = [r["text"] for name in CLEAN for r in held[name]]
        sources_ids = [f"{name}/{r['id']}" for name in CLEAN for r in held[name]]
        items = garbage.generate(sources_texts, seed=args.seed, per_kind=args.per_kind, source_ids=sources_ids)
        by_kind: dict[str, list[dict]] = defaultdict(list)
        by_group: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for index, item in enumerate(items):
            origin = item["source_id"].split("/")[0] if item["source_id"] else list(CLEAN)[index % len(CLEAN)]
            by_kind[item["kind"]].append(item)
            by_group[(item["kind"], origin)].append({"id": item["id"], "text": item["text"]})
        sources = [(f"clean_{n}", work / f"held-{n}.jsonl", n) for n in CLEAN]
        for (kind, origin), rows in sorted(by_group.items()):
            write_jsonl(work / f"garbage-{kind}-{origin}.jsonl", rows)
            sources.append((f"garbage_{kind}_{origin}", work / f"garbage-{kind}-{origin}.jsonl", origin))
        perplexity_by_set = score_sets(
            work / "reference.lm",
            tokenizer,
            {f"clean {n}": [r["text"] for r in held[n]] for n in CLEAN}
            | {f"garbage {k}": [i["text"] for i in v] for k, v in by_kind.items()},
        )
        lines = [
            "[build]",
            f'output = "{work / "build"}"',
            f'tokenizer = "{tokenizer}"',
            "seq_len = 2048",
            "partition_docs = 2000",
            f"workers = {args.workers}",
            "",
            "[deid]",
            "enabled = false",
            "",
            "[filters]",
            f'reference_lm = "{work / "reference.lm"}"',
            "max_perplexity = 1000",
        ]
        for name, path, doc_type in sources:
            lines += [
                "",
                "[[sources]]",
                f'name = "{name}"',
                f'paths = ["{path}"]',
                f'doc_type = "{doc_type}"',
                "weight = 1.0",
            ]
        (work / "build.toml").write_text("\n".join(lines) + "\n")
        result = subprocess.run(
            [str(bin_), "build", "--config", str(work / "build.toml"), "--stop-after", "filter", "--quiet"],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        if result.returncode != 0:
            print(result.stdout + result.stderr)
            return 1
        folder = work / "build" / "work" / "filter"
        done = json.loads((folder / "DONE.json").read_text())
        ingest = json.loads((work / "build" / "private" / "work" / "ingest" / "DONE.json").read_text())
        removed = [r for p in sorted(folder.glob("part-*.removed.jsonl")) for r in read_jsonl(p)]

    report: dict = {
        "reference_lm": {k: sidecar[k] for k in ("tokens", "ngram_counts", "bytes")} | {"seconds": lm_seconds}
    }
    by_source: dict[str, list[dict]] = defaultdict(list)
    for record in removed:
        source = record["source"]
        if source.startswith("garbage_"):
            source = next(f"garbage_{k}" for k in by_kind if source.startswith(f"garbage_{k}_"))
        by_source[source].append(record)

    print(f"\n{'garbage kind':<22}{'items':>7}{'removed':>9}  right reason  by filter")
    report["garbage"] = {}
    for kind, rows in by_kind.items():
        got = Counter(r["reason"] for r in by_source[f"garbage_{kind}"])
        family = "ocr_noise" if kind.startswith("ocr_noise") else kind
        right = sum(v for k, v in got.items() if k in RIGHT_REASONS[family])
        share, right_share = sum(got.values()) / len(rows), right / len(rows)
        report["garbage"][kind] = {"items": len(rows), "removed": share, "right_reason": right_share, "by": dict(got)}
        print(
            f"{kind:<22}{len(rows):>7}{share:>9.1%}  {right_share:>11.1%}  "
            + ", ".join(f"{k} {v}" for k, v in got.most_common())
        )
    print(f"\n{'clean source (held out)':<26}{'docs':>7}{'removed':>9}")
    report["clean"] = {}
    for name in CLEAN:
        got = by_source[f"clean_{name}"]
        share = len(got) / len(held[name])
        report["clean"][name] = {
            "documents": len(held[name]),
            "removed": share,
            "by": dict(Counter(r["reason"] for r in got)),
        }
        print(
            f"{name:<26}{len(held[name]):>7}{share:>9.2%}  " + ", ".join(f"{r['id']}: {r['detail']}" for r in got[:12])
        )
    total_clean = sum(len(v) for v in held.values())
    clean_removed = sum(len(by_source[f"clean_{n}"]) for n in CLEAN)
    print(f"{'all clean':<26}{total_clean:>7}{clean_removed / total_clean:>9.2%}")
    print(
        "\ncalibration (sidecar): "
        + ", ".join(
            f"{t} p50 {c['p50']:,.0f} p99 {c['p99']:,.0f} ({c['documents']} docs)"
            for t, c in sidecar["calibration"].items()
        )
    )
    print("perplexity under the reference LM: 10th / 50th / 90th percentile")
    report["perplexity"] = {}
    for name, values in perplexity_by_set.items():
        q10, q50, q90 = (float(np.quantile(values, q)) for q in (0.1, 0.5, 0.9))
        report["perplexity"][name] = {"p10": q10, "p50": q50, "p90": q90}
        print(f"  {name:<28} {q10:>10,.0f} {q50:>10,.0f} {q90:>10,.0f}")
    report["perplexity_log10_histogram"] = done["perplexity_log10_histogram"]
    input_mb = ingest["input_bytes"] / 1e6
    mb_per_s = input_mb / done["seconds"]
    print(
        f"\nfilter stage: {input_mb:.1f} MB in {done['seconds']:.1f} s = {mb_per_s:.2f} MB/s, "
        f"{mb_per_s / args.workers:.2f} MB/s per core ({args.workers} workers; tokenization, language, "
        "repetition and reference-LM scoring)"
    )
    report["filter_stage"] = {"mb": input_mb, "seconds": done["seconds"], "workers": args.workers}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
