"""Perplexity of a checkpoint on packed shards, overall and per doc_type.

The build packs validation documents per doc_type (a sample never mixes types) and writes the
type of every sample beside the shards (doc_types.json); with it each type gets its own figure.
Every sample is seq_len + 1 tokens, so each contributes seq_len predictions: the overall
perplexity is exp(mean token loss), and the 95% interval comes from the spread of per-sample
mean losses (samples are the independent units, tokens within one are not).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from medtitan.data.shards import ShardDataset, sample_doc_types


def resolve_shard_folder(path: str | Path) -> Path:
    """A build output (its validation split) or a folder of shards."""
    path = Path(path)
    manifest = path / "manifest.json"
    if manifest.exists():
        return path / json.loads(manifest.read_text(encoding="utf-8"))["splits"]["validation"]["folder"]
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such build output or shard folder")
    return path


@torch.no_grad()
def sample_losses(
    model, dataset: ShardDataset, batch_size: int = 8, max_samples: int | None = None, progress: bool = False
) -> np.ndarray:
    """Mean next-token cross-entropy (nats) of each sample, float64, in dataset order."""
    count = len(dataset) if max_samples is None else min(len(dataset), max_samples)
    vocab_size = model.args.vocab_size
    losses = np.zeros(count, dtype=np.float64)
    model.eval()
    for start in tqdm(range(0, count, batch_size), desc="perplexity", unit=" batch", disable=not progress, leave=False):
        rows = [np.asarray(dataset[i], dtype=np.int64) for i in range(start, min(count, start + batch_size))]
        batch = torch.from_numpy(np.stack(rows))
        if batch.shape[1] - 1 > model.args.max_seq_len:
            raise ValueError(
                f"samples of {batch.shape[1]} tokens exceed the model's context of {model.args.max_seq_len}"
            )
        if int(batch.max()) >= vocab_size:
            raise ValueError(
                f"token id {int(batch.max())} is outside the model's vocabulary of {vocab_size}: "
                "were these shards built with another tokenizer?"
            )
        logits = model(batch[:, :-1]).float()
        per_token = F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten(), reduction="none")
        losses[start : start + len(rows)] = per_token.view(len(rows), -1).double().mean(dim=1).numpy()
    return losses


def summarize(losses: np.ndarray) -> dict:
    """Perplexity with a 95% interval from the per-sample mean losses."""
    mean = float(losses.mean())
    error = float(losses.std(ddof=1) / math.sqrt(len(losses))) if len(losses) > 1 else float("nan")
    low, high = (math.exp(mean - 1.96 * error), math.exp(mean + 1.96 * error)) if error == error else (None, None)
    return {"samples": int(len(losses)), "loss": mean, "perplexity": math.exp(mean), "ci95": [low, high]}


def evaluate_perplexity(
    model, shards: str | Path, batch_size: int = 8, max_samples: int | None = None, progress: bool = False
) -> dict:
    folder = resolve_shard_folder(shards)
    dataset = ShardDataset(folder)
    if len(dataset) == 0:
        raise ValueError(f"{folder}: no samples to evaluate")
    losses = sample_losses(model, dataset, batch_size, max_samples, progress)
    result = {
        "shards": str(folder),
        "tokens": int(len(losses) * (len(dataset[0]) - 1)),
        "overall": summarize(losses),
        "doc_types": {},
    }
    labelled = sample_doc_types(folder)
    if labelled is not None:
        names, labels = labelled
        labels = labels[: len(losses)]
        for index, name in enumerate(names):
            chosen = losses[labels == index]
            if len(chosen):
                result["doc_types"][name] = summarize(chosen)
    return result


def format_perplexity(result: dict) -> str:
    rows = [("overall", result["overall"])] + sorted(result["doc_types"].items())
    width = max(len(name) for name, _ in rows)
    lines = [f"{'split':<{width}}  {'samples':>7}  {'loss':>7}  {'perplexity':>10}  95% interval"]
    for name, row in rows:
        low, high = row["ci95"]
        interval = f"[{low:.2f}, {high:.2f}]" if low is not None else "n/a (one sample)"
        lines.append(
            f"{name:<{width}}  {row['samples']:>7}  {row['loss']:>7.4f}  {row['perplexity']:>10.2f}  {interval}"
        )
    if not result["doc_types"]:
        lines.append(
            f"(no {Path(result['shards']).name}/doc_types.json: per-doc_type figures need shards from "
            "`medtitan-data build`'s validation split)"
        )
    return "\n".join(lines)
