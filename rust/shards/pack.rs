//! Packing documents into fixed-length training samples: each document's ids followed by the
//! end-of-sequence id, concatenated in the given order and cut every `sample_len` tokens (no
//! padding). Streaming: whatever does not fill a sample waits in the packer for the next call.

pub struct Packer {
    sample_len: usize,
    eos: u32,
    pending: Vec<u32>,
    documents: u64,
}

impl Packer {
    pub fn new(sample_len: usize, eos: u32) -> Self {
        assert!(sample_len > 0, "sample_len must be positive");
        Packer { sample_len, eos, pending: Vec::with_capacity(sample_len * 2), documents: 0 }
    }

    /// Append one document; complete samples are appended to `samples` (flat).
    pub fn push(&mut self, ids: &[u32], samples: &mut Vec<u32>) {
        self.pending.extend_from_slice(ids);
        self.pending.push(self.eos);
        self.documents += 1;
        let full = self.pending.len() / self.sample_len * self.sample_len;
        if full > 0 {
            samples.extend_from_slice(&self.pending[..full]);
            self.pending.drain(..full);
        }
    }

    /// Tokens waiting for the next sample (dropped if the stream ends here).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn documents(&self) -> u64 {
        self.documents
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_separated_by_eos_and_cut_without_padding() {
        let mut packer = Packer::new(4, 9);
        let mut samples = Vec::new();
        packer.push(&[1, 2], &mut samples);
        assert!(samples.is_empty() && packer.pending() == 3);
        packer.push(&[3, 4, 5, 6], &mut samples);
        assert_eq!(samples, vec![1, 2, 9, 3, 4, 5, 6, 9]);
        packer.push(&[], &mut samples);
        assert_eq!(packer.pending(), 1);
        assert_eq!(packer.documents(), 3);
    }
}
