//! Quality filters: per-document scores that the build's filter stage compares with thresholds.
//!
//! * `symbols.rs`: [`non_alphanumeric_ratio`], the share of visible characters that are neither
//!   letters nor digits (tables of symbols, base64 blobs, markup).
//! * `repetition.rs`: Gopher's repetition statistics (duplicate lines and paragraphs, most
//!   frequent word n-grams, words inside repeated n-grams), 13 scores per document.
//! * `reference_lm.rs`: a token n-gram language model with interpolated modified Kneser-Ney
//!   smoothing, trained on reference text, saved to a versioned binary file, and scoring the
//!   perplexity of documents (text unlike the reference scores high).
//! * `vocabulary.rs`: the reference vocabulary and the share of a document's words outside it
//!   (OCR-style noise makes non-words).
//!
//! Each score is a pure function of one document (and, for the reference LM, of the model), so
//! the build can compute them partition by partition on any number of threads.

pub mod reference_lm;
pub mod repetition;
mod symbols;
pub mod vocabulary;

pub use symbols::non_alphanumeric_ratio;
