//! Python bindings of exact-dedup keys, shingle sets, exact Jaccard, MinHash signatures, LSH
//! banding and near-duplicate clusters. Thin: argument checks, GIL release, thread pools; the
//! logic is in rust/dedup/ (shingles.rs, jaccard.rs, minhash.rs, lsh.rs).

use crate::dedup::lsh::{self, ClusterParams};
use crate::dedup::minhash::MinHasher;
use crate::dedup::{jaccard, shingles};
use crate::py::threads::with_threads;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyDict};
use rayon::prelude::*;

/// More permutations than any sensible signature; guards against a mistyped argument
/// allocating n x num_perm x 8 bytes.
const MAX_PERM: usize = 1 << 16;

fn check_num_perm(num_perm: usize) -> PyResult<()> {
    if num_perm == 0 || num_perm > MAX_PERM {
        return Err(PyValueError::new_err(format!("num_perm must be in [1, {MAX_PERM}], got {num_perm}")));
    }
    Ok(())
}

fn check_ngram(ngram: usize) -> PyResult<()> {
    if ngram == 0 {
        return Err(PyValueError::new_err("ngram must be at least 1"));
    }
    Ok(())
}

/// Hash of the text after lowercasing and collapsing whitespace (the exact-dedup key).
#[pyfunction]
pub(super) fn normalized_hash(text: &str) -> u64 {
    shingles::normalized_hash(text)
}

/// normalized_hash of every text, on all cores, with the GIL released.
#[pyfunction]
pub(super) fn normalized_hashes(py: Python<'_>, texts: Vec<String>) -> Vec<u64> {
    py.detach(|| texts.par_iter().map(|t| shingles::normalized_hash(t)).collect())
}

/// Sorted, deduplicated 64-bit hashes of the word n-gram shingles of `text`.
#[pyfunction]
#[pyo3(name = "shingle_set", signature = (text, ngram = 5))]
pub(super) fn py_shingle_set(text: &str, ngram: usize) -> PyResult<Vec<u64>> {
    check_ngram(ngram)?;
    Ok(shingles::shingle_set(text, ngram))
}

/// Exact Jaccard similarity of the word n-gram shingle sets of two texts.
#[pyfunction]
#[pyo3(name = "jaccard", signature = (a, b, ngram = 5))]
pub(super) fn py_jaccard(a: &str, b: &str, ngram: usize) -> PyResult<f64> {
    check_ngram(ngram)?;
    Ok(jaccard::jaccard(&shingles::shingle_set(a, ngram), &shingles::shingle_set(b, ngram)))
}

/// Every pair (i, j, similarity), i < j, of texts whose exact shingle Jaccard is >= threshold.
#[pyfunction]
#[pyo3(signature = (texts, ngram = 5, threshold = 0.8))]
pub(super) fn near_duplicate_pairs(
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

/// MinHash signatures of `texts` over word `ngram` shingles: little-endian uint64, row-major
/// (len(texts) x num_perm). Empty texts get all 2^64 - 1. GIL released; `num_threads`
/// threads (default: all cores).
#[pyfunction]
#[pyo3(signature = (texts, num_perm = 128, ngram = 5, seed = 1, num_threads = None))]
fn minhash_signatures<'py>(
    py: Python<'py>,
    texts: Vec<PyBackedStr>,
    num_perm: usize,
    ngram: usize,
    seed: u64,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    check_num_perm(num_perm)?;
    check_ngram(ngram)?;
    let bytes = py.detach(|| {
        let hasher = MinHasher::new(num_perm, ngram, seed);
        let views: Vec<&str> = texts.iter().map(|t| &**t).collect();
        with_threads(num_threads, || hasher.signatures(&views)).map(|signatures| {
            let mut bytes = Vec::with_capacity(signatures.len() * 8);
            for value in signatures {
                bytes.extend_from_slice(&value.to_le_bytes());
            }
            bytes
        })
    })?;
    Ok(PyBytes::new(py, &bytes))
}

/// (bands, rows): the largest rows such that num_perm // rows bands find a pair of Jaccard
/// `threshold` with probability >= min_probability.
#[pyfunction]
#[pyo3(signature = (num_perm = 128, threshold = 0.8, min_probability = 0.99))]
fn choose_lsh_bands(num_perm: usize, threshold: f64, min_probability: f64) -> PyResult<(usize, usize)> {
    lsh::choose_bands(num_perm, threshold, min_probability).map_err(PyValueError::new_err)
}

/// The uint64 values of little-endian signature rows (as minhash_signatures returns them),
/// after checking the banding fits and the bytes are whole rows of `num_perm` values.
fn banded_signatures(signatures: &[u8], num_perm: usize, bands: usize, rows: usize) -> PyResult<Vec<u64>> {
    check_num_perm(num_perm)?;
    lsh::check_banding(num_perm, bands, rows).map_err(PyValueError::new_err)?;
    if !signatures.len().is_multiple_of(num_perm * 8) {
        return Err(PyValueError::new_err(format!(
            "signatures hold {} bytes, not a whole number of rows of {num_perm} uint64 values",
            signatures.len()
        )));
    }
    if signatures.len() / (num_perm * 8) > u32::MAX as usize {
        return Err(PyValueError::new_err("at most 2^32 - 1 signatures per call"));
    }
    Ok(signatures.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect())
}

/// For each of `n` items, the smallest item of its connected component under `pairs` (the
/// union-find of rust/dedup/lsh.rs), for joins whose edges were found elsewhere (the build's keyed dedup).
#[pyfunction]
fn connected_components(py: Python<'_>, n: usize, pairs: Vec<(u32, u32)>) -> PyResult<Vec<u32>> {
    if n > u32::MAX as usize {
        return Err(PyValueError::new_err("at most 2^32 - 1 items"));
    }
    if let Some(&(i, j)) = pairs.iter().find(|&&(i, j)| i as usize >= n || j as usize >= n) {
        return Err(PyValueError::new_err(format!("pair ({i}, {j}) outside 0..{n}")));
    }
    Ok(py.detach(|| lsh::clusters_from_pairs(n, &pairs)))
}

/// Candidate pairs (i, j), i < j, sorted, of the rows of `signatures` (as minhash_signatures
/// returns them) that share a band bucket. GIL released.
#[pyfunction]
#[pyo3(signature = (signatures, num_perm, bands, rows))]
fn lsh_candidate_pairs(
    py: Python<'_>,
    signatures: &[u8],
    num_perm: usize,
    bands: usize,
    rows: usize,
) -> PyResult<Vec<(u32, u32)>> {
    let values = banded_signatures(signatures, num_perm, bands, rows)?;
    Ok(py.detach(|| lsh::candidate_pairs(&values, num_perm, bands, rows)))
}

/// Near-duplicate clusters of `texts`: MinHash LSH candidates confirmed by exact Jaccard >=
/// threshold, joined by union-find. Returns (representatives, stats): for each text the index
/// of the smallest text of its cluster (itself when unique), and a dict with documents,
/// candidate_pairs, confirmed_pairs, clusters (of 2+ texts), duplicates, bands, rows.
#[pyfunction]
#[pyo3(signature = (texts, num_perm = 128, ngram = 5, threshold = 0.8, min_probability = 0.99, seed = 1, num_threads = None))]
#[allow(clippy::too_many_arguments)]
fn near_duplicate_clusters<'py>(
    py: Python<'py>,
    texts: Vec<PyBackedStr>,
    num_perm: usize,
    ngram: usize,
    threshold: f64,
    min_probability: f64,
    seed: u64,
    num_threads: Option<usize>,
) -> PyResult<(Vec<u32>, Bound<'py, PyDict>)> {
    check_num_perm(num_perm)?;
    check_ngram(ngram)?;
    let (bands, rows) = lsh::choose_bands(num_perm, threshold, min_probability).map_err(PyValueError::new_err)?;
    let params = ClusterParams { num_perm, ngram, threshold, bands, rows, seed };
    let found = py
        .detach(|| {
            let views: Vec<&str> = texts.iter().map(|t| &**t).collect();
            with_threads(num_threads, || lsh::near_duplicate_clusters(&views, &params))
        })?
        .map_err(PyValueError::new_err)?;
    let stats = PyDict::new(py);
    stats.set_item("documents", found.stats.documents)?;
    stats.set_item("candidate_pairs", found.stats.candidate_pairs)?;
    stats.set_item("confirmed_pairs", found.stats.confirmed_pairs)?;
    stats.set_item("clusters", found.stats.clusters)?;
    stats.set_item("duplicates", found.stats.duplicates)?;
    stats.set_item("bands", bands)?;
    stats.set_item("rows", rows)?;
    Ok((found.representatives, stats))
}

/// Band keys of MinHash signatures, for distributed LSH (the keyed shuffle of the build):
/// returns (keys, present): keys are little-endian uint64, row-major (n x bands), and
/// present[i] is 0 for a document without shingles (its keys are zero and must be ignored).
/// The same keys [`lsh::candidate_pairs`] buckets by. GIL released.
#[pyfunction]
#[pyo3(signature = (signatures, num_perm, bands, rows))]
fn lsh_band_keys<'py>(
    py: Python<'py>,
    signatures: &[u8],
    num_perm: usize,
    bands: usize,
    rows: usize,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let values = banded_signatures(signatures, num_perm, bands, rows)?;
    let (keys, present) = py.detach(|| {
        let mut keys = Vec::with_capacity(values.len() / num_perm * bands * 8);
        let mut present = Vec::with_capacity(values.len() / num_perm);
        for signature in values.chunks_exact(num_perm) {
            let doc_keys = lsh::band_keys(signature, bands, rows);
            present.push(u8::from(!doc_keys.is_empty()));
            for band in 0..bands {
                keys.extend_from_slice(&doc_keys.get(band).copied().unwrap_or(0).to_le_bytes());
            }
        }
        (keys, present)
    });
    Ok((PyBytes::new(py, &keys), PyBytes::new(py, &present)))
}

/// Exact shingle Jaccard of pairs (left[left_index[k]], right[right_index[k]]), as
/// little-endian float64; each text's shingle set is built once. Confirms LSH candidates whose
/// documents live in different partitions. GIL released; `num_threads` threads.
#[pyfunction]
#[pyo3(signature = (left, right, left_index, right_index, ngram = 5, num_threads = None))]
fn jaccard_pairs<'py>(
    py: Python<'py>,
    left: Vec<PyBackedStr>,
    right: Vec<PyBackedStr>,
    left_index: Vec<usize>,
    right_index: Vec<usize>,
    ngram: usize,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    use crate::dedup::jaccard::jaccard;
    use crate::dedup::shingles::shingle_set;

    check_ngram(ngram)?;
    if left_index.len() != right_index.len() {
        return Err(PyValueError::new_err("left_index and right_index must have the same length"));
    }
    if let Some(&bad) = left_index.iter().find(|&&i| i >= left.len()) {
        return Err(PyValueError::new_err(format!("left_index {bad} outside the {} left texts", left.len())));
    }
    if let Some(&bad) = right_index.iter().find(|&&i| i >= right.len()) {
        return Err(PyValueError::new_err(format!("right_index {bad} outside the {} right texts", right.len())));
    }
    let scores = py.detach(|| {
        with_threads(num_threads, || {
            // Shingle sets of the texts that some pair names, and only those.
            let sets_of = |texts: &[PyBackedStr], wanted: &[usize]| -> Vec<Vec<u64>> {
                let mut needed = vec![false; texts.len()];
                for &i in wanted {
                    needed[i] = true;
                }
                texts
                    .par_iter()
                    .zip(needed.par_iter())
                    .map(|(text, &need)| if need { shingle_set(text, ngram) } else { Vec::new() })
                    .collect()
            };
            let (left_sets, right_sets) = (sets_of(&left, &left_index), sets_of(&right, &right_index));
            left_index
                .par_iter()
                .zip(right_index.par_iter())
                .map(|(&i, &j)| jaccard(&left_sets[i], &right_sets[j]))
                .collect::<Vec<f64>>()
        })
    })?;
    let bytes: Vec<u8> = scores.iter().flat_map(|v| v.to_le_bytes()).collect();
    Ok(PyBytes::new(py, &bytes))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(lsh_band_keys, m)?)?;
    m.add_function(wrap_pyfunction!(connected_components, m)?)?;
    m.add_function(wrap_pyfunction!(jaccard_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(minhash_signatures, m)?)?;
    m.add_function(wrap_pyfunction!(choose_lsh_bands, m)?)?;
    m.add_function(wrap_pyfunction!(lsh_candidate_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(near_duplicate_clusters, m)?)?;
    Ok(())
}
