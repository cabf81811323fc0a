"""Plant PHI into one real passage and return the document with exact gold spans.

Edits on the real text are of three kinds, all at places where the text stays well formed:
* insertions of rendered template sentences at sentence / section boundaries (the MTSamples
  "., " line-break artifact is kept: a sentence inserted there ends in ".," like its neighbours);
* header lines before, signature / phone-message blocks after the passage;
* safe replacements of existing mentions: "The patient" -> "Mr. Tamsor" (title chosen from the
  passage's own pronouns), and in IU reports the de-identification masks that stand for a date
  ("COMPARISON: XXXX, XXXX", "dated XXXX") or an age ("XXXX-year-old": an age over 89 is gold AGE,
  one of 89 or under is a decoy).
Every span is checked against the text it claims (text[start:end] == planted string).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import forms as F
import templates as T
from forms import Piece, lit, phi

SENTENCE_BOUNDARY = re.compile(r"(?<=[.?!])  ?(?=[A-Z])|(?<=\.),(?=\S)|(?<=\n)(?=[A-Z])")
IU_DATE_MASK = re.compile(
    r"(?:(?<=COMPARISON: )|(?<=dated )|(?<=from )|(?<=on ))XXXX(?:, XXXX)?(?=\.*$|\.)", re.MULTILINE
)
IU_AGE_MASK = re.compile(r"XXXX(?=-year-old)")
LIST_NUMBER = re.compile(r"(?:^|[,\s])\d{1,2}\.$")  # "1." of a numbered list is no sentence end
THE_PATIENT = re.compile(r"\b[Tt]he patient\b(?!')")


@dataclass
class Edit:
    start: int
    end: int
    pieces: list[Piece]
    order: int


@dataclass
class Planted:
    text: str
    spans: list[list]  # [start, end, TYPE]
    roles: list[str | None]
    forms: list[str]
    negatives: list[list]  # [start, end, kind]
    templates: list[str]  # pool:index of every template used, in order


def _case(pieces: list[Piece], mode: str) -> list[Piece]:
    if mode == "upper":
        return [(t.upper(), *rest) for t, *rest in pieces]
    if mode == "lower":
        return [(t.lower(), *rest) for t, *rest in pieces]
    return pieces


def _sex_from_pronouns(text: str) -> str | None:
    she = len(re.findall(r"\b(?:she|her|hers|herself)\b", text, re.IGNORECASE))
    he = len(re.findall(r"\b(?:he|him|his|himself)\b", text, re.IGNORECASE))
    if she > 2 * he and she >= 2:
        return "F"
    if he > 2 * she and he >= 2:
        return "M"
    return None


def assemble(base: str, edits: list[Edit]) -> Planted:
    """Apply non-overlapping edits to ``base`` and collect spans from the labelled pieces."""
    edits = sorted(edits, key=lambda e: (e.start, e.end, e.order))
    out: list[str] = []
    spans, roles, forms_, negatives = [], [], [], []
    pos = at = 0
    for edit in edits:
        if edit.start < at:
            raise AssertionError(f"overlapping edits at {edit.start}")
        out.append(base[at : edit.start])
        pos += edit.start - at
        for text, label, role, form in edit.pieces:
            if label is not None and label.startswith("NEG:"):
                negatives.append([pos, pos + len(text), label[4:]])
            elif label is not None:
                spans.append([pos, pos + len(text), label])
                roles.append(role)
                forms_.append(form)
            out.append(text)
            pos += len(text)
        at = edit.end
    out.append(base[at:])
    text = "".join(out)
    planted = Planted(text, spans, roles, forms_, negatives, [])
    # Exactness: every span's text is the piece planted there.
    expected = [t for e in edits for t, label, _, _ in e.pieces if label is not None and not label.startswith("NEG:")]
    assert [text[s:e] for s, e, _ in spans] == expected, "span offsets drifted"
    return planted


def plant(passage, lex, rng: random.Random) -> Planted:
    base = passage.text
    sex = _sex_from_pronouns(base)
    cast = F.make_cast(lex, rng, sex)
    renderer = T.Renderer(lex, cast, rng)
    edits: list[Edit] = []
    used: list[str] = []
    order = 0

    def render(pool_name: str, case: str = "") -> list[Piece]:
        pool = T.ALL_POOLS[pool_name]
        index = rng.randrange(len(pool))
        while f"{pool_name}:{index}" in used:  # a note does not repeat itself word for word
            index = rng.randrange(len(pool))
        used.append(f"{pool_name}:{index}")
        return _case(renderer.render(pool[index]), case)

    def sentence_case() -> str:
        roll = rng.random()
        return "upper" if roll < 0.05 else "lower" if roll < 0.13 else ""

    # Safe replacements first; insertion points then avoid the replaced ranges.
    taken: list[tuple[int, int]] = []
    if passage.kind == "note":
        for match in THE_PATIENT.finditer(base):
            if len(taken) < 2 and rng.random() < 0.5:
                form = (
                    rng.choice(("title_last", "title_last", "title_full", "full", "first"))
                    if sex
                    else rng.choice(("full", "first", "last_first"))
                )
                pieces = F.name_pieces(cast.patient, form, rng)
                pieces = [
                    (t, label, role, "replace:" + (f or "")) if label else (t, label, role, f)
                    for t, label, role, f in pieces
                ]
                edits.append(Edit(match.start(), match.end(), pieces, order))
                order += 1
                taken.append((match.start(), match.end()))
    else:
        for match in IU_DATE_MASK.finditer(base):
            if not base[base.rfind("\n", 0, match.start()) + 1 :].startswith("COMPARISON"):
                continue  # outside the comparison line a mask may stand for anything
            form = rng.choice(("mdy4", "mdy2", "long", "abbr", "md", "iso", "mdy4_nopad", "dmy_abbr"))
            day = cast.anchor - F.dt.timedelta(days=rng.randint(30, 3000))
            edits.append(
                Edit(match.start(), match.end(), [phi(F.date_text(day, form), "DATE", f"replace:date:{form}")], order)
            )
            order += 1
            taken.append((match.start(), match.end()))
        for match in IU_AGE_MASK.finditer(base):
            label = "AGE" if rng.random() < 0.4 else "NEG"
            n = rng.randint(90, 103) if label == "AGE" else rng.randint(19, 89)
            pieces = F.age_pieces(n, "bare", label)
            edits.append(Edit(match.start(), match.end(), pieces, order))
            order += 1
            taken.append((match.start(), match.end()))

    boundaries = [
        m.end()
        for m in SENTENCE_BOUNDARY.finditer(base)
        if not any(a <= m.end() <= b for a, b in taken)
        and not LIST_NUMBER.search(base[max(0, m.start() - 5) : m.start()])
    ]

    def insert(pieces: list[Piece]) -> None:
        nonlocal order
        if not boundaries:
            edits.append(Edit(len(base), len(base), [lit("  " if passage.kind == "note" else "\n"), *pieces], order))
        else:
            at = rng.choice(boundaries)
            if at > 0 and base[at - 1] == ",":
                sep = ","  # the MTSamples "., " artifact
            elif at > 0 and base[at - 1] == "\n":
                sep = "\n"
            else:
                sep = "  " if passage.kind == "note" else " "
            edits.append(Edit(at, at, [*pieces, lit(sep)], order))
        order += 1

    if passage.kind == "note":
        pools = ("nursing", "clinical", "social", "ages", "nursing", "clinical")
        for _ in range(rng.randint(3, 6)):
            insert(render(rng.choice(pools), sentence_case()))
        for _ in range(rng.randint(1, 3)):
            insert(render("negatives", sentence_case()))
    else:
        for _ in range(rng.randint(1, 3)):
            insert(render(rng.choice(("radiology", "radiology", "clinical", "ages")), sentence_case()))
        for _ in range(rng.randint(0, 1)):
            insert(render("negatives"))

    head: list[Piece] = []
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        head += render("headers", "upper" if rng.random() < 0.1 else "") + [lit("\n")]
    if head:
        edits.append(Edit(0, 0, head, -1))
    tail: list[Piece] = []
    if rng.random() < (0.3 if passage.kind == "note" else 0.15):
        tail += [lit("\n")] + render("phone_messages", sentence_case())
    if rng.random() < (0.55 if passage.kind == "note" else 0.65):
        tail += [lit("\n")] + render("footers")
    if tail:
        edits.append(Edit(len(base), len(base), tail, order + 1))
    planted = assemble(base, edits)
    planted.templates = used
    return planted
