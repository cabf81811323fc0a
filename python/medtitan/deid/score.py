"""Scoring a de-identifier against gold PHI spans: readers for users' gold standards, one scorer.

Gold standards come in two formats (``read_gold`` picks by extension, folders are searched
recursively):

* i2b2/n2c2 2014 de-identification XML (``.xml``): ``<deIdi2b2><TEXT><![CDATA[...]]></TEXT>
  <TAGS><NAME id="P0" start="16" end="20" text="..." TYPE="PATIENT"/>...</TAGS></deIdi2b2>``.
  The element name is the span's type (NAME, DATE, CONTACT, ...), ``TYPE`` its subtype.
  Offsets count the characters of the CDATA text *as stored in the file*: an XML parser folds
  ``\\r\\n`` to ``\\n``, so the text is taken from the raw file instead, and a ``\\r\\n`` counts as
  two characters, as the i2b2 tools count them. A copy whose line ends were converted to
  ``\\r\\n`` after annotation (its tag texts match only once ``\\r\\n`` is folded back to ``\\n``)
  is read with ``\\n`` line ends, and a problem names the file.
* JSONL (``.jsonl``, ``.jsonl.gz``, ``.jsonl.zst``), one document per line:
  ``{"id": optional, "text": ..., "spans": [[start, end, TYPE], ...]}``, spans also as
  ``{"start", "end", "type", "text"?, "subtype"?}`` objects.

A span whose ``text`` disagrees with ``text[start:end]`` is reported (file and tag id or line)
and kept: the offsets are what is scored. A span that cannot be scored (offsets outside the
text, empty, only whitespace) is reported and left out. A file that cannot be read at all
raises `ScoreInputError` naming the file and line.

Scoring (``score_documents``): recall asks whether the PHI was removed, whatever type the
engine gave it: a gold span is *found* when the predicted spans together cover all of its
non-whitespace characters, *partial* when they cover some. Character recall is the share of
gold non-whitespace characters covered. A predicted span is *correct* when it overlaps a gold
span of any type (excluded types too: removing a profession is not a false positive). Recall
is reported per gold type and subtype, precision per predicted type. Gold types that are not
HIPAA identifiers (``DEFAULT_EXCLUDED_TYPES``) are reported but left out of the overall figures.
Character counts add up per span (gold spans that overlap each other count their shared
characters twice). All documents are laid end to end and scored in a few numpy passes (merged
intervals, binary search, prefix counts of non-whitespace characters), never pairwise: 200,000
spans take about 0.1 s.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from medtitan.data.jsonl import SUFFIXES as JSONL_SUFFIXES
from medtitan.data.jsonl import CorpusReadError, Quarantined, _open_binary, read_records

Span = tuple[int, int, str]  # (start, end, type), character offsets into the original text

XML_SUFFIXES = (".xml",)
# PROFESSION is annotated in i2b2 2014 but is not one of HIPAA's 18 identifiers.
DEFAULT_EXCLUDED_TYPES = frozenset({"PROFESSION"})
# The i2b2 2014 subtypes that its organizers list as outside HIPAA Safe Harbor (Stubbs et al.,
# J Biomed Inform 2015): for a strict HIPAA-only figure (`deid-score --hipaa-strict`).
STRICT_HIPAA_EXCLUDED_TYPES = frozenset(
    {
        "PROFESSION",
        "DOCTOR",
        "USERNAME",
        "HOSPITAL",
        "DEPARTMENT",
        "ROOM",
        "STATE",
        "COUNTRY",
        "LOCATION-OTHER",
        "URL",
        "IPADDR",
        "OTHER",
    }
)
CONTEXT_CHARS = 30
MISS_OPEN, MISS_CLOSE = "[[", "]]"


class ScoreInputError(ValueError):
    """A gold or predictions file that cannot be read; the message names the file and line."""


# --- gold documents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    type: str
    subtype: str | None = None  # i2b2's TYPE attribute (PATIENT, DOCTOR, ...)
    tag: str | None = None  # where it was: the i2b2 tag id, or "span K" of a JSONL line

    @property
    def label(self) -> str:
        """``TYPE/SUBTYPE`` where the subtype says more than the type (``NAME/DOCTOR``, not ``DATE/DATE``)."""
        return f"{self.type}/{self.subtype}" if self.subtype and self.subtype != self.type else self.type


@dataclass
class GoldDocument:
    id: str
    text: str
    spans: list[GoldSpan]
    source: str  # "file" or "file:line", for messages


@dataclass(frozen=True)
class Problem:
    """Something wrong in a gold or predictions file that did not stop the scoring."""

    where: str  # file:line, or file tag id
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class GoldSet:
    documents: list[GoldDocument] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _same_text(stored: str, given: str) -> bool:
    # XML normalises whitespace inside attribute values (a newline becomes a space), so the
    # text attribute of a span that crosses a line end differs from the text in whitespace only.
    return stored == given or stored.split() == given.split()


def _checked(text: str, start: int, end: int, given: str | None, where: str, problems: list[Problem]) -> bool:
    """Whether the span can be scored; problems found on the way are appended."""
    if not 0 <= start < end <= len(text):
        problems.append(
            Problem(where, f"offsets {start}-{end} are not a span of the text ({len(text):,} characters); left out")
        )
        return False
    stored = text[start:end]
    if not stored.strip():
        problems.append(Problem(where, f"span {start}-{end} holds only whitespace; left out"))
        return False
    if given is not None and not _same_text(stored, given):
        problems.append(
            Problem(where, f"text attribute {given!r} != text[{start}:{end}] {stored!r} (kept: the offsets are scored)")
        )
    return True


_CDATA_TEXT = re.compile(r"<TEXT>\s*<!\[CDATA\[(.*?)\]\]>", re.DOTALL)


def _xml_tags(
    root: ET.Element, path: Path, problems: list[Problem]
) -> list[tuple[int, int, str, str | None, str, str | None]]:
    """(start, end, category, subtype, tag id, text attribute) of every tag under <TAGS>."""
    tags = []
    for number, element in enumerate(root.iterfind("TAGS/*")):
        tag_id = element.get("id") or f"#{number}"
        try:
            start, end = int(element.get("start", "")), int(element.get("end", ""))
        except ValueError:
            problems.append(
                Problem(
                    f"{path} tag {tag_id}",
                    f"start={element.get('start')!r} end={element.get('end')!r} are not integers; left out",
                )
            )
            continue
        tags.append((start, end, element.tag, element.get("TYPE") or None, tag_id, element.get("text")))
    return tags


def read_i2b2_xml(path: str | Path) -> tuple[GoldDocument, list[Problem]]:
    """One i2b2 2014 XML file: the document (id = file stem) and the problems of its tags."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as error:
        raise ScoreInputError(f"{path}: not well-formed XML: {error}") from None
    text_element = root.find("TEXT")
    if text_element is None:
        raise ScoreInputError(f"{path}: no <TEXT> element under <{root.tag}> (expected i2b2 <deIdi2b2><TEXT>...)")
    try:
        match = _CDATA_TEXT.search(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise ScoreInputError(f"{path}: not UTF-8 at byte {error.start}") from None
    # The raw CDATA keeps \r\n as stored; without CDATA only the parser's (folded) text exists.
    text = match.group(1) if match else (text_element.text or "")
    problems: list[Problem] = []
    tags = _xml_tags(root, path, problems)

    def mismatches(candidate: str) -> int:
        return sum(
            given is not None and end <= len(candidate) and not _same_text(candidate[start:end], given)
            for start, end, _, _, _, given in tags
        )

    if "\r" in text and mismatches(text):
        folded = text.replace("\r\n", "\n")
        if mismatches(folded) == 0:
            problems.append(
                Problem(
                    str(path),
                    "offsets count \\n line ends, but the file stores \\r\\n (line ends "
                    "converted after annotation?): read with \\n line ends",
                )
            )
            text = folded
    spans = [
        GoldSpan(start, end, category, subtype, tag_id)
        for start, end, category, subtype, tag_id, given in tags
        if _checked(text, start, end, given, f"{path} tag {tag_id}", problems)
    ]
    return GoldDocument(path.stem, text, spans, str(path)), problems


def _parse_span(item: object) -> tuple[int, int, str, str | None, str | None]:
    """(start, end, type, text, subtype) of ``[start, end, TYPE]`` or ``{start, end, type, ...}``."""
    if isinstance(item, (list, tuple)):
        if len(item) != 3:
            raise ValueError(f"expected [start, end, TYPE], got {len(item)} items")
        start, end, kind = item
        text = subtype = None
    elif isinstance(item, dict):
        missing = [key for key in ("start", "end", "type") if key not in item]
        if missing:
            raise ValueError(f"span object lacks {', '.join(missing)}")
        start, end, kind, text, subtype = (
            item["start"],
            item["end"],
            item["type"],
            item.get("text"),
            item.get("subtype"),
        )
        if text is not None and not isinstance(text, str):
            raise ValueError(f"span text is a {type(text).__name__}, not a string")
    else:
        raise ValueError(f"a span is [start, end, TYPE] or an object, not a {type(item).__name__}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        raise ValueError(f"start and end must be integers, got {start!r} and {end!r}")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"type must be a non-empty string, got {kind!r}")
    return start, end, kind, text, subtype if isinstance(subtype, str) and subtype else None


def _spans_field(data: dict, where: str) -> list[tuple[int, int, str, str | None, str | None]]:
    spans = data.get("spans")
    if not isinstance(spans, list):
        raise ScoreInputError(
            f"{where}: " + ("no 'spans' list" if spans is None else f"'spans' is a {type(spans).__name__}, not a list")
        )
    parsed = []
    for number, item in enumerate(spans):
        try:
            parsed.append(_parse_span(item))
        except ValueError as error:
            raise ScoreInputError(f"{where}: span {number}: {error}") from None
    return parsed


def read_gold_jsonl(path: str | Path) -> tuple[list[GoldDocument], list[Problem]]:
    """Every line of a JSONL gold file as a document (id: the ``id`` field, else ``file:line``)."""
    path = Path(path)
    documents: list[GoldDocument] = []
    problems: list[Problem] = []
    for item in read_records(path, text_field="text"):
        where = f"{item.path}:{item.line}"
        if isinstance(item, Quarantined):
            raise ScoreInputError(f"{where}: {item.reason}")
        spans = []
        for number, (start, end, kind, given, subtype) in enumerate(_spans_field(item.data, where)):
            if _checked(item.text, start, end, given, f"{where} span {number}", problems):
                spans.append(GoldSpan(start, end, kind, subtype, f"span {number}"))
        doc_id = item.data.get("id")
        documents.append(
            GoldDocument(str(doc_id) if doc_id is not None else f"{path.name}:{item.line}", item.text, spans, where)
        )
    return documents, problems


def _is_gold_file(path: Path) -> bool:
    return path.name.endswith(XML_SUFFIXES + JSONL_SUFFIXES)


def gold_files(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given, and the .xml and .jsonl(.gz/.zst) files anywhere under folders given."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.is_file() and _is_gold_file(p))
            if not found:
                raise ScoreInputError(f"{item}: folder holds no .xml or .jsonl gold files")
            files += found
        elif item.is_file():
            if not _is_gold_file(item):
                raise ScoreInputError(
                    f"{item}: unknown gold format (expected i2b2 .xml or .jsonl, .jsonl.gz, .jsonl.zst)"
                )
            files.append(item)
        else:
            raise ScoreInputError(f"{item}: no such file or folder")
    return files


def read_gold(inputs: Iterable[str | Path]) -> GoldSet:
    """All gold documents of `inputs` in file order; a repeated id is reported and made unique."""
    gold = GoldSet()
    seen: dict[str, str] = {}
    for path in gold_files(inputs):
        gold.files.append(str(path))
        try:
            if path.name.endswith(XML_SUFFIXES):
                document, problems = read_i2b2_xml(path)
                documents = [document]
            else:
                documents, problems = read_gold_jsonl(path)
        except CorpusReadError as error:
            raise ScoreInputError(str(error)) from None
        gold.problems += problems
        for document in documents:
            if document.id in seen:
                unique = f"{document.id}@{document.source}"
                gold.problems.append(
                    Problem(
                        document.source,
                        f"document id {document.id!r} already used by {seen[document.id]}; scored as {unique!r}",
                    )
                )
                document.id = unique
            seen[document.id] = document.source
            gold.documents.append(document)
    return gold


# --- predictions from another engine ------------------------------------------------------------


def read_predictions(path: str | Path, gold: GoldSet) -> tuple[dict[str, list[Span]], list[Problem]]:
    """Predicted spans per gold document id, from a JSONL of ``{"id"?, "spans": [...]}``.

    Lines with an ``id`` match the gold document of that id; a file without ids matches the
    gold documents in reading order, line for line. Gold documents without a line are scored as
    if nothing was predicted, and reported; lines for unknown ids are reported and ignored.
    """
    path = Path(path)
    rows: list[tuple[str, object, list[Span]]] = []
    line = 0
    try:
        with _open_binary(path) as stream:
            for line, raw in enumerate(stream, 1):
                if not raw.strip():
                    continue
                where = f"{path}:{line}"
                try:
                    data = json.loads(raw)
                except (UnicodeDecodeError, json.JSONDecodeError) as error:
                    raise ScoreInputError(f"{where}: malformed JSON: {error}") from None
                if not isinstance(data, dict):
                    raise ScoreInputError(f"{where}: not a JSON object (a {type(data).__name__})")
                spans = [(start, end, kind) for start, end, kind, _, _ in _spans_field(data, where)]
                rows.append((where, data.get("id"), spans))
    except FileNotFoundError:
        raise ScoreInputError(f"{path}: no such file") from None
    except (OSError, EOFError) as error:
        raise ScoreInputError(f"{path}: cannot read past line {line}: {error}") from None
    with_ids = sum(doc_id is not None for _, doc_id, _ in rows)
    if 0 < with_ids < len(rows):
        raise ScoreInputError(
            f"{path}: {with_ids} of {len(rows)} lines have an 'id': give every line an id "
            "(matched to gold ids) or none (matched by line order)"
        )
    problems: list[Problem] = []
    if not with_ids:
        if len(rows) != len(gold.documents):
            raise ScoreInputError(
                f"{path}: {len(rows)} lines without ids cannot be matched by order to "
                f"{len(gold.documents)} gold documents"
            )
        return {doc.id: spans for doc, (_, _, spans) in zip(gold.documents, rows)}, problems
    known = {doc.id for doc in gold.documents}
    predicted: dict[str, list[Span]] = {}
    for where, doc_id, spans in rows:
        doc_id = str(doc_id)
        if doc_id not in known:
            problems.append(Problem(where, f"id {doc_id!r} is not a gold document; ignored"))
        elif doc_id in predicted:
            problems.append(Problem(where, f"id {doc_id!r} given again; its spans are added to the earlier line's"))
            predicted[doc_id] += spans
        else:
            predicted[doc_id] = spans
    for doc in gold.documents:
        if doc.id not in predicted:
            problems.append(
                Problem(
                    str(path), f"no line for gold document {doc.id!r} ({doc.source}): scored as if nothing was found"
                )
            )
    return predicted, problems


# --- scoring ------------------------------------------------------------------------------------


@dataclass
class Counts:
    gold: int = 0  # gold spans
    found: int = 0  # ... whose non-whitespace characters are all covered by predicted spans
    partial: int = 0  # ... some but not all of whose non-whitespace characters are covered
    gold_chars: int = 0  # non-whitespace characters in gold spans
    covered_chars: int = 0  # ... covered by predicted spans
    predicted: int = 0  # predicted spans
    correct: int = 0  # ... overlapping some gold span

    def to_json(self) -> dict:
        def ratio(num: int, den: int) -> float | None:
            return num / den if den else None

        return asdict(self) | {
            "span_recall": ratio(self.found, self.gold),
            "char_recall": ratio(self.covered_chars, self.gold_chars),
            "precision": ratio(self.correct, self.predicted),
        }


@dataclass
class Score:
    documents: int
    overall: Counts
    by_type: dict[str, Counts]  # gold types and predicted types
    by_subtype: dict[str, Counts]  # "TYPE/SUBTYPE" of gold spans with a subtype
    not_counted: dict[str, int]  # gold label -> spans left out of the overall figures
    misses: dict[str, list[dict]]  # gold type -> examples of spans not found (partial ones included)
    false_positives: dict[str, list[dict]]  # predicted type -> examples
    problems: list[Problem]

    def to_json(self) -> dict:
        return {
            "documents": self.documents,
            "overall": self.overall.to_json(),
            "by_type": {kind: counts.to_json() for kind, counts in self.by_type.items()},
            "by_subtype": {label: counts.to_json() for label, counts in self.by_subtype.items()},
            "not_counted": self.not_counted,
            "misses": self.misses,
            "false_positives": self.false_positives,
            "problems": [problem.to_json() for problem in self.problems],
        }


# Every whitespace code point (str.isspace) is below U+3001.
_WHITESPACE = np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)


def _nonspace_prefix(text: str) -> np.ndarray:
    """prefix[i] = non-whitespace characters in text[:i] (character offsets, as Python counts them)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    prefix = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(~np.isin(codes, _WHITESPACE), out=prefix[1:])
    return prefix


def _merged(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, disjoint (starts, ends) of the union of half-open intervals."""
    if not len(starts):
        return starts, ends
    order = np.lexsort((ends, starts))
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    first = np.flatnonzero(np.concatenate([[True], starts[1:] > reach[:-1]]))
    return starts[first], np.maximum.reduceat(ends, first)


def _visible(text: str) -> str:
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r").replace("\t", " ")


def context(text: str, start: int, end: int, chars: int = CONTEXT_CHARS) -> str:
    """`chars` characters either side of text[start:end], the span marked ``[[...]]``, line ends shown as \\n."""
    return (
        _visible(text[max(0, start - chars) : start])
        + MISS_OPEN
        + _visible(text[start:end])
        + MISS_CLOSE
        + _visible(text[end : end + chars])
    )


def _codes(labels: list[str]) -> tuple[list[str], np.ndarray]:
    names, codes = np.unique(np.array(labels, dtype=object).astype(str), return_inverse=True) if labels else ([], [])
    return [str(name) for name in names], np.asarray(codes, dtype=np.int64).reshape(-1)


def _first_per_code(mask: np.ndarray, codes: np.ndarray, n_codes: int, limit: int) -> dict[int, np.ndarray]:
    """The first `limit` positions where `mask` holds, per code (positions in input order)."""
    picked = np.flatnonzero(mask)
    return {code: picked[codes[picked] == code][:limit] for code in range(n_codes)} if limit > 0 else {}


def score_documents(
    documents: Iterable[GoldDocument],
    predicted_by_id: Mapping[str, Sequence[Span]],
    *,
    exclude_types: Iterable[str] = DEFAULT_EXCLUDED_TYPES,
    types: Iterable[str] | None = None,
    max_examples: int = 10,
) -> Score:
    """Recall, character recall and precision of predicted spans against gold documents.

    * ``predicted_by_id``: document id -> predicted (start, end, type); a document without an
      entry counts as nothing predicted. Entries for ids that are not gold documents, and spans
      outside their text, are reported in ``problems`` and ignored.
    * A gold span counts in the overall figures unless its type or subtype is in
      ``exclude_types``, or ``types`` is given and names neither. It is always in its own rows.
    * ``max_examples``: misses per gold type and false positives per predicted type kept as
      examples (with context); the counts are always complete.

    All documents are laid end to end in one coordinate space, so the arithmetic is a few
    numpy passes whatever the number of documents: the predicted spans are merged into disjoint
    intervals, the covered non-whitespace characters before any offset x are a prefix sum over
    them (a binary search finds x's interval), and a gold span's coverage is that count at its
    end minus at its start; a predicted span is correct when the first merged gold interval
    ending after its start begins before its end.
    """
    docs = list(documents)
    excluded = set(exclude_types)
    wanted = set(types) if types is not None else None
    problems: list[Problem] = []
    offsets = np.cumsum([0] + [len(doc.text) for doc in docs])
    prefix = _nonspace_prefix("".join(doc.text for doc in docs))

    # Gold spans and predicted spans as flat columns; Python touches each span once, never a character.
    g_spans: list[GoldSpan] = []
    g_doc, g_start, g_end, g_types, g_labels, g_counted = [], [], [], [], [], []
    counted_cache: dict[tuple[str, str | None], bool] = {}
    p_doc, p_start, p_end, p_types = [], [], [], []
    for number, doc in enumerate(docs):
        for span in doc.spans:
            key = (span.type, span.subtype)
            if key not in counted_cache:
                names = {span.type, span.subtype} - {None}
                counted_cache[key] = not names & excluded and (wanted is None or bool(names & wanted))
            g_spans.append(span)
            g_doc.append(number)
            g_start.append(span.start)
            g_end.append(span.end)
            g_types.append(span.type)
            g_labels.append(span.label)
            g_counted.append(counted_cache[key])
        for start, end, kind in predicted_by_id.get(doc.id, ()):
            if 0 <= start < end <= len(doc.text):
                p_doc.append(number)
                p_start.append(start)
                p_end.append(end)
                p_types.append(str(kind))
            else:
                problems.append(
                    Problem(
                        doc.source,
                        f"predicted span {start}-{end} {kind} is not a span of document "
                        f"{doc.id!r} ({len(doc.text):,} characters); ignored",
                    )
                )
    known = {doc.id for doc in docs}
    for doc_id in sorted(set(predicted_by_id) - known):
        problems.append(Problem(str(doc_id), "predictions for a document that is not in the gold standard; ignored"))

    g_doc_a = np.array(g_doc, dtype=np.int64)
    gs = np.array(g_start, dtype=np.int64) + offsets[g_doc_a]
    ge = np.array(g_end, dtype=np.int64) + offsets[g_doc_a]
    p_doc_a = np.array(p_doc, dtype=np.int64)
    ps = np.array(p_start, dtype=np.int64) + offsets[p_doc_a]
    pe = np.array(p_end, dtype=np.int64) + offsets[p_doc_a]

    # Recall: non-whitespace characters covered by the union of predicted spans.
    ms, me = _merged(ps, pe)
    cumulative = np.concatenate([[0], np.cumsum(prefix[me] - prefix[ms])])

    def covered_before(x: np.ndarray) -> np.ndarray:
        i = np.searchsorted(ms, x, side="left")  # merged intervals starting before x
        covered = cumulative[i]
        if len(ms):
            last = np.maximum(i - 1, 0)  # the only one of them that may reach past x
            covered = covered - np.where(i > 0, prefix[me[last]] - prefix[np.minimum(me[last], x)], 0)
        return covered

    total = prefix[ge] - prefix[gs]
    covered = covered_before(ge) - covered_before(gs)
    found = covered == total
    partial = (covered > 0) & (covered < total)

    # Precision: does a predicted span overlap the union of gold spans?
    mgs, mge = _merged(gs, ge)
    i = np.searchsorted(mge, ps, side="right")
    correct = (i < len(mgs)) & (mgs[np.minimum(i, max(len(mgs) - 1, 0))] < pe) if len(mgs) else np.zeros(len(ps), bool)

    type_names, type_codes = _codes(g_types)
    label_names, label_codes = _codes(g_labels)
    kind_names, kind_codes = _codes(p_types)
    counted = np.array(g_counted, dtype=bool)

    def gold_counts(codes: np.ndarray, n: int, mask: np.ndarray | None = None) -> list[Counts]:
        weights = mask.astype(np.int64) if mask is not None else np.ones(len(codes), np.int64)
        columns = [
            np.bincount(codes, weights * column, minlength=n).astype(np.int64)
            for column in (np.ones(len(codes), np.int64), found, partial, total, covered)
        ]
        return [Counts(*(int(column[k]) for column in columns)) for k in range(n)]

    by_type = dict(zip(type_names, gold_counts(type_codes, len(type_names))))
    by_subtype = {
        label: counts for label, counts in zip(label_names, gold_counts(label_codes, len(label_names))) if "/" in label
    }
    overall = gold_counts(np.zeros(len(gs), np.int64), 1, counted)[0]
    predicted_n = np.bincount(kind_codes, minlength=len(kind_names))
    correct_n = np.bincount(kind_codes, correct.astype(np.int64), minlength=len(kind_names)).astype(np.int64)
    for k, kind in enumerate(kind_names):
        counts = by_type.setdefault(kind, Counts())
        counts.predicted, counts.correct = int(predicted_n[k]), int(correct_n[k])
    overall.predicted, overall.correct = len(ps), int(correct.sum())
    not_counted_n = np.bincount(label_codes, (~counted).astype(np.int64), minlength=len(label_names))
    not_counted = {label: int(n) for label, n in zip(label_names, not_counted_n) if n}

    misses: dict[str, list[dict]] = {}
    for code, picked in _first_per_code(~found, type_codes, len(type_names), max_examples).items():
        for j in picked:
            doc, span = docs[g_doc[j]], g_spans[j]
            misses.setdefault(type_names[code], []).append(
                {
                    "id": doc.id,
                    "source": doc.source,
                    "tag": span.tag,
                    "type": span.type,
                    "subtype": span.subtype,
                    "start": span.start,
                    "end": span.end,
                    "text": doc.text[span.start : span.end],
                    "covered_chars": int(covered[j]),
                    "chars": int(total[j]),
                    "context": context(doc.text, span.start, span.end),
                }
            )
    false_positives: dict[str, list[dict]] = {}
    for code, picked in _first_per_code(~correct, kind_codes, len(kind_names), max_examples).items():
        for j in picked:
            doc = docs[p_doc[j]]
            start, end = p_start[j], p_end[j]
            false_positives.setdefault(kind_names[code], []).append(
                {
                    "id": doc.id,
                    "source": doc.source,
                    "type": p_types[j],
                    "start": start,
                    "end": end,
                    "text": doc.text[start:end],
                    "context": context(doc.text, start, end),
                }
            )
    return Score(
        documents=len(docs),
        overall=overall,
        by_type=dict(sorted(by_type.items())),
        by_subtype=by_subtype,
        not_counted=not_counted,
        misses=misses,
        false_positives=false_positives,
        problems=problems,
    )


# --- reports ------------------------------------------------------------------------------------


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def format_score_table(score: Score | dict) -> str:
    """The per-type table (gold types with their subtypes indented, predicted types, overall).

    Takes a `Score` or its JSON form (also what `score_against_ground_truth` returns). Rows
    marked ``*`` are left out of the overall figures.
    """
    data = score.to_json() if isinstance(score, Score) else score
    not_counted = data.get("not_counted", {})
    rows: list[tuple[str, dict, bool]] = []
    for kind, counts in data["by_type"].items():
        rows.append((kind, counts, counts.get("gold", 0) > 0 and not_counted.get(kind, 0) == counts.get("gold")))
        for label, sub in data.get("by_subtype", {}).items():
            if label.split("/", 1)[0] == kind:
                rows.append(("  " + label.split("/", 1)[1], sub, not_counted.get(label, 0) == sub["gold"]))
    rows.append(("overall", data["overall"], False))
    width = max([12] + [len(name) + 2 for name, _, _ in rows])
    header = (
        f"{'type':<{width}}{'gold':>8}{'found':>8}{'partial':>8}{'recall':>8}{'char rec':>9}  |"
        f"{'predicted':>10}{'correct':>8}{'precision':>10}"
    )
    lines = [header, "-" * len(header)]
    for name, c, excluded in rows:
        label = name + (" *" if excluded else "")
        if name == "overall":
            lines.append("-" * len(header))
        gold = (
            f"{c['gold']:>8,}{c['found']:>8,}{c['partial']:>8,}{_cell(c['span_recall']):>8}{_cell(c['char_recall']):>9}"
            if c["gold"]
            else f"{'-':>8}{'':>8}{'':>8}{'':>8}{'':>9}"
        )
        predicted = (
            f"{c['predicted']:>10,}{c['correct']:>8,}{_cell(c['precision']):>10}" if c["predicted"] else f"{'-':>10}"
        )
        lines.append(f"{label:<{width}}{gold}  |{predicted}")
    if not_counted:
        lines.append("* not in overall: " + ", ".join(f"{label} ({n:,})" for label, n in not_counted.items()))
    return "\n".join(lines)


def format_examples(score: Score | dict, limit: int | None = None) -> str:
    """Misses per gold type and false positives per predicted type, each with its context."""
    data = score.to_json() if isinstance(score, Score) else score
    lines = []
    for title, groups in (
        ("missed (gold spans not fully covered)", data["misses"]),
        ("false positives (predicted spans overlapping no gold span)", data["false_positives"]),
    ):
        if not groups:
            continue
        lines.append(f"{title}, context {MISS_OPEN}marked{MISS_CLOSE}:")
        for kind, examples in groups.items():
            for example in examples[:limit]:
                label = (
                    f"{kind}/{example['subtype']}" if example.get("subtype") and example["subtype"] != kind else kind
                )
                share = (
                    f" {example['covered_chars']}/{example['chars']} chars covered"
                    if example.get("covered_chars")
                    else ""
                )
                lines.append(f"  {label:<16} {example['id']}@{example['start']}{share}: {example['context']}")
    return "\n".join(lines)


# --- the demo corpus's planted PHI ----------------------------------------------------------------


def _legacy(counts: dict) -> dict:
    """The original key names (planted, recall, detected, empty ratios as 1.0) beside the new ones."""
    return counts | {
        "planted": counts["gold"],
        "detected": counts["predicted"],
        "recall": counts["span_recall"] if counts["span_recall"] is not None else 1.0,
        "precision": counts["precision"] if counts["precision"] is not None else 1.0,
    }


def score_against_ground_truth(
    predicted_spans_by_id: Mapping[str, Sequence[Span]],
    truth_rows: Iterable[Mapping],
    *,
    texts_by_id: Mapping[str, str] | None = None,
    max_examples: int = 20,
) -> dict:
    """Span recall and precision of predictions against planted PHI (``score_documents`` underneath).

    * ``predicted_spans_by_id``: document id -> detected (start, end, type), for every document
      scanned; documents without a truth row (text with no planted PHI) count against precision.
    * ``truth_rows``: ``{id, spans: [{start, end, type, text}]}`` (ground_truth/phi_spans.jsonl).
    * Without ``texts_by_id`` the coverage of a span is judged on its own ``text`` (the document
      is rebuilt as the span texts at their offsets, blanks between).

    Returns the JSON form of `Score` with every type counted, each entry also under the
    original names: planted, found, recall, detected, correct, precision (1.0 where empty);
    ``missed`` and ``false_positives`` are flat lists of at most ``max_examples``.
    """
    truth = {row["id"]: list(row["spans"]) for row in truth_rows}
    documents = []
    for doc_id in sorted(set(truth) | set(predicted_spans_by_id)):
        planted = truth.get(doc_id, [])
        text = texts_by_id.get(doc_id) if texts_by_id is not None else None
        if text is None:
            ends = [span["end"] for span in planted] + [int(e) for _, e, _ in predicted_spans_by_id.get(doc_id, ())]
            chars = [" "] * max(ends, default=0)
            for span in planted:
                width = span["end"] - span["start"]
                chars[span["start"] : span["end"]] = span["text"][:width].ljust(width)
            text = "".join(chars)
        documents.append(
            GoldDocument(doc_id, text, [GoldSpan(s["start"], s["end"], s["type"]) for s in planted], str(doc_id))
        )
    score = score_documents(documents, predicted_spans_by_id, exclude_types=(), max_examples=max_examples).to_json()
    score["overall"] = _legacy(score["overall"])
    score["by_type"] = {kind: _legacy(counts) for kind, counts in score["by_type"].items()}
    score["missed"] = [example for examples in score["misses"].values() for example in examples][:max_examples]
    score["false_positives"] = [example for examples in score["false_positives"].values() for example in examples][
        :max_examples
    ]
    return score
