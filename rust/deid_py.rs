//! Python bindings of the rule-based de-identifier (`medtitan._core.deidentify`, ...).
//! Thin: argument checks, GIL release, thread pools, byte -> character offsets; the logic is in
//! deid.rs.

use crate::deid::{self, PhiType};
use crate::py_threads::with_threads;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use rayon::prelude::*;

/// (scrubbed text, [(start, end, type)]) with character offsets into the original text.
type PyDeidentified = (String, Vec<(usize, usize, &'static str)>);

fn run_one(text: &str) -> PyDeidentified {
    let out = deid::deidentify(text);
    let spans = deid::char_spans(text, &out.spans)
        .into_iter()
        .map(|(start, end, kind)| (start, end, kind.as_str()))
        .collect();
    (out.text, spans)
}

/// Scrub PHI from `text`: returns (scrubbed text, [(start, end, type)]), the spans in character
/// offsets of the original text, sorted and non-overlapping.
#[pyfunction]
fn deidentify(py: Python<'_>, text: PyBackedStr) -> PyDeidentified {
    py.detach(|| run_one(&text))
}

/// `deidentify` of every text, on `num_threads` threads (default: all cores), without the GIL.
#[pyfunction]
#[pyo3(signature = (texts, num_threads = None))]
fn deidentify_batch(py: Python<'_>, texts: Vec<PyBackedStr>, num_threads: Option<usize>) -> PyResult<Vec<PyDeidentified>> {
    py.detach(|| with_threads(num_threads, || texts.par_iter().with_min_len(4).map(|t| run_one(t)).collect()))
}

/// Spans of the reference engine (every rule run on its own, then resolved), in character
/// offsets: what tests compare the one-pass engine against.
#[pyfunction]
fn _deid_spans_rule_by_rule(py: Python<'_>, text: PyBackedStr) -> Vec<(usize, usize, &'static str)> {
    py.detach(|| {
        let spans = deid::detect_rule_by_rule(&text);
        deid::char_spans(&text, &spans).into_iter().map(|(s, e, k)| (s, e, k.as_str())).collect()
    })
}

/// The placeholder types, e.g. "NAME" for "[NAME]".
#[pyfunction]
fn deid_types() -> Vec<&'static str> {
    PhiType::ALL.iter().map(|t| t.as_str()).collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(deidentify, m)?)?;
    m.add_function(wrap_pyfunction!(deidentify_batch, m)?)?;
    m.add_function(wrap_pyfunction!(deid_types, m)?)?;
    m.add_function(wrap_pyfunction!(_deid_spans_rule_by_rule, m)?)?;
    Ok(())
}
