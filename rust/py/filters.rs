//! Python bindings of the quality filters: symbol ratio, Gopher repetition scores and the
//! reference n-gram LM. Thin: argument checks, GIL release, thread pools; the logic is in
//! rust/filters/.

use crate::filters::non_alphanumeric_ratio;
use crate::filters::reference_lm::{default_min_counts, LoadError, ReferenceLm, TrainConfig};
use crate::filters::repetition::{self, Scratch, NUM_SCORES, SCORE_NAMES};
use crate::filters::vocabulary::{self, Vocabulary};
use crate::py::data::le_values;
use crate::py::threads::with_threads;
use pyo3::buffer::{Element, PyBuffer};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyBytes;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::path::PathBuf;

/// Share of visible characters that are neither letters nor digits, for each text.
#[pyfunction]
#[pyo3(signature = (texts, num_threads = None))]
fn non_alphanumeric_ratios(py: Python<'_>, texts: Vec<PyBackedStr>, num_threads: Option<usize>) -> PyResult<Vec<f64>> {
    py.detach(|| with_threads(num_threads, || texts.par_iter().map(|t| non_alphanumeric_ratio(t)).collect()))
}

/// Gopher's repetition statistics of each text, as little-endian float64, row-major
/// (len(texts) x 13, columns in the order of REPETITION_SCORE_NAMES): duplicate line and
/// paragraph fractions (by count and by characters), the character share of the most frequent
/// 2-, 3- and 4-gram, and of the words inside repeated 5- to 10-grams. Words are exact
/// whitespace-separated tokens (case and punctuation kept). GIL released; `num_threads` threads.
#[pyfunction]
#[pyo3(signature = (texts, num_threads = None))]
fn repetition_scores<'py>(
    py: Python<'py>,
    texts: Vec<PyBackedStr>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = py.detach(|| {
        with_threads(num_threads, || {
            let rows: Vec<[f64; NUM_SCORES]> = texts
                .par_iter()
                .map_init(Scratch::default, |scratch, t| repetition::repetition_scores(t, scratch))
                .collect();
            rows.iter().flatten().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()
        })
    })?;
    Ok(PyBytes::new(py, &bytes))
}

/// The values of an array of T (numpy, array.array) or of their little-endian bytes; an array of
/// another type is an error, never reinterpreted.
fn values_of<T: Element, const N: usize>(
    object: &Bound<'_, PyAny>,
    what: &str,
    dtype: &str,
    decode: fn([u8; N]) -> T,
) -> PyResult<Vec<T>> {
    if let Ok(typed) = PyBuffer::<T>::get(object) {
        return typed.to_vec(object.py());
    }
    match PyBuffer::<u8>::get(object) {
        Ok(bytes) => le_values(&bytes, what, decode),
        Err(_) => Err(PyValueError::new_err(format!("{what} must be little-endian bytes or an array of {dtype}"))),
    }
}

fn token_ids(ids: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    values_of::<u32, 4>(ids, "ids", "uint32", u32::from_le_bytes)
}

/// Document boundaries from int64 offsets (n + 1 values, rising, within the ids).
fn document_offsets(offsets: &Bound<'_, PyAny>, ids: usize) -> PyResult<Vec<usize>> {
    let values = values_of::<i64, 8>(offsets, "offsets", "int64", i64::from_le_bytes)?;
    let rising = values.windows(2).all(|w| w[0] <= w[1]);
    let inside = values.first().is_none_or(|&v| v >= 0) && values.last().is_none_or(|&v| v as u64 <= ids as u64);
    if !rising || !inside {
        return Err(PyValueError::new_err(format!("offsets must rise within the {ids} ids")));
    }
    Ok(values.into_iter().map(|v| v as usize).collect())
}

/// A token n-gram language model (interpolated modified Kneser-Ney, pruned) of reference text,
/// scoring the perplexity of documents: ReferenceLM.train(...) or ReferenceLM.load(path).
/// Documents are scored with a begin-of-document context and an end-of-document token.
#[pyclass(name = "ReferenceLM", module = "medtitan._core", frozen)]
pub struct PyReferenceLm {
    model: ReferenceLm,
}

#[pymethods]
impl PyReferenceLm {
    /// Train on the documents ids[offsets[i]:offsets[i+1]]: `ids` uint32 below vocab_size,
    /// `offsets` int64 from 0 to len(ids), each as little-endian bytes (as
    /// Tokenizer.encode_batch_flat returns them) or a numpy array of that dtype. `min_counts[k-1]`: order-k n-grams seen fewer times are pruned (default 1, 1,
    /// then 2: singletons of order 3 and up). Deterministic: the same input gives the same model on
    /// any number of threads. GIL released; `num_threads` threads.
    #[staticmethod]
    #[pyo3(signature = (ids, offsets, vocab_size, order = 5, min_counts = None, num_threads = None))]
    fn train(
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        offsets: &Bound<'_, PyAny>,
        vocab_size: u32,
        order: usize,
        min_counts: Option<Vec<u32>>,
        num_threads: Option<usize>,
    ) -> PyResult<Self> {
        let ids = token_ids(ids)?;
        let offsets = document_offsets(offsets, ids.len())?;
        let min_counts = min_counts.unwrap_or_else(|| default_min_counts(order));
        let config = TrainConfig { vocab_size, order, min_counts };
        let model = py.detach(|| with_threads(num_threads, || ReferenceLm::train(&ids, &offsets, &config)))?;
        Ok(PyReferenceLm { model: model.map_err(PyValueError::new_err)? })
    }

    /// Read a model file written by save(). Raises FileNotFoundError when it is missing and
    /// ValueError naming the file and the fault (truncated, bad magic, version, checksum).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let shown = path.display().to_string();
        let model = py.detach(|| ReferenceLm::load(&path)).map_err(|e| match e {
            LoadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
                PyFileNotFoundError::new_err(format!("{shown}: no such reference LM file"))
            }
            LoadError::Io(e) => PyOSError::new_err(format!("{shown}: cannot read: {e}")),
            LoadError::Format(what) => PyValueError::new_err(format!("{shown}: {what}")),
        })?;
        Ok(PyReferenceLm { model })
    }

    /// Write the model to `path` (a temporary file renamed when complete); returns the bytes
    /// written. The same model always gives the same bytes.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<u64> {
        py.detach(|| self.model.save(&path)).map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))
    }

    /// Perplexity exp(-mean ln p) of each document ids[offsets[i]:offsets[i+1]] over its tokens
    /// and the end token, as little-endian float64 (`ids` uint32, `offsets` int64, as for
    /// train). GIL released; `num_threads` threads.
    #[pyo3(signature = (ids, offsets, num_threads = None))]
    fn perplexities<'py>(
        &self,
        py: Python<'py>,
        ids: &Bound<'_, PyAny>,
        offsets: &Bound<'_, PyAny>,
        num_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let ids = token_ids(ids)?;
        let offsets = document_offsets(offsets, ids.len())?;
        let scores = py.detach(|| with_threads(num_threads, || self.model.perplexities(&ids, &offsets)))?;
        let bytes: Vec<u8> = scores.map_err(PyValueError::new_err)?.iter().flat_map(|v| v.to_le_bytes()).collect();
        Ok(PyBytes::new(py, &bytes))
    }

    /// Highest n-gram order.
    #[getter]
    fn order(&self) -> usize {
        self.model.order()
    }

    /// Token ids are below vocab_size (the model adds the end and begin tokens).
    #[getter]
    fn vocab_size(&self) -> u32 {
        self.model.vocab_size()
    }

    /// N-grams stored per order (order 1: distinct tokens seen, the end token included).
    #[getter]
    fn ngram_counts(&self) -> Vec<u64> {
        self.model.ngram_counts().to_vec()
    }

    /// The pruning thresholds it was trained with, per order.
    #[getter]
    fn min_counts(&self) -> Vec<u32> {
        self.model.min_counts().to_vec()
    }

    /// Kneser-Ney discounts (D1, D2, D3+) per order.
    #[getter]
    fn discounts(&self) -> Vec<(f64, f64, f64)> {
        self.model.discounts().iter().map(|d| (d[0], d[1], d[2])).collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "ReferenceLM(order={}, vocab_size={}, ngram_counts={:?})",
            self.model.order(),
            self.model.vocab_size(),
            self.model.ngram_counts()
        )
    }
}

/// How often each word (a lowercased run of two or more ASCII letters) occurs in `texts`: the
/// counts a reference vocabulary is built from. GIL released; `num_threads` threads.
#[pyfunction]
#[pyo3(signature = (texts, num_threads = None))]
fn count_words(py: Python<'_>, texts: Vec<PyBackedStr>, num_threads: Option<usize>) -> PyResult<Vec<(String, u64)>> {
    py.detach(|| {
        with_threads(num_threads, || {
            let merged = texts.par_chunks(256).map(|chunk| vocabulary::count_words(chunk.iter().map(|t| &**t))).reduce(
                FxHashMap::default,
                |mut into, from| {
                    for (word, count) in from {
                        *into.entry(word).or_insert(0) += count;
                    }
                    into
                },
            );
            let mut counts: Vec<(String, u64)> = merged.into_iter().collect();
            counts.sort_unstable();
            counts
        })
    })
}

/// A set of words (the reference LM's training vocabulary): `Vocabulary(words)`, and the share of
/// each text's words not in it (`unknown_fractions`). Words as in `count_words`.
#[pyclass(name = "Vocabulary", module = "medtitan._core", frozen)]
struct PyVocabulary {
    inner: Vocabulary,
}

#[pymethods]
impl PyVocabulary {
    #[new]
    fn new(words: Vec<PyBackedStr>) -> Self {
        Self { inner: Vocabulary::new(words.iter().map(|w| &**w)) }
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The share of each text's words that are not in the vocabulary (0.0 for a text without
    /// words), as little-endian float64. GIL released; `num_threads` threads.
    #[pyo3(signature = (texts, num_threads = None))]
    fn unknown_fractions<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<PyBackedStr>,
        num_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| {
            with_threads(num_threads, || {
                texts
                    .par_iter()
                    .map_init(Vec::new, |scratch, t| self.inner.unknown_fraction(t, scratch))
                    .collect::<Vec<f64>>()
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<u8>>()
            })
        })?;
        Ok(PyBytes::new(py, &bytes))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyReferenceLm>()?;
    m.add_class::<PyVocabulary>()?;
    m.add_function(wrap_pyfunction!(count_words, m)?)?;
    m.add_function(wrap_pyfunction!(non_alphanumeric_ratios, m)?)?;
    m.add_function(wrap_pyfunction!(repetition_scores, m)?)?;
    m.add("REPETITION_SCORE_NAMES", SCORE_NAMES.to_vec())?;
    Ok(())
}
