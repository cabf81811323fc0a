//! Megatron-compatible `MMIDIDX` shards (.bin tokens + .idx index), written from a packed sample
//! stream in a seeded order, with sha256 of every file computed as it is written.
//!
//! .idx layout (little-endian), as Megatron's indexed_dataset reads it:
//!   9 bytes  b"MMIDIDX\x00\x00"
//!   u64      version = 1
//!   u8       dtype code (8 = uint16, 4 = int32)
//!   u64      sequence count N
//!   u64      document count N + 1 (document boundaries, one per sample)
//!   i32 x N  sequence lengths (tokens)
//!   i64 x N  sequence byte offsets into .bin
//!   i64 x N+1 document indices 0..=N
//! Every sample is one sequence and one document, so Megatron, NeMo and GPT-NeoX read the
//! shards as they are.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 9] = b"MMIDIDX\x00\x00";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    U16,
    I32,
}

impl TokenType {
    /// uint16 when every id (special tokens included) fits, else int32 (Megatron has no uint32).
    pub fn for_vocab(vocab_size: u64) -> Self {
        if vocab_size <= 65_536 {
            TokenType::U16
        } else {
            TokenType::I32
        }
    }

    pub fn code(self) -> u8 {
        match self {
            TokenType::U16 => 8,
            TokenType::I32 => 4,
        }
    }

    pub fn size(self) -> usize {
        match self {
            TokenType::U16 => 2,
            TokenType::I32 => 4,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ShardInfo {
    pub prefix: PathBuf,
    pub samples: u64,
    pub tokens: u64,
    pub bin_sha256: String,
    pub idx_sha256: String,
    pub bin_bytes: u64,
    pub idx_bytes: u64,
}

/// A writer that hashes what it writes.
struct HashingWriter {
    inner: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl HashingWriter {
    fn create(path: &Path) -> io::Result<Self> {
        Ok(HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, File::create(path)?),
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        self.inner.write_all(data)
    }

    fn finish(mut self) -> io::Result<(String, u64)> {
        self.inner.flush()?;
        self.inner.get_ref().sync_all()?;
        let digest = self.hasher.finalize();
        Ok((digest.iter().map(|b| format!("{b:02x}")).collect(), self.bytes))
    }
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Write one shard at `prefix`.bin/.idx from `samples` (each `sample_len` ids). Files are
/// written under temporary names and renamed at the end, so a crash never leaves a shard that
/// looks complete.
pub fn write_shard<S: AsRef<[u32]>>(
    prefix: &Path,
    samples: impl Iterator<Item = S>,
    sample_len: usize,
    token_type: TokenType,
) -> io::Result<ShardInfo> {
    let bin_tmp = with_suffix(prefix, ".bin.tmp");
    let mut bin = HashingWriter::create(&bin_tmp)?;
    let mut count = 0u64;
    let mut buffer = Vec::with_capacity(sample_len * token_type.size());
    for sample in samples {
        let sample = sample.as_ref();
        if sample.len() != sample_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("sample of {} tokens, expected {sample_len}", sample.len()),
            ));
        }
        buffer.clear();
        match token_type {
            TokenType::U16 => {
                for &id in sample {
                    let id = u16::try_from(id).map_err(|_| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("token id {id} does not fit uint16"))
                    })?;
                    buffer.extend_from_slice(&id.to_le_bytes());
                }
            }
            TokenType::I32 => {
                for &id in sample {
                    let id = i32::try_from(id).map_err(|_| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("token id {id} does not fit int32"))
                    })?;
                    buffer.extend_from_slice(&id.to_le_bytes());
                }
            }
        }
        bin.write(&buffer)?;
        count += 1;
    }
    if count == 0 {
        // An empty shard's .bin holds one unused token: readers memory-map the .bin (Megatron's
        // MMapIndexedDataset does, and numpy refuses to map an empty file), and an index of no
        // sequences points at nothing in it.
        bin.write(&vec![0u8; token_type.size()])?;
    }
    let (bin_sha256, bin_bytes) = bin.finish()?;

    let idx_tmp = with_suffix(prefix, ".idx.tmp");
    let mut idx = HashingWriter::create(&idx_tmp)?;
    idx.write(MAGIC)?;
    idx.write(&1u64.to_le_bytes())?;
    idx.write(&[token_type.code()])?;
    idx.write(&count.to_le_bytes())?;
    idx.write(&(count + 1).to_le_bytes())?;
    let length =
        i32::try_from(sample_len).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "sample_len too large"))?;
    for _ in 0..count {
        idx.write(&length.to_le_bytes())?;
    }
    let stride = (sample_len * token_type.size()) as i64;
    for i in 0..count as i64 {
        idx.write(&(i * stride).to_le_bytes())?;
    }
    for i in 0..=count as i64 {
        idx.write(&i.to_le_bytes())?;
    }
    let (idx_sha256, idx_bytes) = idx.finish()?;
    std::fs::rename(&bin_tmp, with_suffix(prefix, ".bin"))?;
    std::fs::rename(&idx_tmp, with_suffix(prefix, ".idx"))?;
    Ok(ShardInfo {
        prefix: prefix.to_path_buf(),
        samples: count,
        tokens: count * sample_len as u64,
        bin_sha256,
        idx_sha256,
        bin_bytes,
        idx_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_files_follow_the_layout() {
        let dir = std::env::temp_dir().join(format!("medtitan-shard-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let prefix = dir.join("train-00000");
        let samples: Vec<Vec<u32>> = vec![vec![1, 2, 3], vec![4, 5, 65535]];
        let info = write_shard(&prefix, samples.iter().map(Vec::as_slice), 3, TokenType::U16).unwrap();
        assert_eq!((info.samples, info.tokens), (2, 6));
        let bin = std::fs::read(dir.join("train-00000.bin")).unwrap();
        assert_eq!(bin, vec![1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 255, 255]);
        let idx = std::fs::read(dir.join("train-00000.idx")).unwrap();
        assert_eq!(&idx[..9], MAGIC);
        assert_eq!(idx[17], 8);
        assert_eq!(idx.len(), 9 + 8 + 1 + 8 + 8 + 2 * 4 + 2 * 8 + 3 * 8);
        assert!(!dir.join("train-00000.bin.tmp").exists());
        // An empty shard: no sequences, and a .bin that can be memory-mapped (one unused token).
        let info = write_shard(&dir.join("empty"), std::iter::empty::<Vec<u32>>(), 3, TokenType::U16).unwrap();
        assert_eq!((info.samples, info.bin_bytes), (0, 2));
        assert_eq!(std::fs::read(dir.join("empty.idx")).unwrap().len(), 9 + 8 + 1 + 8 + 8 + 8);
        let too_big = [vec![70_000u32, 1, 2]];
        assert!(write_shard(&dir.join("bad"), too_big.iter().map(Vec::as_slice), 3, TokenType::U16).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
