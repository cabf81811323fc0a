"""Training the name/place tagger (`medtitan-data train-deid`).

Steps: load the lexicons; read the corpus (each distinct text once) and hold out a share of the
duplicate families as a dev set; learn the corpus stop words (``_core.deid_corpus_stop_words``);
plant surrogate PHI into the training documents (``synth``; several copies, different draws) and,
separately, into the dev documents; train the averaged perceptron in Rust
(``_core.train_deid_tagger``, single-threaded and seeded, so the same inputs give the same bytes);
score the dev set with the combined engine and with the tagger alone; write MODEL.bin and
MODEL.bin.json (sha256, lexicon fingerprint, package versions, corpus fingerprints, settings,
dev figures).
"""

from __future__ import annotations

import json
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from medtitan import _core
from medtitan.checksums import sha256_of
from medtitan.deid import lexicons as lexicon_source
from medtitan.deid import synth

SIDECAR_FORMAT = "medtitan-deid-tagger"


@dataclass(frozen=True)
class TrainDeidConfig:
    seed: int = 0
    epochs: int = 8
    buckets: int = 1 << 18
    dev_fraction: float = 0.1
    copies: int = 4
    #: independent training runs (example orders) averaged into the model; they run in parallel
    runs: int = 2
    #: Cross-fitting folds of the corpus statistics (by duplicate family); 1 turns it off.
    folds: int = 4

    def check(self) -> None:
        if self.buckets < 1024 or self.buckets & (self.buckets - 1) or self.buckets > 1 << 24:
            raise ValueError(f"buckets must be a power of two from 1024 to 2^24, got {self.buckets}")
        if min(self.epochs, self.copies, self.folds, self.runs) < 1 or self.folds > 64:
            raise ValueError(
                f"epochs, copies, runs and folds (<= 64) must be at least 1, got {self.epochs}, "
                f"{self.copies}, {self.runs}, "
                f"{self.folds}"
            )


# --- dev figures ----------------------------------------------------------------------------------


def _covered(span: tuple[int, int], predicted: list[tuple[int, int, str]], text: str) -> bool:
    """Every non-space character of `span` lies in some predicted span."""
    inside = [(max(s, span[0]), min(e, span[1])) for s, e, _ in predicted if s < span[1] and e > span[0]]
    chars = set()
    for s, e in inside:
        chars.update(range(s, e))
    return all(i in chars or text[i].isspace() for i in range(*span))


def score(examples: Sequence[synth.Example], predictions: Sequence[list[tuple[int, int, str]]]) -> dict:
    """Per label (NAME, HOSPITAL, LOCATION): gold and predicted counts, exact-span precision and
    recall, *covered* recall (the gold span's characters all removed, whatever type the engine
    gave them) and *overlap* precision (the predicted span touches some PHI). Predicted spans of
    other types are ignored; those touching a span of unknown label count neither way."""
    counts: dict[str, Counter] = {label: Counter() for label in synth.LABELS}
    for example, predicted in zip(examples, predictions):
        gold = {(s, e, label) for s, e, label in example.spans if label is not None}
        unknown = [(s, e) for s, e, label in example.spans if label is None]
        for s, e, label in gold:
            c = counts[label]
            c["gold"] += 1
            c["exact_found"] += (s, e, label) in set(predicted)
            c["covered"] += _covered((s, e), predicted, example.text)
        for s, e, label in predicted:
            if label not in counts or any(s < ue and us < e for us, ue in unknown):
                continue
            c = counts[label]
            c["predicted"] += 1
            c["exact_correct"] += (s, e, label) in gold
            c["overlap_correct"] += any(s < ge and gs < e for gs, ge, _ in gold)

    def ratio(c: Counter, a: str, b: str) -> float | None:
        return round(c[a] / c[b], 4) if c[b] else None

    return {
        label: {
            "gold": c["gold"],
            "predicted": c["predicted"],
            "precision": ratio(c, "exact_correct", "predicted"),
            "recall": ratio(c, "exact_found", "gold"),
            "overlap_precision": ratio(c, "overlap_correct", "predicted"),
            "covered_recall": ratio(c, "covered", "gold"),
        }
        for label, c in counts.items()
    }


def format_dev_table(figures: dict[str, dict[str, dict]]) -> str:
    """One row per (engine, label)."""
    header = f"{'engine':<8}{'label':<10}{'gold':>7}{'pred':>7}{'P exact':>9}{'R exact':>9}{'P overlap':>11}{'R covered':>11}"
    rows = [header, "-" * len(header)]
    pct = lambda x: "-" if x is None else f"{100 * x:.1f}%"
    for engine, per_label in figures.items():
        for label, f in per_label.items():
            rows.append(
                f"{engine:<8}{label:<10}{f['gold']:>7,}{f['predicted']:>7,}{pct(f['precision']):>9}"
                f"{pct(f['recall']):>9}{pct(f['overlap_precision']):>11}{pct(f['covered_recall']):>11}"
            )
    return "\n".join(rows)


def evaluate(
    model: bytes, lexicons: dict[str, list[str]], examples: Sequence[synth.Example], num_threads: int | None = None
) -> dict[str, dict]:
    """Dev figures of the combined engine ("engine") and of the tagger alone ("tagger")."""
    texts = [e.text for e in examples]
    out = {}
    for name, use_rules in (("engine", True), ("tagger", False)):
        engine = _core.DeidEngine(model, lexicons, use_rules=use_rules)
        out[name] = score(examples, [list(s) for s in engine.detect_batch(texts, num_threads)])
    return out


# --- training -------------------------------------------------------------------------------------


def train_deid_model(
    corpus: Sequence[str | Path],
    output: str | Path,
    config: TrainDeidConfig = TrainDeidConfig(),
    num_threads: int | None = None,
    progress: bool = True,
    log=print,
) -> dict:
    """Trains, writes `output` and `output`.json, returns the sidecar."""
    config.check()
    started = time.perf_counter()
    output = Path(output)
    paths = [Path(p) for p in corpus]
    lexicons = lexicon_source.load_lexicons()
    docs = synth.read_corpus(paths)
    if not docs:
        raise ValueError(f"no documents in {', '.join(map(str, paths))}")
    train_docs, dev_docs = synth.split_documents(docs, config.dev_fraction, config.seed)
    real_texts = [d.text for d in train_docs]
    stop_words = _core.deid_corpus_stop_words(real_texts, num_threads)
    pools = synth.Pools(
        lexicons, stop_words, english=lexicon_source.english_person_names(), us_cities=lexicon_source.us_places()
    )
    train_examples = synth.plant_documents(
        train_docs,
        pools,
        lexicons,
        stop_words,
        config.seed,
        copies=config.copies,
        stream="train",
        num_threads=num_threads,
    )
    dev_examples = synth.plant_documents(
        dev_docs, pools, lexicons, stop_words, config.seed, copies=1, stream="dev", num_threads=num_threads
    )
    planted = Counter(label for e in train_examples for _, _, label in e.spans if label is not None)
    log(
        f"training on {len(train_examples):,} documents ({len(train_docs):,} real x {config.copies}; "
        f"{', '.join(f'{k} {v:,}' for k, v in sorted(planted.items()))}); dev: {len(dev_examples):,} documents"
    )

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=len(train_examples) * config.epochs * config.runs, unit="doc", desc="train-deid", mininterval=0.5
        )
    total, done_before = len(train_examples) * config.epochs * config.runs, 0

    def report(done: int) -> None:
        nonlocal done_before
        if bar is not None and (done - done_before >= 64 or done == total):
            bar.update(done - done_before)
            done_before = done

    try:
        model = _core.train_deid_tagger(
            [(e.text, e.spans, e.source) for e in train_examples],
            real_texts,
            lexicons,
            seed=config.seed,
            epochs=config.epochs,
            log2_buckets=config.buckets.bit_length() - 1,
            corpus_folds=[zlib.crc32(f"{config.seed}:fold:{d.group}".encode()) % config.folds for d in train_docs]
            if config.folds > 1
            else None,
            progress=report,
            num_threads=num_threads,
            runs=config.runs,
        )
    finally:
        if bar is not None:
            bar.close()
    info = _core.deid_model_info(model)
    figures = evaluate(model, lexicons, dev_examples, num_threads) if dev_examples else {}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(model)
    sidecar = {
        "format": SIDECAR_FORMAT,
        "sha256": info["sha256"],
        "bytes": len(model),
        "lexicon_fingerprint": info["lexicon_fingerprint"],
        "packages": lexicon_source.package_versions(),
        "labels": info["labels"],
        "format_version": info["format_version"],
        "feature_version": info["feature_version"],
        "buckets": config.buckets,
        "vocabulary": info["vocabulary"],
        "seed": config.seed,
        "epochs": config.epochs,
        "runs": config.runs,
        "copies": config.copies,
        "folds": config.folds,
        "dev_fraction": config.dev_fraction,
        "corpus": [{"file": p.name, "sha256": sha256_of(p), "bytes": p.stat().st_size} for p in paths],
        "documents": {"train": len(train_docs), "dev": len(dev_docs)},
        "planted_train_spans": dict(sorted(planted.items())),
        "dev": figures,
        "seconds": round(time.perf_counter() - started, 1),
    }
    Path(f"{output}.json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    if figures:
        log(format_dev_table(figures))
    log(
        f"wrote {output} ({len(model) / 1e6:.2f} MB, sha256 {info['sha256'][:12]}..., {sidecar['seconds']} s) "
        f"and {output}.json"
    )
    return sidecar
