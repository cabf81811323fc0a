//! Reading a sentencepiece `.model` file: a serialized `ModelProto` protocol buffer.
//!
//! Only the fields the encoder needs are decoded (pieces, the trainer flags that change encoding,
//! the normalizer and denormalizer specs); every other field is skipped by wire type, so models
//! written by any sentencepiece version load. Defaults follow sentencepiece_model.proto.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

#[derive(Clone, Debug)]
pub struct ModelPiece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceType,
}

#[derive(Clone, Debug)]
pub struct NormalizerSpec {
    pub name: String,
    pub precompiled_charsmap: Vec<u8>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        NormalizerSpec {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

/// The model type codes of TrainerSpec.ModelType.
pub const MODEL_TYPE_UNIGRAM: i64 = 1;
pub const MODEL_TYPE_BPE: i64 = 2;

#[derive(Clone, Debug)]
pub struct TrainerSpec {
    pub model_type: i64,
    pub vocab_size: i64,
    pub byte_fallback: bool,
    pub treat_whitespace_as_suffix: bool,
    pub unk_surface: String,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        TrainerSpec {
            model_type: MODEL_TYPE_UNIGRAM,
            vocab_size: 8000,
            byte_fallback: false,
            treat_whitespace_as_suffix: false,
            unk_surface: " \u{2047} ".to_string(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ModelProto {
    pub pieces: Vec<ModelPiece>,
    pub trainer: TrainerSpec,
    pub normalizer: NormalizerSpec,
    pub denormalizer: Option<NormalizerSpec>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, ParseError>;

fn error<T>(message: impl Into<String>) -> Result<T> {
    Err(ParseError(message.into()))
}

/// A cursor over protobuf wire-format bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

enum Field<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64,
    Bytes(&'a [u8]),
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.pos) else {
                return error("truncated varint");
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        error("varint longer than 10 bytes")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return error(format!("field of {n} bytes runs past the end of the data"));
        };
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    /// The next (field number, value), or None at the end.
    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>> {
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Field::Fixed64
            }
            2 => {
                let len = self.varint()? as usize;
                Field::Bytes(self.take(len)?)
            }
            5 => {
                let raw = self.take(4)?;
                Field::Fixed32(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]))
            }
            wire => return error(format!("unsupported protobuf wire type {wire} (field {number})")),
        };
        Ok(Some((number, field)))
    }
}

fn utf8(bytes: &[u8], what: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec()).or_else(|_| error(format!("{what} is not valid UTF-8")))
}

fn parse_piece(bytes: &[u8]) -> Result<ModelPiece> {
    let mut piece = ModelPiece { piece: String::new(), score: 0.0, kind: PieceType::Normal };
    let mut reader = Reader::new(bytes);
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(b)) => piece.piece = utf8(b, "a piece")?,
            (2, Field::Fixed32(bits)) => piece.score = f32::from_bits(bits),
            (3, Field::Varint(v)) => {
                piece.kind = match v {
                    1 => PieceType::Normal,
                    2 => PieceType::Unknown,
                    3 => PieceType::Control,
                    4 => PieceType::UserDefined,
                    5 => PieceType::Unused,
                    6 => PieceType::Byte,
                    other => return error(format!("unknown piece type {other}")),
                }
            }
            _ => {}
        }
    }
    Ok(piece)
}

fn parse_normalizer(bytes: &[u8]) -> Result<NormalizerSpec> {
    let mut spec = NormalizerSpec::default();
    let mut reader = Reader::new(bytes);
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(b)) => spec.name = utf8(b, "the normalizer name")?,
            (2, Field::Bytes(b)) => spec.precompiled_charsmap = b.to_vec(),
            (3, Field::Varint(v)) => spec.add_dummy_prefix = v != 0,
            (4, Field::Varint(v)) => spec.remove_extra_whitespaces = v != 0,
            (5, Field::Varint(v)) => spec.escape_whitespaces = v != 0,
            _ => {}
        }
    }
    Ok(spec)
}

fn parse_trainer(bytes: &[u8]) -> Result<TrainerSpec> {
    let mut spec = TrainerSpec::default();
    let mut reader = Reader::new(bytes);
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (3, Field::Varint(v)) => spec.model_type = v as i64,
            (4, Field::Varint(v)) => spec.vocab_size = v as i64,
            (24, Field::Varint(v)) => spec.treat_whitespace_as_suffix = v != 0,
            (35, Field::Varint(v)) => spec.byte_fallback = v != 0,
            (44, Field::Bytes(b)) => spec.unk_surface = utf8(b, "unk_surface")?,
            _ => {}
        }
    }
    Ok(spec)
}

/// Decode a serialized ModelProto.
pub fn parse_model(bytes: &[u8]) -> Result<ModelProto> {
    let mut model = ModelProto::default();
    let mut reader = Reader::new(bytes);
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(b)) => model.pieces.push(parse_piece(b)?),
            (2, Field::Bytes(b)) => model.trainer = parse_trainer(b)?,
            (3, Field::Bytes(b)) => model.normalizer = parse_normalizer(b)?,
            (5, Field::Bytes(b)) => model.denormalizer = Some(parse_normalizer(b)?),
            (1..=5, _) => return error(format!("field {number} of ModelProto has the wrong wire type")),
            _ => {}
        }
    }
    if model.pieces.is_empty() {
        return error("no pieces: this is not a sentencepiece model");
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn bytes_field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    fn piece(text: &str, score: f32, kind: u64) -> Vec<u8> {
        let mut out = Vec::new();
        bytes_field(1, text.as_bytes(), &mut out);
        varint(2 << 3 | 5, &mut out);
        out.extend_from_slice(&score.to_le_bytes());
        varint(3 << 3, &mut out);
        varint(kind, &mut out);
        out
    }

    #[test]
    fn decodes_pieces_specs_and_skips_unknown_fields() {
        let mut model = Vec::new();
        bytes_field(1, &piece("<unk>", 0.0, 2), &mut model);
        bytes_field(1, &piece("▁the", -1.5, 1), &mut model);
        let mut trainer = Vec::new();
        varint(3 << 3, &mut trainer);
        varint(2, &mut trainer);
        varint(35 << 3, &mut trainer);
        varint(1, &mut trainer);
        bytes_field(99, b"ignored", &mut trainer);
        bytes_field(2, &trainer, &mut model);
        let mut normalizer = Vec::new();
        bytes_field(1, b"identity", &mut normalizer);
        varint(4 << 3, &mut normalizer);
        varint(0, &mut normalizer);
        bytes_field(3, &normalizer, &mut model);
        let parsed = parse_model(&model).unwrap();
        assert_eq!(parsed.pieces.len(), 2);
        assert_eq!(parsed.pieces[1].piece, "▁the");
        assert_eq!(parsed.pieces[1].score, -1.5);
        assert_eq!(parsed.pieces[0].kind, PieceType::Unknown);
        assert_eq!(parsed.trainer.model_type, MODEL_TYPE_BPE);
        assert!(parsed.trainer.byte_fallback);
        assert_eq!(parsed.normalizer.name, "identity");
        assert!(!parsed.normalizer.remove_extra_whitespaces);
        assert!(parsed.normalizer.add_dummy_prefix, "absent fields keep the proto default");
        assert!(parsed.denormalizer.is_none());
    }

    #[test]
    fn rejects_truncated_and_foreign_data() {
        let mut model = Vec::new();
        bytes_field(1, &piece("<unk>", 0.0, 2), &mut model);
        assert!(parse_model(&model[..model.len() - 3]).is_err());
        assert!(parse_model(b"").is_err());
        assert!(parse_model(b"this is a text file, not a model\n").is_err());
    }
}
