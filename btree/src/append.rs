//! The append fast path (as LMDB's `MDB_APPEND`): a key that sorts after every key of a
//! plain tree goes to the end of the right-most leaf, found by one descent along the right
//! edge with no key searches. A full page is never split: the new entry starts a new, empty
//! right sibling, so a sorted load leaves every page but the last ones full.

use levin_pager::{Pgno, TreeInfo};

use crate::error::{BtreeError, Result};
use crate::layout::*;
use crate::node::{self, Node};
use crate::store::PageStore;
use crate::tree::{add_delta, check_key};

/// What one level of the descent did.
enum Step {
    /// The entry went in; `split` is set when a new right sibling was started, with its
    /// separator, page and entry count, to be added to the parent.
    Appended {
        pgno: Pgno,
        split: Option<(Vec<u8>, Pgno, u64)>,
    },
    /// The key does not sort after the last key: nothing was added. The pages on the path
    /// were made dirty (copy-on-write) and `pgno` is this page's copy, which its parent
    /// must point to.
    OutOfOrder { pgno: Pgno },
}

/// Puts `key` = `value` as the new last entry of a plain tree. Returns false if `key` does
/// not sort after every key in the tree; then no entry was added (the right edge of the
/// tree may have been copied, and `info` points to the copy).
pub fn append<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    key: &[u8],
    value: &[u8],
) -> Result<bool> {
    let limits = Limits::new(s.page_size());
    check_key(&limits, key)?;
    if value.len() as u64 > (1u64 << 48) {
        return Err(BtreeError::ValueTooLarge {
            len: value.len() as u64,
        });
    }
    if info.root == 0 {
        let p = s.alloc_page()?;
        node::init(s.page_mut(p), KIND_LEAF, p);
        info.root = p;
        info.depth = 1;
        info.leaf_pages += 1;
    }
    match descend(s, info, &limits, info.root, key, value, 0)? {
        Step::OutOfOrder { pgno } => {
            info.root = pgno;
            Ok(false)
        }
        Step::Appended { pgno, split } => {
            info.root = pgno;
            info.entries = add_delta(info.entries, 1, pgno, "the tree's entry count")?;
            if let Some((sep, right, right_total)) = split {
                // The root itself gained a right sibling: a new root above both.
                let left_total = info.entries.checked_sub(right_total).ok_or_else(|| {
                    BtreeError::corrupted(
                        pgno,
                        format!(
                            "the tree holds {} entries but its right half alone {right_total}",
                            info.entries
                        ),
                    )
                })?;
                let p = s.alloc_page()?;
                let page = s.page_mut(p);
                node::init(page, KIND_BRANCH, p);
                node::push(page, &node::branch_entry(&[], pgno, left_total));
                node::push(page, &node::branch_entry(&sep, right, right_total));
                info.root = p;
                info.depth += 1;
                info.branch_pages += 1;
            }
            Ok(true)
        }
    }
}

fn descend<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    limits: &Limits,
    pgno: Pgno,
    key: &[u8],
    value: &[u8],
    depth: usize,
) -> Result<Step> {
    if depth > 64 {
        return Err(BtreeError::corrupted(
            pgno,
            "tree deeper than 64 levels: a cycle of pages",
        ));
    }
    let pgno = s.touch(pgno)?;
    let (is_leaf, idx, child, count) = {
        let n = Node::new(pgno, s.page(pgno)?)?;
        if n.is_empty() {
            if n.is_leaf() && depth == 0 {
                // An empty root leaf (a new tree): nothing to compare with.
                (true, 0, 0, 0)
            } else {
                return Err(BtreeError::corrupted(pgno, "empty page inside a tree"));
            }
        } else if n.is_leaf() {
            let last = n.leaf(n.len() - 1)?.key;
            if last >= key {
                return Ok(Step::OutOfOrder { pgno });
            }
            (true, n.len(), 0, 0)
        } else {
            let i = n.len() - 1;
            let e = n.branch(i)?;
            (false, i, e.child, e.count)
        }
    };
    if is_leaf {
        return append_to_leaf(s, info, limits, pgno, key, value);
    }
    match descend(s, info, limits, child, key, value, depth + 1)? {
        Step::OutOfOrder { pgno: c } => {
            node::set_branch(s.page_mut(pgno), pgno, idx, c, count)?;
            Ok(Step::OutOfOrder { pgno })
        }
        Step::Appended {
            pgno: c,
            split: None,
        } => {
            let count = add_delta(count, 1, pgno, "a branch entry's count")?;
            node::set_branch(s.page_mut(pgno), pgno, idx, c, count)?;
            Ok(Step::Appended { pgno, split: None })
        }
        Step::Appended {
            pgno: c,
            split: Some((sep, right, right_total)),
        } => {
            // The child's own count is unchanged: the new entry is in its new sibling.
            let page = s.page_mut(pgno);
            node::set_branch(page, pgno, idx, c, count)?;
            let entry = node::branch_entry(&sep, right, right_total);
            if node::push(page, &entry) {
                return Ok(Step::Appended { pgno, split: None });
            }
            // This branch page is full too: the sibling's entry starts a new right branch
            // page (as its entry 0, whose key is not stored; it separates the pages instead).
            let p = s.alloc_page()?;
            let page = s.page_mut(p);
            node::init(page, KIND_BRANCH, p);
            node::push(page, &node::branch_entry(&[], right, right_total));
            info.branch_pages += 1;
            Ok(Step::Appended {
                pgno,
                split: Some((sep, p, right_total)),
            })
        }
    }
}

fn append_to_leaf<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    limits: &Limits,
    pgno: Pgno,
    key: &[u8],
    value: &[u8],
) -> Result<Step> {
    let mut ovf = [0u8; OVERFLOW_REF_SIZE];
    let (kind, val) = crate::tree::plain_value(s, info, limits, key, value, &mut ovf)?;
    if node::push_leaf(s.page_mut(pgno), key, kind, val) {
        return Ok(Step::Appended { pgno, split: None });
    }
    // Full: keep it full and start the right sibling with the new entry. The separator is
    // the shortest prefix of the new key that sorts after the page's last key.
    let sep = {
        let n = Node::new(pgno, s.page(pgno)?)?;
        let last = n.leaf(n.len() - 1)?.key;
        let common = key.iter().zip(last).take_while(|(a, b)| a == b).count();
        key[..(common + 1).min(key.len())].to_vec()
    };
    let right = s.alloc_page()?;
    let page = s.page_mut(right);
    node::init(page, KIND_LEAF, right);
    if !node::push_leaf(page, key, kind, val) {
        return Err(BtreeError::corrupted(
            right,
            "an entry of at most the maximum size does not fit an empty page",
        ));
    }
    info.leaf_pages += 1;
    Ok(Step::Appended {
        pgno,
        split: Some((sep, right, 1)),
    })
}
