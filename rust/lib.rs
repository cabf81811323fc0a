//! medtitan._core: thin Python bindings over the Rust core. No logic lives here: each function
//! checks its arguments, releases the GIL around the real work, and calls one module.

pub mod bpe;
mod data_py;
mod dedup_py;
pub mod deid;
mod deid_py;
pub mod filters;
pub mod jaccard;
pub mod lsh;
pub mod minhash;
pub mod ngrams;
pub mod normalizer;
pub mod pack;
mod py_threads;
pub mod shards;
pub mod shingles;
pub mod shuffle;
pub mod sp_model;
mod tokenizer_py;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

fn check_ngram(ngram: usize) -> PyResult<()> {
    if ngram == 0 {
        return Err(PyValueError::new_err("ngram must be at least 1"));
    }
    Ok(())
}

/// Hash of the text after lowercasing and collapsing whitespace (the exact-dedup key).
#[pyfunction]
fn normalized_hash(text: &str) -> u64 {
    shingles::normalized_hash(text)
}

/// normalized_hash of every text, on all cores, with the GIL released.
#[pyfunction]
fn normalized_hashes(py: Python<'_>, texts: Vec<String>) -> Vec<u64> {
    py.detach(|| texts.par_iter().map(|t| shingles::normalized_hash(t)).collect())
}

/// Sorted, deduplicated 64-bit hashes of the word n-gram shingles of `text`.
#[pyfunction]
#[pyo3(name = "shingle_set", signature = (text, ngram = 5))]
fn py_shingle_set(text: &str, ngram: usize) -> PyResult<Vec<u64>> {
    check_ngram(ngram)?;
    Ok(shingles::shingle_set(text, ngram))
}

/// Exact Jaccard similarity of the word n-gram shingle sets of two texts.
#[pyfunction]
#[pyo3(name = "jaccard", signature = (a, b, ngram = 5))]
fn py_jaccard(a: &str, b: &str, ngram: usize) -> PyResult<f64> {
    check_ngram(ngram)?;
    Ok(jaccard::jaccard(&shingles::shingle_set(a, ngram), &shingles::shingle_set(b, ngram)))
}

/// Every pair (i, j, similarity), i < j, of texts whose exact shingle Jaccard is >= threshold.
#[pyfunction]
#[pyo3(signature = (texts, ngram = 5, threshold = 0.8))]
fn near_duplicate_pairs(
    py: Python<'_>,
    texts: Vec<String>,
    ngram: usize,
    threshold: f64,
) -> PyResult<Vec<(usize, usize, f64)>> {
    check_ngram(ngram)?;
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(PyValueError::new_err(format!("threshold must be in (0, 1], got {threshold}")));
    }
    Ok(py.detach(|| {
        let sets: Vec<Vec<u64>> = texts.par_iter().map(|t| shingles::shingle_set(t, ngram)).collect();
        jaccard::pairs_at_or_above(&sets, threshold)
    }))
}

/// Panics on purpose, inside a rayon worker, so a test can prove a panic anywhere in the core
/// reaches Python as an exception instead of aborting the interpreter.
#[pyfunction]
fn _panic_in_worker_for_tests(py: Python<'_>, message: String) {
    py.detach(|| {
        (0..4).into_par_iter().for_each(|i| {
            if i == 3 {
                panic!("{message}");
            }
        })
    })
}

#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(normalized_hash, m)?)?;
    m.add_function(wrap_pyfunction!(normalized_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(py_shingle_set, m)?)?;
    m.add_function(wrap_pyfunction!(py_jaccard, m)?)?;
    m.add_function(wrap_pyfunction!(near_duplicate_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_in_worker_for_tests, m)?)?;
    m.add_class::<tokenizer_py::Tokenizer>()?;
    m.add_function(wrap_pyfunction!(tokenizer_py::read_sentencepiece_model, m)?)?;
    data_py::register(m)?;
    deid_py::register(m)?;
    dedup_py::register(m)?;
    Ok(())
}
