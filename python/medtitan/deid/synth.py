"""Training data for the name/place tagger: surrogate PHI planted into real clinical text.

No labelled clinical corpus can be used here, so the tagger learns from real notes (read at run
time, e.g. MTSamples and radiology reports) into which made-up names, hospitals and places are
planted in many surface forms:

* masks of the source's own de-identification ("Dr. X", "Mr. ABC", "XYZ Hospital") are filled;
* "The patient" at the start of a sentence sometimes becomes a name (a name with no cue at all),
  and so do "the patient" inside a sentence ("Instructed the patient to ..." -> "Instructed Ben
  to ...") and a sentence's subject "He" / "She": no-cue first names in the real note's context;
* short sentences of our own are inserted between real sentences (and at the very start):
  relatives, staff with credentials and signatures, names with no cue as subjects and objects,
  possessives, "Last, First", message headers and phone notes, nursing shorthand ("spoke w/ son
  Marcus", "pt's wife X at bedside", "read back to X", "msw X notified", initials "RFJ aware",
  signatures "-r.l.f."), hospitals and clinics of many shapes ("St. X's", "X Memorial", "Hospital of X", "X
  Manor", "X Nursing and Rehab"), other organisations (pharmacies, employers, schools, insurers,
  labs: labelled HOSPITAL, the type set's facility/organisation), cities and towns with and
  without a cue, address lines, states, and countries said of the person ("born in", "came to
  this country from", "trip to": LOCATION, as i2b2-style gold standards count them); and
  negatives labelled O: countries in sentences about diseases or studies ("Endemic in Peru"),
  line heads that are no names ("Tel", "Page", "Voicemail"; "Tel" after an address), answer
  options of exam questions ("B. reversibly blocks"), capitalized words that are not PHI
  ("the Cardiology Clinic"), the same cue sentences with real words of the corpus in the name
  slots, and mentions of things ("Started on Xyz.") with rare corpus words, so that an unknown
  capitalized word is not read as a name by itself;
* each entity gets its own case (Title, lower, UPPER), and a few documents are wholly upper- or
  lowercased, as some notes are.

Labels: planted values are NAME / HOSPITAL / LOCATION; every real token is O, except real names
the rules find through a cue (NAME: they are real PHI), and four kinds of real text whose label
is unknown (None: no update is made on them): other rule findings (the rules handle them), real
city and state names that the lexicons know and the corpus rarely uses ("lived in Seattle": a
real place, which an O label would teach the model to miss), real hospital names ("Mayo
Clinic", "Children's Hospital", "Hospital of Bossier") and capitalized words inside a sentence
that the name lists know and the corpus rarely has ("Instructed Ben to ...": a real name with no
cue, which an O label would teach the model to miss).

Planted names and places come only from lexicon entries outside the evaluation slices
(``lexicons.planting_pool``), plus names and places invented from syllables so the model learns
shape and context, not only the lists. Everything is a function of (documents, lexicons, seed):
each document has its own random stream, keyed by the seed, its id and the copy number.
"""

from __future__ import annotations

import random
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medtitan import _core
from medtitan.data.documents import Document, read_documents
from medtitan.deid.lexicons import MEDICAL_STOP, planting_pool

Span = tuple[int, int, "str | None"]  # (start, end, label), character offsets; label None = unknown
LABELS = ("NAME", "HOSPITAL", "LOCATION")


@dataclass
class Example:
    """A training document: text and labelled spans (sorted, disjoint); `source` is the index of
    the real document it was made from (training cross-fits the corpus statistics by it)."""

    doc_id: str
    text: str
    spans: list[Span] = field(default_factory=list)
    source: int = 0


# --- reading and splitting --------------------------------------------------------------------


def read_corpus(paths: Sequence[str | Path]) -> list[Document]:
    """The documents of `paths`, each distinct text once (MTSamples files a note under several
    specialties), in file order."""
    seen: set[str] = set()
    out = []
    for doc in read_documents(list(paths)):
        key = " ".join(doc.text.lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(doc)
    return out


def split_documents(docs: Sequence[Document], dev_fraction: float, seed: int) -> tuple[list[Document], list[Document]]:
    """(train, dev) by duplicate family (``meta.group``), so near-copies never straddle."""
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), got {dev_fraction}")
    cut = int(dev_fraction * 10_000)
    dev = [d for d in docs if zlib.crc32(f"{seed}:{d.group}".encode()) % 10_000 < cut]
    dev_ids = {id(d) for d in dev}
    return [d for d in docs if id(d) not in dev_ids], dev


# --- pools of surrogate values ------------------------------------------------------------------

_ONSETS = [
    "b",
    "br",
    "c",
    "ch",
    "d",
    "dr",
    "f",
    "g",
    "gr",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "sh",
    "st",
    "t",
    "th",
    "v",
    "w",
    "z",
    "",
    "",
    "l",
    "m",
    "n",
    "r",
    "tr",
]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ou", "y", "ie"]
_CODAS = ["", "", "", "", "n", "n", "r", "l", "s", "m", "nd", "rt", "ll", "ck"]
_SURNAME_ENDS = [
    "son",
    "ley",
    "ton",
    "ford",
    "man",
    "berg",
    "ski",
    "ez",
    "ian",
    "ow",
    "er",
    "ard",
    "ini",
    "ova",
    "stein",
    "well",
    "wick",
    "ach",
    "ado",
    "oglu",
]
_PLACE_HEADS = [
    "Lake",
    "River",
    "Oak",
    "Cedar",
    "Pine",
    "Maple",
    "Fair",
    "Green",
    "Brook",
    "Spring",
    "Bay",
    "Stone",
    "Elm",
    "Willow",
    "Sun",
    "North",
    "West",
    "East",
    "South",
    "High",
    "Glen",
    "Clear",
    "Silver",
    "Golden",
    "Red",
    "Blue",
    "Ash",
    "Birch",
    "Clover",
    "Eagle",
    "Fox",
    "Hazel",
    "Iron",
]
_PLACE_TAILS = [
    "view",
    "side",
    "wood",
    "crest",
    "ridge",
    "haven",
    "field",
    "dale",
    "mont",
    "ton",
    "brook",
    "vale",
    "land",
    "more",
    "port",
    "ford",
    "ville",
    "burg",
    "wick",
    "stead",
    "water",
    "gate",
    "hurst",
]
_SPECIALTIES = [
    "Cardiology",
    "Orthopedic",
    "Oncology",
    "Pediatric",
    "Women's Health",
    "Dermatology",
    "Eye",
    "Kidney",
    "Spine",
    "Sleep",
    "Pain",
    "Vascular",
    "Neurology",
    "Urology",
    "Surgical",
    "Family Medicine",
    "Internal Medicine",
    "Gastroenterology",
    "Pulmonary",
    "Wound Care",
    "Behavioral Health",
    "Imaging",
]


def _syllables(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(n))


def invented_first(rng: random.Random) -> str:
    return _syllables(rng, rng.choice((1, 2, 2, 2, 3))).capitalize()


def invented_last(rng: random.Random) -> str:
    word = _syllables(rng, rng.choice((1, 2)))
    return (word + rng.choice(_SURNAME_ENDS) if rng.random() < 0.6 else word + _syllables(rng, 1)).capitalize()


_TOWN_TAILS = [
    "ville",
    "ton",
    "town",
    "burg",
    "berg",
    "port",
    "side",
    "shire",
    "fort",
    "chester",
    "borough",
    "field",
    "haven",
    "mouth",
    "bury",
    "land",
    "view",
    "stad",
    "furt",
    "dale",
    "wood",
    "ford",
    "ham",
]
_TOWN_HEADS = ["New", "North", "South", "East", "West", "Port", "Lake", "Mount", "Fort", "Glen", "Old", "Upper"]


def invented_place(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.4:
        return rng.choice(_PLACE_HEADS) + rng.choice(_PLACE_TAILS)
    if r < 0.7:
        return _syllables(rng, 2).capitalize() + rng.choice(_PLACE_TAILS)
    return _syllables(rng, rng.choice((1, 2))).capitalize() + rng.choice(_TOWN_TAILS)


#: Kinds of organisations other than hospitals (employers, pharmacies, schools, insurers, labs):
#: reported as HOSPITAL, the type set's facility/organisation.
_ORG_TAILS = [
    "Pharmacy",
    "Drug",
    "Drugs",
    "Apothecary",
    "Drug Store",
    "Auto Body",
    "& Sons",
    "and Sons",
    "School District",
    "Elementary School",
    "High School",
    "Middle School",
    "Community College",
    "University",
    "College",
    "Public Library",
    "Construction",
    "Landscaping",
    "Foods",
    "Trucking",
    "Fire Department",
    "Police Department",
    "Insurance",
    "Health Plan",
    "Laboratories",
    "Labs",
    "Manufacturing",
    "Bank",
    "Church",
    "Senior Center",
    "Assisted Living",
    "Home Health",
    "Motors",
    "Plumbing",
    "Electric",
    "Hardware",
    "Market",
    "Farms",
    "Logistics",
    "Dental",
    "Imaging",
    "Diagnostics",
    "Day Care",
    "Daycare",
    "Academy",
    "Inc.",
    "LLC",
    "Corporation",
    "Industries",
    "Restaurant",
    "Steel",
    "Transit",
    "Mills",
    "Roofing",
    "Nursery",
    "Pediatrics",
    "Staffing",
]


class Pools:
    """The values planted: lexicon entries outside the evaluation slices and off the stop lists.
    English-language names and US places (`english`, `us_city`) are drawn more often than the
    rest of the lists, as notes here hold more of them."""

    def __init__(
        self,
        lexicons: dict[str, list[str]],
        stop_words: Iterable[str],
        english: tuple[list[str], list[str]] | None = None,
        us_cities: list[str] | None = None,
    ):
        stop = {w.lower() for w in stop_words} | {w for w in MEDICAL_STOP if " " not in w}
        short = lambda entries: [e for e in planting_pool(entries, stop) if e.count(" ") <= 2]
        self.first = short(lexicons["first_name"])
        self.last = short(lexicons["last_name"])
        english_first, english_last = english if english is not None else ([], [])
        self.english_first = short(english_first) or self.first
        self.english_last = short(english_last) or self.last
        self.city = planting_pool(lexicons["city"], stop)
        self.us_city = planting_pool(us_cities, stop) if us_cities else self.city
        self.state = planting_pool(lexicons["state"], stop)
        self.state_abbr = planting_pool(lexicons["state_abbr"], set())
        self.country = planting_pool(lexicons["country"], stop)
        for name in ("first", "last", "city", "state", "state_abbr", "country"):
            if not getattr(self, name):
                raise ValueError(f"no {name} entries left to plant: are the lexicons empty?")


# --- surface forms ------------------------------------------------------------------------------


def _case(rng: random.Random, text: str) -> str:
    r = rng.random()
    return text.upper() if r < 0.10 else text.lower() if r < 0.19 else text


class Surrogates:
    """Draws names, hospitals and places in their many forms."""

    def __init__(self, pools: Pools, rng: random.Random):
        self.pools, self.rng = pools, rng

    def first(self) -> str:
        r = self.rng.random()
        if r < 0.2:
            return invented_first(self.rng)
        return self.rng.choice(self.pools.english_first if r < 0.65 else self.pools.first)

    def last(self) -> str:
        rng = self.rng
        r = rng.random()
        last = invented_last(rng) if r < 0.2 else rng.choice(self.pools.english_last if r < 0.65 else self.pools.last)
        if rng.random() < 0.04:
            last += "-" + rng.choice(self.pools.last).split()[-1]
        return last

    def person(self) -> str:
        """A person's name in one of many forms."""
        rng = self.rng
        first, last = self.first(), self.last()
        form = rng.choices(
            ["fl", "l", "f", "fml", "Fl", "l,f", "l,fm", "fmm", "fl jr", "f l.", "FM l"],
            [30, 14, 10, 9, 7, 8, 3, 4, 2, 2, 1],
        )[0]
        middle = self.first()
        text = {
            "fl": f"{first} {last}",
            "l": last,
            "f": first,
            "fml": f"{first} {middle[0].upper()}. {last}",
            "Fl": f"{first[0].upper()}. {last}",
            "l,f": f"{last}, {first}",
            "l,fm": f"{last}, {first} {middle[0].upper()}.",
            "fmm": f"{first} {middle} {last}",
            "fl jr": f"{first} {last} {rng.choice(['Jr.', 'Sr.', 'III', 'II'])}",
            "f l.": f"{first} {last[0].upper()}.",
            "FM l": f"{first[0].upper()}.{middle[0].upper()}. {last}",
        }[form]
        return _case(rng, text)

    def place_word(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.1:
            return self.town()
        if r < 0.35:
            return invented_place(rng)
        if r < 0.7:
            return rng.choice(self.pools.us_city if rng.random() < 0.8 else self.pools.city)
        return self.last()

    def hospital(self) -> str:
        rng = self.rng
        stem = self.place_word() if rng.random() < 0.6 else self.stem()
        saint = rng.choice(self.pools.first)
        form = rng.choice(
            [
                "{s} Hospital",
                "{s} General Hospital",
                "{s} General",
                "{s} Memorial Hospital",
                "{s} Memorial",
                "{s} Medical Center",
                "{s} Regional Medical Center",
                "{s} Community Hospital",
                "{s} Valley {x} Center",
                "{s} {x} Associates",
                "{s} Clinic",
                "St. {n}'s Hospital",
                "St. {n}'s",
                "Saint {n} Medical Center",
                "University of {s} Medical Center",
                "{s} Children's Hospital",
                "{s} Rehabilitation Center",
                "{s} Nursing Home",
                "{s} Health",
                "{s} County Hospital",
                "{s} Family Practice",
                "{s} Urgent Care",
                "{s} Surgery Center",
                "{s} Cancer Center",
                "{s} {x} Clinic",
                "{s} Healthcare",
                "Mount {s} Hospital",
                "{s} Behavioral Health Center",
                "{s} Hospice",
                "{s} Medical Group",
                "{s} Heart Institute",
                "{s} and {t} Hospital",
                "{s} and {t} Medical Center",
                "{t}-{s} Hospital",
                "{s} {t} Memorial Hospital",
                "{s} House",
                "{s} Manor",
                "{s} Nursing and Rehab",
                "{s} Nursing & Rehabilitation",
                "{s} Dialysis Center",
                "{s} VA Medical Center",
                "Hospital of {s}",
                "{s} Health Center",
                "{s} Valley Hospital",
                "{s} Regional",
                "St. {n}'s Regional",
                "St {n}",
                "{s} Medical Group",
                "{s} Skilled Nursing Facility",
                "{s} Care Center",
                "{s} Women's Hospital",
                "{s} Infirmary",
                "{s} Specialty Hospital",
                "{s} Outpatient Center",
                "{s} Imaging Center",
                "{s} Endoscopy Center",
                "{s} Ambulatory Surgery Center",
                "{s} Health System",
                "{s} Physicians",
                "{s} Primary Care",
                "{s} Eye Institute",
                "{s} Psychiatric Hospital",
                "New {s} Hospital",
                "{s} Hospital Center",
                "{s} Sanatorium",
                "{s} Retirement Home",
                "{s} Pavilion",
            ]
        )
        return _case(rng, form.format(s=stem, t=self.place_word(), n=saint, x=rng.choice(_SPECIALTIES)))

    def town(self) -> str:
        """A town named after a family or a feature ("Hendrytown", "North Reyes", "Lake Bassi")."""
        rng = self.rng
        last = self.last().split("-")[0].split()[0]
        if rng.random() < 0.6:
            return last + rng.choice(_TOWN_TAILS)
        return f"{rng.choice(_TOWN_HEADS)} {last}"

    def city(self) -> str:
        r = self.rng.random()
        if r < 0.15:
            return invented_place(self.rng)
        if r < 0.3:
            return self.town()
        return self.rng.choice(self.pools.us_city if r < 0.8 else self.pools.city)

    def stem(self) -> str:
        """The proper-name part of an organisation's name."""
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            return self.last()
        if r < 0.6:
            return f"{self.first()} {self.last()}" if rng.random() < 0.3 else self.town()
        return self.place_word()

    def organization(self) -> str:
        rng = self.rng
        form = rng.random()
        tail = rng.choice(_ORG_TAILS)
        if form < 0.08:
            text = f"{rng.choice(['University', 'College', 'Bank', 'Church'])} of {self.city()}"
        else:
            text = f"{self.stem()} {tail}"
        return _case(rng, text)

    def state(self) -> str:
        rng = self.rng
        return rng.choice(self.pools.state_abbr) if rng.random() < 0.6 else _case(rng, rng.choice(self.pools.state))

    def country(self) -> str:
        return _case(self.rng, self.rng.choice(self.pools.country))

    def street(self) -> str:
        rng = self.rng
        kind = rng.choice(
            [
                "Street",
                "St",
                "Avenue",
                "Ave",
                "Road",
                "Rd",
                "Drive",
                "Dr",
                "Lane",
                "Way",
                "Court",
                "Boulevard",
                "Pike",
                "Terrace",
                "Place",
            ]
        )
        where = rng.choice(["", "", "", "N. ", "S. ", "E. ", "W. ", "East ", "West "])
        unit = rng.choice(["", "", "", f", Apt {rng.randint(1, 40)}{rng.choice('ABCD')}", f" #{rng.randint(2, 300)}"])
        return f"{rng.randint(1, 9999)} {where}{self.last()} {kind}{unit}"

    def location(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            text = self.city()
        elif r < 0.55:
            text = f"{self.city()}, {rng.choice(self.pools.state_abbr)}"
        elif r < 0.7:
            text = f"{self.city()}, {rng.choice(self.pools.state)}"
        else:
            text = rng.choice(self.pools.state)
        return _case(rng, text)


# --- sentences of our own -------------------------------------------------------------------------
# {P} a person, {F} a first name, {L} a surname, {H} a hospital, {O} another organisation
# (pharmacy, employer, school: labelled HOSPITAL), {C} a city, {W} a city, town or state ("City,
# ST" too), {S} a state or its code, {K} a country said of the person (born in, from, travel to:
# labelled LOCATION, as the i2b2-style gold standards do), {Q} a country that is not about the
# person (labelled O), {R} a relative, {A} an age, {T} a street line, {Y} a year, {Z} a ZIP code,
# {N} a phone number, {G} a credential.

_RELATIVES = [
    "wife",
    "husband",
    "son",
    "daughter",
    "mother",
    "father",
    "sister",
    "brother",
    "niece",
    "nephew",
    "granddaughter",
    "grandson",
    "partner",
    "friend",
    "neighbor",
    "aunt",
    "uncle",
    "caregiver",
    "daughter-in-law",
    "son-in-law",
    "fiance",
    "girlfriend",
    "boyfriend",
    "cousin",
    "stepson",
    "mom",
    "dad",
    "grandmother",
    "grandfather",
    "roommate",
    "dtr",
]
_CREDENTIALS = [
    "MD",
    "M.D.",
    "DO",
    "RN",
    "NP",
    "PA-C",
    "CNA",
    "RD",
    "LPN",
    "PharmD",
    "CRNA",
    "FNP",
    "LCSW",
    "PT",
    "OTR",
    "MSW",
    "DPM",
    "PhD",
    "APRN",
    "RRT",
]

TEMPLATES = [
    # relatives and visitors
    "Her {R}, {P}, is at the bedside.",
    "His {R} {P} was present for the discussion.",
    "Spoke with the patient's {R}, {P}, by phone.",
    "{P} ({R}) is the health care proxy.",
    "Emergency contact is {P}, {R}.",
    "{R} {F} will drive the patient home.",
    "Lives with {R} {F}.",
    "The patient's {R}, {F}, reports that she has been more confused.",
    "{F}'s {R} called with questions.",
    "Family meeting held with {P} and {P}.",
    "Visited by {R} {P} this afternoon.",
    "spoke with {F} ({R}) about the discharge plan.",
    "Spoke w/ {F} ({R}) by phone, will bring clothes.",
    "{R}/{R} ({F}, {F}) updated at bedside.",
    "Pt's {R} {F} and {F} visited this afternoon.",
    "{R} {P} requesting a call back.",
    "She misses her {R} {F}.",
    "He misses his dog and his {R} {F}.",
    "Pt to go home with {R}, {P}, who will stay with him.",
    "Lives with {F} in a two story home.",
    "pt states her {R} {F} will bring in home meds.",
    "{F} ({R}) to stay overnight.",
    "Sitter at bedside, {F} ({R}) here.",
    "{R} {F} lives nearby in {C}.",
    "Her {R} {F} checks on her daily.",
    "Pt's {R} {F} {L} called twice this shift.",
    "{R} ({P}) called x2, questions re: meds.",
    "{R}, {F}, was updated by phone.",
    "Contact: {P} ({R}) {N}.",
    "{F} and {F} ({R}s) at bedside.",
    "Mother is {P}; father is {P}.",
    "Accompanied by her {R}, {F}.",
    # relatives in nursing shorthand, any case, often invented names
    "pt's {R} {F} at bedside, updated on plan of care.",
    "his {R} {F} visits most evenings.",
    "{R} {F} {L} requesting call back at {N}.",
    "Pt's {R} {F} here, brought her glasses.",
    "Lives with {F} and two cats.",
    "Visited by {F} this evening.",
    "Keeps calling out for {F}.",
    "{R}/{R} ({L}, {F}) at bedside.",
    "went home with {R}, {F} {L}, who will stay the night.",
    "Next of kin: {P}.",
    "HCP: {P} ({R}).",
    "Calling out for {F} overnight.",
    "Keeps asking for {F}.",
    # staff
    "Discussed with {P}, RN.",
    "Case reviewed with Dr. {L}.",
    "Seen together with {P}, PA-C.",
    "Anesthesia was provided by {P}, CRNA.",
    "Physical therapy ({P}) recommends a walker.",
    "Per {F} from social work, placement is pending.",
    "Attending physician: {P}, MD.",
    "cc: {P}, M.D.",
    "Care was handed off to {P}, NP.",
    "Wound care nurse {P} evaluated the dressing.",
    "Signed: {P}, MD",
    "Results called to {P} at 14:20.",
    "Discussed with the on-call physician, {P}.",
    "{P}, RN, notified.",
    "Dictated by {P}.",
    "Referred by {P}.",
    "Consulting surgeon: {P}.",
    "Primary care provider is {P}.",
    "Electronically signed by {P}, {G} on {M} 3rd at 09:15.",
    "Electronically signed: {P} {G}",
    "Cosigned {P}.",
    "Read by {P} {G}.",
    "Primary MD: {P}, {G}",
    "Resident: {P}",
    "Attending: {P}, {G}",
    "Reviewed with {P} ({X}).",
    "Followed by {P} ({X}) for atrial fibrillation.",
    "Message taken by {F}.",
    "{P}, {G}\n{H}",
    "Interpreter: {P}",
    "Scribe: {F}",
    "Fellow: {P}, {G}",
    "Preceptor: {P}",
    "Verbal order from {P}.",
    "I saw and examined the patient with {F}, the resident.",
    "{P} {G} {M} 2 0300",
    "Report called to {F} on 4 West.",
    "PCP: {P}",
    "Surgeon: {P}, {G}. Assistant: {P}.",
    # staff after a role or an act of communication, and initials
    "Critical value read back to {F}.",
    "Message left with {F} at the front desk.",
    "{F} from case management following for placement.",
    "{F} notified of small hematoma.",
    "{L} made aware of soft BP.",
    "MD {L} at bedside.",
    "RN {F} aware of plan.",
    "msw {F} notified.",
    "Consult placed with {P} from wound care.",
    "pt seen with rt {P}.",
    "{I} aware of soft BP.",
    "Advised ED. -{I}",
    "Signed: {L}, {G}",
    "Paged {F}, awaiting call back.",
    "Spoke with {F} in pharmacy.",
    "VS stable, {I} notified.",
    "{P}, rt {M} 12 0300",
    # no cue: names as subjects and objects in running text
    "{P} is a {A}-year-old who presents for follow-up.",
    "{P} was seen today in clinic.",
    "{F} reports that the pain is better.",
    "{P} tolerated the procedure well.",
    "Called {P} with the results.",
    "{F}'s blood pressure is stable today.",
    "Plan discussed with {P} and family.",
    "{L} family at bedside.",
    "{P} states that she feels well.",
    "{F} denies chest pain.",
    "{P} agrees with the plan.",
    "Reviewed the labs with {F}.",
    "RE: {P}",
    "{P}'s mother has diabetes.",
    "Will see {F} again in two weeks.",
    "Instructed {F} to avoid caffeine.",
    "Assisted {F} to chair, call light in reach.",
    "{F} recently underwent surgery.",
    "She stated that {F} was going to have surgery.",
    "According to {F}, he was at his baseline.",
    "Encouraged {F} to use the incentive spirometer.",
    "{F} was brought to the operating room.",
    "{P} was placed supine on the operating table.",
    "{P} went to the recovery room in stable condition.",
    "Discussed code status with {F} and family.",
    "After identifying {P}, anesthesia was induced.",
    "{P} endorses poor sleep.",
    "{L}, {F} denies suicidal ideation.",
    "{F} is a pleasant {A}-year-old man.",
    "Told {F} to return if symptoms worsen.",
    "{F} and I discussed the risks.",
    "{F} understands the plan.",
    "{F} was alert and cooperative.",
    "{F} has been doing well at home.",
    "Explained to {F} that the scan was normal.",
    "{F} tolerated diet.",
    "{F} ambulated in the hallway.",
    "We will call {F} with the biopsy result.",
    "{P} returns today.",
    "{F} returns today, last seen in {M}.",
    "{F} was identified to be quadriplegic.",
    "{L}, {F}\n",
    "{P}\n",
    "{L}, {F} {A}M",
    "Patient: {L}, {F}",
    "Name: {P}",
    "Pt: {P}",
    # message headers and phone notes
    "Message from {P}: needs refill on metoprolol.",
    "Phone note: {F} called, pharmacy did not get the rx.",
    "from: {P} ({R})\nre: {L}, {F}",
    "Message: {L}, {F} / cb {N} / re appt.",
    "Caller: {P} ({R})",
    "Telephone call from {P} regarding test results.",
    "Call received from {O} re: work note for {P}.",
    "Left voicemail for {F}.",
    "Returned call to {P}, no answer.",
    "To: {P}\nFrom: {P}",
    "Re: {P}",
    # hospitals
    "She was transferred from {H}.",
    "He was admitted to {H} last year.",
    "Follows with Dr. {L} at {H}.",
    "Records from {H} were reviewed.",
    "Outside imaging at {H} showed no fracture.",
    "Discharged to {H} for rehabilitation.",
    "Presented to the {H} emergency department.",
    "Previously treated at {H} for pneumonia.",
    "Dialysis is done at {H}.",
    "Referred to {H} for a second opinion.",
    "She receives chemotherapy at {H} in {C}.",
    "Transferred from {H} in {W}.",
    "Pt is a {A} yo man from {C} who presents with chest pain.",
    "A {A}-year-old woman from {C} with dyspnea.",
    "He works at {H} as a nurse.",
    "Received the vaccine at {H}.",
    "{A}-year-old man admitted from {H}.",
    "d/c'd to {H} on 3/5.",
    "Records requested from {H}, fax {N}.",
    "Loc: {H}",
    "Location: {H}, {W}",
    "Encounter #{Z} | {H} | {Y}",
    "Ordered by Dr. {L} ({H}).",
    "Outside films from {H}, {C}, reviewed.",
    "Status post CABG in {Y} at {H}.",
    "Follow up with Dr. {L} at {H} in two weeks.",
    "Images sent to {H}.",
    "Surgery in {Y} under Dr. {L} at {H}.",
    "From {H}, DNR/DNI.",
    "Seen at {H} over the weekend.",
    "Was seen at {H} in {C} over the weekend.",
    "Transferred to {H} for catheterization.",
    "{P}, {G}\n{H}\n{T}\n{C}, {S} {Z}",
    "Last mammogram in {Y} at {H}, benign.",
    "Admitted to {H} on 5/2.",
    # other organisations
    "Pharmacy: {O}, {C}, fax {N}",
    "Pharmacy: {O}",
    "Sent to local pharmacy ({O}).",
    "Rx called in to {O} at {N}.",
    "Works as a driver for {O}.",
    "Employed by {O} as a mechanic until {Y}.",
    "Retired from {O} in {Y}.",
    "Attends a day program run by {O}.",
    "She works in the office at {O}.",
    "Attends meetings at {O}.",
    "He teaches at {O}.",
    "Works for {O}.",
    "Insurance: {O}.",
    "Labs drawn at {O}.",
    "Specimen sent to {O}.",
    "Preferred pharmacy is {O} on {T}.",
    "He is a student at {O}.",
    "She works at {O} as a cashier.",
    "Worked at {O} for {A} years.",
    "Home health through {O}.",
    "Oxygen supplied by {O}.",
    # places
    "She lives in {C} with her husband.",
    "pt lives in {C} w/ {R}.",
    "Lives in {W}, independent with ADLs.",
    "He recently moved from {W}.",
    "Originally from {K}, she moved to {C}.",
    "Visiting from {K}.",
    "Recent travel to {K}.",
    "Lives alone in {C}.",
    "Works as a teacher in {C}.",
    "Was visiting family in {W} when the symptoms began.",
    "Returned from {W} two weeks ago.",
    "Born in {W}.",
    "Resides in {W}.",
    "Plans to travel to {W} next month.",
    "He drove here from {C}.",
    "She is a college student in {W}.",
    "Grew up on a farm near {C}.",
    "Lives alone in an apartment in {C}.",
    "Lives with her {R} in {C}.",
    "lives w/ {R} in {C}, independent w/ ADLs.",
    "Has lived in {C} since {Y}.",
    "Pt called from {C}, traveling, ran out of meds.",
    "Spends winters in {W}.",
    "Her {R} lives in {C}, about an hour away.",
    "Moved to {C}, {S} in {Y}.",
    "Labs will be drawn at the {C} lab.",
    "Seen at the {C} satellite clinic.",
    "Imaging was done at the {C} outpatient site.",
    "Address: {T}\n{C}, {S} {Z}",
    "{T}\n{C}, {S} {Z}",
    "Physician is Dr. {P} in {C}.",
    "{T}\n{C}, {S} {Z}\nTel {N}  Fax {N}",
    "Transferred from an outside hospital in {C}.",
    "From {C}, {S}.",
    "Lives in a nursing home in {C}.",
    "Drove in from {W} this morning.",
    "Lives on a farm outside {C}.",
    # countries said of the person
    "She was born in {K}.",
    "He was born in {K} and has lived in {C} since {Y}.",
    "Came to this country from {K} in {Y}.",
    "Originally from {C}, {K}; moved to {C}, {S} in {Y}.",
    "Travel: visited family in {K} in {M}.",
    "Recently returned from a trip to {K}.",
    "Emigrated from {K} in {Y}.",
    "Immigrated from {K} at age {A}.",
    "Native of {K}.",
    "Recent trip to {K} and {K}.",
    "Moved from {K} {A} years ago.",
    "Just back from {K}.",
    "Her family is in {K}.",
    "Lived in {K} until {Y}.",
    "Speaks the language of {K}; interpreter used.",
]

#: Lines of notes whose first, capitalized word is no name ("Tel", "Page", "Voicemail"): O.
LINE_DECOYS = [
    "Tel {N}  Fax {N}",
    "Tel: {N}",
    "Fax {N}",
    "Page from lab at x{Z}: critical potassium.",
    "Pager {Z}.",
    "Voicemail from Dr. {L}'s office re: results.",
    "Voicemail left.",
    "Login {Z} accessed the chart.",
    "Tel enc 3/4: pt's {R} called.",
    "Phone {N}",
    "Cell {N}",
    "Email sent.",
    "Chart reviewed.",
    "GCS 15.",
    "ID {Z}",
    "Member ID {Z}.",
    "Case {Z}.",
    "Ref {Z}.",
    "Interpreter ID {Z}.",
]

#: Countries in sentences not about the person (labelled O): diseases, drugs, studies.
COUNTRY_DECOYS = [
    "Endemic in parts of {Q}.",
    "The vaccine was licensed in {Q} in {Y}.",
    "Guidelines from {Q} differ.",
    "Cases have been reported in {Q} and {Q}.",
    "A trial in {Q} showed benefit.",
    "Common in {Q}.",
]

#: Capitalized words that are not PHI, next to the same cues: negative examples.
DECOYS = [
    "She was transferred from the Emergency Department.",
    "Seen in the Cardiology Clinic.",
    "Follows with Neurology.",
    "Discussed with the Infectious Disease team.",
    "Lives in an assisted living facility.",
    "Discussed with Pharmacy.",
    "Physical Therapy evaluated the patient.",
    "Social Work was consulted.",
    "Admitted to the Medical Intensive Care Unit.",
    "He was seen by Orthopedics.",
    "Lives with her family.",
    "Referred to the Wound Clinic.",
    "Records from the Sleep Lab were reviewed.",
    "Discussed with Radiology.",
    "The Foley catheter was removed.",
    "Bell's palsy resolved.",
    "Ambien at bedtime as needed.",
    # answer options of exam questions: an initial and an ordinary word, no name
    "Which is correct?\nA. increases renal clearance\nB. decreases hepatic uptake\nC. binds albumin",
    "C. inhibits platelet aggregation",
    "D. prolongs the QT interval",
    "B. reversibly blocks the channel",
]

#: Mentions of things that are not PHI, {X} a real word of the corpus (often a rare one: a drug, a
#: disease, a procedure), labelled O: an unknown capitalized word is not a name by itself.
THING_TEMPLATES = [
    "{X}.",
    "Started on {X}.",
    "{X} 20 mg daily.",
    "Allergic to {X}.",
    "History of {X}.",
    "{X} was discontinued.",
    "Continue {X} and {X}.",
    "{X}: negative.",
    "{X} was given.",
    "Positive for {X}.",
    "{X} and {X} were reviewed.",
    "Consistent with {X}.",
    "{X}, {X}.",
    "Recommend {X}.",
    "No {X}.",
    "Status post {X}.",
]

_SLOT = re.compile(r"\{([PFLHCWKQRAXOTYZNMGSI])\}")
_SLOT_LABEL = {
    "P": "NAME",
    "F": "NAME",
    "L": "NAME",
    "I": "NAME",
    "H": "HOSPITAL",
    "O": "HOSPITAL",
    "C": "LOCATION",
    "W": "LOCATION",
    "K": "LOCATION",
    "S": "LOCATION",
}
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _initials(rng: random.Random) -> str:
    """A person's initials as notes sign them: "RFJ", "R.L.F.", "k.n."."""
    letters = [chr(rng.randint(65, 90)) for _ in range(rng.choice((2, 3, 3)))]
    form = rng.random()
    if form < 0.4:
        return "".join(letters)
    dotted = "".join(c + "." for c in letters)
    return dotted.lower() if form < 0.6 else dotted


def render(template: str, draw: Surrogates, filler=None) -> tuple[str, list[Span]]:
    """The sentence and its labelled spans (offsets within the sentence). With `filler` (a
    function returning real words of the document), the name and place slots get those words
    instead, labelled O: the same cues with no PHI after them."""
    rng = draw.rng
    out, spans, at = [], [], 0
    for m in _SLOT.finditer(template):
        out.append(template[at : m.start()])
        slot = m.group(1)
        if slot == "X" and filler is None:  # a thing in a sentence of ours: a specialty
            out.append(rng.choice(_SPECIALTIES).lower())
            at = m.end()
            continue
        if slot == "X" or filler is not None and slot in _SLOT_LABEL:
            word = filler()
            out.append(word[0].upper() + word[1:] if m.start() == 0 or template[m.start() - 2] in ".:" else word)
            at = m.end()
            continue
        value = {
            "P": draw.person,
            "F": lambda: _case(rng, draw.first()),
            "L": lambda: _case(rng, draw.last()),
            "H": draw.hospital,
            "C": lambda: _case(rng, draw.city()),
            "W": draw.location,
            "K": draw.country,
            "Q": draw.country,
            "R": lambda: rng.choice(_RELATIVES),
            "A": lambda: str(rng.randint(18, 88)),
            "O": draw.organization,
            "T": draw.street,
            "Y": lambda: str(rng.randint(1950, 2024)),
            "Z": lambda: f"{rng.randint(1000, 99999):05d}",
            "N": lambda: f"{rng.randint(200, 989)}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
            "M": lambda: rng.choice(_MONTHS),
            "S": draw.state,
            "G": lambda: _case(rng, rng.choice(_CREDENTIALS)),
            "I": lambda: _initials(rng),
        }[slot]()
        start = sum(map(len, out))
        out.append(value)
        if slot in _SLOT_LABEL:
            label = _SLOT_LABEL[slot]
            if spans and spans[-1][2] == label and spans[-1][1] + 1 == start and out[-2] == " ":
                spans[-1] = (spans[-1][0], start + len(value), label)  # "{F} {L}": one name
            else:
                spans.append((start, start + len(value), label))
        at = m.end()
    out.append(template[at:])
    return "".join(out), spans


# --- planting into real text ----------------------------------------------------------------------

_MASK = r"(?:X{1,6}|Y|Z|[A-D]|ABCD?|Abcd?|XYZ|Xyz|Xxxxx?)"
_NAME_MASK = re.compile(
    rf"\b(?:Dr|Mr|Mrs|Ms|Miss|Doctor)\.?[ ]{{1,2}}({_MASK})\b(?![ ]+(?:Hospital|Medical|Clinic|Center))"
)
_HOSPITAL_MASK = re.compile(
    rf"\b({_MASK})[ ]+(?:(?:General|Memorial|Regional|Community)[ ]+)?(?:Hospital|Medical Center|Clinic|Health Center"
    r"|Surgery Center|Surgical Center|Healthcare|Rehabilitation|Nursing Home|Cancer Center|Center)\b"
)
_THE_PATIENT = re.compile(r"(?:(?<=[.!?] )|(?<=[.!?]  )|(?<=[.:],)|^)The patient\b")
# "the patient" inside a sentence ("Instructed the patient to ...") and a sentence's subject
# pronoun ("She recently underwent ..."): a first name in their place is a name with no cue at
# all, in the real note's own context.
_THE_PATIENT_INSIDE = re.compile(r"(?<=[a-z,] )the patient\b(?!'s [a-z]+ (?:and|or) )")
_SUBJECT_PRONOUN = re.compile(r"(?:(?<=[.!?] )|(?<=[.!?]  )|(?<=[.:],))(?:She|He)(?= [a-z]{2,}\b)")
_SENTENCE_GAP = re.compile(r"(?<=[.!?])[ ]{1,2}(?=[A-Z])|\n(?=[A-Z])")
_REAL_HOSPITAL = re.compile(
    r"\b((?:[A-Z][a-z'’]+\.? ){1,3})(?:Hospital|Medical Center|Clinic|Health Center|Medical Centre|Infirmary)\b"
)
_GENERIC_ORG_WORDS = {
    "general",
    "memorial",
    "medical",
    "community",
    "regional",
    "university",
    "children's",
    "county",
    "state",
    "rehabilitation",
    "the",
    "this",
    "our",
    "her",
    "his",
    "a",
    "an",
    "outpatient",
    "emergency",
    "family",
    "primary",
    "care",
    "pain",
    "wound",
    "spine",
    "sleep",
    "eye",
    "day",
    "city",
    "local",
    "outside",
    "private",
    "veterans",
    "women's",
    "mental",
    "health",
    "urgent",
    "walk-in",
    "specialty",
    "surgical",
    "surgery",
    "cardiology",
    "oncology",
    "urology",
    "neurology",
    "dermatology",
    "orthopedic",
    "orthopaedic",
    "pediatric",
    "pediatrics",
    "psychiatric",
    "cancer",
    "heart",
    "kidney",
    "renal",
    "transplant",
    "diabetes",
    "allergy",
    "gi",
    "va",
    "er",
    "ed",
    "at",
    "to",
    "from",
    "in",
    "by",
    "and",
    "management",
    "maintenance",
    "behavior",
    "behavioral",
    "wellness",
    "homeless",
    "medicine",
    "internal",
    "teaching",
    "tertiary",
    "rural",
}
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_REAL_HOSPITAL_OF = re.compile(r"\b(?:Hospital|Medical Center|University) of (?:[A-Z][a-z'’]+ ?){1,3}(?<! )")
_INNER_CAPITAL = re.compile(r"(?<=[a-z,] )([A-Z][a-z]{2,})\b")


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans, each overlapping an earlier one dropped."""
    out: list[tuple[int, int]] = []
    for span in spans:
        if not out or span[0] >= out[-1][1]:
            out.append(span)
    return out


_CAPITALIZED_RUN = re.compile(r"\b[A-Z][A-Za-z'’-]*(?:[ ]+[A-Z][A-Za-z'’-]*)*")


class Planter:
    """Plants surrogates into documents; one random stream per (seed, stream, document, copy)."""

    def __init__(
        self,
        pools: Pools,
        lexicons: dict[str, list[str]],
        stop_words: Iterable[str],
        seed: int,
        corpus_counts: Counter | None = None,
    ):
        self.pools = pools
        counts = corpus_counts or Counter()
        known = {e.lower() for key in ("first_name", "last_name", "city", "state", "country") for e in lexicons[key]}
        #: Words the corpus has once or twice and no list knows: what new text is full of.
        self.rare_words = sorted(
            w for w, n in counts.items() if n <= 2 and len(w) >= 5 and w.isalpha() and w not in known
        )
        self.seed = seed
        self.stop = {w.lower() for w in stop_words}
        places = [e.lower() for key in ("city", "state") for e in lexicons[key]]  # countries are not PHI: O
        self.place_words = {e for e in places if " " not in e}
        self.person_words = {e.lower() for key in ("first_name", "last_name") for e in lexicons[key] if " " not in e}
        self.place_phrases = {e for e in places if " " in e}
        self.counts = corpus_counts or Counter()

    def _unknown_real(self, text: str) -> list[tuple[int, int]]:
        """Real places and hospitals: capitalized words the place lists know and the corpus rarely
        uses, multi-word places, and hospital names with a specific word in them."""
        out = []
        for m in _CAPITALIZED_RUN.finditer(text):
            words = list(_WORD.finditer(m.group()))
            i = 0
            while i < len(words):
                for j in range(min(len(words), i + 4), i, -1):  # the longest known place from word i
                    start, end = m.start() + words[i].start(), m.start() + words[j - 1].end()
                    phrase = text[start:end].lower()
                    known = (
                        phrase in self.place_phrases
                        if j - i > 1
                        else (phrase in self.place_words and phrase not in self.stop and self.counts[phrase] <= 30)
                    )
                    if known:
                        out.append((start, end))
                        i = j
                        break
                else:
                    i += 1
        for m in _REAL_HOSPITAL.finditer(text):
            words = list(_WORD.finditer(m.group(1)))
            specific = [w for w in words if w.group().lower() not in _GENERIC_ORG_WORDS]
            if specific:
                out.append((m.start(1) + specific[0].start(), m.end()))
            elif m.group().endswith("Hospital") and words[-1].group() not in ("The", "This", "Our", "Outside"):
                # "Children's Hospital", "General Hospital": a named hospital as often as not
                out.append((m.start(1) + words[-1].start(), m.end()))
        for m in _REAL_HOSPITAL_OF.finditer(text):
            out.append((m.start(), m.end()))
        # Real names with no cue ("Instructed Ben to ..."): a capitalized word inside a sentence
        # that the name lists know and the corpus rarely has. Its label is unknown: an O would
        # teach the model to miss the very names it is for.
        for m in _INNER_CAPITAL.finditer(text):
            word = m.group(1)
            if word.lower() in self.person_words and word.lower() not in self.stop and self.counts[word.lower()] <= 30:
                out.append((m.start(1), m.end(1)))
        return _disjoint(sorted(out))

    def plant(
        self, doc: Document, rule_spans: Sequence[tuple[int, int, str]], copy: int = 0, stream: str = "train"
    ) -> Example:
        rng = random.Random(f"{self.seed}:{stream}:{doc.id}:{copy}")
        draw = Surrogates(self.pools, rng)
        text = doc.text
        # Edits on the original text: (start, end, [(piece, label)]); label None for O.
        edits: list[tuple[int, int, list[tuple[str, str | None]]]] = []
        for m in _NAME_MASK.finditer(text):
            if rng.random() < 0.85:
                name = draw.last() if rng.random() < 0.7 else f"{draw.first()} {draw.last()}"
                edits.append((m.start(1), m.end(1), [(name, "NAME")]))
        for m in _HOSPITAL_MASK.finditer(text):
            if rng.random() < 0.85:
                edits.append((m.start(1), m.end(), [(draw.place_word() + text[m.end(1) : m.end()], "HOSPITAL")]))
        replaced = 0
        for m in _THE_PATIENT.finditer(text):
            if replaced < 2 and rng.random() < 0.15:
                edits.append((m.start(), m.end(), [(draw.person(), "NAME")]))
                replaced += 1
        for pattern, odds in ((_THE_PATIENT_INSIDE, 0.12), (_SUBJECT_PRONOUN, 0.1)):
            replaced = 0
            for m in pattern.finditer(text):
                if replaced < 3 and rng.random() < odds:
                    name = _case(rng, draw.first()) if rng.random() < 0.75 else draw.person()
                    edits.append((m.start(), m.end(), [(name, "NAME")]))
                    replaced += 1
        real_words = [w for w in _WORD.findall(text) if len(w) >= 4] or ["patient"]

        def filler() -> str:
            if self.rare_words and rng.random() < 0.5:
                word = rng.choice(self.rare_words)
                return word.capitalize() if rng.random() < 0.35 else word
            return rng.choice(real_words)

        gaps = [0] + [m.end() for m in _SENTENCE_GAP.finditer(text)]
        wanted = min(len(gaps), 1 + len(text) // 500 if len(text) > 400 else 1 + int(rng.random() < 0.5))
        for at in sorted(rng.sample(gaps, min(wanted, 8))):
            pieces: list[tuple[str, str | None]] = []
            for _ in range(1 if rng.random() < 0.7 else 2):
                r = rng.random()
                if r < 0.08:
                    pieces.append((rng.choice(DECOYS), None))
                elif r < 0.1:
                    pieces.append((render(rng.choice(COUNTRY_DECOYS), draw)[0], None))
                elif r < 0.13:
                    pieces.append((render(rng.choice(LINE_DECOYS), draw)[0], None))
                elif r < 0.25 or at == 0:
                    pieces.append((render(rng.choice(THING_TEMPLATES), draw, filler)[0], None))
                else:
                    sentence, spans = render(rng.choice(TEMPLATES), draw, filler if r < 0.4 else None)
                    last = 0
                    for start, end, label in spans:
                        pieces += [(sentence[last:start], None), (sentence[start:end], label)]
                        last = end
                    pieces.append((sentence[last:], None))
                pieces.append(("\n" if at > 0 and text[at - 1] == "\n" else " ", None))
            edits.append((at, at, pieces))
        example = _apply(doc.id, text, edits, rule_spans, self._unknown_real(text))
        r = rng.random()
        if r < 0.05:
            example.text = _same_length(example.text, example.text.upper())
        elif r < 0.09:
            example.text = _same_length(example.text, example.text.lower())
        return example


def _same_length(text: str, changed: str) -> str:
    return changed if len(changed) == len(text) else text


def _apply(doc_id: str, text: str, edits, rule_spans, unknown) -> Example:
    """Applies non-overlapping edits (later overlapping ones are dropped) and carries the real
    spans (rule names as NAME, other rule findings and `unknown` as None) that no edit touches."""
    edits = sorted(edits, key=lambda e: (e[0], e[1]))
    kept, end = [], -1
    for edit in edits:
        if edit[0] >= end or edit[0] == edit[1] == end:
            kept.append(edit)
            end = max(end, edit[1])
    real = [(s, e, "NAME" if kind == "NAME" else None) for s, e, kind in rule_spans]
    real += [(s, e, None) for s, e in unknown]
    real.sort(key=lambda r: (r[0], r[1]))
    out, spans = [], []
    shift = 0  # output offset minus input offset after the edits so far
    pos = 0
    edit_ranges = [(s, e) for s, e, _ in kept]
    for start, stop, pieces in kept:
        out.append(text[pos:start])
        at = start + shift
        for piece, label in pieces:
            if label is not None and piece:
                spans.append((at, at + len(piece), label))
            at += len(piece)
        out.append("".join(p for p, _ in pieces))
        shift = at - stop
        pos = stop
    out.append(text[pos:])
    new_text = "".join(out)

    def shifted(offset: int) -> int:
        return offset + sum(len("".join(p for p, _ in pieces)) - (e - s) for s, e, pieces in kept if e <= offset)

    last_end = -1
    for s, e, label in real:
        if s < last_end or any(s < ee and ss < e or (ss == ee and s < ss < e) for ss, ee in edit_ranges):
            continue
        spans.append((shifted(s), shifted(s) + (e - s), label))
        last_end = e
    spans.sort(key=lambda r: (r[0], r[1]))
    merged: list[Span] = []
    for span in spans:  # an unknown span overlapping a labelled one gives way
        if merged and span[0] < merged[-1][1]:
            if merged[-1][2] is None and span[2] is not None:
                merged[-1] = span
            continue
        merged.append(span)
    return Example(doc_id, new_text, merged)


def plant_documents(
    docs: Sequence[Document],
    pools: Pools,
    lexicons: dict[str, list[str]],
    stop_words: Iterable[str],
    seed: int,
    copies: int = 1,
    stream: str = "train",
    num_threads: int | None = None,
) -> list[Example]:
    """Each document planted `copies` times (different draws), in document order."""
    counts = Counter(w.lower() for d in docs for w in _WORD.findall(d.text))
    planter = Planter(pools, lexicons, stop_words, seed, counts)
    rules = _core.deidentify_batch([d.text for d in docs], num_threads)
    out = []
    for copy in range(copies):
        for source, (doc, (_, spans)) in enumerate(zip(docs, rules)):
            example = planter.plant(doc, spans, copy, stream)
            example.source = source
            out.append(example)
    return out
