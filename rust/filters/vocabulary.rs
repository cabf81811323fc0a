//! The reference vocabulary: the words of the reference LM's training text, and the share of a
//! document's words that are not among them.
//!
//! Why a second signal beside perplexity: OCR-style character noise turns a fifth of the words of
//! a clinical note into non-words at 5% noise, yet a subword n-gram model still finds most of
//! their pieces plausible, so their perplexity overlaps the long tail of clean notes. The share
//! of unknown words separates them (on ../shared/data's clinical notes, radiology, PubMed and
//! general English held out from the vocabulary: at most 0.16; 5% OCR noise: 0.18 and up).
//!
//! A word is a run of ASCII letters, lowercased, of at least two letters: digits, punctuation and
//! any other character end a word, so "C5-C6", "38.5" and "café" add nothing or "caf" alike when
//! the vocabulary is built and when a document is scored (both go through [`words`]).

use rustc_hash::{FxHashMap, FxHashSet};
use xxhash_rust::xxh3::xxh3_64;

/// Shortest word counted: single letters ("a", "I", list markers) say nothing about noise.
pub const MIN_WORD_LETTERS: usize = 2;

/// Each word of `text` in order, lowercased, written into `scratch` in turn and handed to `each`.
pub fn words(text: &str, scratch: &mut Vec<u8>, mut each: impl FnMut(&[u8])) {
    scratch.clear();
    for &byte in text.as_bytes().iter().chain(std::iter::once(&b' ')) {
        if byte.is_ascii_alphabetic() {
            scratch.push(byte.to_ascii_lowercase());
        } else {
            if scratch.len() >= MIN_WORD_LETTERS {
                each(scratch);
            }
            scratch.clear();
        }
    }
}

/// How often each word occurs in `texts` (the vocabulary's source counts).
pub fn count_words<'a>(texts: impl IntoIterator<Item = &'a str>) -> FxHashMap<String, u64> {
    let mut counts: FxHashMap<String, u64> = FxHashMap::default();
    let mut scratch = Vec::new();
    for text in texts {
        words(text, &mut scratch, |word| {
            // Words are ASCII letters: always valid UTF-8.
            let word = std::str::from_utf8(word).expect("ASCII letters");
            match counts.get_mut(word) {
                Some(count) => *count += 1,
                None => {
                    counts.insert(word.to_owned(), 1);
                }
            }
        });
    }
    counts
}

/// A set of words, held as 64-bit hashes (a collision can only make an unknown word look known).
#[derive(Default)]
pub struct Vocabulary {
    hashes: FxHashSet<u64>,
}

impl Vocabulary {
    pub fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        Self { hashes: words.into_iter().map(|w| xxh3_64(w.to_ascii_lowercase().as_bytes())).collect() }
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The share of `text`'s words not in the vocabulary; 0.0 for a text without words.
    pub fn unknown_fraction(&self, text: &str, scratch: &mut Vec<u8>) -> f64 {
        let (mut total, mut unknown) = (0usize, 0usize);
        words(text, scratch, |word| {
            total += 1;
            if !self.hashes.contains(&xxh3_64(word)) {
                unknown += 1;
            }
        });
        if total == 0 {
            0.0
        } else {
            unknown as f64 / total as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_words(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        words(text, &mut Vec::new(), |w| found.push(String::from_utf8(w.to_vec()).unwrap()));
        found
    }

    #[test]
    fn words_are_lowercased_ascii_letter_runs_of_two_or_more() {
        assert_eq!(all_words("Pt c/o SOB, C5-C6 38.5 a I Café"), ["pt", "sob", "caf"]);
        assert_eq!(all_words(""), Vec::<String>::new());
        assert_eq!(all_words("ends with word"), ["ends", "with", "word"]);
    }

    #[test]
    fn counts_add_up_over_texts() {
        let counts = count_words(["The the THE cat", "cat x"]);
        assert_eq!(counts["the"], 3);
        assert_eq!(counts["cat"], 2);
        assert!(!counts.contains_key("x"));
    }

    #[test]
    fn unknown_fraction_counts_words_missing_from_the_vocabulary() {
        let vocabulary = Vocabulary::new(["patient", "denies", "chest", "PAIN"]);
        let mut scratch = Vec::new();
        assert_eq!(vocabulary.len(), 4);
        assert_eq!(vocabulary.unknown_fraction("Patient denies chest pain.", &mut scratch), 0.0);
        assert_eq!(vocabulary.unknown_fraction("Patlent denles chest pain.", &mut scratch), 0.5);
        assert_eq!(vocabulary.unknown_fraction("12/10 38.5 - ", &mut scratch), 0.0);
        assert!(Vocabulary::default().is_empty());
    }
}
