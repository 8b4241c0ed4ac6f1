//! Bottom-up tree building from entries in key order: leaves are filled one after another
//! and each level of branch pages is filled as the level below closes pages, so a tree of n
//! entries is written in O(n) with every page but the last of each level full. Compaction
//! uses it to rewrite a tree; nothing is ever descended or split.

use levin_pager::{Pgno, TreeInfo};

use crate::error::{BtreeError, Result};
use crate::layout::*;
use crate::list;
use crate::node::{self, entry_count, Node};
use crate::read;
use crate::store::{PageSource, PageStore};

/// The page being filled on one level.
struct Level {
    pgno: Pgno,
    /// Entries (values, for list trees) beneath the page so far.
    total: u64,
    /// The separator its parent entry will carry: every key in the page is >= it (empty
    /// for the first page of a level, whose parent entry is entry 0).
    sep: Vec<u8>,
}

/// Builds a new tree from entries given in strictly ascending key order.
///
/// **Invariant:** every page of the tree under construction is a page this builder
/// allocated; only the open page of each level (`levels`) is written again, and a closed
/// page is final. So a store may write pages out between entries (spill) as long as the
/// open pages are touched again before the next push ([`Builder::spilled`]).
pub struct Builder {
    levels: Vec<Level>,
    info: TreeInfo,
    /// Reused buffer for building one leaf entry.
    entry: Vec<u8>,
}

impl Builder {
    /// A builder for an empty tree with descriptor flags `flags`.
    pub fn new(flags: u32) -> Self {
        Builder {
            levels: Vec::new(),
            info: TreeInfo::empty(flags),
            entry: Vec::new(),
        }
    }

    /// Appends a raw leaf entry (header, key, value field) holding `count` values. The key
    /// must sort after every key pushed before; the entry must be at most
    /// [`Limits::max_entry`] bytes.
    pub fn push_raw<S: PageStore>(&mut self, s: &mut S, raw: &[u8], count: u64) -> Result<()> {
        self.info.entries += count;
        if self.levels.is_empty() {
            let p = s.alloc_page()?;
            node::init(s.page_mut(p), KIND_LEAF, p);
            self.info.leaf_pages += 1;
            self.info.depth = 1;
            self.levels.push(Level {
                pgno: p,
                total: 0,
                sep: Vec::new(),
            });
        }
        let leaf = &mut self.levels[0];
        if node::push(s.page_mut(leaf.pgno), raw) {
            leaf.total += count;
            return Ok(());
        }
        // The leaf is full: start a new one. Its separator is the shortest prefix of its
        // first key that sorts after the full leaf's last key.
        let key = raw_leaf_key(raw);
        let sep = {
            let n = Node::new(leaf.pgno, s.page(leaf.pgno)?)?;
            let last = n.leaf(n.len() - 1)?.key;
            if last >= key {
                return Err(BtreeError::corrupted(
                    leaf.pgno,
                    "tree build: keys not in ascending order",
                ));
            }
            let common = key.iter().zip(last).take_while(|(a, b)| a == b).count();
            key[..(common + 1).min(key.len())].to_vec()
        };
        let p = s.alloc_page()?;
        let page = s.page_mut(p);
        node::init(page, KIND_LEAF, p);
        if !node::push(page, raw) {
            return Err(BtreeError::corrupted(
                p,
                "tree build: entry larger than a page",
            ));
        }
        self.info.leaf_pages += 1;
        let closed = std::mem::replace(
            &mut self.levels[0],
            Level {
                pgno: p,
                total: count,
                sep,
            },
        );
        self.close_into(s, 1, closed)
    }

    /// Appends a plain entry `key` = `value` (stored in an overflow run if large).
    pub fn push<S: PageStore>(&mut self, s: &mut S, key: &[u8], value: &[u8]) -> Result<()> {
        let limits = Limits::new(s.page_size());
        let mut e = std::mem::take(&mut self.entry);
        e.clear();
        let mut r = [0u8; OVERFLOW_REF_SIZE];
        let (kind, val) = crate::tree::plain_value(s, &mut self.info, &limits, key, value, &mut r)?;
        leaf_entry_into(&mut e, key, kind, &[val]);
        let r = self.push_raw(s, &e, 1);
        self.entry = e;
        r
    }

    /// Appends the list entry of `key` with the sorted, distinct `values` (inline when
    /// small, otherwise a nested tree built the same way), as [`crate::tree::list_add`]
    /// would have stored them.
    pub fn push_list<S: PageStore>(
        &mut self,
        s: &mut S,
        key: &[u8],
        values: &[&[u8]],
    ) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let limits = Limits::new(s.page_size());
        let mut e = std::mem::take(&mut self.entry);
        e.clear();
        if LEAF_ENTRY_HEADER + key.len() + list::encoded_len(values) <= limits.list_inline_max {
            let vlen = list::encoded_len(values);
            e.extend_from_slice(&(key.len() as u16).to_le_bytes());
            e.push(VAL_LIST);
            e.extend_from_slice(&(vlen as u32).to_le_bytes());
            e.extend_from_slice(key);
            for v in values {
                e.extend_from_slice(&(v.len() as u16).to_le_bytes());
                e.extend_from_slice(v);
            }
        } else {
            let mut nested = Builder::new(0);
            for v in values {
                nested.push(s, v, &[])?;
            }
            let t = nested.finish(s)?;
            self.add_nested(&t);
            let mut d = [0u8; levin_pager::format::TREE_INFO_SIZE];
            t.encode(&mut d);
            leaf_entry_into(&mut e, key, VAL_TREE, &[&d]);
        }
        let r = self.push_raw(s, &e, values.len() as u64);
        self.entry = e;
        r
    }

    fn add_nested(&mut self, t: &TreeInfo) {
        self.info.leaf_pages += t.leaf_pages;
        self.info.branch_pages += t.branch_pages;
    }

    /// Pushes the closed page `c` of level `level - 1` into level `level` as a branch entry,
    /// closing (and pushing upward) full branch pages as needed.
    fn close_into<S: PageStore>(
        &mut self,
        s: &mut S,
        mut level: usize,
        mut c: Level,
    ) -> Result<()> {
        loop {
            if level == self.levels.len() {
                // A new top level: the closed page was the first of its level.
                let p = s.alloc_page()?;
                let page = s.page_mut(p);
                node::init(page, KIND_BRANCH, p);
                node::push(page, &node::branch_entry(&[], c.pgno, c.total));
                self.info.branch_pages += 1;
                self.info.depth += 1;
                self.levels.push(Level {
                    pgno: p,
                    total: c.total,
                    sep: c.sep,
                });
                return Ok(());
            }
            let cur = &mut self.levels[level];
            if node::push(
                s.page_mut(cur.pgno),
                &node::branch_entry(&c.sep, c.pgno, c.total),
            ) {
                cur.total += c.total;
                return Ok(());
            }
            // Full: the closed child starts a new page on this level (as its entry 0, whose
            // key is not stored: it becomes the new page's separator instead).
            let p = s.alloc_page()?;
            let page = s.page_mut(p);
            node::init(page, KIND_BRANCH, p);
            node::push(page, &node::branch_entry(&[], c.pgno, c.total));
            self.info.branch_pages += 1;
            let full = std::mem::replace(
                cur,
                Level {
                    pgno: p,
                    total: c.total,
                    sep: c.sep,
                },
            );
            c = full;
            level += 1;
        }
    }

    /// Touches the open pages again after the store wrote dirty pages out: a spilled page
    /// must be made dirty before it is written to. Open pages have no parent entry yet, so
    /// a page that moves needs no other update.
    pub fn spilled<S: PageStore>(&mut self, s: &mut S) -> Result<()> {
        for l in &mut self.levels {
            l.pgno = s.touch(l.pgno)?;
        }
        Ok(())
    }

    /// Closes every open page and returns the descriptor of the finished tree.
    pub fn finish<S: PageStore>(mut self, s: &mut S) -> Result<TreeInfo> {
        let mut level = 0;
        // The top level never closed a page: its open page is the root. Closing a page of a
        // lower level can add a level above, so the bound is re-read each time.
        while level + 1 < self.levels.len() {
            let placeholder = Level {
                pgno: 0,
                total: 0,
                sep: Vec::new(),
            };
            let c = std::mem::replace(&mut self.levels[level], placeholder);
            self.close_into(s, level + 1, c)?;
            level += 1;
        }
        if let Some(top) = self.levels.last() {
            self.info.root = top.pgno;
        }
        Ok(self.info)
    }
}

/// Builds a leaf entry into `out` from the value pieces `val` (concatenated).
fn leaf_entry_into(out: &mut Vec<u8>, key: &[u8], kind: u8, val: &[&[u8]]) {
    let vlen: usize = val.iter().map(|v| v.len()).sum();
    out.reserve(LEAF_ENTRY_HEADER + key.len() + vlen);
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.push(kind);
    out.extend_from_slice(&(vlen as u32).to_le_bytes());
    out.extend_from_slice(key);
    for v in val {
        out.extend_from_slice(v);
    }
}

fn raw_leaf_key(raw: &[u8]) -> &[u8] {
    let klen = u16::from_le_bytes([raw[0], raw[1]]) as usize;
    &raw[LEAF_ENTRY_HEADER..LEAF_ENTRY_HEADER + klen]
}

/// Trees are never this deep; a deeper walk means a cycle of pages in a damaged file.
const MAX_DEPTH: usize = 64;

/// Builds a new list tree (descriptor flags `flags`) from `(key, value)` pairs given in
/// strictly ascending order, each key's values stored as adding them one by one would
/// store them (inline when small, else a nested tree). The store may spill dirty pages
/// between keys, so memory stays bounded. The caller checks the order; a key out of order
/// is reported as corruption by the builder.
pub fn build_lists<S: PageStore>(
    s: &mut S,
    flags: u32,
    pairs: &[(&[u8], &[u8])],
) -> Result<TreeInfo> {
    let limits = Limits::new(s.page_size());
    let mut b = Builder::new(flags);
    let mut values: Vec<&[u8]> = Vec::new();
    for run in pairs.chunk_by(|x, y| x.0 == y.0) {
        crate::tree::check_key(&limits, run[0].0)?;
        values.clear();
        for (_, v) in run {
            crate::tree::check_list_value(&limits, v)?;
            values.push(v);
        }
        b.push_list(s, run[0].0, &values)?;
        if s.spill_if_needed()? {
            b.spilled(s)?;
        }
    }
    b.finish(s)
}

/// Copies the tree `info` of snapshot `src` into the store `dst` as a new, compact tree
/// (full pages, in key order): inline entries and inline lists are copied byte for byte,
/// overflow values into new runs, nested list trees rebuilt the same way. Between leaves
/// the store may spill dirty pages ([`PageStore::spill_if_needed`]), so memory stays
/// bounded for a tree of any size.
pub fn copy_tree<R: PageSource + ?Sized, S: PageStore>(
    src: &R,
    info: &TreeInfo,
    dst: &mut S,
) -> Result<TreeInfo> {
    copy_tree_inner(src, info, dst, false)
}

/// `nested`: the tree is a key's nested list tree, whose entries are plain empty values
/// (anything else is damage, and following a nested tree from one could loop forever).
fn copy_tree_inner<R: PageSource + ?Sized, S: PageStore>(
    src: &R,
    info: &TreeInfo,
    dst: &mut S,
    nested: bool,
) -> Result<TreeInfo> {
    let mut b = Builder::new(info.flags);
    if info.root != 0 {
        copy_page(src, info.root, dst, &mut b, nested, 0)?;
    }
    b.finish(dst)
}

fn copy_page<R: PageSource + ?Sized, S: PageStore>(
    src: &R,
    pgno: Pgno,
    dst: &mut S,
    b: &mut Builder,
    nested: bool,
    depth: usize,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(BtreeError::corrupted(
            pgno,
            "tree deeper than 64 levels: a cycle of pages",
        ));
    }
    let n = Node::new(pgno, src.page(pgno)?)?;
    if !n.is_leaf() {
        for i in 0..n.len() {
            copy_page(src, n.branch(i)?.child, dst, b, nested, depth + 1)?;
        }
        return Ok(());
    }
    for i in 0..n.len() {
        let e = n.leaf(i)?;
        if nested && e.kind != VAL_INLINE {
            return Err(BtreeError::corrupted(
                pgno,
                "a nested list tree holds a list or overflow value",
            ));
        }
        match e.kind {
            VAL_INLINE => b.push_raw(dst, n.raw_entry(i)?, 1)?,
            VAL_OVERFLOW => {
                let v = read::plain_value(src, pgno, &e)?;
                b.push(dst, e.key, v)?;
            }
            VAL_LIST => {
                // Checked on the way: a damaged list must not be copied as if it were sound.
                let count = entry_count(pgno, &e)?;
                b.push_raw(dst, n.raw_entry(i)?, count)?;
            }
            _ => {
                let t = list::tree_info(pgno, e.val)?;
                let sub = copy_tree_inner(src, &t, dst, true)?;
                b.add_nested(&sub);
                let mut d = [0u8; levin_pager::format::TREE_INFO_SIZE];
                sub.encode(&mut d);
                let mut raw = std::mem::take(&mut b.entry);
                raw.clear();
                leaf_entry_into(&mut raw, e.key, VAL_TREE, &[&d]);
                let r = b.push_raw(dst, &raw, sub.entries);
                b.entry = raw;
                r?;
            }
        }
    }
    // Nested trees are finished by now: only the outer builder's open pages are held.
    if !nested && dst.spill_if_needed()? {
        b.spilled(dst)?;
    }
    Ok(())
}
