//! Word lists the de-identifier matches: names, places, cue words and a stop list.
//!
//! The content is not in this crate: `medtitan.deid.lexicons` reads it at run time from pinned
//! packages (first and last names, cities, states, countries) and adds short hand-written lists
//! (titles, credentials, relatives, hospital words, medical words that are not names), then hands
//! it over once per process as `{category: [entries]}`.
//!
//! * Single words are looked up, lowercased, in a hash map to a bit set of categories.
//! * Entries of several words ("new york", "salt lake city", "bell's palsy") are found in the
//!   text by one Aho-Corasick automaton (ASCII case-insensitive, leftmost-longest), kept only
//!   where they start and end at word boundaries.
//! * The fingerprint is the sha256 of the canonical content (categories sorted, entries trimmed,
//!   lowercased, deduplicated and sorted): a trained model records it, and a model trained with
//!   other lists is refused, because its weights learnt what these flags mean.
//! * A stop entry ("heart", "foley", "lasix") clears the name and place flags of the word: it may
//!   be someone's surname, but in a clinical note it is the organ, the catheter, the drug.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Category bits of a word or phrase.
pub mod flags {
    pub const FIRST_NAME: u16 = 1 << 0;
    pub const LAST_NAME: u16 = 1 << 1;
    pub const CITY: u16 = 1 << 2;
    pub const STATE: u16 = 1 << 3;
    pub const COUNTRY: u16 = 1 << 4;
    pub const STREET_SUFFIX: u16 = 1 << 5;
    /// "hospital", "clinic", "memorial", "medical center": heads of health-care organizations.
    pub const HOSPITAL_WORD: u16 = 1 << 6;
    /// "dr", "mr", "mrs", "ms": before a name.
    pub const TITLE: u16 = 1 << 7;
    /// "md", "rn", "np", "pa-c": after a name.
    pub const CREDENTIAL: u16 = 1 << 8;
    /// "wife", "son", "daughter", "mother": relatives, often followed by a name.
    pub const RELATION: u16 = 1 << 9;
    /// "nurse", "physician", "surgeon", "therapist": staff roles.
    pub const STAFF: u16 = 1 << 10;
    /// A medical or common word that is not a name or place here (clears those flags).
    pub const STOP: u16 = 1 << 11;
    /// "MA", "TX": two-letter state codes (a feature only where written in capitals).
    pub const STATE_ABBR: u16 = 1 << 12;
    /// "disease", "syndrome", "sign", "catheter": nouns an eponym ("Crohn disease", "Kelly
    /// clamp") comes before; a name right before one is not a person.
    pub const MEDICAL_HEAD: u16 = 1 << 13;

    /// The flags a stop entry clears.
    pub const NAME_OR_PLACE: u16 = FIRST_NAME | LAST_NAME | CITY | STATE | COUNTRY | STATE_ABBR;
}

/// The categories a lexicon may have, as `medtitan.deid.lexicons` names them.
pub const CATEGORIES: &[(&str, u16)] = &[
    ("city", flags::CITY),
    ("country", flags::COUNTRY),
    ("credential", flags::CREDENTIAL),
    ("first_name", flags::FIRST_NAME),
    ("hospital_word", flags::HOSPITAL_WORD),
    ("last_name", flags::LAST_NAME),
    ("medical_head", flags::MEDICAL_HEAD),
    ("relation", flags::RELATION),
    ("staff", flags::STAFF),
    ("state", flags::STATE),
    ("state_abbr", flags::STATE_ABBR),
    ("stop", flags::STOP),
    ("street_suffix", flags::STREET_SUFFIX),
    ("title", flags::TITLE),
];

/// A phrase found in a text: `text[start..end]` (byte offsets), its category bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhraseMatch {
    pub start: usize,
    pub end: usize,
    pub flags: u16,
}

pub struct Lexicon {
    /// Lowercased single words -> category bits (stop entries already applied).
    words: FxHashMap<Box<str>, u16>,
    /// Multi-word entries, lowercased; `phrase_flags[i]` are the bits of pattern i.
    phrases: Option<AhoCorasick>,
    phrase_flags: Vec<u16>,
    fingerprint: [u8; 32],
    counts: Vec<(String, usize)>,
}

/// Trimmed, lowercased, with runs of whitespace folded to one space: the form entries are
/// matched and fingerprinted in.
fn canonical(entry: &str) -> String {
    entry.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

impl Lexicon {
    /// Builds the lexicon from `{category: entries}`. An unknown category is an error (a typo
    /// would otherwise silently leave a list out of the features).
    pub fn new(entries: &BTreeMap<String, Vec<String>>) -> Result<Lexicon, String> {
        let mut canon: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (category, list) in entries {
            let Some(&(name, _)) = CATEGORIES.iter().find(|(name, _)| name == category) else {
                let known: Vec<&str> = CATEGORIES.iter().map(|(n, _)| *n).collect();
                return Err(format!("unknown lexicon category {category:?} (known: {})", known.join(", ")));
            };
            let mut list: Vec<String> = list.iter().map(|e| canonical(e)).filter(|e| !e.is_empty()).collect();
            list.sort_unstable();
            list.dedup();
            canon.insert(name, list);
        }
        let mut hasher = Sha256::new();
        for (category, list) in &canon {
            hasher.update(category.as_bytes());
            hasher.update([0u8]);
            for entry in list {
                hasher.update(entry.as_bytes());
                hasher.update([b'\n']);
            }
            hasher.update([0u8]);
        }
        let fingerprint: [u8; 32] = hasher.finalize().into();

        let mut words: FxHashMap<Box<str>, u16> = FxHashMap::default();
        let mut phrase_map: BTreeMap<&str, u16> = BTreeMap::new();
        for (category, list) in &canon {
            let bit = CATEGORIES.iter().find(|(n, _)| n == category).map(|(_, b)| *b).unwrap_or(0);
            for entry in list {
                if entry.contains(' ') {
                    *phrase_map.entry(entry.as_str()).or_insert(0) |= bit;
                } else {
                    *words.entry(entry.as_str().into()).or_insert(0) |= bit;
                }
            }
        }
        for bits in words.values_mut().chain(phrase_map.values_mut()) {
            if *bits & flags::STOP != 0 {
                *bits &= !flags::NAME_OR_PLACE;
            }
        }
        let (patterns, phrase_flags): (Vec<&str>, Vec<u16>) = phrase_map.into_iter().unzip();
        let phrases = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&patterns)
                    .map_err(|e| format!("cannot build the lexicon phrase automaton: {e}"))?,
            )
        };
        let counts = canon.iter().map(|(c, l)| (c.to_string(), l.len())).collect();
        Ok(Lexicon { words, phrases, phrase_flags, fingerprint, counts })
    }

    /// sha256 of the canonical content.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    pub fn fingerprint_hex(&self) -> String {
        hex(&self.fingerprint)
    }

    /// Entries per category, after canonicalization.
    pub fn counts(&self) -> &[(String, usize)] {
        &self.counts
    }

    /// Category bits of one word (any case); 0 when it is in no list.
    pub fn word_flags(&self, word: &str) -> u16 {
        if word.is_ascii() && word.len() <= 32 {
            let mut buf = [0u8; 32];
            let lower = &mut buf[..word.len()];
            lower.copy_from_slice(word.as_bytes());
            lower.make_ascii_lowercase();
            let lower = std::str::from_utf8(lower).expect("ASCII stays UTF-8");
            return self.words.get(lower).copied().unwrap_or(0);
        }
        self.words.get(word.to_lowercase().as_str()).copied().unwrap_or(0)
    }

    /// Every multi-word entry in `text` that starts and ends at a word boundary (leftmost-longest,
    /// non-overlapping), in order.
    pub fn phrases_in(&self, text: &str) -> Vec<PhraseMatch> {
        let Some(automaton) = &self.phrases else { return Vec::new() };
        let mut out = Vec::new();
        for m in automaton.find_iter(text) {
            let (start, end) = (m.start(), m.end());
            let before = text[..start].chars().next_back();
            let after = text[end..].chars().next();
            if before.is_some_and(is_word_char) || after.is_some_and(is_word_char) {
                continue;
            }
            out.push(PhraseMatch { start, end, flags: self.phrase_flags[m.pattern().as_usize()] });
        }
        out
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small lexicon for tests across the deid modules.
    pub(crate) fn small() -> Lexicon {
        let mut entries: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut put = |cat: &str, words: &[&str]| {
            entries.insert(cat.to_string(), words.iter().map(|w| w.to_string()).collect());
        };
        put("first_name", &["John", "Mary", "Maria", "Grace", "Jordan"]);
        put("last_name", &["Smith", "Foley", "Nguyen", "Okafor", "Heart"]);
        put("city", &["Boston", "Salt Lake City", "New York", "Springfield", "Normal"]);
        put("state", &["Utah", "New York", "Texas"]);
        put("country", &["Mexico", "Philippines", "Jordan"]);
        put("hospital_word", &["hospital", "clinic", "memorial", "medical center"]);
        put("title", &["dr", "mr", "mrs", "ms"]);
        put("credential", &["md", "rn"]);
        put("relation", &["wife", "son", "daughter"]);
        put("staff", &["nurse"]);
        put("stop", &["foley", "heart", "bell's palsy", "normal"]);
        Lexicon::new(&entries).unwrap()
    }

    #[test]
    fn words_and_stop_entries() {
        let lex = small();
        assert_eq!(lex.word_flags("SMITH"), flags::LAST_NAME);
        assert_eq!(lex.word_flags("john"), flags::FIRST_NAME);
        assert_eq!(lex.word_flags("Foley"), flags::STOP, "a stop entry clears the surname flag");
        assert_eq!(lex.word_flags("Normal"), flags::STOP);
        assert_eq!(lex.word_flags("Texas"), flags::STATE);
        assert_eq!(lex.word_flags("unknownword"), 0);
        assert_eq!(lex.word_flags("Müller"), 0);
    }

    #[test]
    fn phrases_at_word_boundaries_only() {
        let lex = small();
        let text = "Moved from Salt Lake City to NEW YORK; Newer Yorkshire; new yorker. Bell's palsy.";
        let found: Vec<(&str, u16)> = lex.phrases_in(text).iter().map(|m| (&text[m.start..m.end], m.flags)).collect();
        assert_eq!(
            found,
            vec![
                ("Salt Lake City", flags::CITY),
                ("NEW YORK", flags::CITY | flags::STATE),
                ("Bell's palsy", flags::STOP)
            ]
        );
    }

    #[test]
    fn fingerprint_is_canonical() {
        let a = small();
        let mut entries: BTreeMap<String, Vec<String>> = BTreeMap::new();
        entries.insert("first_name".into(), vec!["  JOHN ".into(), "john".into()]);
        let b = Lexicon::new(&entries).unwrap();
        entries.insert("first_name".into(), vec!["John".into()]);
        let c = Lexicon::new(&entries).unwrap();
        assert_eq!(b.fingerprint(), c.fingerprint(), "case, spaces and duplicates do not change it");
        assert_ne!(a.fingerprint(), b.fingerprint());
        entries.insert("last_name".into(), vec!["Smith".into()]);
        assert_ne!(Lexicon::new(&entries).unwrap().fingerprint(), c.fingerprint());
    }

    #[test]
    fn unknown_category_is_an_error() {
        let mut entries: BTreeMap<String, Vec<String>> = BTreeMap::new();
        entries.insert("surnames".into(), vec!["Smith".into()]);
        let error = Lexicon::new(&entries).err().unwrap();
        assert!(error.contains("surnames") && error.contains("last_name"), "{error}");
    }
}
