//! The refine steps of the rules (`rules`): each validates one rule's regex match (a month is
//! 1-12, an SSN area is not 666, a name does not run into "is" or "MD") and returns only the PHI
//! part of it, or None to reject it; and the helpers they share (the words around a match, name
//! trimming, date, year and place context).

use super::words::*;
use regex::{Captures, Match};

/// The groups of one rule inside a match: group 0 is the rule's whole match, group i its i-th
/// group, whether the match came from the rule's own regex (`base` 0) or from the combined one.
pub(super) struct Groups<'c, 'h> {
    pub(super) caps: &'c Captures<'h>,
    pub(super) base: usize,
}

impl<'h> Groups<'_, 'h> {
    fn get(&self, group: usize) -> Option<Match<'h>> {
        self.caps.get(self.base + group)
    }
}

/// Validates a match and returns the PHI part of it (byte offsets), or None to reject it.
pub(super) type Refine = fn(&str, &Groups) -> Option<(usize, usize)>;

fn span_of(caps: &Groups, group: usize) -> Option<(usize, usize)> {
    caps.get(group).map(|m| (m.start(), m.end()))
}

pub(super) fn group1(_: &str, caps: &Groups) -> Option<(usize, usize)> {
    span_of(caps, 1)
}

fn number(caps: &Groups, group: usize) -> Option<u32> {
    caps.get(group)?.as_str().parse().ok()
}

fn prev_char(text: &str, pos: usize) -> Option<char> {
    text[..pos].chars().next_back()
}

fn next_char(text: &str, pos: usize) -> Option<char> {
    text[pos..].chars().next()
}

/// The character after `pos` is `c` and the one after that is a digit ("1.2.3" continuing).
fn continues_with_digit(text: &str, pos: usize, seps: &[char]) -> bool {
    let mut rest = text[pos..].chars();
    matches!((rest.next(), rest.next()), (Some(s), Some(d)) if seps.contains(&s) && d.is_ascii_digit())
}

pub(super) fn refine_url(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, mut end) = span_of(caps, 0)?;
    let lower = text[start..end.min(start + 8)].to_ascii_lowercase();
    let bare = !(lower.starts_with("http") || lower.starts_with("ftp") || lower.starts_with("www."));
    if bare {
        // A bare "drugs.com" or "ClinicalTrials.gov" names an organization; a host name with a
        // subdomain or a path ("mychart.example.org", "example.org/p/123") points somewhere.
        let url = &text[start..end];
        let host_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let has_path = url[host_end..].len() > 1;
        // After "portal", "via", "visit", "website" a bare host is where the reader is sent.
        let pointed = words_before(text, start, 1).first().is_some_and(|w| {
            ["portal", "via", "visit", "website", "site", "sheets", "online", "at"]
                .contains(&w.to_ascii_lowercase().as_str())
        });
        if url[..host_end].matches('.').count() < 2 && !has_path && !pointed {
            return None;
        }
    }
    // Trailing sentence punctuation is not part of the address.
    while end > start {
        let c = text[..end].chars().next_back()?;
        let unbalanced_paren = c == ')' && !text[start..end].contains('(');
        if ".,;:!?".contains(c) || unbalanced_paren || c == ']' || c == '}' {
            end -= c.len_utf8();
        } else {
            break;
        }
    }
    (end > start).then_some((start, end))
}

pub(super) fn refine_ipv4(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if matches!(prev_char(text, start), Some('.' | '[')) || continues_with_digit(text, end, &['.', ',']) {
        return None;
    }
    // Enzyme numbers ("EC 3.1.1.11") and chemical locants ("[3.3.1.13,7]") look the same.
    let before = text[..start].trim_end_matches([' ', ':']);
    if before.ends_with("EC") {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_ipv6(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let s = &text[start..end];
    let compressed = s.matches("::").count();
    let colons = s.matches(':').count();
    // Full form has 7 colons; a compressed form has exactly one "::". Times (10:30:45) have neither.
    let ok =
        (compressed == 0 && colons == 7) || (compressed == 1 && s.split(':').filter(|p| !p.is_empty()).count() >= 2);
    if !ok || matches!(next_char(text, end), Some(':')) || matches!(prev_char(text, start), Some(':')) {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_ssn(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (area, group, serial) = (number(caps, 1)?, number(caps, 2)?, number(caps, 3)?);
    let (start, end) = span_of(caps, 0)?;
    let valid = area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
    if !valid || matches!(prev_char(text, start), Some('-')) || continues_with_digit(text, end, &['-']) {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_mrn(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, mut end) = span_of(caps, 1)?;
    let token = &text[start..end];
    let label_start = caps.get(0)?.start();
    let label = &text[label_start..start];
    let label_word: String =
        label.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_lowercase();
    let digits = digit_count(token);
    let letters = token.bytes().filter(u8::is_ascii_alphabetic).count();
    let strong_sign = label.contains([':', '#']) || {
        let rest = label.to_ascii_lowercase();
        rest.split(|c: char| !c.is_ascii_alphabetic())
            .skip(1)
            .any(|w| ["no", "number", "num", "id", "ids", "code"].contains(&w))
    };
    // Three digits are an identifier only after a record's own label and its sign ("MEDICAL
    // RECORD#: 123", a template's dummy value in the shape of one).
    let record_label = strong_sign && matches!(label_word.as_str(), "mrn" | "medical" | "mr" | "chart");
    if digits < 3 || (digits == 3 && letters < 2 && !record_label) {
        return None;
    }
    if WEAK_ID_LABELS.contains(&label_word.as_str()) && !strong_sign {
        return None;
    }
    // "Boise, ID 83702" is Idaho and a ZIP code; "id 219-09-9999" is left to the SSN rule.
    let idaho =
        label_word == "id" && letters == 0 && (token.len() == 5 || (token.len() == 10 && token.as_bytes()[5] == b'-'));
    let ssn_shape = token.len() == 11 && token.split('-').map(str::len).eq([3, 2, 4]);
    if idaho || ssn_shape {
        return None;
    }
    // "group 18-65", "claim 2015": a range or a year, not an identifier, without a label sign.
    let numeric = letters == 0;
    if numeric && !strong_sign {
        let parts: Vec<&str> = token.split('-').collect();
        let year = token.len() == 4 && matches!(token.parse::<u32>(), Ok(1900..=2039));
        if year || (parts.len() == 2 && parts.iter().all(|p| p.len() <= 3)) {
            return None;
        }
    }
    // "ID 5000 units", "group of 1000 patients": an amount.
    if word_in(&NOT_DATE_AFTER_SET, word_after(text, end))
        || matches!(next_char(text, end), Some('%' | '/' | '.' | ',') if continues_with_digit(text, end, &['.', ',', '/']))
    {
        return None;
    }
    // A trailing two-digit suffix written after a space ("W042132037 72"), then punctuation or
    // the end of the line.
    if token.len() >= 8 {
        let b = text.as_bytes();
        if b.len() >= end + 3 && b[end] == b' ' && b[end + 1].is_ascii_digit() && b[end + 2].is_ascii_digit() {
            let after = b.get(end + 3).copied();
            if after.is_none_or(|c| matches!(c, b'.' | b',' | b';' | b')' | b'\n' | b'\r')) {
                end += 3;
            }
        }
    }
    Some((start, end))
}

pub(super) fn refine_username(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let token = &text[start..end];
    let label = text[caps.get(0)?.start()..start].to_ascii_lowercase();
    if not_a_name_word(token) || word_in(&NOT_DATE_AFTER_SET, token) {
        return None;
    }
    let marked = token.bytes().any(|b| b.is_ascii_digit() || b == b'.' || b == b'_');
    let explicit = label.contains("user") || label.contains(':');
    // "entered by nurse", "login failed": a plain word after a verb needs what an account name
    // has (a digit, a dot) or the workstation that follows it.
    let next = word_after(text, end).to_ascii_lowercase();
    let mut window_end = (end + 40).min(text.len());
    while !text.is_char_boundary(window_end) {
        window_end -= 1;
    }
    let window = text[end..window_end].to_ascii_lowercase();
    let workstation = ["from", "at", "on", "via"].contains(&next.as_str()) && window.contains("workstation");
    let rest = window.trim_start();
    let ip_follows = rest.starts_with('(') && rest[1..].starts_with(|c: char| c.is_ascii_digit());
    (marked || explicit || workstation || ip_follows).then_some((start, end))
}

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

fn phone_context_ok(text: &str, start: usize, end: usize) -> bool {
    let before_ok = !matches!(prev_char(text, start), Some(c) if c.is_alphanumeric() || "-./+".contains(c));
    before_ok && !continues_with_digit(text, end, &['-', '.', '/'])
}

pub(super) fn refine_phone(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    phone_context_ok(text, start, end).then_some((start, end))
}

/// "6-5260", "x4-3846": a five-digit internal number (a hospital extension).
fn internal_extension(s: &str) -> bool {
    let s = s.strip_prefix(['x', 'X']).unwrap_or(s);
    let b = s.as_bytes();
    b.len() == 6 && b[0].is_ascii_digit() && b[1] == b'-' && b[2..].iter().all(u8::is_ascii_digit)
}

pub(super) fn refine_phone_labeled(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let digits = digit_count(&text[start..end]);
    let shape_ok = digits >= 7
        || (internal_extension(&text[start..end])
            && !matches!(next_char(text, end), Some('/' | '%' | '.' | '-'))
            && !word_in(&NOT_DATE_AFTER_SET, word_after(text, end)));
    (shape_ok && phone_context_ok(text, start, end)).then_some((start, end))
}

pub(super) fn refine_phone_intl(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, mut end) = span_of(caps, 1)?;
    while end > start && !text.as_bytes()[end - 1].is_ascii_digit() {
        end -= 1;
    }
    let digits = digit_count(&text[start..end]);
    let ok = (9..=15).contains(&digits)
        && phone_context_ok(text, start, end)
        && !matches!(next_char(text, end), Some(c) if c.is_ascii_digit());
    ok.then_some((start, end))
}

fn valid_day_month(first: u32, second: u32) -> bool {
    // month/day, or day/month when the first part cannot be a month.
    ((1..=12).contains(&first) && (1..=31).contains(&second))
        || ((13..=31).contains(&first) && (1..=12).contains(&second))
}

fn valid_year(year: &str) -> bool {
    match year.len() {
        2 => true,
        4 => matches!(year.parse::<u32>(), Ok(1800..=2099)),
        _ => false,
    }
}

/// Shared checks for three-part numeric dates: same separator twice, nothing numeric glued on.
fn numeric_date_context_ok(text: &str, caps: &Groups, sep1: usize, sep2: usize) -> bool {
    let (Some(a), Some(b), Some(whole)) = (caps.get(sep1), caps.get(sep2), caps.get(0)) else {
        return false;
    };
    let sep = a.as_str().chars().next().unwrap_or(' ');
    if a.as_str() != b.as_str() {
        return false;
    }
    if matches!(prev_char(text, whole.start()), Some(c) if c.is_ascii_digit() || c == sep) {
        return false;
    }
    !matches!(next_char(text, whole.end()), Some(c) if c.is_ascii_digit())
        && !continues_with_digit(text, whole.end(), &[sep])
}

pub(super) fn refine_date_numeric(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    if !numeric_date_context_ok(text, caps, 2, 4) {
        return None;
    }
    let (first, second) = (caps.get(1)?.as_str(), caps.get(3)?.as_str());
    let year = caps.get(5)?.as_str();
    let sep = caps.get(2)?.as_str();
    if !valid_day_month(first.parse().ok()?, second.parse().ok()?) || !valid_year(year) {
        return None;
    }
    // "1.5.10" is a version or a list of values; dotted dates need a 4-digit year. Dashed dates
    // with a 2-digit year need 2-digit parts ("03-14-25"), so ranges like "5-10-15" stay.
    if sep == "." && year.len() != 4 && !date_cued(text, span_of(caps, 0)?.0) {
        return None;
    }
    if sep == "-" && year.len() == 2 && (first.len() != 2 || second.len() != 2) {
        return None;
    }
    // "PS 5/10/40", "5/10/40 %": a ventilator setting, not a date with a 2-digit year.
    if year.len() == 2 {
        let (start, end) = span_of(caps, 0)?;
        let after = word_after(text, end);
        // "pain since 03/10/03", "PA pressure.  On 05/12/08": a date cue right before the date
        // outweighs a ratio word further back.
        // Only a ratio word of the date's own clause counts: "decrease TV, review ABGs,4/18/01:"
        // is a dated entry after a list of orders.
        let clause = text[..start].rfind([',', ';']).map_or(0, |k| k + 1);
        let ratio_before = !date_cued(text, start)
            && words_before(&text[clause..], start - clause, 3).iter().any(|w| word_in(&NOT_DATE_BEFORE_SET, w));
        // "debridement on 03/16/08 of right thigh": after a date cue, "of" starts a phrase.
        let unit_after =
            word_in(&NOT_DATE_AFTER_SET, after) && !(after.eq_ignore_ascii_case("of") && date_cued(text, start));
        if after == "%" || unit_after || ratio_before {
            return None;
        }
    }
    span_of(caps, 0)
}

/// The glued and spaced slashed dates: nothing numeric or slashed continues them, and a spaced
/// one has a space (the plain form is `date_numeric`'s).
pub(super) fn refine_date_loose(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if matches!(next_char(text, end), Some('/' | '%')) || continues_with_digit(text, end, &['/', '.', '-']) {
        return None;
    }
    let spaced = text[start..end].contains(' ');
    let glued = matches!(prev_char(text, start), Some(c) if c.is_ascii_lowercase());
    (spaced || glued).then_some((start, end))
}

pub(super) fn refine_date_iso(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    if !numeric_date_context_ok(text, caps, 2, 4) {
        return None;
    }
    let (month, day) = (number(caps, 3)?, number(caps, 5)?);
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then(|| span_of(caps, 0)).flatten()
}

/// A word right before `pos` that cues a date ("on", "since", "until", "DOS:").
fn date_cued(text: &str, pos: usize) -> bool {
    date_cue_before(text, pos).is_some_and(|(word, _)| word_in(&DATE_CUE_SET, &word))
}

fn starts_lowercase(s: &str) -> bool {
    s.starts_with(|c: char| c.is_lowercase())
}

pub(super) fn refine_date_month_day(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let day = number(caps, 2)?;
    if !(1..=31).contains(&day) {
        return None;
    }
    let has_year = caps.get(4).is_some();
    let has_ordinal = caps.get(3).is_some();
    let month = caps.get(1)?.as_str();
    // "May 5" without a year or an ordinal reads as often as not as the verb, and a month in
    // lower case ("march 5", "dec 2") as a word: both need a date cue ("until may 25").
    let weak = starts_lowercase(month) || month.eq_ignore_ascii_case("may");
    // A weak month needs a year, a cue, or an ordinal after a capitalised month ("May 5th").
    let ordinal_saves = has_ordinal && !starts_lowercase(month);
    if !has_year && weak && !ordinal_saves && !date_cued(text, caps.get(0)?.start()) {
        return None;
    }
    span_of(caps, 0)
}

pub(super) fn refine_date_month_alone(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let month = &text[start..end];
    // A day or a year after it: another rule reports the whole date.
    let rest = text[end..].trim_start_matches(['.', ',', ' ', '-']);
    if rest.starts_with(|c: char| c.is_ascii_digit()) || rest.starts_with('\'') {
        return None;
    }
    // "by May" and "in May be" read as a name or the verb; "May" needs a plainer cue.
    let cue = words_before(text, start, 1).first().map(|w| w.to_ascii_lowercase()).unwrap_or_default();
    if month.eq_ignore_ascii_case("may")
        && (cue == "by" || ["be", "have", "not", "also", "need", "require"].contains(&word_after(text, end)))
    {
        return None;
    }
    // "April Smith", "June Carter": a first name, when a capitalized word follows.
    let after = word_after(text, end);
    if text[end..].starts_with(' ') && after.starts_with(|c: char| c.is_uppercase()) && !word_in(&STOP_SET, after) {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_date_ordinal_day(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let day: u32 = text[start..end].trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse().ok()?;
    if !(1..=31).contains(&day) {
        return None;
    }
    // "on the 5th of May" (date_day_month has it), "on the 3rd floor", "by the 2nd dose".
    let after = word_after(text, end).to_ascii_lowercase();
    const NOUNS: &[&str] = &[
        "of",
        "floor",
        "day",
        "days",
        "week",
        "weeks",
        "time",
        "times",
        "attempt",
        "try",
        "dose",
        "doses",
        "cycle",
        "cycles",
        "percentile",
        "rib",
        "ribs",
        "toe",
        "finger",
        "digit",
        "grade",
        "trimester",
        "postoperative",
        "postop",
        "hospital",
        "round",
        "visit",
        "line",
        "level",
        "ventricle",
        "intercostal",
        "lumbar",
        "cervical",
        "thoracic",
        "metacarpal",
        "metatarsal",
        "cranial",
        "nerve",
        "generation",
        "degree",
        "edition",
        "birthday",
        "year",
        "month",
        "hour",
        "minute",
        "session",
        "treatment",
        "course",
        "injection",
        "infusion",
        "one",
    ];
    if NOUNS.contains(&after.as_str())
        || MONTHS.iter().any(|m| m.eq_ignore_ascii_case(&after))
        || MONTH_ABBRS.iter().any(|m| m.eq_ignore_ascii_case(&after))
    {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_date_month_range(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 0)?;
    // Two different months, and not lower-case words ("may to march 2000 ...").
    let (first, second) = (caps.get(1)?.as_str(), caps.get(2)?.as_str());
    let different = !first.eq_ignore_ascii_case(second);
    (different && !starts_lowercase(first) && year_ok(text, end)).then_some((start, end))
}

pub(super) fn refine_date_month_year(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 0)?;
    // "march 2000 patients": a count after a verb; but "in January 2004 of congestive heart
    // failure": "of" after a capitalised month starts a phrase.
    let of_after = word_after(text, end) == "of" && !starts_lowercase(&text[start..end]);
    (year_ok(text, end) || of_after).then_some((start, end))
}

pub(super) fn refine_date_day_month(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let day = number(caps, 1)?;
    if !(1..=31).contains(&day) {
        return None;
    }
    let has_ordinal = caps.get(2).is_some();
    let with_of = caps.get(3)?.as_str().trim().len() > 1; // " of "
    match caps.get(6) {
        // "21 Apr" is a date; "3 Mar" (medication administration record) and "5 May" (the verb)
        // need an ordinal or "of" without a year.
        None => {
            let month = caps.get(4)?.as_str();
            let ambiguous =
                month.eq_ignore_ascii_case("mar") || month.eq_ignore_ascii_case("may") || starts_lowercase(month);
            (has_ordinal || with_of || !ambiguous || date_cued(text, caps.get(0)?.start()))
                .then(|| span_of(caps, 0))
                .flatten()
        }
        Some(year) => {
            let sep = caps.get(5)?.as_str().trim_start_matches(',').trim();
            // "14 Mar 25": a 2-digit year only with '-' or '/' ("14-Mar-25").
            if year.as_str().len() == 2 && sep.is_empty() {
                return None;
            }
            span_of(caps, 0)
        }
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'\'' || b == b':' || b == b'-' || b == b'.'
}

/// Up to `n` tokens (letters, digits and "/'-.:" inside them, as in "b/p", "d/c'd", "x-ray",
/// "ca.") before `pos`, nearest first, trailing ":.-" dropped ("DOS:" gives "DOS"), within the
/// 60 bytes before it and on the same line.
fn words_before(text: &str, pos: usize, n: usize) -> Vec<&str> {
    let bytes = text.as_bytes();
    let floor = pos.saturating_sub(60);
    let mut out = Vec::with_capacity(n);
    let mut i = pos;
    while out.len() < n && i > floor {
        while i > floor && !is_token_byte(bytes[i - 1]) {
            if bytes[i - 1] == b'\n' {
                return out;
            }
            i -= 1;
        }
        let end = i;
        while i > floor && is_token_byte(bytes[i - 1]) {
            i -= 1;
        }
        let token = text[i..end].trim_end_matches([':', '.', '-']);
        if !token.is_empty() {
            out.push(token);
        }
    }
    out
}

/// The token after `pos` on the same line, past spaces; "%" for a percent sign, "(" when a
/// parenthesized percentage follows ("3/10 (30%)"), "" at a line end or other punctuation.
fn word_after(text: &str, pos: usize) -> &str {
    let rest = text[pos..].trim_start_matches([' ', '\t']);
    let bytes = rest.as_bytes();
    match bytes.first() {
        Some(b'%') => "%",
        Some(b'(')
            if rest[1..].trim_start().starts_with(|c: char| c.is_ascii_digit())
                && rest[..rest.len().min(12)].contains('%') =>
        {
            "("
        }
        Some(b) if b.is_ascii_alphanumeric() => {
            let len = bytes.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'/').count();
            &rest[..len]
        }
        _ => "",
    }
}

/// A month/day pair that reads as a fraction ("1/2", "3/4", "2/3").
fn fraction_like(a: u32, b: u32) -> bool {
    (2..=8).contains(&b) && a < b
}

/// The numbers of a "m/d" or "m/d-m/d" text.
fn md_numbers(s: &str) -> Vec<u32> {
    s.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
}

/// Shared checks for month/day dates without a year: valid parts, a forward range, nothing
/// numeric glued on, no ratio context before or after.
fn md_date_ok(text: &str, start: usize, end: usize, allow_fraction: bool) -> bool {
    let nums = md_numbers(&text[start..end]);
    let pairs: Vec<(u32, u32)> = nums.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1])).collect();
    if pairs.is_empty() || pairs.len() * 2 != nums.len() {
        return false;
    }
    // In a range one fraction-like end is fine ("3/1 to 3/5"), two are fractions ("1/2-3/4").
    // A leading zero ("03/04") is a date's, never a fraction's.
    let zero_padded = text[start..end].starts_with('0') || text[start..end].contains("/0");
    let fractions = if zero_padded { 0 } else { pairs.iter().filter(|(a, b)| fraction_like(*a, *b)).count() };
    if !allow_fraction && fractions == pairs.len() && fractions > 0 {
        return false;
    }
    if pairs.iter().any(|&(a, b)| !valid_day_month(a, b)) {
        return false;
    }
    if let [(m1, d1), (m2, d2)] = pairs[..] {
        let forward = m2 > m1 || (m2 == m1 && d2 > d1) || (m1 == 12 && m2 == 1);
        if !forward || m1 > 12 || m2 > 12 {
            return false;
        }
    }
    match prev_char(text, start) {
        Some('/' | '.' | ':') => return false,
        Some('-') if matches!(text[..start - 1].chars().next_back(), Some(c) if c.is_ascii_digit()) => return false,
        _ => {}
    }
    if matches!(next_char(text, end), Some('/' | '%' | '\'' | '"'))
        || continues_with_digit(text, end, &['-', '.', ':', ','])
    {
        return false;
    }
    let after = word_after(text, end);
    if after == "%" || after == "(" || word_in(&NOT_DATE_AFTER_SET, after) {
        return false;
    }
    !words_before(text, start, 3).iter().any(|w| word_in(&NOT_DATE_BEFORE_SET, w))
}

/// The word before `pos` that cues a date, lowercased: "on", "since", "DOS:", skipping "the"
/// and punctuation ("CXR (4/10)"); "as of", "week of" give "of" after "as"/"week".
fn date_cue_before(text: &str, pos: usize) -> Option<(String, Option<String>)> {
    let words = words_before(text, pos, 3);
    let clean = |w: &str| w.trim_end_matches([':', '-', '\'']).to_ascii_lowercase();
    let mut it = words.iter().map(|w| clean(w)).filter(|w| !w.is_empty());
    let mut first = it.next()?;
    if first == "the" {
        first = it.next()?;
    }
    Some((first, it.next()))
}

/// A clock time right after `pos`: "0800", "@ 14:30", "at 10am".
fn time_follows(text: &str, pos: usize) -> bool {
    let rest = &text[pos..];
    let trimmed = rest.trim_start_matches(' ');
    if trimmed.len() == rest.len() && !trimmed.starts_with('@') {
        return false;
    }
    let rest =
        trimmed.strip_prefix('@').or_else(|| trimmed.strip_prefix("at ")).unwrap_or(trimmed).trim_start_matches(' ');
    let digits = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b':').count();
    let clock = &rest[..digits];
    let tail = rest[digits..].trim_start_matches(' ').to_ascii_lowercase();
    let ends = |s: &str| !s.starts_with(|c: char| c.is_ascii_alphanumeric());
    let (hour, minute, am_pm) = match clock.split_once(':') {
        Some((h, m)) if m.len() == 2 && !h.is_empty() && h.len() <= 2 => {
            (h.parse::<u32>().ok(), m.parse::<u32>().ok(), false)
        }
        None if (3..=4).contains(&clock.len()) => {
            (clock[..clock.len() - 2].parse().ok(), clock[clock.len() - 2..].parse().ok(), false)
        }
        None if (1..=2).contains(&clock.len()) && ["am", "pm", "a.m", "p.m"].iter().any(|m| tail.starts_with(m)) => {
            (clock.parse().ok(), Some(0), true)
        }
        _ => return false,
    };
    let (Some(hour), Some(minute)) = (hour, minute) else { return false };
    // "1400 hrs" and "14:30 pt agitated" are times; "1400 mg" is not.
    let clock_end = pos + (text.len() - pos - rest.len()) + digits;
    let after = word_after(text, clock_end);
    let after_ok = am_pm
        || ["h", "hr", "hrs"].contains(&after)
        || (ends(&rest[digits..]) && after != "%" && !word_in(&NOT_DATE_AFTER_SET, after));
    let valid = if am_pm { (1..=12).contains(&hour) } else { hour < 24 } && minute < 60;
    valid && after_ok
}

/// A "k/n" count rather than a month/year: a percentage close after it ("9/64 (14%)", "(3/71,
/// 4%)") or a plural noun after it ("10/58 alleles").
fn count_like(text: &str, end: usize) -> bool {
    let near = &text[end..text.len().min(end + 9)];
    let after = word_after(text, end);
    let plural = after.len() > 3
        && after.ends_with('s')
        && after.starts_with(|c: char| c.is_ascii_lowercase())
        && !["this", "thus", "was", "has"].contains(&after);
    near.split('\n').next().is_some_and(|l| l.contains('%')) || after == "(" || plural
}

pub(super) fn refine_date_md(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let nums = md_numbers(&text[start..end]);
    if nums.len() == 4 {
        // "4/10-4/12": a forward range of two valid dates is a date whatever precedes it.
        return md_date_ok(text, start, end, false).then_some((start, end));
    }
    let cue = date_cue_before(text, start);
    let (word, second) = cue.as_ref().map_or(("", None), |(w, s)| (w.as_str(), s.as_deref()));
    let of_cue = word == "of" && matches!(second, Some("as" | "week"));
    // "in 1/95", "stroke 10/87", "until 8/71": a month and a two-digit year that cannot be a
    // day, after a date cue or an event.
    let digits_after_slash = text[start..end].split('/').nth(1).map_or(0, str::len);
    let clean = || {
        !matches!(prev_char(text, start), Some('/' | '.' | ':' | '-'))
            && !matches!(next_char(text, end), Some('/' | '%'))
            && !matches!(next_char(text, end), Some(c) if c.is_alphabetic())
            && !continues_with_digit(text, end, &['-', '.', ':', ','])
            && !word_in(&NOT_DATE_AFTER_SET, word_after(text, end))
            && !words_before(text, start, 3).iter().any(|w| word_in(&NOT_DATE_BEFORE_SET, w))
    };
    if nums.len() == 2 && (1..=12).contains(&nums[0]) && nums[1] > 31 && digits_after_slash == 2 {
        // "Gallbladder 7/82.", "(9/94)", "PMH: 1) 8/92 evaluation": a month and a year from
        // 1950 on that cannot be a day is a date even without a cue ("1/32 inch", "H&H 10/32"
        // and "CT ratio 12/33" stay: an earlier year, a unit or a ratio word).
        let cued = word_in(&DATE_CUE_SET, word) || word_in(&YEAR_CUE_SET, word) || is_event_word(word);
        return ((cued || (nums[1] >= 50 && !count_like(text, end))) && clean()).then_some((start, end));
    }
    // "MI 07/07", "in 03/06 was negative", "late 12/09": two 2-digit parts with a leading zero
    // read as month/year or month/day, a date either way; scores and ratios are not zero-padded.
    let padded = {
        let parts: Vec<&str> = text[start..end].split('/').collect();
        parts.len() == 2 && parts.iter().all(|p| p.len() == 2) && parts.iter().any(|p| p.starts_with('0'))
    };
    if padded && (1..=12).contains(&nums[0]) && nums[1] <= 31 && clean() {
        return Some((start, end));
    }
    let two_before = second.is_some_and(|w| DATE_CUES_TWO_BEFORE.contains(&w)) && !word_in(&NOT_DATE_BEFORE_SET, word);
    if word_in(&DATE_CUE_SET, word) || of_cue || two_before {
        if word == "in" {
            // "in 12/07": a month and a 2-digit year, and nothing after it that would make it
            // a count ("in 3/10 patients").
            let two_digit_year = text[start..end].split('/').nth(1).is_some_and(|y| y.len() == 2);
            let after = word_after(text, end).to_ascii_lowercase();
            let ends = after.is_empty() || ["and", "or", "when", "with", "at"].contains(&after.as_str());
            if !(1..=12).contains(&nums[0]) || !two_digit_year || !ends || matches!(next_char(text, end), Some('(')) {
                return None;
            }
        }
        // After a facility ("d/c'd to Mercy Hospital 4/7") or "last BM 4/6" a fraction is unlikely.
        let strong = word_in(&STRONG_DATE_CUE_SET, word) || of_cue || two_before || word_in(&FACILITY_SET, word);
        return md_date_ok(text, start, end, strong).then_some((start, end));
    }
    // "8/14 0800", "4/10 @ 14:30", "1/2 0300": a date before a time of day (a fraction is not
    // followed by a clock time).
    let ok = time_follows(text, end)
        && valid_day_month(nums[0], nums[1])
        && !matches!(prev_char(text, start), Some('/' | '.' | ':' | '-'))
        && !words_before(text, start, 3).iter().any(|w| word_in(&NOT_DATE_BEFORE_SET, w));
    ok.then_some((start, end))
}

/// Checks for a bare year: not a count or an amount ("in 2000 patients", "since 1998 mg").
fn year_ok(text: &str, end: usize) -> bool {
    if continues_with_digit(text, end, &['.', ',']) || matches!(next_char(text, end), Some('%' | '/')) {
        return false;
    }
    let after = word_after(text, end);
    after != "%" && !word_in(&NOT_DATE_AFTER_SET, after)
}

/// An event or procedure a year follows in a history: "appendectomy", "CABG", "MI", "quit".
fn is_event_word(word: &str) -> bool {
    const SUFFIXES: &[&str] =
        &["ectomy", "ectomies", "otomy", "ostomy", "plasty", "scopy", "pexy", "rrhaphy", "graphy", "gram"];
    const NOT_EVENTS: &[&str] =
        &["kilogram", "milligram", "microgram", "nanogram", "picogram", "program", "histogram", "diagram", "hologram"];
    let lower = word.to_ascii_lowercase();
    let procedure = lower.len() > 7
        && SUFFIXES.iter().any(|s| lower.ends_with(s))
        && !NOT_EVENTS.iter().any(|n| lower.ends_with(n));
    procedure || word_in(&EVENT_SET, &lower)
}

/// "IVC filter placement 1999.", "MRI 1995:", "Diabetes type II, 2006.", "stent placement
/// 2006-2008.": a year closing a list item or a heading after a noun (MTSamples joins lines
/// with ","), not an amount ("greater than 2000.", "count of 2000.").
fn item_ends_with_year(text: &str, start: usize, end: usize) -> bool {
    const NOT_BEFORE: &[&str] = &[
        "of",
        "than",
        "is",
        "was",
        "were",
        "be",
        "at",
        "to",
        "about",
        "approximately",
        "level",
        "count",
        "total",
        "x",
        "and",
        "or",
        "by",
        "from",
        "under",
        "over",
        "above",
        "below",
        "around",
        "nearly",
        "almost",
        "only",
    ];
    let rest = &text[end..];
    let closes = match rest.as_bytes() {
        [] => true,
        [b'.' | b':' | b';', tail @ ..] => matches!(tail.first(), None | Some(b' ' | b'\n' | b',' | b'\r')),
        [b',', tail @ ..] => matches!(tail.first(), None | Some(b'\n' | b'\r')),
        _ => false,
    };
    // Not a sentence or a citation opening with the year ("Subramani. 1993. J Cell Biol"), nor
    // a strain or product number ("Nissle 1917.").
    let year_ok = text[start..].get(..4).and_then(|y| y.parse::<u32>().ok()).is_some_and(|y| y >= 1930);
    let before = text[..start].trim_end_matches(' ');
    // MTSamples joins a list's lines with ",": "s/p Cholecystectomy,1968." is an item too.
    let comma_glued = prev_char(text, start) == Some(',')
        && matches!(text[..start - 1].chars().next_back(), Some(c) if c.is_ascii_alphabetic());
    if !closes || !year_ok || !(matches!(prev_char(text, start), Some(' ')) || comma_glued) || before.ends_with('.') {
        return false;
    }
    let word = if comma_glued {
        text[..start - 1].rsplit(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("")
    } else {
        let Some(word) = words_before(text, start, 1).first().copied() else { return false };
        word
    };
    let lower = word.to_ascii_lowercase();
    word.len() > 1 && word.chars().all(|c| c.is_ascii_alphabetic()) && !NOT_BEFORE.contains(&lower.as_str())
}

/// A year or a decade as a word: "1990", "1970s", "1980's".
fn is_year_word(word: &str) -> bool {
    let digits = word.trim_end_matches('s').trim_end_matches('\'');
    digits.len() == 4 && matches!(digits.parse::<u32>(), Ok(1900..=2039))
}

pub(super) fn refine_date_year(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let years = md_numbers(&text[start..end]);
    let first = *years.first()?;
    if !(1900..=2039).contains(&first)
        || !year_ok(text, end)
        || matches!(prev_char(text, start), Some('.' | '/' | '$' | '#'))
        // "1,998" is a number; "Cholecystectomy,1968." a list item (item_ends_with_year).
        || (prev_char(text, start) == Some(',') && !item_ends_with_year(text, start, end))
    {
        return None;
    }
    // "mid-2015" but not "CP-2015" or "1998-2015" (the range is matched from its start).
    if prev_char(text, start) == Some('-') && !text[..start - 1].to_ascii_lowercase().ends_with("mid") {
        return None;
    }
    if let Some(&second) = years.get(1) {
        let second = if second < 100 { first / 100 * 100 + second } else { second };
        if second < first {
            return None;
        }
    }
    // "s/p TURP (1992)", "dialysis (1983-1988)": a year alone in parentheses, but not a
    // citation ("Smith et al. (2005)").
    // "(1978 and 1979)", "(1996, 2005, and 2006)": the first year of a list in parentheses.
    let list_follows = || {
        let rest = text[end..].trim_start_matches([',', ' ']);
        let rest = rest.strip_prefix("and ").or_else(|| rest.strip_prefix("or ")).unwrap_or(rest);
        rest.len() >= 4 && is_year_word(&rest[..4]) && !rest[4..].starts_with(|c: char| c.is_ascii_digit())
    };
    let parenthesized = prev_char(text, start) == Some('(')
        && (next_char(text, end) == Some(')') || list_follows())
        && !words_before(text, start, 1).first().is_some_and(|w| {
            // "et al. (2005)", "Jones and Smith (1973)": a citation after an author's name.
            let titlecase =
                w.starts_with(|c: char| c.is_ascii_uppercase()) && w.chars().skip(1).any(|c| c.is_ascii_lowercase());
            let initial = w.len() == 1 && w.starts_with(|c: char| c.is_ascii_uppercase());
            w.eq_ignore_ascii_case("al") || initial || (titlecase && !is_event_word(w))
        });
    if parenthesized || item_ends_with_year(text, start, end) {
        return Some((start, end));
    }
    let (word, second_word) = date_cue_before(text, start)?;
    let second = second_word.as_deref().unwrap_or("");
    let season_of = word == "of" && word_in(&SEASON_SET, second);
    let event = is_event_word(&word) || (word == "in" && is_event_word(second));
    // "in 1987, 1990 and 2005", "between 1951 and 1953", "1998 or 1999": a year listed after
    // another year.
    let listed = (["and", "or", "&"].contains(&word.as_str()) && is_year_word(second))
        || (is_year_word(&word) && text[..start].trim_end_matches(' ').ends_with(','));
    // "dates back to 2003", "as recently as 2005", "as early as 1998".
    let back_to = (word == "to" && second == "back")
        || (word == "as" && ["recently", "early", "late", "long", "far"].contains(&second));
    if !(word_in(&YEAR_CUE_SET, &word) || word_in(&SEASON_SET, &word) || season_of || event || listed || back_to) {
        return None;
    }
    // "until 2100", "from 1900 to 0700": a clock time unless a second year makes it a range.
    // Nursing times fall on the quarter hour; "until 2012" is a year.
    let quarter_hour = matches!(first % 100, 0 | 15 | 30 | 45);
    let clock = ((1900..=1959).contains(&first) || (2000..=2059).contains(&first)) && (quarter_hour || first > 2035);
    if clock && years.len() == 1 && word_in(&TIME_CUE_SET, &word) {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_date_year_short(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let cue = caps.get(1)?.as_str();
    let (start, end) = span_of(caps, 2)?;
    // "MI in 98": "in" after an event; "since 98". Either at the end of a clause.
    if cue.eq_ignore_ascii_case("in")
        && !words_before(text, caps.get(0)?.start(), 1).first().is_some_and(|w| is_event_word(w))
    {
        return None;
    }
    let after = word_after(text, end).to_ascii_lowercase();
    let ends = after.is_empty() || ["and", "or", "with", "at"].contains(&after.as_str());
    let glued = matches!(next_char(text, end), Some('%' | '/' | '(' | '-'))
        || continues_with_digit(text, end, &['.', ',', ':']);
    (ends && !glued).then_some((start, end))
}

pub(super) fn refine_year_apostrophe(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let s = &text[start..end];
    // "'90s" is a decade; "'95s" is not anything.
    if s.ends_with('s') && !s[..3].ends_with('0') {
        return None;
    }
    // 5 '10" is a height.
    if matches!(next_char(text, end), Some('\'' | '"' | '’' | '”')) {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_month_slash_year(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 0)?;
    if matches!(prev_char(text, start), Some(c) if c.is_ascii_digit() || c == '/' || c == '.') {
        return None;
    }
    if continues_with_digit(text, end, &['/', '.', '-']) || matches!(next_char(text, end), Some('/')) {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_age(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // "1.95 years", "0.92-year": part of a decimal, not an age ("multiplex.,102 yo" is one).
    if matches!(prev_char(text, start), Some('.' | ','))
        && matches!(text[..start - 1].chars().next_back(), Some(c) if c.is_ascii_digit())
    {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_age_relation(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // An apposition closes: "brother, 92, is", "mother (95)", "husband, 101."; not "sister, 92%".
    let closes = match next_char(text, end) {
        Some(',' | ')' | ';') => true,
        Some('.') => !continues_with_digit(text, end, &['.']),
        None => true,
        _ => ["years", "yrs", "yo", "y/o"].contains(&word_after(text, end).to_ascii_lowercase().as_str()),
    };
    closes.then_some((start, end))
}

/// "102M" after a birth date or an age/sex label: the age of a patient banner, not a temperature
/// ("T 102F").
pub(super) fn refine_age_sex(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let before = words_before(text, start, 2);
    let birth_date = before.first().is_some_and(|w| {
        let parts: Vec<&str> = w.split(['/', '-']).collect();
        parts.len() == 3
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            && parts[2].len() == 4
    });
    let label = before
        .first()
        .is_some_and(|w| ["age/sex", "age/gender", "sex", "age", "dob"].contains(&w.to_ascii_lowercase().as_str()));
    (birth_date || label).then_some((start, end))
}

pub(super) fn refine_age_label(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = refine_age(text, caps)?;
    if continues_with_digit(text, end, &['.'])
        || (continues_with_digit(text, end, &[','])
            && continues_with_digit(text, end + 1, &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']))
    {
        return None;
    }
    // "age 90 days" (an infant), "aged 95%": not an age in years.
    let rest = text[end..].trim_start();
    let word: String =
        rest.chars().take_while(|c| c.is_alphabetic() || *c == '%').collect::<String>().to_ascii_lowercase();
    const UNITS: &[&str] = &[
        "%", "days", "day", "weeks", "week", "wk", "wks", "months", "month", "mo", "mos", "hours", "hour", "hrs",
        "minutes", "min", "mg", "kg", "lb", "lbs", "cm", "mm", "percent",
    ];
    if UNITS.contains(&word.as_str()) || rest.starts_with('%') {
        return None;
    }
    Some((start, end))
}

pub(super) fn is_initial(token: &str) -> bool {
    let mut chars = token.chars();
    matches!((chars.next(), chars.next(), chars.next()), (Some(c), Some('.'), None) if c.is_uppercase())
}

/// The word without a possessive ending ("Smith's" -> "Smith"; also used by surrogate.rs).
pub(super) fn strip_possessive(token: &str) -> &str {
    for suffix in ["'s", "’s", "'S", "’S", "'", "’"] {
        if let Some(stripped) = token.strip_suffix(suffix) {
            if !stripped.is_empty() {
                return stripped;
            }
        }
    }
    token
}

/// Trims a captured name at the first word that cannot be part of it; returns the kept span when
/// it has at least `min_words` words.
fn trim_name(text: &str, start: usize, end: usize, min_words: usize) -> Option<(usize, usize)> {
    let region = &text[start..end];
    let mut kept_end = None;
    let mut words = 0;
    let mut offset = 0;
    for raw in region.split(' ') {
        let token_start = start + offset;
        offset += raw.len() + 1;
        if raw.is_empty() {
            continue;
        }
        let token = strip_possessive(raw.trim_end_matches(','));
        if token.is_empty() || word_in(&STOP_SET, token) || (words > 0 && word_in(&CUT_SET, token)) {
            break;
        }
        // "M.D.", "Ph.D.": letters, a period and more letters are a credential, not a name.
        let token_end = token_start + token.len();
        let glued = if is_initial(token) { token_end } else { token_end + 1 };
        if (is_initial(token) || text[token_end..].starts_with('.'))
            && matches!(next_char(text, glued), Some(c) if c.is_alphabetic())
        {
            break;
        }
        words += 1;
        kept_end = Some(token_start + token.len());
        if token.len() != raw.len() && !raw.ends_with(',') {
            break; // possessive: the name ends here
        }
    }
    let mut kept_end = kept_end?;
    // A final initial keeps its letter, not the period ("Dr. X." ends a sentence).
    if text[..kept_end].ends_with('.') {
        kept_end -= 1;
    }
    (words >= min_words).then_some((start, kept_end))
}

/// An all-capitals title ("MR.", "DR.") reads as a title only before an all-capitals name, as in
/// an uppercased document; in mixed case "MR. Mitral" is mitral regurgitation and a new sentence.
fn title_fits_name(title: &str, name: &str) -> bool {
    let caps_title = title.chars().any(char::is_alphabetic) && !title.chars().any(char::is_lowercase);
    let first_word = name.split([' ', ',']).next().unwrap_or("");
    !caps_title || !first_word.chars().any(char::is_lowercase)
}

/// A stand-in for a name in an already de-identified or template note: "Dr. X", "Dr. Y",
/// "Dr. ABC", "Dr. XYZ", "Mr. XXX" (one capital letter without a period, one letter repeated,
/// or a run of the alphabet).
pub(super) fn is_placeholder(word: &str) -> bool {
    let w = strip_possessive(word);
    let b = w.as_bytes();
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let lower: Vec<u8> = b.iter().map(u8::to_ascii_lowercase).collect();
    let repeated = lower.iter().all(|&c| c == lower[0]) && b.len() > 1;
    let run = b.len() >= 3 && lower.windows(2).all(|p| p[1] == p[0] + 1);
    if b.iter().all(u8::is_ascii_uppercase) {
        // "XY" as well as "XYZ" and "ABC"; "DE" may be initials.
        return b.len() == 1 || repeated || run || b == b"XY";
    }
    // "Mr. Abc", "Dr. Xyz", "Def, PhD" in Title case: the runs that masks use ("Stu" is a name).
    let title = b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_lowercase);
    title && (repeated || (run && matches!(lower[0], b'a' | b'd' | b'w' | b'x')))
}

/// Every word of the name is a placeholder ("Dr. X", "Dr. ABC").
fn placeholder_name(name: &str) -> bool {
    let mut words = name.split([' ', ',']).filter(|w| !w.is_empty()).peekable();
    words.peek().is_some() && words.all(is_placeholder)
}

pub(super) fn refine_name_title(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let title = &text[caps.get(0)?.start()..start];
    if !title_fits_name(title, &text[start..end]) {
        return None;
    }
    let (s, e) = trim_name(text, start, end, 1)?;
    // "Dr. X", "Dr. ABCD General Hospital": a placeholder first word masks the whole name.
    let first = text[s..e].split(' ').next().unwrap_or("");
    (!is_placeholder(first)).then_some((s, e))
}

pub(super) fn refine_name_label(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 2)?;
    if let Some(title) = caps.get(1) {
        if !title_fits_name(title.as_str(), &text[start..end]) {
            return None;
        }
    }
    // Without a title, a label alone is a weak cue ("Patient: Alert and oriented"): two words.
    let min_words = if caps.get(1).is_some() { 1 } else { 2 };
    let (s, e) = trim_name(text, start, end, min_words)?;
    (!placeholder_name(&text[s..e])).then_some((s, e))
}

/// A word a cue-found name cannot contain: function words, credentials, roles, services,
/// family words, clinical words (`NAME_STOP`, `NAME_CUT`, `NOT_NAME`, `GENERIC_ORG`).
fn not_a_name_word(word: &str) -> bool {
    let w = strip_possessive(word.trim_end_matches([',', '.']));
    w.is_empty()
        || !w.starts_with(|c: char| c.is_alphabetic())
        || word_in(&STOP_SET, w)
        || word_in(&CUT_SET, w)
        || word_in(&NOT_NAME_SET, w)
        || word_in(&GENERIC_ORG_SET, w)
}

fn has_lowercase(word: &str) -> bool {
    word.chars().any(char::is_lowercase)
}

/// The name at the start of `text[start..end]`: words up to the first that cannot be a name
/// (`not_a_name_word`, or one `ok` refuses), at most `max_words`. Returns (start, end, words).
fn leading_name(
    text: &str,
    start: usize,
    end: usize,
    max_words: usize,
    ok: impl Fn(&str) -> bool,
) -> Option<(usize, usize, usize)> {
    let mut kept_end = None;
    let mut words = 0;
    let mut offset = 0;
    for raw in text[start..end].split(' ') {
        let token_start = start + offset;
        offset += raw.len() + 1;
        if raw.is_empty() {
            continue;
        }
        let token = strip_possessive(raw.trim_end_matches(','));
        if not_a_name_word(token) || !ok(token) {
            break;
        }
        let token_end = token_start + token.len();
        let glued = if is_initial(token) { token_end } else { token_end + 1 };
        if (is_initial(token) || text[token_end..].starts_with('.'))
            && matches!(next_char(text, glued), Some(c) if c.is_alphabetic())
        {
            break; // "M.D.", "Ph.D."
        }
        words += 1;
        kept_end = Some(token_end);
        if token.len() != raw.trim_end_matches(',').len() || raw.ends_with(',') || words == max_words {
            break; // a possessive or a comma ends the name
        }
    }
    let mut kept_end = kept_end?;
    if text[..kept_end].ends_with('.') && !text[start..kept_end].contains(' ') && !is_initial(&text[start..kept_end]) {
        kept_end -= 1;
    }
    Some((start, kept_end, words))
}

/// The word after a cue-found name makes it an organization: "Maize High School", "Mercy
/// Hospital".
fn organization_follows(text: &str, end: usize) -> bool {
    let after = word_after(text, end);
    after.starts_with(|c: char| c.is_uppercase()) && (word_in(&GENERIC_ORG_SET, after) || word_in(&FACILITY_SET, after))
}

pub(super) fn refine_name_title_lower(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let title_start = caps.get(0)?.start();
    // "hla-dr alpha", "hla dr beta": an antigen; "20 mg dr cap": delayed release.
    let before = words_before(text, title_start, 1);
    let antigen = matches!(prev_char(text, title_start), Some('-'))
        || before.first().is_some_and(|w| w.eq_ignore_ascii_case("hla"));
    let dose =
        before.first().is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()) || word_in(&NOT_DATE_AFTER_SET, w));
    if antigen || dose {
        return None;
    }
    let (s, e, _) = leading_name(text, start, end, 2, |w| {
        w.len() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic() || "'-".contains(c))
    })?;
    (!organization_follows(text, e)).then_some((s, e))
}

pub(super) fn refine_name_title_caps(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // "20 MG DR DAILY", "OMEPRAZOLE DR": delayed release, not a doctor.
    let before = words_before(text, caps.get(0)?.start(), 1);
    let dose_or_form = |w: &&str| {
        w.starts_with(|c: char| c.is_ascii_digit()) || word_in(&NOT_DATE_AFTER_SET, w) || word_in(&NOT_NAME_SET, w)
    };
    if before.first().is_some_and(dose_or_form) {
        return None;
    }
    let (s, e, _) = leading_name(text, start, end, 2, |w| w.len() >= 2 && !has_lowercase(w))?;
    (!placeholder_name(&text[s..e])).then_some((s, e))
}

pub(super) fn refine_name_credential(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let comma = caps.get(2).is_some();
    let credential = caps.get(3)?.as_str();
    // "DO" and "SLP" are a word and a service too: only after a comma. (PT, OT and RD are left
    // out: "CBC, PT, PTT" is a list of labs.)
    if !comma && ["DO", "SLP"].contains(&credential) {
        return None;
    }
    // The name is the longest run of name words that ends at the credential.
    let tokens: Vec<(usize, &str)> = {
        let mut out = Vec::new();
        let mut offset = start;
        for raw in text[start..end].split(' ') {
            if !raw.is_empty() {
                out.push((offset, raw));
            }
            offset += raw.len() + 1;
        }
        out
    };
    let mut first = tokens.len();
    while first > 0 {
        let word = tokens[first - 1].1;
        if not_a_name_word(word) || word.ends_with(',') || strip_possessive(word).len() != word.len() {
            break;
        }
        first -= 1;
    }
    let kept = &tokens[first..];
    let full_words = kept.iter().filter(|(_, w)| !is_initial(w)).count();
    if full_words == 0
        || (kept.len() < 2 && !comma)
        || kept.iter().all(|(_, w)| is_placeholder(w.trim_end_matches(',')))
    {
        return None;
    }
    // A sentence's first word before a credential is not a name: "Notified MD".
    Some((kept[0].0, end))
}

pub(super) fn refine_name_credential_lower(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let whole_end = caps.get(0)?.end();
    // A signature ends its line ("jane roe, rn" then punctuation, or the date and time it was
    // written); after "signed by", "by", "per" the cue is enough. "pt", "ot", "rd" and "pa" are
    // words too: those need the cue.
    let rest = text[whole_end..].trim_start_matches([' ', '\t']);
    let cue = text[caps.get(0)?.start()..start].trim().to_ascii_lowercase();
    let by_cue = ["by", "per", "signed"].iter().any(|c| cue.ends_with(c));
    let credential = text[end..whole_end].trim_start_matches([',', ' ']).to_ascii_lowercase();
    let ambiguous = ["rd", "pt", "ot", "rt", "pa"].contains(&credential.as_str());
    let line_end = rest.is_empty()
        || rest.starts_with(['\n', '\r', '.', ';', '|', ')'])
        || rest.starts_with(|c: char| c.is_ascii_digit());
    if !(by_cue || (line_end && !ambiguous)) {
        return None;
    }
    let (s, e, words) = leading_name(text, start, end, 2, |w| w.len() >= 2)?;
    (words == 2 && e == end).then_some((s, e))
}

/// "Smith, John", "SMITH, JOHN A.": a surname, a comma and given names, every word a name
/// word; trailing words that are not ("Kambrelsan, Duna MD") are cut.
fn comma_name(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let region = &text[start..end];
    let comma = region.find(',')?;
    let surname = &region[..comma];
    if surname.contains(' ') || not_a_name_word(surname) || is_placeholder(surname) {
        return None;
    }
    let mut kept_end = None;
    let mut offset = start + comma + 1;
    for raw in region[comma + 1..].split(' ') {
        let token_start = offset;
        offset += raw.len() + 1;
        if raw.is_empty() {
            continue;
        }
        if (!is_initial(raw) && not_a_name_word(raw)) || raw.contains(',') {
            break;
        }
        kept_end = Some(token_start + raw.len());
    }
    let mut e = kept_end?;
    if text[..e].ends_with('.') && !is_initial(&text[text[..e].rfind(' ').map_or(start, |i| i + 1)..e]) {
        e -= 1;
    }
    Some((start, e))
}

pub(super) fn refine_name_cue(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if text[start..end].contains(',') {
        let (s, e) = comma_name(text, start, end)?;
        return (!organization_follows(text, e)).then_some((s, e));
    }
    let (s, e, words) = leading_name(text, start, end, 3, |_| true)?;
    let full_words = text[s..e].split(' ').filter(|w| !is_initial(w)).count();
    (words >= 2 && full_words >= 1 && !organization_follows(text, e)).then_some((s, e))
}

pub(super) fn refine_name_relation(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 2)?;
    // "S. H. Friend, R. Bernards": after an initial, "Friend" is a surname in a list of authors.
    let before = words_before(text, caps.get(0)?.start(), 1);
    if before.first().is_some_and(|w| w.len() == 1 && w.starts_with(|c: char| c.is_uppercase())) {
        return None;
    }
    // Title case only: "MOTHER DIABETES" in a capitalized family history is not a name.
    let (s, e, _) = leading_name(text, start, end, 2, |w| is_initial(w) || has_lowercase(w))?;
    if caps.get(1).is_some_and(|sep| sep.as_str() == ",") && !matches!(next_char(text, e), Some(',' | ')')) {
        return None; // "son, Robert," is an apposition; "Father, Hypertension" a list
    }
    (!organization_follows(text, e)).then_some((s, e))
}

pub(super) fn refine_name_role(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let (s, e, _) = leading_name(text, start, end, 2, |w| is_initial(w) || has_lowercase(w))?;
    (!organization_follows(text, e)).then_some((s, e))
}

pub(super) fn refine_name_label_lower(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let (s, e, words) = leading_name(text, start, end, 2, |w| w.len() >= 2)?;
    (words == 2).then_some((s, e))
}

pub(super) fn refine_name_staff_initials(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 2)?;
    let token = &text[start..end];
    let colon = caps.get(1).is_some_and(|m| !m.is_empty());
    // Lowercase initials only after "Technologist:" with its colon.
    if (starts_lowercase(token) && !colon) || NOT_INITIALS.contains(&token.to_ascii_lowercase().as_str()) {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_name_slash_initials(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // The dictating physician before the slash, "P. Treford", first on its line or after a
    // sentence: an initial and a Title-case surname.
    let slash = start - 1;
    if !matches!(prev_char(text, slash), Some(c) if c.is_alphabetic()) {
        return None;
    }
    let line_start = text[..slash].rfind('\n').map_or(0, |i| i + 1);
    let before: Vec<&str> = text[line_start..slash].split(' ').filter(|w| !w.is_empty()).collect();
    let [.., initial, surname] = before[..] else { return None };
    let surname_ok =
        surname.starts_with(|c: char| c.is_uppercase()) && has_lowercase(surname) && !not_a_name_word(surname);
    let first_of_line = before.len() == 2 || before[before.len() - 3].ends_with(['.', ':']);
    if !(is_initial(initial) && surname_ok && first_of_line)
        || NOT_INITIALS.contains(&text[start..end].to_ascii_lowercase().as_str())
    {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_name_before_slash(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let surname = text[start..end].rsplit(' ').next().unwrap_or("");
    let surname = surname.rsplit('.').next().unwrap_or("");
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let lead = text[line_start..start].trim_end();
    let first_of_line = lead.is_empty() || lead.ends_with(['.', ':']);
    let ok = surname.len() >= 2 && has_lowercase(surname) && !not_a_name_word(surname) && first_of_line;
    ok.then_some((start, end))
}

pub(super) fn refine_name_banner(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let name = &text[start..end];
    // Every word a name word: "CHEST PA  12345  01/02/2020" is not a banner.
    let ok = name
        .split([' ', ','])
        .filter(|w| !w.is_empty())
        .all(|w| w.len() >= 2 && !not_a_name_word(w) && !is_placeholder(w));
    ok.then_some((start, end))
}

pub(super) fn refine_name_signature_initials(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    // "-- J.L.S." on its own line, or "Advised ED. -l.r." closing a message.
    let (start, end) = span_of(caps, 1).or_else(|| span_of(caps, 2))?;
    let token = text[start..end].to_ascii_lowercase();
    (!NOT_INITIALS.contains(&token.as_str()) && !placeholder_name(&text[start..end])).then_some((start, end))
}

pub(super) fn refine_name_header(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // "re: doe, jane" in lower case: only as the whole header value, before a line end, a "/"
    // or a birth date.
    if starts_lowercase(&text[start..end]) {
        let rest = text[end..].trim_start_matches([' ', '\t']).to_ascii_lowercase();
        if !(rest.is_empty() || rest.starts_with(['\n', '\r', '/', '|']) || rest.starts_with("dob")) {
            return None;
        }
    }
    let (s, e) = if text[start..end].contains(',') {
        comma_name(text, start, end)?
    } else {
        let (s, e, words) = leading_name(text, start, end, 3, |w| w.len() >= 2 || is_initial(w))?;
        let full_words = text[s..e].split(' ').filter(|w| !is_initial(w)).count();
        if words < 2 || full_words < 1 {
            return None;
        }
        (s, e)
    };
    (!organization_follows(text, e) && !placeholder_name(&text[s..e])).then_some((s, e))
}

pub(super) fn refine_name_before_relation(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // "(HCP)", "(POA)" after a term are abbreviations ("hereditary coproporphyria (HCP)").
    let inside = text[end..caps.get(0)?.end()].to_ascii_lowercase();
    if ["hcp", "poa", "proxy"].iter().any(|a| inside.contains(a)) {
        return None;
    }
    if text[start..end].contains(',') {
        return comma_name(text, start, end).filter(|&(_, e)| e == end);
    }
    // The name words nearest the parenthesis: "spoke with lopa (daughter)" gives "lopa".
    let tokens: Vec<(usize, &str)> = {
        let mut out = Vec::new();
        let mut offset = start;
        for raw in text[start..end].split(' ') {
            out.push((offset, raw));
            offset += raw.len() + 1;
        }
        out
    };
    let mut first = tokens.len();
    while first > 0 {
        let w = tokens[first - 1].1;
        if w.len() < 2 || not_a_name_word(w) || word_in(&NOT_DATE_AFTER_SET, w) {
            break;
        }
        first -= 1;
    }
    if first == tokens.len() {
        return None;
    }
    // Lower case and Title case mixed ("with Mary") is fine; "HIS (wife)" is not a name.
    let s = tokens[first].0;
    (!placeholder_name(&text[s..end])).then_some((s, end))
}

pub(super) fn refine_name_signature(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let (s, e, words) = leading_name(text, start, end, 3, |_| true)?;
    (words >= 2 && e == end).then_some((s, e))
}

/// Looks like a clinical word ("Atrial", "Fibrillation", "Glaucoma"): a department's or a
/// disease's name before "Clinic", not an organization's.
fn medical_looking(word: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "itis", "osis", "oses", "emia", "oma", "ology", "ologic", "ological", "iatric", "iatry", "iatrics", "pathy",
        "ectomy", "plasty", "scopy", "ia", "ism", "ema", "al", "ic", "ics", "ary", "ive", "ous", "ion", "ions", "ure",
        "ine",
    ];
    let lower = word.to_ascii_lowercase();
    ENDINGS.iter().any(|e| lower.ends_with(e))
}

pub(super) fn refine_hospital(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if matches!(prev_char(text, start), Some('&' | '/' | '-')) {
        return None; // "PM&R Spine Clinic"
    }
    let mut tokens: Vec<(usize, &str)> = Vec::new();
    let mut offset = start;
    for raw in text[start..end].split(' ') {
        if !raw.is_empty() {
            tokens.push((offset, raw));
        }
        offset += raw.len() + 1;
    }
    // The facility words at the end ("General Hospital", "Medical Center") and the name before.
    let mut name_end = tokens.len();
    while name_end > 0 && word_in(&FACILITY_SET, tokens[name_end - 1].1) {
        name_end -= 1;
    }
    let mut first = 0;
    while first < name_end && (word_in(&STOP_SET, tokens[first].1) || word_in(&NOT_NAME_SET, tokens[first].1)) {
        first += 1;
    }
    let name = &tokens[first..name_end];
    let is_saint = |w: &str| matches!(w, "St." | "ST." | "Saint" | "SAINT");
    let distinctive: Vec<&str> = name
        .iter()
        .map(|(_, w)| strip_possessive(w))
        .filter(|w| !is_saint(w) && !not_a_name_word(w) && !word_in(&FACILITY_SET, w))
        .collect();
    // "Children's Hospital" names one hospital in its town as surely as "Mercy Hospital" does.
    let childrens = name.len() == 1 && word_in_list(&["children's", "childrens", "children’s"], name[0].1);
    // "Memorial Hospital", "Community Hospital", "University Hospital": the name of one hospital
    // in its town, capitalized as a name.
    let word_before = words_before(text, tokens[0].0, 1).first().copied().unwrap_or("");
    // "Memorial Medical Center" too: "Memorial" is never a kind of facility.
    let rest: Vec<&str> = tokens.iter().skip(1).map(|(_, w)| *w).collect();
    let plain_named = first == 0
        && !is_placeholder(word_before)
        && !word_before.starts_with(|c: char| c.is_uppercase())
        && (rest == ["Hospital"]
            && ["Memorial", "Community", "General", "University", "Regional", "County"].contains(&tokens[0].1)
            || tokens[0].1 == "Memorial" && matches!(rest.as_slice(), ["Medical" | "Health", "Center" | "Centre"]));
    if plain_named {
        return Some((tokens[0].0, end));
    }
    // "Orthopedic Associates": a practice, a business, whatever its clinical word.
    let last_word = tokens.last()?.1;
    let business = name_end > 0
        && word_in_list(&["associates", "partners", "specialists"], last_word)
        && tokens[..name_end].iter().all(|(_, w)| w.starts_with(|c: char| c.is_uppercase()) && !is_placeholder(w));
    if !childrens && !business && (distinctive.is_empty() || distinctive.iter().all(|w| is_placeholder(w))) {
        return None; // "ABCD General Hospital" is a template's stand-in
    }
    // What follows: "Hospital course", "Clinic note", "ROS General:" are not facilities.
    let after = word_after(text, end);
    if word_in(&FACILITY_NEXT_SET, after) || matches!(next_char(text, end), Some(':')) {
        return None;
    }
    let last = tokens.last()?.1.to_ascii_lowercase();
    const STRONG_ENDS: &[&str] = &[
        "hospital",
        "hospitals",
        "infirmary",
        "sanitarium",
        "sanatorium",
        "hospice",
        "home",
        "rehab",
        "rehabilitation",
    ];
    let weak_end = !STRONG_ENDS.contains(&last.as_str());
    // "Drusic Medical Group", "Zoulsic Behavioral Health": a name before a two-word facility
    // phrase is an organization's, whatever its ending.
    const ORG_PHRASE_HEADS: &[&str] = &[
        "medical",
        "health",
        "nursing",
        "rehabilitation",
        "behavioral",
        "surgical",
        "cancer",
        "heart",
        "surgery",
        "urgent",
    ];
    let org_phrase =
        name_end < tokens.len() && tokens.len() >= 2 && word_in_list(ORG_PHRASE_HEADS, tokens[tokens.len() - 2].1);
    if weak_end && !org_phrase && !business {
        // "Atrial Fibrillation Clinic", "Transplant Center": a clinical word names a department.
        if distinctive.iter().all(|w| medical_looking(w)) {
            return None;
        }
    }
    if matches!(last.as_str(), "general" | "memorial" | "regional") {
        // "Mercy General", "X Memorial": a short form, so the name must look like one and nothing
        // capitalized may follow ("General Practitioner"); "Attorney General", "Britain's General".
        const OFFICES: &[&str] = &[
            "attorney",
            "solicitor",
            "inspector",
            "inspectors",
            "surgeon",
            "surgeons",
            "secretary",
            "postmaster",
            "adjutant",
            "lieutenant",
            "major",
            "brigadier",
            "consul",
            "governor",
            "comptroller",
            "auditor",
            "accountant",
            "paymaster",
            "quartermaster",
            "vicar",
            "superior",
            "dollar",
        ];
        let looks_like_name =
            name.iter().all(|(_, w)| (has_lowercase(w) || w.len() == 1) && strip_possessive(w).len() == w.len());
        if after.starts_with(|c: char| c.is_uppercase())
            || !looks_like_name
            || name.iter().any(|(_, w)| word_in_list(OFFICES, w))
        {
            return None;
        }
    }
    Some((tokens[first].0, end))
}

pub(super) fn refine_hospital_cued(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 2)?;
    let word = &text[start..end];
    if word_in_list(CARE_DESTINATIONS, word) || is_placeholder(word) || STATE_ABBRS.contains(&word) {
        return None;
    }
    let cue = caps.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
    if word.len() < 3 {
        return None;
    }
    let acronym = word.chars().all(|c| c.is_ascii_uppercase());
    if acronym && word.len() >= 3 {
        return Some((start, end));
    }
    // One proper word: only after the cues that name where the patient is or goes, and only
    // when it stands alone ("discharged to Heartland.", not "transferred to Mercy Hospital",
    // which hospital_facility has, nor "seen at Mayo Clinic").
    let strong = [
        "here",
        "stay",
        "stayed",
        "discharged",
        "transfer",
        "transferred",
        "admitted",
        "readmitted",
        "return",
        "returned",
        "received",
    ]
    .iter()
    .any(|c| cue.split(' ').next() == Some(c));
    let after = word_after(text, end);
    // A unit after it belongs to it: "returned to the Sinai ER".
    let unit_after = ["ER", "ED", "ICU", "Emergency"].contains(&after);
    // And nothing of its own after it: punctuation, a unit, or a function word ("discharged to
    // Heartland.", "stay here at Promise and"); "return to the Medifast diet" names a diet.
    const FOLLOWERS: &[&str] =
        &["for", "on", "and", "in", "at", "with", "where", "was", "is", "by", "after", "until", "the", "to"];
    let followed_ok = unit_after || FOLLOWERS.contains(&after) || !after.starts_with(|c: char| c.is_alphanumeric());
    let alone = followed_ok && !matches!(next_char(text, end), Some('-' | '\''));
    let ordinary = word_in(&STOP_SET, word) || not_a_name_word(word) || medical_looking(word);
    (strong && alone && !ordinary && strip_possessive(word).len() == word.len()).then_some((start, end))
}

pub(super) fn refine_organization_lower(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let words: Vec<&str> = text[start..end].split(' ').collect();
    // The name ends at the first business word; the words before it must hold one that is no
    // ordinary word ("works for the county road department" has none).
    let tail = words.iter().position(|w| word_in_list(BUSINESS_TAILS, w))?;
    if tail == 0 {
        return None;
    }
    let distinctive =
        words[..tail].iter().any(|w| !not_a_name_word(w) && !word_in_list(BUSINESS_TAILS, w) && w.len() >= 3);
    let stop = ["the", "a", "an", "his", "her", "their", "our", "this", "that", "local", "county", "city", "state"];
    if !distinctive || stop.contains(&words[0]) {
        return None;
    }
    // "credit union", "paper mill", "auto body": a two-word kind of business keeps its first word.
    let last = start + words[..=tail].iter().map(|w| w.len() + 1).sum::<usize>() - 1;
    Some((start, last))
}

/// The space-separated words of `text[start..end]` with their offsets.
fn spaced_words(text: &str, start: usize, end: usize) -> Vec<(usize, &str)> {
    text[start..end]
        .split(' ')
        .scan(start, |at, w| {
            let here = *at;
            *at += w.len() + 1;
            Some((here, w))
        })
        .collect()
}

pub(super) fn refine_school(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // The name words before the kind of school, from the last one that cannot be a name's.
    let words = spaced_words(text, start, end);
    let kind_at = words
        .iter()
        .position(|(_, w)| matches!(*w, "High" | "Middle" | "Elementary" | "Junior" | "Grade" | "Primary"))?;
    let name = &words[..kind_at];
    let from = name.iter().rposition(|(_, w)| not_a_name_word(w) || is_placeholder(w)).map_or(0, |k| k + 1);
    let (first_at, _) = *name.get(from)?;
    Some((first_at, end))
}

pub(super) fn refine_hospital_practice(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let words = spaced_words(text, start, end);
    let specialty_words = if text[start..end].ends_with(" Medicine") { 2 } else { 1 };
    let name = &words[..words.len() - specialty_words];
    // The name words: the longest run ending at the specialty of words that can be a name's.
    // ("County" after a place's name: "Hollis County Bariatrics".)
    let name_word = |w: &str| {
        let verb_form = w.ends_with("ed") || w.ends_with("ing");
        w == "County"
            || !not_a_name_word(w)
                && !medical_looking(w)
                && !is_placeholder(w)
                && !word_in(&FACILITY_SET, w)
                && !verb_form
    };
    let from = name.iter().rposition(|(_, w)| !name_word(w)).map_or(0, |k| k + 1);
    let kept = &name[from..];
    let (first_at, _) = *kept.first()?;
    // One word opening a sentence may be its verb ("Appreciate Cardiology input").
    let before = text[..first_at].trim_end_matches(' ');
    let sentence_start = before.is_empty() || before.ends_with(['.', ':', '\n', ',']);
    (kept.len() >= 2 || !sentence_start).then_some((first_at, end))
}

pub(super) fn refine_hospital_of(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // The words after "of": name words up to the first that is not ("Clinic of Neurology",
    // "Hospital of Origin" stay).
    let words: Vec<&str> = text[start..end].split(' ').collect();
    let skip = 2 + usize::from(words.get(2).is_some_and(|w| w.eq_ignore_ascii_case("the")));
    let mut e = None;
    let mut offset = start + words[..skip].iter().map(|w| w.len() + 1).sum::<usize>();
    for w in &words[skip..] {
        let saint = *w == "St.";
        if !saint && (not_a_name_word(w) || word_in(&FACILITY_SET, w) || medical_looking(w) || is_placeholder(w)) {
            break;
        }
        offset += w.len() + 1;
        if !saint {
            e = Some(offset - 1);
        }
    }
    let e = e?;
    (!organization_follows(text, e)).then_some((start, e))
}

pub(super) fn refine_hospital_saint(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let saint = &text[start..end];
    if strip_possessive(saint).len() == saint.len() || saint.ends_with('\'') {
        return None; // "St. Mary's", not "St. Louis"
    }
    // St. John's wort, St. Anthony's fire, St. Vitus' dance.
    let after = word_after(text, end);
    if ["wort", "fire", "dance", "disease", "cross"].iter().any(|w| after.eq_ignore_ascii_case(w)) {
        return None;
    }
    Some((start, end))
}

/// ", ST" or ", State" (then a ZIP code or not) right after `pos`.
fn followed_by_state(text: &str, pos: usize) -> bool {
    let Some(rest) = text[pos..].strip_prefix(',') else { return false };
    let rest = rest.trim_start_matches(' ');
    let abbr =
        rest.len() >= 2 && STATE_ABBRS.contains(&&rest[..2]) && !rest[2..].starts_with(|c: char| c.is_alphanumeric());
    abbr || STATE_NAMES.iter().any(|n| rest.starts_with(n))
}

/// A ZIP code (five digits, then "-1234" or no more digits) right after `pos`.
fn followed_by_zip(text: &str, pos: usize) -> bool {
    let rest = text[pos..].trim_start_matches(['.', ',']).trim_start_matches(' ');
    let b = rest.as_bytes();
    b.len() >= 5 && b[..5].iter().all(u8::is_ascii_digit) && !b.get(5).is_some_and(u8::is_ascii_digit)
}

/// A ZIP code right after a state ("Salem, OR 97301", "Austin, Texas 78701-1234").
pub(super) fn refine_zip(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let before = text[..start].trim_end_matches(' ');
    if before.len() == start || continues_with_digit(text, end, &['-', '.', ',', '/']) {
        return None;
    }
    let before = before.trim_end_matches([',', '.']);
    let state_len = STATE_ABBRS
        .iter()
        .copied()
        .chain(STATE_NAMES.iter().copied())
        .filter(|state| before.ends_with(state) || before.ends_with(&state.to_uppercase()))
        .map(str::len)
        .max()?;
    let state_start = before.len() - state_len;
    // The state is a word of its own, after a city or a comma.
    let prior = text[..state_start].chars().next_back();
    let ok = matches!(prior, Some(' ' | ','))
        && text[..state_start].trim_end_matches([' ', ',', '.']).ends_with(|c: char| c.is_alphabetic());
    ok.then_some((start, end))
}

pub(super) fn refine_city_state(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let state = caps.get(2)?;
    let abbr = state.as_str();
    let zip = followed_by_zip(text, state.end());
    if abbr == "DC" || (abbr == "MD" && !zip) {
        return None; // "Smith, MD"
    }
    // A ZIP code after the state settles it: "Chandrafort, RI 02848", "DOVER, DE 19901".
    let ambiguous = AMBIGUOUS_STATES.contains(&abbr) && !zip;
    // "TNFa, IL-6" (interleukin), "Czechs, OR=14.8" (an odds ratio).
    if ambiguous
        && matches!(text[state.end()..].trim_start_matches(' ').chars().next(), Some(c) if c.is_ascii_digit() || "-=/(<>".contains(c))
    {
        return None;
    }
    // The city: the name words nearest the comma.
    let mut tokens: Vec<(usize, &str)> = Vec::new();
    let mut offset = start;
    for raw in text[start..end].split(' ') {
        if !raw.is_empty() {
            tokens.push((offset, raw));
        }
        offset += raw.len() + 1;
    }
    let mut first = tokens.len();
    while first > 0 {
        let w = tokens[first - 1].1;
        let word_ok =
            !not_a_name_word(w) && !word_in(&FACILITY_SET, w) && (has_lowercase(w) || !ambiguous) && w.len() >= 2;
        if !word_ok {
            break;
        }
        first -= 1;
    }
    if first == tokens.len() {
        return None;
    }
    // "East Scamarcio, NM", "New Mayo, MA", "Port Duhy, CA": a directional or place prefix.
    const CITY_PREFIXES: &[&str] = &[
        "north", "south", "east", "west", "new", "lake", "port", "fort", "mount", "mt.", "saint", "st.", "el", "la",
        "los", "san", "santa", "palm", "glen", "grand", "little", "big", "upper", "lower", "old",
    ];
    if first > 0 && word_in_list(CITY_PREFIXES, tokens[first - 1].1) && (has_lowercase(tokens[first].1) || !ambiguous) {
        first -= 1;
    }
    if ambiguous && !words_before(text, tokens[first].0, 1).first().is_some_and(|w| word_in(&PLACE_CUE_SET, w)) {
        return None;
    }
    Some((tokens[first].0, state.end()))
}

pub(super) fn refine_location_cued(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // Another rule has "Springfield, IL", "Mercy Hospital" and "Boise, ID 83702".
    if followed_by_state(text, end) || word_in(&FACILITY_SET, word_after(text, end)) {
        return None;
    }
    // "St. Mary's" is a hospital (hospital_saint), a possessive an institution.
    if text[start..end]
        .split(' ')
        .any(|w| word_in(&FACILITY_SET, w.trim_end_matches('.')) || strip_possessive(w).len() != w.len())
    {
        return None;
    }
    if is_placeholder(text[start..end].split(' ').next().unwrap_or("")) {
        return None; // "moved to ABCD", "born in XYZ": a template's stand-in
    }
    let whole = &text[start..end];
    let acronym = whole.len() <= 6 && whole.chars().all(|c| c.is_ascii_uppercase());
    if acronym && whole != "USA" && !STATE_ABBRS.contains(&whole) && word_in_list(CARE_DESTINATIONS, whole) {
        return None; // "transferred to TCU": a unit, no place
    }
    // "Lives in KS, here visiting": a state abbreviation after a place cue.
    let first_word = text[start..end].split(' ').next().unwrap_or("");
    if first_word.len() == 2 && STATE_ABBRS.contains(&first_word) {
        // Not "transferred to the CT scanner": no article, and no lowercase noun after it.
        let article = words_before(text, start, 1).first().is_some_and(|w| w.eq_ignore_ascii_case("the"));
        let noun_after = word_after(text, start + 2).starts_with(|c: char| c.is_ascii_lowercase())
            && !["and", "with", "for", "since", "until", "now", "where", "but"].contains(&word_after(text, start + 2));
        return (!article && !noun_after).then_some((start, start + 2));
    }
    // All capitals needs three letters: "raised in RA" is room air.
    let (s, mut e, _) =
        leading_name(text, start, end, 3, |w| (w.len() >= 2 && has_lowercase(w)) || w.len() >= 3 || w.ends_with('.'))?;
    // Place names end in words the name lists stop at: "United States", "Salt Lake City".
    let after = word_after(text, e);
    if text[e..].starts_with(' ') && ["City", "States", "Kingdom", "CITY", "STATES", "KINGDOM"].contains(&after) {
        e += 1 + after.len();
    }
    // "Originally from Kryry, Cayman Islands;": the country after the town, up to the clause end.
    if let Some(rest) = text[e..].strip_prefix(", ") {
        let words: Vec<&str> = rest.split(' ').take(3).collect();
        let mut len = 0;
        for (i, w) in words.iter().enumerate() {
            let bare = w.trim_end_matches([';', '.', ',', '\n']);
            if !bare.starts_with(|c: char| c.is_uppercase()) || not_a_name_word(bare) || bare.len() < 3 {
                break;
            }
            len += if i > 0 { 1 } else { 0 } + bare.len();
            if bare.len() != w.len() {
                let closes = w[bare.len()..].starts_with([';', '.', '\n']);
                if closes {
                    e += 2 + len;
                }
                break;
            }
        }
    }
    Some((s, e))
}

pub(super) fn refine_organization_employer(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1).or_else(|| span_of(caps, 2))?;
    // Common words in capitals that end in an institution's head name one institution: "works for
    // the Social Security Administration", "retired from the Water Department".
    let words = spaced_words(text, start, end);
    // The capitalized words up to the first that ends in punctuation.
    let cut = words.iter().position(|(_, raw)| raw.ends_with([',', '.'])).map_or(words.len(), |k| k + 1);
    let run: Vec<(usize, &str)> = words[..cut]
        .iter()
        .map(|&(at, raw)| (at, raw.trim_end_matches([',', '.'])))
        .take_while(|(_, w)| w.starts_with(|c: char| c.is_uppercase()) && !is_placeholder(w))
        .collect();
    if run.len() >= 2 && run.last().is_some_and(|(_, w)| word_in_list(INSTITUTION_HEADS, w)) {
        let (at, w) = run[run.len() - 1];
        return Some((start, at + w.len()));
    }
    // The name: words up to the first function word, at least one that is no role, place word
    // or generic ("works for the County" is not an employer's name).
    let mut kept_end = None;
    let mut offset = start;
    let mut distinctive = false;
    for raw in text[start..end].split(' ') {
        let token_start = offset;
        offset += raw.len() + 1;
        let w = raw.trim_end_matches([',', '.']);
        if raw != "&" && (w.is_empty() || word_in(&STOP_SET, w) || (kept_end.is_none() && word_in(&NOT_NAME_SET, w))) {
            break;
        }
        distinctive |= raw != "&" && !not_a_name_word(w) && !word_in(&FACILITY_SET, w);
        if is_initial(raw) {
            kept_end = Some(token_start + raw.len()); // "Walter P. Carter Center"
            continue;
        }
        kept_end = Some(token_start + w.len());
        if w.len() != raw.len() {
            break;
        }
    }
    let e = kept_end?;
    if !distinctive || text[start..e].ends_with('&') || placeholder_name(&text[start..e]) {
        return None;
    }
    Some((start, e))
}

pub(super) fn refine_location_state(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // "New York Heart Association", "Ohio State", "Kansas City, MO": part of a longer name.
    let after = word_after(text, end);
    if text[end..].starts_with(' ') && after.starts_with(|c: char| c.is_uppercase()) {
        return None;
    }
    if followed_by_state(text, end) {
        return None;
    }
    Some((start, end))
}

pub(super) fn refine_phone_near(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if !phone_context_ok(text, start, end) || matches!(next_char(text, end), Some('/' | '%')) {
        return None;
    }
    let after = word_after(text, end);
    (!word_in(&NOT_DATE_AFTER_SET, after)).then_some((start, end))
}

pub(super) fn refine_phone_at(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let cue = text[caps.get(0)?.start()..start].trim().to_ascii_lowercase();
    let number = &text[start..end];
    // "at x 455" needs the "at"; "# 6-8429" after a call word is an extension, "at 3-4000" a range
    // unless a call word is near ("requesting call back at 6-3207", "called pt at home 6-6276").
    let extension = number.starts_with(['x', 'X']) || internal_extension(number);
    if extension && !number.starts_with(['x', 'X']) {
        let near = words_before(text, caps.get(0)?.start(), 5).iter().any(|w| word_in(&CALL_WORD_SET, w));
        if !near && !cue.starts_with("cb") && !cue.starts_with("call") {
            return None;
        }
    }
    if !phone_context_ok(text, start, end)
        || matches!(next_char(text, end), Some('/' | '%' | '-' | '.' | ':') if continues_with_digit(text, end, &['/', '-', '.', ':']))
    {
        return None;
    }
    (!word_in(&NOT_DATE_AFTER_SET, word_after(text, end))).then_some((start, end))
}

pub(super) fn refine_phone_ext(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if !phone_context_ok(text, start, end) || matches!(next_char(text, end), Some('/' | '%' | '°' | '+')) {
        return None;
    }
    // "ext 20 degrees": range of motion, not an extension.
    let after = word_after(text, end);
    let rom = words_before(text, start, 3).iter().any(|w| word_in(&NOT_DATE_BEFORE_SET, w));
    (!rom && !word_in(&NOT_DATE_AFTER_SET, after)).then_some((start, end))
}

pub(super) fn refine_pager(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    (phone_context_ok(text, start, end) && !matches!(next_char(text, end), Some('%'))).then_some((start, end))
}
