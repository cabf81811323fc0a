"""Writes python/medtitan/_core.pyi, the type stub of the Rust core, so that editors and type
checkers see its API: every function and class of `medtitan._core` with its signature (from
pyo3's text signatures), the types below, and its docstring as the Rust code documents it.

    python -m medtitan.core_stub            # rewrite _core.pyi
    python -m medtitan.core_stub --check    # exit 1 if _core.pyi differs (tests/test_core_stub.py)

A function or parameter missing from the tables is typed `Any`, so the stub never claims a type
nobody wrote down; the test fails when the stub is stale, which is when to extend the tables.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

STUB = Path(__file__).with_name("_core.pyi")

# Parameter types by name, the same wherever the name appears.
PARAMETERS = {
    "text": "str",
    "texts": "Sequence[str]",
    "num_threads": "int | None",
    "ngram": "int",
    "num_perm": "int",
    "seed": "int",
    "threshold": "float",
    "min_probability": "float",
    "bands": "int",
    "rows": "int",
    "signatures": "bytes",
    "left": "Sequence[str]",
    "right": "Sequence[str]",
    "left_index": "Sequence[int]",
    "right_index": "Sequence[int]",
    "a": "str",
    "b": "str",
    "n": "int",
    "pairs": "Sequence[tuple[int, int]]",
    "path": "str | os.PathLike[str]",
    "packed": "str | os.PathLike[str]",
    "prefix": "str | os.PathLike[str]",
    "sample_len": "int",
    "samples_per_shard": "int",
    "vocab_size": "int",
    "eos_id": "int",
    "lexicons": "Mapping[str, Sequence[str]]",
    "model": "bytes | None",
    "use_rules": "bool",
    "surrogate_seed": "int | None",
    "samples": "Sequence[str]",
    "min_words": "int",
    "ids": "bytes",
    "offsets": "bytes",
    "order": "bytes",
    "data": "bytes",
    "text_field": "str",
    "id": "int",
    "piece": "str",
    "examples": "Sequence[Any]",
    "corpus": "Sequence[str]",
    "epochs": "int",
    "log2_buckets": "int",
    "corpus_folds": "int | None",
    "progress": "Callable[..., Any] | None",
    "runs": "int",
    "min_counts": "Sequence[int] | None",
}
# Where one name means another type in one place: "Owner.method.parameter".
PARAMETER_OVERRIDES = {"Tokenizer.decode.ids": "Sequence[int]", "ReferenceLM.train.order": "int"}
SPANS = "list[tuple[int, int, str]]"
# Return types: module functions, and "Class.method" / "Class.attribute".
RETURNS = {
    "choose_lsh_bands": "tuple[int, int]",
    "connected_components": "list[int]",
    "deid_corpus_stop_words": "list[str]",
    "deid_lexicon_fingerprint": "str",
    "deid_model_info": "dict[str, Any]",
    "deid_types": "list[str]",
    "deidentify": f"tuple[str, {SPANS}]",
    "deidentify_batch": f"list[tuple[str, {SPANS}]]",
    "jaccard": "float",
    "jaccard_pairs": "bytes",
    "lsh_band_keys": "tuple[bytes, bytes]",
    "lsh_candidate_pairs": "list[tuple[int, int]]",
    "minhash_signatures": "bytes",
    "near_duplicate_clusters": "tuple[list[int], dict[str, int]]",
    "near_duplicate_pairs": "list[tuple[int, int, float]]",
    "non_alphanumeric_ratios": "list[float]",
    "normalized_hash": "int",
    "normalized_hashes": "list[int]",
    "permutation": "bytes",
    "read_sentencepiece_model": "dict[str, Any]",
    "repetition_scores": "bytes",
    "shingle_set": "list[int]",
    "train_deid_tagger": "bytes",
    "write_shards": "list[dict[str, Any]]",
    "ContaminationIndex.scan_batch": "list[list[tuple[int, float]]]",
    "ContaminationIndex.ngram": "int",
    "ContaminationIndex.samples": "int",
    "ContaminationIndex.skipped": "list[int]",
    "ReferenceLM.discounts": "list[tuple[float, float, float]]",
    "ReferenceLM.load": "ReferenceLM",
    "ReferenceLM.min_counts": "list[int]",
    "ReferenceLM.ngram_counts": "list[int]",
    "ReferenceLM.order": "int",
    "ReferenceLM.perplexities": "bytes",
    "ReferenceLM.save": "int",
    "ReferenceLM.train": "ReferenceLM",
    "ReferenceLM.vocab_size": "int",
    "DeidEngine.deidentify_batch": f"list[tuple[str, {SPANS}]]",
    "DeidEngine.detect_batch": f"list[{SPANS}]",
    "DeidEngine.lexicon_fingerprint": "str",
    "DeidEngine.sha256": "str | None",
    "SampleWriter.close": "dict[str, int]",
    "SampleWriter.push": "None",
    "Tokenizer.decode": "str",
    "Tokenizer.encode": "list[int]",
    "Tokenizer.encode_batch": "list[list[int]]",
    "Tokenizer.encode_batch_flat": "tuple[bytes, bytes]",
    "Tokenizer.encode_buffers": "tuple[bytes, bytes]",
    "Tokenizer.encode_jsonl": "tuple[bytes, bytes]",
    "Tokenizer.from_file": "Tokenizer",
    "Tokenizer.id_to_piece": "str",
    "Tokenizer.normalize": "str",
    "Tokenizer.path": "str",
    "Tokenizer.piece_to_id": "int",
    "Tokenizer.splits_into_words": "bool",
    "Tokenizer.unk_id": "int",
    "Tokenizer.vocab_size": "int",
}
# Module constants: their types.
CONSTANTS = {"REPETITION_SCORE_NAMES": "list[str]"}
# Constructors' text signatures (pyo3 puts them on the class).
CONSTRUCTED = {"ContaminationIndex", "DeidEngine", "SampleWriter"}


def _parameters(signature: str, key: str = "") -> str:
    """'($self, texts, num_threads=None)' -> 'self, texts: Sequence[str], num_threads: int | None = None'."""
    out = []
    for raw in filter(None, (p.strip() for p in signature.strip("()").split(","))):
        name, _, default = raw.partition("=")
        name = name.lstrip("$")
        if name == "self" or name.startswith("*"):
            out.append(name)
            continue
        kind = PARAMETER_OVERRIDES.get(f"{key}.{name}", PARAMETERS.get(name, "Any"))
        annotated = f"{name}: {kind}"
        out.append(f"{annotated} = {default}" if default else annotated)
    return ", ".join(out)


def _docstring(obj, indent: str) -> list[str]:
    doc = inspect.cleandoc(obj.__doc__ or "")
    if not doc or doc.startswith("Create and return a new object"):
        return []
    lines = doc.replace('"""', "'''").splitlines()
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}'] + [f"{indent}{line}".rstrip() for line in lines[1:]] + [f'{indent}"""']


def _function(name: str, obj, indent: str = "", owner: str = "") -> list[str]:
    key = f"{owner}.{name}" if owner else name
    signature = getattr(obj, "__text_signature__", None) or "()"
    params = _parameters(signature, key)
    head = [f"{indent}@staticmethod"] if owner and not params.startswith("self") else []
    body = _docstring(obj, indent + "    ")
    returns = RETURNS.get(key, "Any")
    if not body:
        return head + [f"{indent}def {name}({params}) -> {returns}: ..."]
    return head + [f"{indent}def {name}({params}) -> {returns}:"] + body


def render() -> str:
    from medtitan import _core

    lines = [
        '"""Type stub of medtitan._core, the Rust core (written by `python -m medtitan.core_stub`; do not edit)."""',
        "",
        "import os",
        "from collections.abc import Callable, Mapping, Sequence",
        "from typing import Any",
        "",
    ]
    for name in sorted(n for n in dir(_core) if not n.startswith("_")):
        obj = getattr(_core, name)
        lines.append("")
        if isinstance(obj, type):
            lines.append(f"class {name}:")
            lines += _docstring(obj, "    ")
            if name in CONSTRUCTED:
                params = _parameters("($self, " + (obj.__text_signature__ or "()").strip("()") + ")")
                lines.append(f"    def __init__({params}) -> None: ...")
            for member in sorted(vars(obj)):
                if member.startswith("_"):
                    continue
                attribute = getattr(obj, member)
                if inspect.isgetsetdescriptor(attribute) or inspect.ismemberdescriptor(attribute):
                    returns = RETURNS.get(f"{name}.{member}", "Any")
                    lines += ["    @property", f"    def {member}(self) -> {returns}:"]
                    lines += _docstring(attribute, "        ") or ["        ..."]
                else:
                    lines += _function(member, attribute, "    ", name)
        elif not callable(obj):
            lines.append(f"{name}: {CONSTANTS.get(name, 'Any')}")
        else:
            lines += _function(name, obj)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        if not STUB.exists() or STUB.read_text() != text:
            print(f"{STUB} is stale: run python -m medtitan.core_stub", file=sys.stderr)
            return 1
        return 0
    STUB.write_text(text)
    print(f"wrote {STUB}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
