"""De-identification engines (PHI scrubbing), used by the build's deid stage and `medtitan-data deid`.

Two engines run in the Rust core (``rust/deid/``); each finding is replaced by a typed
placeholder (``[NAME]``, ``[DATE]``, ...) or, with ``replace="surrogate"``, by a realistic
made-up value (the same name by the same surrogate within a document, dates shifted by one
per-document offset; ``rust/deid/surrogate.rs``), seeded by ``seed``:

* ``"rules"`` (``RuleBasedDeidentifier``): regex rules for structured identifiers and names
  with a cue ("Dr.", "Patient:");
* ``"default"`` (``HybridDeidentifier``): the rules plus lexicons and a learned tagger for
  names, hospitals and places without a cue (``rust/deid/engine.rs``); the tagger ships with the
  package (``models/tagger-v1.bin``, trained by ``medtitan-data train-deid``).

Another engine (an NER model, a vendor service) plugs in through
``load_deidentifier("package.module:attr")``: any object with ``deidentify_batch(texts) ->
list[DeidResult]`` will do.

Scoring against gold standards lives in ``medtitan.deid.score``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol, runtime_checkable

from medtitan import _core
from medtitan.data.plugins import load_object

Span = tuple[int, int, str]  # (start, end, type), character offsets into the original text


@dataclass(frozen=True)
class DeidResult:
    """A scrubbed text and what was found: (start, end, type) in offsets of the original text."""

    text: str
    spans: list[Span] = field(default_factory=list)


@runtime_checkable
class Deidentifier(Protocol):
    def deidentify_batch(self, texts: Sequence[str]) -> list[DeidResult]: ...


REPLACE_MODES = ("placeholder", "surrogate")


def _check_common(num_threads: int | None, replace: str, seed: int) -> int | None:
    """The surrogate seed the Rust engines take (None: placeholders), after checking arguments."""
    if num_threads is not None and num_threads < 1:
        raise ValueError(f"num_threads must be at least 1, got {num_threads}")
    if replace not in REPLACE_MODES:
        raise ValueError(f"replace must be one of {REPLACE_MODES}, got {replace!r}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return seed if replace == "surrogate" else None


class RuleBasedDeidentifier:
    """The Rust rule engine: titles and labels for names, formats for numbers, dates and ages.

    ``num_threads``: threads for a batch (default: all cores); ``replace``: "placeholder" or
    "surrogate" (from small built-in pools; the default engine draws from its lexicons).
    """

    name = "rules"

    def __init__(self, num_threads: int | None = None, replace: str = "placeholder", seed: int = 0) -> None:
        self._surrogate_seed = _check_common(num_threads, replace, seed)
        self.num_threads = num_threads

    @staticmethod
    def types() -> list[str]:
        """The placeholder types it can emit."""
        return list(_core.deid_types())

    def deidentify(self, text: str) -> DeidResult:
        scrubbed, spans = _core.deidentify(text, self._surrogate_seed)
        return DeidResult(scrubbed, list(spans))

    def deidentify_batch(self, texts: Sequence[str]) -> list[DeidResult]:
        return [
            DeidResult(scrubbed, list(spans))
            for scrubbed, spans in _core.deidentify_batch(list(texts), self.num_threads, self._surrogate_seed)
        ]


DEFAULT_TAGGER = "tagger-v1.bin"


def default_tagger_path() -> Path:
    """The tagger that ships with the package (``medtitan/deid/models/tagger-v1.bin``)."""
    return Path(str(resources.files("medtitan.deid") / "models" / DEFAULT_TAGGER))


@lru_cache(maxsize=4)
def _hybrid_engine(path: Path, use_rules: bool) -> _core.DeidEngine:
    """One engine per (model file, rules on/off) and process: the lexicons and the model load once."""
    from medtitan.deid.lexicons import load_lexicons, package_versions

    sidecar_path = Path(f"{path}.json")
    try:
        data = path.read_bytes()
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"{error.filename}: no such file (a tagger needs MODEL.bin and MODEL.bin.json)"
        ) from None
    except ValueError as error:
        raise ValueError(f"{sidecar_path}: not JSON: {error}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != sidecar.get("sha256"):
        raise ValueError(
            f"{path}: sha256 {actual[:16]}... differs from {sidecar_path} ({str(sidecar.get('sha256'))[:16]}...): "
            "the model file is not the one its sidecar describes"
        )
    try:
        return _core.DeidEngine(data, load_lexicons(), use_rules=use_rules)
    except ValueError as error:
        raise ValueError(
            f"{path}: {error} (trained with {sidecar.get('packages')}, installed {package_versions()})"
        ) from None


class HybridDeidentifier:
    """Rules + lexicons + the learned name/place tagger (the default engine).

    ``model``: a tagger file (default: the packaged ``tagger-v1.bin``), checked against the
    sha256 in its ``.json`` sidecar and refused if it was trained with other lexicons;
    ``num_threads``: threads for a batch (default: all cores). Same text, same spans, whatever
    the thread count. ``replace``: "placeholder" or "surrogate" (drawn from the lexicons, seeded
    by ``seed``).
    """

    name = "hybrid"

    def __init__(
        self,
        model: str | Path | None = None,
        num_threads: int | None = None,
        replace: str = "placeholder",
        seed: int = 0,
    ) -> None:
        self._surrogate_seed = _check_common(num_threads, replace, seed)
        self.num_threads = num_threads
        self.model_path = Path(model).resolve() if model is not None else default_tagger_path()
        self._engine = _hybrid_engine(self.model_path, True)

    @property
    def sha256(self) -> str:
        """sha256 of the tagger file."""
        return self._engine.sha256

    @staticmethod
    def types() -> list[str]:
        """The placeholder types it can emit."""
        return list(_core.deid_types())

    def deidentify(self, text: str) -> DeidResult:
        return self.deidentify_batch([text])[0]

    def deidentify_batch(self, texts: Sequence[str]) -> list[DeidResult]:
        return [
            DeidResult(scrubbed, list(spans))
            for scrubbed, spans in self._engine.deidentify_batch(list(texts), self.num_threads, self._surrogate_seed)
        ]


def load_deidentifier(
    spec: str,
    *,
    model: str | Path | None = None,
    replace: str = "placeholder",
    seed: int = 0,
    num_threads: int | None = None,
) -> Deidentifier:
    """``"default"`` (or ``"hybrid"``): rules + lexicons + a tagger (``model``, default the
    packaged one). ``"rules"``: the rule engine alone. Both take ``replace`` ("placeholder" or
    "surrogate"), ``seed`` and ``num_threads``. ``"package.module:attr"``: imports ``attr``; an
    object with ``deidentify_batch`` is used as it is, a class or factory is called with no
    arguments first (it does its own replacement; ``replace="surrogate"`` is refused for it)."""
    if spec == "rules":
        if model is not None:
            raise ValueError("the 'rules' engine takes no model; use 'default' for a tagger")
        return RuleBasedDeidentifier(num_threads, replace=replace, seed=seed)
    if spec in ("default", "hybrid"):
        return HybridDeidentifier(model, num_threads, replace=replace, seed=seed)
    if replace != "placeholder" or model is not None:
        raise ValueError(
            f"de-identifier {spec!r} is a plug-in: it does its own replacement and takes no model; "
            "replace='surrogate' and model= apply to 'default' and 'rules'"
        )
    return load_object(
        spec,
        "de-identifier spec",
        method="deidentify_batch",
        expected="'default', 'rules' or 'package.module:attr' (an object or factory with a "
        "deidentify_batch(texts) method)",
    )
