"""Loading user-supplied objects named "package.module:attr" in configs (de-identifiers,
perplexity scorers), with errors that say which config key named what."""

from __future__ import annotations

import importlib


def load_object(spec: str, key: str):
    """The object `attr` of module `package.module`; a zero-argument factory (a class or a
    function marked `medtitan_factory = True`) is called to make it."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{key} = {spec!r}: expected 'package.module:attr'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"{key} = {spec!r}: cannot import {module_name}: {error}") from error
    try:
        target = getattr(module, attr)
    except AttributeError as error:
        raise ValueError(f"{key} = {spec!r}: {module_name} has no attribute {attr!r}") from error
    if isinstance(target, type) or getattr(target, "medtitan_factory", False):
        target = target()
    return target
