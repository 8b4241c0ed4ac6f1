//! Key ranges: Datalevin's range kinds (all, at-least, at-most, closed, closed-open, open,
//! open-closed, greater-than, less-than) plus prefix, each forward or backward.

use std::ops::Bound;

/// A range of keys (as encoded bytes) and a direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// Lower bound.
    pub lo: Bound<Vec<u8>>,
    /// Upper bound.
    pub hi: Bound<Vec<u8>>,
    /// Iterate from the high end down.
    pub reverse: bool,
}

impl Range {
    fn new(lo: Bound<Vec<u8>>, hi: Bound<Vec<u8>>) -> Range {
        Range {
            lo,
            hi,
            reverse: false,
        }
    }
    /// Every key.
    pub fn all() -> Range {
        Range::new(Bound::Unbounded, Bound::Unbounded)
    }
    /// Keys >= `k`.
    pub fn at_least(k: impl AsRef<[u8]>) -> Range {
        Range::new(Bound::Included(k.as_ref().to_vec()), Bound::Unbounded)
    }
    /// Keys <= `k`.
    pub fn at_most(k: impl AsRef<[u8]>) -> Range {
        Range::new(Bound::Unbounded, Bound::Included(k.as_ref().to_vec()))
    }
    /// Keys > `k`.
    pub fn greater_than(k: impl AsRef<[u8]>) -> Range {
        Range::new(Bound::Excluded(k.as_ref().to_vec()), Bound::Unbounded)
    }
    /// Keys < `k`.
    pub fn less_than(k: impl AsRef<[u8]>) -> Range {
        Range::new(Bound::Unbounded, Bound::Excluded(k.as_ref().to_vec()))
    }
    /// `a` <= key <= `b`.
    pub fn closed(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> Range {
        Range::new(
            Bound::Included(a.as_ref().to_vec()),
            Bound::Included(b.as_ref().to_vec()),
        )
    }
    /// `a` <= key < `b`.
    pub fn closed_open(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> Range {
        Range::new(
            Bound::Included(a.as_ref().to_vec()),
            Bound::Excluded(b.as_ref().to_vec()),
        )
    }
    /// `a` < key < `b`.
    pub fn open(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> Range {
        Range::new(
            Bound::Excluded(a.as_ref().to_vec()),
            Bound::Excluded(b.as_ref().to_vec()),
        )
    }
    /// `a` < key <= `b`.
    pub fn open_closed(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> Range {
        Range::new(
            Bound::Excluded(a.as_ref().to_vec()),
            Bound::Included(b.as_ref().to_vec()),
        )
    }
    /// Keys starting with `p`.
    pub fn prefix(p: impl AsRef<[u8]>) -> Range {
        let p = p.as_ref().to_vec();
        let hi = prefix_successor(&p).map_or(Bound::Unbounded, Bound::Excluded);
        Range::new(Bound::Included(p), hi)
    }
    /// The same range, iterated from the high end down.
    pub fn rev(mut self) -> Range {
        self.reverse = !self.reverse;
        self
    }

    /// True if `k` is inside the range.
    pub fn contains(&self, k: &[u8]) -> bool {
        self.above_lo(k) && self.below_hi(k)
    }

    pub(crate) fn above_lo(&self, k: &[u8]) -> bool {
        match &self.lo {
            Bound::Unbounded => true,
            Bound::Included(l) => k >= l.as_slice(),
            Bound::Excluded(l) => k > l.as_slice(),
        }
    }

    pub(crate) fn below_hi(&self, k: &[u8]) -> bool {
        match &self.hi {
            Bound::Unbounded => true,
            Bound::Included(h) => k <= h.as_slice(),
            Bound::Excluded(h) => k < h.as_slice(),
        }
    }
}

/// The smallest byte string greater than every string starting with `p`, if any.
pub fn prefix_successor(p: &[u8]) -> Option<Vec<u8>> {
    let mut s = p.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}
