//! Copy-on-write B+tree updates: put, delete and list-value add/remove, with splits, merges
//! and the per-child entry counts of branch pages kept exact on every path.
//!
//! Every update touches (copies) the pages on its root-to-leaf path first, so a committed
//! snapshot is never modified; see [`PageStore`].

use levin_pager::{Pgno, TreeInfo};

use crate::copy;
use crate::error::{BtreeError, Result};
use crate::layout::*;
use crate::list::{self, InlineList};
use crate::node::{self, entry_count, Node};
use crate::read;
use crate::rebalance;
use crate::store::{PageSource, PageStore};

/// What a put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    /// The key was new.
    Inserted,
    /// The key existed; its value was replaced.
    Replaced,
}

#[derive(Clone, Copy)]
enum Op<'a> {
    Put {
        value: &'a [u8],
        append: bool,
    },
    Delete,
    ListAdd(&'a [u8]),
    /// Adds several values to one key's list (sorted and without duplicates); with
    /// `append`, the key sorts after every key in the tree.
    ListAddMany {
        values: &'a [&'a [u8]],
        append: bool,
    },
    ListRemove(&'a [u8]),
}

struct Split {
    sep: Vec<u8>,
    right: Pgno,
    right_total: u64,
}

struct Outcome {
    /// The page after copy-on-write.
    pgno: Pgno,
    /// Change in the number of entries below.
    delta: i64,
    /// Set when the page split: its new total and the right sibling.
    split: Option<(u64, Split)>,
    /// The page is less than a quarter full (or empty) and should be merged.
    underfull: bool,
    /// A leaf that lost entries and is at most half full: it may be merged into a dirty
    /// neighbour (see [`crate::rebalance`]).
    sparse: bool,
    replaced: bool,
    /// Something below changed. Pages are made dirty (copied) only on the way back up
    /// from a change, so an operation that changes nothing (deleting an absent key,
    /// adding a value already present) copies no page and needs no separate look-up first.
    changed: bool,
}

/// `count + delta`, or a corruption error when a stored count is so large (or a removal
/// so much larger than the count) that the sum leaves `u64`: a valid tree never holds
/// more entries than pages can describe, so such a count can only come from damage.
pub(crate) fn add_delta(count: u64, delta: i64, page: Pgno, what: &str) -> Result<u64> {
    count.checked_add_signed(delta).ok_or_else(|| {
        BtreeError::corrupted(
            page,
            format!("{what} {count} cannot change by {delta}: the stored count is damaged"),
        )
    })
}

/// `count - n` for a stored page count or depth, or a corruption error when the stored
/// count is smaller than what is being taken off (a damaged descriptor in `page`).
pub(crate) fn sub_count(count: u64, n: u64, page: Pgno, what: &str) -> Result<u64> {
    count.checked_sub(n).ok_or_else(|| {
        BtreeError::corrupted(
            page,
            format!("{what} {count} cannot drop by {n}: the stored count is damaged"),
        )
    })
}

/// A stored entry count as a signed delta, or a corruption error past `i64::MAX`.
fn signed_count(count: u64, page: Pgno) -> Result<i64> {
    i64::try_from(count).map_err(|_| {
        BtreeError::corrupted(
            page,
            format!("entry count {count} is past what a tree can hold"),
        )
    })
}

impl Outcome {
    fn unchanged(pgno: Pgno) -> Outcome {
        Outcome {
            pgno,
            delta: 0,
            split: None,
            underfull: false,
            sparse: false,
            replaced: false,
            changed: false,
        }
    }

    /// Makes the page dirty before its first change; returns its (possibly new) number.
    fn touch<S: PageStore>(&mut self, s: &mut S) -> Result<Pgno> {
        if !self.changed {
            self.pgno = s.touch(self.pgno)?;
            self.changed = true;
        }
        Ok(self.pgno)
    }

    /// Removes leaf entry `i` of `len` bytes (checked by the caller), making the page dirty
    /// first: a page not yet dirty is copied without the entry in one pass.
    fn remove<S: PageStore>(&mut self, s: &mut S, i: usize, len: usize) -> Result<Pgno> {
        if !self.changed {
            let from = self.pgno;
            let (p, copied) = s.touch_with(from, |src, dst| {
                if copy::copy_without(src, i, len, dst) {
                    Ok(())
                } else {
                    Err(BtreeError::corrupted(from, format!("entry {i} is damaged")))
                }
            })?;
            self.pgno = p;
            self.changed = true;
            if copied {
                return Ok(p);
            }
        }
        node::remove(s.page_mut(self.pgno), i, len);
        Ok(self.pgno)
    }
}

/// Checks a key's length against the page size (the empty key is a key like any other:
/// the smallest).
pub fn check_key(limits: &Limits, key: &[u8]) -> Result<()> {
    if key.len() > limits.max_key {
        return Err(BtreeError::KeyTooLong {
            len: key.len(),
            max: limits.max_key,
            page_size: limits.page_size,
        });
    }
    Ok(())
}

/// Checks a list value's length against the page size.
pub(crate) fn check_list_value(limits: &Limits, v: &[u8]) -> Result<()> {
    if v.len() > limits.max_key {
        return Err(BtreeError::ListValueTooLong {
            len: v.len(),
            max: limits.max_key,
            page_size: limits.page_size,
        });
    }
    Ok(())
}

/// Puts `key` = `value` into a plain tree. With `append`, the caller promises `key` sorts
/// after every key in the tree, and pages are split so that they stay full.
pub fn put<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    key: &[u8],
    value: &[u8],
    append: bool,
) -> Result<PutStatus> {
    let limits = Limits::new(s.page_size());
    check_key(&limits, key)?;
    if value.len() as u64 > (1u64 << 48) {
        return Err(BtreeError::ValueTooLarge {
            len: value.len() as u64,
        });
    }
    let replaced = apply(s, info, key, Op::Put { value, append })?;
    Ok(if replaced {
        PutStatus::Replaced
    } else {
        PutStatus::Inserted
    })
}

/// Deletes `key` (and, in a list tree, all its values). Returns the number of entries removed.
pub fn delete<S: PageStore>(s: &mut S, info: &mut TreeInfo, key: &[u8]) -> Result<u64> {
    if info.root == 0 || key.len() > Limits::new(s.page_size()).max_key {
        return Ok(0);
    }
    // One descent: an absent key changes (and copies) nothing.
    let before = info.entries;
    apply(s, info, key, Op::Delete)?;
    Ok(before - info.entries)
}

/// Adds `value` to the list of `key`. Returns false if it was already there.
pub fn list_add<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    key: &[u8],
    value: &[u8],
) -> Result<bool> {
    let limits = Limits::new(s.page_size());
    check_key(&limits, key)?;
    check_list_value(&limits, value)?;
    // No membership check first: adding is the common case, and adding a value that is
    // already present changes nothing but the copied path.
    let before = info.entries;
    apply(s, info, key, Op::ListAdd(value))?;
    Ok(info.entries > before)
}

/// Adds each of `values` to the list of `key` with one descent of the tree (and one
/// rewrite of an inline list); returns how many were not already there. The values may
/// come in any order and repeat.
pub fn list_add_many<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    key: &[u8],
    values: &[&[u8]],
) -> Result<u64> {
    let limits = Limits::new(s.page_size());
    check_key(&limits, key)?;
    for v in values {
        check_list_value(&limits, v)?;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.is_empty() {
        return Ok(0);
    }
    // A key after every key (as when loading in key order) is appended: pages then split
    // full instead of in the middle.
    let append = read::last_key(&*s, info)?.is_none_or(|last| key > last);
    let before = info.entries;
    apply(
        s,
        info,
        key,
        Op::ListAddMany {
            values: &sorted,
            append,
        },
    )?;
    Ok(info.entries - before)
}

/// Removes `value` from the list of `key`. Returns false if it was not there.
pub fn list_remove<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    key: &[u8],
    value: &[u8],
) -> Result<bool> {
    if key.len() > Limits::new(s.page_size()).max_key {
        return Ok(false);
    }
    // One descent: an absent value changes (and copies) nothing.
    let before = info.entries;
    apply(s, info, key, Op::ListRemove(value))?;
    Ok(info.entries < before)
}

/// Frees every page of a tree (and of its overflow runs and nested trees) and empties it.
pub fn clear<S: PageStore>(s: &mut S, info: &mut TreeInfo) -> Result<()> {
    if info.root != 0 {
        free_subtree(s, info.root, 0)?;
    }
    *info = TreeInfo::empty(info.flags);
    Ok(())
}

/// Trees are never this deep (64 levels of at least two entries); a deeper walk means a
/// cycle of pages in a damaged file, reported instead of recursing until the stack ends.
const MAX_DEPTH: usize = 64;

fn too_deep(pgno: Pgno) -> BtreeError {
    BtreeError::corrupted(pgno, "tree deeper than 64 levels: a cycle of pages")
}

fn free_subtree<S: PageStore>(s: &mut S, pgno: Pgno, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(too_deep(pgno));
    }
    let mut children = Vec::new();
    let mut runs = Vec::new();
    {
        let n = Node::new(pgno, s.page(pgno)?)?;
        for i in 0..n.len() {
            if n.is_leaf() {
                let e = n.leaf(i)?;
                match e.kind {
                    VAL_OVERFLOW => {
                        let (p, len) = read::overflow_ref(pgno, e.val)?;
                        runs.push((p, Limits::new(s.page_size()).overflow_pages(len)));
                    }
                    VAL_TREE => {
                        let t = list::tree_info(pgno, e.val)?;
                        if t.root != 0 {
                            children.push(t.root);
                        }
                    }
                    _ => {}
                }
            } else {
                children.push(n.branch(i)?.child);
            }
        }
    }
    for c in children {
        free_subtree(s, c, depth + 1)?;
    }
    for (p, n) in runs {
        s.free(p, n);
    }
    s.free(pgno, 1);
    Ok(())
}

fn apply<S: PageStore>(s: &mut S, info: &mut TreeInfo, key: &[u8], op: Op<'_>) -> Result<bool> {
    if info.root == 0 {
        if matches!(op, Op::Delete | Op::ListRemove(_)) {
            return Ok(false);
        }
        let p = s.alloc_page()?;
        node::init(s.page_mut(p), KIND_LEAF, p);
        info.root = p;
        info.depth = 1;
        info.leaf_pages += 1;
    }
    let out = modify(s, info, info.root, key, op, 0)?;
    info.root = out.pgno;
    info.entries = add_delta(info.entries, out.delta, info.root, "the tree's entry count")?;
    if let Some((left_total, split)) = out.split {
        let p = s.alloc_page()?;
        let page = s.page_mut(p);
        node::init(page, KIND_BRANCH, p);
        node::push(page, &node::branch_entry(&[], out.pgno, left_total));
        node::push(
            page,
            &node::branch_entry(&split.sep, split.right, split.right_total),
        );
        info.root = p;
        info.depth += 1;
        info.branch_pages += 1;
    } else {
        collapse_root(s, info)?;
    }
    Ok(out.replaced)
}

fn collapse_root<S: PageStore>(s: &mut S, info: &mut TreeInfo) -> Result<()> {
    for _ in 0..=MAX_DEPTH {
        let n = Node::new(info.root, s.page(info.root)?)?;
        if n.is_leaf() {
            if n.is_empty() {
                s.free(info.root, 1);
                *info = TreeInfo {
                    overflow_pages: info.overflow_pages,
                    ..TreeInfo::empty(info.flags)
                };
            }
            return Ok(());
        }
        match n.len() {
            0 => {
                s.free(info.root, 1);
                *info = TreeInfo {
                    overflow_pages: info.overflow_pages,
                    ..TreeInfo::empty(info.flags)
                };
                return Ok(());
            }
            1 => {
                let child = n.branch(0)?.child;
                let root = info.root;
                info.depth = info.depth.checked_sub(1).ok_or_else(|| {
                    BtreeError::corrupted(root, "the tree's depth 0 cannot drop by 1")
                })?;
                info.branch_pages =
                    sub_count(info.branch_pages, 1, root, "the tree's branch page count")?;
                s.free(root, 1);
                info.root = child;
            }
            _ => return Ok(()),
        }
    }
    Err(too_deep(info.root))
}

fn is_underfull(s: &impl PageSource, pgno: Pgno) -> Result<bool> {
    Ok(fill(s, pgno)?.0)
}

/// Whether page `pgno` is underfull (empty or under a quarter of its usable bytes) and
/// whether it is at most half full.
fn fill(s: &impl PageSource, pgno: Pgno) -> Result<(bool, bool)> {
    let n = Node::new(pgno, s.page(pgno)?)?;
    let usable = s.page_size() - PAGE_HEADER_SIZE;
    Ok((
        n.is_empty() || n.used() < usable / 4,
        n.used() <= usable / 2,
    ))
}

fn modify<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    pgno: Pgno,
    key: &[u8],
    op: Op<'_>,
    depth: usize,
) -> Result<Outcome> {
    if depth > MAX_DEPTH {
        return Err(too_deep(pgno));
    }
    // Read-only on the way down: the page is copied only if the child changed.
    let (is_leaf, idx, child, old_count) = {
        let n = Node::new(pgno, s.page(pgno)?)?;
        if n.is_leaf() {
            (true, 0, 0, 0)
        } else {
            let i = n.search_branch(key)?;
            let e = n.branch(i)?;
            (false, i, e.child, e.count)
        }
    };
    if is_leaf {
        return modify_leaf(s, info, pgno, key, op);
    }
    if depth + 2 == info.depth as usize {
        // The child is a leaf, rarely in the cache: start loading all of it now, so that
        // the misses of its search (and of its copy) overlap instead of following one
        // another. Branch pages are few and usually cached; prefetching them too cost more
        // than it saved.
        if let Ok(p) = s.page(child) {
            levin_pager::prefetch::prefetch(p);
        }
    }
    let out = modify(s, info, child, key, op, depth + 1)?;
    if !out.changed {
        return Ok(Outcome::unchanged(pgno));
    }
    let pgno = s.touch(pgno)?;
    let mut result = Outcome {
        pgno,
        delta: out.delta,
        split: None,
        underfull: false,
        sparse: false,
        replaced: out.replaced,
        changed: true,
    };
    let mut merged = false;
    match out.split {
        Some((left_total, split)) => {
            node::set_branch(s.page_mut(pgno), pgno, idx, out.pgno, left_total)?;
            let entry = node::branch_entry(&split.sep, split.right, split.right_total);
            let append = matches!(
                op,
                Op::Put { append: true, .. } | Op::ListAddMany { append: true, .. }
            );
            result.split = place(s, info, pgno, idx + 1, entry, append)?;
        }
        None => {
            let count = add_delta(old_count, out.delta, pgno, "a branch entry's count")?;
            node::set_branch(s.page_mut(pgno), pgno, idx, out.pgno, count)?;
            if out.underfull {
                merged = rebalance::rebalance(s, info, pgno, idx)?;
            } else if out.sparse {
                merged = rebalance::merge_with_dirty_sibling(s, info, pgno, idx)?;
            }
        }
    }
    // This page lost entries only if a child was merged away or dropped. An underfull
    // child is passed up even when it could not be merged (its parent may hold only it).
    if result.split.is_none() && (out.underfull || merged) {
        result.underfull = is_underfull(s, pgno)?;
    }
    Ok(result)
}

/// Inserts a raw entry at `idx` of dirty page `pgno`, splitting the page if it does not fit.
/// Returns the split (left total, right sibling) if one happened.
fn place<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    pgno: Pgno,
    idx: usize,
    entry: Vec<u8>,
    append: bool,
) -> Result<Option<(u64, Split)>> {
    if node::insert(s.page_mut(pgno), idx, &entry) {
        return Ok(None);
    }
    split(s, info, pgno, idx, entry, append).map(Some)
}

fn total_of(s: &impl PageSource, pgno: Pgno) -> Result<u64> {
    let n = Node::new(pgno, s.page(pgno)?)?;
    let mut t = 0;
    for i in 0..n.len() {
        t += if n.is_leaf() {
            entry_count(pgno, &n.leaf(i)?)?
        } else {
            n.branch(i)?.count
        };
    }
    Ok(t)
}

fn split<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    pgno: Pgno,
    idx: usize,
    entry: Vec<u8>,
    append: bool,
) -> Result<(u64, Split)> {
    let usable = s.page_size() - PAGE_HEADER_SIZE;
    let (is_leaf, mut entries) = {
        let n = Node::new(pgno, s.page(pgno)?)?;
        let mut v = Vec::with_capacity(n.len() + 1);
        for i in 0..n.len() {
            v.push(n.raw_entry(i)?.to_vec());
        }
        (n.is_leaf(), v)
    };
    entries.insert(idx, entry);
    let sizes: Vec<usize> = entries.iter().map(|e| e.len() + SLOT_SIZE).collect();
    let total: usize = sizes.iter().sum();
    // Split point m: entries[..m] stay, entries[m..] move right. Appends at the end keep the
    // left page full; otherwise split by bytes near the middle.
    let mut m = if append && idx == entries.len() - 1 {
        entries.len() - 1
    } else {
        let mut acc = 0;
        let mut m = 0;
        while m < entries.len() && acc + sizes[m] <= total / 2 {
            acc += sizes[m];
            m += 1;
        }
        m
    };
    // A valid page always splits: it held entries that fit, plus one of at most half a
    // page. Only a damaged page (a header claiming no room) can fail these bounds.
    let damaged = || {
        BtreeError::corrupted(
            pgno,
            "page cannot be split: its header or entries are damaged",
        )
    };
    if entries.len() < 2 {
        return Err(damaged());
    }
    m = m.clamp(1, entries.len() - 1);
    while m > 1 && sizes[..m].iter().sum::<usize>() > usable {
        m -= 1;
    }
    while m + 1 < entries.len() && sizes[m..].iter().sum::<usize>() > usable {
        m += 1;
    }
    if sizes[..m].iter().sum::<usize>() > usable || sizes[m..].iter().sum::<usize>() > usable {
        return Err(damaged());
    }
    let kind = if is_leaf { KIND_LEAF } else { KIND_BRANCH };
    let right = s.alloc_page()?;
    if is_leaf {
        info.leaf_pages += 1;
    } else {
        info.branch_pages += 1;
    }
    let sep: Vec<u8>;
    {
        let page = s.page_mut(pgno);
        node::init(page, kind, pgno);
        for e in &entries[..m] {
            node::push(page, e);
        }
    }
    {
        let page = s.page_mut(right);
        node::init(page, kind, right);
        if is_leaf {
            let first = leaf_key(&entries[m]);
            let last = leaf_key(&entries[m - 1]);
            // The shortest prefix of the right page's first key that sorts after the left
            // page's last key separates them.
            let common = first.iter().zip(last).take_while(|(a, b)| a == b).count();
            sep = first[..(common + 1).min(first.len())].to_vec();
            for e in &entries[m..] {
                node::push(page, e);
            }
        } else {
            sep = branch_key(&entries[m]).to_vec();
            node::push(page, &node::branch_entry_with_key(&entries[m], &[]));
            for e in &entries[m + 1..] {
                node::push(page, e);
            }
        }
    }
    let left_total = total_of(s, pgno)?;
    let right_total = total_of(s, right)?;
    Ok((
        left_total,
        Split {
            sep,
            right,
            right_total,
        },
    ))
}

fn leaf_key(raw: &[u8]) -> &[u8] {
    let klen = u16::from_le_bytes([raw[0], raw[1]]) as usize;
    &raw[LEAF_ENTRY_HEADER..LEAF_ENTRY_HEADER + klen]
}

fn branch_key(raw: &[u8]) -> &[u8] {
    let klen = u16::from_le_bytes([raw[0], raw[1]]) as usize;
    &raw[BRANCH_ENTRY_HEADER..BRANCH_ENTRY_HEADER + klen]
}

fn modify_leaf<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    pgno: Pgno,
    key: &[u8],
    op: Op<'_>,
) -> Result<Outcome> {
    let limits = Limits::new(s.page_size());
    // Searched read-only; `out.touch` copies the page before its first change.
    let found = Node::new(pgno, s.page(pgno)?)?.search_leaf(key)?;
    let mut out = Outcome::unchanged(pgno);
    match op {
        Op::Put { value, append } => {
            let pgno = out.touch(s)?;
            let idx = match found {
                Ok(i) => {
                    remove_entry(s, info, pgno, i, true)?;
                    out.replaced = true;
                    i
                }
                Err(i) => {
                    out.delta = 1;
                    i
                }
            };
            let mut r = [0u8; OVERFLOW_REF_SIZE];
            let (kind, val) = plain_value(s, info, &limits, key, value, &mut r)?;
            // Written straight into the page when it fits (the common case); a split needs
            // the entry as bytes of its own.
            if !node::insert_leaf(s.page_mut(pgno), idx, key, kind, val) {
                let entry = node::leaf_entry(key, kind, val);
                out.split = Some(split(s, info, pgno, idx, entry, append)?);
            }
        }
        Op::Delete => {
            if let Ok(i) = found {
                let (len, count) = release_entry(s, info, pgno, i, true)?;
                out.remove(s, i, len)?;
                out.delta = -signed_count(count, pgno)?;
            }
        }
        Op::ListAdd(v) => match found {
            Err(i) => {
                let pgno = out.touch(s)?;
                out.delta = 1;
                let entry = list_entry(s, info, &limits, key, &[v])?;
                out.split = place(s, info, pgno, i, entry, false)?;
            }
            Ok(i) => {
                let (kind, val) = {
                    let e = Node::new(pgno, s.page(pgno)?)?.leaf(i)?;
                    if e.kind == VAL_LIST {
                        // The common case: build the grown inline entry straight from the
                        // page (one scan, one allocation), or learn that it must become a
                        // nested tree.
                        match grow_inline(pgno, &limits, key, e.val, v)? {
                            Grow::Present => return Ok(out),
                            Grow::Entry(entry) => {
                                let pgno = out.touch(s)?;
                                out.delta = 1;
                                drop_entry(s, pgno, i)?;
                                out.split = place(s, info, pgno, i, entry, false)?;
                                return Ok(out);
                            }
                            Grow::TooLong => {}
                        }
                    }
                    (e.kind, e.val.to_vec())
                };
                match kind {
                    VAL_LIST => {
                        let mut l = InlineList::parse(pgno, &val)?;
                        if let Err(j) = l.items.binary_search(&v) {
                            let pgno = out.touch(s)?;
                            l.items.insert(j, v);
                            out.delta = 1;
                            let entry = list_entry(s, info, &limits, key, &l.items)?;
                            drop_entry(s, pgno, i)?;
                            out.split = place(s, info, pgno, i, entry, false)?;
                        }
                    }
                    VAL_TREE => {
                        let mut t = list::tree_info(pgno, &val)?;
                        let before = t;
                        if apply(
                            s,
                            &mut t,
                            v,
                            Op::Put {
                                value: &[],
                                append: false,
                            },
                        )? {
                            // Already present: the value was rewritten as it was.
                        } else {
                            out.delta = 1;
                        }
                        if t != before {
                            let pgno = out.touch(s)?;
                            account_nested(info, &before, &t, pgno)?;
                            write_tree_info(s, pgno, i, &t)?;
                        }
                    }
                    _ => {
                        return Err(BtreeError::corrupted(
                            pgno,
                            "list operation on a plain value",
                        ))
                    }
                }
            }
        },
        Op::ListAddMany { values: vs, append } => match found {
            Err(i) => {
                let pgno = out.touch(s)?;
                out.delta = vs.len() as i64;
                let entry = list_entry(s, info, &limits, key, vs)?;
                out.split = place(s, info, pgno, i, entry, append)?;
            }
            Ok(i) => {
                let (kind, val) = {
                    let e = Node::new(pgno, s.page(pgno)?)?.leaf(i)?;
                    (e.kind, e.val.to_vec())
                };
                match kind {
                    VAL_LIST => {
                        let mut items = InlineList::parse(pgno, &val)?.items;
                        let had = items.len();
                        items.extend_from_slice(vs);
                        items.sort_unstable();
                        items.dedup();
                        if items.len() > had {
                            let pgno = out.touch(s)?;
                            out.delta = (items.len() - had) as i64;
                            let entry = list_entry(s, info, &limits, key, &items)?;
                            drop_entry(s, pgno, i)?;
                            out.split = place(s, info, pgno, i, entry, false)?;
                        }
                    }
                    VAL_TREE => {
                        let mut t = list::tree_info(pgno, &val)?;
                        let before = t;
                        // Values after the nested tree's last one are appended: its pages
                        // then split full, as when a nested tree is first built.
                        let append = match read::last_key(&*s, &t)? {
                            Some(last) => vs.first().is_some_and(|v| *v > last),
                            None => true,
                        };
                        for v in vs {
                            if !apply(s, &mut t, v, Op::Put { value: &[], append })? {
                                out.delta += 1;
                            }
                        }
                        if t != before {
                            let pgno = out.touch(s)?;
                            account_nested(info, &before, &t, pgno)?;
                            write_tree_info(s, pgno, i, &t)?;
                        }
                    }
                    _ => {
                        return Err(BtreeError::corrupted(
                            pgno,
                            "list operation on a plain value",
                        ))
                    }
                }
            }
        },
        Op::ListRemove(v) => {
            if let Ok(i) = found {
                let (kind, val) = {
                    let e = Node::new(pgno, s.page(pgno)?)?.leaf(i)?;
                    (e.kind, e.val.to_vec())
                };
                match kind {
                    VAL_LIST => {
                        let mut l = InlineList::parse(pgno, &val)?;
                        if let Ok(j) = l.items.binary_search(&v) {
                            let pgno = out.touch(s)?;
                            l.items.remove(j);
                            out.delta = -1;
                            remove_entry(s, info, pgno, i, false)?;
                            if !l.is_empty() {
                                let entry = node::leaf_entry(key, VAL_LIST, &l.encode());
                                let ok = node::insert(s.page_mut(pgno), i, &entry);
                                debug_assert!(ok, "a shorter entry fits where the longer one was");
                            }
                        }
                    }
                    VAL_TREE => {
                        let mut t = list::tree_info(pgno, &val)?;
                        let before = t;
                        let had = t.entries;
                        apply(s, &mut t, v, Op::Delete)?;
                        if t == before {
                            // The value was not there: nothing changed.
                            return Ok(out);
                        }
                        let pgno = out.touch(s)?;
                        out.delta = signed_count(t.entries, pgno)? - signed_count(had, pgno)?;
                        account_nested(info, &before, &t, pgno)?;
                        if t.entries == 0 {
                            remove_entry(s, info, pgno, i, false)?;
                        } else if let Some(items) = small_tree_items(s, &t, &limits, key.len())? {
                            // Few values left: move them back inline.
                            let refs: Vec<&[u8]> = items.iter().map(|x| x.as_slice()).collect();
                            let entry = node::leaf_entry(key, VAL_LIST, &list::encode_items(&refs));
                            let before = t;
                            clear(s, &mut t)?;
                            account_nested(info, &before, &t, pgno)?;
                            remove_entry(s, info, pgno, i, false)?;
                            out.split = place(s, info, pgno, i, entry, false)?;
                        } else {
                            write_tree_info(s, pgno, i, &t)?;
                        }
                    }
                    _ => {
                        return Err(BtreeError::corrupted(
                            pgno,
                            "list operation on a plain value",
                        ))
                    }
                }
            }
        }
    }
    // Only removals and replacements (which may shrink an entry) can leave a leaf underfull.
    if out.changed
        && out.split.is_none()
        && (matches!(op, Op::Delete | Op::ListRemove(_)) || out.replaced)
    {
        (out.underfull, out.sparse) = fill(s, out.pgno)?;
    }
    Ok(out)
}

/// What adding a value to an inline list comes to.
enum Grow {
    /// The value is already in the list.
    Present,
    /// The new leaf entry, with the value inserted in order.
    Entry(Vec<u8>),
    /// The grown list is too long to stay inline.
    TooLong,
}

/// Adds `v` to the packed inline list `val` of `key` (from page `pgno`) without parsing it
/// into a vector: one scan for the position, one copy.
fn grow_inline(pgno: Pgno, limits: &Limits, key: &[u8], val: &[u8], v: &[u8]) -> Result<Grow> {
    let damaged = || BtreeError::corrupted(pgno, "inline list value runs past its entry");
    let mut pos = 0;
    while pos < val.len() {
        let len_bytes = val.get(pos..pos + 2).ok_or_else(damaged)?;
        let len = u16::from_le_bytes([len_bytes[0], len_bytes[1]]) as usize;
        let item = val.get(pos + 2..pos + 2 + len).ok_or_else(damaged)?;
        match item.cmp(v) {
            std::cmp::Ordering::Less => pos += 2 + len,
            std::cmp::Ordering::Equal => return Ok(Grow::Present),
            std::cmp::Ordering::Greater => break,
        }
    }
    let vlen = val.len() + 2 + v.len();
    if LEAF_ENTRY_HEADER + key.len() + vlen > limits.list_inline_max {
        return Ok(Grow::TooLong);
    }
    let mut e = Vec::with_capacity(LEAF_ENTRY_HEADER + key.len() + vlen);
    e.extend_from_slice(&(key.len() as u16).to_le_bytes());
    e.push(VAL_LIST);
    e.extend_from_slice(&(vlen as u32).to_le_bytes());
    e.extend_from_slice(key);
    e.extend_from_slice(&val[..pos]);
    e.extend_from_slice(&(v.len() as u16).to_le_bytes());
    e.extend_from_slice(v);
    e.extend_from_slice(&val[pos..]);
    Ok(Grow::Entry(e))
}

/// Removes leaf entry `i` that is being replaced by a rewritten entry for the same key
/// (nothing to release, no values to count).
fn drop_entry<S: PageStore>(s: &mut S, pgno: Pgno, i: usize) -> Result<()> {
    let len = Node::new(pgno, s.page(pgno)?)?.raw_entry(i)?.len();
    node::remove(s.page_mut(pgno), i, len);
    Ok(())
}

/// The values of a nested tree small enough to move back inline (one leaf, at most a quarter
/// of the inline limit), or None.
fn small_tree_items<S: PageSource>(
    s: &S,
    t: &TreeInfo,
    limits: &Limits,
    klen: usize,
) -> Result<Option<Vec<Vec<u8>>>> {
    if t.depth != 1 {
        return Ok(None);
    }
    let n = Node::new(t.root, s.page(t.root)?)?;
    let mut items = Vec::with_capacity(n.len());
    let mut size = LEAF_ENTRY_HEADER + klen;
    for i in 0..n.len() {
        let k = n.leaf(i)?.key;
        size += k.len() + 2;
        if size > limits.list_inline_max / 4 {
            return Ok(None);
        }
        items.push(k.to_vec());
    }
    Ok(Some(items))
}

/// Replaces a nested tree's pages (`before`) by its new ones (`after`) in the outer tree's
/// page counts; `page` holds the nested tree's descriptor.
fn account_nested(
    info: &mut TreeInfo,
    before: &TreeInfo,
    after: &TreeInfo,
    page: Pgno,
) -> Result<()> {
    let what = "the tree's page count";
    info.branch_pages = sub_count(
        info.branch_pages.saturating_add(after.branch_pages),
        before.branch_pages,
        page,
        what,
    )?;
    info.leaf_pages = sub_count(
        info.leaf_pages.saturating_add(after.leaf_pages),
        before.leaf_pages,
        page,
        what,
    )?;
    Ok(())
}

/// Builds the leaf entry for a key's sorted values: inline if small, else a nested tree.
fn list_entry<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    limits: &Limits,
    key: &[u8],
    items: &[&[u8]],
) -> Result<Vec<u8>> {
    if LEAF_ENTRY_HEADER + key.len() + list::encoded_len(items) <= limits.list_inline_max {
        return Ok(node::leaf_entry(key, VAL_LIST, &list::encode_items(items)));
    }
    // The values are sorted: build the nested tree bottom-up.
    let mut b = crate::build::Builder::new(0);
    for v in items {
        b.push(s, v, &[])?;
    }
    let t = b.finish(s)?;
    info.branch_pages = info.branch_pages.saturating_add(t.branch_pages);
    info.leaf_pages = info.leaf_pages.saturating_add(t.leaf_pages);
    let mut d = [0u8; levin_pager::format::TREE_INFO_SIZE];
    t.encode(&mut d);
    Ok(node::leaf_entry(key, VAL_TREE, &d))
}

fn write_tree_info<S: PageStore>(s: &mut S, pgno: Pgno, i: usize, t: &TreeInfo) -> Result<()> {
    let klen = Node::new(pgno, s.page(pgno)?)?.leaf(i)?.key.len();
    let page = s.page_mut(pgno);
    let off = node::offset(page, i) + LEAF_ENTRY_HEADER + klen;
    t.encode(&mut page[off..off + levin_pager::format::TREE_INFO_SIZE]);
    Ok(())
}

/// Removes leaf entry `i` of dirty page `pgno`; with `release`, also frees its overflow run
/// or nested tree. Returns the number of values the entry held.
fn remove_entry<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    pgno: Pgno,
    i: usize,
    release: bool,
) -> Result<u64> {
    let (len, count) = release_entry(s, info, pgno, i, release)?;
    node::remove(s.page_mut(pgno), i, len);
    Ok(count)
}

/// Checks leaf entry `i` of page `pgno` (dirty or not) before its removal and, with
/// `release`, frees its overflow run or nested tree. Returns the entry's length in bytes and
/// the number of values it held.
fn release_entry<S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    pgno: Pgno,
    i: usize,
    release: bool,
) -> Result<(usize, u64)> {
    let (len, count, kind, val) = {
        let n = Node::new(pgno, s.page(pgno)?)?;
        let e = n.leaf(i)?;
        // The value field is kept only when it references pages to release (a plain
        // inline value, the common case, needs no copy).
        let keep = release && matches!(e.kind, VAL_OVERFLOW | VAL_TREE);
        (
            LEAF_ENTRY_HEADER + e.key.len() + e.val.len(),
            entry_count(pgno, &e)?,
            e.kind,
            if keep { e.val.to_vec() } else { Vec::new() },
        )
    };
    if release {
        match kind {
            VAL_OVERFLOW => {
                let (p, vlen) = read::overflow_ref(pgno, &val)?;
                let npages = Limits::new(s.page_size()).overflow_pages(vlen);
                s.free(p, npages);
                info.overflow_pages = sub_count(
                    info.overflow_pages,
                    npages,
                    pgno,
                    "the tree's overflow page count",
                )?;
            }
            VAL_TREE => {
                let mut t = list::tree_info(pgno, &val)?;
                let before = t;
                clear(s, &mut t)?;
                account_nested(info, &before, &t, pgno)?;
            }
            _ => {}
        }
    }
    Ok((len, count))
}

/// How a plain `value` of `key` is stored in a leaf entry: inline when the limits allow,
/// otherwise in a newly allocated overflow run (counted in `info`) referred to by `r`.
pub(crate) fn plain_value<'v, S: PageStore>(
    s: &mut S,
    info: &mut TreeInfo,
    limits: &Limits,
    key: &[u8],
    value: &'v [u8],
    r: &'v mut [u8; OVERFLOW_REF_SIZE],
) -> Result<(u8, &'v [u8])> {
    if limits.value_inline(key.len(), value.len()) {
        return Ok((VAL_INLINE, value));
    }
    let mut hdr = [0u8; PAGE_HEADER_SIZE];
    hdr[HDR_KIND_OFF] = KIND_OVERFLOW;
    let (p, n) = s.alloc_overflow(&hdr, value)?;
    info.overflow_pages += n;
    r[..8].copy_from_slice(&p.to_le_bytes());
    r[8..].copy_from_slice(&(value.len() as u64).to_le_bytes());
    Ok((VAL_OVERFLOW, r))
}
