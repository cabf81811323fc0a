"""Loading user-supplied objects named "package.module:attr" in configs (de-identifiers,
perplexity scorers), with errors that name the spec and say what was wrong."""

from __future__ import annotations

import importlib


def load_object(spec: str, what: str, method: str | None = None, expected: str = "'package.module:attr'"):
    """The object `attr` of module `package.module`.

    With `method`: the object must have that method; a class, or a factory function without
    it, is called with no arguments first. Without: a class is instantiated, anything else
    (a function, an object) is returned as it is.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{what} {spec!r}: expected {expected}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"{what} {spec!r}: cannot import module {module_name!r}: {error}") from error
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise ValueError(f"{what} {spec!r}: module {module_name!r} has no attribute {attr!r}") from None
    needs_call = isinstance(target, type) or (method is not None and callable(target) and not hasattr(target, method))
    if needs_call:
        try:
            target = target()
        except Exception as error:
            raise ValueError(f"{what} {spec!r}: calling {attr!r} failed: {error}") from error
    if method is not None and not callable(getattr(target, method, None)):
        raise ValueError(f"{what} {spec!r}: {type(target).__name__} object has no {method}(texts) method")
    return target
