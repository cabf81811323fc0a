//! The Python extension `medtitan._core`: every pyo3 binding, one file per domain, and the
//! module that registers them. No logic lives here: each function checks its arguments,
//! releases the GIL around the real work, and calls the Rust core.

mod data;
mod dedup;
mod deid;
mod filters;
mod threads;
mod tokenizer;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(dedup::normalized_hash, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::normalized_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::py_shingle_set, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::py_jaccard, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::near_duplicate_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(threads::_panic_in_worker_for_tests, m)?)?;
    m.add_class::<tokenizer::Tokenizer>()?;
    m.add_function(wrap_pyfunction!(tokenizer::read_sentencepiece_model, m)?)?;
    data::register(m)?;
    deid::register(m)?;
    dedup::register(m)?;
    filters::register(m)?;
    Ok(())
}
