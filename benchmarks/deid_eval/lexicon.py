"""Word sources of the evaluation set: the held-out faker slice, invented names, and places.

The engine's training generator draws its names from faker too, so this set uses only the slice
of faker's words that the training side never sees: ``zlib.crc32(word.lower()) % 10 >= 8``
(``in_eval_slice``). On top of that, about half of the surnames and a third of the first names are
*invented* (built from syllables, checked against every faker name list and the vocabulary of the
real corpus), so a detector only scores on them by generalising from context and shape, never by
lexicon lookup.

Everything here is deterministic: faker is used only as a pinned word list (faker==40.63.0), never
through its random generator, and every list is sorted before anything is drawn from it.
"""

from __future__ import annotations

import importlib
import random
import re
import zlib
from dataclasses import dataclass

# faker locales whose person names read as names seen in US clinics; Latin letters only.
NAME_LOCALES = ("en_US", "en_GB", "en_IE", "es_MX", "en_IN", "it_IT")
# Locales with a real `cities` list in Latin script: places patients come from or travel to.
CITY_LOCALES = ("en_IN", "de_DE", "pt_PT", "sv_SE", "ro_RO", "id_ID", "cs_CZ", "da_DK", "nl_NL", "de_CH")
SIMPLE_WORD = re.compile(r"(?:[A-Z]')?[A-Z][a-z]+")  # one token ("Hansen", "O'Neil"): the slice is per word


def in_eval_slice(word: str) -> bool:
    """True for the words reserved for evaluation (the training generator uses the rest)."""
    return zlib.crc32(word.lower().encode()) % 10 >= 8


def _provider(kind: str, locale: str):
    return importlib.import_module(f"faker.providers.{kind}.{locale}").Provider


def _clean_slice(words) -> list[str]:
    return sorted({w for w in words if SIMPLE_WORD.fullmatch(w) and in_eval_slice(w)})


def all_faker_names() -> set[str]:
    """Every person-name word of every faker locale (all slices), lower case: invented names must
    avoid all of them."""
    import pkgutil

    from faker.providers import person

    seen: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"faker.providers.person.{module.name}").Provider
        for attribute in ("first_names", "first_names_female", "first_names_male", "last_names"):
            words = getattr(provider, attribute, ())
            if not isinstance(words, (list, tuple, dict)):
                continue  # some locales compute these lists in a property
            for word in words:
                if isinstance(word, str):
                    seen.update(part.lower() for part in re.split(r"[\s-]+", word) if part)
    return seen


# Syllables for invented names; sequences like "Kavrelski", "Tamsor", "Oduvan", "Brenquist".
_ONSETS = (
    "b",
    "br",
    "d",
    "dr",
    "f",
    "g",
    "gr",
    "h",
    "j",
    "k",
    "kr",
    "l",
    "m",
    "n",
    "p",
    "pr",
    "r",
    "s",
    "st",
    "t",
    "tr",
    "v",
    "vr",
    "z",
    "sh",
    "ch",
    "th",
    "",
    "",
    "",
)
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ai", "ou", "ei")
_CODAS = ("", "", "", "n", "r", "l", "s", "m", "v", "k", "nd", "rt", "ls", "sk")
_LAST_ENDINGS = (
    "ski",
    "son",
    "ar",
    "elli",
    "ov",
    "ek",
    "quist",
    "an",
    "ova",
    "er",
    "berg",
    "ton",
    "ez",
    "ic",
    "ani",
    "aro",
    "ley",
    "ford",
    "stad",
    "ik",
    "man",
    "ell",
    "ard",
    "ino",
)
_FEMALE_ENDINGS = ("a", "ina", "elle", "ette", "ia", "yn", "ra", "is", "ie")
_MALE_ENDINGS = ("o", "an", "el", "on", "us", "ar", "in", "ed", "er")


def _syllables(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(count))


def _pronounceable(word: str) -> bool:
    # No triple consonants or triple vowels, no doubled vowel pairs like "aiai": reads like a name.
    return not re.search(r"[bcdfghjklmnpqrstvwxz]{4}|[aeiou]{3}|(..)\1", word) and 4 <= len(word) <= 11


def invented_names(seed: int, forbidden: set[str]) -> dict[str, list[str]]:
    """Deterministic pools of invented surnames and female/male first names.

    ``forbidden``: lower-case words that must not be produced (faker names of all locales, corpus
    vocabulary), so that no invented name is a known name or an ordinary word."""
    rng = random.Random(f"deid_eval-invented:{seed}")
    pools: dict[str, set[str]] = {"last": set(), "female": set(), "male": set()}
    taken: set[str] = set()
    targets = {"last": 600, "female": 250, "male": 250}
    endings = {"last": _LAST_ENDINGS, "female": _FEMALE_ENDINGS, "male": _MALE_ENDINGS}
    for kind, target in targets.items():
        while len(pools[kind]) < target:
            stem = _syllables(rng, rng.choice((1, 1, 2)))
            word = (stem + rng.choice(endings[kind])).capitalize()
            lower = word.lower()
            if _pronounceable(lower) and lower not in forbidden and lower not in taken:
                pools[kind].add(word)
                taken.add(lower)
    return {kind: sorted(words) for kind, words in pools.items()}


@dataclass(frozen=True)
class Lexicon:
    """Name and place words of the evaluation slice (faker) and the invented pools."""

    first_female: tuple[str, ...]
    first_male: tuple[str, ...]
    last: tuple[str, ...]
    inv_female: tuple[str, ...]
    inv_male: tuple[str, ...]
    inv_last: tuple[str, ...]
    towns: tuple[str, ...]  # US-style town names built from slice names, faker's way
    world_cities: tuple[str, ...]  # real cities of other countries (faker lists), sliced
    street_names: tuple[str, ...]  # "Kavrel", "Hansen": the name part of a street
    street_suffixes: tuple[str, ...]
    states: tuple[tuple[str, str, int, int], ...]  # (name, USPS code, first ZIP, last ZIP): closed set, not sliced
    countries: tuple[str, ...]
    faker_names: frozenset[str]  # every faker person-name word, all slices (lower case)

    def allowed_name(self, word: str) -> bool:
        """A name word may be used: invented (no faker list has it) or in the evaluation slice."""
        return word.lower() not in self.faker_names or in_eval_slice(word)


def build_lexicon(seed: int, corpus_vocabulary: set[str]) -> Lexicon:
    female: set[str] = set()
    male: set[str] = set()
    last: set[str] = set()
    for locale in NAME_LOCALES:
        provider = _provider("person", locale)
        female.update(_clean_slice(getattr(provider, "first_names_female", ())))
        male.update(_clean_slice(getattr(provider, "first_names_male", ())))
        last.update(_clean_slice(provider.last_names))
    # A name listed as both female and male stays out of both: the cast's sex must match pronouns.
    female, male = female - male, male - female
    faker_names = all_faker_names()
    forbidden = faker_names | corpus_vocabulary
    invented = invented_names(seed, forbidden)

    address = _provider("address", "en_US")
    towns: set[str] = set()
    for word in sorted(last | male | female) + invented["last"][:200]:
        for suffix in address.city_suffixes:
            town = word + suffix
            if in_eval_slice(town) and re.fullmatch(r"[A-Z][a-z]+", town):
                towns.add(town)
        for prefix in address.city_prefixes:
            town = f"{prefix} {word}"
            if in_eval_slice(town):
                towns.add(town)
    world: set[str] = set()
    for locale in CITY_LOCALES:
        world.update(
            c
            for c in _provider("address", locale).cities
            if re.fullmatch(r"[A-Z][a-z]+(?: [A-Z][a-z]+)?", c) and in_eval_slice(c)
        )
    street_names = sorted(w for w in last | male | female if in_eval_slice(w))
    return Lexicon(
        first_female=tuple(sorted(female)),
        first_male=tuple(sorted(male)),
        last=tuple(sorted(last)),
        inv_female=tuple(invented["female"]),
        inv_male=tuple(invented["male"]),
        inv_last=tuple(invented["last"]),
        towns=tuple(sorted(towns)),
        world_cities=tuple(sorted(world)),
        street_names=tuple(street_names),
        street_suffixes=(
            "Street",
            "St",
            "St.",
            "Avenue",
            "Ave",
            "Ave.",
            "Road",
            "Rd",
            "Drive",
            "Dr",
            "Lane",
            "Ln",
            "Court",
            "Ct",
            "Way",
            "Boulevard",
            "Blvd",
            "Place",
            "Terrace",
            "Circle",
            "Pike",
            "Hwy",
        ),
        # faker's abbreviation list also holds DC, which has no entry in its state names.
        states=tuple(
            (name, code, *address.states_postcode[code])
            for name, code in zip(address.states, [a for a in address.states_abbr if a != "DC"], strict=True)
        ),
        countries=tuple(c for c in address.countries if re.fullmatch(r"[A-Z][a-z]+(?: [A-Z][a-z]+)?", c)),
        faker_names=frozenset(faker_names),
    )
