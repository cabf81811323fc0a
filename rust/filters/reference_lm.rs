//! A reference language model: token n-grams with interpolated modified Kneser-Ney smoothing
//! (Chen & Goodman 1998, as KenLM's lmplz estimates it), trained on text we want more of and
//! scoring the perplexity of documents; the build drops documents that score far above it.
//!
//! **Documents.** Token ids are a tokenizer's, `0..vocab_size`. Two more ids exist only in the
//! model: `end = vocab_size` (the end-of-document token, predicted after the last token) and
//! `begin = vocab_size + 1` (the begin-of-document context, never predicted). A document
//! `w1 .. wm` is the sequence `begin w1 .. wm end`; its n-grams are those ending at `w1 .. end`,
//! and near the start they are shorter, beginning with `begin` (one `begin`, as KenLM and SRILM
//! pad, so "`begin` w1" is a bigram, never "`begin begin` w1"). Its perplexity is
//! exp(-mean ln p) over `w1 .. wm end` (m + 1 predictions).
//!
//! **Estimate** (reference_lm/train.rs). Counts of the highest order N are raw counts; a lower
//! order n-gram's count is its number of distinct one-token left extensions (the Kneser-Ney
//! continuation count), except n-grams starting with `begin`, which have no left context and keep
//! their raw count. Order k has three discounts D_k(1), D_k(2), D_k(3+) = c - (c + 1) Y n_{c+1} /
//! n_c with Y = n1 / (n1 + 2 n2), n_c the number of order-k n-grams with count c. Then
//! p(w | h) = (a(hw) - D(a(hw))) / a(h.) + gamma(h) p(w | h'), h' is h without its first token,
//! gamma(h) the discounted mass, and the unigram level interpolates with the uniform distribution
//! over the vocab_size + 1 predictable ids, so an unseen token has a finite probability.
//!
//! **Pruning.** `min_counts[k-1]` drops order-k n-grams seen fewer times (raw count; default
//! 1, 1, 2, 2, ...: singletons of order 3 and up go). The thresholds must not decrease with the
//! order, and a raw count is at most its sub-n-grams' counts, so every kept n-gram keeps its
//! prefix and its suffix. Kept n-grams keep their interpolated probability; each context's
//! backoff weight is then recomputed as (1 - sum of its kept extensions' p(w | h)) / (1 - sum of
//! their p(w | h')), so every context's distribution still sums to 1 (without pruning this is
//! gamma(h) exactly).
//!
//! **Query.** The model is stored as in an ARPA file: each kept n-gram has ln p(w | h) and, as a
//! context, ln b(hw); p(w | h) is the probability of the longest stored n-gram ending in w,
//! times the backoff of each longer suffix of h that is stored. The n-grams of each order are a
//! reversed trie (KenLM's layout): an order-k n-gram is a child of its order-(k-1) suffix, keyed
//! by its leftmost token, so extending the match one token to the left is one binary search among
//! a node's children, and the backoffs of the next word's contexts are those of the nodes the
//! current word matched (no second lookup).
//!
//! **File** (reference_lm/file.rs; little-endian): magic "MTREFLM\0", version u32 (1), order
//! u32, vocab_size u32, min_counts u32 x order, discounts f64 x 3 x order, ngram_counts u64 x
//! order, level sizes u64 x order; then per order k: tokens u32 x size (k >= 2), ln p f32 x size,
//! ln b f32 x size (k < N) and child_start u32 x (size + 1) (k < N, into order k + 1); then the
//! xxh3-64 of all the bytes before it. Order 1 is dense over vocab_size + 2 ids (the begin
//! token's ln p is -inf). Entries of order k >= 2 are sorted by (suffix node, token), and the
//! training is deterministic (sorted keys, sequential float sums), so the same corpus gives a
//! byte-identical file on any number of threads.

mod file;
mod train;

pub use file::LoadError;
pub use train::{default_min_counts, TrainConfig};

use rayon::prelude::*;

/// Highest order supported (the keys of an n-gram pack into 128 bits; see train.rs).
pub const MAX_ORDER: usize = 8;

/// One order of the model, in the reversed trie's layout.
#[derive(Clone, Debug, Default, PartialEq)]
struct Level {
    /// Order >= 2: the n-gram's leftmost token, its key among its suffix's children. Empty for
    /// order 1, which is dense (index = token id).
    tokens: Vec<u32>,
    /// ln p(w | h) of each n-gram.
    log_probs: Vec<f32>,
    /// ln of each n-gram's backoff weight as a context (0 when it has no extensions). Empty at
    /// the highest order.
    log_backoffs: Vec<f32>,
    /// The children (order k + 1 n-grams extending this one to the left) of entry i are
    /// child_start[i]..child_start[i + 1] of the next level. Empty at the highest order.
    child_start: Vec<u32>,
}

impl Level {
    fn len(&self) -> usize {
        self.log_probs.len()
    }
}

/// A trained or loaded reference model.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceLm {
    order: usize,
    vocab_size: u32,
    min_counts: Vec<u32>,
    /// D(1), D(2), D(3+) of each order.
    discounts: Vec<[f64; 3]>,
    /// N-grams with a probability, per order; order 1 counts the seen tokens (end included).
    ngram_counts: Vec<u64>,
    levels: Vec<Level>,
}

/// Where a document's scoring stands: the last order - 1 tokens, most recent first, and the ln
/// backoffs of the stored n-grams among their suffixes (backoffs[c - 1]: the suffix of length c).
#[derive(Clone, Copy)]
struct State {
    history: [u32; MAX_ORDER],
    history_len: usize,
    backoffs: [f32; MAX_ORDER],
    backoffs_len: usize,
}

impl State {
    const EMPTY: State = State { history: [0; MAX_ORDER], history_len: 0, backoffs: [0.0; MAX_ORDER], backoffs_len: 0 };
}

impl ReferenceLm {
    /// Train on the documents ids[offsets[i]..offsets[i + 1]] (offsets rise from 0 to
    /// ids.len()), on the current rayon pool.
    pub fn train(ids: &[u32], offsets: &[usize], config: &TrainConfig) -> Result<ReferenceLm, String> {
        train::train(ids, offsets, config)
    }

    pub fn order(&self) -> usize {
        self.order
    }

    pub fn vocab_size(&self) -> u32 {
        self.vocab_size
    }

    /// The end-of-document token (predicted after each document's last token).
    pub fn end_id(&self) -> u32 {
        self.vocab_size
    }

    /// The begin-of-document context (never predicted).
    pub fn begin_id(&self) -> u32 {
        self.vocab_size + 1
    }

    pub fn min_counts(&self) -> &[u32] {
        &self.min_counts
    }

    pub fn discounts(&self) -> &[[f64; 3]] {
        &self.discounts
    }

    pub fn ngram_counts(&self) -> &[u64] {
        &self.ngram_counts
    }

    /// ln p(w | the state's history), and the state moves past w.
    fn step(&self, state: &mut State, w: u32) -> f64 {
        let order = self.order;
        let mut node = w as usize;
        let mut log_p = f64::from(self.levels[0].log_probs[node]);
        let mut matched = 1; // length of the longest stored n-gram ending in w
        let mut backoffs = [0.0f32; MAX_ORDER];
        if order > 1 {
            backoffs[0] = self.levels[0].log_backoffs[node];
        }
        while matched < order && matched <= state.history_len {
            let (shorter, longer) = (&self.levels[matched - 1], &self.levels[matched]);
            let children = shorter.child_start[node] as usize..shorter.child_start[node + 1] as usize;
            match longer.tokens[children.clone()].binary_search(&state.history[matched - 1]) {
                Ok(i) => {
                    node = children.start + i;
                    log_p = f64::from(longer.log_probs[node]);
                    if matched < order - 1 {
                        backoffs[matched] = longer.log_backoffs[node];
                    }
                    matched += 1;
                }
                Err(_) => break,
            }
        }
        // Back off from every stored context longer than the matched n-gram's.
        for c in matched..=state.backoffs_len {
            log_p += f64::from(state.backoffs[c - 1]);
        }
        if order > 1 {
            let older = state.history_len.min(order - 2); // tokens that stay in the history
            state.history.copy_within(0..older, 1);
            state.history[0] = w;
            state.history_len = older + 1;
        }
        state.backoffs = backoffs;
        state.backoffs_len = matched.min(order - 1);
        log_p
    }

    /// The state at the start of a document (after the begin context).
    fn start(&self) -> State {
        let mut state = State::EMPTY;
        self.step(&mut state, self.begin_id());
        state
    }

    /// ln p(w | context): `context` is the tokens before w, oldest first; it starts with
    /// [`Self::begin_id`] at the start of a document. Tokens older than order - 1 do not count.
    pub fn log_prob(&self, context: &[u32], w: u32) -> f64 {
        let mut state = State::EMPTY;
        for &token in context {
            self.step(&mut state, token);
        }
        self.step(&mut state, w)
    }

    /// Sum of ln p over the document's tokens and the end token; Err(index) of the first token
    /// that is not below vocab_size.
    pub fn document_log_prob(&self, document: &[u32]) -> Result<f64, usize> {
        if let Some(bad) = document.iter().position(|&t| t >= self.vocab_size) {
            return Err(bad);
        }
        let mut state = self.start();
        let mut total = 0.0;
        for &token in document {
            total += self.step(&mut state, token);
        }
        Ok(total + self.step(&mut state, self.end_id()))
    }

    /// exp(-mean ln p) of each document ids[offsets[i]..offsets[i + 1]] (end token included),
    /// in parallel on the current rayon pool.
    pub fn perplexities(&self, ids: &[u32], offsets: &[usize]) -> Result<Vec<f64>, String> {
        if offsets.windows(2).any(|w| w[1] < w[0]) || offsets.last().is_some_and(|&end| end > ids.len()) {
            return Err(format!("offsets must rise within the {} ids", ids.len()));
        }
        offsets
            .par_windows(2)
            .enumerate()
            .map(|(doc, range)| {
                let document = &ids[range[0]..range[1]];
                self.document_log_prob(document).map(|log_p| (-log_p / (document.len() + 1) as f64).exp()).map_err(
                    |at| {
                        let token = document[at];
                        let vocab = self.vocab_size;
                        format!("document {doc}: token {token} at position {at} is not below vocab_size {vocab}")
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
