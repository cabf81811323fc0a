use super::train::{discounts_of, train};
use super::*;
use std::collections::HashMap;

/// Deterministic pseudo-random numbers (splitmix64), so the corpora are fixed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const VOCAB: u32 = 30;

/// Documents from a Markov chain over tokens 0..25 (25..30 never occur): each token is mostly
/// followed by one of three successors, so real text is far more predictable than shuffled.
fn markov_documents(count: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut rng = Rng(seed);
    (0..count)
        .map(|_| {
            let len = 3 + rng.below(20) as usize;
            let mut token = rng.below(25) as u32;
            let mut doc = vec![token];
            while doc.len() < len {
                token =
                    if rng.below(10) < 8 { (token * 7 + 1 + rng.below(3) as u32) % 25 } else { rng.below(25) as u32 };
                doc.push(token);
            }
            doc
        })
        .collect()
}

fn flat(documents: &[Vec<u32>]) -> (Vec<u32>, Vec<usize>) {
    let mut offsets = vec![0];
    let mut ids = Vec::new();
    for doc in documents {
        ids.extend_from_slice(doc);
        offsets.push(ids.len());
    }
    (ids, offsets)
}

fn trained(documents: &[Vec<u32>], vocab_size: u32, order: usize, min_counts: &[u32]) -> ReferenceLm {
    let (ids, offsets) = flat(documents);
    train(&ids, &offsets, &TrainConfig { vocab_size, order, min_counts: min_counts.to_vec() }).unwrap()
}

/// The contexts the normalization tests look at: document starts, seen and unseen histories,
/// longer than the order, and none at all.
fn contexts(lm: &ReferenceLm, documents: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let b = lm.begin_id();
    let d = &documents[0];
    vec![
        vec![],
        vec![b],
        vec![b, d[0]],
        vec![b, d[0], d[1]],
        d[..3].to_vec(),
        documents[1].clone(),
        vec![d[0]],
        vec![27],
        vec![b, 27, 3],
        vec![3, 3, 3, 3],
        vec![d[1], d[0]],
    ]
}

fn total_probability(lm: &ReferenceLm, context: &[u32]) -> f64 {
    (0..=lm.end_id()).map(|w| lm.log_prob(context, w).exp()).sum()
}

#[test]
fn probabilities_over_the_vocabulary_and_end_sum_to_one_with_and_without_pruning() {
    let documents = markov_documents(300, 7);
    let full = trained(&documents, VOCAB, 3, &[1, 1, 1]);
    let pruned = trained(&documents, VOCAB, 3, &[1, 2, 3]);
    let default = trained(&documents, VOCAB, 4, &default_min_counts(4));
    assert!(pruned.ngram_counts()[1] < full.ngram_counts()[1], "pruning must drop bigrams");
    assert!(pruned.ngram_counts()[2] < full.ngram_counts()[2], "pruning must drop trigrams");
    for lm in [&full, &pruned, &default] {
        for context in contexts(lm, &documents) {
            let total = total_probability(lm, &context);
            assert!((total - 1.0).abs() < 1e-6, "order {} context {context:?}: {total}", lm.order());
        }
    }
}

/// Interpolated modified Kneser-Ney with pruning, straight from the definitions: n-grams as
/// vectors in hash maps, probabilities by recursion, backoff weights by direct normalization.
struct Direct {
    order: usize,
    vocab_size: u32,
    raw: HashMap<Vec<u32>, u32>,
    adjusted: HashMap<Vec<u32>, u32>,
    discounts: Vec<[f64; 3]>,
    min_counts: Vec<u32>,
}

impl Direct {
    fn new(documents: &[Vec<u32>], vocab_size: u32, order: usize, min_counts: &[u32]) -> Direct {
        let (end, begin) = (vocab_size, vocab_size + 1);
        let mut raw: HashMap<Vec<u32>, u32> = HashMap::new();
        for doc in documents {
            let s: Vec<u32> = [begin].into_iter().chain(doc.iter().copied()).chain([end]).collect();
            for j in 1..s.len() {
                for len in 1..=order.min(j + 1) {
                    *raw.entry(s[j + 1 - len..=j].to_vec()).or_default() += 1;
                }
            }
        }
        // Highest order and document starts: raw counts; the rest: distinct left extensions.
        let mut adjusted: HashMap<Vec<u32>, u32> =
            raw.iter().filter(|(g, _)| g.len() == order || g[0] == begin).map(|(g, &c)| (g.clone(), c)).collect();
        let mut continuation: HashMap<Vec<u32>, u32> = HashMap::new();
        for gram in raw.keys().filter(|g| g.len() > 1) {
            *continuation.entry(gram[1..].to_vec()).or_default() += 1;
        }
        adjusted.extend(continuation.into_iter().filter(|(g, _)| g.len() < order && g[0] != begin));
        let discounts = (1..=order)
            .map(|k| discounts_of(&adjusted.iter().filter(|(g, _)| g.len() == k).map(|(_, &a)| a).collect::<Vec<_>>()))
            .collect();
        Direct { order, vocab_size, raw, adjusted, discounts, min_counts: min_counts.to_vec() }
    }

    fn kept(&self, gram: &[u32]) -> bool {
        gram.len() == 1 || self.raw.get(gram).is_some_and(|&c| c >= self.min_counts[gram.len() - 1].max(1))
    }

    fn discount(&self, gram: &[u32]) -> f64 {
        let a = self.adjusted[gram];
        self.discounts[gram.len() - 1][(a.min(3) - 1) as usize]
    }

    /// The extensions hx of context h seen in training.
    fn extensions(&self, h: &[u32]) -> Vec<Vec<u32>> {
        let mut out: Vec<Vec<u32>> =
            (0..=self.vocab_size).map(|x| [h, &[x]].concat()).filter(|g| self.adjusted.contains_key(g)).collect();
        out.sort();
        out
    }

    /// (gamma(h), total) of a context with extensions.
    fn gamma(&self, h: &[u32]) -> (f64, f64) {
        let extensions = self.extensions(h);
        let total: f64 = extensions.iter().map(|g| f64::from(self.adjusted[g])).sum();
        let freed: f64 = extensions.iter().map(|g| self.discount(g)).sum();
        (freed / total, total)
    }

    /// The interpolated estimate of a kept n-gram hw.
    fn interpolated(&self, h: &[u32], w: u32) -> f64 {
        let gram = [h, &[w]].concat();
        if h.is_empty() {
            let (gamma, total) = self.gamma(&[]);
            let own = if self.adjusted.contains_key(&gram) {
                (f64::from(self.adjusted[&gram]) - self.discount(&gram)) / total
            } else {
                0.0
            };
            return own + gamma / f64::from(self.vocab_size + 1);
        }
        let (gamma, total) = self.gamma(h);
        (f64::from(self.adjusted[&gram]) - self.discount(&gram)) / total + gamma * self.prob(&h[1..], w)
    }

    fn prob(&self, h: &[u32], w: u32) -> f64 {
        let h = &h[h.len().saturating_sub(self.order - 1)..];
        if h.is_empty() {
            return self.interpolated(h, w);
        }
        let gram = [h, &[w]].concat();
        if self.kept(&gram) {
            return self.interpolated(h, w);
        }
        // Backoff weight: what the kept extensions leave, spread like the lower order.
        let kept: Vec<Vec<u32>> = self.extensions(h).into_iter().filter(|g| self.kept(g)).collect();
        let here: f64 = kept.iter().map(|g| self.interpolated(h, *g.last().unwrap())).sum();
        let lower: f64 = kept.iter().map(|g| self.prob(&h[1..], *g.last().unwrap())).sum();
        (1.0 - here) / (1.0 - lower) * self.prob(&h[1..], w)
    }
}

#[test]
fn probabilities_match_a_direct_implementation_of_the_definitions() {
    let documents = markov_documents(120, 11);
    for (order, min_counts) in
        [(1, vec![1]), (2, vec![1, 1]), (3, vec![1, 1, 1]), (3, vec![1, 2, 2]), (4, vec![1, 1, 2, 3])]
    {
        let lm = trained(&documents, VOCAB, order, &min_counts);
        let direct = Direct::new(&documents, VOCAB, order, &min_counts);
        assert_eq!(lm.discounts(), &direct.discounts[..]);
        for context in contexts(&lm, &documents) {
            for w in 0..=lm.end_id() {
                let (got, want) = (lm.log_prob(&context, w).exp(), direct.prob(&context, w));
                assert!(
                    (got - want).abs() <= 1e-6 * want,
                    "order {order} {min_counts:?} p({w} | {context:?}) = {got}, not {want}"
                );
            }
        }
    }
}

#[test]
fn discounts_follow_the_closed_form_on_counts_computed_by_hand() {
    // Order 1 counts tokens: 0 x1, 1 x2, 2 x2, 3 x3, 4 x4, 5 x1, end x1 -> n1 = 3, n2 = 2,
    // n3 = 1, n4 = 1; Y = 3 / 7; D1 = 1 - 2 Y 2/3 = 3/7, D2 = 2 - 3 Y 1/2 = 19/14, D3 = 3 - 4 Y = 9/7.
    let doc = vec![0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5];
    let lm = trained(std::slice::from_ref(&doc), 6, 1, &[1]);
    let want = [3.0 / 7.0, 19.0 / 14.0, 9.0 / 7.0];
    lm.discounts()[0].iter().zip(want).for_each(|(got, want)| assert!((got - want).abs() < 1e-12, "{got} {want}"));

    // Order 2 on the same document: unigrams now have continuation counts (distinct left
    // neighbours): 0 {begin}, 1 {0,1}, 2 {1,2}, 3 {2,3}, 4 {3,4}, 5 {4}, end {5} -> n1 = 3, n2 = 4,
    // n3 = 0: no closed form, so the single discount Y = 3 / (3 + 8).
    let lm = trained(std::slice::from_ref(&doc), 6, 2, &[1, 1]);
    assert_eq!(lm.discounts()[0], [3.0 / 11.0; 3]);

    // Order 2 on one-token documents: [1], [2], [3] x2, [4] x3, [5] x4 make the bigrams (begin, x)
    // and (x, end) each as often as x's document: n1 = 4, n2 = 2, n3 = 2, n4 = 2; Y = 1/2;
    // D1 = 1 - 2 Y 2/4 = 1/2, D2 = 2 - 3 Y 2/2 = 1/2, D3 = 3 - 4 Y 2/2 = 1.
    let mut documents = vec![vec![1], vec![2]];
    for (token, copies) in [(3, 2), (4, 3), (5, 4)] {
        documents.extend(std::iter::repeat_n(vec![token], copies));
    }
    let lm = trained(&documents, 6, 2, &[1, 1]);
    assert_eq!(lm.discounts()[1], [0.5, 0.5, 1.0]);
    // Its unigrams: 1..5 have the one left neighbour begin, end has five: n1 = 5, n2 = 0 -> 0.5.
    assert_eq!(lm.discounts()[0], [0.5; 3]);
}

#[test]
fn an_unseen_token_has_a_finite_probability() {
    let documents = markov_documents(200, 3);
    let lm = trained(&documents, VOCAB, 5, &default_min_counts(5));
    let seen = lm.log_prob(&[lm.begin_id(), documents[0][0]], documents[0][1]);
    for context in [vec![], vec![lm.begin_id()], documents[0].clone()] {
        let unseen = lm.log_prob(&context, 28);
        assert!(unseen.is_finite() && unseen < seen, "{context:?}: {unseen}");
    }
    let perplexity = lm.perplexities(&[28, 29, 27], &[0, 3]).unwrap()[0];
    assert!(perplexity.is_finite());
    assert!(lm.perplexities(&[30], &[0, 1]).unwrap_err().contains("token 30 at position 0"));
}

#[test]
fn scoring_a_document_equals_the_sum_of_its_conditional_probabilities() {
    // The incremental state (backoffs carried from the previous word) against a fresh lookup.
    let documents = markov_documents(200, 5);
    let lm = trained(&documents, VOCAB, 4, &default_min_counts(4));
    for doc in markov_documents(20, 99) {
        let mut context = vec![lm.begin_id()];
        let mut direct = 0.0;
        for &w in doc.iter().chain([&lm.end_id()]) {
            direct += lm.log_prob(&context, w);
            context.push(w);
        }
        let incremental = lm.document_log_prob(&doc).unwrap();
        assert!((incremental - direct).abs() < 1e-9, "{incremental} {direct}");
    }
}

#[test]
fn text_like_the_training_data_scores_lower_than_its_tokens_shuffled() {
    let lm = trained(&markov_documents(500, 1), VOCAB, 5, &default_min_counts(5));
    let held_out = markov_documents(50, 2);
    let mut rng = Rng(4);
    let shuffled: Vec<Vec<u32>> = held_out
        .iter()
        .map(|doc| {
            let mut doc = doc.clone();
            for i in (1..doc.len()).rev() {
                doc.swap(i, rng.below(i as u64 + 1) as usize);
            }
            doc
        })
        .collect();
    let mean = |docs: &[Vec<u32>]| {
        let (ids, offsets) = flat(docs);
        let scores = lm.perplexities(&ids, &offsets).unwrap();
        scores.iter().sum::<f64>() / scores.len() as f64
    };
    let (real, mixed) = (mean(&held_out), mean(&shuffled));
    assert!(real * 1.5 < mixed, "held out {real}, shuffled {mixed}");
}

fn temporary(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("medtitan-reference-lm-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("model.bin")
}

#[test]
fn save_then_load_gives_the_same_model_and_perplexities() {
    let documents = markov_documents(200, 8);
    let lm = trained(&documents, VOCAB, 5, &default_min_counts(5));
    let path = temporary("round-trip");
    let written = lm.save(&path).unwrap();
    assert_eq!(written, std::fs::metadata(&path).unwrap().len());
    let loaded = ReferenceLm::load(&path).unwrap();
    assert_eq!(loaded, lm);
    let (ids, offsets) = flat(&markov_documents(30, 9));
    let (before, after) = (lm.perplexities(&ids, &offsets).unwrap(), loaded.perplexities(&ids, &offsets).unwrap());
    assert_eq!(
        before.iter().map(|p| p.to_bits()).collect::<Vec<_>>(),
        after.iter().map(|p| p.to_bits()).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn the_same_corpus_gives_a_byte_identical_file_on_any_number_of_threads() {
    let (ids, offsets) = flat(&markov_documents(400, 6));
    let config = TrainConfig { vocab_size: VOCAB, order: 5, min_counts: default_min_counts(5) };
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| train(&ids, &offsets, &config).unwrap().to_bytes())
    };
    let one = on(1);
    assert_eq!(one, on(3));
    assert_eq!(one, on(1));
}

#[test]
fn load_names_what_is_wrong_with_the_file() {
    let lm = trained(&markov_documents(50, 10), VOCAB, 3, &default_min_counts(3));
    let bytes = lm.to_bytes();
    let path = temporary("errors");
    let error = |contents: &[u8]| {
        std::fs::write(&path, contents).unwrap();
        match ReferenceLm::load(&path) {
            Err(LoadError::Format(what)) => what,
            other => panic!("expected a format error, got {other:?}"),
        }
    };
    assert!(error(&bytes[..bytes.len() - 1]).starts_with("truncated"));
    assert!(error(&bytes[..20]).starts_with("truncated"));
    assert!(error(&[bytes.as_slice(), b"x"].concat()).contains("trailing data"));
    assert!(error(b"PK\x03\x04 not a model").starts_with("bad magic"));
    let mut version = bytes.clone();
    version[8] = 9;
    assert!(error(&version).contains("version 9"));
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 1;
    assert!(error(&flipped).contains("checksum"));
    std::fs::remove_file(&path).unwrap();
    match ReferenceLm::load(&path) {
        Err(LoadError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
        other => panic!("expected a missing file, got {other:?}"),
    }
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn training_rejects_bad_arguments() {
    let config = |order: usize, min_counts: Vec<u32>| TrainConfig { vocab_size: VOCAB, order, min_counts };
    let err = |ids: &[u32], offsets: &[usize], c: TrainConfig| train(ids, offsets, &c).unwrap_err();
    assert!(err(&[1, 2], &[0, 2], config(0, vec![])).contains("order"));
    assert!(err(&[1, 2], &[0, 2], config(3, vec![1, 2])).contains("one per order"));
    assert!(err(&[1, 2], &[0, 2], config(3, vec![1, 3, 2])).contains("not decrease"));
    assert!(err(&[1, 2], &[0, 2], config(2, vec![2, 2])).contains("unigrams"));
    assert!(err(&[1, 30], &[0, 2], config(2, vec![1, 1])).contains("token 30 at position 1"));
    assert!(err(&[1, 2], &[0], config(2, vec![1, 1])).contains("no documents"));
    assert!(err(&[1, 2], &[0, 3], config(2, vec![1, 1])).contains("offsets"));
    let wide = TrainConfig { vocab_size: u32::MAX - 2, order: 5, min_counts: vec![1; 5] };
    assert!(train(&[1], &[0, 1], &wide).unwrap_err().contains("128"));
}

#[test]
fn empty_documents_score_the_end_token_after_the_begin_context() {
    let documents = vec![vec![], vec![1, 2], vec![]];
    let lm = trained(&documents, 5, 3, &[1, 1, 1]);
    let perplexity = lm.perplexities(&[], &[0, 0]).unwrap()[0];
    assert!((perplexity - (-lm.log_prob(&[lm.begin_id()], lm.end_id())).exp()).abs() < 1e-12);
    assert!(perplexity < 5.0, "two of three documents are empty: {perplexity}");
}
