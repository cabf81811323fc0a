"""Mojibake: UTF-8 text decoded with a single-byte codec (cp1252 or latin-1), as scrapers and old
exports leave it: "’" becomes "â€™", "é" becomes "Ã©", "°" becomes "Â°". Each such character
leaves a telltale pair, a lead byte's character (Â, Ã, or â followed by € or a C1 control) and
a continuation byte's character (U+0080..U+00BF, or one of cp1252's characters for 0x80..0x9F).
Clean English rarely has them: in ../shared/data no document has two (six drug-lexicon records
have one); every mojibake item of the garbage set has three or more.
"""

from __future__ import annotations

import re

# cp1252's characters for the bytes 0x80..0x9F (latin-1 leaves those bytes as C1 controls).
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_CONTINUATION = f"\x80-\xbf{_CP1252_HIGH}"
TELLTALE = re.compile(f"[ÂÃ][{_CONTINUATION}]|â[€\x80-\x9f][{_CONTINUATION}]")


def mojibake_sequences(texts: list[str]) -> list[int]:
    """The number of telltale sequences in each text (the regex engine scans; no per-character
    Python loop)."""
    return [
        sum(1 for _ in TELLTALE.finditer(text)) if ("Â" in text or "Ã" in text or "â" in text) else 0 for text in texts
    ]
