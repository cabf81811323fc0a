//! The learned name/place tagger: a greedy left-to-right averaged perceptron over hashed
//! features (`features.rs`), its training, inference and file format.
//!
//! Why this model: it is trained here, on CPU, in minutes, from synthetic PHI planted in real
//! notes (no pretrained model can be downloaded), and it must keep the whole de-identifier
//! above 2 MB/s per core. A perceptron scores a token with a few dozen table lookups; the
//! static part of the score is summed once per distinct word and cached per thread.
//!
//! Labels: O and B-/I- for NAME, HOSPITAL and LOCATION. Decoding is greedy, each token's label
//! a feature of the next; an I- label may only follow its own B- or I-.
//!
//! Determinism: training is single-threaded, visits documents in an order drawn from the seed,
//! and keeps weights as integers (perceptron updates are +-1), so the same examples, lexicon
//! and seed give the same bytes. Inference sums quantized integer weights, so the result does
//! not depend on the order of the sums, the cache or the thread.
//!
//! File format (little endian), version 1:
//! ```text
//! magic "MTDEIDTG" | u32 format version | u32 feature-template version
//! u32 label count, each label as u8 length + UTF-8
//! u32 log2(bucket count) | 32 bytes sha256 fingerprint of the lexicon it was trained with
//! f32 quantization scale (weights = i16 / scale)
//! u32 vocabulary size, each entry u64 word hash + u8 statistics (sorted by hash)
//! u32 non-zero rows, a bitmap of bucket count bits (which rows are non-zero), the rows:
//!     label-count i16 each
//! 32 bytes sha256 of everything before (a truncated or altered file is refused)
//! ```
//! The sha256 of the whole file identifies the model.

use super::features::{
    context_features, DocContext, Featurizer, SlotFeatures, Token, Vocabulary, WordCore, FEATURE_VERSION, NO_LABEL,
    SLOTS,
};
use super::lexicon::{hex, Lexicon};
use super::types::{PhiType, Span};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

pub const LABELS: [&str; 7] = ["O", "B-NAME", "I-NAME", "B-HOSPITAL", "I-HOSPITAL", "B-LOCATION", "I-LOCATION"];
const N_LABELS: usize = LABELS.len();
/// Rows are padded to 8 so a row is one aligned 16-byte load.
const ROW: usize = 8;
pub const MAGIC: &[u8; 8] = b"MTDEIDTG";
pub const FORMAT_VERSION: u32 = 1;
pub const MIN_LOG2_BUCKETS: u32 = 10;
pub const MAX_LOG2_BUCKETS: u32 = 24;

/// The PHI type of a label (None for O).
pub fn label_kind(label: u8) -> Option<PhiType> {
    match label {
        1 | 2 => Some(PhiType::Name),
        3 | 4 => Some(PhiType::Hospital),
        5 | 6 => Some(PhiType::Location),
        _ => None,
    }
}

/// The B- label of a type the tagger knows.
pub fn begin_label(kind: PhiType) -> Option<u8> {
    match kind {
        PhiType::Name => Some(1),
        PhiType::Hospital => Some(3),
        PhiType::Location => Some(5),
        _ => None,
    }
}

fn is_inside(label: u8) -> bool {
    label != 0 && (label as usize) < N_LABELS && label.is_multiple_of(2)
}

/// Whether `label` may follow `prev`: an I- label only continues its own entity.
#[inline]
fn allowed(prev: u8, label: u8) -> bool {
    !is_inside(label) || prev == label || prev + 1 == label
}

/// The best allowed label; ties go to the lower index (O first), so decoding is deterministic.
#[inline]
fn best<T: PartialOrd + Copy>(scores: &[T; ROW], prev: u8) -> u8 {
    let mut best = 0u8;
    for label in 1..N_LABELS as u8 {
        if allowed(prev, label) && scores[label as usize] > scores[best as usize] {
            best = label;
        }
    }
    best
}

/// Spans of B-/I- runs.
pub fn spans_of(tokens: &[Token], labels: &[u8]) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for (token, &label) in tokens.iter().zip(labels) {
        let Some(kind) = label_kind(label) else { continue };
        if is_inside(label) {
            if let Some(last) = out.last_mut() {
                last.end = token.end;
                continue;
            }
        }
        out.push(Span { start: token.start, end: token.end, kind });
    }
    out
}

// --- the model --------------------------------------------------------------------------------

/// A trained tagger.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    log2_buckets: u32,
    lexicon_fingerprint: [u8; 32],
    scale: f32,
    vocab: Vocabulary,
    weights: Vec<[i16; ROW]>,
    sha256: [u8; 32],
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.bytes.len() - self.at < n {
            return Err(format!("truncated model file: {what} at byte {} needs {n} bytes", self.at));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
}

impl Model {
    pub fn log2_buckets(&self) -> u32 {
        self.log2_buckets
    }

    pub fn lexicon_fingerprint(&self) -> [u8; 32] {
        self.lexicon_fingerprint
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocab
    }

    /// sha256 of the file bytes: the model's identity.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }

    fn build(
        log2_buckets: u32,
        lexicon_fingerprint: [u8; 32],
        scale: f32,
        vocab: Vocabulary,
        weights: Vec<[i16; ROW]>,
    ) -> Model {
        let mut model = Model { log2_buckets, lexicon_fingerprint, scale, vocab, weights, sha256: [0; 32] };
        model.sha256 = Sha256::digest(model.to_bytes()).into();
        model
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.weights.len() * 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&FEATURE_VERSION.to_le_bytes());
        out.extend_from_slice(&(N_LABELS as u32).to_le_bytes());
        for label in LABELS {
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.extend_from_slice(&self.log2_buckets.to_le_bytes());
        out.extend_from_slice(&self.lexicon_fingerprint);
        out.extend_from_slice(&self.scale.to_le_bytes());
        let vocab = self.vocab.sorted();
        out.extend_from_slice(&(vocab.len() as u32).to_le_bytes());
        for (hash, stats) in vocab {
            out.extend_from_slice(&hash.to_le_bytes());
            out.push(stats);
        }
        let nonzero: Vec<usize> = (0..self.weights.len()).filter(|&i| self.weights[i] != [0; ROW]).collect();
        out.extend_from_slice(&(nonzero.len() as u32).to_le_bytes());
        let mut bitmap = vec![0u8; self.weights.len().div_ceil(8)];
        for &i in &nonzero {
            bitmap[i / 8] |= 1 << (i % 8);
        }
        out.extend_from_slice(&bitmap);
        for &i in &nonzero {
            for w in &self.weights[i][..N_LABELS] {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        let checksum: [u8; 32] = Sha256::digest(&out).into();
        out.extend_from_slice(&checksum);
        out
    }

    /// Reads a model file; every way it can be wrong is an error that says what it is.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, String> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err("not a medtitan de-identification tagger (bad magic bytes)".into());
        }
        if bytes.len() < MAGIC.len() + 32 {
            return Err("truncated model file".into());
        }
        let (body, checksum) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != checksum {
            return Err("model file checksum mismatch: the file is truncated or altered".into());
        }
        let mut r = Reader { bytes: body, at: MAGIC.len() };
        let version = r.u32("format version")?;
        if version != FORMAT_VERSION {
            return Err(format!("model format version {version}, this build reads version {FORMAT_VERSION}"));
        }
        let features = r.u32("feature version")?;
        if features != FEATURE_VERSION {
            return Err(format!(
                "model trained with feature templates version {features}, this build computes version {FEATURE_VERSION}: retrain it"
            ));
        }
        let n_labels = r.u32("label count")? as usize;
        let mut labels = Vec::with_capacity(n_labels.min(64));
        for _ in 0..n_labels {
            let len = r.take(1, "label length")?[0] as usize;
            labels.push(String::from_utf8_lossy(r.take(len, "label")?).into_owned());
        }
        if labels != LABELS {
            return Err(format!("model labels {labels:?}, this build tags {LABELS:?}"));
        }
        let log2_buckets = r.u32("bucket count")?;
        if !(MIN_LOG2_BUCKETS..=MAX_LOG2_BUCKETS).contains(&log2_buckets) {
            return Err(format!(
                "model has 2^{log2_buckets} buckets, outside 2^{MIN_LOG2_BUCKETS}..2^{MAX_LOG2_BUCKETS}"
            ));
        }
        let lexicon_fingerprint: [u8; 32] = r.take(32, "lexicon fingerprint")?.try_into().expect("32 bytes");
        let scale = f32::from_le_bytes(r.take(4, "scale")?.try_into().expect("4 bytes"));
        let n_vocab = r.u32("vocabulary size")? as usize;
        let raw = r.take(n_vocab.checked_mul(9).ok_or("vocabulary size overflows")?, "vocabulary")?;
        let vocab = Vocabulary::from_sorted(
            raw.chunks_exact(9).map(|c| (u64::from_le_bytes(c[..8].try_into().expect("8 bytes")), c[8])),
        );
        let buckets = 1usize << log2_buckets;
        let n_rows = r.u32("row count")? as usize;
        let bitmap = r.take(buckets / 8, "row bitmap")?;
        let set: usize = bitmap.iter().map(|b| b.count_ones() as usize).sum();
        if set != n_rows {
            return Err(format!("model row bitmap marks {set} rows, the header says {n_rows}"));
        }
        let rows = r.take(n_rows * N_LABELS * 2, "weights")?;
        if r.at != body.len() {
            return Err(format!("{} unexpected bytes after the weights", body.len() - r.at));
        }
        let mut weights = vec![[0i16; ROW]; buckets];
        let mut values = rows.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]]));
        for (i, row) in weights.iter_mut().enumerate() {
            if bitmap[i / 8] & (1 << (i % 8)) != 0 {
                for w in row[..N_LABELS].iter_mut() {
                    *w = values.next().expect("counted above");
                }
            }
        }
        let sha256 = Sha256::digest(bytes).into();
        Ok(Model { log2_buckets, lexicon_fingerprint, scale, vocab, weights, sha256 })
    }

    #[inline]
    fn row(&self, hash: u64) -> &[i16; ROW] {
        &self.weights[(hash as usize) & (self.weights.len() - 1)]
    }
}

// --- inference --------------------------------------------------------------------------------

/// A word's core facts and the summed weights of its static features in each window slot.
#[derive(Clone)]
struct CachedWord {
    core: WordCore,
    sums: [[i32; ROW]; SLOTS],
}

/// Per-thread memo of `CachedWord`s, for one tagger at a time (`owner`).
#[derive(Default)]
struct WordCache {
    owner: u64,
    index: FxHashMap<Box<str>, u32>,
    words: Vec<CachedWord>,
}

/// Beyond this many distinct words the cache starts over (bounded memory per thread).
const CACHE_LIMIT: usize = 200_000;

thread_local! {
    static CACHE: RefCell<WordCache> = RefCell::new(WordCache::default());
}

static NEXT_TAGGER_ID: AtomicU64 = AtomicU64::new(1);

/// A model bound to the lexicon it was trained with.
pub struct Tagger {
    model: Model,
    id: u64,
    bos: CachedWord,
    eos: CachedWord,
}

/// A tagged document: its tokens and context, one label per token, each token's lexicon flags.
pub struct Tagged {
    pub doc: DocContext,
    pub labels: Vec<u8>,
    /// Lexicon flags of each token, its phrase's flags included.
    pub flags: Vec<u16>,
    /// Corpus statistics byte of each token (`features::stat`).
    pub stats: Vec<u8>,
}

impl Tagged {
    pub fn spans(&self) -> Vec<Span> {
        spans_of(&self.doc.tokens, &self.labels)
    }
}

impl Tagger {
    /// Refuses a model trained with another lexicon: its weights learnt what these flags meant.
    pub fn new(model: Model, lexicon: &Lexicon) -> Result<Tagger, String> {
        if model.lexicon_fingerprint != lexicon.fingerprint() {
            return Err(format!(
                "the tagger {} was trained with lexicon {}, but the loaded lexicon is {}: load the lexicons it was \
                 trained with (same package versions) or retrain it",
                &model.sha256_hex()[..12],
                hex(&model.lexicon_fingerprint),
                lexicon.fingerprint_hex()
            ));
        }
        let fz = Featurizer { lexicon, vocab: &model.vocab };
        let sum = |(core, slots): (WordCore, SlotFeatures)| CachedWord { core, sums: sums_of(&model, &slots) };
        let (bos, eos) = (sum(fz.boundary(false)), sum(fz.boundary(true)));
        let id = NEXT_TAGGER_ID.fetch_add(1, Ordering::Relaxed);
        Ok(Tagger { model, id, bos, eos })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Labels every token of `text`. `lexicon` must be the one given to `new`.
    pub fn tag(&self, text: &str, lexicon: &Lexicon) -> Tagged {
        debug_assert_eq!(lexicon.fingerprint(), self.model.lexicon_fingerprint);
        let doc = DocContext::new(text, lexicon);
        let fz = Featurizer { lexicon, vocab: &self.model.vocab };
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.owner != self.id || cache.words.len() > CACHE_LIMIT {
                *cache = WordCache { owner: self.id, ..Default::default() };
            }
            let ids: Vec<u32> = doc
                .tokens
                .iter()
                .map(|t| {
                    let word = &text[t.start..t.end];
                    if let Some(&id) = cache.index.get(word) {
                        return id;
                    }
                    let (core, slots) = fz.word(word);
                    let id = cache.words.len() as u32;
                    cache.words.push(CachedWord { core, sums: sums_of(&self.model, &slots) });
                    cache.index.insert(word.into(), id);
                    id
                })
                .collect();
            let words = &cache.words;
            let n = ids.len();
            let at = |j: isize| -> &CachedWord {
                if j < 0 {
                    &self.bos
                } else if j as usize >= n {
                    &self.eos
                } else {
                    &words[ids[j as usize] as usize]
                }
            };
            let mut labels = Vec::with_capacity(n);
            let mut feats = Vec::with_capacity(32);
            let (mut prev1, mut prev2) = (NO_LABEL, NO_LABEL);
            for i in 0..n {
                let mut scores = [0i32; ROW];
                for slot in 0..SLOTS {
                    let sums = &at(i as isize + slot as isize - 2).sums[slot];
                    for (s, w) in scores.iter_mut().zip(sums) {
                        *s += w;
                    }
                }
                feats.clear();
                context_features(&doc, i, |slot| at(i as isize + slot as isize - 2).core, prev1, prev2, &mut feats);
                for &h in &feats {
                    for (s, w) in scores.iter_mut().zip(self.model.row(h)) {
                        *s += *w as i32;
                    }
                }
                let label = best(&scores, prev1);
                labels.push(label);
                (prev2, prev1) = (prev1, label);
            }
            let flags =
                (0..n).map(|i| words[ids[i] as usize].core.flags | (doc.contexts[i].phrase & 0xFFFF) as u16).collect();
            let stats = ids.iter().map(|&id| words[id as usize].core.stats).collect();
            Tagged { doc, labels, flags, stats }
        })
    }
}

fn sums_of(model: &Model, slots: &SlotFeatures) -> [[i32; ROW]; SLOTS] {
    let mut out = [[0i32; ROW]; SLOTS];
    for (slot, feats) in slots.iter().enumerate() {
        for &h in feats {
            for (s, w) in out[slot].iter_mut().zip(model.row(h)) {
                *s += *w as i32;
            }
        }
    }
    out
}

// --- training ---------------------------------------------------------------------------------

/// A training document: text and labelled spans in byte offsets. A span of kind None marks
/// tokens whose label is unknown: no update is made on them. `fold` picks the vocabulary its
/// words are looked up in (see `train`).
#[derive(Clone, Debug)]
pub struct TrainExample {
    pub text: String,
    pub spans: Vec<(usize, usize, Option<PhiType>)>,
    pub fold: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct TrainConfig {
    pub seed: u64,
    pub epochs: usize,
    pub log2_buckets: u32,
    /// Independent runs (each its own example order) whose averaged weights are averaged again:
    /// one perceptron's weights depend on the order it saw its examples in, and that order
    /// moves single types by a few spans; the mean of a few runs does not.
    pub runs: usize,
}

/// Label of a token whose gold label is unknown.
const UNKNOWN: u8 = u8::MAX;

struct TrainWord {
    core: WordCore,
    buckets: [Vec<u32>; SLOTS],
}

struct TrainDoc {
    context: DocContext,
    words: Vec<u32>,
    gold: Vec<u8>,
}

/// Gold labels of the tokens: B-/I- inside a span, UNKNOWN where a token crosses a span's edge
/// or lies in an unknown span, O elsewhere.
fn gold_labels(index: usize, example: &TrainExample, tokens: &[Token]) -> Result<Vec<u8>, String> {
    let text = &example.text;
    let mut spans = example.spans.clone();
    spans.sort_by_key(|s| (s.0, s.1));
    for (k, &(start, end, kind)) in spans.iter().enumerate() {
        if start >= end || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return Err(format!(
                "example {index}: span {start}..{end} is empty, outside the text or not on a character boundary"
            ));
        }
        if k > 0 && spans[k - 1].1 > start {
            return Err(format!(
                "example {index}: spans {}..{} and {start}..{end} overlap",
                spans[k - 1].0,
                spans[k - 1].1
            ));
        }
        if let Some(kind) = kind {
            if begin_label(kind).is_none() {
                return Err(format!("example {index}: the tagger does not learn {} spans", kind.as_str()));
            }
        }
    }
    let mut gold = vec![0u8; tokens.len()];
    let mut k = 0;
    for (i, token) in tokens.iter().enumerate() {
        while k < spans.len() && spans[k].1 <= token.start {
            k += 1;
        }
        let Some(&(start, end, kind)) = spans.get(k) else { continue };
        if token.end <= start {
            continue;
        }
        gold[i] = match kind {
            Some(kind) if token.start >= start && token.end <= end => {
                let begin = begin_label(kind).expect("checked above");
                if token.start == start || i == 0 || tokens[i - 1].end <= start {
                    begin
                } else {
                    begin + 1
                }
            }
            _ => UNKNOWN,
        };
    }
    Ok(gold)
}

/// A small deterministic generator (splitmix64) for the visiting order.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Trains a tagger. `vocab` holds the statistics of the whole real corpus (`features::
/// count_words`) and is what the model keeps. While training, an example's words are looked up
/// in `fold_vocabs[example.fold]` instead: built from the corpus *without* the example's own
/// documents (cross-fitting), so a real word of a training document is as often unknown as a
/// word of new text will be. With the full vocabulary every real word would be known in
/// training and the model would learn "unknown word = planted name", which fires on every rare
/// word of new text. `progress(done)` is called after each document visited (all epochs
/// counted) and stops the training with an error when it returns false.
pub fn train(
    examples: &[TrainExample],
    fold_vocabs: &[Vocabulary],
    vocab: Vocabulary,
    lexicon: &Lexicon,
    config: &TrainConfig,
    progress: &mut dyn FnMut(usize) -> bool,
) -> Result<Model, String> {
    if !(MIN_LOG2_BUCKETS..=MAX_LOG2_BUCKETS).contains(&config.log2_buckets) {
        return Err(format!(
            "log2 buckets must be in {MIN_LOG2_BUCKETS}..={MAX_LOG2_BUCKETS}, got {}",
            config.log2_buckets
        ));
    }
    if config.epochs == 0 {
        return Err("epochs must be at least 1".into());
    }
    if let Some((i, e)) = examples.iter().enumerate().find(|(_, e)| e.fold >= fold_vocabs.len()) {
        return Err(format!(
            "example {i} is in fold {}, but there are {} fold vocabularies",
            e.fold,
            fold_vocabs.len()
        ));
    }
    let buckets = 1usize << config.log2_buckets;
    let mask = (buckets - 1) as u64;
    let featurizers: Vec<Featurizer> = fold_vocabs.iter().map(|v| Featurizer { lexicon, vocab: v }).collect();
    let to_buckets = |(core, slots): (WordCore, SlotFeatures)| TrainWord {
        core,
        buckets: slots.map(|feats| feats.iter().map(|h| (h & mask) as u32).collect()),
    };
    // Word 0 and 1 are the boundary pseudo-words; the rest interned per (fold, word) in example
    // order.
    let fz = Featurizer { lexicon, vocab: &vocab };
    let mut words = vec![to_buckets(fz.boundary(false)), to_buckets(fz.boundary(true))];
    let mut index: FxHashMap<(usize, &str), u32> = FxHashMap::default();
    let mut docs = Vec::with_capacity(examples.len());
    for (i, example) in examples.iter().enumerate() {
        let context = DocContext::new(&example.text, lexicon);
        let gold = gold_labels(i, example, &context.tokens)?;
        let ids = context
            .tokens
            .iter()
            .map(|t| {
                let word = &example.text[t.start..t.end];
                *index.entry((example.fold, word)).or_insert_with(|| {
                    words.push(to_buckets(featurizers[example.fold].word(word)));
                    (words.len() - 1) as u32
                })
            })
            .collect();
        docs.push(TrainDoc { context, words: ids, gold });
    }

    if config.runs == 0 {
        return Err("runs must be at least 1".into());
    }
    // The runs go in parallel threads; each reports the documents it visited to one counter and
    // the calling thread reports the total. Their tables are summed in run order, so the model
    // does not depend on the threads.
    let visited = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let run = |r: usize| -> Option<Vec<[f64; ROW]>> {
        let seed = config.seed ^ 0x6D65_6474_6974_616E ^ (r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        perceptron_run(&docs, &words, buckets, mask, config.epochs, seed, &visited, &stop)
    };
    let tables: Vec<Option<Vec<[f64; ROW]>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..config.runs).map(|r| scope.spawn(move || run(r))).collect();
        while !handles.iter().all(|h| h.is_finished()) {
            std::thread::sleep(std::time::Duration::from_millis(50));
            if !progress(visited.load(Ordering::Relaxed)) {
                stop.store(true, Ordering::Relaxed);
            }
        }
        handles.into_iter().map(|h| h.join().expect("training run panicked")).collect()
    });
    if stop.load(Ordering::Relaxed) || tables.iter().any(Option::is_none) {
        return Err("training interrupted".into());
    }
    progress(visited.load(Ordering::Relaxed));
    let runs = config.runs as f64;
    let mut averaged = vec![[0f64; ROW]; buckets];
    for table in tables.into_iter().flatten() {
        for (sum, row) in averaged.iter_mut().zip(&table) {
            for l in 0..ROW {
                sum[l] += row[l] / runs;
            }
        }
    }

    // Quantize to i16 with one scale for the whole table.
    let max_abs = averaged.iter().flat_map(|r| r.iter()).fold(0f64, |m, x| m.max(x.abs()));
    let scale = if max_abs > 0.0 { (i16::MAX as f64 / max_abs) as f32 } else { 1.0 };
    let weights = averaged
        .iter()
        .map(|r| std::array::from_fn(|l| (r[l] * scale as f64).round().clamp(i16::MIN as f64, i16::MAX as f64) as i16))
        .collect();
    Ok(Model::build(config.log2_buckets, lexicon.fingerprint(), scale, vocab, weights))
}

/// One averaged-perceptron run over `docs` in the order `seed` shuffles them: the averaged
/// weights, or None when `stop` was raised.
#[allow(clippy::too_many_arguments)]
fn perceptron_run(
    docs: &[TrainDoc],
    words: &[TrainWord],
    buckets: usize,
    mask: u64,
    epochs: usize,
    seed: u64,
    visited: &AtomicUsize,
    stop: &AtomicBool,
) -> Option<Vec<[f64; ROW]>> {
    // Integer weights: w the current ones, u the step-weighted sum of updates; the average over
    // all steps is w - u / c.
    let mut w = vec![[0i32; ROW]; buckets];
    let mut u = vec![[0i64; ROW]; buckets];
    let mut c: i64 = 1;
    let mut order: Vec<usize> = (0..docs.len()).collect();
    let mut rng = Rng(seed);
    let mut feats: Vec<u32> = Vec::with_capacity(64);
    let mut hashes: Vec<u64> = Vec::with_capacity(32);
    for _epoch in 0..epochs {
        rng.shuffle(&mut order);
        for &d in &order {
            let doc = &docs[d];
            let n = doc.words.len();
            let word_at = |j: isize| -> &TrainWord {
                if j < 0 {
                    &words[0]
                } else if j as usize >= n {
                    &words[1]
                } else {
                    &words[doc.words[j as usize] as usize]
                }
            };
            let (mut prev1, mut prev2) = (NO_LABEL, NO_LABEL);
            for i in 0..n {
                feats.clear();
                for slot in 0..SLOTS {
                    feats.extend_from_slice(&word_at(i as isize + slot as isize - 2).buckets[slot]);
                }
                hashes.clear();
                context_features(
                    &doc.context,
                    i,
                    |slot| word_at(i as isize + slot as isize - 2).core,
                    prev1,
                    prev2,
                    &mut hashes,
                );
                feats.extend(hashes.iter().map(|h| (h & mask) as u32));
                let mut scores = [0i32; ROW];
                for &f in &feats {
                    for (s, x) in scores.iter_mut().zip(&w[f as usize]) {
                        *s += x;
                    }
                }
                let guess = best(&scores, prev1);
                let mut gold = doc.gold[i];
                if gold != UNKNOWN && !allowed(prev1, gold) {
                    gold -= 1; // the entity's start was missed: from here on it is a B- label
                }
                if gold != UNKNOWN && gold != guess {
                    for &f in &feats {
                        let f = f as usize;
                        w[f][gold as usize] += 1;
                        w[f][guess as usize] -= 1;
                        u[f][gold as usize] += c;
                        u[f][guess as usize] -= c;
                    }
                }
                c += 1;
                (prev2, prev1) = (prev1, guess);
            }
            visited.fetch_add(1, Ordering::Relaxed);
            if stop.load(Ordering::Relaxed) {
                return None;
            }
        }
    }
    Some(w.iter().zip(&u).map(|(w, u)| std::array::from_fn(|l| w[l] as f64 - u[l] as f64 / c as f64)).collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::deid::features::{count_words, WordCounts};
    use crate::deid::lexicon::tests::small;

    /// Sentences with a planted name (the word after "met" or "by"), hospital or town.
    pub(crate) fn tiny_examples() -> Vec<TrainExample> {
        // Every name is new (built from syllables), so only context and shape can tell.
        let (heads, tails) =
            (["Ba", "Ke", "Lo", "Mi", "Ru", "Sa", "To", "Vi"], ["ran", "dell", "mo", "sh", "vik", "na"]);
        let name = |k: usize| format!("{}{}", heads[k % heads.len()], tails[(k / heads.len()) % tails.len()]);
        let towns = ["Boston", "Springfield", "Arden", "Belmar", "Corvale", "Dunmore"];
        let mut out = Vec::new();
        for k in 0..48 {
            let (name, other) = (name(k), name(47 - k));
            let town = towns[k % towns.len()];
            let hospital = format!("{} Memorial Hospital", towns[(k + 2) % towns.len()]);
            let text = format!(
                "The patient met {name} today. Pain was noted in the left knee. She lives in {town} with \
                 {other}. Transferred from {hospital} for care. Heart rate normal."
            );
            let find = |needle: &str, from: usize| text[from..].find(needle).map(|i| i + from).unwrap();
            let a = find(&name, 0);
            let b = find(town, a);
            let c = find(&other, b + town.len());
            let d = find(&hospital, c);
            out.push(TrainExample {
                fold: 0,
                spans: vec![
                    (a, a + name.len(), Some(PhiType::Name)),
                    (b, b + town.len(), Some(PhiType::Location)),
                    (c, c + other.len(), Some(PhiType::Name)),
                    (d, d + hospital.len(), Some(PhiType::Hospital)),
                ],
                text,
            });
        }
        out
    }

    pub(crate) fn tiny_model(seed: u64) -> Model {
        let examples = tiny_examples();
        // The corpus statistics come from the text around the planted values, as in real use.
        let mut counts = WordCounts::default();
        for e in &examples {
            let mut real = e.text.clone();
            for &(start, end, _) in e.spans.iter().rev() {
                real.replace_range(start..end, "");
            }
            count_words(&real, &mut counts);
        }
        let config = TrainConfig { seed, epochs: 4, log2_buckets: 14, runs: 1 };
        let vocab = Vocabulary::from_counts(&counts);
        train(&examples, std::slice::from_ref(&vocab), vocab.clone(), &small(), &config, &mut |_| true).unwrap()
    }

    #[test]
    fn averaged_runs_are_deterministic_and_differ_from_one_run() {
        let examples = tiny_examples();
        let lexicon = small();
        let mut counts = WordCounts::default();
        for e in &examples {
            count_words(&e.text, &mut counts);
        }
        let vocab = Vocabulary::from_counts(&counts);
        let train_with = |runs: usize| {
            let config = TrainConfig { seed: 3, epochs: 3, log2_buckets: 14, runs };
            let mut calls = Vec::new();
            let model = train(&examples, std::slice::from_ref(&vocab), vocab.clone(), &lexicon, &config, &mut |done| {
                calls.push(done);
                true
            })
            .unwrap();
            (model.to_bytes(), calls.last().copied())
        };
        let (two, reported) = train_with(2);
        assert_eq!(two, train_with(2).0, "the same runs give the same bytes");
        assert_ne!(two, train_with(1).0, "two example orders average into another model");
        assert_eq!(reported, Some(examples.len() * 3 * 2), "progress counts every run");
        let config = TrainConfig { seed: 3, epochs: 3, log2_buckets: 14, runs: 2 };
        let stopped = train(&examples, std::slice::from_ref(&vocab), vocab.clone(), &lexicon, &config, &mut |_| false);
        assert!(stopped.is_err(), "a progress callback that answers false stops every run");
    }

    #[test]
    fn training_is_deterministic() {
        let a = tiny_model(7).to_bytes();
        assert_eq!(a, tiny_model(7).to_bytes(), "same examples and seed, same bytes");
        assert_ne!(a, tiny_model(8).to_bytes(), "the seed changes the visiting order");
    }

    #[test]
    fn learns_the_planted_forms() {
        let lexicon = small();
        let tagger = Tagger::new(tiny_model(1), &lexicon).unwrap();
        let text = "The patient met Orla today. She lives in Belmar with Ivo. Transferred from Arden Memorial Hospital for care.";
        let got: Vec<(&str, PhiType)> =
            tagger.tag(text, &lexicon).spans().iter().map(|s| (&text[s.start..s.end], s.kind)).collect();
        assert_eq!(
            got,
            vec![
                ("Orla", PhiType::Name),
                ("Belmar", PhiType::Location),
                ("Ivo", PhiType::Name),
                ("Arden Memorial Hospital", PhiType::Hospital)
            ]
        );
    }

    #[test]
    fn save_load_round_trip() {
        let model = tiny_model(3);
        let bytes = model.to_bytes();
        let loaded = Model::from_bytes(&bytes).unwrap();
        assert_eq!(loaded, model);
        assert_eq!(loaded.to_bytes(), bytes);
        assert_eq!(loaded.sha256_hex(), hex(&Sha256::digest(&bytes)));
    }

    #[test]
    fn refuses_bad_files() {
        let bytes = tiny_model(3).to_bytes();
        assert!(Model::from_bytes(b"not a model at all, no").unwrap_err().contains("magic"));
        assert!(Model::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err().contains("checksum"));
        let mut altered = bytes.clone();
        altered[100] ^= 1;
        assert!(Model::from_bytes(&altered).unwrap_err().contains("checksum"));
        // A well-formed file of another feature version says so.
        let mut other = bytes[..bytes.len() - 32].to_vec();
        other[12..16].copy_from_slice(&(FEATURE_VERSION + 1).to_le_bytes());
        let checksum: [u8; 32] = Sha256::digest(&other).into();
        other.extend_from_slice(&checksum);
        assert!(Model::from_bytes(&other).unwrap_err().contains("feature templates version"));
    }

    #[test]
    fn refuses_another_lexicon() {
        let mut entries = std::collections::BTreeMap::new();
        entries.insert("first_name".to_string(), vec!["Ana".to_string()]);
        let other = Lexicon::new(&entries).unwrap();
        let error = Tagger::new(tiny_model(3), &other).err().unwrap();
        assert!(error.contains("trained with lexicon") && error.contains(&other.fingerprint_hex()), "{error}");
    }

    #[test]
    fn gold_labels_from_spans() {
        let text = "Met Ann Lee's son in New York today".to_string();
        let example = TrainExample {
            spans: vec![(4, 11, Some(PhiType::Name)), (21, 29, Some(PhiType::Location)), (30, 33, None)],
            text,
            fold: 0,
        };
        let doc = DocContext::new(&example.text, &small());
        let labels = gold_labels(0, &example, &doc.tokens).unwrap();
        // Met Ann Lee 's son in New York tod ay
        assert_eq!(labels, vec![0, 1, 2, 0, 0, 0, 5, 6, UNKNOWN]);
        let bad = TrainExample { spans: vec![(4, 8, Some(PhiType::Date))], text: example.text.clone(), fold: 0 };
        assert!(gold_labels(3, &bad, &doc.tokens).unwrap_err().contains("example 3"));
    }

    #[test]
    fn constrained_decoding() {
        assert!(allowed(1, 2) && allowed(2, 2) && !allowed(0, 2) && !allowed(3, 2) && allowed(0, 5));
        let mut scores = [0i32; ROW];
        scores[2] = 5;
        scores[1] = 3;
        assert_eq!(best(&scores, 0), 1, "I-NAME cannot start an entity");
        assert_eq!(best(&scores, 1), 2);
        assert_eq!(best(&[0i32; ROW], 0), 0, "ties go to O");
    }
}
