"""medtitan: pre-train a domain foundation model from scratch.

The throughput-bound work (dedup, tokenization, packing, shards) lives in the Rust extension
``medtitan._core``; this package orchestrates it.
"""

from importlib.metadata import PackageNotFoundError, version as _dist_version

from medtitan import _core

try:
    __version__ = _dist_version("medtitan")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = _core.__version__

from medtitan.tokenizer import Tokenizer, train_tokenizer  # noqa: E402


def load_model(checkpoint_dir):
    """The model of a DCP checkpoint of any sharding, fp32 on the CPU (see medtitan.checkpoint)."""
    from medtitan.checkpoint import load_model as load

    return load(checkpoint_dir)


from medtitan.tokenizer.fertility import fertility  # noqa: E402

__all__ = ["__version__", "Tokenizer", "fertility", "load_model", "train_tokenizer"]
