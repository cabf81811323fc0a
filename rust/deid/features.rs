//! Tokens and features of the name/place tagger (`model.rs`), shared by training and inference
//! so the two can never disagree.
//!
//! * Tokens: runs of letters and digits, joined across an inner hyphen or apostrophe
//!   ("Smith-Jones", "O'Brien", "45-year-old"), except a possessive "'s", which is a token of its
//!   own so "Smith's" labels "Smith"; every other non-space character is a token by itself.
//! * A word's *static* features (its lowercased form, shape, affixes, lexicon flags, corpus
//!   statistics) depend on the word alone, once for each of the five window slots (-2..+2) it
//!   can occupy; inference sums their weights once per distinct word and caches the sums.
//! * *Context* features depend on the position: the two previous labels, sentence and line
//!   position, lexicon phrases across words, word bigrams, nearby cue words.
//!
//! Every feature is a 64-bit hash of (template, values); the model keeps a fixed table of
//! buckets indexed by the hash's low bits. `FEATURE_VERSION` names this exact set of templates:
//! change anything here that moves a hash and it must change, which makes older models fail to
//! load instead of reading garbage.

use super::lexicon::{flags, Lexicon};
use rustc_hash::FxHashMap;
use xxhash_rust::xxh3::xxh3_64;

/// Version of the feature templates (hashing, word normalization, tokenization, vocabulary).
pub const FEATURE_VERSION: u32 = 2;

/// `text[start..end]` (byte offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
}

#[inline]
fn char_at(text: &str, i: usize) -> (char, usize) {
    let b = text.as_bytes()[i];
    if b < 0x80 {
        (b as char, 1)
    } else {
        let c = text[i..].chars().next().expect("i is a char boundary");
        (c, c.len_utf8())
    }
}

#[inline]
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

/// `'s` at `i` (after the apostrophe) that ends a word: a possessive.
fn possessive_s_at(text: &str, i: usize) -> bool {
    if i >= text.len() {
        return false;
    }
    let (c, len) = char_at(text, i);
    (c == 's' || c == 'S') && (i + len >= text.len() || !is_word_char(char_at(text, i + len).0))
}

/// The tokens of `text`, in order.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(text.len() / 5 + 1);
    let n = text.len();
    let mut i = 0;
    while i < n {
        let (c, len) = char_at(text, i);
        if c.is_whitespace() {
            i += len;
            continue;
        }
        let start = i;
        i += len;
        if is_word_char(c) {
            while i < n {
                let (c, len) = char_at(text, i);
                if is_word_char(c) {
                    i += len;
                    continue;
                }
                if (c == '-' || is_apostrophe(c)) && i + len < n && is_word_char(char_at(text, i + len).0) {
                    if is_apostrophe(c) && possessive_s_at(text, i + len) {
                        break;
                    }
                    i += len;
                    continue;
                }
                break;
            }
        } else if is_apostrophe(c)
            && start > 0
            && is_word_char(text[..start].chars().next_back().unwrap_or(' '))
            && possessive_s_at(text, i)
        {
            i += 1; // the "s" of a possessive "'s"
        }
        out.push(Token { start, end: i });
    }
    out
}

// --- words ------------------------------------------------------------------------------------

/// Case class of a token.
pub mod case {
    pub const OTHER: u8 = 0; // punctuation, symbols
    pub const LOWER: u8 = 1;
    pub const TITLE: u8 = 2; // "Smith", "O'Brien", "McDonald" (first letter upper, some lower)
    pub const UPPER: u8 = 3; // "SMITH", two or more letters
    pub const INITIAL: u8 = 4; // "J"
    pub const DIGITS: u8 = 5;
    pub const ALNUM: u8 = 6; // letters and digits
    pub const MIXED: u8 = 7; // "iPhone", "mRNA"
}

fn case_of(token: &str) -> u8 {
    let (mut upper, mut lower, mut digit, mut other_letter) = (0usize, 0usize, 0usize, 0usize);
    let mut first_upper = false;
    for (k, c) in token.chars().enumerate() {
        if c.is_uppercase() {
            upper += 1;
            if k == 0 {
                first_upper = true;
            }
        } else if c.is_lowercase() {
            lower += 1;
        } else if c.is_ascii_digit() || c.is_numeric() {
            digit += 1;
        } else if c.is_alphabetic() {
            other_letter += 1;
        }
    }
    let letters = upper + lower + other_letter;
    match (letters, digit) {
        (0, 0) => case::OTHER,
        (0, _) => case::DIGITS,
        (_, d) if d > 0 => case::ALNUM,
        _ if upper == 0 => case::LOWER,
        _ if lower == 0 && upper == 1 && letters == 1 => case::INITIAL,
        _ if lower == 0 => case::UPPER,
        _ if first_upper => case::TITLE,
        _ => case::MIXED,
    }
}

/// Shape: upper -> X, lower -> x, digit -> d, others kept; runs collapsed ("McDonald" -> XxXx,
/// "O'Brien" -> X'Xx, "45-year-old" -> d-x-x), at most 8 symbols.
fn shape_of(token: &str) -> String {
    let mut out = String::with_capacity(8);
    let mut last = '\0';
    for c in token.chars() {
        let s = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_numeric() {
            'd'
        } else if c.is_alphabetic() {
            'a'
        } else {
            c
        };
        if s != last {
            if out.len() >= 8 {
                break;
            }
            out.push(s);
            last = s;
        }
    }
    out
}

/// Lowercase, digits as 0, curly apostrophes straight: the form words are counted and
/// hashed in.
pub fn normalize(token: &str) -> String {
    if token.is_ascii() {
        return token.bytes().map(|b| if b.is_ascii_digit() { '0' } else { b.to_ascii_lowercase() as char }).collect();
    }
    token
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_numeric() {
                '0'
            } else if c == '’' {
                '\''
            } else {
                c
            }
        })
        .collect()
}

pub fn word_hash(normalized: &str) -> u64 {
    xxh3_64(normalized.as_bytes())
}

// --- the corpus vocabulary ----------------------------------------------------------------------

/// Statistics byte of a word in the training corpus: bits 0-2 log2 of its count (capped at 7),
/// bits 3-4 the share of its occurrences written in lowercase (<10%, <50%, <90%, more), bit 5:
/// a common lowercase word (a stop word learnt from the corpus), bit 6: present.
pub mod stat {
    pub const COUNT_MASK: u8 = 0x07;
    pub const LOWER_SHIFT: u8 = 3;
    pub const STOP: u8 = 0x20;
    pub const PRESENT: u8 = 0x40;
}

/// A word counts as a corpus stop word when written in lowercase at least this often, and in at
/// least half of its occurrences ("heart", "down", "normal", "mobile"): a lexicon name or place
/// that is mostly an ordinary word in clinical text.
pub const STOP_MIN_LOWER: u32 = 5;
/// Words seen fewer times are left out of the vocabulary (their statistics say little).
pub const VOCAB_MIN_COUNT: u32 = 2;

/// Words of the training corpus (as hashes of the normalized form) and their statistics byte.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vocabulary {
    stats: FxHashMap<u64, u8>,
}

/// Counts of one normalized word: (all occurrences, lowercase occurrences).
pub type WordCounts = FxHashMap<String, (u32, u32)>;

/// Counts of the alphabetic words of `text`, leaving out words inside the rules' name spans (real
/// names in the corpus are not vocabulary).
pub fn count_words(text: &str, counts: &mut WordCounts) {
    let names: Vec<(usize, usize)> = crate::deid::rules::detect(text)
        .into_iter()
        .filter(|s| s.kind == crate::deid::PhiType::Name)
        .map(|s| (s.start, s.end))
        .collect();
    let mut k = 0;
    for token in tokenize(text) {
        while k < names.len() && names[k].1 <= token.start {
            k += 1;
        }
        if k < names.len() && names[k].0 < token.end {
            continue;
        }
        let word = &text[token.start..token.end];
        if !word.chars().any(char::is_alphabetic) {
            continue;
        }
        let entry = counts.entry(normalize(word)).or_insert((0, 0));
        entry.0 += 1;
        if !word.chars().any(char::is_uppercase) {
            entry.1 += 1;
        }
    }
}

fn stat_byte(count: u32, lower: u32) -> u8 {
    let log = (31 - count.max(1).leading_zeros()).min(7) as u8;
    let share = lower as f64 / count.max(1) as f64;
    let bucket = if share < 0.1 {
        0
    } else if share < 0.5 {
        1
    } else if share < 0.9 {
        2
    } else {
        3
    };
    let stop = if lower >= STOP_MIN_LOWER && 2 * lower >= count { stat::STOP } else { 0 };
    stat::PRESENT | stop | (bucket << stat::LOWER_SHIFT) | log
}

impl Vocabulary {
    pub fn from_counts(counts: &WordCounts) -> Vocabulary {
        let stats = counts
            .iter()
            .filter(|(_, (count, _))| *count >= VOCAB_MIN_COUNT)
            .map(|(word, (count, lower))| (word_hash(word), stat_byte(*count, *lower)))
            .collect();
        Vocabulary { stats }
    }

    /// The corpus stop words among `counts` (sorted), for callers that plant names and must
    /// avoid them.
    pub fn stop_words(counts: &WordCounts) -> Vec<String> {
        let mut out: Vec<String> = counts
            .iter()
            .filter(|(_, (count, lower))| *count >= VOCAB_MIN_COUNT && stat_byte(*count, *lower) & stat::STOP != 0)
            .map(|(w, _)| w.clone())
            .collect();
        out.sort_unstable();
        out
    }

    pub fn get(&self, hash: u64) -> u8 {
        self.stats.get(&hash).copied().unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.stats.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// (hash, stats) sorted by hash: the serialized order.
    pub fn sorted(&self) -> Vec<(u64, u8)> {
        let mut out: Vec<(u64, u8)> = self.stats.iter().map(|(h, s)| (*h, *s)).collect();
        out.sort_unstable();
        out
    }

    pub fn from_sorted(entries: impl IntoIterator<Item = (u64, u8)>) -> Vocabulary {
        Vocabulary { stats: entries.into_iter().collect() }
    }
}

// --- feature hashing --------------------------------------------------------------------------

#[inline]
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hash of a template and one value.
#[inline]
pub fn f1(template: u64, a: u64) -> u64 {
    splitmix(splitmix(template.wrapping_mul(0xA24B_AED4_963E_E407)) ^ a)
}

/// Hash of a template and two values.
#[inline]
pub fn f2(template: u64, a: u64, b: u64) -> u64 {
    splitmix(f1(template, a) ^ b.rotate_left(29))
}

#[inline]
pub fn f3(template: u64, a: u64, b: u64, c: u64) -> u64 {
    splitmix(f2(template, a, b) ^ c.rotate_left(43))
}

/// Template ids. Static templates are combined with the window slot (0..5).
mod t {
    // static, per slot
    pub const WORD: u64 = 1;
    pub const SHAPE: u64 = 2;
    pub const CASE_LEN: u64 = 3;
    pub const PREFIX: u64 = 4;
    pub const SUFFIX: u64 = 5;
    pub const FLAGS: u64 = 6;
    pub const FLAG_BIT: u64 = 7;
    pub const STATS: u64 = 8;
    pub const STATS_CASE: u64 = 9;
    pub const FLAGS_CASE: u64 = 10;
    // context
    pub const BIAS: u64 = 20;
    pub const PREV1: u64 = 21;
    pub const PREV2: u64 = 22;
    pub const PREV1_CASE: u64 = 23;
    pub const PREV1_WORD: u64 = 24;
    pub const PREV1_FLAGS: u64 = 25;
    pub const SENT_CASE: u64 = 26;
    pub const LINE_CASE: u64 = 27;
    pub const DOC_UPPER_CASE: u64 = 28;
    pub const PHRASE: u64 = 29;
    pub const BIGRAM_LEFT: u64 = 30;
    pub const BIGRAM_RIGHT: u64 = 31;
    pub const SHAPE3: u64 = 32;
    pub const FLAGS3: u64 = 33;
    pub const CUE_LEFT: u64 = 34;
    pub const CUE_RIGHT: u64 = 35;
    pub const DOC_UPPER_STATS: u64 = 36;
    pub const EVIDENCE: u64 = 37;
    pub const LEFT_PAIR: u64 = 38;
    pub const RIGHT_PAIR: u64 = 39;
}

/// Number of window slots: offsets -2, -1, 0, +1, +2.
pub const SLOTS: usize = 5;

/// What context features need to know of a word.
#[derive(Clone, Copy, Debug, Default)]
pub struct WordCore {
    pub lower_hash: u64,
    pub shape_hash: u64,
    pub case: u8,
    /// Lexicon flags, with the corpus stop bit applied.
    pub flags: u16,
    pub stats: u8,
}

/// The static features of a word, one list per window slot.
pub type SlotFeatures = [Vec<u64>; SLOTS];

/// Computes words' features from a lexicon and a corpus vocabulary.
pub struct Featurizer<'a> {
    pub lexicon: &'a Lexicon,
    pub vocab: &'a Vocabulary,
}

const CUE_FLAGS: u16 = flags::TITLE | flags::RELATION | flags::STAFF;

fn affix(lower: &str, n: usize, prefix: bool) -> Option<&str> {
    let count = lower.chars().count();
    if count <= n {
        return None;
    }
    let at = if prefix {
        lower.char_indices().nth(n).map(|(i, _)| i)?
    } else {
        lower.char_indices().nth(count - n).map(|(i, _)| i)?
    };
    Some(if prefix { &lower[..at] } else { &lower[at..] })
}

impl Featurizer<'_> {
    /// The core facts and the static features of one token text.
    pub fn word(&self, token: &str) -> (WordCore, SlotFeatures) {
        let lower = normalize(token);
        let lower_hash = word_hash(&lower);
        let shape = shape_of(token);
        let shape_hash = xxh3_64(shape.as_bytes());
        let case = case_of(token);
        let stats = self.vocab.get(lower_hash);
        let mut word_flags = self.lexicon.word_flags(token);
        // Two-letter state codes only count in capitals ("OR" is Oregon, "or" is not).
        if word_flags & flags::STATE_ABBR != 0 && case != case::UPPER {
            word_flags &= !flags::STATE_ABBR;
        }
        if stats & stat::STOP != 0 {
            // "OR" stays a state code in capitals, though "or" is a stop word.
            word_flags = (word_flags & !(flags::NAME_OR_PLACE & !flags::STATE_ABBR)) | flags::STOP;
        }
        let core = WordCore { lower_hash, shape_hash, case, flags: word_flags, stats };
        let len_bucket = match lower.chars().count() {
            0..=1 => 0u64,
            2 => 1,
            3 => 2,
            4..=5 => 3,
            6..=8 => 4,
            _ => 5,
        };
        let stats_no_stop = (stats & !stat::STOP) as u64;
        let mut slots: SlotFeatures = Default::default();
        for (slot, out) in slots.iter_mut().enumerate() {
            let s = slot as u64;
            out.push(f2(t::WORD, s, lower_hash));
            out.push(f2(t::FLAGS, s, word_flags as u64));
            if slot == 2 {
                out.push(f2(t::SHAPE, s, shape_hash));
                out.push(f3(t::CASE_LEN, s, case as u64, len_bucket));
                for n in 2..=4 {
                    if let Some(p) = affix(&lower, n, true) {
                        out.push(f3(t::PREFIX, s, n as u64, xxh3_64(p.as_bytes())));
                    }
                    if let Some(p) = affix(&lower, n, false) {
                        out.push(f3(t::SUFFIX, s, n as u64, xxh3_64(p.as_bytes())));
                    }
                }
                for bit in 0..16 {
                    if word_flags & (1 << bit) != 0 {
                        out.push(f3(t::FLAG_BIT, s, bit, case as u64));
                    }
                }
                out.push(f2(t::STATS, s, stats_no_stop));
                out.push(f3(t::STATS_CASE, s, stats_no_stop, case as u64));
                out.push(f3(t::FLAGS_CASE, s, word_flags as u64, case as u64));
            } else if slot == 1 || slot == 3 {
                out.push(f2(t::SHAPE, s, shape_hash));
                out.push(f3(t::FLAGS_CASE, s, word_flags as u64, case as u64));
                out.push(f2(t::STATS, s, stats_no_stop >> stat::LOWER_SHIFT));
            }
        }
        (core, slots)
    }

    /// The pseudo-word before the first token (`end` false) or after the last.
    pub fn boundary(&self, end: bool) -> (WordCore, SlotFeatures) {
        let marker = if end { "\u{0}</s>" } else { "\u{0}<s>" };
        let hash = xxh3_64(marker.as_bytes());
        let core = WordCore { lower_hash: hash, shape_hash: hash, case: case::OTHER, flags: 0, stats: 0 };
        let mut slots: SlotFeatures = Default::default();
        for (slot, out) in slots.iter_mut().enumerate() {
            out.push(f2(t::WORD, slot as u64, hash));
        }
        (core, slots)
    }
}

// --- position-dependent context ----------------------------------------------------------------

/// Phrase bits of a token: the lexicon flags of the multi-word entry it is part of, plus whether
/// it begins it.
pub const PHRASE_BEGIN: u32 = 1 << 16;
pub const PHRASE_INSIDE: u32 = 1 << 17;

/// Per-token facts that depend on the document, not on the word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenContext {
    /// Index of the token in its line, capped at 3.
    pub line_pos: u8,
    /// First token of a sentence (after . ! ? : ; or a line break, or ".," / ":," in MTSamples).
    pub sent_start: bool,
    /// Lexicon phrase flags (`PHRASE_BEGIN`/`PHRASE_INSIDE` plus category bits), 0 outside phrases.
    pub phrase: u32,
    /// What the rest of the document says of this word (`evidence`).
    pub evidence: u8,
}

/// Evidence bits: the same word (any case) occurs elsewhere in the document, elsewhere written
/// in lowercase ("Mutations ... mutations": a common word), elsewhere capitalized inside a
/// sentence ("... saw Okafor ... Okafor": a proper noun).
pub mod evidence {
    pub const ELSEWHERE: u8 = 1;
    pub const LOWER_ELSEWHERE: u8 = 2;
    pub const CAPITAL_ELSEWHERE: u8 = 4;
}

/// Case mode of a whole document.
pub mod doc_case {
    pub const MIXED: u8 = 0;
    /// Nearly all cased letters are capitals.
    pub const UPPER: u8 = 1;
    /// Under 0.2% of cased letters are capitals (a lowercase note; a list of lowercase terms
    /// under a capitalized title is not one).
    pub const LOWER: u8 = 2;
}

/// A document's tokens and their context.
pub struct DocContext {
    pub tokens: Vec<Token>,
    pub contexts: Vec<TokenContext>,
    pub case_mode: u8,
    /// `case_mode == UPPER`.
    pub upper_doc: bool,
}

fn case_mode(text: &str) -> u8 {
    let (mut upper, mut lower) = (0usize, 0usize);
    for c in text.chars() {
        if c.is_uppercase() {
            upper += 1;
        } else if c.is_lowercase() {
            lower += 1;
        }
    }
    if upper >= 20 && lower * 10 < upper {
        doc_case::UPPER
    } else if lower >= 100 && upper * 500 < lower {
        doc_case::LOWER
    } else {
        doc_case::MIXED
    }
}

/// Case-insensitive hash of a word, without allocating.
fn folded_hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in word.chars().flat_map(char::to_lowercase) {
        h = (h ^ c as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Fills `evidence` of every alphabetic token.
fn document_evidence(text: &str, tokens: &[Token], contexts: &mut [TokenContext]) {
    // (occurrences, lowercase ones, capitalized ones inside a sentence) per word.
    let mut seen: FxHashMap<u64, (u32, u32, u32)> = FxHashMap::default();
    let mut keys = Vec::with_capacity(tokens.len());
    for (t, ctx) in tokens.iter().zip(contexts.iter()) {
        let word = &text[t.start..t.end];
        let first = word.chars().next().unwrap_or(' ');
        if !first.is_alphabetic() {
            keys.push(None);
            continue;
        }
        let lower = !word.chars().any(char::is_uppercase);
        let capital = first.is_uppercase() && !ctx.sent_start;
        let key = folded_hash(word);
        let entry = seen.entry(key).or_default();
        entry.0 += 1;
        entry.1 += lower as u32;
        entry.2 += capital as u32;
        keys.push(Some((key, lower as u32, capital as u32)));
    }
    for (ctx, key) in contexts.iter_mut().zip(keys) {
        let Some((key, lower, capital)) = key else { continue };
        let (n, l, c) = seen[&key];
        ctx.evidence = if n > 1 { evidence::ELSEWHERE } else { 0 }
            | if l > lower { evidence::LOWER_ELSEWHERE } else { 0 }
            | if c > capital { evidence::CAPITAL_ELSEWHERE } else { 0 };
    }
}

impl DocContext {
    pub fn new(text: &str, lexicon: &Lexicon) -> DocContext {
        let tokens = tokenize(text);
        let mut contexts = vec![TokenContext::default(); tokens.len()];
        let mut line_pos = 0u8;
        for i in 0..tokens.len() {
            let gap = if i == 0 { &text[..tokens[0].start] } else { &text[tokens[i - 1].end..tokens[i].start] };
            let new_line = i == 0 || gap.contains('\n');
            if new_line {
                line_pos = 0;
            }
            let prev = |k: usize| (i >= k).then(|| &text[tokens[i - k].start..tokens[i - k].end]);
            let sent_start = new_line
                || matches!(prev(1), Some("." | "!" | "?" | ":" | ";"))
                || (prev(1) == Some(",") && matches!(prev(2), Some("." | ":")));
            contexts[i] = TokenContext { line_pos, sent_start, phrase: 0, evidence: 0 };
            line_pos = (line_pos + 1).min(3);
        }
        let mut k = 0;
        for m in lexicon.phrases_in(text) {
            while k < tokens.len() && tokens[k].end <= m.start {
                k += 1;
            }
            let mut first = true;
            let mut j = k;
            while j < tokens.len() && tokens[j].start < m.end {
                contexts[j].phrase = m.flags as u32 | if first { PHRASE_BEGIN } else { PHRASE_INSIDE };
                first = false;
                j += 1;
            }
        }
        document_evidence(text, &tokens, &mut contexts);
        let mode = case_mode(text);
        DocContext { tokens, contexts, case_mode: mode, upper_doc: mode == doc_case::UPPER }
    }
}

/// A label index outside the label set: "before the document".
pub const NO_LABEL: u8 = 15;

/// The context features of token `i`. `word(k)` returns the core of the word at window slot
/// k (0..5, i.e. offsets -2..+2; the boundary pseudo-words past either end).
#[inline]
pub fn context_features(
    doc: &DocContext,
    i: usize,
    word: impl Fn(usize) -> WordCore,
    prev1: u8,
    prev2: u8,
    out: &mut Vec<u64>,
) {
    let ctx = doc.contexts[i];
    let w = [word(0), word(1), word(2), word(3), word(4)];
    let me = w[2];
    let c = me.case as u64;
    out.push(f1(t::BIAS, 0));
    out.push(f1(t::PREV1, prev1 as u64));
    out.push(f2(t::PREV2, prev2 as u64, prev1 as u64));
    out.push(f2(t::PREV1_CASE, prev1 as u64, c));
    out.push(f2(t::PREV1_WORD, prev1 as u64, me.lower_hash));
    out.push(f2(t::PREV1_FLAGS, prev1 as u64, me.flags as u64));
    out.push(f3(t::SENT_CASE, ctx.sent_start as u64, c, me.stats as u64 >> stat::LOWER_SHIFT));
    out.push(f2(t::LINE_CASE, ctx.line_pos as u64, c));
    out.push(f2(t::DOC_UPPER_CASE, doc.case_mode as u64, c));
    out.push(f3(t::EVIDENCE, ctx.evidence as u64, c, (doc.case_mode as u64) << 1 | ctx.sent_start as u64));
    if doc.upper_doc {
        out.push(f2(t::DOC_UPPER_STATS, me.stats as u64, me.flags as u64));
    }
    let phrase_at = |j: Option<usize>| j.map_or(0, |j| doc.contexts[j].phrase);
    let n = doc.tokens.len();
    let (before, after) = ((i > 0).then(|| i - 1), (i + 1 < n).then_some(i + 1));
    if ctx.phrase != 0 || phrase_at(before) != 0 || phrase_at(after) != 0 {
        out.push(f3(t::PHRASE, ctx.phrase as u64, phrase_at(before) as u64, phrase_at(after) as u64));
        out.push(f2(t::PHRASE, ctx.phrase as u64, c));
    }
    out.push(f2(t::BIGRAM_LEFT, w[1].lower_hash, me.lower_hash));
    out.push(f2(t::BIGRAM_RIGHT, me.lower_hash, w[3].lower_hash));
    out.push(f3(t::SHAPE3, w[1].shape_hash, me.shape_hash, w[3].shape_hash));
    // The two words on either side together, with the word's case: "lives in" + a capitalized
    // word, "called from" + a lowercase one, "(daughter)" after, "recently underwent" after.
    out.push(f3(t::LEFT_PAIR, w[0].lower_hash, w[1].lower_hash, c));
    out.push(f3(t::RIGHT_PAIR, w[3].lower_hash, w[4].lower_hash, c));
    out.push(f3(t::FLAGS3, w[1].flags as u64, me.flags as u64, w[3].flags as u64));
    // The nearest cue word on the left within three tokens ("Dr.", "wife,", "nurse"), and a
    // credential or an organization word on the right ("Smith, RN", "Lakeview Hospital").
    for (distance, slot) in [(1u64, 1usize), (2, 0)] {
        let f = w[slot].flags & CUE_FLAGS;
        if f != 0 {
            out.push(f3(t::CUE_LEFT, distance, f as u64, c));
            break;
        }
    }
    for (distance, slot) in [(1u64, 3usize), (2, 4)] {
        let f = w[slot].flags & (flags::CREDENTIAL | flags::HOSPITAL_WORD);
        if f != 0 {
            out.push(f3(t::CUE_RIGHT, distance, f as u64, c));
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deid::lexicon::tests::small;

    fn words(text: &str) -> Vec<&str> {
        tokenize(text).iter().map(|t| &text[t.start..t.end]).collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            words("Dr. O'Brien's wife, Smith-Jones (45-year-old) don't"),
            vec!["Dr", ".", "O'Brien", "'s", "wife", ",", "Smith-Jones", "(", "45-year-old", ")", "don't"]
        );
        assert_eq!(words("Mary’s  Müller's x"), vec!["Mary", "’s", "Müller", "'s", "x"]);
        assert_eq!(words("patients' 's"), vec!["patients", "'", "'", "s"]);
        assert_eq!(words(""), Vec::<&str>::new());
        assert_eq!(words("-a- ."), vec!["-", "a", "-", "."]);
    }

    #[test]
    fn cases_and_shapes() {
        assert_eq!(case_of("Smith"), case::TITLE);
        assert_eq!(case_of("McDonald"), case::TITLE);
        assert_eq!(case_of("SMITH"), case::UPPER);
        assert_eq!(case_of("J"), case::INITIAL);
        assert_eq!(case_of("smith"), case::LOWER);
        assert_eq!(case_of("mRNA"), case::MIXED);
        assert_eq!(case_of("45"), case::DIGITS);
        assert_eq!(case_of("T12"), case::ALNUM);
        assert_eq!(case_of(","), case::OTHER);
        assert_eq!(shape_of("McDonald"), "XxXx");
        assert_eq!(shape_of("O'Brien"), "X'Xx");
        assert_eq!(shape_of("45-year-old"), "d-x-x");
        assert_eq!(normalize("Room 12B"), "room 00b");
        assert_eq!(normalize("O’BRIEN"), "o'brien");
    }

    #[test]
    fn static_features_depend_on_the_word_only() {
        let lexicon = small();
        let vocab = Vocabulary::default();
        let fz = Featurizer { lexicon: &lexicon, vocab: &vocab };
        let (a, fa) = fz.word("Smith");
        let (b, fb) = fz.word("Smith");
        assert_eq!(fa, fb);
        assert_eq!(a.flags, flags::LAST_NAME);
        assert_eq!(b.case, case::TITLE);
        let (_, fc) = fz.word("smith");
        assert_ne!(fa[2], fc[2], "case is a feature");
        assert_eq!(fa[0][0], fc[0][0], "the lowercased word is shared");
        // The slots differ: the same word two tokens left is another feature than at the centre.
        assert_ne!(fa[0][0], fa[2][0]);
    }

    #[test]
    fn corpus_stop_words_clear_name_flags() {
        let lexicon = small();
        let mut counts = WordCounts::default();
        for _ in 0..3 {
            count_words("The grace period. grace period, Grace Smith and grace.", &mut counts);
        }
        let vocab = Vocabulary::from_counts(&counts);
        assert_eq!(Vocabulary::stop_words(&counts).iter().filter(|w| *w == "grace").count(), 1);
        let fz = Featurizer { lexicon: &lexicon, vocab: &vocab };
        assert_eq!(fz.word("Grace").0.flags, flags::STOP);
        assert_eq!(fz.word("Mary").0.flags, flags::FIRST_NAME);
        assert!(fz.word("smith").0.stats & stat::PRESENT != 0);
    }

    #[test]
    fn rule_names_are_not_counted() {
        let mut counts = WordCounts::default();
        count_words("Seen by Dr. Okonkwo today. Okonkwo agreed.", &mut counts);
        assert!(!counts.contains_key("okonkwo"), "{counts:?}");
        assert_eq!(counts["seen"], (1, 0), "capitalized");
        assert_eq!(counts["agreed"], (1, 1));
    }

    #[test]
    fn context_marks_sentences_lines_and_phrases() {
        let lexicon = small();
        let text = "HISTORY:,  She moved to Salt Lake City.\nHer son visits";
        let doc = DocContext::new(text, &lexicon);
        let find = |w: &str| doc.tokens.iter().position(|t| &text[t.start..t.end] == w).unwrap();
        assert!(doc.contexts[find("She")].sent_start);
        assert!(!doc.contexts[find("moved")].sent_start);
        assert!(doc.contexts[find("Her")].sent_start);
        assert_eq!(doc.contexts[find("Her")].line_pos, 0);
        assert_eq!(doc.contexts[find("son")].line_pos, 1);
        assert_eq!(doc.contexts[find("Salt")].phrase, flags::CITY as u32 | PHRASE_BEGIN);
        assert_eq!(doc.contexts[find("City")].phrase, flags::CITY as u32 | PHRASE_INSIDE);
        assert_eq!(doc.contexts[find("to")].phrase, 0);
        assert!(!doc.upper_doc);
        assert!(DocContext::new("PATIENT SEEN BY DR SMITH IN CLINIC TODAY.", &lexicon).upper_doc);
        assert_eq!(doc.contexts[find("She")].evidence, 0);
        assert_eq!(doc.case_mode, doc_case::MIXED);
    }

    #[test]
    fn document_evidence_of_words() {
        let lexicon = small();
        let text = "Mutations were found. The mutations of Okafor. Later Okafor left. Alone.";
        let doc = DocContext::new(text, &lexicon);
        let at = |w: &str, nth: usize| {
            doc.tokens
                .iter()
                .enumerate()
                .filter(|(_, t)| &text[t.start..t.end] == w)
                .nth(nth)
                .map(|(i, _)| doc.contexts[i].evidence)
                .unwrap()
        };
        assert_eq!(at("Mutations", 0), evidence::ELSEWHERE | evidence::LOWER_ELSEWHERE);
        assert_eq!(at("mutations", 0), evidence::ELSEWHERE);
        assert_eq!(at("Okafor", 0), evidence::ELSEWHERE | evidence::CAPITAL_ELSEWHERE);
        assert_eq!(at("Alone", 0), 0);
    }
}
