//! Merging a child page into a sibling after a removal: always when the child is under a
//! quarter full and the two fit in one page; and, for a leaf at most half full, when a
//! neighbouring leaf is already dirty in this transaction and the two fit with room to spare.
//!
//! Reason for the second rule: deletes spread over a tree leave many leaves half empty, and
//! the commit writes, checksums and syncs every dirty leaf. Two dirty neighbours merged are
//! one page to write instead of two, and the freed page (allocated in this transaction)
//! returns at once to the transaction's pool, where the next copy-on-write takes it, so the
//! file grows less. A clean neighbour is left alone: merging into it would copy it and write
//! it too, saving nothing. The room kept free in a merged leaf (1/32 of the usable bytes) is
//! hysteresis: the next insert into it need not split it straight away.
//!
//! Invariants kept by `merge_children`: the left child's branch count becomes the sum of
//! both, the right child's entry leaves the parent, the tree's page counts drop by one, and
//! the right child goes back through [`PageStore::free`].

use levin_pager::{Pgno, TreeInfo};

use crate::error::{BtreeError, Result};
use crate::layout::PAGE_HEADER_SIZE;
use crate::node::{self, Node};
use crate::store::PageStore;
use crate::tree::sub_count;

/// A leaf merged into a dirty neighbour keeps at least 1 / `ROOM_DIV` of its usable bytes free.
pub const ROOM_DIV: usize = 32;

/// Merges child `idx` of dirty branch `parent` with a sibling when both fit in one page, or
/// drops it when empty. Returns true if the parent lost an entry.
pub(crate) fn rebalance<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    parent: Pgno,
    idx: usize,
) -> Result<bool> {
    let usable = s.page_size() - PAGE_HEADER_SIZE;
    let (n, child) = {
        let p = Node::new(parent, s.page(parent)?)?;
        (p.len(), p.branch(idx)?.child)
    };
    let (child_leaf, child_empty) = {
        let c = Node::new(child, s.page(child)?)?;
        (c.is_leaf(), c.is_empty())
    };
    if child_empty {
        drop_child(s, info, parent, idx, child, child_leaf)?;
        return Ok(true);
    }
    if n < 2 {
        return Ok(false);
    }
    // With its left sibling, or the right one for the first child.
    merge_children(s, info, parent, idx.saturating_sub(1), usable)
}

/// Merges leaf child `idx` of dirty branch `parent` (a dirty leaf at most half full) with
/// its left or else its right neighbour, if that neighbour is dirty too and the two fit in
/// the usable bytes less the room kept free. Returns true if it merged.
pub(crate) fn merge_with_dirty_sibling<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    parent: Pgno,
    idx: usize,
) -> Result<bool> {
    let usable = s.page_size() - PAGE_HEADER_SIZE;
    let room = usable - usable / ROOM_DIV;
    let (n, child, left, right) = {
        let p = Node::new(parent, s.page(parent)?)?;
        let n = p.len();
        let left = match idx.checked_sub(1) {
            Some(l) => Some(p.branch(l)?.child),
            None => None,
        };
        let right = if idx + 1 < n {
            Some(p.branch(idx + 1)?.child)
        } else {
            None
        };
        (n, p.branch(idx)?.child, left, right)
    };
    if n < 2 {
        return Ok(false);
    }
    let used = Node::new(child, s.page(child)?)?.used();
    for (sib, l) in [(left, idx.saturating_sub(1)), (right, idx)] {
        let Some(sib) = sib else { continue };
        if !s.is_dirty(sib) {
            continue;
        }
        let sn = Node::new(sib, s.page(sib)?)?;
        if sn.is_leaf() && sn.used() + used <= room {
            return merge_children(s, info, parent, l, room);
        }
    }
    Ok(false)
}

/// Merges child `l + 1` of dirty branch `parent` into child `l` if the two fit in `room`
/// bytes (at most a page's usable bytes): the right child's entries are appended to the left
/// child (made dirty if it is not), the right child is freed and its branch entry removed,
/// and the left child's count becomes the sum. Returns whether it merged.
fn merge_children<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    parent: Pgno,
    l: usize,
    room: usize,
) -> Result<bool> {
    let r = l + 1;
    let (lchild, rchild, sep, rcount, lcount) = {
        let p = Node::new(parent, s.page(parent)?)?;
        let le = p.branch(l)?;
        let re = p.branch(r)?;
        (le.child, re.child, re.key.to_vec(), re.count, le.count)
    };
    let (lused, rused, rkey0, leaves) = {
        let ln = Node::new(lchild, s.page(lchild)?)?;
        let rn = Node::new(rchild, s.page(rchild)?)?;
        if ln.is_leaf() != rn.is_leaf() {
            return Err(BtreeError::corrupted(
                parent,
                "a leaf and a branch page are children of one page",
            ));
        }
        let k0 = if rn.is_leaf() {
            0
        } else {
            rn.branch(0)?.key.len()
        };
        (ln.used(), rn.used(), k0, rn.is_leaf())
    };
    // A branch page's first entry has no key; moved, it takes the separator as its key.
    let extra = if leaves {
        0
    } else {
        sep.len() as isize - rkey0 as isize
    };
    if (lused + rused) as isize + extra > room as isize {
        return Ok(false);
    }
    let lchild = s.touch(lchild)?;
    // The right page's entries, back to back in one buffer (the two pages cannot be
    // borrowed from the store at once).
    let (moved, ends) = {
        let rn = Node::new(rchild, s.page(rchild)?)?;
        let mut bytes = Vec::with_capacity(rused);
        let mut ends = Vec::with_capacity(rn.len());
        for i in 0..rn.len() {
            let raw = rn.raw_entry(i)?;
            if i == 0 && !leaves {
                bytes.extend_from_slice(&node::branch_entry_with_key(raw, &sep));
            } else {
                bytes.extend_from_slice(raw);
            }
            ends.push(bytes.len());
        }
        (bytes, ends)
    };
    {
        let page = s.page_mut(lchild);
        let mut start = 0;
        for &end in &ends {
            let ok = node::push(page, &moved[start..end]);
            debug_assert!(ok, "merge was checked to fit");
            start = end;
        }
    }
    drop_child(s, info, parent, r, rchild, leaves)?;
    let merged_count = lcount.checked_add(rcount).ok_or_else(|| {
        BtreeError::corrupted(
            parent,
            format!("child counts {lcount} and {rcount} add up past u64: a count is damaged"),
        )
    })?;
    node::set_branch(s.page_mut(parent), parent, l, lchild, merged_count)?;
    Ok(true)
}

/// Frees `child` (a leaf if `leaf`), the page of entry `idx` of dirty branch `parent`, and
/// removes that entry, keeping the tree's page counts.
fn drop_child<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    parent: Pgno,
    idx: usize,
    child: Pgno,
    leaf: bool,
) -> Result<()> {
    s.free(child, 1);
    if leaf {
        info.leaf_pages = sub_count(info.leaf_pages, 1, parent, "the tree's leaf page count")?;
    } else {
        info.branch_pages =
            sub_count(info.branch_pages, 1, parent, "the tree's branch page count")?;
    }
    let len = Node::new(parent, s.page(parent)?)?.raw_entry(idx)?.len();
    node::remove(s.page_mut(parent), idx, len);
    Ok(())
}
