"""`medtitan`: the model-side command line (training is launched with torchrun; see README)."""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path


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
    result = plan(config, args.gpus, args.gpu, args.mfu, args.tokens, args.price_per_gpu_hour,
                  parameters=args.parameters, checkpoint_write_gb_per_s=args.checkpoint_gb_per_s)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_plan(result))
    return 0


def _eval_mcq(args: argparse.Namespace) -> int:
    import json

    from medtitan.checkpoint import load_model
    from medtitan.eval.mcq import evaluate_mcq, load_items
    from medtitan.tokenizer import Tokenizer

    model = load_model(args.checkpoint)
    tokenizer = Tokenizer.from_file(args.tokenizer)
    results = {}
    for path in args.inputs:
        items = load_items(path)[: args.limit] if args.limit else load_items(path)
        result = evaluate_mcq(model, tokenizer, items, k_shot=args.k_shot, normalize=args.normalize,
                              max_len=model.args.max_seq_len)
        results[str(path)] = result
        low, high = result["ci95"]
        print(f"{path}: accuracy {result['accuracy']:.1%} ({result['correct']}/{result['items']}), 95% CI "
              f"[{low:.1%}, {high:.1%}], chance {result['chance']:.1%}, {args.k_shot}-shot, normalize={args.normalize}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medtitan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="versions of medtitan, its Rust core, Python and torch").set_defaults(
        run=_info
    )
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
    evaluation = commands.add_parser("eval", help="evaluate a checkpoint").add_subparsers(dest="eval_command", required=True)
    mcq = evaluation.add_parser("mcq", help="zero/k-shot multiple choice by option log-likelihood (MedQA, MedMCQA, PubMedQA)")
    mcq.add_argument("inputs", nargs="+", type=Path, help="JSONL files of questions")
    mcq.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint folder (step-N)")
    mcq.add_argument("--tokenizer", required=True, type=Path, help="the tokenizer.model the model was trained with")
    mcq.add_argument("--k-shot", type=int, default=0)
    mcq.add_argument("--normalize", default="tokens", choices=("none", "tokens", "chars"))
    mcq.add_argument("--limit", type=int, help="only the first N items of each file")
    mcq.add_argument("--json", type=Path)
    mcq.set_defaults(run=_eval_mcq)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"medtitan {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
