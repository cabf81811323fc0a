//! Python bindings of the SentencePiece-exact encoder: `medtitan._core.Tokenizer`.
//! Thin: argument checks, GIL release, thread pools; the logic is in rust/tokenizer/.

use crate::py::threads::with_threads;
use crate::tokenizer::bpe::SentencePieceBpe;
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyFileNotFoundError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyDict};
use rayon::prelude::*;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

/// A SentencePiece BPE model, encoding id for id as sentencepiece does (rust/tokenizer/bpe.rs): load it
/// with `Tokenizer.from_file(path)`; thread-safe, and the batch methods release the GIL.
#[pyclass(module = "medtitan._core", frozen)]
pub struct Tokenizer {
    model: Arc<SentencePieceBpe>,
    /// The `.model` file it was loaded from.
    #[pyo3(get)]
    path: String,
}

fn encode_all(model: &SentencePieceBpe, texts: &[&str]) -> Vec<Vec<u32>> {
    texts.par_iter().with_min_len(8).map(|text| model.encode_cached(text)).collect()
}

/// Concatenated ids (little-endian u32) and n+1 document offsets (little-endian i64).
fn flatten(encoded: Vec<Vec<u32>>) -> (Vec<u8>, Vec<u8>) {
    let total: usize = encoded.iter().map(Vec::len).sum();
    let mut ids = Vec::with_capacity(total * 4);
    let mut offsets = Vec::with_capacity((encoded.len() + 1) * 8);
    let mut offset = 0i64;
    offsets.extend_from_slice(&offset.to_le_bytes());
    for doc in &encoded {
        for id in doc {
            ids.extend_from_slice(&id.to_le_bytes());
        }
        offset += doc.len() as i64;
        offsets.extend_from_slice(&offset.to_le_bytes());
    }
    (ids, offsets)
}

/// The raw fields of a SentencePiece `.model` (rust/tokenizer/sp_model.rs reads it; no protobuf package
/// needed): pieces as (piece, score, type) with sentencepiece's type numbers (1 normal,
/// 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), the trainer flags and the
/// normalizer spec. For exporters that rebuild the tokenizer elsewhere (export-hf).
#[pyfunction]
pub fn read_sentencepiece_model<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    use crate::tokenizer::sp_model::{parse_model, PieceType};
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(format!("{shown}: no such tokenizer model file")),
        _ => PyValueError::new_err(format!("{shown}: cannot read: {e}")),
    })?;
    let model =
        parse_model(&bytes).map_err(|e| PyValueError::new_err(format!("{shown}: not a SentencePiece model ({e})")))?;
    let pieces: Vec<(String, f32, u8)> = model
        .pieces
        .iter()
        .map(|p| {
            let kind = match p.kind {
                PieceType::Normal => 1,
                PieceType::Unknown => 2,
                PieceType::Control => 3,
                PieceType::UserDefined => 4,
                PieceType::Unused => 5,
                PieceType::Byte => 6,
            };
            (p.piece.clone(), p.score, kind)
        })
        .collect();
    let normalizer = PyDict::new(py);
    normalizer.set_item("name", &model.normalizer.name)?;
    normalizer.set_item("precompiled_charsmap", PyBytes::new(py, &model.normalizer.precompiled_charsmap))?;
    normalizer.set_item("add_dummy_prefix", model.normalizer.add_dummy_prefix)?;
    normalizer.set_item("remove_extra_whitespaces", model.normalizer.remove_extra_whitespaces)?;
    normalizer.set_item("escape_whitespaces", model.normalizer.escape_whitespaces)?;
    let result = PyDict::new(py);
    result.set_item("pieces", pieces)?;
    result.set_item("model_type", model.trainer.model_type)?;
    result.set_item("byte_fallback", model.trainer.byte_fallback)?;
    result.set_item("treat_whitespace_as_suffix", model.trainer.treat_whitespace_as_suffix)?;
    result.set_item("normalizer", normalizer)?;
    Ok(result)
}

#[pymethods]
impl Tokenizer {
    /// Load a sentencepiece BPE `.model` file.
    #[staticmethod]
    fn from_file(path: PathBuf) -> PyResult<Self> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                PyFileNotFoundError::new_err(format!("{shown}: no such tokenizer model file"))
            }
            _ => PyValueError::new_err(format!("{shown}: cannot read: {e}")),
        })?;
        let model = SentencePieceBpe::from_bytes(&bytes).map_err(|e| PyValueError::new_err(format!("{shown}: {e}")))?;
        Ok(Tokenizer { model: Arc::new(model), path: shown })
    }

    /// The number of pieces, ids 0 .. vocab_size - 1.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.model.vocab_size()
    }

    /// The id of <unk>, given to what the vocabulary cannot encode (without byte fallback).
    #[getter]
    fn unk_id(&self) -> u32 {
        self.model.unk_id()
    }

    /// True when the model allows the fast path (segments encoded independently, memoized).
    #[getter]
    fn splits_into_words(&self) -> bool {
        self.model.splits_into_words()
    }

    /// The piece of `id`; ValueError for an id outside the vocabulary.
    fn id_to_piece(&self, id: u32) -> PyResult<String> {
        self.model.id_to_piece(id).map(str::to_string).ok_or_else(|| {
            PyValueError::new_err(format!("invalid id {id}: the vocabulary has {} pieces", self.model.vocab_size()))
        })
    }

    /// The id of `piece`, or the <unk> id when the vocabulary has no such piece.
    fn piece_to_id(&self, piece: &str) -> u32 {
        self.model.piece_to_id(piece)
    }

    /// `text` as the model's normalizer (NFKC and whitespace rules of its spec) writes it before encoding.
    fn normalize(&self, text: &str) -> String {
        self.model.normalize(text)
    }

    /// The ids of `text`, the same as sentencepiece's `encode(text)` for the same model.
    fn encode(&self, text: &str) -> Vec<u32> {
        self.model.encode_cached(text)
    }

    /// Encode many texts on `num_threads` threads (default: all cores), without the GIL.
    #[pyo3(signature = (texts, num_threads = None))]
    fn encode_batch(
        &self,
        py: Python<'_>,
        texts: Vec<PyBackedStr>,
        num_threads: Option<usize>,
    ) -> PyResult<Vec<Vec<u32>>> {
        let model = &self.model;
        py.detach(|| {
            let views: Vec<&str> = texts.iter().map(|t| &**t).collect();
            with_threads(num_threads, || encode_all(model, &views))
        })
    }

    /// Like encode_batch, but returns (ids, offsets) as bytes: little-endian uint32 ids of all
    /// texts concatenated, and int64 offsets (len(texts) + 1) into them; no per-token objects.
    #[pyo3(signature = (texts, num_threads = None))]
    fn encode_batch_flat<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<PyBackedStr>,
        num_threads: Option<usize>,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let model = &self.model;
        let (ids, offsets) = py.detach(|| {
            let views: Vec<&str> = texts.iter().map(|t| &**t).collect();
            with_threads(num_threads, || flatten(encode_all(model, &views)))
        })?;
        Ok((PyBytes::new(py, &ids), PyBytes::new(py, &offsets)))
    }

    /// Encode UTF-8 strings held in one buffer (an Arrow string array's data), delimited by
    /// `offsets` (n+1 little-endian int64 byte offsets). Returns the same as encode_batch_flat.
    #[pyo3(signature = (data, offsets, num_threads = None))]
    fn encode_buffers<'py>(
        &self,
        py: Python<'py>,
        data: PyBuffer<u8>,
        offsets: &[u8],
        num_threads: Option<usize>,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        if !data.is_c_contiguous() {
            return Err(PyValueError::new_err("the data buffer must be contiguous"));
        }
        // SAFETY: the buffer is contiguous, `data` keeps its exporter alive (and the view valid)
        // until this function returns, and it is only read.
        let data: &[u8] = unsafe { std::slice::from_raw_parts(data.buf_ptr() as *const u8, data.len_bytes()) };
        if !offsets.len().is_multiple_of(8) || offsets.len() < 8 {
            return Err(PyValueError::new_err("offsets must hold at least one little-endian int64"));
        }
        let bounds: Vec<i64> = offsets.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect();
        let mut views = Vec::with_capacity(bounds.len() - 1);
        for (index, pair) in bounds.windows(2).enumerate() {
            let (start, end) = (pair[0], pair[1]);
            if start < 0 || end < start || end as usize > data.len() {
                return Err(PyValueError::new_err(format!(
                    "string {index}: offsets {start}..{end} outside the {}-byte buffer",
                    data.len()
                )));
            }
            let text = std::str::from_utf8(&data[start as usize..end as usize])
                .map_err(|e| PyValueError::new_err(format!("string {index} is not valid UTF-8: {e}")))?;
            views.push(text);
        }
        let model = &self.model;
        let (ids, offsets) = py.detach(|| with_threads(num_threads, || flatten(encode_all(model, &views))))?;
        Ok((PyBytes::new(py, &ids), PyBytes::new(py, &offsets)))
    }

    /// Encode the text field of every line of a JSONL file, entirely in Rust. Errors name the
    /// file and line: unreadable file, invalid UTF-8, malformed JSON, missing or non-string text.
    #[pyo3(signature = (path, text_field = "text", num_threads = None))]
    fn encode_jsonl<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        text_field: &str,
        num_threads: Option<usize>,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let model = &self.model;
        let (ids, offsets) = py.detach(|| -> PyResult<_> {
            let texts = read_jsonl_texts(&path, text_field)?;
            let views: Vec<&str> = texts.iter().map(String::as_str).collect();
            with_threads(num_threads, || flatten(encode_all(model, &views)))
        })?;
        Ok((PyBytes::new(py, &ids), PyBytes::new(py, &offsets)))
    }

    /// The text of `ids` (byte pieces joined back into UTF-8); ValueError for an id outside the vocabulary.
    fn decode(&self, ids: Vec<u32>) -> PyResult<String> {
        self.model.decode(&ids).map_err(PyValueError::new_err)
    }

    fn __repr__(&self) -> String {
        format!("Tokenizer({:?}, vocab_size={})", self.path, self.model.vocab_size())
    }
}

fn read_jsonl_texts(path: &PathBuf, text_field: &str) -> PyResult<Vec<String>> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(format!("{shown}: no such file")),
        _ => PyValueError::new_err(format!("{shown}: cannot read: {e}")),
    })?;
    let mut texts = Vec::new();
    for (index, line) in std::io::BufReader::new(file).split(b'\n').enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| PyValueError::new_err(format!("{shown}:{number}: cannot read: {e}")))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = std::str::from_utf8(&line).map_err(|e| {
            PyValueError::new_err(format!("{shown}:{number}: invalid UTF-8 at byte {}", e.valid_up_to()))
        })?;
        let record: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| PyValueError::new_err(format!("{shown}:{number}: malformed JSON: {e}")))?;
        match record.get(text_field) {
            Some(serde_json::Value::String(text)) => texts.push(text.clone()),
            Some(_) => {
                return Err(PyValueError::new_err(format!("{shown}:{number}: field {text_field:?} is not a string")))
            }
            None => return Err(PyValueError::new_err(format!("{shown}:{number}: no field {text_field:?}"))),
        }
    }
    Ok(texts)
}
