"""What the benchmarks share: the corpora, the 64K medical tokenizer, and timing."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def demo_corpus_dir() -> Path:
    """out/demo/corpus, generated (seed 1234) when missing."""
    corpus = REPO / "out" / "demo" / "corpus"
    if not corpus.is_dir():
        from data_tools import demo_corpus

        demo_corpus.write(demo_corpus.generate(), corpus)
    return corpus


def load_texts(corpus: Path) -> list[str]:
    """The text of every record of every *.jsonl directly in `corpus`, in file order."""
    texts = []
    for path in sorted(corpus.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line in handle if line.strip()]
    return texts


def medical_tokenizer() -> Path:
    """The 64K medical model of data_configs/tokenizer_64k.toml, trained on ../shared/data
    into out/tokenizer_64k when missing (about 10 s)."""
    model = REPO / "out" / "tokenizer_64k" / "tokenizer.model"
    if not model.exists():
        from medtitan.tokenizer import TokenizerTrainingConfig, train_tokenizer

        config = TokenizerTrainingConfig.from_toml(REPO / "data_configs" / "tokenizer_64k.toml")
        train_tokenizer([SHARED], model.parent, config, progress=False)
    return model


def best_seconds(function, repeat: int = 2) -> float:
    """The fastest of `repeat` runs of function()."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def once(function) -> float:
    return best_seconds(function, 1)
