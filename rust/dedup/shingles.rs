//! What "the same text" means for deduplication, defined once and shared by exact dedup,
//! MinHash signatures and the exact-Jaccard oracle, so the three can never disagree.
//!
//! * Normalized text (exact dedup): Unicode-lowercased, whitespace runs collapsed to one space,
//!   trimmed. Two documents that differ only in case or spacing hash the same.
//! * Words (shingling): whitespace-separated tokens, lowercased, with punctuation stripped from
//!   both ends ("SUBJECTIVE:," and "subjective" are the same word); tokens that are all
//!   punctuation are dropped.
//! * Shingles: every window of `ngram` consecutive words, hashed to 64 bits; a document with
//!   fewer words than `ngram` (but at least one) has one shingle, all of its words.

use xxhash_rust::xxh3::xxh3_64;

/// Seed-free 64-bit hash of the normalized text: stable across runs, machines and versions.
pub fn normalized_hash(text: &str) -> u64 {
    let mut normalized = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !normalized.is_empty() {
            normalized.push(' ');
        }
        push_lowercase(&mut normalized, word);
    }
    xxh3_64(normalized.as_bytes())
}

/// Hash of each dedup word of `text`, in order.
pub fn word_hashes(text: &str) -> Vec<u64> {
    let mut scratch = String::new();
    let mut hashes = Vec::new();
    for token in text.split_whitespace() {
        let word = token.trim_matches(|c: char| !c.is_alphanumeric());
        if word.is_empty() {
            continue;
        }
        scratch.clear();
        push_lowercase(&mut scratch, word);
        hashes.push(xxh3_64(scratch.as_bytes()));
    }
    hashes
}

/// The sorted, deduplicated set of word-`ngram` shingle hashes of `text`.
///
/// Panics if `ngram` is 0; the Python binding checks it first.
pub fn shingle_set(text: &str, ngram: usize) -> Vec<u64> {
    assert!(ngram > 0, "ngram must be at least 1");
    let words = word_hashes(text);
    if words.is_empty() {
        return Vec::new();
    }
    let window = ngram.min(words.len());
    let mut bytes = Vec::with_capacity(window * 8);
    let mut shingles: Vec<u64> = words
        .windows(window)
        .map(|gram| {
            bytes.clear();
            for word in gram {
                bytes.extend_from_slice(&word.to_le_bytes());
            }
            xxh3_64(&bytes)
        })
        .collect();
    shingles.sort_unstable();
    shingles.dedup();
    shingles
}

fn push_lowercase(out: &mut String, word: &str) {
    if word.is_ascii() {
        out.extend(word.bytes().map(|b| b.to_ascii_lowercase() as char));
    } else {
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_spacing_do_not_change_the_normalized_hash() {
        let a = normalized_hash("Chest X-ray:  no acute\tfindings.\n");
        let b = normalized_hash("chest x-ray: NO ACUTE findings.");
        assert_eq!(a, b);
        assert_ne!(a, normalized_hash("chest x-ray: no acute findings!"));
    }

    #[test]
    fn words_are_lowercased_and_stripped_of_edge_punctuation() {
        assert_eq!(word_hashes("SUBJECTIVE:,  Cough."), word_hashes("subjective cough"));
        assert_eq!(word_hashes(" -- , ").len(), 0);
        // Inner punctuation is part of the word.
        assert_ne!(word_hashes("x-ray"), word_hashes("x ray"));
    }

    #[test]
    fn shingle_counts_follow_the_window() {
        let text = "one two three four five six seven";
        assert_eq!(shingle_set(text, 5).len(), 3);
        assert_eq!(shingle_set(text, 1).len(), 7);
        assert_eq!(shingle_set("short text", 5).len(), 1);
        assert!(shingle_set("", 5).is_empty());
        // Repeated windows collapse into one set element.
        assert_eq!(shingle_set("a b a b a b", 2).len(), 2);
    }

    #[test]
    fn unicode_lowercasing_is_applied() {
        assert_eq!(normalized_hash("ÉCHOGRAPHIE Ω"), normalized_hash("échographie ω"));
    }
}
