//! MinHash signatures computed straight from raw text.
//!
//! A document's shingles are exactly those of [`crate::dedup::shingles::shingle_set`] (the one
//! definition of words and word n-gram hashes). Here they are gathered in text order without
//! sorting or deduplicating, since a repeated shingle cannot change a minimum, and ASCII text
//! takes a byte-level path to the same word hashes (tests prove both equal the definition).
//!
//! * Field: the Mersenne prime p = 2^61 - 1. A shingle's 64-bit hash h enters as x = h mod p.
//! * Permutations: h_i(x) = (a_i * x + b_i) mod p for i in 0..num_perm, with a_i in [1, p) and
//!   b_i in [0, p) drawn in the order a_0, b_0, a_1, b_1, ... from SplitMix64 started at the
//!   seed; each draw takes the top 61 bits of one SplitMix64 output and rejects values out of
//!   range (so a_i and b_i are uniform). The same seed with more permutations extends the list:
//!   the first 128 of 256 permutations are the 128 permutations.
//! * Signature: s_i = min over the document's shingles of h_i(x), a value below p. A document
//!   with no words has no shingles and gets [`EMPTY`] (u64::MAX) in every position, a value no
//!   shingle can produce; LSH never makes such a document a candidate.
//! * P(s_i(A) = s_i(B)) approximates the Jaccard similarity of the shingle sets of A and B.
//!
//! Speed: one pass over the words of a document (one xxh3 per word and per shingle, two
//! buffers per document, nothing allocated per shingle), then for each shingle the update of
//! all permutations. The update does (a_i * x) mod p on 32-bit limbs (four 32x32 ->
//! 64-bit products and shifts, no 128-bit arithmetic), so the loop over permutations
//! vectorizes; it is compiled three times (baseline x86-64, AVX2, AVX-512) and the widest the CPU
//! supports is picked at run time. All variants compute the same integers (tests check each
//! against a u128 reference).

use crate::dedup::shingles;
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

/// The Mersenne prime 2^61 - 1, the modulus of every permutation.
pub const MERSENNE_61: u64 = (1 << 61) - 1;

/// Signature value of a document without shingles (never produced by a shingle).
pub const EMPTY: u64 = u64::MAX;

const LOW_32: u64 = 0xffff_ffff;
const LOW_29: u64 = (1 << 29) - 1;

/// SplitMix64 (Steele, Lea and Flood 2014): the documented generator of the permutations.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// h mod (2^61 - 1).
#[inline(always)]
pub fn to_field(h: u64) -> u64 {
    let folded = (h & MERSENNE_61) + (h >> 61);
    folded.min(folded.wrapping_sub(MERSENNE_61))
}

/// (a * x + b) mod (2^61 - 1) by 128-bit arithmetic: the reference the fast path must match.
pub fn permute_reference(a: u64, b: u64, x: u64) -> u64 {
    ((a as u128 * x as u128 + b as u128) % MERSENNE_61 as u128) as u64
}

/// The permutations of a signature and the shingle size: everything a signature depends on.
#[derive(Clone, Debug)]
pub struct MinHasher {
    ngram: usize,
    a: Vec<u64>,
    b: Vec<u64>,
    limbs: Limbs,
}

/// a_i split into 32-bit limbs, a_i = hi[i] * 2^32 + lo[i], and hi8[i] = 8 hi[i] (< 2^32), each
/// held in a u64 so the update loads them without widening; with b, for the vectorized update.
#[derive(Clone, Debug)]
struct Limbs {
    lo: Vec<u64>,
    hi: Vec<u64>,
    hi8: Vec<u64>,
    b: Vec<u64>,
}

impl Limbs {
    fn new(a: &[u64], b: &[u64]) -> Self {
        Limbs {
            lo: a.iter().map(|&v| v & LOW_32).collect(),
            hi: a.iter().map(|&v| v >> 32).collect(),
            hi8: a.iter().map(|&v| (v >> 32) << 3).collect(),
            b: b.to_vec(),
        }
    }
}

impl MinHasher {
    /// `num_perm` permutations drawn from `seed`, over word `ngram` shingles.
    ///
    /// Panics if `num_perm` or `ngram` is 0; the Python binding checks them first.
    pub fn new(num_perm: usize, ngram: usize, seed: u64) -> Self {
        assert!(num_perm > 0, "num_perm must be at least 1");
        assert!(ngram > 0, "ngram must be at least 1");
        let mut state = seed;
        let mut draw = |low: u64| loop {
            let value = splitmix64(&mut state) >> 3;
            if (low..MERSENNE_61).contains(&value) {
                return value;
            }
        };
        let (mut a, mut b) = (Vec::with_capacity(num_perm), Vec::with_capacity(num_perm));
        for _ in 0..num_perm {
            a.push(draw(1));
            b.push(draw(0));
        }
        let limbs = Limbs::new(&a, &b);
        MinHasher { ngram, a, b, limbs }
    }

    pub fn num_perm(&self) -> usize {
        self.a.len()
    }

    pub fn ngram(&self) -> usize {
        self.ngram
    }

    /// The multipliers a_i and offsets b_i.
    pub fn coefficients(&self) -> (&[u64], &[u64]) {
        (&self.a, &self.b)
    }

    /// The signature of one text.
    pub fn signature(&self, text: &str) -> Vec<u64> {
        let mut out = vec![0; self.num_perm()];
        self.signature_into(text, &mut out);
        out
    }

    /// Write the signature of `text` into `out` (length num_perm).
    pub fn signature_into(&self, text: &str, out: &mut [u64]) {
        assert_eq!(out.len(), self.num_perm(), "signature buffer of the wrong length");
        Kernel::detect().signature_into(self, text, out);
    }

    /// Signatures of all texts, row-major (texts.len() x num_perm), on the current rayon pool.
    pub fn signatures<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<u64> {
        let kernel = Kernel::detect();
        let mut out = vec![0; texts.len() * self.num_perm()];
        out.par_chunks_mut(self.num_perm())
            .zip(texts.par_iter())
            .with_min_len(4)
            .for_each(|(row, text)| kernel.signature_into(self, text.as_ref(), row));
        out
    }

    /// The signature of a document whose shingle hashes are `shingle_hashes` (any order,
    /// repeats allowed), by the 128-bit reference arithmetic. For tests and other languages.
    pub fn signature_of_shingles_reference(&self, shingle_hashes: &[u64]) -> Vec<u64> {
        let mut out = vec![EMPTY; self.num_perm()];
        for &h in shingle_hashes {
            let x = to_field(h);
            for (slot, (&a, &b)) in out.iter_mut().zip(self.a.iter().zip(&self.b)) {
                *slot = (*slot).min(permute_reference(a, b, x));
            }
        }
        out
    }
}

/// True when the signature is that of a document without shingles.
pub fn is_empty_signature(signature: &[u64]) -> bool {
    signature.first().is_some_and(|&v| v == EMPTY)
}

/// The fraction of positions where two signatures agree: an unbiased estimate of Jaccard
/// similarity. 0.0 when either document is empty.
pub fn estimate_jaccard(a: &[u64], b: &[u64]) -> f64 {
    assert_eq!(a.len(), b.len(), "signatures of different lengths");
    if a.is_empty() || is_empty_signature(a) || is_empty_signature(b) {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// Call `visit` with the hash of every word-`ngram` shingle of `text`, in text order, repeats
/// included. The distinct values are exactly `shingles::shingle_set(text, ngram)` (tested).
pub fn for_each_shingle(text: &str, ngram: usize, mut visit: impl FnMut(u64)) {
    let mut words = Vec::new();
    word_hashes_into(text, &mut words);
    if words.is_empty() {
        return;
    }
    let window = ngram.min(words.len());
    for gram in words.windows(window) {
        visit(shingle_hash(gram));
    }
}

/// xxh3 of the window's word hashes in little-endian bytes, as `shingles::shingle_set` hashes it.
#[inline(always)]
fn shingle_hash(gram: &[u64]) -> u64 {
    #[cfg(target_endian = "little")]
    {
        // SAFETY: a u64 slice is readable as bytes (no padding, u8 has alignment 1), and on a
        // little-endian target those bytes are the concatenated to_le_bytes of its values.
        let bytes = unsafe { std::slice::from_raw_parts(gram.as_ptr().cast::<u8>(), gram.len() * 8) };
        xxh3_64(bytes)
    }
    #[cfg(not(target_endian = "little"))]
    {
        let bytes: Vec<u8> = gram.iter().flat_map(|w| w.to_le_bytes()).collect();
        xxh3_64(&bytes)
    }
}

/// `shingles::word_hashes(text)` into `out`, with a byte-level path for ASCII text (same
/// values, tested): split on ASCII White_Space (tab, LF, VT, FF, CR, space), trim
/// non-alphanumeric bytes from both ends, lowercase, hash.
fn word_hashes_into(text: &str, out: &mut Vec<u64>) {
    out.clear();
    if !text.is_ascii() {
        out.extend(shingles::word_hashes(text));
        return;
    }
    let mut lowered = Vec::new();
    let is_space = |b: &u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    for token in text.as_bytes().split(is_space) {
        let Some(start) = token.iter().position(u8::is_ascii_alphanumeric) else {
            continue;
        };
        let end = token.iter().rposition(u8::is_ascii_alphanumeric).map_or(0, |e| e + 1);
        let word = &token[start..end];
        if word.iter().any(u8::is_ascii_uppercase) {
            lowered.clear();
            lowered.extend(word.iter().map(u8::to_ascii_lowercase));
            out.push(xxh3_64(&lowered));
        } else {
            out.push(xxh3_64(word));
        }
    }
}

/// (a * x + b) mod p from the limbs of a (a0 = a mod 2^32, a1 = a >> 32, a1_times_8 = 8 a1)
/// and of x (x0 = x mod 2^32, x1 = x >> 32), for x < p.
///
/// a * x = a1 x1 2^64 + (a1 x0 + a0 x1) 2^32 + a0 x0, and mod p, 2^61 = 1, so 2^64 = 8, and
/// m 2^32 = (m >> 29) + (m mod 2^29) 2^32 for the middle term m < 2^62. Every product is of
/// two values below 2^32 (the masks tell the compiler so: one 32x32 -> 64 multiply each) and
/// every partial sum stays below 2^64; two folds and one conditional subtraction (written as an
/// unsigned min) bring the result into [0, p).
#[inline(always)]
fn permute(a0: u64, a1: u64, a1_times_8: u64, b: u64, x0: u64, x1: u64) -> u64 {
    let (a0, a1, a1_times_8) = (a0 & LOW_32, a1 & LOW_32, a1_times_8 & LOW_32);
    let low = a0 * x0;
    let middle = a1 * x0 + a0 * x1;
    let high = a1_times_8 * x1;
    let sum = (low & MERSENNE_61) + (low >> 61) + ((middle & LOW_29) << 32) + (middle >> 29) + high + b;
    let folded = (sum & MERSENNE_61) + (sum >> 61);
    folded.min(folded.wrapping_sub(MERSENNE_61))
}

/// s_i = min(s_i, h_i(x)) for every permutation i, for one shingle x < p.
#[inline(always)]
fn update(signature: &mut [u64], limbs: &Limbs, x: u64) {
    let (x0, x1) = (x & LOW_32, x >> 32);
    let n = signature.len();
    let (lo, hi, hi8, b) = (&limbs.lo[..n], &limbs.hi[..n], &limbs.hi8[..n], &limbs.b[..n]);
    for i in 0..n {
        signature[i] = signature[i].min(permute(lo[i], hi[i], hi8[i], b[i], x0, x1));
    }
}

/// Update `out` with every shingle hash in `hashes`: the hot loop, compiled per variant.
#[inline(always)]
fn update_all(hasher: &MinHasher, hashes: &[u64], out: &mut [u64]) {
    for &h in hashes {
        update(out, &hasher.limbs, to_field(h));
    }
}

/// The document's shingle hashes (text order, repeats kept), then `update_variant` over them.
#[inline(always)]
fn signature_with(
    hasher: &MinHasher,
    text: &str,
    out: &mut [u64],
    update_variant: impl FnOnce(&MinHasher, &[u64], &mut [u64]),
) {
    out.fill(EMPTY);
    let mut hashes = Vec::new();
    for_each_shingle(text, hasher.ngram, |h| hashes.push(h));
    update_variant(hasher, &hashes, out);
}

/// Which compiled variant of the update runs: chosen once per call from the CPU's features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    /// The widest variant this CPU runs.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Kernel::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
        }
        Kernel::Baseline
    }

    /// Every variant this CPU runs (for tests).
    pub fn available() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Baseline];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                kernels.push(Kernel::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                kernels.push(Kernel::Avx512);
            }
        }
        kernels
    }

    /// The signature of `text` computed by this variant. Panics if the CPU lacks its features.
    pub fn signature_into(self, hasher: &MinHasher, text: &str, out: &mut [u64]) {
        match self {
            Kernel::Baseline => signature_with(hasher, text, out, update_all),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                assert!(std::arch::is_x86_feature_detected!("avx2"));
                // SAFETY: the CPU supports AVX2 (checked above).
                signature_with(hasher, text, out, |h, x, o| unsafe { update_all_avx2(h, x, o) })
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => {
                assert!(std::arch::is_x86_feature_detected!("avx512f"));
                // SAFETY: the CPU supports AVX-512F (checked above).
                signature_with(hasher, text, out, |h, x, o| unsafe { update_all_avx512(h, x, o) })
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_all_avx2(hasher: &MinHasher, hashes: &[u64], out: &mut [u64]) {
    update_all(hasher, hashes, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn update_all_avx512(hasher: &MinHasher, hashes: &[u64], out: &mut [u64]) {
    update_all(hasher, hashes, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_text(seed: u64, words: usize, vocabulary: u64) -> String {
        let mut state = seed;
        (0..words).map(|_| format!("w{}", splitmix64(&mut state) % vocabulary)).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn coefficients_are_in_range_and_reproducible() {
        let hasher = MinHasher::new(256, 5, 42);
        let (a, b) = hasher.coefficients();
        assert!(a.iter().all(|v| (1..MERSENNE_61).contains(v)));
        assert!(b.iter().all(|&v| v < MERSENNE_61));
        let again = MinHasher::new(256, 5, 42);
        assert_eq!(hasher.coefficients(), again.coefficients());
        // More permutations extend the list; another seed changes it.
        let shorter = MinHasher::new(128, 5, 42);
        assert_eq!(shorter.coefficients().0, &a[..128]);
        assert_eq!(shorter.coefficients().1, &b[..128]);
        assert_ne!(MinHasher::new(128, 5, 43).coefficients().0, &a[..128]);
    }

    #[test]
    fn field_reduction_matches_the_remainder() {
        let mut state = 9;
        let edge = [0, 1, MERSENNE_61 - 1, MERSENNE_61, MERSENNE_61 + 1, u64::MAX, u64::MAX - 1, 1 << 61, 1 << 63];
        let random: Vec<u64> = (0..10_000).map(|_| splitmix64(&mut state)).collect();
        for &h in edge.iter().chain(&random) {
            assert_eq!(to_field(h), h % MERSENNE_61, "{h}");
        }
    }

    #[test]
    fn every_kernel_matches_the_128_bit_reference() {
        // Extreme coefficients and inputs, then random ones, through each compiled variant.
        let mut hasher = MinHasher::new(67, 5, 3);
        let extremes = [1, 2, MERSENNE_61 - 1, MERSENNE_61 - 2, 1 << 32, (1 << 32) - 1, 1 << 60];
        for (i, &v) in extremes.iter().enumerate() {
            hasher.a[i] = v;
            hasher.b[i] = MERSENNE_61 - 1 - i as u64;
        }
        hasher.limbs = Limbs::new(&hasher.a, &hasher.b);
        let mut state = 5;
        let mut inputs: Vec<u64> = vec![0, 1, MERSENNE_61 - 1, (1 << 32) - 1, 1 << 32];
        inputs.extend((0..2_000).map(|_| to_field(splitmix64(&mut state))));
        for x in inputs {
            let expected: Vec<u64> = (0..67).map(|i| permute_reference(hasher.a[i], hasher.b[i], x)).collect();
            let mut got = vec![EMPTY; 67];
            update(&mut got, &hasher.limbs, x);
            assert_eq!(got, expected, "x = {x}");
        }
        let texts = [
            words_text(1, 400, 50),
            words_text(2, 3, 50),
            String::new(),
            " .,; ".to_string(),
            "Échographie: RAS. Patient SANS antécédents, pas de fièvre".to_string(),
        ];
        for text in &texts {
            let expected = hasher.signature_of_shingles_reference(&shingles::shingle_set(text, 5));
            for kernel in Kernel::available() {
                let mut got = vec![0; 67];
                kernel.signature_into(&hasher, text, &mut got);
                assert_eq!(got, expected, "{kernel:?} on {text:?}");
            }
        }
    }

    #[test]
    fn streamed_shingles_are_the_shingle_set() {
        let texts = [
            words_text(7, 200, 20),
            words_text(8, 4, 5),
            "one two three four five six seven".to_string(),
            "a b a b a b".to_string(),
            "SUBJECTIVE:, Cough.  -- fever; x-ray".to_string(),
            String::new(),
        ];
        for text in &texts {
            for ngram in [1, 2, 5, 9] {
                let mut streamed = Vec::new();
                for_each_shingle(text, ngram, |h| streamed.push(h));
                streamed.sort_unstable();
                streamed.dedup();
                assert_eq!(streamed, shingles::shingle_set(text, ngram), "{text:?} n={ngram}");
            }
        }
    }

    #[test]
    fn fast_word_path_matches_the_definition() {
        // ASCII texts built from every kind of byte that matters: all ASCII whitespace, the
        // information separators (not whitespace), punctuation, digits, both cases.
        let alphabet: Vec<char> = (0u8..128).map(char::from).collect();
        let mut state = 77;
        for _ in 0..3_000 {
            let len = (splitmix64(&mut state) % 60) as usize;
            let text: String = (0..len)
                .map(|_| {
                    let r = splitmix64(&mut state);
                    let pick = (r >> 8) as usize;
                    if r.is_multiple_of(4) {
                        b" \t\n\x0b\x0c\r\x1c\x1f"[pick % 8] as char
                    } else {
                        alphabet[pick % 128]
                    }
                })
                .collect();
            let mut fast = Vec::new();
            word_hashes_into(&text, &mut fast);
            assert_eq!(fast, shingles::word_hashes(&text), "{text:?}");
        }
        let mut out = vec![1, 2];
        word_hashes_into("Straße ÉTÉ\u{a0}x", &mut out);
        assert_eq!(out, shingles::word_hashes("Straße ÉTÉ\u{a0}x"));
    }

    #[test]
    fn signatures_depend_only_on_the_shingle_set() {
        let hasher = MinHasher::new(128, 5, 1);
        let base = "the patient is a pleasant woman who presents with cough fever and chills";
        // Case, spacing and edge punctuation do not change words, so not the signature either.
        assert_eq!(hasher.signature(base), hasher.signature(&base.to_uppercase().replace(' ', " ,  ")));
        assert_ne!(hasher.signature(base), hasher.signature(&base.replace("cough", "wheeze")));
        // A repeated passage adds no shingle beyond those at the seam.
        let twice = format!("{base} {base}");
        let expected = hasher.signature_of_shingles_reference(&shingles::shingle_set(&twice, 5));
        assert_eq!(hasher.signature(&twice), expected);
        // Empty documents get the empty signature.
        assert!(is_empty_signature(&hasher.signature("")));
        assert!(is_empty_signature(&hasher.signature(" -- ")));
        assert!(hasher.signature("x").iter().all(|&v| v < MERSENNE_61));
        // Batch and one-by-one agree.
        let texts = [base, "", "short note", base];
        let batch = hasher.signatures(&texts);
        for (row, text) in batch.chunks(128).zip(texts) {
            assert_eq!(row, hasher.signature(text).as_slice());
        }
    }

    #[test]
    fn estimates_track_exact_jaccard() {
        let hasher = MinHasher::new(256, 3, 11);
        let base = words_text(21, 300, 400);
        let words: Vec<&str> = base.split(' ').collect();
        for keep in [300, 250, 150, 60] {
            let variant = format!("{} {}", words[..keep].join(" "), words_text(99, 300 - keep, 400));
            let exact =
                crate::dedup::jaccard::jaccard(&shingles::shingle_set(&base, 3), &shingles::shingle_set(&variant, 3));
            let estimate = estimate_jaccard(&hasher.signature(&base), &hasher.signature(&variant));
            // Standard error sqrt(J(1-J)/256) <= 0.031: allow four of them.
            assert!((estimate - exact).abs() < 0.125, "keep {keep}: exact {exact}, estimate {estimate}");
        }
        assert_eq!(estimate_jaccard(&hasher.signature(""), &hasher.signature("")), 0.0);
    }
}
