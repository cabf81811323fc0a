//! Python bindings of the de-identifier: the rule engine (`medtitan._core.deidentify`, ...), the
//! combined engine (`DeidEngine`: rules + lexicon + learned tagger) and the tagger's training.
//! Thin: argument checks, GIL release, thread pools, character <-> byte offsets; the logic is in
//! rust/deid/.

use crate::deid::engine::{Engine, Replacement};
use crate::deid::features::{count_words, Vocabulary, WordCounts};
use crate::deid::lexicon::{hex, Lexicon};
use crate::deid::model::{self, Model, TrainConfig, TrainExample};
use crate::deid::surrogate::SurrogatePools;
use crate::deid::{self, PhiType, Span};
use crate::py::threads::with_threads;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyBytes, PyDict};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// (scrubbed text, [(start, end, type)]) with character offsets into the original text.
type PyDeidentified = (String, Vec<(usize, usize, &'static str)>);

type PySpans = Vec<(usize, usize, &'static str)>;

fn py_spans(text: &str, spans: &[Span]) -> PySpans {
    deid::char_spans(text, spans).into_iter().map(|(start, end, kind)| (start, end, kind.as_str())).collect()
}

fn run_one(text: &str, surrogate_seed: Option<u64>) -> PyDeidentified {
    let spans = deid::detect(text);
    let scrubbed = match surrogate_seed {
        None => deid::redact(text, &spans),
        Some(seed) => deid::surrogate::apply(text, &spans, seed, &BUILTIN_POOLS),
    };
    (scrubbed, py_spans(text, &spans))
}

/// The rule engine's surrogates come from small built-in pools (it has no lexicons).
static BUILTIN_POOLS: std::sync::LazyLock<SurrogatePools> = std::sync::LazyLock::new(SurrogatePools::builtin);

fn replacement(surrogate_seed: Option<u64>) -> Replacement {
    surrogate_seed.map_or(Replacement::Placeholder, |seed| Replacement::Surrogate { seed })
}

/// Scrub PHI from `text`: returns (scrubbed text, [(start, end, type)]), the spans in character
/// offsets of the original text, sorted and non-overlapping.
#[pyfunction]
#[pyo3(signature = (text, surrogate_seed = None))]
fn deidentify(py: Python<'_>, text: PyBackedStr, surrogate_seed: Option<u64>) -> PyDeidentified {
    py.detach(|| run_one(&text, surrogate_seed))
}

/// `deidentify` of every text, on `num_threads` threads (default: all cores), without the GIL.
/// `surrogate_seed`: realistic surrogates seeded by it instead of placeholders.
#[pyfunction]
#[pyo3(signature = (texts, num_threads = None, surrogate_seed = None))]
fn deidentify_batch(
    py: Python<'_>,
    texts: Vec<PyBackedStr>,
    num_threads: Option<usize>,
    surrogate_seed: Option<u64>,
) -> PyResult<Vec<PyDeidentified>> {
    py.detach(|| {
        with_threads(num_threads, || texts.par_iter().with_min_len(4).map(|t| run_one(t, surrogate_seed)).collect())
    })
}

/// Spans of the reference engine (every rule run on its own, then resolved), in character
/// offsets: what tests compare the one-pass engine against.
#[pyfunction]
fn _deid_spans_rule_by_rule(py: Python<'_>, text: PyBackedStr) -> Vec<(usize, usize, &'static str)> {
    py.detach(|| py_spans(&text, &deid::detect_rule_by_rule(&text)))
}

/// The placeholder types, e.g. "NAME" for "[NAME]".
#[pyfunction]
fn deid_types() -> Vec<&'static str> {
    PhiType::ALL.iter().map(|t| t.as_str()).collect()
}

// --- the combined engine and the tagger ----------------------------------------------------------

type PyLexicons = BTreeMap<String, Vec<String>>;

/// (text, [(start, end, label or None)], index of the source text in the corpus).
type PyTrainExample = (String, Vec<(usize, usize, Option<String>)>, usize);

fn lexicon_from(lexicons: &PyLexicons) -> PyResult<Lexicon> {
    Lexicon::new(lexicons).map_err(PyValueError::new_err)
}

/// Rules + lexicons + the learned name/place tagger (rust/deid/engine.rs).
#[pyclass(module = "medtitan._core", frozen)]
pub struct DeidEngine {
    engine: Engine,
}

#[pymethods]
impl DeidEngine {
    /// `model`: the tagger file's bytes, or None for rules + lexicon only; `lexicons`:
    /// {category: entries} (see medtitan.deid.lexicons); a model trained with other lexicons is
    /// refused. `use_rules=False` leaves the rules out (to measure the tagger alone).
    #[new]
    #[pyo3(signature = (model, lexicons, use_rules = true))]
    fn new(py: Python<'_>, model: Option<PyBackedBytes>, lexicons: PyLexicons, use_rules: bool) -> PyResult<Self> {
        let engine = py.detach(|| -> Result<Engine, String> {
            let lexicon = Lexicon::new(&lexicons)?;
            let model = model.map(|bytes| Model::from_bytes(&bytes)).transpose()?;
            Ok(Engine::new(lexicon, model, use_rules)?.with_surrogate_pools(SurrogatePools::from_lexicons(&lexicons)))
        });
        Ok(DeidEngine { engine: engine.map_err(PyValueError::new_err)? })
    }

    /// sha256 of the tagger file (None without a tagger).
    #[getter]
    fn sha256(&self) -> Option<String> {
        self.engine.model().map(Model::sha256_hex)
    }

    /// sha256 of the lexicons' canonical content.
    #[getter]
    fn lexicon_fingerprint(&self) -> String {
        self.engine.lexicon().fingerprint_hex()
    }

    /// Like `_core.deidentify_batch`: [(scrubbed text, [(start, end, type)])], character offsets of
    /// the original texts, on `num_threads` threads (default: all cores), without the GIL.
    /// `surrogate_seed`: surrogates from the lexicons seeded by it instead of placeholders.
    #[pyo3(signature = (texts, num_threads = None, surrogate_seed = None))]
    fn deidentify_batch(
        &self,
        py: Python<'_>,
        texts: Vec<PyBackedStr>,
        num_threads: Option<usize>,
        surrogate_seed: Option<u64>,
    ) -> PyResult<Vec<PyDeidentified>> {
        let replacement = replacement(surrogate_seed);
        py.detach(|| {
            with_threads(num_threads, || {
                texts
                    .par_iter()
                    .with_min_len(4)
                    .map(|t| {
                        let out = self.engine.deidentify(t, replacement);
                        let spans = py_spans(t, &out.spans);
                        (out.text, spans)
                    })
                    .collect()
            })
        })
    }

    /// The spans alone: [[(start, end, type)]] in character offsets.
    #[pyo3(signature = (texts, num_threads = None))]
    fn detect_batch(
        &self,
        py: Python<'_>,
        texts: Vec<PyBackedStr>,
        num_threads: Option<usize>,
    ) -> PyResult<Vec<PySpans>> {
        py.detach(|| {
            with_threads(num_threads, || {
                texts.par_iter().with_min_len(4).map(|t| py_spans(t, &self.engine.detect(t))).collect()
            })
        })
    }
}

/// sha256 (hex) of the lexicons' canonical content: what a tagger records and is checked against.
#[pyfunction]
fn deid_lexicon_fingerprint(py: Python<'_>, lexicons: PyLexicons) -> PyResult<String> {
    py.detach(|| lexicon_from(&lexicons).map(|l| l.fingerprint_hex()))
}

/// Adds `b` into `a` (integer sums: the result does not depend on the order).
fn add_counts(mut a: WordCounts, b: &WordCounts) -> WordCounts {
    for (word, (n, lower)) in b {
        let entry = a.entry(word.clone()).or_insert((0, 0));
        entry.0 += n;
        entry.1 += lower;
    }
    a
}

fn corpus_counts<'t>(texts: impl IntoParallelIterator<Item = &'t PyBackedStr>) -> WordCounts {
    texts
        .into_par_iter()
        .fold(WordCounts::default, |mut counts, t| {
            count_words(t, &mut counts);
            counts
        })
        .reduce(WordCounts::default, |a, b| add_counts(a, &b))
}

/// The corpus stop words of `texts`: words written in lowercase often enough that a name or place
/// list entry equal to them is more likely the ordinary word (sorted, normalized lowercase).
#[pyfunction]
#[pyo3(signature = (texts, num_threads = None))]
fn deid_corpus_stop_words(
    py: Python<'_>,
    texts: Vec<PyBackedStr>,
    num_threads: Option<usize>,
) -> PyResult<Vec<String>> {
    py.detach(|| with_threads(num_threads, || Vocabulary::stop_words(&corpus_counts(&texts[..]))))
}

fn kind_of(label: &str) -> Option<PhiType> {
    PhiType::ALL.iter().copied().find(|t| t.as_str() == label)
}

/// Character offsets of `text` -> byte offsets (index `len` maps to the text's byte length).
fn byte_offsets(text: &str) -> Option<Vec<usize>> {
    (!text.is_ascii()).then(|| text.char_indices().map(|(b, _)| b).chain([text.len()]).collect())
}

/// Trains the name/place tagger; returns the model file's bytes.
///
/// `examples`: [(text, [(start, end, label)], source)], character offsets, label "NAME",
/// "HOSPITAL", "LOCATION" or None (tokens of unknown label: no update), `source` the index in
/// `corpus` of the real text the example was made from. `corpus`: the real texts whose word
/// statistics the model keeps. `corpus_folds` (one fold number per corpus text; keep duplicate
/// families together) cross-fits those statistics: an example's words are looked up in the
/// statistics of the other folds; None: no cross-fitting. `progress(done)` is called (with the
/// GIL) with the documents visited so far (all runs and epochs counted); an exception it raises
/// stops the training. `runs` independent runs are averaged (see `TrainConfig::runs`).
#[pyfunction]
#[pyo3(signature = (examples, corpus, lexicons, seed = 0, epochs = 8, log2_buckets = 18, corpus_folds = None,
                    progress = None, num_threads = None, runs = 1))]
#[allow(clippy::too_many_arguments)]
fn train_deid_tagger<'py>(
    py: Python<'py>,
    examples: Vec<PyTrainExample>,
    corpus: Vec<PyBackedStr>,
    lexicons: PyLexicons,
    seed: u64,
    epochs: usize,
    log2_buckets: u32,
    corpus_folds: Option<Vec<usize>>,
    progress: Option<Py<PyAny>>,
    num_threads: Option<usize>,
    runs: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let corpus_folds = corpus_folds.unwrap_or_else(|| vec![0; corpus.len()]);
    if corpus_folds.len() != corpus.len() {
        return Err(PyValueError::new_err(format!(
            "corpus_folds has {} entries for {} corpus texts",
            corpus_folds.len(),
            corpus.len()
        )));
    }
    let folds = corpus_folds.iter().max().map_or(1, |m| m + 1);
    if folds > 64 {
        return Err(PyValueError::new_err(format!("at most 64 folds, got {folds}")));
    }
    let mut converted = Vec::with_capacity(examples.len());
    for (i, (text, spans, source)) in examples.into_iter().enumerate() {
        if source >= corpus.len() {
            return Err(PyValueError::new_err(format!(
                "example {i}: source {source} is not a corpus index (corpus of {})",
                corpus.len()
            )));
        }
        let offsets = byte_offsets(&text);
        let chars = offsets.as_ref().map_or(text.len(), |o| o.len() - 1);
        let mut out = Vec::with_capacity(spans.len());
        for (start, end, label) in spans {
            if start > end || end > chars {
                return Err(PyValueError::new_err(format!(
                    "example {i}: span ({start}, {end}) is outside the text ({chars} characters)"
                )));
            }
            let kind = match label.as_deref() {
                None => None,
                Some(l) => Some(kind_of(l).filter(|k| model::begin_label(*k).is_some()).ok_or_else(|| {
                    PyValueError::new_err(format!("example {i}: label {l:?} is not NAME, HOSPITAL, LOCATION or None"))
                })?),
            };
            let at = |c: usize| offsets.as_ref().map_or(c, |o| o[c]);
            out.push((at(start), at(end), kind));
        }
        converted.push(TrainExample { text, spans: out, fold: corpus_folds[source] });
    }
    let failure: Mutex<Option<PyErr>> = Mutex::new(None);
    let bytes = py.detach(|| -> Result<Vec<u8>, String> {
        let lexicon = Lexicon::new(&lexicons)?;
        let per_fold: Vec<WordCounts> = with_threads(num_threads, || {
            (0..folds)
                .map(|k| corpus_counts(corpus.par_iter().zip(&corpus_folds).filter(|(_, f)| **f == k).map(|(t, _)| t)))
                .collect()
        })
        .map_err(|e| e.to_string())?;
        let all = per_fold.iter().fold(WordCounts::default(), add_counts);
        let fold_vocabs: Vec<Vocabulary> = if folds == 1 {
            vec![Vocabulary::from_counts(&all)]
        } else {
            (0..folds)
                .map(|k| {
                    let others = per_fold
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != k)
                        .fold(WordCounts::default(), |a, (_, c)| add_counts(a, c));
                    Vocabulary::from_counts(&others)
                })
                .collect()
        };
        let config = TrainConfig { seed, epochs, log2_buckets, runs };
        let mut report = |done: usize| -> bool {
            let Some(callback) = &progress else { return true };
            Python::attach(|py| match callback.call1(py, (done,)) {
                Ok(_) => true,
                Err(error) => {
                    *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
                    false
                }
            })
        };
        model::train(&converted, &fold_vocabs, Vocabulary::from_counts(&all), &lexicon, &config, &mut report)
            .map(|m| m.to_bytes())
    });
    if let Some(error) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(error);
    }
    let bytes = bytes.map_err(PyValueError::new_err)?;
    Ok(PyBytes::new(py, &bytes))
}

/// Header facts of a tagger file: sha256, lexicon_fingerprint, log2_buckets, vocabulary,
/// labels, format and feature versions. Raises ValueError for a file that is not a valid model.
#[pyfunction]
fn deid_model_info<'py>(py: Python<'py>, model: PyBackedBytes) -> PyResult<Bound<'py, PyDict>> {
    let parsed = py.detach(|| Model::from_bytes(&model)).map_err(PyValueError::new_err)?;
    let info = PyDict::new(py);
    info.set_item("sha256", parsed.sha256_hex())?;
    info.set_item("lexicon_fingerprint", hex(&parsed.lexicon_fingerprint()))?;
    info.set_item("log2_buckets", parsed.log2_buckets())?;
    info.set_item("vocabulary", parsed.vocabulary().len())?;
    info.set_item("labels", model::LABELS.to_vec())?;
    info.set_item("format_version", model::FORMAT_VERSION)?;
    info.set_item("feature_version", crate::deid::features::FEATURE_VERSION)?;
    Ok(info)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DeidEngine>()?;
    m.add_function(wrap_pyfunction!(deid_lexicon_fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(deid_corpus_stop_words, m)?)?;
    m.add_function(wrap_pyfunction!(train_deid_tagger, m)?)?;
    m.add_function(wrap_pyfunction!(deid_model_info, m)?)?;
    m.add_function(wrap_pyfunction!(deidentify, m)?)?;
    m.add_function(wrap_pyfunction!(deidentify_batch, m)?)?;
    m.add_function(wrap_pyfunction!(deid_types, m)?)?;
    m.add_function(wrap_pyfunction!(_deid_spans_rule_by_rule, m)?)?;
    Ok(())
}
