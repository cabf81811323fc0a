//! Training the reference model: count every n-gram once, derive the lower orders' counts,
//! estimate discounts, prune, and lay the kept n-grams out as the reversed trie that scoring
//! walks (see the parent module's doc for the model itself).
//!
//! An order-k n-gram `h_1 .. h_{k-1} w` is a key of k tokens packed into a u128, reversed:
//! w in the highest bits, h_1 in the lowest, `bits` per token (enough for vocab_size + 1, the
//! begin token). Sorting the keys of an order therefore sorts its n-grams by (suffix `h_2 .. w`,
//! leftmost token), which is both the trie's layout and what makes the lower orders one linear
//! scan: the order-(k-1) n-gram `h_2 .. w` is key >> bits, and its distinct left extensions are
//! the run of consecutive order-k keys that share it. The context `h_1 .. h_{k-1}` is key with its
//! top token masked off. Memory is about 24 bytes per distinct n-gram of every order at once, plus
//! 16 bytes per token of the highest order while it is sorted: training order 5 on 9.6M tokens
//! (64K vocabulary) peaked at 1.06 GB resident, 7 s on 2 threads.

use super::{Level, ReferenceLm, MAX_ORDER};
use rayon::prelude::*;

/// What to train.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Token ids are 0..vocab_size; the model adds end = vocab_size and begin = vocab_size + 1.
    pub vocab_size: u32,
    /// Highest n-gram order, 1..=MAX_ORDER.
    pub order: usize,
    /// min_counts[k - 1]: order-k n-grams seen fewer times are pruned; one per order, not
    /// decreasing, the first at most 1 (every token keeps its unigram).
    pub min_counts: Vec<u32>,
}

/// 1 for unigrams and bigrams, 2 from trigrams up: singletons of order 3+ are pruned (they are
/// most of the n-grams and, seen once, their estimate is mostly noise).
pub fn default_min_counts(order: usize) -> Vec<u32> {
    (1..=order).map(|k| if k >= 3 { 2 } else { 1 }).collect()
}

/// The distinct n-grams of one order, sorted by key, with their raw count (occurrences) and
/// adjusted count (the Kneser-Ney count the estimate uses).
#[derive(Default)]
struct Counts {
    keys: Vec<u128>,
    raw: Vec<u32>,
    adjusted: Vec<u32>,
}

/// Train on the documents ids[offsets[i]..offsets[i + 1]], on the current rayon pool.
pub fn train(ids: &[u32], offsets: &[usize], config: &TrainConfig) -> Result<ReferenceLm, String> {
    let TrainConfig { vocab_size, order, ref min_counts } = *config;
    check(ids, offsets, config)?;
    let bits = u32::BITS - (vocab_size + 1).leading_zeros();
    let counts = count(ids, offsets, order, vocab_size, bits);
    let discounts: Vec<[f64; 3]> = counts.iter().map(|c| discounts_of(&c.adjusted)).collect();
    let mut ngram_counts = vec![counts[0].keys.len() as u64];
    let levels = estimate(counts, &discounts, min_counts, vocab_size, bits, &mut ngram_counts);
    Ok(ReferenceLm { order, vocab_size, min_counts: min_counts.clone(), discounts, ngram_counts, levels })
}

fn check(ids: &[u32], offsets: &[usize], config: &TrainConfig) -> Result<(), String> {
    let TrainConfig { vocab_size, order, ref min_counts } = *config;
    if !(1..=MAX_ORDER).contains(&order) {
        return Err(format!("order must be in 1..={MAX_ORDER}, got {order}"));
    }
    if vocab_size == 0 || vocab_size > u32::MAX - 2 {
        return Err(format!("vocab_size must be in 1..={}, got {vocab_size}", u32::MAX - 2));
    }
    let bits = (u32::BITS - (vocab_size + 1).leading_zeros()) as usize;
    if bits * order > 128 {
        return Err(format!(
            "order {order} with vocab_size {vocab_size} needs {bits} x {order} bits per n-gram, more than 128: lower the order"
        ));
    }
    if min_counts.len() != order {
        return Err(format!("min_counts has {} values for order {order}: give one per order", min_counts.len()));
    }
    if min_counts[0] > 1 {
        return Err("min_counts[0] must be 0 or 1: unigrams are never pruned".into());
    }
    if min_counts.windows(2).any(|w| w[1] < w[0]) {
        return Err(format!("min_counts must not decrease with the order, got {min_counts:?}"));
    }
    if offsets.len() < 2 {
        return Err("no documents to train on".into());
    }
    if offsets[0] != 0 || offsets.windows(2).any(|w| w[1] < w[0]) || offsets[offsets.len() - 1] != ids.len() {
        return Err(format!("offsets must rise from 0 to the {} ids", ids.len()));
    }
    // Every position is counted once per order; raw counts are u32.
    if ids.len() + offsets.len() >= u32::MAX as usize {
        return Err(format!("{} tokens is too many for one model (at most 2^32 - 1)", ids.len()));
    }
    if let Some(at) = ids.par_iter().position_first(|&t| t >= vocab_size) {
        return Err(format!("token {} at position {at} is not below vocab_size {vocab_size}", ids[at]));
    }
    Ok(())
}

/// Counts of every order, index k - 1 for order k.
fn count(ids: &[u32], offsets: &[usize], order: usize, vocab_size: u32, bits: u32) -> Vec<Counts> {
    let (end, begin) = (vocab_size, vocab_size + 1);
    let documents: Vec<&[u32]> = offsets.windows(2).map(|w| &ids[w[0]..w[1]]).collect();
    // Position j of `begin w1 .. wm end`, and the reversed key of the `len` tokens ending at j.
    let symbol = |doc: &[u32], j: usize| -> u32 {
        match j {
            0 => begin,
            j if j == doc.len() + 1 => end,
            j => doc[j - 1],
        }
    };
    let key =
        |doc: &[u32], j: usize, len: usize| (0..len).fold(0u128, |k, i| (k << bits) | u128::from(symbol(doc, j - i)));

    // Highest order: every full-length n-gram ending at w1 .. end.
    let first_end = (order - 1).max(1);
    let top_len: usize = documents.iter().map(|d| (d.len() + 2).saturating_sub(first_end)).sum();
    let mut keys = Vec::with_capacity(top_len);
    for doc in &documents {
        keys.extend((first_end..doc.len() + 2).map(|j| key(doc, j, order)));
    }
    let (keys, raw) = run_lengths(keys);
    let mut counts = vec![Counts { adjusted: raw.clone(), keys, raw }];
    // Lower orders, top down: continuation counts of the order above, plus the n-grams that
    // start with `begin` (shorter than the highest order only at a document's start).
    for k in (1..order).rev() {
        let starts: Vec<u128> =
            documents.iter().filter(|d| k >= 2 && k <= d.len() + 2).map(|d| key(d, k - 1, k)).collect();
        let (begin_keys, begin_raw) = run_lengths(starts);
        let starting = Counts { keys: begin_keys, adjusted: begin_raw.clone(), raw: begin_raw };
        counts.push(merge(continuations(counts.last().unwrap(), bits), starting));
    }
    counts.reverse();
    counts
}

/// Sorted distinct keys and their multiplicities.
fn run_lengths(mut keys: Vec<u128>) -> (Vec<u128>, Vec<u32>) {
    keys.par_sort_unstable();
    let mut raw: Vec<u32> = Vec::new();
    let mut distinct = 0;
    for i in 0..keys.len() {
        if distinct > 0 && keys[distinct - 1] == keys[i] {
            *raw.last_mut().unwrap() += 1;
        } else {
            keys[distinct] = keys[i];
            distinct += 1;
            raw.push(1);
        }
    }
    keys.truncate(distinct);
    keys.shrink_to_fit();
    (keys, raw)
}

/// The order-(k-1) suffixes of the order-k n-grams: raw count the sum of their extensions'
/// (each occurrence of a suffix not starting the document has a left neighbour), adjusted count
/// the number of distinct extensions.
fn continuations(upper: &Counts, bits: u32) -> Counts {
    let mut lower = Counts::default();
    for (i, &key) in upper.keys.iter().enumerate() {
        let suffix = key >> bits;
        if lower.keys.last() == Some(&suffix) {
            *lower.raw.last_mut().unwrap() += upper.raw[i];
            *lower.adjusted.last_mut().unwrap() += 1;
        } else {
            lower.keys.push(suffix);
            lower.raw.push(upper.raw[i]);
            lower.adjusted.push(1);
        }
    }
    lower
}

/// Merge two sorted sets of n-grams with no key in common (continuations never start with
/// `begin`; the document-start n-grams always do).
fn merge(a: Counts, b: Counts) -> Counts {
    let total = a.keys.len() + b.keys.len();
    let mut out =
        Counts { keys: Vec::with_capacity(total), raw: Vec::with_capacity(total), adjusted: Vec::with_capacity(total) };
    let (mut i, mut j) = (0, 0);
    while i < a.keys.len() || j < b.keys.len() {
        let from_a = j == b.keys.len() || (i < a.keys.len() && a.keys[i] < b.keys[j]);
        let (src, at) = if from_a { (&a, &mut i) } else { (&b, &mut j) };
        out.keys.push(src.keys[*at]);
        out.raw.push(src.raw[*at]);
        out.adjusted.push(src.adjusted[*at]);
        *at += 1;
    }
    out
}

/// Count bucket of an adjusted count: 0 for 1, 1 for 2, 2 for 3 and more.
fn bucket(count: u32) -> usize {
    (count.min(3) - 1) as usize
}

/// D(1), D(2), D(3+) from the counts of counts: D_c = c - (c + 1) Y n_{c+1} / n_c, Y = n1 /
/// (n1 + 2 n2). Tiny corpora can lack a count of counts or give a discount outside (0, c]; then
/// the single absolute discount Y when n1 and n2 exist, else 0.5.
pub(super) fn discounts_of(adjusted: &[u32]) -> [f64; 3] {
    let mut n = [0f64; 5];
    for &a in adjusted {
        if a <= 4 {
            n[a as usize] += 1.0;
        }
    }
    if n[1] > 0.0 && n[2] > 0.0 {
        let y = n[1] / (n[1] + 2.0 * n[2]);
        let d: [f64; 3] = std::array::from_fn(|i| {
            let c = (i + 1) as f64;
            c - (c + 1.0) * y * n[i + 2] / n[i + 1]
        });
        let valid = n[3] > 0.0 && n[4] > 0.0 && d.iter().enumerate().all(|(i, &d)| d > 0.0 && d <= (i + 1) as f64);
        return if valid { d } else { [y; 3] };
    }
    [0.5; 3]
}

/// Per-context sums over its extensions (the order-k n-grams it is the context of).
#[derive(Clone, Copy, Default)]
struct Context {
    /// Sum of the extensions' adjusted counts.
    total: u64,
    /// Extensions per count bucket (1, 2, 3+).
    buckets: [u32; 3],
    /// Sum of (adjusted count - discount) over the pruned extensions.
    pruned: f64,
    /// Sum of p(w | h') over the kept extensions hw.
    kept_lower: f64,
}

impl Context {
    /// gamma(h): the mass the discounts free, given to the lower order.
    fn gamma(&self, d: &[f64; 3]) -> f64 {
        if self.total == 0 {
            return 1.0;
        }
        (0..3).map(|b| d[b] * f64::from(self.buckets[b])).sum::<f64>() / self.total as f64
    }

    /// The backoff weight that keeps p(. | h) normalized after pruning (gamma when nothing was).
    fn backoff(&self, d: &[f64; 3]) -> f64 {
        let gamma = self.gamma(d);
        if self.pruned == 0.0 {
            return gamma;
        }
        let unkept_lower = (1.0 - self.kept_lower).max(f64::MIN_POSITIVE);
        gamma + self.pruned / self.total as f64 / unkept_lower
    }
}

/// An order whose probabilities are known and whose backoffs wait for the next order.
struct Pending {
    /// Order >= 2: the sorted keys (for lookups and tokens); order 1 is dense.
    keys: Option<Vec<u128>>,
    probs: Vec<f64>,
    keep: Vec<bool>,
}

fn estimate(
    mut counts: Vec<Counts>,
    discounts: &[[f64; 3]],
    min_counts: &[u32],
    vocab_size: u32,
    bits: u32,
    ngram_counts: &mut Vec<u64>,
) -> Vec<Level> {
    let order = counts.len();
    let dense = vocab_size as usize + 2;
    let begin = vocab_size as usize + 1;
    // Order 1: dense over every id; interpolated with the uniform over the vocab_size + 1
    // predictable ids.
    let unigrams = std::mem::take(&mut counts[0]);
    let mut adjusted = vec![0u32; dense];
    for (&key, &a) in unigrams.keys.iter().zip(&unigrams.adjusted) {
        adjusted[key as usize] = a;
    }
    let d = &discounts[0];
    let mut root = Context::default();
    for &a in &unigrams.adjusted {
        root.total += u64::from(a);
        root.buckets[bucket(a)] += 1;
    }
    let uniform = root.gamma(d) / (f64::from(vocab_size) + 1.0);
    let probs = (0..dense)
        .map(|w| match adjusted[w] {
            _ if w == begin => 0.0,
            0 => uniform,
            a => (f64::from(a) - d[bucket(a)]) / root.total as f64 + uniform,
        })
        .collect();
    let mut pending = Pending { keys: None, probs, keep: vec![true; dense] };
    let mut levels = Vec::with_capacity(order);

    for k in 2..=order {
        let current = std::mem::take(&mut counts[k - 1]);
        let previous_keys = pending.keys.as_deref();
        let index_of = |key: u128| -> u32 {
            match previous_keys {
                None => key as u32,
                Some(keys) => keys.binary_search(&key).expect("the n-grams are closed under suffix and prefix") as u32,
            }
        };
        let context_mask = (1u128 << (bits as usize * (k - 1))) - 1;
        let parents: Vec<u32> = current.keys.par_iter().map(|&key| index_of(key >> bits)).collect();
        let contexts: Vec<u32> = current.keys.par_iter().map(|&key| index_of(key & context_mask)).collect();
        let threshold = min_counts[k - 1].max(1);
        let keep: Vec<bool> = current.raw.iter().map(|&c| c >= threshold).collect();
        let d = &discounts[k - 1];

        let mut stats = vec![Context::default(); pending.probs.len()];
        for (i, &a) in current.adjusted.iter().enumerate() {
            let context = &mut stats[contexts[i] as usize];
            context.total += u64::from(a);
            context.buckets[bucket(a)] += 1;
            if !keep[i] {
                context.pruned += f64::from(a) - d[bucket(a)];
            }
        }
        let mut probs = vec![0.0; current.keys.len()];
        for (i, &a) in current.adjusted.iter().enumerate() {
            if keep[i] {
                let context = &mut stats[contexts[i] as usize];
                let lower = pending.probs[parents[i] as usize];
                probs[i] = (f64::from(a) - d[bucket(a)]) / context.total as f64 + context.gamma(d) * lower;
                context.kept_lower += lower;
            }
        }
        drop(contexts);
        // A context's extensions are order-k n-grams, so its gamma uses order k's discounts.
        let backoffs: Vec<f64> = stats.iter().map(|s| s.backoff(d)).collect();
        drop(stats);
        levels.push(finish_level(&pending, Some((&backoffs, &parents, &keep)), bits));
        ngram_counts.push(keep.iter().filter(|&&k| k).count() as u64);
        pending = Pending { keys: Some(current.keys), probs, keep };
    }
    levels.push(finish_level(&pending, None, bits));
    levels
}

/// The stored level of a pending order: its kept entries (tokens, ln p) with, when a next order
/// exists, their ln backoffs and the ranges of their kept children (`next`: the backoffs of this
/// order's entries, and the parent and keep flag of each next-order entry).
fn finish_level(pending: &Pending, next: Option<(&[f64], &[u32], &[bool])>, bits: u32) -> Level {
    let token_mask = (1u128 << bits) - 1;
    let mut new_index = vec![u32::MAX; pending.probs.len()];
    let mut level = Level::default();
    for (i, &kept) in pending.keep.iter().enumerate() {
        if !kept {
            continue;
        }
        new_index[i] = level.log_probs.len() as u32;
        if let Some(keys) = &pending.keys {
            level.tokens.push((keys[i] & token_mask) as u32);
        }
        let p = pending.probs[i];
        level.log_probs.push(if p > 0.0 { p.ln() as f32 } else { f32::NEG_INFINITY });
        if let Some((backoffs, _, _)) = next {
            level.log_backoffs.push(backoffs[i].ln() as f32);
        }
    }
    if let Some((_, parents, keep)) = next {
        // Children are the next order's kept entries, already sorted by (parent, token).
        let mut children = vec![0u32; level.len() + 1];
        for (&parent, _) in parents.iter().zip(keep).filter(|(_, &k)| k) {
            children[new_index[parent as usize] as usize + 1] += 1;
        }
        for i in 1..children.len() {
            children[i] += children[i - 1];
        }
        level.child_start = children;
    }
    level
}
