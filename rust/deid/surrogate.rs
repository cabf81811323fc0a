//! Realistic surrogates: each PHI span is replaced by a made-up value of the same kind and
//! layout, consistent within a document, so training text stays natural.
//!
//! Decisions
//! * One document, one key: every choice is a hash of (seed, the document's text, the original
//!   value), so the same text with the same seed gives the same output on any worker, and the same
//!   name gets the same surrogate everywhere in a note ("John Smith" ... "Smith" ... "SMITH").
//! * Names are replaced word by word (a first name by a first name, a surname by a surname), with
//!   the original's case ("smith" -> "jones", "SMITH" -> "JONES") and initials kept as initials.
//! * Dates are shifted by one per-document offset (30 to 1,095 days back), so intervals between
//!   dates of a note survive; each date is written back in its own layout ("3/14/2025",
//!   "14-Mar-25", "March 14th", "2015"). A date whose layout is not understood becomes `[DATE]`
//!   rather than a guess that could keep the real value.
//! * Numbers (phones, MRNs, SSNs, ZIPs, ...) keep their layout; every digit is redrawn (a phone's
//!   area code and exchange never start with 0 or 1, an SSN never starts with 9 or 666).
//! * Ages over 89 become "90": Safe Harbor allows "90 or older" as one category.
//! * A surrogate never equals the value it replaces.

use super::refine::strip_possessive;
use super::types::{PhiType, Span};
use super::words::MONTHS;
use rustc_hash::FxHashMap;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The values surrogates are drawn from (from the lexicons; none may be empty).
#[derive(Clone, Debug)]
pub struct SurrogatePools {
    pub first_names: Vec<String>,
    pub last_names: Vec<String>,
    pub cities: Vec<String>,
    pub states: Vec<String>,
    pub streets: Vec<String>,
}

impl SurrogatePools {
    /// Small built-in pools (invented values) for tests and for engines without lexicons.
    pub fn builtin() -> Self {
        let own = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        SurrogatePools {
            first_names: own(&[
                "Avery", "Blake", "Corin", "Dana", "Ellis", "Farren", "Gale", "Harper", "Imre", "Jules",
            ]),
            last_names: own(&[
                "Ashdown",
                "Brennick",
                "Calloway",
                "Dunmore",
                "Everly",
                "Fairbanks",
                "Garrow",
                "Holloway",
            ]),
            cities: own(&["Millbrook", "Cedar Falls", "Port Alden", "Westvale", "Riverton", "Oakridge"]),
            states: own(&["Ohio", "Iowa", "Utah", "Maine", "Nevada", "Oregon"]),
            streets: own(&["Maple", "Birch", "Willow", "Chestnut", "Hawthorne", "Juniper"]),
        }
    }

    /// Pools from lexicon entries ({category: entries}, as medtitan.deid.lexicons gives them):
    /// first and last names, US cities and states; streets take surnames. Only plain entries
    /// are kept (ASCII letters, spaces, hyphens and apostrophes, 3-14 characters, capitalised),
    /// so a surrogate reads like the text around it. Falls back to the built-in pool for a
    /// category with no usable entry.
    pub fn from_lexicons(lexicons: &std::collections::BTreeMap<String, Vec<String>>) -> Self {
        let builtin = Self::builtin();
        let plain = |category: &str, fallback: &Vec<String>| -> Vec<String> {
            let mut kept: Vec<String> = lexicons
                .get(category)
                .into_iter()
                .flatten()
                .filter(|e| {
                    (3..=14).contains(&e.len())
                        && e.starts_with(|c: char| c.is_ascii_uppercase())
                        && e.chars().all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '-' || c == '\'')
                        && e.chars().skip(1).any(|c| c.is_ascii_lowercase())
                })
                .cloned()
                .collect();
            kept.sort();
            kept.dedup();
            if kept.is_empty() {
                fallback.clone()
            } else {
                kept
            }
        };
        let last_names = plain("last_name", &builtin.last_names);
        SurrogatePools {
            first_names: plain("first_name", &builtin.first_names),
            cities: plain("city", &builtin.cities),
            states: plain("state", &builtin.states),
            streets: last_names.clone(),
            last_names,
        }
    }

    fn check(&self) -> Result<(), String> {
        for (name, pool) in [
            ("first_names", &self.first_names),
            ("last_names", &self.last_names),
            ("cities", &self.cities),
            ("states", &self.states),
            ("streets", &self.streets),
        ] {
            if pool.is_empty() {
                return Err(format!("surrogate pool {name} is empty"));
            }
        }
        Ok(())
    }
}

/// Per-document state: the document key and the choices made so far (for consistency).
struct Document<'p> {
    key: u64,
    pools: &'p SurrogatePools,
    /// lowercased original word or value -> lowercased surrogate
    chosen: FxHashMap<(u8, String), String>,
    /// surrogates already used, so two different originals do not share one
    used: FxHashMap<(u8, String), String>,
    shift_days: i64,
}

const NAME_FIRST: u8 = 0;
const NAME_LAST: u8 = 1;
const CITY: u8 = 2;
const STATE: u8 = 3;
const STREET: u8 = 4;

impl<'p> Document<'p> {
    fn new(text: &str, seed: u64, pools: &'p SurrogatePools) -> Self {
        let key = xxh3_64_with_seed(text.as_bytes(), seed);
        let shift_days = 30 + (mix(key, 0x5eed_da7e) % 1066) as i64;
        Document { key, pools, chosen: FxHashMap::default(), used: FxHashMap::default(), shift_days: -shift_days }
    }

    fn hash(&self, salt: &str, n: u64) -> u64 {
        mix(xxh3_64_with_seed(salt.as_bytes(), self.key), n)
    }

    /// The surrogate of `original` from pool `which`: the same original gets the same value, two
    /// originals get different values while the pool allows, and never the original itself.
    fn pick(&mut self, which: u8, original: &str) -> String {
        let lower = original.to_lowercase();
        if let Some(found) = self.chosen.get(&(which, lower.clone())) {
            return found.clone();
        }
        let pool = match which {
            NAME_FIRST => &self.pools.first_names,
            NAME_LAST => &self.pools.last_names,
            CITY => &self.pools.cities,
            STATE => &self.pools.states,
            _ => &self.pools.streets,
        };
        let start = self.hash(&lower, which as u64) as usize % pool.len();
        let mut choice = None;
        for probe in 0..pool.len().min(64) {
            let candidate = &pool[(start + probe) % pool.len()];
            let candidate_lower = candidate.to_lowercase();
            if candidate_lower == lower {
                continue;
            }
            let taken = self.used.get(&(which, candidate_lower.clone())).is_some_and(|owner| *owner != lower);
            if !taken || choice.is_none() {
                choice = Some(candidate.clone());
                if !taken {
                    break;
                }
            }
        }
        let choice = choice.unwrap_or_else(|| format!("{}a", pool[start]));
        self.used.insert((which, choice.to_lowercase()), lower.clone());
        self.chosen.insert((which, lower), choice.clone());
        choice
    }

    fn digit(&self, salt: &str, n: u64, range: std::ops::RangeInclusive<u8>) -> char {
        let span = (range.end() - range.start() + 1) as u64;
        (b'0' + range.start() + (self.hash(salt, n) % span) as u8) as char
    }
}

fn mix(a: u64, b: u64) -> u64 {
    let mut x = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

/// `text` with every span replaced by a surrogate. `spans` must be sorted and disjoint (byte
/// offsets); `seed` is the build's seed.
pub fn apply(text: &str, spans: &[Span], seed: u64, pools: &SurrogatePools) -> String {
    if let Err(message) = pools.check() {
        panic!("{message}");
    }
    let mut doc = Document::new(text, seed, pools);
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    for span in spans {
        out.push_str(&text[at..span.start]);
        let original = &text[span.start..span.end];
        out.push_str(&surrogate(&mut doc, original, span.kind));
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

fn surrogate(doc: &mut Document, original: &str, kind: PhiType) -> String {
    let value = match kind {
        PhiType::Name => name(doc, original),
        PhiType::Date => shift_date(original, doc.shift_days),
        PhiType::Age => Some("90".to_string()),
        PhiType::Location => Some(location(doc, original)),
        PhiType::Hospital => Some(hospital(doc, original)),
        PhiType::Address => Some(address(doc, original)),
        PhiType::Email => Some(email(doc, original)),
        PhiType::Url => Some(format!("https://www.example.org/{}", doc.hash(original, 7) % 100_000)),
        PhiType::Ip => Some(format!("192.0.2.{}", 1 + doc.hash(original, 8) % 254)),
        PhiType::Phone | PhiType::Fax => Some(redraw_digits(doc, original, true)),
        PhiType::Ssn => Some(ssn(doc, original)),
        PhiType::Mrn | PhiType::Zip => Some(redraw_digits(doc, original, false)),
    };
    match value {
        Some(v) if v != original || kind == PhiType::Age => v,
        _ => kind.placeholder().to_string(),
    }
}

/// The case of `model` applied to `word`: UPPER, lower or Title.
fn with_case_of(word: &str, model: &str) -> String {
    let letters: Vec<char> = model.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
        word.to_uppercase()
    } else if !letters.is_empty() && letters.iter().all(|c| c.is_lowercase()) {
        word.to_lowercase()
    } else {
        word.to_string()
    }
}

/// Name words replaced one by one; separators (spaces, commas, periods, apostrophes) kept.
fn name(doc: &mut Document, original: &str) -> Option<String> {
    // Words and what follows them, e.g. "Smith," "John " "Q." "O'Brien's".
    let words: Vec<&str> = original.split_inclusive([' ', ',']).collect();
    let word_count = words.iter().filter(|w| w.chars().any(char::is_alphabetic)).count();
    let comma_form = original.contains(',');
    let mut out = String::with_capacity(original.len() + 8);
    let mut index = 0;
    for piece in words {
        let core_end = piece.trim_end_matches([' ', ',']).len();
        let (core, sep) = piece.split_at(core_end);
        if !core.chars().any(char::is_alphabetic) {
            out.push_str(piece);
            continue;
        }
        let (stem, possessive) = split_possessive(core);
        let letters = stem.trim_end_matches('.');
        let replaced = if letters.chars().count() == 1 {
            // An initial stays an initial, drawn from the alphabet.
            let letter = (b'A' + (doc.hash(letters, 11) % 26) as u8) as char;
            format!("{}{}", with_case_of(&letter.to_string(), letters), &stem[letters.len()..])
        } else {
            // "Last, First": the first word is the surname; "First [Middle] Last": the last one.
            let is_last = if comma_form { index == 0 } else { index + 1 == word_count || word_count == 1 };
            let which = if is_last { NAME_LAST } else { NAME_FIRST };
            let mut chosen = String::new();
            for (i, part) in letters.split('-').enumerate() {
                if i > 0 {
                    chosen.push('-');
                }
                chosen.push_str(&with_case_of(&doc.pick(which, part), part));
            }
            format!("{chosen}{}", &stem[letters.len()..])
        };
        out.push_str(&replaced);
        out.push_str(possessive);
        out.push_str(sep);
        index += 1;
    }
    Some(out)
}

/// (stem, possessive ending): "Mary's" -> ("Mary", "'s").
fn split_possessive(word: &str) -> (&str, &str) {
    let stem = strip_possessive(word);
    (stem, &word[stem.len()..])
}

fn location(doc: &mut Document, original: &str) -> String {
    let is_state = doc.pools.states.iter().any(|s| s.eq_ignore_ascii_case(original))
        || (original.len() == 2 && original.chars().all(|c| c.is_ascii_uppercase()));
    if is_state && original.len() == 2 {
        return original.to_string(); // a postal abbreviation alone is not identifying; see `address`
    }
    let which = if is_state { STATE } else { CITY };
    with_case_of(&doc.pick(which, original), original)
}

/// Words that say what kind of place a hospital name is; they stay, the rest is replaced.
const INSTITUTION_WORDS: &[&str] = &[
    "hospital",
    "medical",
    "center",
    "centre",
    "clinic",
    "memorial",
    "general",
    "regional",
    "community",
    "health",
    "healthcare",
    "rehab",
    "rehabilitation",
    "nursing",
    "home",
    "care",
    "university",
    "children's",
    "county",
    "valley",
    "cardiology",
    "oncology",
    "family",
    "practice",
    "associates",
    "institute",
    "va",
    "infirmary",
    "hospice",
    "urgent",
    "of",
    "the",
    "and",
    "&",
];

fn hospital(doc: &mut Document, original: &str) -> String {
    let mut out = String::with_capacity(original.len() + 8);
    let mut replaced_any = false;
    for piece in original.split_inclusive(' ') {
        let core = piece.trim_end();
        let bare = core.trim_end_matches([',', '.']).to_lowercase();
        let keep = INSTITUTION_WORDS.contains(&bare.as_str()) || !core.chars().any(char::is_alphabetic);
        if keep {
            out.push_str(piece);
            continue;
        }
        let (stem, possessive) = split_possessive(core.trim_end_matches([',', '.']));
        let tail = &core[stem.len() + possessive.len()..];
        let is_saint = matches!(bare.as_str(), "st" | "st." | "saint" | "mt" | "mount");
        if is_saint {
            out.push_str(piece);
            continue;
        }
        out.push_str(&with_case_of(&doc.pick(NAME_LAST, stem), stem));
        out.push_str(possessive);
        out.push_str(tail);
        out.push_str(&piece[core.len()..]);
        replaced_any = true;
    }
    if !replaced_any {
        // Only generic words ("Memorial Hospital"): prefix an invented name.
        let prefix = with_case_of(&doc.pick(CITY, original), original);
        return format!("{prefix} {original}");
    }
    out
}

fn address(doc: &mut Document, original: &str) -> String {
    // "<number> <street words> <suffix>[, city, ST zip]": the number redrawn, the street words
    // replaced by a surrogate street, the suffix and anything after the first comma dropped
    // into a surrogate city.
    let head = original.split(',').next().unwrap_or(original);
    let mut words: Vec<&str> = head.split_whitespace().collect();
    let number = if words.first().is_some_and(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit())) {
        redraw_digits(doc, words.remove(0), false)
    } else {
        String::new()
    };
    let suffix = if words.len() > 1 { words.last().copied().unwrap_or("") } else { "" };
    let street = with_case_of(&doc.pick(STREET, head), head);
    let mut out = [number.as_str(), street.as_str(), suffix]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if original.contains(',') {
        let city = with_case_of(&doc.pick(CITY, original), original);
        out.push_str(", ");
        out.push_str(&city);
    }
    out
}

fn email(doc: &mut Document, original: &str) -> String {
    let local = original.split('@').next().unwrap_or(original);
    let name = doc.pick(NAME_LAST, local).to_lowercase().replace([' ', '\''], "");
    format!("{name}{}@example.org", doc.hash(original, 5) % 100)
}

fn ssn(doc: &mut Document, original: &str) -> String {
    // Area 001-665 or 667-899 (never 000, 666 or 9xx), so the surrogate is well-formed.
    let mut out = redraw_digits(doc, original, false);
    let digits: Vec<usize> = out.char_indices().filter(|(_, c)| c.is_ascii_digit()).map(|(i, _)| i).collect();
    if digits.len() >= 3 {
        let first = doc.digit(original, 21, 1..=8);
        out.replace_range(digits[0]..digits[0] + 1, &first.to_string());
        if out[digits[0]..].starts_with("666") {
            out.replace_range(digits[0]..digits[0] + 1, "5");
        }
    }
    out
}

/// Every digit redrawn and every letter redrawn in its case; separators kept. With `phone`, a
/// digit that starts a 3-digit group is 2-9 (a valid area code or exchange).
fn redraw_digits(doc: &Document, original: &str, phone: bool) -> String {
    let chars: Vec<char> = original.chars().collect();
    let mut out = String::with_capacity(original.len());
    for (i, &c) in chars.iter().enumerate() {
        let starts_group = i == 0 || !chars[i - 1].is_ascii_digit();
        let next_digits = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if c.is_ascii_digit() {
            let range = if phone && starts_group && next_digits == 3 { 2..=9 } else { 0..=9 };
            let mut d = doc.digit(original, i as u64, range.clone());
            if d == c {
                d = doc.digit(original, i as u64 + 1000, range);
            }
            out.push(d);
        } else if c.is_ascii_alphabetic() && !(phone || (i > 0 && chars[i - 1] == 'x')) {
            let letter = (b'A' + (doc.hash(original, i as u64 + 2000) % 26) as u8) as char;
            out.push(if c.is_ascii_lowercase() { letter.to_ascii_lowercase() } else { letter });
        } else {
            out.push(c);
        }
    }
    out
}

// --- dates ------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let next = if month == 12 { days_from_civil(year + 1, 1, 1) } else { days_from_civil(year, month + 1, 1) };
    (next - days_from_civil(year, month, 1)) as u32
}

/// A date's parts as written: which are present, and how each is written.
#[derive(Clone, Debug, Default)]
struct Parts {
    year: Option<i64>,
    month: Option<u32>,
    day: Option<u32>,
}

/// One token of a written date: a number (its text) or a month name, with what follows it.
#[derive(Debug)]
enum Piece<'a> {
    Number(&'a str),
    Month(&'a str, u32),
    Other(&'a str),
}

fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Piece::Number(&text[start..i]));
        } else if bytes[i].is_ascii_alphabetic() {
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let word = &text[start..i];
            let lower = word.to_ascii_lowercase();
            let month = MONTHS.iter().map(|m| m.to_ascii_lowercase()).position(|m| {
                m == lower || (lower.len() >= 3 && m.starts_with(&lower) && (lower.len() == 3 || lower == "sept"))
            });
            match month {
                Some(m) => out.push(Piece::Month(word, m as u32 + 1)),
                None => out.push(Piece::Other(word)),
            }
        } else {
            let ch = text[i..].chars().next().map_or(1, char::len_utf8);
            i += ch;
            out.push(Piece::Other(&text[start..i]));
        }
    }
    out
}

/// (month, day) of two numbers: month first, or day first when the first cannot be a month.
fn month_and_day(first: i64, second: i64) -> (Option<u32>, Option<u32>) {
    if (1..=12).contains(&first) {
        (Some(first as u32), Some(second as u32))
    } else {
        (Some(second as u32), Some(first as u32))
    }
}

fn expand_year(two: i64) -> i64 {
    if two <= 30 {
        2000 + two
    } else {
        1900 + two
    }
}

/// Reads the date's year, month and day from its pieces: numeric m/d[/y], y-m-d, d Month [y],
/// Month d[, y], Month y, a year alone ("2015", "'98").
fn read_date(pieces: &[Piece]) -> Option<Parts> {
    let numbers: Vec<&str> =
        pieces.iter().filter_map(|p| if let Piece::Number(n) = p { Some(*n) } else { None }).collect();
    let month_name = pieces.iter().find_map(|p| if let Piece::Month(_, m) = p { Some(*m) } else { None });
    let value = |s: &str| s.parse::<i64>().ok();
    let year_of = |s: &str| -> Option<i64> {
        match s.len() {
            4 => value(s),
            2 => value(s).map(expand_year),
            _ => None,
        }
    };
    let mut parts = Parts::default();
    match (month_name, numbers.as_slice()) {
        (Some(m), []) => parts.month = Some(m),
        (Some(m), [n]) if n.len() == 4 => {
            parts.month = Some(m);
            parts.year = value(n);
        }
        (Some(m), [n]) => {
            parts.month = Some(m);
            parts.day = value(n).map(|d| d as u32);
        }
        (Some(m), [a, b]) => {
            parts.month = Some(m);
            // "14 Mar 2025", "March 14, 2025", "14-Mar-25": the day has 1-2 digits and comes
            // first among the numbers.
            parts.day = value(a).map(|d| d as u32);
            parts.year = year_of(b);
        }
        (None, [y]) if y.len() == 4 => parts.year = value(y),
        (None, [y]) if y.len() == 2 && pieces.iter().any(|p| matches!(p, Piece::Other("'" | "’"))) => {
            parts.year = year_of(y)
        }
        (None, [a, b]) if a.len() == 4 => {
            // "2025/03" (year-month)
            parts.year = value(a);
            parts.month = value(b).map(|m| m as u32);
        }
        (None, [a, b]) if b.len() == 4 => {
            parts.month = value(a).map(|m| m as u32);
            parts.year = value(b);
        }
        (None, [a, b]) => (parts.month, parts.day) = month_and_day(value(a)?, value(b)?),
        (None, [a, b, c]) if a.len() == 4 => {
            parts.year = value(a);
            parts.month = value(b).map(|m| m as u32);
            parts.day = value(c).map(|d| d as u32);
        }
        (None, [a, b, c]) => {
            (parts.month, parts.day) = month_and_day(value(a)?, value(b)?);
            parts.year = year_of(c);
        }
        _ => return None,
    }
    if parts.month.is_some_and(|m| !(1..=12).contains(&m)) || parts.day.is_some_and(|d| !(1..=31).contains(&d)) {
        return None;
    }
    if parts.year.is_none() && parts.month.is_none() {
        return None;
    }
    Some(parts)
}

/// The date shifted by `shift_days` and written back in its own layout.
fn shift_date(original: &str, shift_days: i64) -> Option<String> {
    let pieces = pieces(original);
    let parts = read_date(&pieces)?;
    // A missing year is taken as a leap year (so Feb 29 stays valid); a missing day as the 15th
    // (so month-level dates move by whole months about as often as the offset says).
    let year = parts.year.unwrap_or(2000);
    let month = parts.month.unwrap_or(7);
    let day = parts.day.unwrap_or(if parts.month.is_some() { 15 } else { 1 });
    if day > days_in_month(year, month) {
        return None;
    }
    let (new_year, new_month, new_day) = civil_from_days(days_from_civil(year, month, day) + shift_days);
    // Rewrite each piece in place: numbers keep their width (zero padding when the original had
    // it), month names their case and abbreviation.
    let mut numbers_seen = Vec::new();
    let mut out = String::with_capacity(original.len() + 4);
    let number_roles = number_roles(&pieces, &parts);
    let mut n = 0;
    for piece in &pieces {
        match piece {
            Piece::Number(s) => {
                let role = number_roles.get(n).copied().unwrap_or('?');
                n += 1;
                let value = match role {
                    'y' => new_year,
                    'm' => new_month as i64,
                    'd' => new_day as i64,
                    _ => return None,
                };
                let written = if role == 'y' && s.len() == 2 {
                    format!("{:02}", value.rem_euclid(100))
                } else if s.len() == 2 && s.starts_with('0')
                    || (role != 'y' && s.len() == 2 && value < 10 && s.starts_with('0'))
                {
                    format!("{value:02}")
                } else {
                    value.to_string()
                };
                numbers_seen.push(written.clone());
                out.push_str(&written);
            }
            Piece::Month(word, _) => out.push_str(&month_word(word, new_month)),
            Piece::Other(s) => out.push_str(s),
        }
    }
    Some(fix_ordinal(&out))
}

/// Which part (y, m, d) each number of the date is, in order; consistent with `read_date`.
fn number_roles(pieces: &[Piece], parts: &Parts) -> Vec<char> {
    let numbers: Vec<&str> =
        pieces.iter().filter_map(|p| if let Piece::Number(n) = p { Some(*n) } else { None }).collect();
    let has_month_name = pieces.iter().any(|p| matches!(p, Piece::Month(..)));
    match (has_month_name, numbers.len()) {
        (true, 0) => vec![],
        (true, 1) => vec![if parts.year.is_some() { 'y' } else { 'd' }],
        (true, _) => vec!['d', 'y'],
        (false, 1) => vec!['y'],
        (false, 2) if numbers[0].len() == 4 => vec!['y', 'm'],
        (false, 2) if numbers[1].len() == 4 => vec!['m', 'y'],
        (false, n) => {
            let first_is_month = numbers[0].parse::<u32>().is_ok_and(|x| (1..=12).contains(&x));
            let mut roles = if first_is_month { vec!['m', 'd'] } else { vec!['d', 'm'] };
            if n == 3 {
                if numbers[0].len() == 4 {
                    roles = vec!['y', 'm', 'd'];
                } else {
                    roles.push('y');
                }
            }
            roles
        }
    }
}

fn month_word(model: &str, month: u32) -> String {
    let full = MONTHS[(month - 1) as usize];
    let abbreviated = model.len() <= 4 && !MONTHS.iter().any(|m| m.eq_ignore_ascii_case(model));
    with_case_of(if abbreviated { &full[..3] } else { full }, model)
}

/// "March 2nd" after a shift to the 14th must read "14th", not "14nd".
fn fix_ordinal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let number = &text[start..i];
            out.push_str(number);
            let rest = &text[i..];
            let suffix_len =
                ["st", "nd", "rd", "th", "ST", "ND", "RD", "TH"].iter().find(|s| rest.starts_with(*s)).map(|s| s.len());
            if let (Some(len), Ok(n)) = (suffix_len, number.parse::<u32>()) {
                let proper = match (n % 10, n % 100) {
                    (_, 11..=13) => "th",
                    (1, _) => "st",
                    (2, _) => "nd",
                    (3, _) => "rd",
                    _ => "th",
                };
                let upper = rest[..len].chars().all(|c| c.is_ascii_uppercase());
                out.push_str(&if upper { proper.to_uppercase() } else { proper.to_string() });
                i += len;
            }
        } else {
            let ch = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&text[i..i + ch]);
            i += ch;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str, phi: &str, kind: PhiType) -> Span {
        let start = text.find(phi).expect("phi in text");
        Span { start, end: start + phi.len(), kind }
    }

    fn replace(text: &str, phis: &[(&str, PhiType)]) -> String {
        let mut spans: Vec<Span> = phis.iter().map(|(p, k)| span(text, p, *k)).collect();
        spans.sort_by_key(|s| s.start);
        apply(text, &spans, 1234, &SurrogatePools::builtin())
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-800_000, -1, 0, 1, 59, 60, 365, 10_957, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28), 2);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
    }

    #[test]
    fn dates_keep_their_layout_and_the_interval_between_them() {
        let shift = -45;
        assert_eq!(shift_date("03/14/2025", shift).as_deref(), Some("01/28/2025"));
        assert_eq!(shift_date("3/14/25", shift).as_deref(), Some("1/28/25"));
        assert_eq!(shift_date("2025-03-14", shift).as_deref(), Some("2025-01-28"));
        assert_eq!(shift_date("March 14, 2025", shift).as_deref(), Some("January 28, 2025"));
        assert_eq!(shift_date("14-Mar-25", shift).as_deref(), Some("28-Jan-25"));
        assert_eq!(shift_date("MARCH 2ND", shift).as_deref(), Some("JANUARY 17TH"));
        assert_eq!(shift_date("8/14", shift).as_deref(), Some("6/30"));
        assert_eq!(shift_date("2015", -400).as_deref(), Some("2014"));
        assert_eq!(shift_date("'98", -400).as_deref(), Some("'97"));
        assert_eq!(shift_date("the 3rd", shift), None, "a day alone is not understood");
        // Two dates of one document move together.
        let text = "Admitted 03/01/2025, discharged 03/11/2025.";
        let out = replace(text, &[("03/01/2025", PhiType::Date), ("03/11/2025", PhiType::Date)]);
        let dates: Vec<&str> =
            out.split(['d', ' ', ',']).filter(|w| w.contains('/')).map(|w| w.trim_end_matches('.')).collect();
        let parse = |s: &str| {
            let p: Vec<u32> = s.split('/').map(|x| x.parse().unwrap()).collect();
            days_from_civil(p[2] as i64, p[0], p[1])
        };
        assert_eq!(parse(dates[1]) - parse(dates[0]), 10, "{out}");
        assert!(!out.contains("03/01/2025") && !out.contains("03/11/2025"), "{out}");
    }

    #[test]
    fn names_are_consistent_within_a_document_and_keep_their_case() {
        let text = "John Smith was seen. Smith reports pain. SMITH agrees; his wife mary smith called. J. Smith";
        let out = replace(
            text,
            &[
                ("John Smith", PhiType::Name),
                ("Smith reports", PhiType::Name),
                ("SMITH", PhiType::Name),
                ("mary smith", PhiType::Name),
                ("J. Smith", PhiType::Name),
            ],
        );
        assert!(!out.to_lowercase().contains("smith"), "{out}");
        assert!(!out.contains("John") && !out.contains("mary"), "{out}");
        let words: Vec<&str> = out.split([' ', '.', ';']).filter(|w| !w.is_empty()).collect();
        let surname = words[1];
        assert!(out.contains(&format!("{surname} reports")) || out.contains(surname), "{out}");
        assert!(out.contains(&surname.to_uppercase()), "upper-case form of {surname} in {out}");
        assert!(out.contains(&surname.to_lowercase()), "lower-case form of {surname} in {out}");
    }

    #[test]
    fn the_same_text_and_seed_give_the_same_surrogates() {
        let text = "Dr. Ann Lee saw the patient on 4/10 at Mercy Memorial; call 555-867-5309.";
        let phis = [
            ("Ann Lee", PhiType::Name),
            ("4/10", PhiType::Date),
            ("Mercy", PhiType::Hospital),
            ("555-867-5309", PhiType::Phone),
        ];
        assert_eq!(replace(text, &phis), replace(text, &phis));
        let out = replace(text, &phis);
        assert!(!out.contains("Ann Lee") && !out.contains("4/10") && !out.contains("867-5309"), "{out}");
    }

    #[test]
    fn numbers_keep_their_layout() {
        let out = replace(
            "Call (555) 867-5309, MRN 00123456, SSN 123-45-6789.",
            &[("(555) 867-5309", PhiType::Phone), ("00123456", PhiType::Mrn), ("123-45-6789", PhiType::Ssn)],
        );
        let phone = &out[5..19];
        assert!(phone.starts_with('(') && &phone[4..6] == ") " && &phone[9..10] == "-", "{out}");
        assert!(!out.contains("867-5309") && !out.contains("00123456") && !out.contains("123-45-6789"), "{out}");
        let ssn = out.split("SSN ").nth(1).unwrap().trim_end_matches('.');
        assert!(ssn.len() == 11 && !ssn.starts_with('9') && !ssn.starts_with("666"), "{ssn}");
    }

    #[test]
    fn hospitals_keep_their_kind_words() {
        let out = replace(
            "transferred to St. Mary's Medical Center today",
            &[("St. Mary's Medical Center", PhiType::Hospital)],
        );
        assert!(out.contains("St. ") && out.contains("'s Medical Center") && !out.contains("Mary"), "{out}");
        let out = replace("f/u at the Memorial Hospital", &[("Memorial Hospital", PhiType::Hospital)]);
        assert!(out.contains(" Memorial Hospital") && !out.contains("the Memorial"), "{out}");
    }

    #[test]
    fn ages_over_89_become_90() {
        assert_eq!(replace("a 97 yo woman", &[("97", PhiType::Age)]), "a 90 yo woman");
    }
}
