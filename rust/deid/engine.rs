//! The combined de-identifier: rules + lexicon + learned tagger -> one span list -> replacement.
//!
//! * Rules (`rules::detect`) find the structured identifiers and cue-based names; they win: a
//!   learned span keeps only its parts outside every rule span, unless the rule spans it
//!   overlaps are all of its own type, when they become one span (the same finding, seen wider).
//! * The tagger (`model.rs`) finds names, hospitals and places without a cue. Its spans are
//!   dropped when they cannot be what they say (`plausible`): only stop words ("Foley",
//!   "Heart"), digits, a lowercase span the lists do not back in a document written with
//!   capitals, a lone short acronym ("NASH"), an eponym ("Kniest dysplasia"). A name it finds
//!   is looked for again in the rest of the document (exact, capitalized and all-capitals forms),
//!   as the rules do for cue names, so "Mrs. Okafor ... OKAFOR called" is scrubbed everywhere
//!   once seen (rules.rs keeps its own propagation private, so this one is separate).
//! * Cues the tagger may not carry far enough (`cue_names`): a name-shaped word (one the training
//!   corpus never had, or a capitalized name of the lists) after a relation, a title, a staff
//!   abbreviation or a verb of communication ("his grandson zeisdrerto", "read back to Vaan",
//!   "msw reiman notified"), a clause's subject before "notified", "aware", "at bedside", "was
//!   brought" ..., signed initials ("-V.C.V."), and a town after "lives in", "called from". Such
//!   a name found in lowercase is then looked for in any case in the rest of the note.
//! * The lexicon adds one high-precision pattern of its own: a known city followed by a state
//!   ("Salt Lake City, Utah", "Springfield, MO").
//! * Learned places grow to the whole multi-word place of the lists ("Iowa" -> "Iowa City"), and
//!   a place or hospital after "Hospital of" takes it in ("Hospital of Bossier"); a lone state
//!   code with no ZIP after it and no "in" before it ("Ann Lee, ID 553") and a hospital right
//!   after a mask ("ABCD General Hospital") are dropped.
//! * Learned spans of one type that overlap or touch across a single space (names and places:
//!   or a ", ") are merged, spans that touch with no gap too ("St. Luke" + "'s"); spans of
//!   different types that overlap keep the longer one. After the rules are combined in, names
//!   one ", " apart join and a name takes in an initial before it ("P. Treford").
//!
//! Everything is a function of (text, lexicon, model): the same text gives the same spans on any
//! thread, in any batch.

use super::features::{doc_case, stat, DocContext, Token, PHRASE_BEGIN, PHRASE_INSIDE};
use super::lexicon::{flags, Lexicon};
use super::model::{Model, Tagger};
use super::surrogate::SurrogatePools;
use super::types::{Deidentified, PhiType, Span};

/// How findings are replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// `[NAME]`, `[DATE]`, ...
    Placeholder,
    /// Realistic made-up values, consistent within a document, seeded (rust/deid/surrogate.rs).
    Surrogate { seed: u64 },
}

pub struct Engine {
    lexicon: Lexicon,
    tagger: Option<Tagger>,
    use_rules: bool,
    pools: SurrogatePools,
}

impl Engine {
    /// An engine over `lexicon`, with the tagger `model` if given (refused when it was trained
    /// with another lexicon). `use_rules` false leaves the rules out (to measure the rest alone).
    pub fn new(lexicon: Lexicon, model: Option<Model>, use_rules: bool) -> Result<Engine, String> {
        let tagger = model.map(|m| Tagger::new(m, &lexicon)).transpose()?;
        Ok(Engine { lexicon, tagger, use_rules, pools: SurrogatePools::builtin() })
    }

    /// The values `Replacement::Surrogate` draws from (default: small built-in pools).
    pub fn with_surrogate_pools(mut self, pools: SurrogatePools) -> Engine {
        self.pools = pools;
        self
    }

    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    pub fn model(&self) -> Option<&Model> {
        self.tagger.as_ref().map(|t| t.model())
    }

    /// Every finding in `text`: byte offsets, sorted, non-overlapping.
    pub fn detect(&self, text: &str) -> Vec<Span> {
        let rule_spans = if self.use_rules { super::rules::detect(text) } else { Vec::new() };
        let mut learned = Vec::new();
        match &self.tagger {
            Some(tagger) => {
                let tagged = tagger.tag(text, &self.lexicon);
                let words: Vec<TokenFacts> = (0..tagged.labels.len())
                    .map(|i| TokenFacts {
                        token: tagged.doc.tokens[i],
                        flags: tagged.flags[i],
                        phrase: tagged.doc.contexts[i].phrase,
                        stats: tagged.stats[i],
                    })
                    .collect();
                let lower_doc = tagged.doc.case_mode == doc_case::LOWER;
                learned.extend(tagged.spans().into_iter().filter(|s| plausible(text, &words, s, tagged.doc.case_mode)));
                learned.extend(city_state_spans(text, &words));
                learned.extend(country_spans(text, &words));
                let cued = cue_names(text, &words, &self.lexicon);
                learned.extend(cued.iter().copied());
                learned = widen_learned(text, &words, learned);
                learned = merge_learned(text, learned);
                learned.retain(|s| !lone_code(text, s) && !after_mask(text, s) && !placeholder_span(text, s));
                learned = propagate_names(text, &words, learned, &rule_spans, &cued, lower_doc);
                let listed = names_in_lists(text, &words, &rule_spans, &learned);
                learned.extend(listed);
                let places = places_by_facilities(text, &words, &rule_spans, &learned);
                learned.extend(places);
            }
            None => {
                let doc = DocContext::new(text, &self.lexicon);
                let words: Vec<TokenFacts> = doc
                    .tokens
                    .iter()
                    .zip(&doc.contexts)
                    .map(|(t, c)| TokenFacts {
                        token: *t,
                        flags: self.lexicon.word_flags(&text[t.start..t.end]) | (c.phrase & 0xFFFF) as u16,
                        phrase: c.phrase,
                        stats: 0,
                    })
                    .collect();
                let mut places = city_state_spans(text, &words);
                places.extend(country_spans(text, &words));
                learned = merge_learned(text, places);
            }
        }
        // Template stand-ins are no PHI whichever side found them ("his daughter, Xyz,").
        let mut spans = combine(text, rule_spans, learned);
        spans.retain(|s| !placeholder_span(text, s));
        spans
    }

    /// Detects and replaces.
    pub fn deidentify(&self, text: &str, replacement: Replacement) -> Deidentified {
        let spans = self.detect(text);
        Deidentified { text: self.replace(text, &spans, replacement), spans }
    }

    fn replace(&self, text: &str, spans: &[Span], replacement: Replacement) -> String {
        match replacement {
            Replacement::Placeholder => super::redact(text, spans),
            Replacement::Surrogate { seed } => super::surrogate::apply(text, spans, seed, &self.pools),
        }
    }
}

/// What span building needs of each token.
#[derive(Clone, Copy, Debug)]
struct TokenFacts {
    token: Token,
    flags: u16,
    phrase: u32,
    stats: u8,
}

fn tokens_in<'w>(words: &'w [TokenFacts], span: &Span) -> &'w [TokenFacts] {
    let from = words.partition_point(|w| w.token.end <= span.start);
    let to = words.partition_point(|w| w.token.start < span.end);
    &words[from..to.max(from)]
}

fn is_alphabetic(text: &str, token: &Token) -> bool {
    text[token.start..token.end].chars().any(char::is_alphabetic)
}

/// The span's words are all stop words (a learned "name" that is a catheter or a drug).
fn only_stop_words(words: &[TokenFacts], span: &Span) -> bool {
    let inside = tokens_in(words, span);
    inside.iter().all(|w| w.flags & flags::STOP != 0 || w.token.end - w.token.start == 1)
        && inside.iter().any(|w| w.flags & flags::STOP != 0)
}

/// A person's or an organisation's cue next to the span: a title, relative, staff word or
/// credential just before it (past "(", ",", "."), a relative or credential just after it (past
/// "(" or ","); for a hospital, a hospital word as its last word; for a place, "in", "from",
/// "near" just before it ("lives in murnaneport").
fn next_to_cue(text: &str, words: &[TokenFacts], span: &Span) -> bool {
    const CUES: u16 = flags::TITLE | flags::RELATION | flags::STAFF | flags::CREDENTIAL;
    let inside = tokens_in(words, span);
    if span.kind == PhiType::Hospital && inside.last().is_some_and(|w| w.flags & flags::HOSPITAL_WORD != 0) {
        return true;
    }
    let is_punct = |w: &TokenFacts| matches!(&text[w.token.start..w.token.end], "(" | "," | "." | ":");
    let first = words.partition_point(|w| w.token.end <= span.start);
    let before = words[..first].iter().rev().find(|w| !is_punct(w));
    let last = words.partition_point(|w| w.token.start < span.end);
    let after = words[last..].iter().find(|w| !is_punct(w));
    if span.kind == PhiType::Location
        && before.is_some_and(|w| matches!(&text[w.token.start..w.token.end], "in" | "from" | "near"))
    {
        return true;
    }
    before.is_some_and(|w| w.flags & CUES != 0)
        || after.is_some_and(|w| w.flags & (flags::RELATION | flags::CREDENTIAL) != 0)
}

/// Heads of contact and log lines, which the tagger can read as a place or a name ("Tel" of "Tel
/// Aviv").
const LINE_HEADS: &[&str] = &[
    "tel",
    "fax",
    "login",
    "phone",
    "ph",
    "cell",
    "pager",
    "page",
    "email",
    "voicemail",
    "mobile",
    "home",
    "work",
    "user",
];

/// Whether a learned span can be what it says: not only stop words, no digits (names and places
/// have none; codes and doses do), lowercase only with a list entry in it (unless the whole
/// document is lowercase), not a lone acronym, and not an eponym: a name right before
/// "disease", "syndrome", "catheter" ... (after an optional possessive) is not a person.
fn plausible(text: &str, words: &[TokenFacts], span: &Span, case_mode: u8) -> bool {
    let (lower_doc, upper_doc) = (case_mode == doc_case::LOWER, case_mode == doc_case::UPPER);
    if only_stop_words(words, span) || text[span.start..span.end].bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    // In a document written with capitals, an all-lowercase name or place needs each of its
    // words backed: by the lists ("spoke with mary smith"), or, next to a cue, by being a word
    // the training corpus never had twice ("wife trouyn", "spoke with trouyn (wife)", "dokley
    // cancer center"); "jack pine pollen extract" and a lone "serine" are dropped. In an
    // all-lowercase document case says nothing and the tagger decides.
    if !lower_doc && !text[span.start..span.end].chars().any(char::is_uppercase) {
        let backing = match span.kind {
            PhiType::Hospital => flags::NAME_OR_PLACE | flags::HOSPITAL_WORD,
            _ => flags::NAME_OR_PLACE,
        };
        let cued = next_to_cue(text, words, span);
        let backed = |w: &TokenFacts| {
            (w.flags & backing != 0 || (cued && w.stats & stat::PRESENT == 0))
                && w.flags & (flags::STOP | flags::MEDICAL_HEAD) == 0
        };
        let words_of_span = tokens_in(words, span)
            .iter()
            .filter(|w| text[w.token.start..w.token.end].chars().filter(|c| c.is_alphabetic()).count() >= 3);
        // A hospital that ends in a hospital word needs only its first word backed ("dokley
        // cancer center", "kent nursing and rehab"; not "the wound care center").
        let hospital_head = span.kind == PhiType::Hospital
            && tokens_in(words, span).last().is_some_and(|w| w.flags & flags::HOSPITAL_WORD != 0);
        let accepted = if hospital_head {
            words_of_span.clone().next().is_some_and(|w| backed(w) && w.flags & flags::HOSPITAL_WORD == 0)
        } else {
            words_of_span.clone().all(backed)
        };
        if !accepted || words_of_span.count() == 0 {
            return false;
        }
    }
    // A lone line head ("Tel 510-9983", "Login irezk") or a lone title or staff word
    // ("Chaplain Skally": the name is the next word) is no finding.
    let alone = tokens_in(words, span);
    if alone.len() == 1 {
        let word = text[alone[0].token.start..alone[0].token.end].to_ascii_lowercase();
        if LINE_HEADS.contains(&word.as_str())
            || alone[0].flags & (flags::TITLE | flags::STAFF | flags::CREDENTIAL | flags::RELATION) != 0
        {
            return false;
        }
    }
    // Outside an all-capitals document, a lone short word in capitals is an acronym ("NASH",
    // "BDNF") unless the lists know it ("LEE").
    let inside = tokens_in(words, span);
    if !upper_doc && inside.len() == 1 {
        let word = &text[inside[0].token.start..inside[0].token.end];
        let letters = word.chars().filter(|c| c.is_alphabetic()).count();
        if letters <= 4 && !word.chars().any(char::is_lowercase) && inside[0].flags & flags::NAME_OR_PLACE == 0 {
            return false;
        }
    }
    if span.kind == PhiType::Name && (eponym_head_follows(text, words, span) || citation_follows(text, span)) {
        return false;
    }
    true
}

/// A medical head noun ("sign", "forceps", "knife", "arthrodesis") within three words after the
/// name, past a possessive, lowercase modifiers and a coordinated eponym: "Murphy's sign",
/// "Greenwood bipolar forceps", "Jordan round knife", "Hawkins and Neer impingement signs",
/// "Mayfield 3-point head fixation". The name is an eponym, no person.
fn eponym_head_follows(text: &str, words: &[TokenFacts], span: &Span) -> bool {
    let first = words.partition_point(|w| w.token.end <= span.start);
    // "foramen of Munro", "tetralogy of Fallot": the eponym after "of" and its head.
    if first >= 2 && word_of(text, &words[first - 1]) == "of" && words[first - 2].flags & flags::MEDICAL_HEAD != 0 {
        return true;
    }
    let next = words.partition_point(|w| w.token.start < span.end);
    // "Tanner I", "Tanner stage 2": a one-word eponym before a roman numeral is a grade.
    if next == first + 1 && words.get(next).is_some_and(|w| matches!(word_of(text, w), "I" | "II" | "III" | "IV" | "V"))
    {
        return true;
    }
    let mut after = words[next..].iter().map(|w| (w, &text[w.token.start..w.token.end])).peekable();
    if matches!(after.peek(), Some((_, "'s" | "’s" | "'" | "’"))) {
        after.next();
    }
    let mut skipped = 0;
    let mut coordinated = false;
    for (w, word) in after {
        if w.flags & flags::MEDICAL_HEAD != 0 {
            return true;
        }
        let modifier = word.chars().next().is_some_and(|c| c.is_lowercase() || c.is_ascii_digit())
            && word.chars().all(|c| c.is_alphanumeric() || c == '-');
        let partner = !coordinated && skipped == 1 && word.starts_with(char::is_uppercase);
        if word == "and" && skipped == 0 {
            coordinated = true;
        } else if !(modifier || partner || (coordinated && word.starts_with(char::is_uppercase))) {
            return false;
        }
        skipped += 1;
        if skipped > 3 {
            return false;
        }
    }
    false
}

/// "as described by Rowland, et al": an author cited, no patient or staff.
fn citation_follows(text: &str, span: &Span) -> bool {
    let rest = text[span.end..].trim_start_matches([',', ' ']);
    rest.starts_with("et al") || rest.starts_with("et. al")
}

/// Learned places grown to the whole multi-word place of the lists they are part of ("Iowa" of
/// "Iowa City"), and places or hospitals right after "Hospital of", "University of" grown over
/// them, as hospitals ("Hospital of Bossier").
fn widen_learned(text: &str, words: &[TokenFacts], mut spans: Vec<Span>) -> Vec<Span> {
    const PLACE: u32 = (flags::CITY | flags::STATE | flags::COUNTRY) as u32;
    for span in spans.iter_mut() {
        let (from, to) =
            (words.partition_point(|w| w.token.end <= span.start), words.partition_point(|w| w.token.start < span.end));
        if from >= to {
            continue;
        }
        if span.kind == PhiType::Location && words[from..to].iter().any(|w| w.phrase & PLACE != 0) {
            let mut a = from;
            while words[a].phrase & PHRASE_INSIDE != 0 && a > 0 && words[a - 1].phrase != 0 {
                a -= 1;
            }
            let mut b = to - 1;
            while b + 1 < words.len() && words[b + 1].phrase & PHRASE_INSIDE != 0 {
                b += 1;
            }
            span.start = span.start.min(words[a].token.start);
            span.end = span.end.max(words[b].token.end);
        }
        // "of" before the span or as its first word ("Hospital" + "of Bossier").
        let of_at = if &text[words[from].token.start..words[from].token.end] == "of" {
            Some(from)
        } else {
            from.checked_sub(1)
        };
        if let Some(of) = of_at.filter(|&k| k >= 1 && &text[words[k].token.start..words[k].token.end] == "of") {
            let head = &words[of - 1];
            let word = text[head.token.start..head.token.end].to_ascii_lowercase();
            if head.flags & flags::HOSPITAL_WORD != 0
                && word != "health"
                && text[head.token.start..].starts_with(char::is_uppercase)
            {
                span.start = head.token.start;
                span.kind = PhiType::Hospital;
            }
        }
    }
    spans
}

/// A learned hospital right after a de-identification mask ("ABCD General Hospital", "XYZ
/// Medical Center"): the rest of a placeholder, no PHI.
fn after_mask(text: &str, span: &Span) -> bool {
    if span.kind != PhiType::Hospital {
        return false;
    }
    let before = text[..span.start].trim_end_matches(' ');
    let word = before.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    before.len() < span.start
        && (matches!(word, "XYZ" | "ABC" | "ABCD" | "Y" | "Z") || (!word.is_empty() && word.bytes().all(|b| b == b'X')))
}

/// A learned name or facility made of template stand-ins only: "Xyz", "Mr. Sample Patient",
/// "Dr. Sample Doctor4", "ABC": the note was de-identified before it reached us.
fn placeholder_span(text: &str, span: &Span) -> bool {
    if !matches!(span.kind, PhiType::Name | PhiType::Hospital) {
        return false;
    }
    const STAND_IN_ROLES: &[&str] = &["patient", "doctor", "name", "physician", "surgeon", "hospital", "clinic"];
    let words: Vec<&str> =
        text[span.start..span.end].split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let sample = |w: &str| w.trim_end_matches(|c: char| c.is_ascii_digit()).eq_ignore_ascii_case("sample");
    let has_sample = words.iter().any(|w| sample(w));
    !words.is_empty()
        && words.iter().all(|w| {
            let bare = w.trim_end_matches(|c: char| c.is_ascii_digit());
            // Three letters at least: "B.W.", "GG" and "OA" are initials, "XYZ" and "Xyz" masks.
            (w.len() >= 3 && crate::deid::refine::is_placeholder(w))
                || sample(w)
                || (has_sample && STAND_IN_ROLES.iter().any(|r| bare.eq_ignore_ascii_case(r)))
        })
}

/// The findings so far (rule and learned spans together), indexed for the passes that look at
/// what lies next to a word: sorted by start with the running maximum of their ends (so overlap
/// is one bisection), and by end.
struct Findings<'a> {
    by_start: Vec<&'a Span>,
    max_end: Vec<usize>,
    by_end: Vec<&'a Span>,
}

impl<'a> Findings<'a> {
    fn new(rule_spans: &'a [Span], learned: &'a [Span]) -> Findings<'a> {
        let mut by_start: Vec<&Span> = rule_spans.iter().chain(learned).collect();
        by_start.sort_unstable_by_key(|s| (s.start, s.end));
        let max_end = by_start
            .iter()
            .scan(0, |m, s| {
                *m = (*m).max(s.end);
                Some(*m)
            })
            .collect();
        let mut by_end = by_start.clone();
        by_end.sort_unstable_by_key(|s| (s.end, s.start));
        Findings { by_start, max_end, by_end }
    }

    /// Whether a finding overlaps [start, end).
    fn overlaps(&self, start: usize, end: usize) -> bool {
        let n = self.by_start.partition_point(|s| s.start < end);
        n > 0 && self.max_end[n - 1] > start
    }

    fn ends_at(&self, pos: usize, kinds: &[PhiType]) -> bool {
        let from = self.by_end.partition_point(|s| s.end < pos);
        self.by_end[from..].iter().take_while(|s| s.end == pos).any(|s| kinds.contains(&s.kind))
    }

    fn starts_at(&self, pos: usize, kinds: &[PhiType]) -> bool {
        let from = self.by_start.partition_point(|s| s.start < pos);
        self.by_start[from..].iter().take_while(|s| s.start == pos).any(|s| kinds.contains(&s.kind))
    }
}

/// A capitalized word between two names of a list ("with Ms Hearne, Thulsia and Dr. Bhatnagar",
/// "Mr Fee, Femvaer, and Dr Fevquist"): a name too, if it is shaped as one.
fn names_in_lists(text: &str, words: &[TokenFacts], rule_spans: &[Span], learned: &[Span]) -> Vec<Span> {
    let found = Findings::new(rule_spans, learned);
    let name_ends_at = |pos: usize| found.ends_at(pos, &[PhiType::Name]);
    let name_starts_at = |pos: usize| found.starts_at(pos, &[PhiType::Name]);
    // (Any finding, of any kind, keeps its words: no overlap is made here.)
    let inside = |pos: usize| found.overlaps(pos, pos + 1);
    let mut out = Vec::new();
    for k in 2..words.len().saturating_sub(2) {
        let w = &words[k];
        let word = word_of(text, w);
        if !word.starts_with(char::is_uppercase) || name_shape(text, w) == 0 || inside(w.token.start) {
            continue;
        }
        // Before: a name, then ",". After: "and" or "," (optionally ", and"), then a title and a
        // name, or a name.
        if word_of(text, &words[k - 1]) != "," || !name_ends_at(words[k - 2].token.end) {
            continue;
        }
        let mut j = k + 1;
        if word_of(text, &words[j]) == "," {
            j += 1;
        }
        if words.get(j).is_some_and(|x| word_of(text, x) == "and") {
            j += 1;
        } else if j == k + 1 {
            continue;
        }
        while words.get(j).is_some_and(|x| x.flags & flags::TITLE != 0 || word_of(text, x) == ".") {
            j += 1;
        }
        if words.get(j).is_some_and(|x| name_starts_at(x.token.start)) {
            out.push(Span { start: w.token.start, end: w.token.end, kind: PhiType::Name });
        }
    }
    out
}

/// A learned place that is a lone two-letter code with neither a ZIP code after it ("Reno, NV
/// 89501") nor "in", "from", "to" before it ("Lives in NM"): the "ID" of "Interpreter: Ann Lee,
/// ID 553" is no state.
fn lone_code(text: &str, span: &Span) -> bool {
    let t = &text[span.start..span.end];
    if span.kind != PhiType::Location || t.len() > 2 || !t.bytes().all(|b| b.is_ascii_uppercase()) {
        return false;
    }
    let after = text[span.end..].trim_start_matches([' ', ',']).as_bytes();
    let zip = after.len() >= 5
        && after[..5].iter().all(u8::is_ascii_digit)
        && !after.get(5).is_some_and(u8::is_ascii_alphanumeric);
    let before = text[..span.start].trim_end().rsplit(|c: char| !c.is_alphabetic()).next().unwrap_or("");
    !zip && !matches!(before.to_ascii_lowercase().as_str(), "in" | "from" | "to" | "near")
}

// --- names by their cue, on the learned side --------------------------------------------------

/// Words before a name that say a person follows: verbs of communication and care, each with the
/// word that must come before it ("read back to", "message left with", "calling out for").
const CUE_PAIRS: &[(&str, &str)] = &[
    ("back", "to"),
    ("spoke", "to"),
    ("spoke", "with"),
    ("talked", "with"),
    ("talked", "to"),
    ("discussed", "with"),
    ("reviewed", "with"),
    ("left", "with"),
    ("left", "for"),
    ("message", "for"),
    ("lives", "with"),
    ("living", "with"),
    ("resides", "with"),
    ("stays", "with"),
    ("staying", "with"),
    ("placed", "with"),
    ("seen", "with"),
    ("given", "to"),
    ("handed", "to"),
    ("off", "to"),
    ("out", "for"),
    ("asking", "for"),
    ("asked", "for"),
    ("visited", "by"),
    ("followed", "by"),
    ("taken", "by"),
    ("accompanied", "by"),
    ("signed", "by"),
    ("dictated", "by"),
    ("seen", "by"),
    ("evaluated", "by"),
    ("called", "by"),
    ("according", "to"),
    ("message", "from"),
    ("call", "from"),
    ("answered", "by"),
];
/// Words before a place where a person lives or comes from ("lives in murnaneport", "called
/// from Noar"): a word the corpus never had after them is a town.
const PLACE_CUES: &[(&str, &str)] = &[
    ("lives", "in"),
    ("living", "in"),
    ("resides", "in"),
    ("moved", "to"),
    ("moved", "from"),
    ("called", "from"),
    ("nearby", "in"),
    ("relocated", "to"),
    ("drove", "from"),
    ("visiting", "from"),
    ("born", "in"),
    ("raised", "in"),
];
/// Of these cues, the ones that scientific prose also writes before a lowercase term
/// ("followed by ribonucleoprotein", "taken by ..."): their names must be capitalized.
const PROSE_CUES: &[&str] = &[
    "answered",
    "according",
    "message",
    "call",
    "followed",
    "taken",
    "accompanied",
    "evaluated",
    "called",
    "seen",
    "given",
    "signed",
    "dictated",
    "asked",
    "asking",
];
/// Single words after which a person's name may come directly ("notified Vaan", "paged reiman").
const CUE_VERBS: &[&str] = &[
    "notified",
    "paged",
    "called",
    "contacted",
    "informed",
    "updated",
    "assisted",
    "per",
    "signed",
    // Verbs whose object is a person: "I did educate Kergavra Oelli", "When she examined Soulsyn".
    "educate",
    "educated",
    "examined",
    "instructed",
    "told",
    "advised",
    "reassured",
    "counseled",
    "counselled",
    "encouraged",
    "reminded",
];
/// Staff abbreviations before a name ("MD Eskley", "msw reiman", "rt dokus mundman"); "pt", "do",
/// "pa", "ot" are ordinary words too often to be cues.
const STAFF_ABBR: &[&str] = &[
    "md", "rn", "np", "msw", "sw", "rt", "lpn", "cna", "crna", "pharmd", "rph", "aprn", "lcsw", "slp", "otr", "dpt",
    "pa-c", "fnp", "lvn", "rd",
];
/// What follows a person who is the subject of a clause ("Reiman notified", "Guskon is awake",
/// "Dokus from case management"): one word, or two.
const AFTER_ONE: &[&str] = &[
    "notified",
    "aware",
    "paged",
    "updated",
    "informed",
    "ate",
    "went",
    "returns",
    "returned",
    "called",
    "tolerated",
    "denies",
    "reports",
    "states",
    "complains",
    "underwent",
    "remains",
    "had",
    "agrees",
    "verbalized",
    "ambulated",
];
/// After a word the corpus never had, written as a name ("Reilette", not "HFE", "Langerin" or
/// "Linkage") at a clause's start, the plainest verbs say a person too: "Reilette was
/// subsequently extubated", "Fisker presents today".
const AFTER_ONE_WEAK: &[&str] = &[
    "was",
    "is",
    "will",
    "has",
    "presents",
    "presented",
    "would",
    "did",
    "does",
    "continues",
    "feels",
    "understands",
    "wishes",
    "wants",
    "lives",
    "works",
    "left",
    "signed",
    "received",
    "felt",
    "said",
    "stated",
    "says",
    "arrived",
    "died",
    "passed",
    "slept",
    "stopped",
    "started",
    "walked",
];
/// What is done to drugs and things, which the weak verbs above may lead into: "Vermox was
/// prescribed", "Stadol was used", "Modifications will be made".
const THING_PARTICIPLES: &[&str] = &[
    "used",
    "prescribed",
    "instilled",
    "removed",
    "injected",
    "given",
    "applied",
    "administered",
    "started",
    "stopped",
    "discontinued",
    "ordered",
    "infiltrated",
    "maintained",
    "obtained",
    "performed",
    "made",
    "added",
    "increased",
    "decreased",
    "held",
    "changed",
    "continued",
    "titrated",
    "tapered",
    "recommended",
    "irrigated",
    "inserted",
    "instituted",
    "initiated",
    "resumed",
    "restarted",
    "switched",
    "replaced",
    "sent",
    "drawn",
    "done",
    "normal",
    "unremarkable",
    "negative",
    "positive",
    "present",
    "absent",
    "intact",
    "hyperpigmented",
];
const AFTER_TWO: &[(&str, &str)] = &[
    ("at", "bedside"),
    ("at", "the"),
    ("from", "case"),
    ("from", "social"),
    ("from", "pharmacy"),
    ("from", "nutrition"),
    ("from", "pt"),
    ("from", "ot"),
    ("is", "awake"),
    ("is", "alert"),
    ("is", "pleasant"),
    ("is", "resting"),
    ("is", "doing"),
    ("is", "sitting"),
    ("is", "comfortable"),
    ("is", "in"),
    ("is", "a"),
    ("is", "marked"),
    ("was", "laid"),
    ("was", "brought"),
    ("was", "noted"),
    ("was", "taken"),
    ("was", "placed"),
    ("was", "seen"),
    ("was", "considered"),
    ("was", "transferred"),
    ("was", "admitted"),
    ("was", "positioned"),
    ("was", "prepped"),
    ("was", "asked"),
    ("was", "recorded"),
    ("was", "evaluated"),
    ("now", "has"),
    ("has", "had"),
    ("has", "history"),
    ("has", "been"),
    ("made", "aware"),
];
/// Verbs only a person is the subject of, and adverbs that may come before them.
const HUMAN_VERBS: &[&str] = &[
    "underwent",
    "ate",
    "tolerated",
    "denies",
    "reports",
    "complains",
    "agrees",
    "ambulated",
    "verbalized",
    "endorses",
];
const ADVERBS: &[&str] =
    &["recently", "also", "now", "then", "again", "subsequently", "previously", "initially", "still"];
/// Endings of drug and disease words, which a word the corpus does not know may still be
/// ("Xyzumab was given", "Foo-itis"): never a name by shape alone.
const MEDICAL_ENDINGS: &[&str] = &[
    "mab", "nib", "ine", "ide", "ase", "itis", "osis", "emia", "pril", "sartan", "statin", "zole", "cillin", "mycin",
    "vir", "olol", "pine", "done", "azine", "oxacin", "cycline", "parin", "tide", "gliptin", "lukast", "dronate",
    "phene", "oma", "pathy", "ectomy", "otomy", "plasty", "scopy", "gram", "graph", "graphy", "ology",
];

/// Endings of ordinary English words that the corpus may not have ("callback", "linked",
/// "backlog" are no names after "asking for", "case manager", "out for").
const WORD_ENDINGS: &[&str] = &[
    "ed", "ing", "ly", "ous", "ive", "tor", "ism", "ogy", "ure", "ance", "ence", "ein", "tion", "sion", "ment", "ness",
    "able", "ible", "ful", "less", "back", "log", "ward", "wise", "ship", "ity", "ize", "ise",
];
/// Words for people by their role, no names ("Sitter at bedside", "Transport notified").
const NOT_PEOPLE: &[&str] = &[
    "sitter",
    "transport",
    "security",
    "escort",
    "volunteer",
    "housekeeping",
    "registration",
    "admitting",
    "team",
    "staff",
    "charge",
    "family",
    "pharmacy",
    "anesthesia",
    "surgery",
    "radiology",
    "lab",
    "ems",
    "police",
    "patient",
];

fn word_of<'t>(text: &'t str, w: &TokenFacts) -> &'t str {
    &text[w.token.start..w.token.end]
}

/// Words that are cues or stop words themselves, never a name.
const NOT_NAME: u16 = flags::STOP
    | flags::MEDICAL_HEAD
    | flags::TITLE
    | flags::CREDENTIAL
    | flags::RELATION
    | flags::STAFF
    | flags::HOSPITAL_WORD;

/// How strongly a token looks like a name of its own: 2 for a word of letters the training corpus
/// never had (twice) and no medical ending, 1 for a capitalized word of the name lists that the
/// corpus rarely writes in lowercase, 0 otherwise.
fn name_shape(text: &str, w: &TokenFacts) -> u8 {
    let word = word_of(text, w);
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2 || !word.chars().all(|c| c.is_alphabetic() || c == '\'' || c == '-') || w.flags & NOT_NAME != 0 {
        return 0;
    }
    let capitalized = word.starts_with(char::is_uppercase);
    if w.stats & stat::PRESENT != 0 && !(capitalized && w.flags & (flags::FIRST_NAME | flags::LAST_NAME) != 0) {
        return 0; // a word of the corpus that the name lists do not back
    }
    let lower = word.to_ascii_lowercase();
    let has_lower = word.chars().any(char::is_lowercase);
    let inner_caps = word.as_bytes().windows(2).any(|p| p[0].is_ascii_uppercase() && p[1].is_ascii_uppercase());
    let mask = lower.bytes().all(|b| b == b'x');
    if NOT_PEOPLE.contains(&lower.as_str())
        || (word.len() <= 4 && !has_lower)
        || (has_lower && inner_caps)
        || mask
        || (!capitalized && word.contains('-'))
    {
        return 0; // "Sitter at bedside", "Provider NPI", "GCS 3T", "Star-PAP is", "XXXXXX", "cross-country"
    }
    if w.stats & stat::PRESENT == 0 && letters >= 3 {
        // English word endings only count in lowercase: "Kroulsed" may be a name, "linked" is not.
        let ending = MEDICAL_ENDINGS.iter().any(|e| lower.ends_with(e))
            || (!capitalized && WORD_ENDINGS.iter().any(|e| lower.ends_with(e)));
        return if ending && w.flags & (flags::FIRST_NAME | flags::LAST_NAME) == 0 { 0 } else { 2 };
    }
    let listed = w.flags & (flags::FIRST_NAME | flags::LAST_NAME) != 0;
    (capitalized && listed && w.stats & stat::STOP == 0 && (w.stats >> stat::LOWER_SHIFT) & 3 <= 1) as u8
}

/// A word the corpus never had, in Title case, with no ending of an ordinary, a medical or a
/// protein word ("Reilette", "Fisker"; not "HFE", "Langerin", "Linkage", "Catalepsy").
fn written_as_name(text: &str, w: &TokenFacts) -> bool {
    let word = word_of(text, w);
    let lower = word.to_ascii_lowercase();
    let title = word.starts_with(|c: char| c.is_ascii_uppercase()) && word[1..].chars().all(|c| c.is_ascii_lowercase());
    // Plurals too: "Modifications".
    let stem = lower.strip_suffix('s').filter(|s| !s.ends_with('s')).unwrap_or(&lower);
    let ending = MEDICAL_ENDINGS
        .iter()
        .chain(WORD_ENDINGS)
        .chain(&["in", "age", "y", "ics", "ium", "sis", "or", "sh", "ox", "ol"])
        .any(|e| lower.ends_with(e) || stem.ends_with(e));
    title && word.len() >= 3 && name_shape(text, w) == 2 && !ending
}

/// A name of one to three such words ("Braley, Stamia", "Kourus Bakquist", "Staer Ware"): each
/// in Title case and shaped as a name, one of them unknown to the corpus and free of those endings.
fn written_as_names(text: &str, run: &[TokenFacts]) -> bool {
    let words: Vec<&TokenFacts> = run.iter().filter(|w| word_of(text, w).chars().all(char::is_alphabetic)).collect();
    let title_unknown = |w: &TokenFacts| {
        let word = word_of(text, w);
        word.starts_with(|c: char| c.is_ascii_uppercase()) && name_shape(text, w) >= 1
    };
    // "Last, First" is a name's layout, and so are two Title-case words one of which the name
    // lists know ("Dolorous Massey", "Steven Doherty"): the endings need not decide.
    let inverted = words.len() == 2 && run.iter().any(|w| word_of(text, w) == ",");
    let listed = words.len() == 2 && words.iter().any(|w| w.flags & (flags::FIRST_NAME | flags::LAST_NAME) != 0);
    !words.is_empty()
        && words.iter().all(|w| title_unknown(w))
        && (inverted || listed || words.iter().any(|w| written_as_name(text, w)))
}

/// Initials ("RFJ", "R.L.F.", "k.n."): the token range and its end, starting at word i.
fn initials_at(text: &str, words: &[TokenFacts], i: usize) -> Option<usize> {
    let w = words.get(i)?;
    let word = word_of(text, w);
    if (2..=3).contains(&word.len())
        && word.bytes().all(|b| b.is_ascii_uppercase())
        && w.flags & NOT_NAME == 0
        && w.stats & stat::PRESENT == 0
    {
        return Some(i);
    }
    // Dotted: letter "." letter "." ..., adjacent.
    let mut j = i;
    let mut n = 0;
    while j + 1 < words.len()
        && word_of(text, &words[j]).len() == 1
        && word_of(text, &words[j]).bytes().all(|b| b.is_ascii_alphabetic())
        && word_of(text, &words[j + 1]) == "."
        && words[j + 1].token.start == words[j].token.end
        && (n == 0 || words[j].token.start == words[j - 1].token.end)
    {
        n += 1;
        j += 2;
    }
    (n >= 2).then(|| j - 1)
}

/// A clause starts before word i: the text's or a line's start, or ".", ",", ";", ":", "-",
/// "that", "and" before it.
fn clause_start(text: &str, words: &[TokenFacts], i: usize) -> bool {
    if i == 0 || text[words[i - 1].token.end..words[i].token.start].contains('\n') {
        return true;
    }
    let before = word_of(text, &words[i - 1]);
    [".", ",", ";", ":", "that", "and", "but", "-"].iter().any(|c| before.eq_ignore_ascii_case(c))
}

/// The names a cue points at, which the tagger may miss because the name is lowercase, in
/// capitals, invented, or an ordinary word of the lists: after a relation or a title ("his
/// grandson zeisdrerto", "PT'S NIECE IMELLE", "Wife/dtr (Numgouso, Gene)", "miss aivan"), a staff
/// abbreviation ("MD Eskley", "msw reiman"), a verb of communication or care ("read back to
/// Vaan", "message left with Vilel", "calling out for Ety", "lives with dasrokel", "seen with rt
/// dokus mundman"); a clause's subject before "notified", "aware", "at bedside", "from case
/// management", "is awake", "was laid" ... ("Reprindek, Brono went to the PACU", "RFJ aware of
/// soft BP"); and signed initials at a line's end ("Advised ED. -V.C.V."). Each name word must
/// look like one (`name_shape`): an ordinary word of the corpus after a cue ("wife at bedside",
/// "spoke with family") is left alone.
fn cue_names(text: &str, words: &[TokenFacts], lexicon: &Lexicon) -> Vec<Span> {
    // Lowercase forms: one lowercased copy of the text (ASCII lowercasing keeps byte offsets).
    let low = text.to_ascii_lowercase();
    let lower: Vec<&str> = words.iter().map(|w| &low[w.token.start..w.token.end]).collect();
    let skip = |k: usize| matches!(lower.get(k).copied(), Some("," | ":" | "(" | "." | "-"));
    let mut out = Vec::new();
    // A name run starting at word k (after one skipped ",", ":", "(", "." and one staff
    // abbreviation): its last word, given the weakest shape accepted.
    let run_from = |mut k: usize, min_shape: u8| -> Option<(usize, usize)> {
        let paren = lower.get(k).is_some_and(|w| *w == "(");
        if skip(k) {
            k += 1;
        }
        if lower.get(k).is_some_and(|w| STAFF_ABBR.contains(w) && *w != "rd")
            && words.get(k + 1).is_some_and(|w| name_shape(text, w) > 0)
        {
            k += 1;
        }
        let first = words.get(k)?;
        if name_shape(text, first) < min_shape {
            return None;
        }
        let mut end = k;
        while end + 1 < words.len()
            && end < k + 2
            && words[end + 1].token.start == words[end].token.end + 1
            && name_shape(text, &words[end + 1]) >= min_shape
        {
            end += 1;
        }
        // "(Numgouso, Gene)": a "Last, First" inside parentheses.
        if paren && lower.get(end + 1).is_some_and(|w| *w == ",") && lower.get(end + 3).is_some_and(|w| *w == ")") {
            let w = &words[end + 2];
            if word_of(text, w).starts_with(char::is_uppercase)
                && (w.flags & flags::FIRST_NAME != 0 || w.flags & NOT_NAME == 0)
            {
                end += 2;
            }
        }
        Some((k, end))
    };
    let push = |out: &mut Vec<Span>, (a, b): (usize, usize)| {
        out.push(Span { start: words[a].token.start, end: words[b].token.end, kind: PhiType::Name })
    };
    for i in 0..words.len() {
        let w = &words[i];
        let l = lower[i];
        // (Gated on the few second words first: this runs for every token.)
        let second = matches!(l, "to" | "with" | "for" | "by" | "from" | "in");
        let pair = second
            && i >= 1
            && CUE_PAIRS.iter().any(|&(a, b)| b == l && lower[i - 1] == a)
            // "d/w", "s/w", "w/": the slash right after the letter.
            || (l == "/" && i >= 1 && matches!(lower[i - 1], "d" | "s" | "w") && words[i - 1].token.end == w.token.start);
        // ("family", "children" are groups: "family histories", "family strife".)
        let relation =
            w.flags & (flags::RELATION | flags::TITLE) != 0 && !matches!(l, "family" | "children" | "parents" | "kids");
        let staff = w.flags & flags::STAFF != 0 || (l.len() <= 12 && l != "rd" && STAFF_ABBR.contains(&l));
        // Only a title ends in a period before its name ("Mrs. Lee"; not "lives with son. GCS 3").
        let period_after = lower.get(i + 1).is_some_and(|x| *x == ".") && w.flags & flags::TITLE == 0;
        let prose = i >= 1 && pair && PROSE_CUES.contains(&lower[i - 1]) && l != "with";
        if period_after {
        } else if prose || (CUE_VERBS.contains(&l) && matches!(l, "per" | "called" | "signed" | "updated" | "informed"))
        {
            // Capitalized names only: "seen by Vaan", "per Ety"; not "followed by g-protein". A
            // message header may be lowercase: "message from shorto grortek: needs refill".
            let header = |r: &(usize, usize)| lower.get(r.1 + 1).is_some_and(|x| *x == ":");
            if let Some(run) =
                run_from(i + 1, 2).filter(|r| word_of(text, &words[r.0]).starts_with(char::is_uppercase) || header(r))
            {
                push(&mut out, run);
            }
        } else if pair || relation || staff {
            // Lowercase words after a cue are names only when the corpus never had them.
            if let Some(run) = run_from(i + 1, 1) {
                // Past a comma, a lowercase name needs the relation to be someone's ("with
                // brother, jaimar samic"; not "alpha family, g-protein", "Husband, perpetrator").
                let owned = i >= 1
                    && matches!(
                        lower[i - 1],
                        "his" | "her" | "their" | "my" | "pt's" | "patient's" | "with" | "and" | "'s"
                    );
                let comma = lower.get(i + 1).is_some_and(|x| *x == ",");
                let all_ok = (run.0..=run.1).all(|k| {
                    lower[k] == ","
                        || word_of(text, &words[k]).starts_with(char::is_uppercase)
                        || (name_shape(text, &words[k]) == 2 && (!comma || owned))
                });
                // A lowercase word that reads as the verb or adjective of the sentence is none:
                // "mother yells at her", "daughter adds some details", "biologic father".
                let last = &words[run.1];
                let lowercase_last = !word_of(text, last).chars().any(char::is_uppercase);
                let after = words.get(run.1 + 1);
                let verb_like = lowercase_last
                    && (lower[run.1].ends_with('s')
                        && after.is_some_and(|x| {
                            let next = word_of(text, x);
                            next.starts_with(char::is_lowercase)
                                && !next.ends_with("ing")
                                && !matches!(next, "in" | "is" | "was" | "will" | "has" | "had" | "who" | "here")
                        })
                        || after.is_some_and(|x| x.flags & flags::RELATION != 0));
                // A capitalized run that goes on into more capitals is an organisation's
                // ("attending Maize High School").
                let org = after.is_some_and(|x| {
                    x.token.start == last.token.end + 1
                        && word_of(text, x).starts_with(char::is_uppercase)
                        && word_of(text, x).chars().any(char::is_lowercase)
                        && (x.flags & flags::HOSPITAL_WORD != 0 || name_shape(text, x) == 0)
                });
                let all_ok = all_ok && !verb_like && !org;
                if all_ok {
                    push(&mut out, run);
                    // "pt's aunt grandar and golsie visited": a second name the corpus never had.
                    if lower.get(run.1 + 1).is_some_and(|x| *x == "and")
                        && words.get(run.1 + 2).is_some_and(|x| name_shape(text, x) == 2)
                    {
                        push(&mut out, (run.1 + 2, run.1 + 2));
                    }
                }
            }
        } else if CUE_VERBS.contains(&l) {
            if let Some(run) = run_from(i + 1, 2) {
                push(&mut out, run);
            }
        }
        // "her husband, Al, is present": a two-letter first name of the lists set off by commas
        // after a relation (too short for the runs above; the lexicon's own flags, as the
        // corpus writes "al" in "et al").
        if relation && lower.get(i + 1).is_some_and(|x| *x == ",") && lower.get(i + 3).is_some_and(|x| *x == ",") {
            let w = &words[i + 2];
            let word = word_of(text, w);
            let two = word.len() == 2
                && word.starts_with(|c: char| c.is_ascii_uppercase())
                && word.ends_with(|c: char| c.is_ascii_lowercase());
            let inside_last = out.last().is_some_and(|s: &Span| s.end > w.token.start);
            if two && !inside_last && lexicon.word_flags(word) & flags::FIRST_NAME != 0 {
                push(&mut out, (i + 2, i + 2));
            }
        }
        // "code status discussed with Enette and family": the one named before "and family".
        if l == "and"
            && i >= 2
            && lower.get(i + 1).is_some_and(|x| *x == "family")
            && matches!(lower[i - 2], "with" | "to" | "by")
        {
            let before = &words[i - 1];
            let shape = name_shape(text, before);
            let inside_last = out.last().is_some_and(|s: &Span| s.end > before.token.start);
            if !inside_last && (shape == 2 || (shape == 1 && word_of(text, before).starts_with(char::is_uppercase))) {
                push(&mut out, (i - 1, i - 1));
            }
        }
        // A town where the person lives: one or two words the corpus never had ("lives in
        // doloresshire", "called from Noar"), as a place, not a name.
        if second && i >= 1 && PLACE_CUES.iter().any(|&(a, b)| b == l && lower[i - 1] == a) {
            if let Some(first) = words.get(i + 1).filter(|x| name_shape(text, x) == 2) {
                let mut end = i + 1;
                if words.get(i + 2).is_some_and(|x| name_shape(text, x) == 2 && x.token.start == first.token.end + 1) {
                    end = i + 2;
                }
                out.push(Span { start: first.token.start, end: words[end].token.end, kind: PhiType::Location });
            }
        }
        // A clause's subject before a verb of the list (not again inside a name just found).
        let inside_last = out.last().is_some_and(|s: &Span| s.end > w.token.start);
        if !inside_last && clause_start(text, words, i) {
            let upper_first = |x: &TokenFacts| word_of(text, x).starts_with(char::is_uppercase);
            let first_name =
                |x: &TokenFacts| upper_first(x) && x.flags & flags::FIRST_NAME != 0 && x.flags & flags::STOP == 0;
            let shape = name_shape(text, w);
            let end = if let Some(e) = initials_at(text, words, i) {
                Some(e) // "RFJ aware"
            } else if upper_first(w)
                && w.flags & NOT_NAME == 0
                && lower.get(i + 1).is_some_and(|x| *x == ",")
                && words.get(i + 2).is_some_and(|x| (shape == 2 && name_shape(text, x) > 0) || first_name(x))
            {
                Some(i + 2) // "Reprindek, Brono went", "Ball, Isabella is marked"
            } else if shape == 2 && upper_first(w) {
                // "Preimus called", "Buprendia Stondnortik was laid", "Staer Ware was taken"
                Some(if words.get(i + 1).is_some_and(|x| name_shape(text, x) >= 1 && upper_first(x)) {
                    i + 1
                } else {
                    i
                })
            } else if shape == 2
                && words.get(i + 1).is_some_and(|x| name_shape(text, x) == 2 && !upper_first(x) && !upper_first(w))
            {
                Some(i + 1) // two unknown lowercase words: "pusko hawe is a pleasant"
            } else if shape == 2 && !upper_first(w) && lower.get(i + 1).is_some_and(|x| HUMAN_VERBS.contains(x)) {
                Some(i) // one unknown lowercase word before a verb only people take: "pruar ate 50%"
            } else if upper_first(w)
                && lexicon.word_flags(word_of(text, w)) & flags::FIRST_NAME != 0
                && w.flags & (NOT_NAME & !flags::STOP) == 0
            {
                // (The lexicon's own flags: the tagger's drop the name of a word the corpus
                // mostly writes in lowercase, as "Mark".)
                // A listed first name that is also a word ("Mark"), before a verb only people
                // take, past an adverb: "Mark recently underwent surgery"; with a surname after
                // it, "Blanca Hoffman tolerated the procedure".
                Some(if words.get(i + 1).is_some_and(|x| name_shape(text, x) >= 1 && upper_first(x)) {
                    i + 1
                } else {
                    i
                })
            } else {
                None
            };
            if let Some(end) = end {
                let adverb = lower.get(end + 1).is_some_and(|x| ADVERBS.contains(x)) as usize;
                let next = |k: usize| lower.get(end + adverb + k).copied().unwrap_or("");
                let strong = shape == 2 || end > i || initials_at(text, words, i).is_some();
                if HUMAN_VERBS.contains(&next(1))
                    || strong
                        && (AFTER_ONE.contains(&next(1))
                            || AFTER_TWO.iter().any(|&(a, b)| a == next(1) && b == next(2)))
                    || (AFTER_ONE_WEAK.contains(&next(1))
                        && (end > i || !THING_PARTICIPLES.contains(&if next(2) == "be" { next(3) } else { next(2) }))
                        && written_as_names(text, &words[i..=end]))
                {
                    push(&mut out, (i, end));
                }
            }
        }
        // A signature line: "Signed: Ball, RD", "Toulsia Jeiskez, RD".
        if clause_start(text, words, i)
            && !matches!(l, "," | "." | ":" | "-")
            && out.last().is_none_or(|s: &Span| s.end <= w.token.start)
        {
            let mut end = i;
            let capital = |x: &TokenFacts| {
                let t = word_of(text, x);
                t.starts_with(char::is_uppercase)
                    && t.chars().any(char::is_lowercase)
                    && t.chars().all(|c| c.is_alphabetic() || c == '\'' || c == '-')
                    && x.flags & NOT_NAME == 0
            };
            if capital(w) {
                while end + 1 < words.len() && end < i + 2 && capital(&words[end + 1]) {
                    end += 1;
                }
                let cred = words.get(end + 2).filter(|x| {
                    x.flags & flags::CREDENTIAL != 0 && !matches!(lower[end + 2], "do" | "pt" | "ot" | "pa")
                });
                let line_end = cred.is_some_and(|x| {
                    let rest = text[x.token.end..].trim_start_matches([' ', '\t', ',', '.']);
                    rest.is_empty() || rest.starts_with(['\n', '\r']) || rest.starts_with(|c: char| c.is_ascii_digit())
                });
                if lower.get(end + 1).is_some_and(|x| *x == ",") && line_end {
                    push(&mut out, (i, end));
                }
            }
        }
        // Signed initials: "-V.C.V." or "-RFJ" at a line's end.
        if l == "-" && words.get(i + 1).is_some_and(|x| x.token.start == w.token.end) {
            if let Some(end) = initials_at(text, words, i + 1) {
                let rest = &text[words[end].token.end..];
                if rest.trim_start_matches([' ', '\t']).starts_with(['\n', '\r']) || rest.trim().is_empty() {
                    push(&mut out, (i + 1, end));
                }
            }
        }
    }
    out
}

/// Nouns of a site of care that a town's name comes before: "the Lenek lab draw station", "the
/// Deic outpatient imaging site", "the Ames clinic".
const SITE_NOUNS: &[&str] =
    &["lab", "outpatient", "imaging", "clinic", "office", "site", "branch", "campus", "satellite"];

/// Towns next to a facility or a person: "Films from Dimik Medical Group, Dalyberg, reviewed",
/// "the Edwin Cancer Center in Breindan", "physician is Dr Carole Sharek in Rorley", and "at the
/// Lenek lab draw station". The town is one or two words shaped as a name (unknown to the
/// corpus, or listed), capitalized unless the corpus never had it.
fn places_by_facilities(text: &str, words: &[TokenFacts], rule_spans: &[Span], learned: &[Span]) -> Vec<Span> {
    let found = Findings::new(rule_spans, learned);
    let covered = |k: usize| found.overlaps(words[k].token.start, words[k].token.end);
    let ends_here = |k: usize, kinds: &[PhiType]| found.ends_at(words[k].token.end, kinds);
    let place_word = |k: usize| {
        words.get(k).is_some_and(|w| {
            let shape = name_shape(text, w);
            let upper = word_of(text, w).starts_with(char::is_uppercase);
            !covered(k)
                && w.flags & (flags::HOSPITAL_WORD | flags::MEDICAL_HEAD) == 0
                && (shape == 2 || (shape == 1 && upper) || (upper && w.flags & flags::CITY != 0))
        })
    };
    let mut out = Vec::new();
    let mut push = |a: usize, b: usize| {
        out.push(Span { start: words[a].token.start, end: words[b].token.end, kind: PhiType::Location })
    };
    let lower = |k: usize| words.get(k).map_or(String::new(), |w| word_of(text, w).to_ascii_lowercase());
    for k in 1..words.len() {
        let sep = lower(k);
        let after_facility = ends_here(k - 1, &[PhiType::Hospital]);
        // (Or a role: "the surgeon in High Point", "her dentist in Sacaton".)
        let after_person = ends_here(k - 1, &[PhiType::Name]) || words[k - 1].flags & flags::STAFF != 0;
        // "Hospital, Town," / "Hospital, Town reviewed": the town between commas or before a verb.
        if sep == "," && after_facility && place_word(k + 1) {
            let end =
                if place_word(k + 2) && words[k + 2].token.start == words[k + 1].token.end + 1 { k + 2 } else { k + 1 };
            let next = lower(end + 1);
            if matches!(next.as_str(), "," | "." | ";" | ")" | "reviewed" | "") {
                push(k + 1, end);
            }
        }
        // "Hospital in Town", "Dr Name in Town": capitalized only.
        if sep == "in"
            && (after_facility || after_person)
            && place_word(k + 1)
            && word_of(text, &words[k + 1]).starts_with(char::is_uppercase)
        {
            let end = if place_word(k + 2)
                && word_of(text, &words[k + 2]).starts_with(char::is_uppercase)
                && words[k + 2].token.start == words[k + 1].token.end + 1
            {
                k + 2
            } else {
                k + 1
            };
            push(k + 1, end);
        }
        // "Iowa City and Des Moines": a listed town after a town found.
        if sep == "and" && ends_here(k - 1, &[PhiType::Location]) {
            if let Some(w) =
                words.get(k + 1).filter(|w| word_of(text, w).starts_with(char::is_uppercase) && !covered(k + 1))
            {
                let phrase_city = w.phrase & PHRASE_BEGIN != 0 && (w.phrase as u16) & flags::CITY != 0;
                if phrase_city || (w.phrase == 0 && w.flags & flags::CITY != 0) {
                    let mut end = k + 1;
                    while phrase_city && end + 1 < words.len() && words[end + 1].phrase & PHRASE_INSIDE != 0 {
                        end += 1;
                    }
                    push(k + 1, end);
                }
            }
        }
        // "at the Town lab draw station".
        // (The noun in lowercase: "at the Physiatry Clinic" names a department.)
        let site_noun = words.get(k + 2).is_some_and(|w| {
            let noun = word_of(text, w);
            SITE_NOUNS.contains(&noun) && noun.starts_with(char::is_lowercase)
        });
        if sep == "the" && lower(k - 1) == "at" && place_word(k + 1) && site_noun {
            push(k + 1, k + 1);
        }
    }
    out
}

/// "City, State" where both are in the lexicon and the city is capitalized.
/// The unit (a phrase of the lexicon or one word) starting at token i with any of `want`: its
/// last token.
fn place_unit(words: &[TokenFacts], i: usize, want: u16) -> Option<usize> {
    let w = words.get(i)?;
    if w.phrase & PHRASE_BEGIN != 0 && (w.phrase as u16) & want != 0 {
        let mut j = i;
        while j + 1 < words.len() && words[j + 1].phrase & PHRASE_INSIDE != 0 {
            j += 1;
        }
        return Some(j);
    }
    (w.phrase == 0 && w.flags & want != 0).then_some(i)
}

/// A country of the lexicon, capitalized, after "in", "from" or "to" (and "the"), in a sentence
/// about a person: "he raised himself in the Philippines", "her family emigrated from Poland". Not
/// a study's country ("a cohort in Japan": no person before it in the sentence), not one that is
/// also a name of the lists ("to Jordan"), nor the start of a longer name ("in China Garden").
fn country_spans(text: &str, words: &[TokenFacts]) -> Vec<Span> {
    const PERSON: &[&str] = &["he", "she", "his", "her", "him", "patient", "pt", "patient's", "pt's"];
    let lower = |i: usize| text[words[i].token.start..words[i].token.end].to_ascii_lowercase();
    // A pronoun or a relation of the lexicons ("her family", "his wife") before it in the sentence.
    let about_a_person = |i: usize| {
        (0..i)
            .rev()
            .take(16)
            .take_while(|&k| !matches!(lower(k).as_str(), "." | ";" | "!" | "?"))
            .any(|k| words[k].flags & flags::RELATION != 0 || PERSON.contains(&lower(k).as_str()))
    };
    let mut out = Vec::new();
    for i in 1..words.len() {
        let Some(end) = place_unit(words, i, flags::COUNTRY) else { continue };
        let first = &text[words[i].token.start..words[i].token.end];
        if !first.starts_with(char::is_uppercase)
            || (end == i && words[i].flags & (flags::FIRST_NAME | flags::LAST_NAME) != 0)
        {
            continue;
        }
        let before = if lower(i - 1) == "the" && i >= 2 { i - 2 } else { i - 1 };
        if !matches!(lower(before).as_str(), "in" | "from" | "to") || !about_a_person(before) {
            continue;
        }
        let longer = words.get(end + 1).is_some_and(|x| {
            x.token.start == words[end].token.end + 1 && text[x.token.start..].starts_with(char::is_uppercase)
        });
        if !longer {
            out.push(Span { start: words[i].token.start, end: words[end].token.end, kind: PhiType::Location });
        }
    }
    out
}

fn city_state_spans(text: &str, words: &[TokenFacts]) -> Vec<Span> {
    let unit = |i: usize, want: u16| place_unit(words, i, want);
    let capitalized = |i: usize| text[words[i].token.start..].starts_with(char::is_uppercase);
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let found = unit(i, flags::CITY).filter(|_| capitalized(i)).and_then(|city_end| {
            let comma = words.get(city_end + 1)?;
            if &text[comma.token.start..comma.token.end] != "," {
                return None;
            }
            let state_end = unit(city_end + 2, flags::STATE | flags::STATE_ABBR)?;
            capitalized(city_end + 2).then_some(state_end)
        });
        match found {
            Some(end) => {
                out.push(Span { start: words[i].token.start, end: words[end].token.end, kind: PhiType::Location });
                i = end + 1;
            }
            None => i += 1,
        }
    }
    out
}

/// Sorted, non-overlapping: same-type spans that overlap or are one space (names and places: or
/// one ", ") apart become one, and
/// so do spans of any types that touch with no gap ("St. Luke" + "'s" -> one span; a hospital
/// part makes it a hospital); of two overlapping spans of different types the longer stays.
fn merge_learned(text: &str, mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(a.kind.cmp(&b.kind)));
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        let Some(last) = out.last_mut() else {
            out.push(span);
            continue;
        };
        // "Smith, John" and "Reno, Nevada" are one finding: same-type spans one ", " apart.
        let touching = (span.start == last.end + 1 && &text[last.end..span.start] == " ")
            || (span.kind != PhiType::Hospital && span.start == last.end + 2 && &text[last.end..span.start] == ", ");
        if span.kind == last.kind && (span.start < last.end || touching) {
            last.end = last.end.max(span.end);
        } else if span.start == last.end {
            if span.kind == PhiType::Hospital {
                last.kind = PhiType::Hospital;
            }
            last.end = span.end;
        } else if span.start < last.end {
            if span.end - span.start > last.end - last.start {
                *last = span;
            }
        } else {
            out.push(span);
        }
    }
    out
}

/// Name words found by the tagger, looked for again in the rest of the document.
fn propagate_names(
    text: &str,
    words: &[TokenFacts],
    learned: Vec<Span>,
    rule_spans: &[Span],
    cued: &[Span],
    lower_doc: bool,
) -> Vec<Span> {
    let mut forms: Vec<String> = Vec::new();
    let mut any_case: Vec<String> = Vec::new();
    for span in learned.iter().filter(|s| s.kind == PhiType::Name) {
        for w in tokens_in(words, span) {
            let word = &text[w.token.start..w.token.end];
            let chars = word.chars().count();
            // Short words, stop words, medical heads, words common in the training corpus and
            // lowercase words (unless the whole document is) stay where they were found.
            if chars < 3
                || !is_alphabetic(text, &w.token)
                || w.flags & (flags::STOP | flags::MEDICAL_HEAD) != 0
                || (w.stats & stat::COUNT_MASK) >= 3
            {
                continue;
            }
            // A word the training corpus never had, found in lowercase after a cue, is a name in any case
            // ("wife brarra ... Brarra called"); a capitalized find does not spread to lowercase
            // ("Perpetrator drugs ... the perpetrator"), and another lowercase find spreads only
            // in a lowercase document.
            let by_cue = cued.iter().any(|c| c.start <= w.token.start && w.token.end <= c.end);
            if by_cue && w.stats & stat::PRESENT == 0 && !word.chars().any(char::is_uppercase) {
                if !any_case.iter().any(|f: &String| f.eq_ignore_ascii_case(word)) {
                    any_case.push(word.to_string());
                }
                continue;
            }
            if !lower_doc && !word.starts_with(char::is_uppercase) {
                continue;
            }
            for form in [word.to_string(), word.to_uppercase(), super::rules::title_case(word)] {
                if !forms.contains(&form) {
                    forms.push(form);
                }
            }
        }
    }
    if forms.is_empty() && any_case.is_empty() {
        return learned;
    }
    let covered = |spans: &[Span], t: &Token| {
        let k = spans.partition_point(|s| s.end <= t.start);
        k < spans.len() && spans[k].start < t.end
    };
    let mut found: Vec<Span> = words
        .iter()
        .filter(|w| {
            let word = &text[w.token.start..w.token.end];
            word.len() >= 3
                && (forms.iter().any(|f| f == word) || any_case.iter().any(|f| f.eq_ignore_ascii_case(word)))
        })
        .filter(|w| !covered(&learned, &w.token) && !covered(rule_spans, &w.token))
        .map(|w| Span { start: w.token.start, end: w.token.end, kind: PhiType::Name })
        .collect();
    if found.is_empty() {
        return learned;
    }
    found.extend(learned);
    merge_learned(text, found)
}

/// Rule spans, plus the learned ones: a learned span that only overlaps rule spans of its own
/// type joins them into one span (the same finding, the tagger saw more of it: "University of
/// Eaglecrest Medical Center" over the rules' "Eaglecrest Medical Center"); otherwise only its
/// parts outside the rule spans stay (trimmed to start and end on a letter or digit, and of at
/// least two).
fn combine(text: &str, rule_spans: Vec<Span>, learned: Vec<Span>) -> Vec<Span> {
    let mut rules = rule_spans;
    let mut extra = Vec::new();
    for span in learned {
        let first = rules.partition_point(|r| r.end <= span.start);
        let last = first + rules[first..].iter().take_while(|r| r.start < span.end).count();
        let overlapped = &rules[first..last];
        if !overlapped.is_empty() && overlapped.iter().all(|r| r.kind == span.kind) {
            let joined = Span {
                start: span.start.min(overlapped[0].start),
                end: span.end.max(overlapped[overlapped.len() - 1].end),
                kind: span.kind,
            };
            rules.splice(first..last, [joined]);
            continue;
        }
        let mut pieces = vec![(span.start, span.end)];
        for rule in overlapped {
            pieces = pieces
                .into_iter()
                .flat_map(|(s, e)| [(s, rule.start.min(e)), (rule.end.max(s), e)])
                .filter(|(s, e)| s < e)
                .collect();
        }
        for (s, e) in pieces {
            let piece = &text[s..e];
            let lead = piece.len() - piece.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
            let kept = piece.trim_matches(|c: char| !c.is_alphanumeric());
            // A leftover of one character ("s" of "'s", an initial) or a line head ("Login" of
            // "Login irezk" once the user name is the rules') is no finding of its own.
            if kept.chars().filter(|c| c.is_alphanumeric()).count() >= 2
                && !LINE_HEADS.contains(&kept.to_ascii_lowercase().as_str())
            {
                // Dotted initials keep their last period ("R.L.F.").
                let dotted = kept.len() >= 3
                    && kept.as_bytes()[kept.len() - 2] == b'.'
                    && piece[lead + kept.len()..].starts_with('.');
                let end = s + lead + kept.len() + dotted as usize;
                extra.push(Span { start: s + lead, end, kind: span.kind });
            }
        }
    }
    rules.extend(extra);
    rules.sort_by_key(|s| (s.start, s.end));
    join_names(text, rules)
}

/// Names one ", " apart become one span ("Kissane, Gene": the rules saw one half, the tagger the
/// other), and a name takes in an initial right before it ("P. Treford").
fn join_names(text: &str, spans: Vec<Span>) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for mut span in spans {
        if span.kind == PhiType::Name && span.start >= 3 {
            let before = &text.as_bytes()[..span.start];
            let n = before.len();
            let initial = before[n - 1] == b' '
                && before[n - 2] == b'.'
                && before[n - 3].is_ascii_uppercase()
                && (n == 3 || !before[n - 4].is_ascii_alphanumeric() && before[n - 4] != b'.');
            if initial && out.last().is_none_or(|l| l.end <= n - 3) {
                span.start = n - 3;
            }
        }
        match out.last_mut() {
            Some(last)
                if last.kind == PhiType::Name
                    && span.kind == PhiType::Name
                    && &text[last.end..span.start.max(last.end)] == ", " =>
            {
                last.end = span.end;
            }
            _ => out.push(span),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deid::lexicon::tests::small;
    use crate::deid::model::tests::tiny_model;

    fn show(text: &str, spans: &[Span]) -> Vec<(String, &'static str)> {
        spans.iter().map(|s| (text[s.start..s.end].to_string(), s.kind.as_str())).collect()
    }

    #[test]
    fn city_state_from_the_lexicon_alone() {
        let engine = Engine::new(small(), None, false).unwrap();
        let text = "Moved from Salt Lake City, Utah to Boston, Texas; boston, texas; Normal, Utah; Boston, MA.";
        assert_eq!(
            show(text, &engine.detect(text)),
            vec![("Salt Lake City, Utah".to_string(), "LOCATION"), ("Boston, Texas".to_string(), "LOCATION")]
        );
    }

    #[test]
    fn countries_after_a_preposition() {
        let engine = Engine::new(small(), None, false).unwrap();
        let text = "He was raised in the Philippines; his wife moved from Mexico to Jordan; he ate in Mexico Garden.";
        assert_eq!(
            show(text, &engine.detect(text)),
            vec![("Philippines".to_string(), "LOCATION"), ("Mexico".to_string(), "LOCATION")]
        );
        let study = "A cohort of 300 adults in the Philippines and in Mexico. Her sister; philippines.";
        assert!(engine.detect(study).is_empty(), "a study's countries: {:?}", show(study, &engine.detect(study)));
    }

    #[test]
    fn rules_win_and_learned_spans_keep_their_outside_parts() {
        let text = "Ann Lee met Dr. Smith at 3 Main Street, Boston, MA 02110.";
        let rule = |a: &str, kind| span_at(text, a, 0, kind);
        let rules = vec![rule("Smith", PhiType::Name), rule("3 Main Street, Boston, MA 02110", PhiType::Address)];
        let learned = vec![
            rule("Ann Lee", PhiType::Name),
            rule("Dr. Smith", PhiType::Hospital),
            rule("Boston", PhiType::Location),
        ];
        let learned = merge_learned(text, learned);
        assert_eq!(
            show(text, &combine(text, rules, learned)),
            vec![
                ("Ann Lee".to_string(), "NAME"),
                ("Dr".to_string(), "HOSPITAL"),
                ("Smith".to_string(), "NAME"),
                ("3 Main Street, Boston, MA 02110".to_string(), "ADDRESS")
            ]
        );
        // A learned span over rule spans of its own type joins them.
        let text = "at University of Eaglecrest Medical Center and Lee today";
        let at = |a: &str, kind| span_at(text, a, 0, kind);
        let rules = vec![at("Eaglecrest Medical Center", PhiType::Hospital), at("Lee", PhiType::Name)];
        let learned =
            vec![at("University of Eaglecrest Medical Center", PhiType::Hospital), at("Lee today", PhiType::Location)];
        assert_eq!(
            show(text, &combine(text, rules, learned)),
            vec![
                ("University of Eaglecrest Medical Center".to_string(), "HOSPITAL"),
                ("Lee".to_string(), "NAME"),
                ("today".to_string(), "LOCATION")
            ]
        );
        // What is left of "St. Luke's" around a rule's "St. Luke" is an "s": dropped.
        let text = "from St. Luke's today";
        let (rules, learned) = (
            vec![Span { start: 5, end: 13, kind: PhiType::Location }],
            vec![Span { start: 5, end: 15, kind: PhiType::Hospital }],
        );
        assert_eq!(show(text, &combine(text, rules, learned)), vec![("St. Luke".to_string(), "LOCATION")]);
    }

    #[test]
    fn merging_learned_spans() {
        let text = "John Smith, Boston Memorial Hospital";
        let at = |a: &str, kind| span_at(text, a, 0, kind);
        let merged = merge_learned(
            text,
            vec![
                at("Smith", PhiType::Name),
                at("John", PhiType::Name),
                at("Boston", PhiType::Location),
                at("Boston Memorial Hospital", PhiType::Hospital),
            ],
        );
        assert_eq!(
            show(text, &merged),
            vec![("John Smith".to_string(), "NAME"), ("Boston Memorial Hospital".to_string(), "HOSPITAL")]
        );
        let text = "St. Luke's";
        let merged = merge_learned(
            text,
            vec![
                Span { start: 0, end: 8, kind: PhiType::Location },
                Span { start: 8, end: 10, kind: PhiType::Hospital },
            ],
        );
        assert_eq!(show(text, &merged), vec![("St. Luke's".to_string(), "HOSPITAL")]);
        // "Last, First" and "City, State" are one span; a hospital and its town stay two.
        let text = "Okafor, Ann at Reno, Nevada from Arden Hospital, Reno";
        let at = |a: &str, kind| span_at(text, a, 0, kind);
        let merged = merge_learned(
            text,
            vec![
                at("Okafor", PhiType::Name),
                at("Ann", PhiType::Name),
                at("Reno, Nevada", PhiType::Location),
                at("Arden Hospital", PhiType::Hospital),
                Span { start: text.len() - 4, end: text.len(), kind: PhiType::Location },
            ],
        );
        assert_eq!(
            show(text, &merged),
            vec![
                ("Okafor, Ann".to_string(), "NAME"),
                ("Reno, Nevada".to_string(), "LOCATION"),
                ("Arden Hospital".to_string(), "HOSPITAL"),
                ("Reno".to_string(), "LOCATION")
            ]
        );
    }

    fn facts(text: &str) -> Vec<TokenFacts> {
        crate::deid::features::tokenize(text)
            .into_iter()
            .map(|token| TokenFacts { token, flags: 0, phrase: 0, stats: 0 })
            .collect()
    }

    #[test]
    fn learned_spans_widen_to_places_and_hospitals_of() {
        let engine = Engine::new(small(), None, false).unwrap();
        let text = "From Salt Lake City to the Hospital of Belmar today.";
        let doc = DocContext::new(text, engine.lexicon());
        let words: Vec<TokenFacts> = doc
            .tokens
            .iter()
            .zip(&doc.contexts)
            .map(|(t, c)| TokenFacts {
                token: *t,
                flags: engine.lexicon().word_flags(&text[t.start..t.end]),
                phrase: c.phrase,
                stats: 0,
            })
            .collect();
        let at = |a: &str| span_at(text, a, 0, PhiType::Location);
        let widened = widen_learned(text, &words, vec![at("Lake"), at("Belmar")]);
        assert_eq!(
            show(text, &widened),
            vec![("Salt Lake City".to_string(), "LOCATION"), ("Hospital of Belmar".to_string(), "HOSPITAL")]
        );
        let widened = widen_learned(text, &words, vec![Span { kind: PhiType::Hospital, ..at("of Belmar") }]);
        assert_eq!(show(text, &widened), vec![("Hospital of Belmar".to_string(), "HOSPITAL")]);
    }

    #[test]
    fn names_join_across_a_comma_and_take_in_an_initial() {
        let text = "Primary MD: Kissane, Gene, MD. P. Treford/BC; vitamin D. Lee";
        let at = |a: &str| span_at(text, a, 0, PhiType::Name);
        assert_eq!(
            show(text, &join_names(text, vec![at("Kissane"), at("Gene"), at("Treford"), at("Lee")])),
            vec![
                ("Kissane, Gene".to_string(), "NAME"),
                ("P. Treford".to_string(), "NAME"),
                ("D. Lee".to_string(), "NAME")
            ]
        );
        let text = "Dr. Lee";
        assert_eq!(
            show(text, &join_names(text, vec![Span { start: 4, end: 7, kind: PhiType::Name }])),
            vec![("Lee".to_string(), "NAME")]
        );
    }

    #[test]
    fn hospitals_after_a_mask_are_placeholders() {
        let text = "to ABCD General Hospital and XXX Clinic and Mercy General Hospital";
        let at = |a: &str| span_at(text, a, 0, PhiType::Hospital);
        assert!(after_mask(text, &at("General Hospital")));
        assert!(after_mask(text, &at("Clinic")));
        assert!(!after_mask(text, &at("Mercy General Hospital")));
    }

    #[test]
    fn lone_state_codes_are_no_places() {
        let text = "Ann Lee, ID 553; Reno, NV; Salem, OR 97301; lives in KS, here";
        let at = |a: &str| span_at(text, a, 0, PhiType::Location);
        assert!(lone_code(text, &at("ID")));
        let name = |t: &str, w: &str| span_at(t, w, 0, PhiType::Name);
        for (t, w) in [
            ("Mr. Sample Patient returns", "Sample Patient"),
            ("office of Dr. Sample Doctor4 and", "Sample Doctor4"),
            ("with his mother, Xyz, and", "Xyz"),
            ("returns to the Sample", "Sample"),
        ] {
            assert!(placeholder_span(t, &name(t, w)), "{w}");
        }
        for (t, w) in [
            ("with his mother, Mary, and", "Mary"),
            ("Dr. Patient Samples", "Patient Samples"),
            ("VS stable, B.W. aware", "B.W."),
            ("Advised ED. -GG", "GG"),
        ] {
            assert!(!placeholder_span(t, &name(t, w)), "{w}");
        }
        assert!(!lone_code(text, &at("Reno, NV")));
        assert!(!lone_code(text, &at("OR")), "before a ZIP code");
        assert!(!lone_code(text, &at("KS")), "after \"in\"");
        assert!(!lone_code(text, &Span { kind: PhiType::Name, ..at("ID") }));
    }

    #[test]
    fn tagger_names_propagate() {
        let text = "Met Okafor today. Later OKAFOR called, and okafor's son came; Okaforine is a word.";
        let learned = vec![Span { start: 4, end: 10, kind: PhiType::Name }];
        let rules = vec![];
        let rare = |text: &str| {
            let mut words = facts(text);
            words.iter_mut().for_each(|w| w.stats = stat::PRESENT | 1);
            words
        };
        assert_eq!(
            show(text, &propagate_names(text, &rare(text), learned.clone(), &rules, &[], false)),
            vec![("Okafor".to_string(), "NAME"), ("OKAFOR".to_string(), "NAME")],
            "exact, capitalized and all-capitals forms; not the lowercase one in a mixed-case text"
        );
        // Stop words and words common in the corpus stay where they were found.
        let mut words = facts(text);
        words[1].flags = flags::STOP;
        assert_eq!(propagate_names(text, &words, learned.clone(), &rules, &[], false).len(), 1);
        let mut words = facts(text);
        words[1].stats = 5;
        assert_eq!(propagate_names(text, &words, learned, &rules, &[], false).len(), 1);
        // A lowercase find spreads only in a lowercase document, unless the corpus never had
        // the word: then it spreads in any case.
        let text = "met okafor today. later okafor called.";
        let learned = vec![Span { start: 4, end: 10, kind: PhiType::Name }];
        assert_eq!(propagate_names(text, &rare(text), learned.clone(), &rules, &[], false).len(), 1);
        assert_eq!(propagate_names(text, &rare(text), learned.clone(), &rules, &[], true).len(), 2);
        let text = "pt's wife brarra at bedside. Brarra called; BRARRA here";
        let learned = vec![Span { start: 10, end: 16, kind: PhiType::Name }];
        assert_eq!(
            show(text, &propagate_names(text, &facts(text), learned.clone(), &rules, &learned, false)),
            vec![("brarra".to_string(), "NAME"), ("Brarra".to_string(), "NAME"), ("BRARRA".to_string(), "NAME")]
        );
        assert_eq!(propagate_names(text, &facts(text), learned, &rules, &[], false).len(), 1, "not found by a cue");
    }

    #[test]
    fn end_to_end_with_the_tagger() {
        let engine = Engine::new(small(), Some(tiny_model(1)), true).unwrap();
        let text = "The patient met Orla today. Later ORLA called.";
        assert_eq!(show(text, &engine.detect(text)), vec![("Orla".to_string(), "NAME"), ("ORLA".to_string(), "NAME")]);
        let out = engine.deidentify(text, Replacement::Placeholder);
        assert_eq!(out.text, "The patient met [NAME] today. Later [NAME] called.");
    }

    #[test]
    fn towns_next_to_facilities_and_people() {
        let text = "Films from Dimik Medical Group, Dalyberg, reviewed. Seen at the Edwin Cancer Center in \
                    Breindan. Physician is Dr Carole Sharek in Rorley. Labs at the Lenek lab draw station. \
                    Seen at the Physiatry Clinic. Dr Sharek in clinic.";
        let words = facts_with(
            text,
            &[
                "films",
                "from",
                "reviewed",
                "seen",
                "at",
                "the",
                "in",
                "physician",
                "is",
                "labs",
                "lab",
                "draw",
                "station",
                "clinic",
            ],
            &[
                ("medical", flags::HOSPITAL_WORD),
                ("group", flags::HOSPITAL_WORD),
                ("cancer", flags::HOSPITAL_WORD),
                ("center", flags::HOSPITAL_WORD),
                ("clinic", flags::HOSPITAL_WORD),
            ],
        );
        let at = |a: &str, kind| span_at(text, a, 0, kind);
        let rule_spans = vec![
            at("Dimik Medical Group", PhiType::Hospital),
            at("Edwin Cancer Center", PhiType::Hospital),
            at("Carole Sharek", PhiType::Name),
        ];
        let learned = vec![Span {
            start: text.rfind("Sharek").unwrap(),
            end: text.rfind("Sharek").unwrap() + 6,
            kind: PhiType::Name,
        }];
        let found = places_by_facilities(text, &words, &rule_spans, &learned);
        let shown: Vec<String> = show(text, &found).into_iter().map(|(w, _)| w).collect();
        assert_eq!(shown, vec!["Dalyberg", "Breindan", "Rorley", "Lenek"]);
    }

    #[test]
    fn a_word_between_two_names_of_a_list_is_a_name() {
        let text = "Meeting held with Ms Hearne, Thulsia and Dr. Bhatnagar. Seen with Hearne, Lasix and water.";
        let words = facts_with(text, &["meeting", "held", "with", "ms", "and", "dr", "seen", "water", "lasix"], &[]);
        let mut words = words;
        for w in words.iter_mut() {
            if matches!(&text[w.token.start..w.token.end], "Ms" | "Dr") {
                w.flags = flags::TITLE;
            }
        }
        let name = |a: &str, from: usize| span_at(text, a, from, PhiType::Name);
        let rule_spans = vec![name("Hearne", 0), name("Bhatnagar", 0), name("Hearne", 60)];
        let found = names_in_lists(text, &words, &rule_spans, &[]);
        assert_eq!(show(text, &found), vec![("Thulsia".to_string(), "NAME")]);
    }

    #[test]
    fn implausible_learned_spans() {
        let text = "Foley placed. Okafor's syndrome. M89 code. Okafor came.";
        let mut words = facts(text);
        words[0].flags = flags::STOP; // "Foley"
        let syndrome = words.iter().position(|w| &text[w.token.start..w.token.end] == "syndrome").unwrap();
        words[syndrome].flags = flags::MEDICAL_HEAD;
        let at = |a: &str, from: usize| span_at(text, a, from, PhiType::Name);
        let mixed = doc_case::MIXED;
        assert!(!plausible(text, &words, &at("Foley", 0), mixed), "a stop word");
        assert!(!plausible(text, &words, &at("Okafor", 0), mixed), "an eponym");
        assert!(!plausible(text, &words, &at("M89", 0), mixed), "a code");
        assert!(plausible(text, &words, &at("Okafor", 30), mixed));

        // Past lowercase modifiers and a coordinated eponym; an author cited.
        let text = "With Greenwood bipolar forceps. Hawkins and Neer impingement signs. As in Rowland, et al. \
                    Greenwood came with Neer and his son.";
        let mut words = facts(text);
        for w in words.iter_mut() {
            if matches!(&text[w.token.start..w.token.end], "forceps" | "signs") {
                w.flags = flags::MEDICAL_HEAD;
            }
        }
        let at = |a: &str, from: usize| span_at(text, a, from, PhiType::Name);
        for name in ["Greenwood", "Hawkins", "Neer", "Rowland"] {
            assert!(!plausible(text, &words, &at(name, 0), mixed), "{name}");
        }
        let text2 = "The foramen of Munro is open. GU: Tanner I female. Munro came.";
        let mut words2 = facts(text2);
        for w in words2.iter_mut() {
            if &text2[w.token.start..w.token.end] == "foramen" {
                w.flags = flags::MEDICAL_HEAD;
            }
        }
        let at2 = |a: &str, from: usize| span_at(text2, a, from, PhiType::Name);
        assert!(!plausible(text2, &words2, &at2("Munro", 0), mixed), "foramen of Munro");
        assert!(!plausible(text2, &words2, &at2("Tanner", 0), mixed), "Tanner I");
        assert!(plausible(text2, &words2, &at2("Munro", 40), mixed));
        let later = text.find("Greenwood came").unwrap();
        assert!(plausible(text, &words, &at("Greenwood", later), mixed));
        assert!(plausible(text, &words, &at("Neer", later), mixed));

        let text = "spoke with mary and kinase today, trouyn (wife) and serine";
        let mut words = facts(text);
        words[2].flags = flags::FIRST_NAME;
        words[4].stats = stat::PRESENT | 3; // "kinase": a word of the training corpus
        let wife = words.iter().position(|w| &text[w.token.start..w.token.end] == "wife").unwrap();
        words[wife].flags = flags::RELATION;
        let at = |a: &str| span_at(text, a, 0, PhiType::Name);
        assert!(plausible(text, &words, &at("mary"), doc_case::MIXED), "lowercase, but a known first name");
        assert!(!plausible(text, &words, &at("kinase"), doc_case::MIXED), "lowercase and in no list");
        assert!(plausible(text, &words, &at("kinase"), doc_case::LOWER), "in a lowercase document the tagger decides");
        assert!(plausible(text, &words, &at("trouyn"), doc_case::MIXED), "lowercase, no word of the corpus, a cue");
        assert!(!plausible(text, &words, &at("serine"), doc_case::MIXED), "lowercase, no word of the corpus, no cue");

        let text = "from dokley cancer center and the wound care center";
        let mut words = facts(text);
        for w in words.iter_mut() {
            match &text[w.token.start..w.token.end] {
                "center" => w.flags = flags::HOSPITAL_WORD,
                "dokley" => {}
                _ => w.stats = stat::PRESENT | 5,
            }
        }
        let at = |a: &str| span_at(text, a, 0, PhiType::Hospital);
        assert!(
            plausible(text, &words, &at("dokley cancer center"), doc_case::MIXED),
            "an unknown word, a hospital word"
        );
        assert!(!plausible(text, &words, &at("the wound care center"), doc_case::MIXED), "only words of the corpus");

        let text = "in NASH and LEE and BDNF";
        let mut words = facts(text);
        words[3].flags = flags::LAST_NAME;
        let at = |a: &str| span_at(text, a, 0, PhiType::Name);
        assert!(!plausible(text, &words, &at("NASH"), doc_case::MIXED), "an acronym");
        assert!(plausible(text, &words, &at("LEE"), doc_case::MIXED), "a known surname");
        assert!(plausible(text, &words, &at("BDNF"), doc_case::UPPER), "in capitals everything is");
    }

    /// The span of the first `needle` in `text` at or after `from`.
    fn span_at(text: &str, needle: &str, from: usize, kind: PhiType) -> Span {
        let start = text[from..].find(needle).unwrap_or_else(|| panic!("{needle:?} not in {text:?}")) + from;
        Span { start, end: start + needle.len(), kind }
    }

    /// Facts for `text` where `known` words are words of the training corpus (mostly lowercase)
    /// and the lexicon's flags are set by hand.
    fn facts_with(text: &str, known: &[&str], flagged: &[(&str, u16)]) -> Vec<TokenFacts> {
        let mut words = facts(text);
        for w in words.iter_mut() {
            let word = text[w.token.start..w.token.end].to_ascii_lowercase();
            if known.contains(&word.as_str()) || !word.chars().any(char::is_alphabetic) {
                w.stats = stat::PRESENT | stat::STOP | (3 << stat::LOWER_SHIFT) | 5;
            }
            if let Some((_, f)) = flagged.iter().find(|(k, _)| *k == word) {
                w.flags = *f;
            }
        }
        words
    }

    #[test]
    fn names_after_cues() {
        let common = [
            "his",
            "at",
            "bedside",
            "checks",
            "on",
            "him",
            "pt's",
            "the",
            "desk",
            "of",
            "soft",
            "bp",
            "stable",
            "vs",
            "is",
            "awake",
            "went",
            "to",
            "pacu",
            "was",
            "laid",
            "supine",
            "from",
            "case",
            "management",
            "notified",
            "aware",
            "here",
            "read",
            "back",
            "message",
            "left",
            "with",
            "calling",
            "out",
            "for",
            "lives",
            "called",
            "phone",
            "note",
            "advised",
            "ed",
            "seen",
            "signed",
            "and",
            "ball",
            "home",
            "who",
            "of",
            "neglect",
            "alpha",
            "according",
            "he",
            "she",
            "lives",
            "her",
            "spoke",
            "w",
            "will",
            "call",
            "recently",
            "underwent",
            "surgery",
            "it",
            "a",
            "requesting",
            "call",
            "no",
            "distress",
            "a",
            "pleasant",
            "man",
            "marked",
        ];
        let cues = [
            ("grandson", flags::RELATION),
            ("wife", flags::RELATION),
            ("niece", flags::RELATION),
            ("dtr", flags::RELATION),
            ("md", flags::CREDENTIAL),
            ("rd", flags::CREDENTIAL),
            ("gene", flags::FIRST_NAME | flags::MEDICAL_HEAD),
            ("isabella", flags::FIRST_NAME),
            ("husband", flags::RELATION),
            ("mother", flags::RELATION),
            ("neighbor", flags::RELATION),
            ("father", flags::RELATION),
            ("daughter", flags::RELATION),
            ("family", flags::RELATION),
            ("brother", flags::RELATION),
        ];
        let found = |text: &str| -> Vec<String> {
            let words = facts_with(text, &common, &cues);
            cue_names(text, &words, &small()).iter().map(|s| text[s.start..s.end].to_string()).collect()
        };
        assert_eq!(found("his grandson zeisdrerto checks on him"), vec!["zeisdrerto"]);
        assert_eq!(found("pt's wife brarra at bedside"), vec!["brarra"]);
        assert_eq!(found("PT'S NIECE IMELLE HERE"), vec!["IMELLE"]);
        assert_eq!(found("Wife/dtr (Numgouso, Gene) at bedside"), vec!["Numgouso, Gene"]);
        assert_eq!(found("MD Eskley at bedside"), vec!["Eskley"]);
        assert_eq!(found("read back to Vaan."), vec!["Vaan"]);
        assert_eq!(found("message left with vilel at the desk"), vec!["vilel"]);
        assert_eq!(found("calling out for Ety."), vec!["Ety"]);
        assert_eq!(found("Lives with dasrokel"), vec!["dasrokel"]);
        assert_eq!(found("spoke w/ skorvan, will call back"), vec!["skorvan"]);
        assert_eq!(found("Phone note: Preimus called"), vec!["Preimus"]);
        assert_eq!(found("Dokus from case management"), vec!["Dokus"]);
        assert_eq!(found("Reprindek, Brono went to the PACU"), vec!["Reprindek, Brono"]);
        assert_eq!(found("Buprendia Stondnortik was laid supine"), vec!["Buprendia Stondnortik"]);
        assert_eq!(found("Ball, Isabella is marked"), vec!["Ball, Isabella"]);
        assert_eq!(found("Seen. Isabella recently underwent surgery"), vec!["Isabella"]);
        // A word the corpus never had, written as a name, before the plainest verbs.
        assert_eq!(found("To PACU. Reilette was subsequently extubated"), vec!["Reilette"]);
        assert_eq!(found("Seen. Fisker presents today"), vec!["Fisker"]);
        assert_eq!(found("Seen. Braley, Stamia was thereafter prepped"), vec!["Braley, Stamia"]);
        assert_eq!(found("Answered.  Staer Ware was then taken"), vec!["Staer Ware"]);
        assert_eq!(found("Seen. Helsertley, Franklin was then given heparin"), vec!["Helsertley, Franklin"]);
        assert_eq!(found("pt's brother grandar and golsie at bedside"), vec!["grandar", "golsie"]);
        assert_eq!(found("Seen.\nmessage from shorto grortek: needs refill"), vec!["shorto grortek"]);
        assert_eq!(found("Code status discussed with Enette and family today"), vec!["Enette"]);
        let al = "The patient's husband, Al, is also present";
        let words = facts_with(al, &common, &[("husband", flags::RELATION), ("al", flags::FIRST_NAME)]);
        assert_eq!(show(al, &cue_names(al, &words, &small())), vec![("Al".to_string(), "NAME")]);
        // The corpus writes "al" as a word ("et al"), which clears its name flag; the lists still know it.
        let words = facts_with(al, &common, &[("husband", flags::RELATION), ("al", flags::STOP)]);
        let lexicon =
            Lexicon::new(&[("first_name".to_string(), vec!["Al".to_string()])].into_iter().collect()).unwrap();
        assert_eq!(show(al, &cue_names(al, &words, &lexicon)), vec![("Al".to_string(), "NAME")]);
        assert_eq!(found("I did educate Kergavra Oelli."), vec!["Kergavra Oelli"]);
        assert_eq!(found("Breathing. Jambamar stopped taking it"), vec!["Jambamar"]);
        assert!(found("Seen.\nmessage from pharmacy about refill").is_empty());
        let mut known = common.to_vec();
        known.extend(["ate", "of", "lunch"]);
        let words = facts_with("Seen. pruar ate 50% of lunch", &known, &cues);
        let pruar = cue_names("Seen. pruar ate 50% of lunch", &words, &small());
        assert_eq!(show("Seen. pruar ate 50% of lunch", &pruar), vec![("pruar".to_string(), "NAME")]);
        for text in [
            "Seen. Vermox was prescribed",
            "Seen. HFE is mutated",
            "Seen. Langerin was expressed",
            "Seen. Modifications will be made",
            "Seen. Catalepsy is common",
        ] {
            assert!(found(text).is_empty(), "{text}: {:?}", found(text));
        }
        // A first name of the lexicon that the corpus writes as a word: only before a verb of people.
        let text = "Seen. Grace recently underwent surgery. Grace was marked.";
        let mut words = facts_with(text, &common, &[]);
        words.iter_mut().filter(|w| &text[w.token.start..w.token.end] == "Grace").for_each(|w| {
            w.flags = flags::STOP;
            w.stats = stat::PRESENT | stat::STOP | 5;
        });
        let grace: Vec<&str> = cue_names(text, &words, &small()).iter().map(|s| &text[s.start..s.end]).collect();
        assert_eq!(grace, vec!["Grace"]);
        assert_eq!(found("No distress. pusko hawe is a pleasant man"), vec!["pusko hawe"]);
        assert_eq!(found("VS stable, RFJ aware of soft BP"), vec!["RFJ"]);
        assert_eq!(found("VS stable, R.L.F. aware of soft BP"), vec!["R.L.F."]);
        assert_eq!(found("Advised ED. -V.C.V.\nnext"), vec!["V.C.V."]);
        assert_eq!(found("Signed: Ball, RD"), vec!["Ball"]);
        assert_eq!(found("According to Dokus, he was"), vec!["Dokus"]);
        assert_eq!(found("she lives in doloresshire with her"), vec!["doloresshire"]);
        let words = facts_with("she lives in doloresshire", &common, &cues);
        assert_eq!(cue_names("she lives in doloresshire", &words, &small())[0].kind, PhiType::Location);
        // Nearby negatives: ordinary words after a cue, role words, acronyms, English words.
        assert!(found("pt's wife at bedside").is_empty());
        assert!(found("lives with the wife").is_empty());
        assert!(found("Sitter at bedside").is_empty());
        assert!(found("Provider NPI here").is_empty());
        assert!(found("Star-PAP is awake").is_empty(), "a gene's mixed capitals");
        assert!(found("calling out for callback").is_empty());
        assert!(found("LIVES WITH SON. Immunosuppressed.").is_empty(), "a relation ends its sentence");
        assert!(found("Xyzumab was given").is_empty(), "a drug ending");
        assert!(found("her mother yells at her; the neighbor suspects it").is_empty(), "a verb after a relation");
        assert!(found("lives with biologic father").is_empty(), "an adjective before a relation");
        assert_eq!(found("Lives with baus in a home; daughter trelis requesting call"), vec!["baus", "trelis"]);
        assert!(found("family reunion and family strife").is_empty(), "a group, no person");
        assert!(
            found("Husband, perpetrator of neglect; alpha family, gprotan").is_empty(),
            "a comma, nobody's relation"
        );
        assert_eq!(found("home with brother, jaimar samic, who"), vec!["jaimar samic"]);
        assert!(found("followed by ribonucleoprotein and per dexlo").is_empty(), "prose cues want a capital");
        assert_eq!(found("followed by Uvford in clinic"), vec!["Uvford"]);
    }

    #[test]
    fn same_spans_whatever_the_thread() {
        let engine = std::sync::Arc::new(Engine::new(small(), Some(tiny_model(2)), true).unwrap());
        let texts: Vec<String> = (0..40)
            .map(|k| format!("She lives in Belmar with Ivo {k}. Dr. Lee saw Cleo at Arden Memorial Hospital."))
            .collect();
        let here: Vec<Vec<Span>> = texts.iter().map(|t| engine.detect(t)).collect();
        let there = {
            let (engine, texts) = (engine.clone(), texts.clone());
            std::thread::spawn(move || texts.iter().rev().map(|t| engine.detect(t)).collect::<Vec<_>>()).join().unwrap()
        };
        assert_eq!(here, there.into_iter().rev().collect::<Vec<_>>());
    }
}
