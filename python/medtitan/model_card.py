"""A model card (Markdown) for downstream teams, generated from what the run recorded: the
checkpoint's model.json (architecture, job config, tokenizer, data), the build's manifest and
report (sources, mix, what each stage removed, de-identification), the training metrics, and
any evaluation results written with `medtitan eval ... --json`.

Every figure in the card is read from those files; nothing is typed in by hand, so the card
cannot drift from the run it describes. Sections with no source say so instead of guessing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _metrics(dump: Path) -> list[dict]:
    path = dump / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _eval_kind(result: dict) -> str:
    if "overall" in result and "doc_types" in result:
        return "perplexity"
    if "greedy" in result and "sampled" in result:
        return "phi-probe"
    if result and all(isinstance(v, dict) and "accuracy" in v for v in result.values()):
        return "mcq"
    raise ValueError("not a result of `medtitan eval perplexity|mcq|phi-probe --json`")


def render_model_card(
    checkpoint: str | Path, build: str | Path | None = None, evals: list[str | Path] = (), name: str | None = None
) -> str:
    checkpoint = Path(checkpoint)
    description = _read_json(checkpoint / "model.json")
    if description is None:
        raise FileNotFoundError(
            f"{checkpoint / 'model.json'}: missing; is {checkpoint} a medtitan checkpoint (step-N)?"
        )
    from medtitan.models.llama import ModelArgs

    from dataclasses import fields

    args = ModelArgs(**{k: v for k, v in description["args"].items() if k in {f.name for f in fields(ModelArgs)}})
    job = description.get("job_config", {})
    data = description.get("data", {})
    build = Path(build) if build else (Path(data["shards"]) if data.get("shards") else None)
    manifest = _read_json(build / "manifest.json") if build else None
    report = _read_json(build / "report.json") if build else None
    dump = checkpoint.parent.parent
    metrics = _metrics(dump)
    step = int(checkpoint.name.split("-")[-1]) if checkpoint.name.startswith("step-") else None
    title = name or job.get("job", {}).get("description") or f"medtitan {description['flavor']}"

    out = [
        f"# {title}",
        "",
        "A decoder-only language model pre-trained from scratch with medtitan. This card is generated from the run's "
        "own records (checkpoint, data manifest, metrics, evaluation results).",
        "",
    ]

    out += ["## Model", ""]
    out += _table(
        ["field", "value"],
        [
            ["architecture", "Llama-style decoder (RMSNorm, RoPE, SwiGLU, grouped-query attention, untied embeddings)"],
            ["flavor", description["flavor"]],
            ["parameters", f"{args.parameter_count():,}"],
            ["layers / dim / heads / KV heads", f"{args.n_layers} / {args.dim} / {args.n_heads} / {args.n_kv_heads}"],
            ["FFN hidden size", args.hidden_dim],
            ["vocabulary", f"{args.vocab_size:,}"],
            ["context length", f"{args.max_seq_len:,}"],
            ["RoPE theta", args.rope_theta],
            ["checkpoint", f"{checkpoint} (step {step})"],
        ],
    )
    out.append("")

    out += ["## Training data", ""]
    if manifest:
        tokenizer = manifest["tokenizer"]
        out.append(
            f"Tokenizer: `{Path(tokenizer['path']).name}`, {tokenizer['vocab_size']:,} pieces, "
            f"sha256 `{tokenizer['sha256'][:16]}…`. Shards: seq_len {manifest['seq_len']}, seed {manifest['seed']}, "
            f"{manifest['splits']['train']['tokens']:,} training tokens, "
            f"{manifest['splits']['validation']['tokens']:,} validation tokens."
        )
        out.append("")
        out += _table(
            ["source", "doc_type", "target share", "achieved share", "tokens"],
            [
                [
                    name,
                    s["doc_type"],
                    f"{s['target_share']:.1%}",
                    f"{s['achieved_share']:.1%}",
                    f"{s['achieved_tokens']:,}",
                ]
                for name, s in manifest["sources"].items()
            ],
        )
        out.append("")
        out.append("What the data build did with every document (in = kept + removed + quarantined):")
        out.append("")
        out += _table(
            ["stage", "in", "kept", "removed", "quarantined", "reasons"],
            [
                [
                    stage,
                    f"{c['in']:,}",
                    f"{c['kept']:,}",
                    f"{c['removed']:,}",
                    f"{c['quarantined']:,}",
                    ", ".join(f"{k} {v:,}" for k, v in c["reasons"].items()) or "-",
                ]
                for stage, c in manifest["stages"].items()
            ],
        )
        out.append("")
        deid = manifest["config"]["deid"]
        spans = (report or {}).get("stages", {}).get("deid", {}).get("spans", {})
        if deid["enabled"]:
            engine = (report or {}).get("stages", {}).get("deid", {}).get("engine", {})
            tagger = f", tagger sha256 `{engine['model_sha256'][:16]}`" if engine.get("model_sha256") else ""
            how = "realistic surrogates" if deid.get("replace") == "surrogate" else "typed placeholders"
            out.append(
                f"De-identification: on (engine `{deid['engine']}`{tagger}); {sum(spans.values()):,} PHI spans "
                f"replaced by {how}" + (f" ({', '.join(f'{k} {v:,}' for k, v in spans.items())})." if spans else ".")
            )
        else:
            out.append(
                "**De-identification: OFF.** The training text was not scrubbed of PHI; do not release this model "
                "outside the environment that holds the raw data."
            )
        evals_config = manifest["config"]["decontamination"]["eval_sets"]
        out.append(
            f"Decontamination: {manifest['config']['decontamination']['ngram']}-gram overlap against "
            f"{len(evals_config)} evaluation set(s) ({', '.join(Path(e).name for e in evals_config) or 'none'})."
        )
    else:
        out.append("No build manifest was found (pass `--build`), so the data cannot be described here.")
    out.append("")

    out += ["## Training", ""]
    training = job.get("training", {})
    if training:
        out += _table(
            ["setting", "value"],
            [
                ["steps", training.get("steps")],
                ["global batch (sequences)", training.get("global_batch_size")],
                ["sequence length", training.get("seq_len")],
                [
                    "optimizer",
                    f"AdamW lr {job.get('optimizer', {}).get('lr')}, weight decay {job.get('optimizer', {}).get('weight_decay')}",
                ],
                [
                    "schedule",
                    f"{job.get('lr_scheduler', {}).get('decay_type')}, warmup {job.get('lr_scheduler', {}).get('warmup_steps')}",
                ],
                [
                    "parallelism",
                    f"{description.get('world_size', '?')} processes on {description.get('device', '?')}: "
                    f"FSDP degree {job.get('parallelism', {}).get('data_parallel_shard_degree')} (-1: all), "
                    f"TP degree {job.get('parallelism', {}).get('tensor_parallel_degree')}",
                ],
                ["parameter dtype in compute", description.get("param_dtype", training.get("mixed_precision_param"))],
                ["seed", training.get("seed")],
            ],
        )
        out.append("")
    losses = [m for m in metrics if "loss" in m and (step is None or m["step"] <= step)]
    validations = [m for m in metrics if "validation_loss" in m and (step is None or m["step"] <= step)]
    if losses:
        first, last = losses[0], losses[-1]
        out.append(
            f"Training loss {first['loss']:.3f} at step {first['step']} -> {last['loss']:.3f} at step {last['step']}."
        )
        if validations:
            v = validations[-1]
            out.append(
                f"Validation loss {v['validation_loss']:.3f} (perplexity {math.exp(min(v['validation_loss'], 50)):.2f}) "
                f"at step {v['step']}."
            )
        speeds = [m["tokens_per_s"] for m in losses if m.get("tokens_per_s")]
        if speeds:
            out.append(
                f"Throughput at the last logged step: {speeds[-1]:,.0f} tokens/s"
                + (f", MFU {losses[-1]['mfu']:.1%}." if losses[-1].get("mfu") else ".")
            )
    else:
        out.append(f"No training metrics found at {dump / 'metrics.jsonl'}.")
    out.append("")

    out += ["## Evaluation", ""]
    if not evals:
        out.append(
            "No evaluation results were given (`medtitan eval perplexity|mcq|phi-probe --json F`, then `--eval F`)."
        )
    for path in evals:
        path = Path(path)
        result = json.loads(path.read_text(encoding="utf-8"))
        try:
            kind = _eval_kind(result)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error
        if kind == "perplexity":
            out.append(f"Perplexity on `{Path(result['shards']).name}` ({result['tokens']:,} tokens):")
            out.append("")
            rows = [["overall", result["overall"]]] + sorted(result["doc_types"].items())
            out += _table(
                ["split", "samples", "perplexity", "95% interval"],
                [
                    [
                        n,
                        r["samples"],
                        f"{r['perplexity']:.2f}",
                        f"[{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]" if r["ci95"][0] is not None else "-",
                    ]
                    for n, r in rows
                ],
            )
        elif kind == "mcq":
            out.append("Multiple choice by option log-likelihood:")
            out.append("")
            out += _table(
                ["file", "items", "accuracy", "95% interval", "chance", "shots"],
                [
                    [
                        Path(f).name,
                        r["items"],
                        f"{r['accuracy']:.1%}",
                        f"[{r['ci95'][0]:.1%}, {r['ci95'][1]:.1%}]",
                        f"{r['chance']:.1%}",
                        r["k_shot"],
                    ]
                    for f, r in result.items()
                ],
            )
        else:
            g, s = result["greedy"], result["sampled"]
            out.append(
                f"PHI leakage probe (known-prefix attack): greedy {g['leaked']}/{g['pairs']} secrets reproduced, "
                f"sampled {s['leaked']}/{s['pairs']} ({s['samples_per_pair']} samples per prefix at "
                f"temperature {s['temperature']})."
            )
        out.append("")

    out += [
        "## Intended use and limitations",
        "",
        "- A base (pre-trained, not instruction-tuned) model for fine-tuning by downstream teams; not a medical device "
        "and not for clinical decisions without validation in the target setting.",
        "- Its knowledge is limited to the sources listed above; the mix shares show what it saw most.",
        "- Rule-based de-identification misses PHI in formats it does not know; a PHI probe (`medtitan eval "
        "phi-probe`) measures leakage only for the prefixes it tries.",
        "",
    ]
    return "\n".join(out)
