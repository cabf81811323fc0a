//! Python bindings of the build's Rust stages: decontamination index, packing, seeded
//! permutations and shard writing (the quality filters are in filters.rs). Thin: checks, GIL
//! release, rayon.

use crate::decontam::ngrams::ContaminationIndex as Index;
use crate::py::threads::with_threads;
use crate::shards::mmidx::{write_shard, TokenType};
use crate::shards::pack::Packer;
use crate::shards::shuffle::permutation as seeded_permutation;
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyDict};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;

/// Read a contiguous buffer of little-endian values (bytes, memoryview, numpy array).
pub(super) fn le_values<T: Copy, const N: usize>(
    buffer: &PyBuffer<u8>,
    what: &str,
    decode: fn([u8; N]) -> T,
) -> PyResult<Vec<T>> {
    if !buffer.is_c_contiguous() {
        return Err(PyValueError::new_err(format!("{what} must be a contiguous buffer")));
    }
    // SAFETY: contiguous, kept alive by `buffer` for this call, only read.
    let bytes = unsafe { std::slice::from_raw_parts(buffer.buf_ptr() as *const u8, buffer.len_bytes()) };
    if bytes.len() % N != 0 {
        return Err(PyValueError::new_err(format!("{what} holds {} bytes, not a multiple of {N}", bytes.len())));
    }
    Ok(bytes.chunks_exact(N).map(|c| decode(c.try_into().unwrap())).collect())
}

/// Evaluation samples indexed by word n-gram, to find training documents that contain them.
#[pyclass(module = "medtitan._core", frozen)]
pub struct ContaminationIndex {
    index: Index,
    samples: usize,
}

#[pymethods]
impl ContaminationIndex {
    #[new]
    #[pyo3(signature = (samples, ngram = 13, min_words = 5))]
    fn new(py: Python<'_>, samples: Vec<PyBackedStr>, ngram: usize, min_words: usize) -> PyResult<Self> {
        if ngram == 0 {
            return Err(PyValueError::new_err("ngram must be at least 1"));
        }
        let count = samples.len();
        let index = py.detach(|| {
            let views: Vec<&str> = samples.iter().map(|s| &**s).collect();
            Index::new(&views, ngram, min_words)
        });
        Ok(ContaminationIndex { index, samples: count })
    }

    #[getter]
    fn ngram(&self) -> usize {
        self.index.ngram()
    }

    #[getter]
    fn samples(&self) -> usize {
        self.samples
    }

    /// Indices of samples too short to test (fewer than min_words words).
    #[getter]
    fn skipped(&self) -> Vec<u32> {
        self.index.skipped().to_vec()
    }

    /// For each text, the samples of which it holds more than `threshold` of the n-grams:
    /// a list of (sample index, overlap fraction).
    #[pyo3(signature = (texts, threshold = 0.7, num_threads = None))]
    fn scan_batch(
        &self,
        py: Python<'_>,
        texts: Vec<PyBackedStr>,
        threshold: f64,
        num_threads: Option<usize>,
    ) -> PyResult<Vec<Vec<(u32, f64)>>> {
        if !(0.0..1.0).contains(&threshold) {
            return Err(PyValueError::new_err(format!("threshold must be in [0, 1), got {threshold}")));
        }
        py.detach(|| with_threads(num_threads, || texts.par_iter().map(|t| self.index.scan(t, threshold)).collect()))
    }
}

/// A permutation of range(n) determined by `seed` alone, as little-endian uint64 bytes.
#[pyfunction]
fn permutation<'py>(py: Python<'py>, n: u64, seed: u64) -> Bound<'py, PyBytes> {
    let order = py.detach(|| seeded_permutation(n, seed));
    let bytes: Vec<u8> = order.iter().flat_map(|v| v.to_le_bytes()).collect();
    PyBytes::new(py, &bytes)
}

/// Packs documents into samples of `sample_len` tokens (ids + eos each, no padding) and appends
/// the complete samples to a file of little-endian uint32.
#[pyclass(module = "medtitan._core")]
pub struct SampleWriter {
    state: Mutex<Option<(Packer, BufWriter<File>, u64)>>,
    path: PathBuf,
}

#[pymethods]
impl SampleWriter {
    #[new]
    fn new(path: PathBuf, sample_len: usize, eos_id: u32) -> PyResult<Self> {
        if sample_len == 0 {
            return Err(PyValueError::new_err("sample_len must be positive"));
        }
        let file = File::create(&path).map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))?;
        Ok(SampleWriter { state: Mutex::new(Some((Packer::new(sample_len, eos_id), BufWriter::new(file), 0))), path })
    }

    /// Append the documents `order` (int64 indices) of the flat `ids` (uint32) delimited by
    /// `offsets` (int64, n+1), in that order.
    fn push(&self, py: Python<'_>, ids: PyBuffer<u8>, offsets: PyBuffer<u8>, order: PyBuffer<u8>) -> PyResult<()> {
        let ids = le_values::<u32, 4>(&ids, "ids", u32::from_le_bytes)?;
        let offsets = le_values::<i64, 8>(&offsets, "offsets", i64::from_le_bytes)?;
        let order = le_values::<i64, 8>(&order, "order", i64::from_le_bytes)?;
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some((packer, file, samples_written)) = guard.as_mut() else {
            return Err(PyValueError::new_err("the writer is closed"));
        };
        py.detach(|| -> PyResult<()> {
            let mut samples = Vec::new();
            for &doc in &order {
                let doc = usize::try_from(doc).ok().filter(|&d| d + 1 < offsets.len()).ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "document index {doc} outside 0..{}",
                        offsets.len().saturating_sub(1)
                    ))
                })?;
                let (start, end) = (offsets[doc], offsets[doc + 1]);
                if start < 0 || end < start || end as usize > ids.len() {
                    return Err(PyValueError::new_err(format!("offsets {start}..{end} outside the {} ids", ids.len())));
                }
                packer.push(&ids[start as usize..end as usize], &mut samples);
            }
            let bytes: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
            file.write_all(&bytes).map_err(|e| PyOSError::new_err(format!("{}: {e}", self.path.display())))?;
            *samples_written += samples.len() as u64;
            Ok(())
        })
    }

    /// Flush and close; returns {"tokens": complete-sample tokens, "dropped_tokens": the tail
    /// that did not fill a sample, "documents": documents packed}.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some((packer, mut file, tokens)) = guard.take() else {
            return Err(PyValueError::new_err("the writer is already closed"));
        };
        file.flush().map_err(|e| PyOSError::new_err(format!("{}: {e}", self.path.display())))?;
        let result = PyDict::new(py);
        result.set_item("tokens", tokens)?;
        result.set_item("dropped_tokens", packer.pending())?;
        result.set_item("documents", packer.documents())?;
        Ok(result)
    }
}

/// Write the samples of a packed uint32 file as MMIDIDX shards named `<prefix>-NNNNN`, in the
/// order of a permutation seeded by `seed`, at most `samples_per_shard` samples each.
#[pyfunction]
fn write_shards<'py>(
    py: Python<'py>,
    packed: PathBuf,
    sample_len: usize,
    seed: u64,
    samples_per_shard: usize,
    vocab_size: u64,
    prefix: PathBuf,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    if sample_len == 0 || samples_per_shard == 0 {
        return Err(PyValueError::new_err("sample_len and samples_per_shard must be positive"));
    }
    let shown = packed.display().to_string();
    let infos = py.detach(|| -> PyResult<Vec<crate::shards::mmidx::ShardInfo>> {
        let file = File::open(&packed).map_err(|e| PyOSError::new_err(format!("{shown}: {e}")))?;
        let length = file.metadata().map_err(|e| PyOSError::new_err(format!("{shown}: {e}")))?.len() as usize;
        let sample_bytes = sample_len * 4;
        if !length.is_multiple_of(sample_bytes) {
            return Err(PyValueError::new_err(format!(
                "{shown}: {length} bytes is not a whole number of {sample_len}-token samples"
            )));
        }
        let count = length / sample_bytes;
        // One sample at a time, read at its offset (pread, shared by the threads): memory stays
        // at a sample per thread. A memory map would count every page read as this process's
        // resident memory, so the driver's footprint would grow with the corpus.
        let sample = |i: u64| -> Vec<u32> {
            use std::os::unix::fs::FileExt;
            let mut bytes = vec![0u8; sample_bytes];
            file.read_exact_at(&mut bytes, i * sample_bytes as u64).expect("the packed file shrank while being read");
            bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()
        };
        let order = seeded_permutation(count as u64, seed);
        let token_type = TokenType::for_vocab(vocab_size);
        let chunks: Vec<&[u64]> = order.chunks(samples_per_shard).collect();
        let mut infos = Vec::with_capacity(chunks.len().max(1));
        let mut shard_prefixes: Vec<PathBuf> = (0..chunks.len().max(1))
            .map(|k| {
                let mut name = prefix.as_os_str().to_owned();
                name.push(format!("-{k:05}"));
                PathBuf::from(name)
            })
            .collect();
        if chunks.is_empty() {
            // An empty split still gets one shard (no samples, a .bin of one unused token), so
            // readers find a valid dataset they can memory-map.
            let info = write_shard(&shard_prefixes.remove(0), std::iter::empty::<Vec<u32>>(), sample_len, token_type)
                .map_err(|e| PyOSError::new_err(format!("{}: {e}", prefix.display())))?;
            infos.push(info);
            return Ok(infos);
        }
        let written: Vec<std::io::Result<crate::shards::mmidx::ShardInfo>> = chunks
            .par_iter()
            .zip(shard_prefixes.par_iter())
            .map(|(chunk, shard_prefix)| {
                write_shard(shard_prefix, chunk.iter().map(|&i| sample(i)), sample_len, token_type)
            })
            .collect();
        for info in written {
            infos.push(info.map_err(|e| PyOSError::new_err(format!("{}: {e}", prefix.display())))?);
        }
        Ok(infos)
    })?;
    infos
        .into_iter()
        .map(|info| {
            let d = PyDict::new(py);
            d.set_item("prefix", info.prefix.display().to_string())?;
            d.set_item("samples", info.samples)?;
            d.set_item("tokens", info.tokens)?;
            d.set_item("bin_sha256", info.bin_sha256)?;
            d.set_item("idx_sha256", info.idx_sha256)?;
            d.set_item("bin_bytes", info.bin_bytes)?;
            d.set_item("idx_bytes", info.idx_bytes)?;
            Ok(d)
        })
        .collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ContaminationIndex>()?;
    m.add_class::<SampleWriter>()?;
    m.add_function(wrap_pyfunction!(permutation, m)?)?;
    m.add_function(wrap_pyfunction!(write_shards, m)?)?;
    Ok(())
}
