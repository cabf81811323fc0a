"""Invented protected health information in the formats real notes use.

Every function takes the generator's random.Random and returns a `Phi` slot, so the caller
places it in a template and the ground-truth span follows automatically.
"""

from __future__ import annotations

import datetime as dt
import random

from data_tools import vocab
from data_tools.pieces import Phi

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


class Person:
    """An invented person: the same first/last name reused across a document."""

    def __init__(self, rng: random.Random) -> None:
        self.first = rng.choice(vocab.FIRST_NAMES)
        self.last = rng.choice(vocab.LAST_NAMES)

    def full(self) -> Phi:
        return Phi("NAME", f"{self.first} {self.last}")

    def last_first(self) -> Phi:
        return Phi("NAME", f"{self.last}, {self.first}")

    def surname(self) -> Phi:
        return Phi("NAME", self.last)

    def email(self, rng: random.Random) -> Phi:
        local = rng.choice(
            (
                f"{self.first[0]}{self.last}",
                f"{self.first}.{self.last}",
                f"{self.last}{self.first[0]}",
            )
        ).lower()
        return Phi("EMAIL", f"{local}{rng.randint(1, 99)}@{rng.choice(vocab.EMAIL_DOMAINS)}")


def random_day(rng: random.Random, first_year: int = 2015, last_year: int = 2025) -> dt.date:
    start = dt.date(first_year, 1, 1).toordinal()
    end = dt.date(last_year, 12, 31).toordinal()
    return dt.date.fromordinal(rng.randint(start, end))


def format_date(rng: random.Random, day: dt.date) -> str:
    """One of the date formats seen in clinical text."""
    style = rng.randrange(6)
    if style == 0:
        return f"{day.month:02d}/{day.day:02d}/{day.year}"
    if style == 1:
        return f"{day.month}/{day.day}/{day.year % 100:02d}"
    if style == 2:
        return day.isoformat()
    if style == 3:
        return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"
    if style == 4:
        return f"{day.day} {MONTHS[day.month - 1][:3]} {day.year}"
    return f"{day.month:02d}-{day.day:02d}-{day.year}"


def date(rng: random.Random, day: dt.date | None = None) -> Phi:
    return Phi("DATE", format_date(rng, day or random_day(rng)))


def birth_date(rng: random.Random, age: int, on: dt.date) -> Phi:
    year = on.year - age
    day = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
    return Phi("DATE", format_date(rng, day))


def mrn(rng: random.Random) -> Phi:
    return Phi("MRN", str(rng.randint(10_000_000, 99_999_999)))


def _digits(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)


def phone(rng: random.Random, kind: str = "PHONE") -> Phi:
    area, exchange, line = _digits(rng)
    style = rng.randrange(3)
    if style == 0:
        text = f"({area}) {exchange}-{line:04d}"
    elif style == 1:
        text = f"{area}-{exchange}-{line:04d}"
    else:
        text = f"{area}.{exchange}.{line:04d}"
    return Phi(kind, text)


def ssn(rng: random.Random) -> Phi:
    area = rng.choice((rng.randint(1, 665), rng.randint(667, 899)))
    return Phi("SSN", f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}")


def address(rng: random.Random) -> Phi:
    city, state, zip_prefix = rng.choice(vocab.CITIES)
    street = f"{rng.randint(10, 9899)} {rng.choice(vocab.STREET_NAMES)} {rng.choice(vocab.STREET_SUFFIXES)}"
    unit = rng.choice(("", "", "", f", Apt {rng.randint(1, 40)}{rng.choice('ABCD')}"))
    return Phi("ADDRESS", f"{street}{unit}, {city}, {state} {zip_prefix}{rng.randint(0, 99):02d}")


def age_over_89(rng: random.Random) -> Phi:
    """HIPAA treats ages over 89 as identifying; younger ages are not PHI."""
    return Phi("AGE", str(rng.randint(90, 103)))
