"""`medtitan`: the model-side command line (training is launched with torchrun; see README)."""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path


def _write_json(path: Path, value) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


def _info(_: argparse.Namespace) -> int:
    """Print what this installation is made of: enough to debug a wheel on a new machine."""
    import medtitan
    from medtitan import _core

    rows = [
        ("medtitan", medtitan.__version__),
        ("rust core", f"{_core.__version__} ({_core.__file__})"),
        ("python", f"{platform.python_version()} ({sys.executable})"),
    ]
    try:
        import torch

        cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
        rows.append(("torch", f"{torch.__version__}, {cuda}"))
    except ImportError:
        rows.append(("torch", "not installed (run `make setup`)"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    import json

    from medtitan.config import load_job_config
    from medtitan.plan import format_plan, plan

    config = load_job_config(args.config)
    result = plan(
        config,
        args.gpus,
        args.gpu,
        args.mfu,
        args.tokens,
        args.price_per_gpu_hour,
        parameters=args.parameters,
        checkpoint_write_gb_per_s=args.checkpoint_gb_per_s,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_plan(result))
    return 0


def _eval_mcq(args: argparse.Namespace) -> int:

    from medtitan.checkpoint import load_model
    from medtitan.eval.mcq import evaluate_mcq, load_items
    from medtitan.tokenizer import Tokenizer

    model = load_model(args.checkpoint)
    tokenizer = Tokenizer.from_file(args.tokenizer)
    results = {}
    for path in args.inputs:
        items = load_items(path)[: args.limit] if args.limit else load_items(path)
        result = evaluate_mcq(
            model, tokenizer, items, k_shot=args.k_shot, normalize=args.normalize, max_len=model.args.max_seq_len
        )
        results[str(path)] = result
        low, high = result["ci95"]
        print(
            f"{path}: accuracy {result['accuracy']:.1%} ({result['correct']}/{result['items']}), 95% CI "
            f"[{low:.1%}, {high:.1%}], chance {result['chance']:.1%}, {args.k_shot}-shot, normalize={args.normalize}"
        )
    if args.json:
        _write_json(args.json, results)
    return 0


def _eval_perplexity(args: argparse.Namespace) -> int:

    from medtitan.checkpoint import load_model
    from medtitan.eval.perplexity import evaluate_perplexity, format_perplexity

    model = load_model(args.checkpoint)
    result = evaluate_perplexity(
        model, args.shards, batch_size=args.batch_size, max_samples=args.max_samples, progress=True
    )
    print(format_perplexity(result))
    if args.json:
        _write_json(args.json, result)
    return 0


def _eval_phi_probe(args: argparse.Namespace) -> int:

    from medtitan.checkpoint import load_model
    from medtitan.eval.phi_probe import format_probe, load_pairs, probe
    from medtitan.tokenizer import Tokenizer

    pairs = load_pairs(args.pairs)
    pairs = pairs[: args.limit] if args.limit else pairs
    model = load_model(args.checkpoint)
    result = probe(
        model,
        Tokenizer.from_file(args.tokenizer),
        pairs,
        samples=args.samples,
        temperature=args.temperature,
        seed=args.seed,
        progress=True,
    )
    print(format_probe(result))
    if args.json:
        _write_json(args.json, result)
    return 0


def _export_hf(args: argparse.Namespace) -> int:
    from medtitan.export import export_hf

    record = export_hf(
        args.checkpoint,
        args.output,
        args.tokenizer,
        dtype=args.dtype,
        force=args.force,
        max_shard_bytes=int(args.max_shard_gb * 1e9),
    )
    print(
        f"{args.output}: LlamaForCausalLM, {record['parameters']:,} parameters, {args.dtype}, "
        f"{len(record['weights'])} weight file(s), tokenizer of {record['tokenizer']['vocab_size']:,} pieces "
        f"(from {args.checkpoint}, step {record['step']})"
    )
    return 0


def _model_card(args: argparse.Namespace) -> int:
    from medtitan.model_card import render_model_card

    card = render_model_card(args.checkpoint, args.build, args.eval or [], name=args.name)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(card + "\n", encoding="utf-8")
        print(f"model card: {args.output}")
    else:
        print(card)
    return 0


TEMPLATES = ("build.toml", "tokenizer.toml", "train.toml")


def _init(args: argparse.Namespace) -> int:
    """Starter configs from the templates shipped in the package, and an empty corpus/ folder."""
    from importlib import resources

    folder: Path = args.folder
    existing = [name for name in TEMPLATES if (folder / name).exists()]
    if existing and not args.force:
        raise ValueError(f"{folder}: {', '.join(existing)} already exist; --force replaces them")
    (folder / "corpus").mkdir(parents=True, exist_ok=True)
    templates = resources.files("medtitan") / "templates"
    for name in TEMPLATES:
        (folder / name).write_text(templates.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")
    print(f"wrote {', '.join(str(folder / name) for name in TEMPLATES)}; put JSONL files in {folder / 'corpus'}, then:")
    print(
        f"  medtitan-data train-tokenizer {folder / 'corpus'} --config {folder / 'tokenizer.toml'} "
        f"--output {folder / 'tokenizer'}"
    )
    print(f"  medtitan-data build --config {folder / 'build.toml'}")
    print(f"  torchrun --standalone --nproc_per_node=2 -m medtitan.train --config {folder / 'train.toml'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medtitan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="versions of medtitan, its Rust core, Python and torch").set_defaults(run=_info)
    starter = commands.add_parser("init", help="starter configs (build, tokenizer, train) in a folder, from templates")
    starter.add_argument("folder", type=Path, help="the project folder (created)")
    starter.add_argument("--force", action="store_true", help="replace configs that exist")
    starter.set_defaults(run=_init)
    planner = commands.add_parser("plan", help="parameters, FLOPs, memory per GPU, GPU-hours, days and cost of a run")
    planner.add_argument("--config", required=True, help="a train config (train_configs/*.toml)")
    planner.add_argument("--gpus", type=int, required=True)
    planner.add_argument("--gpu", required=True, help="a100-40gb, a100-80gb, h100-80gb, h200-141gb, b200-192gb")
    planner.add_argument("--mfu", type=float, required=True, help="model FLOPs utilization, e.g. 0.45")
    planner.add_argument("--tokens", type=float, required=True, help="training tokens, e.g. 200e9")
    planner.add_argument("--price-per-gpu-hour", type=float, required=True)
    planner.add_argument("--parameters", type=float, help="plan with this parameter count instead (e.g. 6.7e9)")
    planner.add_argument("--checkpoint-gb-per-s", type=float, default=2.0, help="checkpoint write bandwidth")
    planner.add_argument("--json", action="store_true", help="print the plan as JSON")
    planner.set_defaults(run=_plan)
    exporter = commands.add_parser(
        "export-hf", help="a checkpoint as a HuggingFace LlamaForCausalLM folder (no custom code)"
    )
    exporter.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint folder (step-N), any sharding")
    exporter.add_argument("--output", required=True, type=Path, help="the folder to write (written atomically)")
    exporter.add_argument(
        "--tokenizer",
        type=Path,
        help="the tokenizer.model to ship (default: the one the checkpoint's model.json records)",
    )
    exporter.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    exporter.add_argument("--max-shard-gb", type=float, default=5.0, help="split weights above this size (GB)")
    exporter.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    exporter.set_defaults(run=_export_hf)
    card = commands.add_parser(
        "model-card", help="a Markdown model card from the checkpoint, data manifest, metrics and evals"
    )
    card.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint folder (step-N)")
    card.add_argument("--build", type=Path, help="the build output it trained on (default: recorded in model.json)")
    card.add_argument(
        "--eval", action="append", type=Path, help="a JSON written by `medtitan eval ... --json` (repeatable)"
    )
    card.add_argument("--name", help="the model's name (default: job.description)")
    card.add_argument("--output", type=Path, help="write here (e.g. EXPORT_DIR/README.md) instead of printing")
    card.set_defaults(run=_model_card)
    evaluation = commands.add_parser("eval", help="evaluate a checkpoint").add_subparsers(
        dest="eval_command", required=True
    )
    mcq = evaluation.add_parser(
        "mcq", help="zero/k-shot multiple choice by option log-likelihood (MedQA, MedMCQA, PubMedQA)"
    )
    mcq.add_argument("inputs", nargs="+", type=Path, help="JSONL files of questions")
    mcq.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint folder (step-N)")
    mcq.add_argument("--tokenizer", required=True, type=Path, help="the tokenizer.model the model was trained with")
    mcq.add_argument("--k-shot", type=int, default=0)
    mcq.add_argument("--normalize", default="tokens", choices=("none", "tokens", "chars"))
    mcq.add_argument("--limit", type=int, help="only the first N items of each file")
    mcq.add_argument("--json", type=Path)
    mcq.set_defaults(run=_eval_mcq)
    perplexity = evaluation.add_parser("perplexity", help="perplexity on shards, overall and per doc_type")
    perplexity.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint folder (step-N)")
    perplexity.add_argument(
        "--shards", required=True, type=Path, help="a build output (its validation split is used) or a folder of shards"
    )
    perplexity.add_argument("--batch-size", type=int, default=8)
    perplexity.add_argument("--max-samples", type=int, help="only the first N samples")
    perplexity.add_argument("--json", type=Path)
    perplexity.set_defaults(run=_eval_perplexity)
    phi = evaluation.add_parser(
        "phi-probe", help="does the model reproduce PHI after its known prefix? k/N, greedy and sampled"
    )
    phi.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint folder (step-N)")
    phi.add_argument("--tokenizer", required=True, type=Path, help="the tokenizer.model the model was trained with")
    phi.add_argument(
        "--pairs",
        required=True,
        type=Path,
        help="JSONL of {prefix, secret[, type]}, or a build output built with [deid] probe_pairs",
    )
    phi.add_argument("--samples", type=int, default=8, help="sampled continuations per pair")
    phi.add_argument("--temperature", type=float, default=1.0)
    phi.add_argument("--seed", type=int, default=0)
    phi.add_argument("--limit", type=int, help="only the first N pairs")
    phi.add_argument("--json", type=Path)
    phi.set_defaults(run=_eval_phi_probe)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"medtitan {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
