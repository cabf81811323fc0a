"""`medtitan`: the model-side command line (training is launched with torchrun; see README)."""

from __future__ import annotations

import argparse
import platform
import sys


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medtitan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="versions of medtitan, its Rust core, Python and torch").set_defaults(
        run=_info
    )
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
