"""Real public-domain text for the demo corpus: ICD-10-CM, read at run time from the pinned
`simple-icd-10-cm` package (a US Government work; nothing of it is committed here)."""

from __future__ import annotations

import random
from importlib.metadata import PackageNotFoundError, version

PACKAGE = "simple-icd-10-cm"
PINNED_VERSION = "1.5.0"
SOURCE_TAG = f"simple_icd_10_cm_{PINNED_VERSION}"
MAX_LINES_PER_DOC = 60


def _load():
    try:
        installed = version(PACKAGE)
    except PackageNotFoundError as error:
        raise RuntimeError(
            f"{PACKAGE}=={PINNED_VERSION} is needed for the demo corpus's ICD-10-CM documents; "
            "run `make setup` (it installs the dev extras)"
        ) from error
    if installed != PINNED_VERSION:
        raise RuntimeError(
            f"{PACKAGE} {installed} is installed but the demo corpus is pinned to {PINNED_VERSION} "
            "so that it is byte-identical everywhere; run `make setup`"
        )
    import simple_icd_10_cm

    return simple_icd_10_cm


def icd10_documents(rng: random.Random, count: int) -> list[tuple[str, str, dict]]:
    """`count` ICD-10-CM categories chosen by `rng`, as (id, text, meta): one document per
    3-character category, one line per code with its description and inclusion terms."""
    cm = _load()
    categories = sorted(code for code in cm.get_all_codes(True) if cm.is_category(code))
    documents = []
    for code in sorted(rng.sample(categories, k=min(count, len(categories)))):
        lines = [f"{code} {cm.get_description(code)}"]
        lines += [f"    Includes: {term}" for term in cm.get_inclusion_term(code)]
        for child in cm.get_descendants(code):
            if len(lines) >= MAX_LINES_PER_DOC:
                break
            if cm.is_extended_subcategory(child):
                continue  # 7th-character extensions repeat their parent's text
            lines.append(f"{child} {cm.get_description(child)}")
            lines += [f"    Includes: {term}" for term in cm.get_inclusion_term(child)[:3]]
        chapter = cm.get_ancestors(code)[-1]
        documents.append((f"icd10cm:{code}", "\n".join(lines[:MAX_LINES_PER_DOC]), {"chapter": chapter}))
    return documents
