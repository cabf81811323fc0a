//! A SentencePiece-exact BPE encoder and decoder.
//!
//! Encoding follows sentencepiece's bpe::Model::SampleEncode and SentencePieceProcessor:
//! normalize; split into symbols (user-defined symbols are atomic and frozen, everything else
//! one character); repeatedly merge the adjacent pair whose concatenation is the best-scoring
//! piece (ties: leftmost); split unused pieces back into what formed them; map pieces to ids,
//! with unknown pieces as UTF-8 bytes under byte fallback, or runs of unknowns as one <unk>.
//!
//! Why it is faster while giving identical ids:
//! * A merge can only join A and B if A+B is a piece. When no piece has a whitespace symbol
//!   after a non-whitespace character (true of every whitespace-split BPE model, including
//!   LLaMA's with its runs of "▁"), no merge can cross the start of a whitespace run, so each
//!   run-started segment is encoded independently and memoized per thread.
//! * Pair lookups go through an (id, id) -> id table built once from the vocabulary instead of
//!   hashing concatenated strings.
//!
//! Models where either argument fails (unused pieces, whose resegmentation reads state shared
//! across the sentence; whitespace as suffix; odd vocabularies) are encoded as whole sentences,
//! exactly as sentencepiece does, just without the memo.

use crate::tokenizer::normalizer::{utf8_char_len, Normalizer, PrefixMatcher, SPACE_SYMBOL};
use crate::tokenizer::sp_model::{parse_model, ModelPiece, PieceType, MODEL_TYPE_BPE};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use xxhash_rust::xxh3::xxh3_64;

const NONE: u32 = u32::MAX;
/// Segments longer than this (bytes) are encoded but not memoized.
const MAX_CACHED_SEGMENT: usize = 96;
/// The per-thread memo stops growing at this many segments (about 40 MB), bounding memory.
/// Frequent segments appear early in any text, so a full memo keeps the ones that pay;
/// clearing it instead would make a corpus with many rare words thrash.
const MAX_CACHE_ENTRIES: usize = 1 << 20;
/// How many models' scratch a thread keeps before dropping the oldest.
const SCRATCHES_PER_THREAD: usize = 4;

static NEXT_INSTANCE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Per-thread scratch (and segment memo) of each loaded model, so the memo stays warm
    /// across calls and threads never share or lock it.
    static SCRATCHES: RefCell<Vec<(usize, Scratch)>> = const { RefCell::new(Vec::new()) };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Segmenting {
    /// Encode each whitespace-run-started segment on its own, memoized.
    Words,
    /// Encode the whole normalized sentence at once.
    Whole,
}

pub struct SentencePieceBpe {
    pieces: Vec<ModelPiece>,
    /// Scores by id, packed apart from the piece strings so the merge loop stays in cache.
    scores: Vec<f32>,
    /// sentencepiece's `pieces_`: normal, user-defined and unused pieces (mergeable).
    normal_ids: FxHashMap<Box<str>, u32>,
    /// sentencepiece's `reserved_id_map_`: control, unknown and byte pieces.
    reserved_ids: FxHashMap<Box<str>, u32>,
    /// (left id, right id) -> merged id, for every piece that splits into two pieces.
    merges: FxHashMap<u64, u32>,
    /// Normal pieces whose string is also a reserved piece: PieceToId prefers the reserved id.
    shadowed: FxHashMap<u32, u32>,
    unk_id: u32,
    byte_fallback: bool,
    byte_ids: [u32; 256],
    matcher: PrefixMatcher,
    normalizer: Normalizer,
    denormalizer: Option<Normalizer>,
    unk_surface: String,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    whitespace: &'static str,
    segmenting: Segmenting,
    has_unused: bool,
    instance: usize,
}

#[derive(Clone, Copy, Debug)]
struct Symbol {
    start: u32,
    end: u32,
    prev: u32,
    next: u32,
    id: u32,
    freeze: bool,
}

#[derive(Clone, Copy, Debug)]
struct Candidate {
    score: f32,
    left: u32,
    right: u32,
    size: u32,
    id: u32,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    /// BinaryHeap pops the greatest: the highest score, then the leftmost pair.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.partial_cmp(&other.score).unwrap_or(Ordering::Equal).then_with(|| other.left.cmp(&self.left))
    }
}

/// Per-thread working memory: reused buffers and the segment memo.
#[derive(Default)]
pub struct Scratch {
    normalized: String,
    symbols: Vec<Symbol>,
    heap: BinaryHeap<Candidate>,
    rev_merge: FxHashMap<Box<str>, (Box<str>, Box<str>)>,
    cache: SegmentMemo,
}

/// Segment -> ids, stored compactly: a map from the segment's 64-bit hash to offsets into two
/// arenas (segment bytes, ids). About 36 bytes a segment instead of ~110 for boxed keys and
/// values. A hash collision is detected by comparing the stored bytes and is simply a miss.
#[derive(Default)]
struct SegmentMemo {
    index: FxHashMap<u64, MemoEntry>,
    text: Vec<u8>,
    ids: Vec<u32>,
}

#[derive(Clone, Copy)]
struct MemoEntry {
    text_start: u32,
    ids_start: u32,
    text_len: u16,
    ids_len: u16,
}

impl SegmentMemo {
    fn get(&self, hash: u64, segment: &str) -> Option<&[u32]> {
        let entry = self.index.get(&hash)?;
        let start = entry.text_start as usize;
        if &self.text[start..start + entry.text_len as usize] != segment.as_bytes() {
            return None;
        }
        let ids_start = entry.ids_start as usize;
        Some(&self.ids[ids_start..ids_start + entry.ids_len as usize])
    }

    fn insert(&mut self, hash: u64, segment: &str, ids: &[u32]) {
        let full = self.index.len() >= MAX_CACHE_ENTRIES || self.ids.len() + ids.len() > u32::MAX as usize;
        if full || ids.len() > u16::MAX as usize || self.index.contains_key(&hash) {
            return;
        }
        let entry = MemoEntry {
            text_start: self.text.len() as u32,
            ids_start: self.ids.len() as u32,
            text_len: segment.len() as u16,
            ids_len: ids.len() as u16,
        };
        self.text.extend_from_slice(segment.as_bytes());
        self.ids.extend_from_slice(ids);
        self.index.insert(hash, entry);
    }
}

impl Scratch {
    pub fn new() -> Self {
        Self::default()
    }
}

fn byte_piece_value(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

#[inline]
fn pair_key(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

impl SentencePieceBpe {
    /// Load a serialized sentencepiece ModelProto of a BPE model.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let model = parse_model(bytes).map_err(|e| format!("not a sentencepiece model: {e}"))?;
        if model.trainer.model_type != MODEL_TYPE_BPE {
            let kind = match model.trainer.model_type {
                1 => "unigram",
                3 => "word",
                4 => "char",
                _ => "unknown-type",
            };
            return Err(format!("only BPE models are supported; this is a {kind} model"));
        }
        let mut normal_ids: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut reserved_ids: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut unk_id = None;
        let mut byte_ids = [NONE; 256];
        let mut user_defined = Vec::new();
        let mut has_unused = false;
        for (index, piece) in model.pieces.iter().enumerate() {
            let id = index as u32;
            if piece.piece.is_empty() {
                return Err(format!("piece {id} is empty"));
            }
            let normal = matches!(piece.kind, PieceType::Normal | PieceType::UserDefined | PieceType::Unused);
            let map = if normal { &mut normal_ids } else { &mut reserved_ids };
            if map.insert(piece.piece.as_str().into(), id).is_some() {
                return Err(format!("piece {:?} is defined twice", piece.piece));
            }
            match piece.kind {
                PieceType::UserDefined => user_defined.push(piece.piece.as_str()),
                PieceType::Unused => has_unused = true,
                PieceType::Unknown if unk_id.replace(id).is_some() => {
                    return Err("the model defines <unk> twice".into());
                }
                PieceType::Unknown => {}
                PieceType::Byte => {
                    if !model.trainer.byte_fallback {
                        return Err(format!("byte piece {:?} found although byte_fallback is off", piece.piece));
                    }
                    let Some(value) = byte_piece_value(&piece.piece) else {
                        return Err(format!("byte piece {:?} is invalid", piece.piece));
                    };
                    byte_ids[value as usize] = id;
                }
                _ => {}
            }
        }
        let unk_id = unk_id.ok_or("the model defines no <unk> piece")?;
        if model.trainer.byte_fallback && byte_ids.contains(&NONE) {
            return Err("byte_fallback is on but the model lacks some of the 256 byte pieces".into());
        }

        let mut merges = FxHashMap::default();
        for (piece, &id) in &normal_ids {
            for (split, _) in piece.char_indices().skip(1) {
                if let (Some(&left), Some(&right)) = (normal_ids.get(&piece[..split]), normal_ids.get(&piece[split..]))
                {
                    merges.insert(pair_key(left, right), id);
                }
            }
        }
        let shadowed = normal_ids
            .iter()
            .filter_map(|(piece, &id)| reserved_ids.get(piece).map(|&reserved| (id, reserved)))
            .collect();

        let matcher = PrefixMatcher::new(user_defined.iter().copied());
        let normalizer =
            Normalizer::new(&model.normalizer, model.trainer.treat_whitespace_as_suffix, Some(matcher.clone()))?;
        let denormalizer = match &model.denormalizer {
            Some(spec) if !spec.precompiled_charsmap.is_empty() => Some(Normalizer::new(spec, false, None)?),
            _ => None,
        };
        let whitespace = if normalizer.escapes_whitespace() { SPACE_SYMBOL } else { " " };
        let splittable = normal_ids.keys().all(|piece| !piece.trim_start_matches(whitespace).contains(whitespace));
        let segmenting = if splittable && !has_unused && !model.trainer.treat_whitespace_as_suffix {
            Segmenting::Words
        } else {
            Segmenting::Whole
        };
        Ok(SentencePieceBpe {
            scores: model.pieces.iter().map(|p| p.score).collect(),
            pieces: model.pieces,
            normal_ids,
            reserved_ids,
            merges,
            shadowed,
            unk_id,
            byte_fallback: model.trainer.byte_fallback,
            byte_ids,
            matcher,
            normalizer,
            denormalizer,
            unk_surface: model.trainer.unk_surface,
            add_dummy_prefix: model.normalizer.add_dummy_prefix,
            remove_extra_whitespaces: model.normalizer.remove_extra_whitespaces,
            whitespace,
            segmenting,
            has_unused,
            instance: NEXT_INSTANCE.fetch_add(1, AtomicOrdering::Relaxed),
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    pub fn unk_id(&self) -> u32 {
        self.unk_id
    }

    pub fn id_to_piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(|p| p.piece.as_str())
    }

    pub fn piece_kind(&self, id: u32) -> Option<PieceType> {
        self.pieces.get(id as usize).map(|p| p.kind)
    }

    /// sentencepiece's PieceToId: reserved pieces first, then normal ones, else <unk>.
    pub fn piece_to_id(&self, piece: &str) -> u32 {
        self.reserved_ids.get(piece).or_else(|| self.normal_ids.get(piece)).copied().unwrap_or(self.unk_id)
    }

    /// Whether segments are encoded independently (the fast, memoized path).
    pub fn splits_into_words(&self) -> bool {
        self.segmenting == Segmenting::Words
    }

    pub fn normalize(&self, text: &str) -> String {
        let mut out = String::new();
        self.normalizer.normalize_into(text, &mut out);
        out
    }

    /// Encode `text`, appending its ids to `out`.
    pub fn encode_into(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<u32>) {
        let start = out.len();
        let mut normalized = std::mem::take(&mut scratch.normalized);
        self.normalizer.normalize_into(text, &mut normalized);
        match self.segmenting {
            Segmenting::Whole => self.encode_segment(&normalized, scratch, out),
            Segmenting::Words => {
                for segment in segments(&normalized, self.whitespace) {
                    if segment.len() > MAX_CACHED_SEGMENT {
                        self.encode_segment(segment, scratch, out);
                        continue;
                    }
                    let hash = xxh3_64(segment.as_bytes());
                    if let Some(ids) = scratch.cache.get(hash, segment) {
                        out.extend_from_slice(ids);
                    } else {
                        let before = out.len();
                        self.encode_segment(segment, scratch, out);
                        scratch.cache.insert(hash, segment, &out[before..]);
                    }
                }
            }
        }
        scratch.normalized = normalized;
        if !self.byte_fallback {
            collapse_unknown_runs(out, start, self.unk_id);
        }
    }

    pub fn encode(&self, text: &str, scratch: &mut Scratch) -> Vec<u32> {
        let mut out = Vec::new();
        self.encode_into(text, scratch, &mut out);
        out
    }

    /// Encode with this thread's scratch for this model (its memo persists between calls).
    pub fn encode_cached(&self, text: &str) -> Vec<u32> {
        SCRATCHES.with(|cell| {
            let mut scratches = cell.borrow_mut();
            let position = match scratches.iter().position(|(instance, _)| *instance == self.instance) {
                Some(position) => position,
                None => {
                    if scratches.len() >= SCRATCHES_PER_THREAD {
                        scratches.remove(0);
                    }
                    scratches.push((self.instance, Scratch::new()));
                    scratches.len() - 1
                }
            };
            self.encode(text, &mut scratches[position].1)
        })
    }

    fn lookup_pair(&self, text: &str, left: &Symbol, right: &Symbol) -> Option<u32> {
        if left.id != NONE && right.id != NONE {
            self.merges.get(&pair_key(left.id, right.id)).copied()
        } else {
            self.normal_ids.get(&text[left.start as usize..right.end as usize]).copied()
        }
    }

    /// sentencepiece's MaybeAddNewSymbolPair.
    fn push_candidate(&self, text: &str, scratch: &mut Scratch, left: u32, right: u32) {
        if left == NONE || right == NONE {
            return;
        }
        let (l, r) = (scratch.symbols[left as usize], scratch.symbols[right as usize]);
        if l.freeze || r.freeze {
            return;
        }
        let Some(id) = self.lookup_pair(text, &l, &r) else { return };
        scratch.heap.push(Candidate { score: self.scores[id as usize], left, right, size: r.end - l.start, id });
        if self.has_unused && self.pieces[id as usize].kind == PieceType::Unused {
            let merged = &text[l.start as usize..r.end as usize];
            let parts = (text[l.start as usize..l.end as usize].into(), text[r.start as usize..r.end as usize].into());
            scratch.rev_merge.insert(merged.into(), parts);
        }
    }

    /// BPE over one piece of normalized text, appending ids to `out`.
    fn encode_segment(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        scratch.symbols.clear();
        scratch.heap.clear();
        scratch.rev_merge.clear();
        let mut pos = 0usize;
        while pos < text.len() {
            let rest = &text[pos..];
            let matched = self.matcher.longest(rest);
            let len = if matched > 0 { matched } else { utf8_char_len(rest.as_bytes()[0]).min(rest.len()) };
            let index = scratch.symbols.len() as u32;
            let id = self.normal_ids.get(&rest[..len]).copied().unwrap_or(NONE);
            scratch.symbols.push(Symbol {
                start: pos as u32,
                end: (pos + len) as u32,
                prev: if index == 0 { NONE } else { index - 1 },
                next: if pos + len < text.len() { index + 1 } else { NONE },
                id,
                freeze: matched > 0,
            });
            pos += len;
        }
        for right in 1..scratch.symbols.len() as u32 {
            self.push_candidate(text, scratch, right - 1, right);
        }
        while let Some(top) = scratch.heap.pop() {
            let (l, r) = (scratch.symbols[top.left as usize], scratch.symbols[top.right as usize]);
            let (l_len, r_len) = (l.end - l.start, r.end - r.start);
            if l_len == 0 || r_len == 0 || l_len + r_len != top.size {
                continue; // stale: one side has been merged since this pair was queued
            }
            let merged = &mut scratch.symbols[top.left as usize];
            merged.end = r.end;
            merged.id = top.id;
            merged.next = r.next;
            if r.next != NONE {
                scratch.symbols[r.next as usize].prev = top.left;
            }
            let emptied = &mut scratch.symbols[top.right as usize];
            emptied.start = emptied.end;
            let prev = scratch.symbols[top.left as usize].prev;
            let next = scratch.symbols[top.left as usize].next;
            self.push_candidate(text, scratch, prev, top.left);
            self.push_candidate(text, scratch, top.left, next);
        }
        let mut index = 0u32;
        while index != NONE {
            let symbol = scratch.symbols[index as usize];
            let piece = &text[symbol.start as usize..symbol.end as usize];
            if self.has_unused {
                self.resegment(piece, &scratch.rev_merge, out);
            } else {
                let id = if symbol.id == NONE {
                    self.piece_to_id(piece)
                } else {
                    self.shadowed.get(&symbol.id).copied().unwrap_or(symbol.id)
                };
                self.emit(piece, id, out);
            }
            index = symbol.next;
        }
    }

    fn resegment(&self, piece: &str, rev_merge: &FxHashMap<Box<str>, (Box<str>, Box<str>)>, out: &mut Vec<u32>) {
        let id = self.piece_to_id(piece);
        if self.pieces[id as usize].kind == PieceType::Unused {
            if let Some((left, right)) = rev_merge.get(piece) {
                self.resegment(left, rev_merge, out);
                self.resegment(right, rev_merge, out);
                return;
            }
        }
        self.emit(piece, id, out);
    }

    #[inline]
    fn emit(&self, piece: &str, id: u32, out: &mut Vec<u32>) {
        if id == self.unk_id && self.byte_fallback {
            out.extend(piece.bytes().map(|b| self.byte_ids[b as usize]));
        } else {
            out.push(id);
        }
    }

    /// sentencepiece's DecodeIds: the text the ids stand for.
    pub fn decode(&self, ids: &[u32]) -> Result<String, String> {
        let mut text = String::new();
        let mut pending_bytes: Vec<u8> = Vec::new();
        let mut is_bos_ws = true;
        let mut bos_ws_seen = false;
        for &id in ids {
            let Some(piece) = self.pieces.get(id as usize) else {
                return Err(format!("invalid id {id}: the vocabulary has {} pieces", self.pieces.len()));
            };
            let id = self.piece_to_id(&piece.piece);
            let kind = self.pieces[id as usize].kind;
            if kind == PieceType::Byte {
                pending_bytes.push(byte_piece_value(&piece.piece).unwrap_or(0));
                continue;
            }
            decode_bytes(&pending_bytes, &mut text);
            pending_bytes.clear();
            if bos_ws_seen || !text.is_empty() {
                is_bos_ws = false;
            }
            bos_ws_seen = self.decode_piece(&piece.piece, id, kind, is_bos_ws, &mut text);
        }
        decode_bytes(&pending_bytes, &mut text);
        if let Some(denormalizer) = &self.denormalizer {
            let mut out = String::new();
            denormalizer.normalize_into(&text, &mut out);
            return Ok(out);
        }
        Ok(text)
    }

    /// Append the surface of one non-byte piece; returns whether it consumed a leading "▁".
    fn decode_piece(&self, piece: &str, id: u32, kind: PieceType, is_bos_ws: bool, text: &mut String) -> bool {
        match kind {
            PieceType::Control => return false,
            PieceType::Unknown => {
                let surface = if self.pieces[id as usize].piece == piece { &self.unk_surface } else { piece };
                text.push_str(surface);
                return false;
            }
            _ => {}
        }
        let mut piece = piece;
        let mut has_bos_ws = false;
        if is_bos_ws && (self.add_dummy_prefix || self.remove_extra_whitespaces) {
            if let Some(rest) = piece.strip_prefix(SPACE_SYMBOL) {
                piece = rest;
                has_bos_ws = true;
            }
            if self.remove_extra_whitespaces {
                has_bos_ws = false;
            }
        }
        text.push_str(&piece.replace(SPACE_SYMBOL, " "));
        has_bos_ws
    }
}

/// Segments of normalized text that no merge can cross: each starts where a run of the
/// whitespace symbol starts (or at the beginning of the text).
fn segments<'a>(text: &'a str, whitespace: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let mut start = 0usize;
    let mut prev_end = usize::MAX; // end of the previous whitespace symbol found
    let mut cuts = text.match_indices(whitespace).filter_map(move |(at, ws)| {
        let run_continues = at == prev_end;
        prev_end = at + ws.len();
        (!run_continues && at > 0).then_some(at)
    });
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        match cuts.next() {
            Some(cut) => {
                let segment = &text[start..cut];
                start = cut;
                Some(segment)
            }
            None => {
                done = true;
                (start < text.len()).then(|| &text[start..])
            }
        }
    })
}

/// Without byte fallback, a run of unknown pieces becomes a single <unk>.
fn collapse_unknown_runs(ids: &mut Vec<u32>, start: usize, unk_id: u32) {
    let mut write = start;
    for read in start..ids.len() {
        let id = ids[read];
        if id == unk_id && write > start && ids[write - 1] == unk_id {
            continue;
        }
        ids[write] = id;
        write += 1;
    }
    ids.truncate(write);
}

/// sentencepiece's byte-piece decoding: valid UTF-8 characters as they are, each invalid byte
/// as U+FFFD (its DecodeUTF8 rejects overlong forms and surrogates, as Rust's from_utf8 does).
fn decode_bytes(bytes: &[u8], text: &mut String) {
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                return;
            }
            Err(error) => {
                let valid = error.valid_up_to();
                text.push_str(std::str::from_utf8(&rest[..valid]).unwrap_or_default());
                text.push('\u{fffd}');
                rest = &rest[valid + 1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_start_at_whitespace_runs() {
        let split: Vec<&str> = segments("▁a▁▁bc▁d", SPACE_SYMBOL).collect();
        assert_eq!(split, vec!["▁a", "▁▁bc", "▁d"]);
        let split: Vec<&str> = segments("ab", SPACE_SYMBOL).collect();
        assert_eq!(split, vec!["ab"]);
        let split: Vec<&str> = segments("▁▁", SPACE_SYMBOL).collect();
        assert_eq!(split, vec!["▁▁"]);
        assert_eq!(segments("", SPACE_SYMBOL).count(), 0);
        let split: Vec<&str> = segments("x▁y▁", SPACE_SYMBOL).collect();
        assert_eq!(split, vec!["x", "▁y", "▁"]);
    }

    #[test]
    fn unknown_runs_collapse_once() {
        let mut ids = vec![5, 0, 0, 7, 0, 0, 0, 9, 0];
        collapse_unknown_runs(&mut ids, 0, 0);
        assert_eq!(ids, vec![5, 0, 7, 0, 9, 0]);
    }

    #[test]
    fn invalid_bytes_decode_to_replacement_characters() {
        let mut text = String::new();
        decode_bytes(&[b'a', 0xff, 0xe2, 0x96, 0x81, 0xc0, 0x80], &mut text);
        assert_eq!(text, "a\u{fffd}▁\u{fffd}\u{fffd}");
    }
}
