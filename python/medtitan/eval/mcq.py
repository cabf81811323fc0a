"""Multiple-choice evaluation by option log-likelihood, for MedQA / MedMCQA (question +
lettered options + answer_idx) and PubMedQA (question + contexts, answers yes / no / maybe).

Each option is scored by the log-probability the model gives its tokens after the prompt
("Question: ...\\nAnswer:"); the highest score wins. Length normalisation: "none" (sum),
"tokens" (mean per token) or "chars" (sum per character of the option). Accuracy comes with a
95% Wilson interval. k-shot prompts prepend k solved items drawn, deterministically, from the
same file (never the item itself).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

NORMALIZATIONS = ("none", "tokens", "chars")
PUBMEDQA_CHOICES = ("yes", "no", "maybe")


@dataclass(frozen=True)
class Item:
    id: str
    prompt: str  # the question (and context), without the answer cue
    options: tuple[str, ...]
    answer: int  # index into options


def _options(value) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):  # some exports store the dict as its Python repr
        import ast

        parsed = ast.literal_eval(value)
        if isinstance(parsed, dict):
            return parsed
    raise ValueError(f"options must be a mapping of letters to answers, got {type(value).__name__}")


def parse_item(record: dict, where: str) -> Item:
    """An Item from a MedQA/MedMCQA-style record (options + answer_idx) or a PubMedQA one
    (final_decision); ValueError naming `where` otherwise."""
    try:
        if "final_decision" in record:
            contexts = record.get("contexts", [])
            if isinstance(contexts, str):
                import ast

                contexts = ast.literal_eval(contexts) if contexts.startswith("[") else [contexts]
            prompt = "Context: " + " ".join(contexts) + f"\nQuestion: {record['question']}"
            decision = record["final_decision"].strip().lower()
            return Item(str(record.get("id", where)), prompt, PUBMEDQA_CHOICES, PUBMEDQA_CHOICES.index(decision))
        options = _options(record["options"])
        letters = sorted(options)
        lines = "\n".join(f"{letter}. {options[letter]}" for letter in letters)
        prompt = f"Question: {record['question']}\n{lines}"
        return Item(
            str(record.get("id", where)),
            prompt,
            tuple(options[letter] for letter in letters),
            letters.index(record["answer_idx"]),
        )
    except (KeyError, ValueError, SyntaxError) as error:
        raise ValueError(f"{where}: not a multiple-choice record ({type(error).__name__}: {error})") from error


def load_items(path: str | Path) -> list[Item]:
    path = Path(path)
    items = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                items.append(parse_item(json.loads(line), f"{path}:{number}"))
    if not items:
        raise ValueError(f"{path}: no items")
    return items


def wilson_interval(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    if total == 0:
        return 0.0, 1.0
    p = correct / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _solved(item: Item) -> str:
    return f"{item.prompt}\nAnswer: {item.options[item.answer]}\n\n"


def build_prompt(item: Item, shots: list[Item]) -> str:
    return "".join(_solved(shot) for shot in shots) + f"{item.prompt}\nAnswer:"


@torch.no_grad()
def option_scores(model, tokenizer, prompt: str, options: tuple[str, ...], normalize: str, max_len: int) -> list[float]:
    """Log-likelihood of each option's tokens after `prompt` (normalised as asked)."""
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
    prompt_ids = tokenizer.encode(prompt)
    scores = []
    for option in options:
        full = tokenizer.encode(prompt + " " + option)
        # The option's tokens are what follows the prompt's tokens (sentencepiece may merge
        # across the boundary; then the shared prefix is used).
        shared = 0
        while shared < min(len(prompt_ids), len(full)) and prompt_ids[shared] == full[shared]:
            shared += 1
        shared = max(1, min(shared, len(full) - 1))
        ids = full[-max_len - 1 :] if len(full) > max_len + 1 else full
        offset = len(full) - len(ids)
        tokens = torch.tensor([ids])
        logits = model(tokens[:, :-1]).float()
        log_probs = F.log_softmax(logits, dim=-1)[0]
        start = max(shared - offset, 1)
        targets = tokens[0, start:]
        picked = log_probs[start - 1 : len(ids) - 1].gather(1, targets[:, None])[:, 0]
        total = picked.sum().item()
        if normalize == "tokens":
            total /= max(1, len(targets))
        elif normalize == "chars":
            total /= max(1, len(option))
        scores.append(total)
    return scores


def evaluate_mcq(
    model, tokenizer, items: list[Item], k_shot: int = 0, normalize: str = "tokens", seed: int = 0, max_len: int = 4096
) -> dict:
    rng = random.Random(seed)
    correct = 0
    for index, item in enumerate(items):
        pool = [other for j, other in enumerate(items) if j != index]
        shots = rng.sample(pool, k=min(k_shot, len(pool))) if k_shot else []
        scores = option_scores(model, tokenizer, build_prompt(item, shots), item.options, normalize, max_len)
        correct += int(max(range(len(scores)), key=scores.__getitem__) == item.answer)
    low, high = wilson_interval(correct, len(items))
    chance = sum(1 / len(item.options) for item in items) / len(items)
    return {
        "items": len(items),
        "correct": correct,
        "accuracy": correct / len(items),
        "ci95": [low, high],
        "chance": chance,
        "k_shot": k_shot,
        "normalize": normalize,
    }
