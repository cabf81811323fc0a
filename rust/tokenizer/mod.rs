//! Tokenization: a SentencePiece-exact BPE encoder and decoder (`bpe`), the `.model` reader
//! (`sp_model`) and sentencepiece's normalizer (`normalizer`).

pub mod bpe;
pub mod normalizer;
pub mod sp_model;
