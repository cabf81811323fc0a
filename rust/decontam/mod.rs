//! Decontamination: the word n-gram index of benchmark samples that training documents are
//! scanned against (`ngrams`).

pub mod ngrams;
