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
//! * The lexicon adds one high-precision pattern of its own: a known city followed by a state
//!   ("Salt Lake City, Utah", "Springfield, MO").
//! * Learned spans of one type that overlap or touch across a single space are merged, spans
//!   that touch with no gap too ("St. Luke" + "'s"); spans of different types that overlap keep
//!   the longer one.
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
                learned = merge_learned(text, learned);
                learned = propagate_names(text, &words, learned, &rule_spans, lower_doc);
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
                learned = merge_learned(text, city_state_spans(text, &words));
            }
        }
        combine(text, rule_spans, learned)
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

/// Whether a learned span can be what it says: not only stop words, no digits (names and places
/// have none; codes and doses do), lowercase only with a list entry in it (unless the whole
/// document is lowercase), not a lone acronym, and not an eponym: a name right before
/// "disease", "syndrome", "catheter" ... (after an optional possessive) is not a person.
fn plausible(text: &str, words: &[TokenFacts], span: &Span, case_mode: u8) -> bool {
    let (lower_doc, upper_doc) = (case_mode == doc_case::LOWER, case_mode == doc_case::UPPER);
    if only_stop_words(words, span) || text[span.start..span.end].bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    // In a document written with capitals, an all-lowercase name or place needs the lists to
    // back each of its words ("spoke with mary smith" yes, "jack pine pollen extract" no); in
    // an all-lowercase document case says nothing and the tagger decides.
    if !lower_doc && !text[span.start..span.end].chars().any(char::is_uppercase) {
        let backing = match span.kind {
            PhiType::Hospital => flags::NAME_OR_PLACE | flags::HOSPITAL_WORD,
            _ => flags::NAME_OR_PLACE,
        };
        let backed = |w: &TokenFacts| w.flags & backing != 0 && w.flags & (flags::STOP | flags::MEDICAL_HEAD) == 0;
        let words_of_span = tokens_in(words, span).iter().filter(|w| text[w.token.start..w.token.end].chars().filter(|c| c.is_alphabetic()).count() >= 3);
        if !words_of_span.clone().all(backed) || words_of_span.count() == 0 {
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
    if span.kind == PhiType::Name {
        let next = words.partition_point(|w| w.token.start < span.end);
        let mut after = words[next..].iter().map(|w| (w, &text[w.token.start..w.token.end]));
        let mut head = after.next();
        if matches!(head, Some((_, "'s" | "’s" | "'" | "’"))) {
            head = after.next();
        }
        if head.is_some_and(|(w, _)| w.flags & flags::MEDICAL_HEAD != 0) {
            return false;
        }
    }
    true
}

/// "City, State" where both are in the lexicon and the city is capitalized.
fn city_state_spans(text: &str, words: &[TokenFacts]) -> Vec<Span> {
    // The unit (a phrase or one word) starting at token i with any of `want`: its last token.
    let unit = |i: usize, want: u16| -> Option<usize> {
        let w = words.get(i)?;
        if w.phrase & PHRASE_BEGIN != 0 && (w.phrase as u16) & want != 0 {
            let mut j = i;
            while j + 1 < words.len() && words[j + 1].phrase & PHRASE_INSIDE != 0 {
                j += 1;
            }
            return Some(j);
        }
        (w.phrase == 0 && w.flags & want != 0).then_some(i)
    };
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

/// Sorted, non-overlapping: same-type spans that overlap or are one space apart become one, and
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
        let touching = span.start == last.end + 1 && &text[last.end..span.start] == " ";
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
fn propagate_names(text: &str, words: &[TokenFacts], learned: Vec<Span>, rule_spans: &[Span], lower_doc: bool) -> Vec<Span> {
    let mut forms: Vec<String> = Vec::new();
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
                || (!lower_doc && !word.starts_with(char::is_uppercase))
            {
                continue;
            }
            let lower = word.to_lowercase();
            let mut title: String = lower.chars().take(1).flat_map(char::to_uppercase).collect();
            title.push_str(&lower[lower.chars().next().map_or(0, char::len_utf8)..]);
            for form in [word.to_string(), word.to_uppercase(), title] {
                if !forms.contains(&form) {
                    forms.push(form);
                }
            }
        }
    }
    if forms.is_empty() {
        return learned;
    }
    let covered = |spans: &[Span], t: &Token| {
        let k = spans.partition_point(|s| s.end <= t.start);
        k < spans.len() && spans[k].start < t.end
    };
    let mut found: Vec<Span> = words
        .iter()
        .filter(|w| w.token.end - w.token.start >= 3 && forms.iter().any(|f| f == &text[w.token.start..w.token.end]))
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
            // A leftover of one character ("s" of "'s", an initial) is no finding of its own.
            if kept.chars().filter(|c| c.is_alphanumeric()).count() >= 2 {
                extra.push(Span { start: s + lead, end: s + lead + kept.len(), kind: span.kind });
            }
        }
    }
    rules.extend(extra);
    rules.sort_by_key(|s| (s.start, s.end));
    rules
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
    fn rules_win_and_learned_spans_keep_their_outside_parts() {
        let text = "Ann Lee met Dr. Smith at 3 Main Street, Boston, MA 02110.";
        let rule = |a: &str, kind| {
            let s = text.find(a).unwrap();
            Span { start: s, end: s + a.len(), kind }
        };
        let rules = vec![rule("Smith", PhiType::Name), rule("3 Main Street, Boston, MA 02110", PhiType::Address)];
        let learned = vec![rule("Ann Lee", PhiType::Name), rule("Dr. Smith", PhiType::Hospital), rule("Boston", PhiType::Location)];
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
        let at = |a: &str, kind| {
            let s = text.find(a).unwrap();
            Span { start: s, end: s + a.len(), kind }
        };
        let rules = vec![at("Eaglecrest Medical Center", PhiType::Hospital), at("Lee", PhiType::Name)];
        let learned = vec![at("University of Eaglecrest Medical Center", PhiType::Hospital), at("Lee today", PhiType::Location)];
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
        let (rules, learned) = (vec![Span { start: 5, end: 13, kind: PhiType::Location }], vec![Span { start: 5, end: 15, kind: PhiType::Hospital }]);
        assert_eq!(show(text, &combine(text, rules, learned)), vec![("St. Luke".to_string(), "LOCATION")]);
    }

    #[test]
    fn merging_learned_spans() {
        let text = "John Smith, Boston Memorial Hospital";
        let at = |a: &str, kind| {
            let s = text.find(a).unwrap();
            Span { start: s, end: s + a.len(), kind }
        };
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
            vec![Span { start: 0, end: 8, kind: PhiType::Location }, Span { start: 8, end: 10, kind: PhiType::Hospital }],
        );
        assert_eq!(show(text, &merged), vec![("St. Luke's".to_string(), "HOSPITAL")]);
    }

    fn facts(text: &str) -> Vec<TokenFacts> {
        crate::deid::features::tokenize(text).into_iter().map(|token| TokenFacts { token, flags: 0, phrase: 0, stats: 0 }).collect()
    }

    #[test]
    fn tagger_names_propagate() {
        let text = "Met Okafor today. Later OKAFOR called, and okafor's son came; Okaforine is a word.";
        let learned = vec![Span { start: 4, end: 10, kind: PhiType::Name }];
        let rules = vec![];
        assert_eq!(
            show(text, &propagate_names(text, &facts(text), learned.clone(), &rules, false)),
            vec![("Okafor".to_string(), "NAME"), ("OKAFOR".to_string(), "NAME")],
            "exact, capitalized and all-capitals forms; not the lowercase one in a mixed-case text"
        );
        // Stop words and words common in the corpus stay where they were found.
        let mut words = facts(text);
        words[1].flags = flags::STOP;
        assert_eq!(propagate_names(text, &words, learned.clone(), &rules, false).len(), 1);
        let mut words = facts(text);
        words[1].stats = 5;
        assert_eq!(propagate_names(text, &words, learned, &rules, false).len(), 1);
        // A lowercase find spreads only in a lowercase document.
        let text = "met okafor today. later okafor called.";
        let learned = vec![Span { start: 4, end: 10, kind: PhiType::Name }];
        assert_eq!(propagate_names(text, &facts(text), learned.clone(), &rules, false).len(), 1);
        assert_eq!(propagate_names(text, &facts(text), learned, &rules, true).len(), 2);
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
    fn implausible_learned_spans() {
        let text = "Foley placed. Okafor's syndrome. M89 code. Okafor came.";
        let mut words = facts(text);
        words[0].flags = flags::STOP; // "Foley"
        let syndrome = words.iter().position(|w| &text[w.token.start..w.token.end] == "syndrome").unwrap();
        words[syndrome].flags = flags::MEDICAL_HEAD;
        let at = |a: &str, from: usize| {
            let s = text[from..].find(a).unwrap() + from;
            Span { start: s, end: s + a.len(), kind: PhiType::Name }
        };
        let mixed = doc_case::MIXED;
        assert!(!plausible(text, &words, &at("Foley", 0), mixed), "a stop word");
        assert!(!plausible(text, &words, &at("Okafor", 0), mixed), "an eponym");
        assert!(!plausible(text, &words, &at("M89", 0), mixed), "a code");
        assert!(plausible(text, &words, &at("Okafor", 30), mixed));

        let text = "spoke with mary and kinase today";
        let mut words = facts(text);
        words[2].flags = flags::FIRST_NAME;
        let at = |a: &str| {
            let s = text.find(a).unwrap();
            Span { start: s, end: s + a.len(), kind: PhiType::Name }
        };
        assert!(plausible(text, &words, &at("mary"), doc_case::MIXED), "lowercase, but a known first name");
        assert!(!plausible(text, &words, &at("kinase"), doc_case::MIXED), "lowercase and in no list");
        assert!(plausible(text, &words, &at("kinase"), doc_case::LOWER), "in a lowercase document the tagger decides");

        let text = "in NASH and LEE and BDNF";
        let mut words = facts(text);
        words[3].flags = flags::LAST_NAME;
        let at = |a: &str| {
            let s = text.find(a).unwrap();
            Span { start: s, end: s + a.len(), kind: PhiType::Name }
        };
        assert!(!plausible(text, &words, &at("NASH"), doc_case::MIXED), "an acronym");
        assert!(plausible(text, &words, &at("LEE"), doc_case::MIXED), "a known surname");
        assert!(plausible(text, &words, &at("BDNF"), doc_case::UPPER), "in capitals everything is");
    }

    #[test]
    fn same_spans_whatever_the_thread() {
        let engine = std::sync::Arc::new(Engine::new(small(), Some(tiny_model(2)), true).unwrap());
        let texts: Vec<String> =
            (0..40).map(|k| format!("She lives in Belmar with Ivo {k}. Dr. Lee saw Cleo at Arden Memorial Hospital.")).collect();
        let here: Vec<Vec<Span>> = texts.iter().map(|t| engine.detect(t)).collect();
        let there = {
            let (engine, texts) = (engine.clone(), texts.clone());
            std::thread::spawn(move || texts.iter().rev().map(|t| engine.detect(t)).collect::<Vec<_>>()).join().unwrap()
        };
        assert_eq!(here, there.into_iter().rev().collect::<Vec<_>>());
    }
}
