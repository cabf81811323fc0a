"""python/medtitan/_core.pyi, the type stub of the Rust core: written from the module itself by
`python -m medtitan.core_stub`, so it names every function, class and method the extension
has, with their parameters and docstrings; a stale stub fails here."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from medtitan import _core

STUB = Path(__file__).resolve().parents[1] / "python" / "medtitan" / "_core.pyi"


def test_the_stub_is_what_the_extension_says_today():
    result = subprocess.run(
        [sys.executable, "-m", "medtitan.core_stub", "--check"], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_the_stub_declares_every_public_name_with_its_parameters():
    tree = ast.parse(STUB.read_text())
    declared = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    constants = {node.target.id for node in tree.body if isinstance(node, ast.AnnAssign)}
    public = {name for name in dir(_core) if not name.startswith("_")}
    assert set(declared) | constants == public
    encode_batch = next(
        n for n in declared["Tokenizer"].body if isinstance(n, ast.FunctionDef) and n.name == "encode_batch"
    )
    assert [a.arg for a in encode_batch.args.args] == ["self", "texts", "num_threads"]
    assert ast.unparse(encode_batch.returns) == "list[list[int]]"
    assert "without the GIL" in ast.get_docstring(encode_batch)
