"""Documents as lists of pieces, so planted PHI carries its ground truth with it.

A generated document is a list of `Piece`s: plain text, a PHI value (with its type), an
editable value (a number a copy-forward note would change) or a whole sentence (one a
near-duplicate may drop). Rendering concatenates the pieces and returns the PHI spans as
[start, end) offsets into the text, so the spans are right by construction, whatever edits
a near-duplicate made to the pieces.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

# Ground-truth PHI types, as later de-identification must recognise them.
PHI_TYPES = ("NAME", "MRN", "SSN", "PHONE", "FAX", "EMAIL", "ADDRESS", "DATE", "AGE", "HOSPITAL")


@dataclass(frozen=True)
class Piece:
    text: str
    phi: str | None = None  # one of PHI_TYPES, or None
    kind: str | None = None  # "value" (editable number), "sentence" (droppable), or None


@dataclass(frozen=True)
class Phi:
    """A template slot holding protected health information."""

    type: str
    value: str

    def __post_init__(self) -> None:
        if self.type not in PHI_TYPES:
            raise ValueError(f"unknown PHI type {self.type!r}; expected one of {PHI_TYPES}")


@dataclass(frozen=True)
class Value:
    """A template slot holding a measurement that a copy-forward note would update."""

    value: str


_FORMATTER = string.Formatter()


class Doc:
    """Builder for one document."""

    def __init__(self) -> None:
        self.pieces: list[Piece] = []

    def text(self, text: str) -> Doc:
        if text:
            self.pieces.append(Piece(text))
        return self

    def sentence(self, text: str, end: str = " ") -> Doc:
        """A free-standing sentence with no PHI, which near-duplicate edits may drop."""
        self.pieces.append(Piece(text + end, kind="sentence"))
        return self

    def fill(self, template: str, **slots: str | Phi | Value) -> Doc:
        """Append `template` with its {slots} filled: str as text, Phi and Value as typed pieces."""
        for literal, field, spec, conversion in _FORMATTER.parse(template):
            self.text(literal)
            if field is None:
                continue
            if spec or conversion:
                raise ValueError(f"template slots take no format spec: {template!r}")
            slot = slots[field]
            if isinstance(slot, Phi):
                self.pieces.append(Piece(slot.value, phi=slot.type))
            elif isinstance(slot, Value):
                self.pieces.append(Piece(slot.value, kind="value"))
            else:
                self.text(str(slot))
        return self

    def render(self) -> tuple[str, list[dict]]:
        return render(self.pieces)


def render(pieces: list[Piece]) -> tuple[str, list[dict]]:
    """The text of `pieces` and its PHI spans: {start, end, type, text}, offsets in characters."""
    parts: list[str] = []
    spans: list[dict] = []
    offset = 0
    for piece in pieces:
        if piece.phi is not None:
            spans.append({"start": offset, "end": offset + len(piece.text), "type": piece.phi, "text": piece.text})
        parts.append(piece.text)
        offset += len(piece.text)
    return "".join(parts), spans
