//! Gopher's repetition statistics (Rae et al. 2021, "Scaling Language Models", appendix A): how
//! much of a document is made of text it repeats. Boilerplate, spam and degenerate generations
//! repeat lines, paragraphs and word runs far more than prose or clinical notes do.
//!
//! Per document, 13 scores in [0, 1], in the order of [`SCORE_NAMES`]:
//!
//! * Lines are the pieces between "\n"; paragraphs are maximal runs of consecutive non-blank
//!   lines, so two or more newlines separate them (a line holding only whitespace counts as
//!   blank, so "\n \n" separates paragraphs as "\n\n" does). Blank lines are ignored. A line
//!   (paragraph) is a duplicate when its exact text occurred earlier in the document, so the
//!   first occurrence is not counted. `dup_line_frac` = duplicate lines / lines,
//!   `dup_line_char_frac` = characters of duplicate lines / characters of all lines (newlines
//!   not counted); the same for paragraphs (a paragraph's characters include its inner newlines).
//! * Words are the whitespace-separated tokens, exactly as written: case and punctuation are
//!   kept ("The", "the" and "the," are three different words), the same exact-text notion of
//!   "the same" as the line statistics. A word's characters are its Unicode scalar values; the
//!   denominator of every word score is the characters of all words (whitespace not counted).
//! * `top_{2,3,4}gram_char_frac`: characters of the most frequent n-gram's words x its count /
//!   all word characters; 0 when no n-gram occurs twice. Among n-grams tied for the highest
//!   count, the one with the most characters counts (deterministic, and the worst case). Occurrences
//!   of a self-overlapping n-gram ("a a a a" holds "a a" three times) can count a character more
//!   than once, so the score is clamped to 1.
//! * `dup_{5..10}gram_char_frac`: characters of the words that fall inside any n-gram occurring
//!   more than once (first occurrence included; each word counted once) / all word characters.
//!
//! A document with fewer than n words scores 0 for n. Speed: words are interned to u32 ids once;
//! the n-grams of length n are ids of pairs (id of the (n-1)-gram at the same position, id of its
//! last word), interned in a hash map of u64 keys, one pass per n and no string per n-gram. An
//! n-gram whose (n-1)-prefix is unique is unique too and gets a fresh id without hashing; once
//! no n-gram repeats, no longer one can, and the remaining scores are 0.

use rustc_hash::{FxHashMap, FxHashSet};

/// The scores, in the order [`repetition_scores`] returns them.
pub const SCORE_NAMES: [&str; NUM_SCORES] = [
    "dup_line_frac",
    "dup_para_frac",
    "dup_line_char_frac",
    "dup_para_char_frac",
    "top_2gram_char_frac",
    "top_3gram_char_frac",
    "top_4gram_char_frac",
    "dup_5gram_char_frac",
    "dup_6gram_char_frac",
    "dup_7gram_char_frac",
    "dup_8gram_char_frac",
    "dup_9gram_char_frac",
    "dup_10gram_char_frac",
];
pub const NUM_SCORES: usize = 13;

/// Longest n-gram scored (dup_10gram_char_frac).
const MAX_N: usize = 10;
/// Longest n-gram scored by its top count (top_4gram_char_frac); longer ones by duplicates.
const MAX_TOP_N: usize = 4;

/// Buffers reused from one document to the next (one per thread), so scoring a document
/// allocates only its word and line maps.
#[derive(Default)]
pub struct Scratch {
    /// Characters of words [0, i) at index i.
    prefix_chars: Vec<u64>,
    /// Word ids, in text order.
    words: Vec<u32>,
    /// The ids of the n-grams starting at each position, for the current n (words for n = 1).
    grams: Vec<u32>,
    next_grams: Vec<u32>,
    /// Occurrences of each id of the current n (indexed by id).
    counts: Vec<u32>,
    next_counts: Vec<u32>,
    /// (id of the (n-1)-gram, id of the last word) -> id of the n-gram.
    pairs: FxHashMap<u64, u32>,
}

/// The 13 scores of `text`, in the order of [`SCORE_NAMES`].
pub fn repetition_scores(text: &str, scratch: &mut Scratch) -> [f64; NUM_SCORES] {
    let mut scores = [0.0; NUM_SCORES];
    let (lines, paragraphs) = line_and_paragraph_duplicates(text);
    scores[0] = lines.fraction();
    scores[1] = paragraphs.fraction();
    scores[2] = lines.char_fraction();
    scores[3] = paragraphs.char_fraction();
    word_ngram_scores(text, scratch, &mut scores);
    scores
}

/// Counts of units (lines or paragraphs) and of their characters, all and duplicated.
#[derive(Default, Debug, PartialEq)]
struct Duplicates {
    units: u64,
    chars: u64,
    duplicate_units: u64,
    duplicate_chars: u64,
}

impl Duplicates {
    fn add<'a>(&mut self, unit: &'a str, seen: &mut FxHashSet<&'a str>) {
        let chars = char_count(unit);
        self.units += 1;
        self.chars += chars;
        if !seen.insert(unit) {
            self.duplicate_units += 1;
            self.duplicate_chars += chars;
        }
    }

    fn fraction(&self) -> f64 {
        ratio(self.duplicate_units, self.units)
    }

    fn char_fraction(&self) -> f64 {
        ratio(self.duplicate_chars, self.chars)
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn char_count(s: &str) -> u64 {
    (if s.is_ascii() { s.len() } else { s.chars().count() }) as u64
}

fn is_blank(line: &str) -> bool {
    line.chars().all(char::is_whitespace)
}

fn line_and_paragraph_duplicates(text: &str) -> (Duplicates, Duplicates) {
    let (mut lines, mut paragraphs) = (Duplicates::default(), Duplicates::default());
    let (mut seen_lines, mut seen_paragraphs) = (FxHashSet::default(), FxHashSet::default());
    // Byte range of the paragraph being read: from its first line's start to its last line's end.
    let mut paragraph: Option<(usize, usize)> = None;
    let mut start = 0;
    for line in text.split('\n') {
        let end = start + line.len();
        if is_blank(line) {
            if let Some((first, last)) = paragraph.take() {
                paragraphs.add(&text[first..last], &mut seen_paragraphs);
            }
        } else {
            lines.add(line, &mut seen_lines);
            paragraph = Some((paragraph.map_or(start, |(first, _)| first), end));
        }
        start = end + 1;
    }
    if let Some((first, last)) = paragraph {
        paragraphs.add(&text[first..last], &mut seen_paragraphs);
    }
    (lines, paragraphs)
}

/// Fills the n-gram scores of `scores`: the score of n (top for 2..=4, dup for 5..=10) is at n + 2.
fn word_ngram_scores(text: &str, scratch: &mut Scratch, scores: &mut [f64; NUM_SCORES]) {
    let Scratch { prefix_chars, words, grams, next_grams, counts, next_counts, pairs } = scratch;
    // Words -> ids (first occurrence order) and their running character counts.
    prefix_chars.clear();
    words.clear();
    counts.clear();
    prefix_chars.push(0);
    let mut word_ids: FxHashMap<&str, u32> = FxHashMap::default();
    for word in text.split_whitespace() {
        let next = word_ids.len() as u32;
        let id = *word_ids.entry(word).or_insert(next);
        if id == next {
            counts.push(0);
        }
        counts[id as usize] += 1;
        words.push(id);
        prefix_chars.push(prefix_chars.last().unwrap() + char_count(word));
    }
    drop(word_ids);
    grams.clone_from(words);
    let total_chars = *prefix_chars.last().unwrap();
    if total_chars == 0 {
        return;
    }
    let chars_of = |start: usize, n: usize| prefix_chars[start + n] - prefix_chars[start];
    for n in 2..=MAX_N.min(words.len()) {
        // The n-grams at positions 0..=len-n from the (n-1)-grams at the same positions.
        next_grams.clear();
        next_counts.clear();
        pairs.clear();
        let mut repeats = false;
        for (start, &prefix) in grams[..words.len() + 1 - n].iter().enumerate() {
            let id = if counts[prefix as usize] == 1 {
                next_counts.push(0);
                next_counts.len() as u32 - 1
            } else {
                let key = (u64::from(prefix) << 32) | u64::from(words[start + n - 1]);
                let fresh = next_counts.len() as u32;
                let id = *pairs.entry(key).or_insert(fresh);
                if id == fresh {
                    next_counts.push(0);
                }
                id
            };
            next_counts[id as usize] += 1;
            repeats |= next_counts[id as usize] > 1;
            next_grams.push(id);
        }
        std::mem::swap(grams, next_grams);
        std::mem::swap(counts, next_counts);
        if !repeats {
            return; // no n-gram repeats, so no longer one does either: the rest stay 0
        }
        if n <= MAX_TOP_N {
            // top n-gram: highest count, then most characters among those tied
            let top = grams.iter().map(|&g| counts[g as usize]).max().unwrap_or(0);
            let chars = (0..grams.len()).filter(|&s| counts[grams[s] as usize] == top).map(|s| chars_of(s, n)).max();
            let repeated = chars.unwrap_or(0) * u64::from(top);
            scores[n + 2] = (repeated as f64 / total_chars as f64).min(1.0);
        } else {
            // duplicate n-grams: characters of the words any repeated n-gram covers, each once
            let (mut covered, mut covered_to) = (0u64, 0usize);
            for (start, &g) in grams.iter().enumerate() {
                if counts[g as usize] > 1 {
                    let from = start.max(covered_to);
                    covered += prefix_chars[start + n] - prefix_chars[from];
                    covered_to = start + n;
                }
            }
            scores[n + 2] = covered as f64 / total_chars as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(text: &str) -> [f64; NUM_SCORES] {
        repetition_scores(text, &mut Scratch::default())
    }

    fn score(text: &str, name: &str) -> f64 {
        scores(text)[SCORE_NAMES.iter().position(|&n| n == name).unwrap()]
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn empty_blank_and_one_word_texts_score_zero() {
        for text in ["", "   \n\n \t", "hello", "  hello  \n"] {
            assert_eq!(scores(text), [0.0; NUM_SCORES], "{text:?}");
        }
    }

    #[test]
    fn duplicate_lines_count_after_their_first_occurrence() {
        // non-blank lines "x y", "z", "x y", "x y": 2 of 4 are repeats; characters 6 of 3+1+3+3
        let text = "x y\nz\nx y\n\nx y";
        assert!(close(score(text, "dup_line_frac"), 0.5));
        assert!(close(score(text, "dup_line_char_frac"), 0.6));
        // paragraphs "x y\nz\nx y" (9 characters) and "x y" differ: no duplicate
        assert_eq!(score(text, "dup_para_frac"), 0.0);
        assert_eq!(score(text, "dup_para_char_frac"), 0.0);
        // exact text: a trailing space or another case makes another line
        assert_eq!(score("x y\nx y \nX y", "dup_line_frac"), 0.0);
    }

    #[test]
    fn duplicate_paragraphs_are_split_on_two_or_more_newlines() {
        // paragraphs "ab\ncd" (5), "ef" (2), "ab\ncd" (5); "\n \n" also separates
        let text = "ab\ncd\n\n\nef\n \nab\ncd\n";
        assert!(close(score(text, "dup_para_frac"), 1.0 / 3.0));
        assert!(close(score(text, "dup_para_char_frac"), 5.0 / 12.0));
        // lines ab, cd, ef, ab, cd: 2 of 5 repeat, 4 of 10 characters
        assert!(close(score(text, "dup_line_frac"), 0.4));
        assert!(close(score(text, "dup_line_char_frac"), 0.4));
    }

    #[test]
    fn line_characters_are_unicode_scalar_values() {
        // lines "é" (1 character, 2 bytes), "abc", "é": 1 of 5 characters repeats
        assert!(close(score("é\nabc\né", "dup_line_char_frac"), 0.2));
    }

    #[test]
    fn top_ngram_weights_the_most_frequent_ngram_by_its_characters() {
        // words the cat the cat sat: 15 characters; "the cat" twice -> 6 x 2 / 15
        let text = "the cat the cat sat";
        assert!(close(score(text, "top_2gram_char_frac"), 0.8));
        assert_eq!(score(text, "top_3gram_char_frac"), 0.0);
        assert_eq!(score(text, "top_4gram_char_frac"), 0.0);
        // case and punctuation are part of a word
        assert_eq!(score("The cat. the cat", "top_2gram_char_frac"), 0.0);
    }

    #[test]
    fn ngram_scores_on_a_repeated_run_with_words_of_different_lengths() {
        // aa b ccc d e f aa b ccc d e: 17 characters, "aa b ccc d e" (8) twice
        let text = "aa b ccc d e f aa b ccc d e";
        let s = scores(text);
        // 2-grams tied at count 2: "aa b" 3, "b ccc" 4, "ccc d" 4, "d e" 2 -> the longest, 4 x 2
        assert!(close(s[4], 8.0 / 17.0));
        assert!(close(s[5], 12.0 / 17.0)); // "aa b ccc" (6) twice
        assert!(close(s[6], 14.0 / 17.0)); // "aa b ccc d" (7) twice
        assert!(close(s[7], 16.0 / 17.0)); // both occurrences of the 5-gram, 8 + 8
        assert_eq!(s[8..], [0.0; 5]); // the 6-gram "aa b ccc d e f" occurs once
    }

    #[test]
    fn words_inside_overlapping_repeats_count_once() {
        // x then "a b c d e" three times: every word but x lies in a repeated 5-gram
        let text = "x a b c d e a b c d e a b c d e";
        assert!(close(score(text, "dup_5gram_char_frac"), 15.0 / 16.0));
        // 10-grams: "a b c d e a b c d e" at 1 and 6 cover words 1..16 as well
        assert!(close(score(text, "dup_10gram_char_frac"), 15.0 / 16.0));
        // six a's: the 5-grams at 0 and 1 are the same and cover all six words
        assert_eq!(score("a a a a a a", "dup_5gram_char_frac"), 1.0);
        // "a a" occurs 5 times, 10 characters of 6: clamped
        assert_eq!(score("a a a a a a", "top_2gram_char_frac"), 1.0);
    }

    #[test]
    fn too_few_words_for_n_scores_zero_for_that_n() {
        // four words, all the same: 2- to 4-grams repeat or fill the text, 5-grams do not exist
        let s = scores("w w w w");
        assert_eq!(s[4], 1.0); // "w w" x3 = 6 of 4 characters, clamped
        assert!(close(s[5], 1.0)); // "w w w" x2 = 6 of 4, clamped
        assert_eq!(s[6], 0.0); // one 4-gram
        assert_eq!(s[7..], [0.0; 6]);
    }

    #[test]
    fn scratch_reuse_does_not_leak_between_documents() {
        let mut scratch = Scratch::default();
        let texts = ["a b c d e a b c d e", "one two three", "x y\nx y", "p q p q p q p q p q p q"];
        let fresh: Vec<_> = texts.iter().map(|t| scores(t)).collect();
        for _ in 0..2 {
            for (text, expected) in texts.iter().zip(&fresh) {
                assert_eq!(&repetition_scores(text, &mut scratch), expected);
            }
        }
    }
}
