//! Copy-on-write copies of branch and leaf pages, built into a page-sized buffer in one pass:
//! the header, the slots and the packed entries are copied and the free gap is zeroed (not
//! copied), optionally leaving one entry out so that a delete needs no second pass.
//!
//! Reasons: after deletes a page is often half empty, and copying its gap from the map costs
//! memory reads for nothing; removing an entry from a fresh copy in place would move the
//! entries below it a second time. Zeroing the gap also keeps bytes of removed entries (and
//! whatever the buffer held before) out of the written page.

use crate::layout::*;
use crate::node::{put_u16, u16_at};

/// The end of the slot array and `upper` of a branch or leaf page whose header is
/// consistent (`16 + 2 * nkeys <= upper <= len`), or None (then the page is copied whole and
/// its damage is reported by whoever decodes it next).
fn bounds(src: &[u8]) -> Option<(usize, usize)> {
    if src.len() < PAGE_HEADER_SIZE {
        return None;
    }
    let kind = src[HDR_KIND_OFF];
    if kind != KIND_BRANCH && kind != KIND_LEAF {
        return None;
    }
    let lower = PAGE_HEADER_SIZE + u16_at(src, HDR_NKEYS_OFF) * SLOT_SIZE;
    let upper = u16_at(src, HDR_UPPER_OFF);
    (lower <= upper && upper <= src.len()).then_some((lower, upper))
}

/// Writes into `dst` (as long as `src`) a copy of page `src` with its free gap zeroed.
/// Pages whose header is not that of a consistent branch or leaf page are copied byte for
/// byte.
pub fn copy_page(src: &[u8], dst: &mut [u8]) {
    let Some((lower, upper)) = bounds(src) else {
        dst.copy_from_slice(src);
        return;
    };
    dst[..lower].copy_from_slice(&src[..lower]);
    dst[lower..upper].fill(0);
    dst[upper..].copy_from_slice(&src[upper..]);
}

/// Writes into `dst` (as long as `src`) a copy of page `src` without entry `idx`, which
/// must be a checked entry of `len` bytes (as for [`crate::node::remove`]): the result
/// equals copying the page and then removing the entry, except that the gap is zero.
/// Returns false, with `dst` unspecified, if the entry is not where the slot says (a
/// damaged page).
pub fn copy_without(src: &[u8], idx: usize, len: usize, dst: &mut [u8]) -> bool {
    debug_assert_eq!(dst.len(), src.len());
    let Some((lower, upper)) = bounds(src) else {
        return false;
    };
    let n = u16_at(src, HDR_NKEYS_OFF);
    if idx >= n {
        return false;
    }
    let off = u16_at(src, PAGE_HEADER_SIZE + idx * SLOT_SIZE);
    if off < upper || off + len > src.len() {
        return false;
    }
    // Header and slots without slot `idx`; entries that lay below the removed one move up
    // by `len`, so their slots grow by `len`.
    let slot = PAGE_HEADER_SIZE + idx * SLOT_SIZE;
    let new_lower = lower - SLOT_SIZE;
    dst[..slot].copy_from_slice(&src[..slot]);
    dst[slot..new_lower].copy_from_slice(&src[slot + SLOT_SIZE..lower]);
    for s in 0..n - 1 {
        let so = PAGE_HEADER_SIZE + s * SLOT_SIZE;
        let o = u16_at(dst, so);
        if o < off {
            put_u16(dst, so, o + len);
        }
    }
    put_u16(dst, HDR_NKEYS_OFF, n - 1);
    put_u16(dst, HDR_UPPER_OFF, upper + len);
    // The gap, then the entries below the removed one (moved up), then those above it.
    dst[new_lower..upper + len].fill(0);
    dst[upper + len..off + len].copy_from_slice(&src[upper..off]);
    dst[off + len..].copy_from_slice(&src[off + len..]);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{self, Node};
    use proptest::prelude::*;

    fn leaf_page(size: usize, entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut p = vec![0xAB; size];
        node::init(&mut p, KIND_LEAF, 7);
        for (k, v) in entries {
            assert!(node::push_leaf(&mut p, k, VAL_INLINE, v));
        }
        p
    }

    /// The entries of a leaf page, in slot order.
    fn entries(p: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let n = Node::new(7, p).unwrap();
        (0..n.len())
            .map(|i| {
                let e = n.leaf(i).unwrap();
                (e.key.to_vec(), e.val.to_vec())
            })
            .collect()
    }

    proptest! {
        /// The fused copy equals a whole copy followed by `node::remove`, byte for byte
        /// outside the gap, with a zero gap; entries are first inserted in a shuffled
        /// order and some removed, so the entry area is not in key order.
        #[test]
        fn copy_without_equals_copy_then_remove(
            n in 1usize..20,
            vlen in 0usize..40,
            order_seed in any::<u64>(),
            drop_some in proptest::collection::vec(any::<bool>(), 20),
            idx_seed in any::<usize>(),
        ) {
            let all: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
                .map(|i| (format!("k{i:03}").into_bytes(), vec![i as u8; vlen + i % 3]))
                .collect();
            let mut p = vec![0xCD; 1024];
            node::init(&mut p, KIND_LEAF, 7);
            let mut order: Vec<usize> = (0..n).collect();
            let mut x = order_seed | 1;
            for i in (1..n).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut present: Vec<usize> = Vec::new();
            for &i in &order {
                let pos = present.partition_point(|&j| j < i);
                let (k, v) = &all[i];
                prop_assert!(node::insert(&mut p, pos, &node::leaf_entry(k, VAL_INLINE, v)));
                present.insert(pos, i);
            }
            for (j, d) in drop_some.iter().enumerate().take(n) {
                if *d && present.len() > 1 {
                    if let Some(pos) = present.iter().position(|&i| i == j) {
                        let len = Node::new(7, &p).unwrap().raw_entry(pos).unwrap().len();
                        node::remove(&mut p, pos, len);
                        present.remove(pos);
                    }
                }
            }
            let idx = idx_seed % present.len();
            let len = Node::new(7, &p).unwrap().raw_entry(idx).unwrap().len();
            let mut want = p.clone();
            node::remove(&mut want, idx, len);
            // Stale bytes in the buffer (a reused slot) must all be overwritten.
            let mut got = vec![0xCD; p.len()];
            prop_assert!(copy_without(&p, idx, len, &mut got));
            prop_assert_eq!(got.len(), p.len());
            prop_assert_eq!(entries(&got), entries(&want));
            let (lower, upper) = bounds(&want).unwrap();
            prop_assert_eq!(&got[..lower], &want[..lower]);
            prop_assert_eq!(&got[upper..], &want[upper..]);
            prop_assert!(got[lower..upper].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn copy_page_zeroes_the_gap_only() {
        let e: Vec<(Vec<u8>, Vec<u8>)> = (0..5u8).map(|i| (vec![b'a' + i], vec![i; 30])).collect();
        let p = leaf_page(512, &e);
        let mut c = vec![0xCD; p.len()];
        copy_page(&p, &mut c);
        let (lower, upper) = bounds(&p).unwrap();
        assert_eq!(c.len(), p.len());
        assert_eq!(&c[..lower], &p[..lower]);
        assert_eq!(&c[upper..], &p[upper..]);
        assert!(c[lower..upper].iter().all(|&b| b == 0));
        assert!(p[lower..upper].iter().all(|&b| b == 0xAB));
    }

    #[test]
    fn damaged_pages_are_copied_whole_or_refused() {
        let e: Vec<(Vec<u8>, Vec<u8>)> = (0..3u8).map(|i| (vec![b'a' + i], vec![i; 9])).collect();
        let mut p = leaf_page(256, &e);
        put_u16(&mut p, HDR_UPPER_OFF, 300);
        let mut c = vec![0xCD; p.len()];
        copy_page(&p, &mut c);
        assert_eq!(c, p);
        let mut d = vec![0xCD; p.len()];
        assert!(!copy_without(&p, 0, 12, &mut d));
    }
}
