"""The medical tokenizer: the Rust encoder (`Tokenizer`, sentencepiece's ids exactly), training
(`train_tokenizer`), fertility against baseline tokenizers, and the HuggingFace `tokenizer.json`
writer used by export-hf."""

from medtitan.tokenizer.encoder import SPECIAL_PIECES, Tokenizer
from medtitan.tokenizer.training import (
    MAX_TRAINING_LINE_CHARS,
    SECTION_HEADERS,
    DocTypeSample,
    TokenizerTrainingConfig,
    train_tokenizer,
)

__all__ = [
    "MAX_TRAINING_LINE_CHARS",
    "SECTION_HEADERS",
    "SPECIAL_PIECES",
    "DocTypeSample",
    "Tokenizer",
    "TokenizerTrainingConfig",
    "train_tokenizer",
]
