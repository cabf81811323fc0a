"""Encode throughput: medtitan's Rust encoder against sentencepiece on the same model and text,
with tiktoken (GPT-2) and HF tokenizers (LLaMA) on their own models for reference, in one run.

    .venv/bin/python benchmarks/tokenizer.py [--model M.model ...] [--corpus DIR]

Text: every JSONL file of ../shared/data when present (the medical development corpus), else
the demo corpus. Models: the 64K medical model (trained here on ../shared/data if
out/tokenizer_64k/tokenizer.model is missing; about 10 s) and Mistral's 32K sentencepiece model.

For each model, medtitan runs on a fresh Tokenizer, so its per-thread segment memo starts empty:
"first pass" is the honest one-pass number, "second pass" the steady state of a long job.
The "flat" rows return one numpy array instead of a Python list per document (as
`build` uses it). Ratios are against sentencepiece on the same model, measured in this run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

from common import SHARED, best_seconds, demo_corpus_dir, load_texts, medical_tokenizer, once  # noqa: E402  (benchmarks/ is on sys.path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", type=Path, help="sentencepiece BPE .model (repeatable)")
    parser.add_argument("--corpus", type=Path, help="folder of JSONL files with a text field")
    args = parser.parse_args()

    import sentencepiece as spm
    import tiktoken
    import tokenizers

    from medtitan import _core
    from medtitan.tokenizer.fertility import load_encoder

    corpus = args.corpus or (SHARED if SHARED.is_dir() else demo_corpus_dir())
    texts, source = load_texts(corpus), str(corpus)
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    threads = os.cpu_count() or 1
    models = args.model or ([medical_tokenizer()] if SHARED.is_dir() else []) + (
        [SHARED / "baseline_tokenizers" / "tokenizer.model.v1"] if SHARED.is_dir() else []
    )
    if not models:
        print("no model given and ../shared/data is absent: pass --model")
        return 2
    print(
        f"machine: {platform.machine()}, {threads} cores, Python {platform.python_version()}, "
        f"sentencepiece {spm.__version__}, tiktoken {tiktoken.__version__}, tokenizers {tokenizers.__version__}"
    )
    print(f"text: {len(texts):,} documents, {megabytes:.1f} MB from {source}\n")

    rows: list[tuple[str, float, float | None]] = []  # (name, MB/s, ratio vs sentencepiece)
    for model in models:
        processor = spm.SentencePieceProcessor(model_file=str(model))
        sp_one = megabytes / best_seconds(lambda: processor.encode(texts, num_threads=1))
        sp_all = megabytes / best_seconds(lambda: processor.encode(texts, num_threads=threads))
        fresh = _core.Tokenizer.from_file(str(model))
        assert fresh.encode_batch(texts[:200], 1) == processor.encode(texts[:200]), "ids must match sentencepiece"
        fresh = _core.Tokenizer.from_file(str(model))
        first = megabytes / once(lambda: fresh.encode_batch(texts, 1))
        second = megabytes / best_seconds(lambda: fresh.encode_batch(texts, 1))
        flat_one = megabytes / best_seconds(lambda: fresh.encode_batch_flat(texts, 1))
        ours_all_fresh = _core.Tokenizer.from_file(str(model))
        all_first = megabytes / once(lambda: ours_all_fresh.encode_batch(texts, threads))
        all_second = megabytes / best_seconds(lambda: ours_all_fresh.encode_batch(texts, threads))
        flat_all = megabytes / best_seconds(lambda: ours_all_fresh.encode_batch_flat(texts, threads))
        name = model.name
        rows += [
            (f"{name}: sentencepiece, 1 thread (anchor)", sp_one, 1.0),
            (f"{name}: medtitan, 1 thread, first pass", first, first / sp_one),
            (f"{name}: medtitan, 1 thread, second pass", second, second / sp_one),
            (f"{name}: medtitan, 1 thread, flat", flat_one, flat_one / sp_one),
            (f"{name}: sentencepiece, {threads} threads", sp_all, sp_all / sp_one),
            (f"{name}: medtitan, {threads} threads, first pass", all_first, all_first / sp_all),
            (f"{name}: medtitan, {threads} threads, second pass", all_second, all_second / sp_all),
            (f"{name}: medtitan, {threads} threads, flat", flat_all, flat_all / sp_all),
            (f"{name}: medtitan scaling, {threads} threads / 1 thread (flat)", flat_all, flat_all / flat_one),
        ]

    if SHARED.is_dir():
        gpt2 = load_encoder(SHARED / "baseline_tokenizers" / "gpt2.tiktoken").encoding
        rows.append(
            (
                "tiktoken GPT-2, 1 thread",
                megabytes / best_seconds(lambda: gpt2.encode_ordinary_batch(texts, num_threads=1)),
                None,
            )
        )
        rows.append(
            (
                f"tiktoken GPT-2, {threads} threads",
                megabytes / best_seconds(lambda: gpt2.encode_ordinary_batch(texts, num_threads=threads)),
                None,
            )
        )
        hf = tokenizers.Tokenizer.from_file(str(SHARED / "baseline_tokenizers" / "llama-test-tokenizer.json"))
        rows.append(
            (
                "HF tokenizers LLaMA, 1 thread (encode loop)",
                megabytes / once(lambda: [hf.encode(t, add_special_tokens=False) for t in texts]),
                None,
            )
        )
        rows.append(
            (
                f"HF tokenizers LLaMA, {threads} threads (encode_batch)",
                megabytes / best_seconds(lambda: hf.encode_batch(texts, add_special_tokens=False)),
                None,
            )
        )

    width = max(len(name) for name, _, _ in rows)
    print(f"{'run':<{width}}  {'MB/s':>8}  {'ratio':>8}")
    for name, speed, ratio in rows:
        print(f"{name:<{width}}  {speed:8.1f}  {f'{ratio:.2f}x' if ratio is not None else '':>8}")
    print(
        "\nratios: medtitan rows against sentencepiece with the same thread count; the scaling row "
        "against medtitan flat on 1 thread (list outputs are built under the GIL, one thread at a time)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
