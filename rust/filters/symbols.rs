//! Symbol density: how much of a document's visible text is neither letters nor digits.

/// Share of the non-whitespace characters that are neither letters nor digits (in any script).
/// 0.0 for a text with no non-whitespace characters. Whitespace is left out so that layout
/// (indentation, blank lines) does not count as junk; tables of symbols and base64 blobs do.
pub fn non_alphanumeric_ratio(text: &str) -> f64 {
    let (mut visible, mut other) = (0usize, 0usize);
    for c in text.chars() {
        if c.is_whitespace() {
            continue;
        }
        visible += 1;
        if !c.is_alphanumeric() {
            other += 1;
        }
    }
    if visible == 0 {
        0.0
    } else {
        other as f64 / visible as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_counts_visible_symbols_only() {
        assert_eq!(non_alphanumeric_ratio("abc"), 0.0);
        assert_eq!(non_alphanumeric_ratio("a-b"), 1.0 / 3.0);
        assert_eq!(non_alphanumeric_ratio("  \n\t "), 0.0);
        assert_eq!(non_alphanumeric_ratio("|---|---|"), 1.0);
        assert_eq!(non_alphanumeric_ratio("病人 42"), 0.0);
    }
}
