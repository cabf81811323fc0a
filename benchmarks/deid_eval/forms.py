"""Surface forms of each PHI type, as they are written in real notes, and the per-document cast.

A rendered mention is a list of *pieces* ``(text, label, role, form)``: ``label`` is the i2b2 2014
type for PHI (None for plain text around it, e.g. the title of "Mr. Tamsor", which i2b2 leaves
out of the span), ``role`` says whose name it is (patient / relative / staff) and ``form`` names
the surface form ("name:last_first", "date:md", ...) so recall can be read per form.
Decoys (numbers that look like dates or IDs but are not PHI: "BP 120/80", "pain 3/10") are pieces
with label ``NEG:<kind>``; the writer records them as negatives, never as spans.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from lexicon import Lexicon

Piece = tuple[str, "str | None", "str | None", "str | None"]


def lit(text: str) -> Piece:
    return (text, None, None, None)


def phi(text: str, label: str, form: str, role: str | None = None) -> Piece:
    return (text, label, role, form)


def neg(text: str, kind: str) -> Piece:
    return (text, f"NEG:{kind}", None, f"neg:{kind}")


# ---------------------------------------------------------------------------------------------- people

RELATIONS_F = ("wife", "daughter", "sister", "mother", "niece", "granddaughter", "daughter-in-law", "aunt")
RELATIONS_M = ("husband", "son", "brother", "father", "nephew", "grandson", "son-in-law", "uncle")
CREDENTIALS = ("RN", "LPN", "NP", "PA-C", "MSW", "PT", "OT", "RT", "CNA", "PharmD", "RD")


@dataclass
class Person:
    first: str
    last: str
    middle: str  # one capital letter
    sex: str  # "F" or "M"
    role: str  # "patient", "relative", "staff"
    invented: bool  # at least one of first/last is an invented (syllable-built) word
    relation: str = ""
    credential: str = ""
    nick: str = ""

    @property
    def label(self) -> str:
        # i2b2 puts relatives' names under PATIENT and every member of staff under DOCTOR.
        return "DOCTOR" if self.role == "staff" else "PATIENT"


def _nickname(first: str, rng: random.Random) -> str:
    """A short form the way families shorten names: first syllable plus -ie / -y / nothing."""
    vowels = "aeiouy"
    cut = next(
        (i for i in range(1, len(first)) if first[i - 1].lower() in vowels and first[i].lower() not in vowels),
        min(3, len(first) - 1),
    )
    stem = first[: cut + 1]
    return stem + rng.choice(("ie", "y", "")) if len(stem) >= 2 else first


def make_person(
    lex: Lexicon,
    rng: random.Random,
    role: str,
    sex: str | None = None,
    last: str | None = None,
    invented_last: bool | None = None,
) -> Person:
    sex = sex or rng.choice("FM")
    inv_first = rng.random() < 0.38
    if sex == "F":
        first = rng.choice(lex.inv_female if inv_first else lex.first_female)
    else:
        first = rng.choice(lex.inv_male if inv_first else lex.first_male)
    inv_last = invented_last
    if last is None:
        inv_last = rng.random() < 0.5
        last = rng.choice(lex.inv_last if inv_last else lex.last)
    person = Person(
        first=first,
        last=last,
        middle=rng.choice("ABCDEFGHJKLMNPRSTW"),
        sex=sex,
        role=role,
        invented=bool(inv_first or inv_last),
    )
    if role == "relative":
        person.relation = rng.choice(RELATIONS_F if sex == "F" else RELATIONS_M)
    if role == "staff":
        person.credential = rng.choice(CREDENTIALS)
    nick = _nickname(first, rng)
    # A short form can land on a faker name of the training slices ("Dav" + "ie"): keep the full name then.
    person.nick = nick if lex.allowed_name(nick) else first
    return person


def _title(p: Person, rng: random.Random) -> str:
    if p.role == "staff":
        return rng.choice(("Dr. ", "Dr. ", "Dr ", "DR. "))
    if p.sex == "M":
        return rng.choice(("Mr. ", "Mr. ", "Mr "))
    return rng.choice(("Mrs. ", "Ms. ", "Ms. ", "Miss ", "Ms "))


# Forms that any person's name can take; staff-only forms are added by name_pieces.
NAME_FORMS = (
    "title_last",
    "title_full",
    "full",
    "full_mi",
    "last_first",
    "last_first_mi",
    "caps_last_first",
    "caps_full",
    "first",
    "last",
    "lower_first",
    "lower_full",
    "init_last",
    "initials",
    "nick",
    "poss_last",
    "poss_first",
    "caps_last",
    "lower_last",
)
STAFF_FORMS = (
    "dr_last",
    "dr_full",
    "dr_lower",
    "md_suffix",
    "cred_lower",
    "cred_suffix",
    "cred_prefix",
    "init_last",
    "initials",
    "last_first",
    "full",
    "lower_full",
    "caps_full",
    "poss_dr",
)


def name_pieces(p: Person, form: str, rng: random.Random) -> list[Piece]:
    """One mention of ``p`` in the named surface form (title and credentials stay outside the span)."""
    label, role, tag = p.label, p.role, f"name:{form}"

    def span(text: str) -> Piece:
        return phi(text, label, tag, role)

    first, last, mi = p.first, p.last, p.middle
    if form == "any":
        return name_pieces(p, rng.choice(STAFF_FORMS if p.role == "staff" else NAME_FORMS), rng)
    if form == "title_last":
        return [lit(_title(p, rng)), span(last)]
    if form == "title_full":
        return [lit(_title(p, rng)), span(f"{first} {last}")]
    if form == "full":
        return [span(f"{first} {last}")]
    if form == "full_mi":
        return [span(f"{first} {mi}. {last}")]
    if form == "last_first":
        return [span(f"{last}, {first}")]
    if form == "last_first_mi":
        return [span(f"{last}, {first} {mi}.")]
    if form == "caps_last_first":
        return [span(f"{last.upper()}, {first.upper()}")]
    if form == "caps_full":
        return [span(f"{first.upper()} {last.upper()}")]
    if form == "caps_last":
        return [lit(_title(p, rng).upper()), span(last.upper())]
    if form == "first":
        return [span(first)]
    if form == "last":
        return [span(last)]
    if form == "lower_first":
        return [span(first.lower())]
    if form == "lower_last":
        return [span(last.lower())]
    if form == "lower_full":
        return [span(f"{first.lower()} {last.lower()}")]
    if form == "init_last":
        return [span(f"{first[0]}. {last}")]
    if form == "initials":
        return [
            span(
                rng.choice(
                    (
                        f"{first[0]}.{last[0]}.",
                        f"{first[0]}{last[0]}",
                        f"{first[0]}{mi}{last[0]}",
                        f"{first[0]}.{mi}.{last[0]}.",
                    )
                )
            )
        ]
    if form == "nick":
        return [span(p.nick)]
    if form == "poss_last":
        return [lit(_title(p, rng)), span(last), lit("'s")]
    if form == "poss_first":
        return [span(first), lit("'s")]
    # staff forms
    if form == "dr_last":
        return [lit(rng.choice(("Dr. ", "Dr ", "dr. ", "Dr."))), span(last)]
    if form == "dr_full":
        return [lit(rng.choice(("Dr. ", "Dr "))), span(f"{first} {last}")]
    if form == "dr_lower":
        return [lit("dr. "), span(f"{first.lower()} {last.lower()}")]
    if form == "poss_dr":
        return [lit("Dr. "), span(last), lit("'s")]
    if form == "md_suffix":
        name = rng.choice((f"{first} {last}", f"{first} {mi}. {last}", f"{first[0]}. {last}"))
        return [span(name), lit(rng.choice((", MD", ", M.D.", " MD", ", DO")))]
    if form == "cred_lower":
        return [span(f"{first.lower()} {last.lower()}"), lit(f", {p.credential.lower()}")]
    if form == "cred_suffix":
        return [span(rng.choice((f"{first} {last}", last, first))), lit(f", {p.credential}")]
    if form == "cred_prefix":
        return [lit(f"{p.credential} "), span(rng.choice((last, first, f"{first} {last}")))]
    raise ValueError(f"unknown name form {form!r}")


# ---------------------------------------------------------------------------------------------- dates

MONTHS = (
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
)
DATE_FORMS = (
    "mdy4",
    "mdy4_nopad",
    "mdy2",
    "mdy2_pad",
    "dash",
    "iso",
    "long",
    "long_nocomma",
    "abbr",
    "abbr_dot",
    "dmy_abbr",
    "dmy_dash",
    "dmy_upper",
    "md",
    "md_pad",
    "day_mon",
    "mon_day_th",
    "month_day",
    "ordinal",
    "year2",
    "year",
    "month_year",
    "month_year_num",
    "month_of_year",
    "mon_apos",
    "mdy_dots",
)
NO_YEAR_FORMS = ("md", "md_pad", "day_mon", "mon_day_th", "month_day", "ordinal")


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def date_text(d: dt.date, form: str) -> str:
    m, day, y = d.month, d.day, d.year
    mon = MONTHS[m - 1][:3]
    return {
        "mdy4": f"{m:02d}/{day:02d}/{y}",
        "mdy4_nopad": f"{m}/{day}/{y}",
        "mdy2": f"{m}/{day}/{y % 100:02d}",
        "mdy2_pad": f"{m:02d}/{day:02d}/{y % 100:02d}",
        "dash": f"{m}-{day}-{y}",
        "iso": f"{y}-{m:02d}-{day:02d}",
        "long": f"{MONTHS[m - 1]} {day}, {y}",
        "long_nocomma": f"{MONTHS[m - 1]} {day} {y}",
        "abbr": f"{mon} {day}, {y}",
        "abbr_dot": f"{mon}. {day}, {y}" if m != 5 else f"May {day}, {y}",
        "dmy_abbr": f"{day} {mon} {y}",
        "dmy_dash": f"{day:02d}-{mon}-{y}",
        "dmy_upper": f"{day:02d}-{mon.upper()}-{y}",
        "md": f"{m}/{day}",
        "md_pad": f"{m:02d}/{day:02d}",
        "day_mon": f"{day} {mon}",
        "mon_day_th": f"{mon} {ordinal(day)}",
        "month_day": f"{MONTHS[m - 1]} {day}",
        "ordinal": ordinal(day),
        "year2": f"'{y % 100:02d}",
        "year": f"{y}",
        "month_year": f"{MONTHS[m - 1]} {y}",
        "month_year_num": f"{m:02d}/{y}",
        "month_of_year": f"{MONTHS[m - 1]} of {y}",
        "mon_apos": f"{mon} '{y % 100:02d}",
        "mdy_dots": f"{m}.{day}.{y % 100:02d}",
    }[form]


# ---------------------------------------------------------------------------------------------- ages

_UNITS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}
AGE_FORMS = (
    "yo",
    "year_old",
    "y_o",
    "aged",
    "age",
    "yo_tight",
    "words_year_old",
    "yr_old",
    "comma_age",
    "years_of_age",
)


def age_words(n: int) -> str:
    if n >= 100:
        rest = n - 100
        return "one hundred" + (f" and {_UNITS[rest]}" if 0 < rest < 10 else f" {age_words(rest)}" if rest else "")
    tens, unit = divmod(n, 10)
    return _TENS[tens] + (f"-{_UNITS[unit]}" if unit else "")


def age_pieces(n: int, form: str, label: str) -> list[Piece]:
    """``label`` is AGE for ages over 89 (PHI under HIPAA) and NEG:age for 89 and under."""

    def num(text: str) -> Piece:
        return phi(text, label, f"age:{form}") if label == "AGE" else neg(text, "age_under_90")

    if form == "bare":
        return [num(str(n))]
    if form == "yo":
        return [num(str(n)), lit(" yo")]
    if form == "year_old":
        return [num(str(n)), lit("-year-old")]
    if form == "y_o":
        return [num(str(n)), lit(" y/o")]
    if form == "aged":
        return [lit("aged "), num(str(n))]
    if form == "age":
        return [lit("age "), num(str(n))]
    if form == "yo_tight":
        return [num(str(n)), lit("yo")]
    if form == "words_year_old" and n >= 20:
        return [num(age_words(n)), lit("-year-old")]
    if form == "yr_old":
        return [num(str(n)), lit(" yr old")]
    if form == "comma_age":
        return [lit(", "), num(str(n)), lit(",")]
    return [num(str(n)), lit(" years of age")]


# ---------------------------------------------------------------------------------------------- numbers

PHONE_FORMS = (
    "paren",
    "paren_space",
    "dash10",
    "dots",
    "local7",
    "ext_internal",
    "plain10",
    "intl",
    "spaces",
    "with_ext",
    "pager4",
)


def phone_text(rng: random.Random, form: str) -> str:
    area, exch, line = rng.randint(201, 989), rng.randint(200, 989), rng.randint(0, 9999)
    return {
        "paren": f"({area}) {exch}-{line:04d}",
        "paren_space": f"({area}) {exch} {line:04d}",
        "dash10": f"{area}-{exch}-{line:04d}",
        "dots": f"{area}.{exch}.{line:04d}",
        "local7": f"{exch}-{line:04d}",
        "ext_internal": f"x{rng.randint(2, 7)}-{line:04d}",
        "plain10": f"{area}{exch}{line:04d}",
        "intl": f"+1 {area} {exch} {line:04d}",
        "spaces": f"{area} {exch} {line:04d}",
        "with_ext": f"{area}-{exch}-{line:04d} ext {rng.randint(10, 999)}",
        "pager4": f"{rng.randint(2, 8)}-{line:04d}",
        "ext_only": f"{rng.choice(('ext', 'ext.', 'x'))} {rng.randint(10, 9999)}",
    }[form]


def digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))


def mrn_text(rng: random.Random) -> str:
    return rng.choice(
        (
            lambda: digits(rng, 7),
            lambda: "00" + digits(rng, 6),
            lambda: f"{digits(rng, 3)}-{digits(rng, 2)}-{digits(rng, 2)}",
            lambda: f"{digits(rng, 2)}-{digits(rng, 3)}-{digits(rng, 3)}",
            lambda: "MR" + digits(rng, 7),
            lambda: digits(rng, 9),
            lambda: f"{letters(rng, 1)}{digits(rng, 8)}",
        )
    )()


def ssn_text(rng: random.Random) -> str:
    a, b, c = rng.randint(100, 665), rng.randint(10, 99), rng.randint(1000, 9999)
    return rng.choice((f"{a}-{b}-{c}", f"{a} {b} {c}", f"{a}{b}{c}", f"{a}-{b}-{c}"))


def account_text(rng: random.Random) -> str:
    return rng.choice(
        (
            lambda: digits(rng, 11),
            lambda: "A" + digits(rng, 9),
            lambda: f"{digits(rng, 4)}-{digits(rng, 4)}-{digits(rng, 2)}",
            lambda: "V" + digits(rng, 8),
            lambda: digits(rng, 8),
        )
    )()


def healthplan_text(rng: random.Random) -> str:
    return rng.choice(
        (
            lambda: letters(rng, 3) + digits(rng, 9),
            lambda: f"W{digits(rng, 9)} {digits(rng, 2)}",
            lambda: f"{digits(rng, 3)}-{digits(rng, 2)}-{digits(rng, 4)}{letters(rng, 1)}",
            lambda: f"{letters(rng, 2)}{digits(rng, 8)}",
            lambda: (
                f"{digits(rng, 1)}{letters(rng, 2)}{digits(rng, 1)}-{letters(rng, 2)}{digits(rng, 1)}-{letters(rng, 2)}{digits(rng, 2)}"
            ),
        )
    )()


def idnum_text(rng: random.Random) -> str:
    return rng.choice(
        (
            lambda: letters(rng, 1) + digits(rng, 7),
            lambda: f"{digits(rng, 2)}-{digits(rng, 5)}",
            lambda: "S" + digits(rng, 2) + "-" + digits(rng, 5),
            lambda: letters(rng, 2) + digits(rng, 7),
            lambda: digits(rng, 10),
            lambda: f"{letters(rng, 3)}{digits(rng, 6)}",
        )
    )()


def device_text(rng: random.Random) -> str:
    return rng.choice(
        (
            lambda: letters(rng, 3) + digits(rng, 6) + letters(rng, 1),
            lambda: digits(rng, 8),
            lambda: f"{letters(rng, 2)}{digits(rng, 3)}-{digits(rng, 5)}",
            lambda: f"{digits(rng, 4)}-{letters(rng, 1)}{digits(rng, 4)}",
        )
    )()


# ---------------------------------------------------------------------------------------------- places

SAINTS = (
    "Mary",
    "Joseph",
    "Luke",
    "Vincent",
    "Francis",
    "Anne",
    "Elizabeth",
    "Agnes",
    "Catherine",
    "Jude",
    "Clare",
    "Michael",
    "Peter",
    "Margaret",
    "Theresa",
    "Barnabas",
    "Raphael",
    "Dominic",
    "Patrick",
    "Rita",
    "Bernard",
    "Cloud",
    "Alexius",
    "Benedict",
    "Gabriel",
    "Columba",
    "Anselm",
)
HOSPITAL_PATTERNS = (
    "St. {saint}'s",
    "St. {saint}'s Hospital",
    "Saint {saint} Medical Center",
    "St {saint} Regional",
    "{place} Memorial Hospital",
    "{place} General Hospital",
    "{place} General",
    "{person} Memorial",
    "{place} Regional Medical Center",
    "{place} Community Hospital",
    "{place} Valley Hospital",
    "{person} Medical Center",
    "Mercy {place}",
    "{place} Children's Hospital",
    "{place} Rehabilitation Center",
    "{place} Nursing and Rehab",
    "{person} Manor",
    "{place} VA Medical Center",
    "{place} Valley Cardiology Center",
    "{person} Family Practice",
    "{place} Urgent Care",
    "{place} Dialysis Center",
    "{person} Cancer Center",
    "{place} Surgery Center",
    "{place} Clinic",
    "{person}-{person2} Clinic",
    "{place} Health Center",
    "{place} County Hospital",
    "{place} Hospice",
    "{person} House",
    "{place} Medical Group",
    "{place} Behavioral Health",
)
ORG_PATTERNS = (
    "{person} Trucking",
    "{place} School District",
    "{place} Elementary",
    "{person} Logistics",
    "{person} & Sons",
    "{place} Paper Mill",
    "{place} Fire Department",
    "{person} Construction",
    "{place} Community College",
    "{person} Pharmacy",
    "{place} Home Health",
    "{person} Foods",
    "{place} Public Library",
    "{person} Auto Body",
    "{place} Police Department",
    "{person} Insurance Agency",
    "{place} Credit Union",
    "{person} Landscaping",
)


@dataclass
class Cast:
    """Who and where one document talks about, so its mentions stay consistent as in real notes."""

    patient: Person
    relatives: list[Person]
    staff: list[Person]
    hospitals: list[str]
    orgs: list[str]
    town: str
    world_city: str
    state: tuple[str, str, int, int]
    country: str
    anchor: dt.date  # the admission / visit date the note's dates cluster around
    birth: dt.date
    email_domain: str
    web_host: str
    counters: dict[str, int] = field(default_factory=dict)


def _place(lex: Lexicon, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(lex.towns)
    if roll < 0.8:
        return rng.choice(lex.inv_last)
    return rng.choice(lex.last)


def _person_word(lex: Lexicon, rng: random.Random) -> str:
    return rng.choice(lex.inv_last) if rng.random() < 0.5 else rng.choice(lex.last)


def facility_name(lex: Lexicon, rng: random.Random, patterns: tuple[str, ...]) -> str:
    return rng.choice(patterns).format(
        saint=rng.choice(SAINTS), place=_place(lex, rng), person=_person_word(lex, rng), person2=_person_word(lex, rng)
    )


def make_cast(lex: Lexicon, rng: random.Random, sex: str | None) -> Cast:
    patient = make_person(lex, rng, "patient", sex=sex)
    relatives = []
    for _ in range(2):
        rel = make_person(lex, rng, "relative")
        if (
            rel.relation in ("wife", "husband", "daughter", "son", "mother", "father", "sister", "brother")
            and rng.random() < 0.6
        ):
            rel.last = patient.last  # family shares the surname more often than not
        relatives.append(rel)
    staff = [make_person(lex, rng, "staff") for _ in range(4)]
    anchor = dt.date(1996, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 28))
    birth = anchor - dt.timedelta(days=rng.randint(365 * 18, 365 * 88))
    word = rng.choice(lex.inv_last).lower()
    return Cast(
        patient=patient,
        relatives=relatives,
        staff=staff,
        hospitals=[facility_name(lex, rng, HOSPITAL_PATTERNS) for _ in range(3)],
        orgs=[facility_name(lex, rng, ORG_PATTERNS) for _ in range(2)],
        town=rng.choice(lex.towns if rng.random() < 0.7 else lex.inv_last),
        world_city=rng.choice(lex.world_cities),
        state=rng.choice(lex.states),
        country=rng.choice(lex.countries),
        anchor=anchor,
        birth=birth,
        email_domain=rng.choice((f"{word}mail.com", f"{word}.net", f"{word}-health.org", "mailbox.example.com")),
        web_host=rng.choice((f"www.{word}health.org", f"portal.{word}.org", f"{word}clinic.com", f"www.{word}.com")),
    )


def street_text(lex: Lexicon, rng: random.Random) -> str:
    number = rng.choice((str(rng.randint(1, 99)), str(rng.randint(100, 999)), str(rng.randint(1000, 19999))))
    name = rng.choice(lex.street_names) if rng.random() < 0.6 else rng.choice(lex.inv_last)
    direction = rng.choice(("", "", "", "N. ", "S ", "East ", "W. "))
    unit = rng.choice(
        (
            "",
            "",
            "",
            f", Apt {rng.randint(1, 40)}{rng.choice('ABCD')}",
            f" #{rng.randint(1, 300)}",
            f", Unit {rng.randint(1, 12)}",
        )
    )
    if rng.random() < 0.08:
        return f"PO Box {rng.randint(10, 9999)}"
    return f"{number} {direction}{name} {rng.choice(lex.street_suffixes)}{unit}"


def zip_text(state: tuple[str, str, int, int], rng: random.Random) -> str:
    code = f"{rng.randint(state[2], state[3]):05d}"
    return code if rng.random() < 0.8 else f"{code}-{digits(rng, 4)}"
