"""De-identification: engines (rules, lexicons, a learned tagger), replacement, scoring.

The Rust core does the work (``rust/deid/``); this package holds the engines' Python faces
(``engine``), the scorer for gold standards (``score``), the lexicons (``lexicons``) and the
tagger's training data and training (``synth``, ``train``).
"""

from medtitan.deid.engine import (
    Deidentifier,
    DeidResult,
    HybridDeidentifier,
    RuleBasedDeidentifier,
    load_deidentifier,
)
from medtitan.deid.score import format_score_table, score_against_ground_truth

__all__ = [
    "DeidResult",
    "Deidentifier",
    "HybridDeidentifier",
    "RuleBasedDeidentifier",
    "format_score_table",
    "load_deidentifier",
    "score_against_ground_truth",
]
