"""Language identification for the filter stage: Google's CLD2 through pycld2, whose model is
compiled into its wheel (no download, no network, deterministic).

Chosen by measurement (issue 15): on the shared corpus' clinical notes, radiology and PubMed
abstracts (17 MB) CLD2 scores whole documents at about 20-26 MB/s on one core (40-50 ms a MB, this
wrapper included; py3langid, langid, lingua, cld3, fastText lid.176 and eld ran at 0.3-10 MB/s),
this wrapper removes none of them nor of the general English set at min_confidence 0.5, and it
labels 99.9% of faker text in 23 other languages as not English (all of it from 1,000
characters on). heliport was nearly as fast but is GPL-3 and an 87 MB wheel.

Confidence is the share of a document's non-digit bytes that CLD2 read as text in the language:
CLD2's percentage of the text it scored, times the bytes it scored over the bytes that are not
ASCII digits. Numbers are evidence of no language, so a lab table keeps its English share (shared
clinical notes of 100+ characters: lowest 0.83), while a table of numbers, random bytes or a page
that is mostly another language fall below 0.5 however confident CLD2 is about the few words it
found. CLD2 runs in best-effort mode: without it, a short abbreviation-heavy note ("Pt c/o SOB, CP
x3d. Hx HTN") comes back as unknown about a third of the time. Text with nothing to score is "und"
at 0.0.

The whole text is scored by default, so an English abstract over a foreign body, or a foreign
paragraph atop an English note, is judged by what most of the document is; `prefix_chars=2000`
brings the cost to 25-45 ms a MB on the same corpus, with the same removals there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

PACKAGE = "pycld2"
PINNED = "pycld2==0.42"
UNDETERMINED = "und"
_DIGITS = "0123456789"
# CLD2 rejects these as invalid UTF-8 (C0/C1 controls other than tab, newlines and form feed;
# Unicode noncharacters) and Python cannot encode lone surrogates: they become spaces, only for
# the documents that have them (the first call is tried as is).
_REJECTED = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ud800-\udfff"
    + "".join(chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF) for plane in range(17))
    + "]"
)
# CLD2's legacy codes -> ISO 639-1; "zh-Hant" -> "zh", "sr-ME" -> "sr"; "xx-Latn" (a language CLD2
# does not know, in Latin script) and its other internal codes stay as they are.
_LEGACY = {"iw": "he", "jw": "jv", "in": "id", "ji": "yi", "mo": "ro"}


@lru_cache(maxsize=1)
def _cld2():
    """The pycld2 module (its model is compiled in: importing it loads the model, once per process)."""
    try:
        import pycld2
    except ImportError as error:
        raise ImportError(
            f"medtitan.quality.langid needs the {PACKAGE} package (Google's CLD2 language identifier); "
            f"install it with `pip install '{PINNED}'` or turn the filter off with `[filters] languages = []`"
        ) from error
    return pycld2


def normalize_code(code: str) -> str:
    """CLD2's language code as the filter's configuration names it ("iw" -> "he", "zh-Hant" -> "zh")."""
    if code.startswith("xx-") or code.startswith("zz"):
        return code
    base = code.split("-", 1)[0]
    return _LEGACY.get(base, base)


@lru_cache(maxsize=1)
def known_languages() -> frozenset[str]:
    """Every code `identify` can return besides "und"."""
    return frozenset(normalize_code(code) for _, code in _cld2().LANGUAGES if code != "un")


class LanguageIdentifier:
    """`identify(texts)` -> [(language code, confidence in [0, 1])]; `keep(texts)` -> whether each
    text is in one of `languages` with at least `min_confidence`. `prefix_chars` scores only the
    start of each text (None: the whole text; the confidence is then the prefix's)."""

    def __init__(
        self, languages: Sequence[str] = ("en",), min_confidence: float = 0.5, prefix_chars: int | None = None
    ) -> None:
        if isinstance(languages, str):
            raise TypeError(f"languages is a list of codes such as ['en'], not the string {languages!r}")
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
        if prefix_chars is not None and prefix_chars <= 0:
            raise ValueError(f"prefix_chars must be positive or None, got {prefix_chars}")
        self._detect = _cld2().detect
        unknown = sorted(set(languages) - known_languages())
        if unknown:
            raise ValueError(
                f"unknown language codes {unknown}: CLD2 names languages by ISO 639-1 code "
                f"(en, de, es, ...); medtitan.quality.langid.known_languages() lists them all"
            )
        self.languages = tuple(languages)
        self.min_confidence = float(min_confidence)
        self.prefix_chars = prefix_chars

    def identify_one(self, text: str) -> tuple[str, float]:
        if self.prefix_chars is not None:
            text = text[: self.prefix_chars]
        data = text.encode("utf-8", "replace")
        try:
            _, scored, details = self._detect(data, isPlainText=True, bestEffort=True)
        except _cld2().error:
            text = _REJECTED.sub(" ", text)
            data = text.encode("utf-8")
            _, scored, details = self._detect(data, isPlainText=True, bestEffort=True)
        for _, code, percent, _ in details:
            if code != "un" and percent > 0:
                break
        else:
            return UNDETERMINED, 0.0
        non_digit_bytes = len(data) - sum(map(text.count, _DIGITS))
        share = min(1.0, scored / non_digit_bytes) if non_digit_bytes > 0 else 0.0
        return normalize_code(code), percent / 100.0 * share

    def identify(self, texts: Iterable[str]) -> list[tuple[str, float]]:
        return [self.identify_one(text) for text in texts]

    def keep(self, texts: Iterable[str]) -> list[bool]:
        return [
            language in self.languages and confidence >= self.min_confidence
            for language, confidence in self.identify(texts)
        ]
