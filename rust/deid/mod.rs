//! De-identification: finds protected health information (PHI) in clinical text and replaces it.
//!
//! * `types`: the PHI types and spans.
//! * `rules`: the regex rule table and detection (structured identifiers, cue-based names, dates,
//!   ages), with `words` (the word lists the rules carry), `refine` (the step that validates each
//!   match and keeps its PHI part) and `resolve` (overlapping candidates: earliest, longest, then
//!   rule order).
//! * `lexicon`: word lists (names, places, cue words, stop words) handed over at run time and
//!   matched in Rust.
//! * `features`, `model`: the learned name/place tagger (tokens, features, training, inference).
//! * `engine`: rules + lexicon + tagger combined into one span list, then replacement.
//! * `surrogate`: realistic, per-document consistent replacements (the alternative to placeholders).
//!
//! Offsets are byte offsets into the UTF-8 text; `char_spans` converts them to character
//! (Python string) offsets for the bindings.

pub mod engine;
pub mod features;
pub mod lexicon;
pub mod model;
mod refine;
mod resolve;
pub mod rules;
pub mod surrogate;
pub mod types;
mod words;

pub use rules::{detect, detect_rule_by_rule, rule_names};
pub use types::{Deidentified, PhiType, Span};

/// `text` with every span replaced by its placeholder. `spans` must be sorted and disjoint.
pub fn redact(text: &str, spans: &[Span]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        out.push_str(&text[at..span.start]);
        out.push_str(span.kind.placeholder());
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Detects and replaces in one call.
pub fn deidentify(text: &str) -> Deidentified {
    let spans = detect(text);
    Deidentified { text: redact(text, &spans), spans }
}

/// The spans in character (Unicode scalar value) offsets, as Python indexes a str.
pub fn char_spans(text: &str, spans: &[Span]) -> Vec<(usize, usize, PhiType)> {
    if text.is_ascii() {
        return spans.iter().map(|s| (s.start, s.end, s.kind)).collect();
    }
    let (mut byte, mut chars) = (0usize, 0usize);
    let mut to_chars = |target: usize| {
        chars += text[byte..target].chars().count();
        byte = target;
        chars
    };
    spans.iter().map(|s| (to_chars(s.start), to_chars(s.end), s.kind)).collect()
}
