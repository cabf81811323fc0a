//! The reference model's binary file (layout in the parent module's doc): written in one
//! streaming pass (hashed as it goes) under a temporary name and renamed when whole, read with one
//! read and checked before use (magic, version, exact length, checksum, then the trie's own
//! invariants, so a bad file is an error and never a panic while scoring).

use super::{Level, ReferenceLm, MAX_ORDER};
use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use xxhash_rust::xxh3::Xxh3;

const MAGIC: &[u8; 8] = b"MTREFLM\0";
const VERSION: u32 = 1;

/// Why a model file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read (missing, unreadable).
    Io(io::Error),
    /// The bytes are not a model this build reads: what is wrong with them.
    Format(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io(e) => write!(f, "{e}"),
            LoadError::Format(what) => write!(f, "{what}"),
        }
    }
}

/// A writer that hashes and counts what goes through it.
struct Hashed<W> {
    inner: W,
    hasher: Xxh3,
    written: u64,
}

impl<W: Write> Hashed<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.written += bytes.len() as u64;
        self.inner.write_all(bytes)
    }

    /// Little-endian values, encoded a block at a time.
    fn put_all<T: Copy, const N: usize>(&mut self, values: &[T], encode: fn(T) -> [u8; N]) -> io::Result<()> {
        let mut block = Vec::with_capacity(N * 8192);
        for chunk in values.chunks(8192) {
            block.clear();
            block.extend(chunk.iter().flat_map(|&v| encode(v)));
            self.put(&block)?;
        }
        Ok(())
    }
}

impl ReferenceLm {
    /// Write the model's file format to `out`; returns the bytes written.
    pub fn write_to(&self, out: impl Write) -> io::Result<u64> {
        let mut out = Hashed { inner: out, hasher: Xxh3::new(), written: 0 };
        out.put(MAGIC)?;
        out.put_all(&[VERSION, self.order as u32, self.vocab_size], u32::to_le_bytes)?;
        out.put_all(&self.min_counts, u32::to_le_bytes)?;
        out.put_all(self.discounts.as_flattened(), f64::to_le_bytes)?;
        out.put_all(&self.ngram_counts, u64::to_le_bytes)?;
        let sizes: Vec<u64> = self.levels.iter().map(|l| l.len() as u64).collect();
        out.put_all(&sizes, u64::to_le_bytes)?;
        for level in &self.levels {
            out.put_all(&level.tokens, u32::to_le_bytes)?;
            out.put_all(&level.log_probs, f32::to_le_bytes)?;
            out.put_all(&level.log_backoffs, f32::to_le_bytes)?;
            out.put_all(&level.child_start, u32::to_le_bytes)?;
        }
        let digest = out.hasher.digest();
        out.inner.write_all(&digest.to_le_bytes())?;
        out.inner.flush()?;
        Ok(out.written + 8)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.write_to(&mut bytes).expect("writing to memory cannot fail");
        bytes
    }

    /// Write to `path` (through a temporary file renamed when complete, so a crash never leaves
    /// a half-written model under the real name); returns the bytes written.
    pub fn save(&self, path: &Path) -> io::Result<u64> {
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(format!(".tmp-{}", std::process::id()));
        let temporary = std::path::PathBuf::from(temporary);
        let written = (|| {
            let file = std::fs::File::create(&temporary)?;
            let written = self.write_to(io::BufWriter::with_capacity(1 << 20, &file))?;
            file.sync_all()?;
            Ok(written)
        })();
        match written.and_then(|w| std::fs::rename(&temporary, path).map(|()| w)) {
            Ok(written) => Ok(written),
            Err(e) => {
                let _ = std::fs::remove_file(&temporary);
                Err(e)
            }
        }
    }

    /// Read a model file (one read).
    pub fn load(path: &Path) -> Result<ReferenceLm, LoadError> {
        let bytes = std::fs::read(path).map_err(LoadError::Io)?;
        ReferenceLm::from_bytes(&bytes).map_err(LoadError::Format)
    }

    /// Parse and check a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<ReferenceLm, String> {
        let prefix = &bytes[..bytes.len().min(MAGIC.len())];
        if prefix != &MAGIC[..prefix.len()] {
            return Err("bad magic: not a medtitan reference LM file".into());
        }
        let mut reader = Reader { bytes, at: 0 };
        reader.take(MAGIC.len())?;
        let version = reader.u32()?;
        if version != VERSION {
            return Err(format!("format version {version}; this build reads version {VERSION}"));
        }
        let order = reader.u32()? as usize;
        let vocab_size = reader.u32()?;
        if !(1..=MAX_ORDER).contains(&order) || vocab_size == 0 || vocab_size > u32::MAX - 2 {
            return Err(format!("corrupt header: order {order}, vocab_size {vocab_size}"));
        }
        let min_counts = reader.u32s(order)?;
        let flat = reader.f64s(3 * order)?;
        let discounts = flat.chunks_exact(3).map(|d| [d[0], d[1], d[2]]).collect();
        let ngram_counts = reader.u64s(order)?;
        let sizes = reader.u64s(order)?;
        // The exact length, before reading the levels, so truncation is named as such.
        let expected = expected_length(reader.at as u64, &sizes, order)
            .ok_or_else(|| format!("corrupt header: level sizes {sizes:?}"))?;
        if (bytes.len() as u64) < expected {
            return Err(format!("truncated: {} bytes, the header says {expected}", bytes.len()));
        }
        if bytes.len() as u64 > expected {
            return Err(format!("{} bytes, the header says {expected}: trailing data", bytes.len()));
        }
        let body = &bytes[..bytes.len() - 8];
        let stored = u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().unwrap());
        if xxhash_rust::xxh3::xxh3_64(body) != stored {
            return Err("checksum mismatch: the file is corrupt".into());
        }
        let mut levels = Vec::with_capacity(order);
        for (k, &size) in sizes.iter().enumerate() {
            let size = size as usize;
            let inner = k + 1 < order;
            levels.push(Level {
                tokens: if k > 0 { reader.u32s(size)? } else { Vec::new() },
                log_probs: reader.f32s(size)?,
                log_backoffs: if inner { reader.f32s(size)? } else { Vec::new() },
                child_start: if inner { reader.u32s(size + 1)? } else { Vec::new() },
            });
        }
        let model = ReferenceLm { order, vocab_size, min_counts, discounts, ngram_counts, levels };
        model.check_trie()?;
        Ok(model)
    }

    /// The invariants scoring relies on: a dense first order, child ranges that tile the next
    /// order, tokens below vocab_size + 2 and sorted within each range.
    fn check_trie(&self) -> Result<(), String> {
        let ids = self.vocab_size as usize + 2;
        if self.levels[0].len() != ids {
            return Err(format!("corrupt: order 1 has {} entries, not {ids}", self.levels[0].len()));
        }
        for (k, pair) in self.levels.windows(2).enumerate() {
            let (shorter, longer) = (&pair[0], &pair[1]);
            let starts = &shorter.child_start;
            let tiles = starts[0] == 0
                && starts.windows(2).all(|w| w[0] <= w[1])
                && starts[starts.len() - 1] as usize == longer.len();
            if !tiles {
                return Err(format!("corrupt: the children of order {} do not tile order {}", k + 1, k + 2));
            }
            let sorted = starts.windows(2).all(|w| {
                let tokens = &longer.tokens[w[0] as usize..w[1] as usize];
                tokens.windows(2).all(|t| t[0] < t[1]) && tokens.last().is_none_or(|&t| (t as usize) < ids)
            });
            if !sorted {
                return Err(format!("corrupt: order {} tokens out of range or out of order", k + 2));
            }
        }
        Ok(())
    }
}

/// Bytes of a file with these level sizes and a header of `header` bytes (checksum included);
/// None on overflow.
fn expected_length(header: u64, sizes: &[u64], order: usize) -> Option<u64> {
    let mut total = header.checked_add(8)?;
    for (k, &size) in sizes.iter().enumerate() {
        let tokens = if k > 0 { size } else { 0 };
        let inner = if k + 1 < order { size + (size + 1) } else { 0 };
        let values = tokens.checked_add(size)?.checked_add(inner)?;
        total = total.checked_add(values.checked_mul(4)?)?;
    }
    Some(total)
}

/// Little-endian values from a byte slice, front to back.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end =
            end.ok_or_else(|| format!("truncated: {} bytes, more expected after byte {}", self.bytes.len(), self.at))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn values<T, const N: usize>(&mut self, count: usize, decode: fn([u8; N]) -> T) -> Result<Vec<T>, String> {
        let bytes = self.take(count.checked_mul(N).ok_or("corrupt header: a size overflows")?)?;
        Ok(bytes.chunks_exact(N).map(|c| decode(c.try_into().unwrap())).collect())
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(self.values(1, u32::from_le_bytes)?[0])
    }

    fn u32s(&mut self, count: usize) -> Result<Vec<u32>, String> {
        self.values(count, u32::from_le_bytes)
    }

    fn u64s(&mut self, count: usize) -> Result<Vec<u64>, String> {
        self.values(count, u64::from_le_bytes)
    }

    fn f32s(&mut self, count: usize) -> Result<Vec<f32>, String> {
        self.values(count, f32::from_le_bytes)
    }

    fn f64s(&mut self, count: usize) -> Result<Vec<f64>, String> {
        self.values(count, f64::from_le_bytes)
    }
}
