//! sentencepiece's normalizer, reproduced exactly: the precompiled character map (a darts-clone
//! double-array trie of rewrite rules, longest match wins), user-defined symbols passed through
//! untouched, and the add_dummy_prefix / remove_extra_whitespaces / escape_whitespaces /
//! treat_whitespace_as_suffix flags.
//!
//! Input is always valid UTF-8 here (Rust strings), so sentencepiece's replacement of malformed
//! bytes by U+FFFD never triggers; files with invalid UTF-8 are rejected before encoding.

use crate::tokenizer::sp_model::NormalizerSpec;
use rustc_hash::FxHashSet;

pub const SPACE_SYMBOL: &str = "\u{2581}";

/// Longest-prefix matcher over user-defined symbols (sentencepiece's PrefixMatcher).
#[derive(Clone, Debug, Default)]
pub struct PrefixMatcher {
    symbols: FxHashSet<Box<str>>,
    max_len: usize,
    first_bytes: Vec<bool>,
}

impl PrefixMatcher {
    pub fn new<'a>(symbols: impl IntoIterator<Item = &'a str>) -> Self {
        let mut matcher = PrefixMatcher { first_bytes: vec![false; 256], ..Default::default() };
        for symbol in symbols {
            if symbol.is_empty() {
                continue;
            }
            matcher.max_len = matcher.max_len.max(symbol.len());
            matcher.first_bytes[symbol.as_bytes()[0] as usize] = true;
            matcher.symbols.insert(symbol.into());
        }
        matcher
    }

    /// Length in bytes of the longest symbol that starts `text`, or 0 when none does.
    #[inline]
    pub fn longest(&self, text: &str) -> usize {
        let Some(&first) = text.as_bytes().first() else { return 0 };
        if !self.first_bytes[first as usize] {
            return 0;
        }
        let limit = self.max_len.min(text.len());
        (1..=limit).rev().find(|&len| text.is_char_boundary(len) && self.symbols.contains(&text[..len])).unwrap_or(0)
    }
}

/// What an ASCII byte normalizes to when the trie has no longer rule starting with it.
#[derive(Clone, Copy, Debug)]
enum AsciiRule {
    Identity,
    Replace(u32),
    Search,
}

/// The precompiled charsmap: a darts-clone double array plus the blob of replacement strings.
#[derive(Clone, Debug)]
struct CharsMap {
    units: Vec<u32>,
    replacements: Vec<u8>,
    ascii: [AsciiRule; 128],
}

/// sentencepiece looks at no more than this many trie matches per position.
const MAX_TRIE_RESULTS: usize = 32;

impl CharsMap {
    fn parse(blob: &[u8]) -> Result<CharsMap, String> {
        if blob.len() <= 4 {
            return Err("precompiled charsmap is broken (shorter than its header)".into());
        }
        let trie_size = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
        if trie_size >= blob.len() || !trie_size.is_multiple_of(4) {
            return Err(format!(
                "precompiled charsmap is broken (trie of {trie_size} bytes in a blob of {})",
                blob.len()
            ));
        }
        let units =
            blob[4..4 + trie_size].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let replacements = blob[4 + trie_size..].to_vec();
        for piece in replacements.split(|&b| b == 0) {
            if std::str::from_utf8(piece).is_err() {
                return Err("precompiled charsmap holds a replacement that is not valid UTF-8".into());
            }
        }
        let mut map = CharsMap { units, replacements, ascii: [AsciiRule::Search; 128] };
        for byte in 0u8..128 {
            map.ascii[byte as usize] = map.ascii_rule(byte);
        }
        Ok(map)
    }

    #[inline]
    fn unit(&self, pos: usize) -> Option<u32> {
        self.units.get(pos).copied()
    }

    fn offset(unit: u32) -> usize {
        ((unit >> 10) << ((unit & (1 << 9)) >> 6)) as usize
    }

    fn has_leaf(unit: u32) -> bool {
        (unit >> 8) & 1 == 1
    }

    fn value(unit: u32) -> u32 {
        unit & ((1 << 31) - 1)
    }

    fn label(unit: u32) -> u32 {
        unit & ((1 << 31) | 0xff)
    }

    /// darts-clone commonPrefixSearch, keeping the longest of the first 32 matches:
    /// (length in bytes, replacement offset).
    fn longest_match(&self, key: &[u8]) -> Option<(usize, u32)> {
        let mut best: Option<(usize, u32)> = None;
        let mut found = 0;
        let mut node = Self::offset(self.unit(0)?);
        for (i, &byte) in key.iter().enumerate() {
            node ^= byte as usize;
            let unit = self.unit(node)?;
            if Self::label(unit) != byte as u32 {
                break;
            }
            node ^= Self::offset(unit);
            if Self::has_leaf(unit) {
                if found < MAX_TRIE_RESULTS {
                    let value = Self::value(self.unit(node)?);
                    if best.is_none_or(|(len, _)| i + 1 > len) {
                        best = Some((i + 1, value));
                    }
                }
                found += 1;
            }
        }
        best
    }

    /// Whether some rule continues `byte` (alone at the start of a key) with a byte in `next`:
    /// the trie node reached by `byte` has a child labelled with one of them.
    fn continues_with(&self, byte: u8, next: std::ops::Range<usize>) -> bool {
        let Some(root) = self.unit(0) else { return false };
        let node = Self::offset(root) ^ byte as usize;
        let Some(unit) = self.unit(node) else { return false };
        if Self::label(unit) != byte as u32 {
            return false;
        }
        let base = node ^ Self::offset(unit);
        next.into_iter().any(|label| self.unit(base ^ label).is_some_and(|u| Self::label(u) == label as u32))
    }

    /// Whether any rule longer than one byte starts with `byte`.
    fn has_longer_rule(&self, byte: u8) -> bool {
        self.continues_with(byte, 0..256)
    }

    /// Whether some rule continues `byte` with another ASCII byte (NFKC's rules continue ASCII
    /// letters only with combining marks, which are not ASCII).
    fn has_ascii_continuation(&self, byte: u8) -> bool {
        self.continues_with(byte, 0..128)
    }

    fn ascii_rule(&self, byte: u8) -> AsciiRule {
        if self.has_longer_rule(byte) {
            return AsciiRule::Search;
        }
        match self.longest_match(&[byte]) {
            Some((_, value)) => AsciiRule::Replace(value),
            None => AsciiRule::Identity,
        }
    }

    fn replacement(&self, offset: u32) -> &str {
        let start = (offset as usize).min(self.replacements.len());
        let rest = &self.replacements[start..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        // Validated at load time: every NUL-separated replacement is UTF-8. An offset into the
        // middle of one could still split a character; treat that as a broken model.
        std::str::from_utf8(&rest[..end]).unwrap_or("\u{fffd}")
    }
}

#[derive(Clone, Debug)]
pub struct Normalizer {
    charsmap: Option<CharsMap>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
    treat_whitespace_as_suffix: bool,
    matcher: Option<PrefixMatcher>,
    /// ASCII bytes that normalize to themselves, are not a space and start no user symbol:
    /// runs of them are copied in one go.
    plain_ascii: [bool; 128],
    /// ASCII bytes that normalize to themselves when the next byte is ASCII (or the end): the
    /// charsmap has longer rules starting with them, but only with non-ASCII continuations.
    plain_before_ascii: [bool; 128],
    /// Whether ' ' normalizes to itself and starts no user symbol (true of every real model),
    /// so spaces can be handled inline without a trie lookup.
    plain_space: bool,
}

impl Normalizer {
    pub fn new(
        spec: &NormalizerSpec,
        treat_whitespace_as_suffix: bool,
        matcher: Option<PrefixMatcher>,
    ) -> Result<Normalizer, String> {
        let charsmap = if spec.precompiled_charsmap.is_empty() {
            None
        } else {
            Some(CharsMap::parse(&spec.precompiled_charsmap)?)
        };
        let mut plain_ascii = [false; 128];
        let mut plain_before_ascii = [false; 128];
        for byte in 0u8..128 {
            let starts_symbol = matcher.as_ref().is_some_and(|m| m.first_bytes[byte as usize]);
            let eligible = byte != b' ' && !starts_symbol;
            match &charsmap {
                None => plain_ascii[byte as usize] = eligible,
                Some(map) => match map.ascii[byte as usize] {
                    AsciiRule::Identity => plain_ascii[byte as usize] = eligible,
                    AsciiRule::Replace(_) => {}
                    AsciiRule::Search => {
                        plain_before_ascii[byte as usize] =
                            eligible && map.longest_match(&[byte]).is_none() && !map.has_ascii_continuation(byte);
                    }
                },
            }
        }
        let space_identity = match &charsmap {
            None => true,
            Some(map) => matches!(map.ascii[b' ' as usize], AsciiRule::Identity),
        };
        let plain_space = space_identity && !matcher.as_ref().is_some_and(|m| m.first_bytes[b' ' as usize]);
        Ok(Normalizer {
            charsmap,
            add_dummy_prefix: spec.add_dummy_prefix,
            remove_extra_whitespaces: spec.remove_extra_whitespaces,
            escape_whitespaces: spec.escape_whitespaces,
            treat_whitespace_as_suffix,
            matcher,
            plain_ascii,
            plain_before_ascii,
            plain_space,
        })
    }

    pub fn escapes_whitespace(&self) -> bool {
        self.escape_whitespaces
    }

    /// The normalized form of the first rule or character of `input` and the bytes it consumes.
    #[inline]
    fn normalize_prefix<'a>(&'a self, input: &'a str) -> (&'a str, usize) {
        if let Some(matcher) = &self.matcher {
            let len = matcher.longest(input);
            if len > 0 {
                return (&input[..len], len);
            }
        }
        let bytes = input.as_bytes();
        if let Some(map) = &self.charsmap {
            let first = bytes[0];
            let rule = if first < 128 { map.ascii[first as usize] } else { AsciiRule::Search };
            match rule {
                AsciiRule::Identity => return (&input[..1], 1),
                AsciiRule::Replace(offset) => return (map.replacement(offset), 1),
                AsciiRule::Search => {
                    if let Some((len, offset)) = map.longest_match(bytes) {
                        return (map.replacement(offset), len);
                    }
                }
            }
        }
        let len = utf8_char_len(bytes[0]).min(bytes.len());
        (&input[..len], len)
    }

    fn push_space(&self, out: &mut String) {
        out.push_str(if self.escape_whitespaces { SPACE_SYMBOL } else { " " });
    }

    /// Length of the leading run of ASCII bytes that each normalize to themselves.
    #[inline]
    fn plain_prefix_len(&self, bytes: &[u8]) -> usize {
        let mut len = 0;
        while len < bytes.len() {
            let byte = bytes[len];
            if byte >= 128 {
                break;
            }
            let plain = self.plain_ascii[byte as usize]
                || (self.plain_before_ascii[byte as usize] && bytes.get(len + 1).is_none_or(|&next| next < 128));
            if !plain {
                break;
            }
            len += 1;
        }
        len
    }

    /// Normalize `input` into `out` (cleared first), as sentencepiece's Normalizer::Normalize.
    pub fn normalize_into(&self, input: &str, out: &mut String) {
        out.clear();
        let mut rest = input;
        if self.remove_extra_whitespaces {
            while !rest.is_empty() {
                let (normalized, consumed) = self.normalize_prefix(rest);
                if normalized != " " {
                    break;
                }
                rest = &rest[consumed..];
            }
        }
        if rest.is_empty() {
            return;
        }
        if !self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            self.push_space(out);
        }
        let mut is_prev_space = self.remove_extra_whitespaces;
        while !rest.is_empty() {
            let plain = self.plain_prefix_len(rest.as_bytes());
            if plain > 0 {
                // Same result as one character at a time: each is its own, non-space output.
                out.push_str(&rest[..plain]);
                rest = &rest[plain..];
                is_prev_space = false;
                continue;
            }
            if self.plain_space && rest.as_bytes()[0] == b' ' {
                // The general path below, specialised to a space that normalizes to itself.
                if !is_prev_space {
                    out.push_str(if self.escape_whitespaces { SPACE_SYMBOL } else { " " });
                    is_prev_space = self.remove_extra_whitespaces;
                }
                rest = &rest[1..];
                continue;
            }
            let (mut normalized, consumed) = self.normalize_prefix(rest);
            if is_prev_space {
                normalized = normalized.trim_start_matches(' ');
            }
            if !normalized.is_empty() {
                if self.escape_whitespaces && normalized.contains(' ') {
                    for piece in normalized.split_inclusive(' ') {
                        match piece.strip_suffix(' ') {
                            Some(text) => {
                                out.push_str(text);
                                out.push_str(SPACE_SYMBOL);
                            }
                            None => out.push_str(piece),
                        }
                    }
                } else {
                    out.push_str(normalized);
                }
                is_prev_space = normalized.ends_with(' ');
            }
            rest = &rest[consumed..];
            if !self.remove_extra_whitespaces {
                is_prev_space = false;
            }
        }
        if self.remove_extra_whitespaces {
            let space = if self.escape_whitespaces { SPACE_SYMBOL } else { " " };
            while out.ends_with(space) {
                out.truncate(out.len() - space.len());
            }
        }
        if self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            self.push_space(out);
        }
    }
}

#[inline]
pub fn utf8_char_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(add_dummy_prefix: bool, remove_extra: bool, escape: bool) -> NormalizerSpec {
        NormalizerSpec {
            add_dummy_prefix,
            remove_extra_whitespaces: remove_extra,
            escape_whitespaces: escape,
            ..Default::default()
        }
    }

    fn normalize(normalizer: &Normalizer, text: &str) -> String {
        let mut out = String::new();
        normalizer.normalize_into(text, &mut out);
        out
    }

    #[test]
    fn whitespace_flags_follow_sentencepiece() {
        let default = Normalizer::new(&spec(true, true, true), false, None).unwrap();
        assert_eq!(normalize(&default, "  hello   world  "), "▁hello▁world");
        assert_eq!(normalize(&default, "   "), "");
        assert_eq!(normalize(&default, ""), "");
        let keep_spaces = Normalizer::new(&spec(true, false, true), false, None).unwrap();
        assert_eq!(normalize(&keep_spaces, " a  b "), "▁▁a▁▁b▁");
        let no_prefix = Normalizer::new(&spec(false, true, false), false, None).unwrap();
        assert_eq!(normalize(&no_prefix, "a  b"), "a b");
        let suffix = Normalizer::new(&spec(true, true, true), true, None).unwrap();
        assert_eq!(normalize(&suffix, "a b"), "a▁b▁");
    }

    #[test]
    fn user_defined_symbols_are_matched_longest_first() {
        let matcher = PrefixMatcher::new(["[PLAN]", "[PLAN]X", "ab"]);
        assert_eq!(matcher.longest("[PLAN]Xyz"), 7);
        assert_eq!(matcher.longest("[PLAN] "), 6);
        assert_eq!(matcher.longest("[PLA"), 0);
        assert_eq!(matcher.longest("abc"), 2);
        assert_eq!(matcher.longest(""), 0);
    }

    #[test]
    fn a_broken_charsmap_is_an_error() {
        let mut broken = spec(true, true, true);
        broken.precompiled_charsmap = vec![0xff, 0xff, 0, 0, 1, 2];
        assert!(Normalizer::new(&broken, false, None).is_err());
    }
}
