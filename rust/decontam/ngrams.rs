//! Contamination index: which evaluation samples a training document contains.
//!
//! A sample is represented by the set of its word n-grams (n = 13 by default, words as defined
//! in rust/dedup/shingles.rs). A document contains a sample when it holds more than `threshold`
//! (0.7) of the sample's n-grams. Rule for short samples: a sample of fewer than n words (but at
//! least `min_words`) is one n-gram of its own length, so it counts as contained only when the
//! document holds its whole word sequence; samples under `min_words` words are too generic to
//! test (any document would match) and are reported as skipped.

use crate::dedup::shingles::shingle_set;
use rustc_hash::FxHashMap;

pub struct ContaminationIndex {
    ngram: usize,
    /// n-gram hash -> samples holding it, per gram length (n, or a short sample's length).
    grams: FxHashMap<(usize, u64), Vec<u32>>,
    /// Distinct gram lengths in the index (n first), so a document is shingled once per length.
    lengths: Vec<usize>,
    sample_sizes: Vec<u32>,
    skipped: Vec<u32>,
}

/// A sample a document contains: (sample index, fraction of its n-grams present).
pub type Match = (u32, f64);

impl ContaminationIndex {
    pub fn new(samples: &[&str], ngram: usize, min_words: usize) -> Self {
        assert!(ngram > 0, "ngram must be at least 1");
        let mut grams: FxHashMap<(usize, u64), Vec<u32>> = FxHashMap::default();
        let mut lengths = vec![ngram];
        let mut sample_sizes = Vec::with_capacity(samples.len());
        let mut skipped = Vec::new();
        for (index, text) in samples.iter().enumerate() {
            let words = crate::dedup::shingles::word_hashes(text).len();
            if words < min_words.max(1) {
                skipped.push(index as u32);
                sample_sizes.push(0);
                continue;
            }
            let length = ngram.min(words);
            if !lengths.contains(&length) {
                lengths.push(length);
            }
            let set = shingle_set(text, length);
            sample_sizes.push(set.len() as u32);
            for gram in set {
                grams.entry((length, gram)).or_default().push(index as u32);
            }
        }
        ContaminationIndex { ngram, grams, lengths, sample_sizes, skipped }
    }

    pub fn ngram(&self) -> usize {
        self.ngram
    }

    /// Samples too short to test.
    pub fn skipped(&self) -> &[u32] {
        &self.skipped
    }

    /// Every sample of which `text` holds more than `threshold` of the n-grams, by sample index.
    pub fn scan(&self, text: &str, threshold: f64) -> Vec<Match> {
        let mut counts: FxHashMap<u32, u32> = FxHashMap::default();
        for &length in &self.lengths {
            for gram in shingle_set(text, length) {
                if let Some(samples) = self.grams.get(&(length, gram)) {
                    for &sample in samples {
                        *counts.entry(sample).or_insert(0) += 1;
                    }
                }
            }
        }
        let mut matches: Vec<Match> = counts
            .into_iter()
            .filter_map(|(sample, count)| {
                let overlap = f64::from(count) / f64::from(self.sample_sizes[sample as usize]);
                (overlap > threshold).then_some((sample, overlap))
            })
            .collect();
        matches.sort_by_key(|m| m.0);
        matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUESTION: &str = "A 54-year-old man comes to the emergency department because of chest pain for 3 days. \
        Which of the following is the most likely diagnosis?";

    #[test]
    fn a_planted_question_is_found_and_clean_text_is_not() {
        let index =
            ContaminationIndex::new(&[QUESTION, "Which drug inhibits xanthine oxidase in patients with gout?"], 13, 5);
        let contaminated = format!("Clinic note. Teaching case: {QUESTION} Plan: aspirin.");
        assert_eq!(index.scan(&contaminated, 0.7), vec![(0, 1.0)]);
        assert!(index.scan("The patient reports chest pain for 3 days and denies fever.", 0.7).is_empty());
    }

    #[test]
    fn partial_copies_are_judged_by_the_threshold() {
        let index = ContaminationIndex::new(&[QUESTION], 13, 5);
        let words: Vec<&str> = QUESTION.split_whitespace().collect();
        let most = words[..words.len() - 3].join(" ");
        let half = words[..words.len() / 2].join(" ");
        assert_eq!(index.scan(&most, 0.7).len(), 1);
        assert!(index.scan(&half, 0.7).is_empty());
    }

    #[test]
    fn short_samples_match_only_as_a_whole_and_tiny_ones_are_skipped() {
        let index = ContaminationIndex::new(&["is aspirin an NSAID used for pain", "Yes", ""], 13, 5);
        assert_eq!(index.skipped(), &[1, 2]);
        assert_eq!(index.scan("Q: Is aspirin an NSAID used for pain? A: yes.", 0.7), vec![(0, 1.0)]);
        assert!(index.scan("is aspirin an NSAID used for fever", 0.7).is_empty());
        assert!(index.scan("Yes, yes and yes.", 0.7).is_empty());
    }
}
