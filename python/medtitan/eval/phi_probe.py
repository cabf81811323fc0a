"""PHI leakage probing by known-template attacks.

Each probe is a (prefix, secret) pair: text that preceded a piece of PHI in the raw data (or in
a planted canary) and the PHI itself. The model is prompted with the prefix and its
continuation is checked for the secret, greedily and by sampling; the report gives k/N for both,
overall and per PHI type. Pairs come from a JSONL file ({"prefix", "secret", "type"?}) or from a
build that kept them (`[deid] probe_pairs = N` writes OUTPUT/private/phi_probe_pairs.jsonl).

A model trained on de-identified text never saw the secrets, so any hit means PHI got through.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import torch
from tqdm import tqdm

from medtitan.eval.mcq import wilson_interval

PAIRS_IN_BUILD = Path("private") / "phi_probe_pairs.jsonl"


def load_pairs(path: str | Path) -> list[dict]:
    """Probe pairs from a JSONL file, or from a build output that kept them."""
    path = Path(path)
    if path.is_dir():
        if not (path / PAIRS_IN_BUILD).exists():
            raise FileNotFoundError(
                f"{path / PAIRS_IN_BUILD}: missing; build with [deid] probe_pairs = N "
                "(and de-identification on) to keep probe pairs"
            )
        path = path / PAIRS_IN_BUILD
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                prefix, secret = record["prefix"], record["secret"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a probe pair with 'prefix' and 'secret' ({error})") from error
            if not isinstance(prefix, str) or not isinstance(secret, str) or not secret.strip():
                raise ValueError(f"{path}:{number}: 'prefix' and 'secret' must be strings, the secret not empty")
            pairs.append(record)
    if not pairs:
        raise ValueError(f"{path}: no probe pairs")
    return pairs


def _normalize(text: str) -> str:
    return " ".join(text.split())


@torch.no_grad()
def continue_prompt(
    model, prompt_ids: list[int], new_tokens: int, samples: int, temperature: float, generator: torch.Generator | None
) -> list[list[int]]:
    """`samples` continuations of `new_tokens` tokens; greedy when temperature is 0."""
    context = model.args.max_seq_len
    ids = torch.tensor([prompt_ids[-(context - new_tokens) :]] * samples, dtype=torch.long)
    start = ids.shape[1]
    for _ in range(new_tokens):
        logits = model(ids)[:, -1, :].float()
        if temperature == 0:
            chosen = logits.argmax(dim=-1, keepdim=True)
        else:
            chosen = torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=generator)
        ids = torch.cat([ids, chosen], dim=1)
    return ids[:, start:].tolist()


def probe(
    model,
    tokenizer,
    pairs: list[dict],
    samples: int = 8,
    temperature: float = 1.0,
    seed: int = 0,
    extra_tokens: int = 4,
    progress: bool = False,
) -> dict:
    """k/N of pairs whose secret the model reproduces after the prefix: greedily, and in at
    least one of `samples` sampled continuations."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    greedy_hits, sampled_hits = 0, 0
    by_type: dict[str, Counter] = {}
    leaks = []
    for pair in tqdm(pairs, desc="phi-probe", unit=" pair", disable=not progress, leave=False):
        prefix = pair["prefix"].rstrip()  # the secret's leading space belongs to its first token
        secret = _normalize(pair["secret"])
        prompt_ids = tokenizer.encode(prefix) if prefix else [tokenizer.bos_id]
        new_tokens = len(tokenizer.encode(" " + secret)) + extra_tokens
        greedy = tokenizer.decode(continue_prompt(model, prompt_ids, new_tokens, 1, 0.0, None)[0])
        sampled = (
            [
                tokenizer.decode(c)
                for c in continue_prompt(model, prompt_ids, new_tokens, samples, temperature, generator)
            ]
            if samples
            else []
        )
        greedy_leak = secret in _normalize(greedy)
        sampled_leak = any(secret in _normalize(text) for text in sampled)
        greedy_hits += greedy_leak
        sampled_hits += sampled_leak
        counts = by_type.setdefault(pair.get("type", "unknown"), Counter())
        counts["pairs"] += 1
        counts["greedy"] += greedy_leak
        counts["sampled"] += sampled_leak
        if greedy_leak or sampled_leak:
            leaks.append({k: pair[k] for k in ("source", "id", "type") if k in pair} | {"greedy": greedy_leak})
    total = len(pairs)

    def rate(hits: int) -> dict:
        low, high = wilson_interval(hits, total)
        return {"leaked": hits, "pairs": total, "rate": hits / total, "ci95": [low, high]}

    return {
        "pairs": total,
        "greedy": rate(greedy_hits),
        "sampled": rate(sampled_hits) | {"samples_per_pair": samples, "temperature": temperature, "seed": seed},
        "by_type": {t: dict(c) for t, c in sorted(by_type.items())},
        "leaks": leaks,
    }


def format_probe(result: dict) -> str:
    greedy, sampled = result["greedy"], result["sampled"]
    lines = [
        f"greedy:  {greedy['leaked']}/{greedy['pairs']} secrets reproduced ({greedy['rate']:.1%}, 95% CI "
        f"[{greedy['ci95'][0]:.1%}, {greedy['ci95'][1]:.1%}])",
        f"sampled: {sampled['leaked']}/{sampled['pairs']} reproduced in at least one of {sampled['samples_per_pair']} "
        f"samples at temperature {sampled['temperature']} ({sampled['rate']:.1%})",
    ]
    for kind, counts in result["by_type"].items():
        lines.append(
            f"  {kind:<10} greedy {counts.get('greedy', 0)}/{counts['pairs']}, "
            f"sampled {counts.get('sampled', 0)}/{counts['pairs']}"
        )
    return "\n".join(lines)
