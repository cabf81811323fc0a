//! Exact Jaccard similarity over shingle sets, and an all-pairs scan that finds every pair of
//! documents at or above a threshold. This is the ground truth that MinHash LSH approximates:
//! it confirms LSH candidates, and tests use it to prove no near-duplicates survive.

use rayon::prelude::*;

/// |A ∩ B| / |A ∪ B| of two sorted, deduplicated sets; 0.0 when both are empty (an empty
/// document is no one's near-duplicate; exact dedup handles empty texts).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let union = a.len() + b.len();
    if union == 0 {
        return 0.0;
    }
    let shared = intersection_size(a, b);
    shared as f64 / (union - shared) as f64
}

fn intersection_size(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared
}

/// Every pair (i, j), i < j, of `sets` whose Jaccard similarity is >= `threshold`, sorted by
/// (i, j), whatever the number of threads.
///
/// Exact and quadratic in the worst case; the size filter J(A, B) <= |A| / |B| for |A| <= |B|
/// skips most pairs of documents of different lengths. Meant for oracles and small corpora.
pub fn pairs_at_or_above(sets: &[Vec<u64>], threshold: f64) -> Vec<(usize, usize, f64)> {
    let mut by_size: Vec<usize> = (0..sets.len()).filter(|&i| !sets[i].is_empty()).collect();
    by_size.sort_by_key(|&i| (sets[i].len(), i));
    let mut pairs: Vec<(usize, usize, f64)> = by_size
        .par_iter()
        .enumerate()
        .flat_map_iter(|(rank, &small)| {
            let small_len = sets[small].len() as f64;
            by_size[rank + 1..]
                .iter()
                .take_while(move |&&large| small_len >= threshold * sets[large].len() as f64)
                .filter_map(move |&large| {
                    let similarity = jaccard(&sets[small], &sets[large]);
                    (similarity >= threshold).then(|| (small.min(large), small.max(large), similarity))
                })
        })
        .collect();
    pairs.sort_by_key(|p| (p.0, p.1));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::shingles::shingle_set;

    #[test]
    fn jaccard_of_known_sets() {
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
        assert_eq!(jaccard(&[1, 2], &[1, 2]), 1.0);
        assert_eq!(jaccard(&[1], &[2]), 0.0);
        assert_eq!(jaccard(&[], &[]), 0.0);
    }

    #[test]
    fn all_pairs_scan_matches_brute_force() {
        let base = "the patient is a pleasant woman who presents with cough fever and chills for three days";
        let texts = [
            base.to_string(),
            base.replace("three", "four"),
            base.replace("cough", "wheeze").replace("three", "two"),
            "an entirely different radiology report with clear lungs and no effusion".to_string(),
            String::new(),
            base.to_uppercase(),
        ];
        let sets: Vec<Vec<u64>> = texts.iter().map(|t| shingle_set(t, 3)).collect();
        for threshold in [0.3, 0.5, 0.8, 1.0] {
            let mut expected = Vec::new();
            for i in 0..sets.len() {
                for j in i + 1..sets.len() {
                    let similarity = jaccard(&sets[i], &sets[j]);
                    if similarity >= threshold {
                        expected.push((i, j, similarity));
                    }
                }
            }
            assert_eq!(pairs_at_or_above(&sets, threshold), expected, "threshold {threshold}");
        }
        // The upper-cased copy is an exact shingle match of the original.
        assert!(pairs_at_or_above(&sets, 1.0).contains(&(0, 5, 1.0)));
    }
}
