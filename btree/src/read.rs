//! Read-only tree operations: lookups, list membership and counts, and the order statistics
//! (rank of a key, entry at a rank) that the counted branch entries make O(log n).

use levin_pager::{Pgno, TreeInfo};

use crate::error::{BtreeError, Result};
use crate::layout::*;
use crate::list::{self, InlineList};
use crate::node::{entry_count, LeafEntry, Node};
use crate::store::PageSource;

/// Decodes an overflow reference: first page and value length.
pub fn overflow_ref(pgno: Pgno, val: &[u8]) -> Result<(Pgno, u64)> {
    if val.len() != OVERFLOW_REF_SIZE {
        return Err(BtreeError::corrupted(
            pgno,
            "overflow reference of the wrong size",
        ));
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(&val[..8]);
    let p = u64::from_le_bytes(a);
    a.copy_from_slice(&val[8..]);
    Ok((p, u64::from_le_bytes(a)))
}

/// The bytes of a plain value (inline or in its overflow run).
pub fn plain_value<'s, S: PageSource + ?Sized>(
    s: &'s S,
    pgno: Pgno,
    e: &LeafEntry<'s>,
) -> Result<&'s [u8]> {
    match e.kind {
        VAL_INLINE => Ok(e.val),
        VAL_OVERFLOW => {
            let (p, len) = overflow_ref(pgno, e.val)?;
            let n = Limits::new(s.page_size()).overflow_pages(len);
            let run = s.pages(p, n)?;
            if run[HDR_KIND_OFF] != KIND_OVERFLOW {
                return Err(BtreeError::corrupted(
                    p,
                    "overflow reference points at a page that is not an overflow page",
                ));
            }
            Ok(&run[PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + len as usize])
        }
        _ => Err(BtreeError::corrupted(
            pgno,
            "expected a plain value, found a list",
        )),
    }
}

/// Finds the leaf entry for `key`, with the page it lives in.
pub fn find<'s, S: PageSource + ?Sized>(
    s: &'s S,
    info: &TreeInfo,
    key: &[u8],
) -> Result<Option<(Pgno, LeafEntry<'s>)>> {
    if info.root == 0 {
        return Ok(None);
    }
    let mut pgno = info.root;
    for level in 0..64 {
        let n = Node::new(pgno, s.page(pgno)?)?;
        if n.is_leaf() {
            return Ok(match n.search_leaf(key)? {
                Ok(i) => Some((pgno, n.leaf(i)?)),
                Err(_) => None,
            });
        }
        pgno = n.branch(n.search_branch(key)?)?.child;
        if level + 2 == info.depth as usize {
            crate::cursor::prefetch_leaf(s, pgno);
        }
    }
    Err(BtreeError::corrupted(
        pgno,
        "tree deeper than 64 levels: a cycle of pages",
    ))
}

/// The last key of a tree, found by one descent along the rightmost edge.
pub fn last_key<'s, S: PageSource + ?Sized>(s: &'s S, info: &TreeInfo) -> Result<Option<&'s [u8]>> {
    if info.root == 0 {
        return Ok(None);
    }
    let mut pgno = info.root;
    for _ in 0..64 {
        let n = Node::new(pgno, s.page(pgno)?)?;
        if n.is_empty() {
            return Err(BtreeError::corrupted(pgno, "empty page inside a tree"));
        }
        if n.is_leaf() {
            return Ok(Some(n.leaf(n.len() - 1)?.key));
        }
        pgno = n.branch(n.len() - 1)?.child;
    }
    Err(BtreeError::corrupted(
        pgno,
        "tree deeper than 64 levels: a cycle of pages",
    ))
}

/// The value of `key` (for a list tree, its first value).
pub fn get<'s, S: PageSource + ?Sized>(
    s: &'s S,
    info: &TreeInfo,
    key: &[u8],
) -> Result<Option<&'s [u8]>> {
    match find(s, info, key)? {
        None => Ok(None),
        Some((pgno, e)) => match e.kind {
            VAL_LIST => Ok(Some(InlineList::parse(pgno, e.val)?.items[0])),
            VAL_TREE => {
                let t = list::tree_info(pgno, e.val)?;
                let mut c = crate::cursor::Cursor::new(s, &t);
                c.first()?;
                Ok(c.current()?.map(|(k, _)| k))
            }
            _ => plain_value(s, pgno, &e).map(Some),
        },
    }
}

/// True if `value` is in the list of `key`.
pub fn list_contains<S: PageSource + ?Sized>(
    s: &S,
    info: &TreeInfo,
    key: &[u8],
    value: &[u8],
) -> Result<bool> {
    match find(s, info, key)? {
        None => Ok(false),
        Some((pgno, e)) => match e.kind {
            VAL_LIST => Ok(InlineList::parse(pgno, e.val)?
                .items
                .binary_search(&value)
                .is_ok()),
            VAL_TREE => Ok(find(s, &list::tree_info(pgno, e.val)?, value)?.is_some()),
            _ => Err(BtreeError::corrupted(
                pgno,
                "list lookup found a plain value",
            )),
        },
    }
}

/// Number of values of `key` (1 for a plain value, 0 if absent).
pub fn list_count<S: PageSource + ?Sized>(s: &S, info: &TreeInfo, key: &[u8]) -> Result<u64> {
    match find(s, info, key)? {
        None => Ok(0),
        Some((pgno, e)) => entry_count(pgno, &e),
    }
}

/// Number of entries (pairs, in a list tree) whose key is < `key` (or <= with `inclusive`).
pub fn rank<S: PageSource + ?Sized>(
    s: &S,
    info: &TreeInfo,
    key: &[u8],
    inclusive: bool,
) -> Result<u64> {
    if info.root == 0 {
        return Ok(0);
    }
    let mut pgno = info.root;
    let mut acc = 0u64;
    for _ in 0..64 {
        let n = Node::new(pgno, s.page(pgno)?)?;
        if n.is_leaf() {
            let (idx, hit) = match n.search_leaf(key)? {
                Ok(i) => (i, true),
                Err(i) => (i, false),
            };
            for i in 0..idx {
                acc = add_count(pgno, acc, entry_count(pgno, &n.leaf(i)?)?)?;
            }
            if hit && inclusive {
                acc = add_count(pgno, acc, entry_count(pgno, &n.leaf(idx)?)?)?;
            }
            return Ok(acc);
        }
        // Separators partition keys exactly (left keys < separator <= right keys, also when
        // shortened), so the children before the chosen one hold only smaller keys.
        let c = n.search_branch(key)?;
        for i in 0..c {
            acc = add_count(pgno, acc, n.branch(i)?.count)?;
        }
        pgno = n.branch(c)?.child;
    }
    Err(BtreeError::corrupted(
        pgno,
        "tree deeper than 64 levels: a cycle of pages",
    ))
}

/// Number of pairs (k, v) of a list tree with (k, v) < (`key`, `value`) (or <=).
pub fn rank_pair<S: PageSource + ?Sized>(
    s: &S,
    info: &TreeInfo,
    key: &[u8],
    value: &[u8],
    inclusive: bool,
) -> Result<u64> {
    let below = rank(s, info, key, false)?;
    let within = match find(s, info, key)? {
        None => 0,
        Some((pgno, e)) => match e.kind {
            VAL_LIST => {
                let l = InlineList::parse(pgno, e.val)?;
                l.items
                    .iter()
                    .filter(|v| if inclusive { **v <= value } else { **v < value })
                    .count() as u64
            }
            VAL_TREE => rank(s, &list::tree_info(pgno, e.val)?, value, inclusive)?,
            _ => 1,
        },
    };
    Ok(below + within)
}

/// Adds entry counts, reporting an overflow (only possible in a damaged tree) as corruption.
fn add_count(pgno: Pgno, a: u64, b: u64) -> Result<u64> {
    a.checked_add(b)
        .ok_or_else(|| BtreeError::corrupted(pgno, "entry counts overflow: damaged branch counts"))
}
