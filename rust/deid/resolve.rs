//! Resolution of the rules' candidate spans: where candidates overlap, the earliest start wins,
//! then the longest, then rule order (labeled and longer forms come first in the rule list);
//! whatever overlaps a kept span is dropped.

use super::types::{PhiType, Span};

pub(super) struct Candidate {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) priority: usize,
    pub(super) kind: PhiType,
}

/// Earliest start first, then longest, then rule order; drop whatever overlaps a kept span.
pub(super) fn resolve_candidates(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(a.priority.cmp(&b.priority)));
    let mut kept: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        if kept.last().is_none_or(|last| c.start >= last.end) {
            kept.push(c);
        }
    }
    kept
}

pub(super) fn resolve(candidates: Vec<Candidate>) -> Vec<Span> {
    resolve_candidates(candidates).into_iter().map(|c| Span { start: c.start, end: c.end, kind: c.kind }).collect()
}

#[cfg(test)]
mod tests {
    use crate::deid::{detect, PhiType};

    #[test]
    fn overlaps_keep_the_earliest_longest_span() {
        let text = "Address: 12 Oak Street, Salem, OR 97301.";
        let spans = detect(text);
        assert_eq!(spans.len(), 1);
        assert_eq!(&text[spans[0].start..spans[0].end], "12 Oak Street, Salem, OR 97301");
        assert_eq!(spans[0].kind, PhiType::Address);
    }

    #[test]
    fn spans_are_sorted_and_disjoint() {
        let text = "Patient: Hunt, Gary MRN: 22035178 DOB: 01/02/1930 Phone: (555) 234-5678 Dr. Hunt 12 Oak St";
        let spans = detect(text);
        assert!(spans.len() >= 5, "{spans:?}");
        for pair in spans.windows(2) {
            assert!(pair[0].end <= pair[1].start, "{spans:?}");
        }
    }
}
