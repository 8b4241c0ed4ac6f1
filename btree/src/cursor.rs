//! Cursors: positioned iteration over a tree in both directions, seeking, and for list trees
//! iteration over (key, value) pairs, descending into inline lists and nested trees.

use levin_pager::TreeInfo;

use crate::error::{BtreeError, Result};
use crate::layout::*;
use crate::list::{self, InlineList};
use crate::node::{entry_count, key_cmp, LeafEntry, Node};
use crate::read::plain_value;
use crate::store::PageSource;

enum Sub<'s, S: PageSource + ?Sized> {
    /// Positioned on a plain entry.
    None,
    /// Positioned inside an inline list.
    Inline { items: Vec<&'s [u8]>, pos: usize },
    /// Positioned inside a nested tree.
    Tree(Box<Cursor<'s, S>>),
}

/// Where a positioning step left the cursor.
enum Landed {
    /// On a leaf entry (the stack top) not yet entered: `sub` and `entry` are stale.
    Leaf,
    /// Fully positioned through the general path, or past the end (`false`).
    Entered(bool),
}

/// A cursor over one tree of one snapshot. Keys and values borrow the snapshot (`'s`).
///
/// In a list tree the cursor visits (key, value) pairs in (key, value) order.
pub struct Cursor<'s, S: PageSource + ?Sized> {
    src: &'s S,
    root: levin_pager::Pgno,
    /// Pages from the root to the current leaf, with the index taken in each.
    stack: Vec<(Node<'s>, usize)>,
    sub: Sub<'s, S>,
    /// The leaf entry at the current position, decoded once by `enter` (every positioning
    /// ends there) so that `key` and `current` do not decode it again for every item.
    entry: Option<LeafEntry<'s>>,
    valid: bool,
    /// True for the cursor over a key's nested list tree, whose entries are plain.
    nested: bool,
    /// The tree's depth (1: the root is a leaf), from its `TreeInfo`: tells a seek when the
    /// next page down is a leaf, worth prefetching.
    depth: usize,
}

impl<'s, S: PageSource + ?Sized> Cursor<'s, S> {
    /// A cursor over `info`, not yet positioned.
    pub fn new(src: &'s S, info: &TreeInfo) -> Self {
        Cursor {
            src,
            root: info.root,
            // The depth comes from the file: cap it, a damaged value must not size an allocation.
            stack: Vec::with_capacity((info.depth as usize).min(64) + 1),
            sub: Sub::None,
            entry: None,
            valid: false,
            nested: false,
            depth: info.depth as usize,
        }
    }

    /// True if positioned on an entry.
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    fn node(&self, pgno: levin_pager::Pgno) -> Result<Node<'s>> {
        Node::new(pgno, self.src.page(pgno)?)
    }

    /// Descends from the stack top's child at `idx` to a leaf, always taking the first
    /// (or, with `last`, the last) child.
    fn descend_edge(&mut self, mut pgno: levin_pager::Pgno, last: bool) -> Result<()> {
        loop {
            if self.stack.len() > 64 {
                return Err(BtreeError::corrupted(
                    pgno,
                    "tree deeper than 64 levels: a cycle of pages",
                ));
            }
            if self.stack.len() + 1 == self.depth {
                // A leaf reached at its edge is about to be walked entry by entry, in key
                // order, which is not the order of the entries in the page.
                prefetch_leaf(self.src, pgno);
            }
            let n = self.node(pgno)?;
            if n.is_empty() {
                return Err(BtreeError::corrupted(pgno, "empty page inside a tree"));
            }
            let i = if last { n.len() - 1 } else { 0 };
            self.stack.push((n, i));
            if n.is_leaf() {
                return Ok(());
            }
            pgno = n.branch(i)?.child;
        }
    }

    /// Positions on the first entry; returns false if the tree is empty.
    pub fn first(&mut self) -> Result<bool> {
        self.stack.clear();
        self.valid = false;
        if self.root == 0 {
            return Ok(false);
        }
        self.descend_edge(self.root, false)?;
        self.enter(false)?;
        Ok(self.valid)
    }

    /// Positions on the last entry; returns false if the tree is empty.
    pub fn last(&mut self) -> Result<bool> {
        self.stack.clear();
        self.valid = false;
        if self.root == 0 {
            return Ok(false);
        }
        self.descend_edge(self.root, true)?;
        self.enter(true)?;
        Ok(self.valid)
    }

    /// Sets up the sub-position for the current leaf entry (first or last value).
    fn enter(&mut self, last: bool) -> Result<()> {
        let (n, i) = *self.stack.last().expect("positioned");
        self.entry = None;
        let e = n.leaf(i)?;
        if self.nested && e.kind != VAL_INLINE {
            // A list's values are plain keys; anything else is damage (and following a
            // nested tree from inside one could loop forever).
            return Err(BtreeError::corrupted(
                n.pgno,
                "a nested list tree holds a list or overflow value",
            ));
        }
        if matches!(self.sub, Sub::None) && e.kind <= VAL_OVERFLOW {
            // A plain entry after a plain entry (every step in a plain or nested tree):
            // nothing to set up.
            self.entry = Some(e);
            self.valid = true;
            return Ok(());
        }
        // Reuse the previous inline list's vector: iterating a list database enters one
        // entry per key, and allocating for each was a large share of the cost.
        let mut spare = match std::mem::replace(&mut self.sub, Sub::None) {
            Sub::Inline { mut items, .. } => {
                items.clear();
                items
            }
            _ => Vec::new(),
        };
        self.sub = match e.kind {
            VAL_LIST => {
                InlineList::parse_into(n.pgno, e.val, &mut spare)?;
                let pos = if last { spare.len() - 1 } else { 0 };
                Sub::Inline { items: spare, pos }
            }
            VAL_TREE => {
                let t = list::tree_info(n.pgno, e.val)?;
                let mut c = Cursor::new(self.src, &t);
                c.nested = true;
                let ok = if last { c.last()? } else { c.first()? };
                if !ok {
                    return Err(BtreeError::corrupted(n.pgno, "empty nested list tree"));
                }
                Sub::Tree(Box::new(c))
            }
            _ => Sub::None,
        };
        self.entry = Some(e);
        self.valid = true;
        Ok(())
    }

    /// Positions on the first entry whose key is >= `key`; returns false if there is none.
    pub fn seek(&mut self, key: &[u8]) -> Result<bool> {
        self.stack.clear();
        self.valid = false;
        if self.root == 0 {
            return Ok(false);
        }
        self.seek_from(self.root, key)
    }

    /// The descent of [`seek`](Self::seek) from page `pgno`, pushed onto the current stack
    /// (which holds `pgno`'s ancestors, if any, positioned on it).
    fn seek_from(&mut self, pgno: levin_pager::Pgno, key: &[u8]) -> Result<bool> {
        let landed = self.land_from(pgno, key, false)?;
        self.settle(landed)
    }

    /// Finishes a positioning step: sets up the leaf entry a [`Landed::Leaf`] left
    /// unentered.
    fn settle(&mut self, landed: Landed) -> Result<bool> {
        match landed {
            Landed::Leaf => {
                self.enter(false)?;
                Ok(true)
            }
            Landed::Entered(on) => Ok(on),
        }
    }

    /// [`seek_from`](Self::seek_from) without entering the leaf entry found when it is on
    /// the leaf the descent reached.
    /// `forward`: keys are being visited in ascending order, so the answer is likely near
    /// the start of the leaf reached (searched from there, see [`Node::search_leaf_near`]).
    fn land_from(
        &mut self,
        mut pgno: levin_pager::Pgno,
        key: &[u8],
        forward: bool,
    ) -> Result<Landed> {
        loop {
            if self.stack.len() > 64 {
                return Err(BtreeError::corrupted(
                    pgno,
                    "tree deeper than 64 levels: a cycle of pages",
                ));
            }
            let n = self.node(pgno)?;
            if n.is_leaf() {
                let found = if forward {
                    n.search_leaf_near(0, key)?
                } else {
                    n.search_leaf(key)?
                };
                let i = match found {
                    Ok(i) | Err(i) => i,
                };
                self.stack.push((n, i));
                if i >= n.len() {
                    return Ok(Landed::Entered(self.next_leaf_entry()?));
                }
                self.valid = true;
                return Ok(Landed::Leaf);
            }
            let i = n.search_branch(key)?;
            self.stack.push((n, i));
            pgno = n.branch(i)?.child;
            if self.stack.len() + 1 == self.depth {
                prefetch_leaf(self.src, pgno);
            }
        }
    }

    /// [`seek`](Self::seek), but when the cursor already sits on a leaf whose keys span
    /// `key` (first key <= `key` <= last key), the answer is in that leaf: it is searched
    /// alone, without descending from the root. For visiting keys in ascending order.
    ///
    /// When `key` lies past the current leaf, the cursor climbs only as far as the lowest
    /// ancestor whose subtree must hold it and descends from there: visiting keys in order,
    /// most steps go to a neighbouring leaf through its parent, not from the root.
    pub fn seek_forward(&mut self, key: &[u8]) -> Result<bool> {
        let landed = self.land_forward(key)?;
        self.settle(landed)
    }

    /// [`seek_forward`](Self::seek_forward) without entering the leaf entry found when the
    /// search ends on a leaf ([`Landed::Leaf`]: the stack top is that leaf and the entry's
    /// index, `valid` is set, `sub` and `entry` are stale until [`enter`](Self::enter)).
    fn land_forward(&mut self, key: &[u8]) -> Result<Landed> {
        if !self.valid || self.stack.is_empty() {
            return self.land(key);
        }
        let (leaf, at) = *self.stack.last().expect("checked non-empty");
        let len = leaf.len();
        if at >= len || !leaf.is_leaf() {
            return self.land(key);
        }
        // Keys visited in ascending order are often the current entry's or the next one's
        // (an entity's components follow it): settled by one or two comparisons, with no
        // need for the leaf's last key.
        let here = key_cmp(leaf.leaf_key(at)?, key);
        let near = if here.is_eq() {
            Some(at)
        } else if here.is_lt() && at + 1 < len && key_cmp(leaf.leaf_key(at + 1)?, key).is_ge() {
            Some(at + 1)
        } else {
            None
        };
        if let Some(i) = near {
            if let Some(top) = self.stack.last_mut() {
                top.1 = i;
            }
            return Ok(Landed::Leaf);
        }
        if key_cmp(key, leaf.leaf_key(len - 1)?).is_le() {
            // Within this leaf: past entry `at + 1` when `key` follows entry `at` (then
            // searched in the rest), else searched in the whole leaf if not before its first.
            let i = if here.is_lt() {
                match leaf.search_leaf_near(at + 2, key)? {
                    Ok(i) | Err(i) => i,
                }
            } else if key_cmp(leaf.leaf_key(0)?, key).is_le() {
                match leaf.search_leaf(key)? {
                    Ok(i) | Err(i) => i,
                }
            } else {
                return self.land(key);
            };
            if let Some(top) = self.stack.last_mut() {
                top.1 = i;
            }
            return Ok(Landed::Leaf);
        }
        // `key` is past this leaf but not before it, so it is not before anything under the
        // ancestors on the stack: an ancestor whose child for `key` is not its last child
        // bounds `key` from above by the next separator, so that child's subtree holds
        // the answer. The root bounds everything.
        self.stack.pop();
        while let Some(&(n, from)) = self.stack.last() {
            // `key` lies past child `from`'s keys (which are not before its separator).
            let j = n.search_branch_from(from, key)?;
            if j + 1 < n.len() || self.stack.len() == 1 {
                if let Some(top) = self.stack.last_mut() {
                    top.1 = j;
                }
                self.valid = false;
                return self.land_from(n.branch(j)?.child, key, true);
            }
            self.stack.pop();
        }
        self.land(key)
    }

    /// [`seek`](Self::seek) without entering the entry found (see [`Landed`]).
    fn land(&mut self, key: &[u8]) -> Result<Landed> {
        self.stack.clear();
        self.valid = false;
        if self.root == 0 {
            return Ok(Landed::Entered(false));
        }
        self.land_from(self.root, key, false)
    }

    /// For each of `keys` in turn, calls `f(i, value)` with every value of `keys[i]` (none
    /// for an absent key), then leaves the cursor unpositioned. Keys in ascending order are
    /// found by seeking forward, mostly within the current leaf; a list inline in a leaf is
    /// read in place (checked to be in order, as [`InlineList::parse_into`] checks it)
    /// instead of being set up for stepping; nested trees take the general path.
    pub fn visit_keys<E: From<BtreeError>>(
        &mut self,
        keys: &[&[u8]],
        mut f: impl FnMut(usize, &'s [u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let out = self.visit_keys_inner(keys, &mut f);
        // The visit leaves `sub` and `entry` stale after in-place reads: unposition.
        self.valid = false;
        self.sub = Sub::None;
        self.entry = None;
        out
    }

    fn visit_keys_inner<E: From<BtreeError>>(
        &mut self,
        keys: &[&[u8]],
        f: &mut impl FnMut(usize, &'s [u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        for (i, &k) in keys.iter().enumerate() {
            match self.land_forward(k)? {
                Landed::Entered(false) => {}
                Landed::Entered(true) => {
                    if self.key()? == k {
                        self.each_value(|v| f(i, v))?;
                    }
                }
                Landed::Leaf => {
                    let (n, at) = *self.stack.last().expect("landed on a leaf");
                    let e = n.leaf(at)?;
                    if key_cmp(e.key, k).is_ne() {
                        continue;
                    }
                    match e.kind {
                        VAL_INLINE if !self.nested => f(i, e.val)?,
                        VAL_LIST if !self.nested => {
                            let mut b = e.val;
                            let mut prev: Option<&[u8]> = None;
                            while !b.is_empty() {
                                let item = list::split_item(n.pgno, &mut b)?;
                                if prev.is_some_and(|p| key_cmp(p, item).is_ge()) {
                                    return Err(BtreeError::corrupted(
                                        n.pgno,
                                        "inline list values out of order",
                                    )
                                    .into());
                                }
                                f(i, item)?;
                                prev = Some(item);
                            }
                        }
                        _ => {
                            self.enter(false)?;
                            self.each_value(|v| f(i, v))?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// In a list tree, positions on the first pair >= (`key`, `value`). In a damaged page
    /// whose keys or values are out of order the search can land before its target; range
    /// iteration checks that each of its seeks moves forward ([`Cursor::out_of_order`]).
    pub fn seek_pair(&mut self, key: &[u8], value: &[u8]) -> Result<bool> {
        if !self.seek(key)? {
            return Ok(false);
        }
        if self.key()? != key {
            return Ok(true);
        }
        let found = match &mut self.sub {
            Sub::None => true,
            Sub::Inline { items, pos } => {
                let p = items.partition_point(|v| *v < value);
                *pos = p;
                p < items.len()
            }
            Sub::Tree(c) => c.seek(value)?,
        };
        if found {
            Ok(true)
        } else {
            self.next_key()
        }
    }

    /// The corruption error for `what` (keys, list values) found out of order at the
    /// cursor's position: a search that landed before its target, or a move that went back.
    pub fn out_of_order(&self, what: &str) -> BtreeError {
        let page = self.stack.last().map_or(self.root, |(n, _)| n.pgno);
        BtreeError::corrupted(
            page,
            format!("{what} out of order: the cursor did not move forward"),
        )
    }

    /// Positions on the entry at `rank` (0-based, counting pairs in a list tree); returns
    /// false if `rank` is past the end.
    pub fn seek_rank(&mut self, mut rank: u64) -> Result<bool> {
        self.stack.clear();
        self.valid = false;
        if self.root == 0 {
            return Ok(false);
        }
        let mut pgno = self.root;
        loop {
            if self.stack.len() > 64 {
                return Err(BtreeError::corrupted(
                    pgno,
                    "tree deeper than 64 levels: a cycle of pages",
                ));
            }
            let n = self.node(pgno)?;
            let mut chosen = None;
            for i in 0..n.len() {
                let c = if n.is_leaf() {
                    entry_count(pgno, &n.leaf(i)?)?
                } else {
                    n.branch(i)?.count
                };
                if rank < c {
                    chosen = Some(i);
                    break;
                }
                rank -= c;
            }
            let Some(i) = chosen else {
                return Ok(false);
            };
            self.stack.push((n, i));
            if n.is_leaf() {
                self.enter(false)?;
                match &mut self.sub {
                    Sub::None => {}
                    Sub::Inline { pos, .. } => *pos = rank as usize,
                    Sub::Tree(c) => {
                        if !c.seek_rank(rank)? {
                            return Err(BtreeError::corrupted(
                                pgno,
                                "nested tree count disagrees with its entries",
                            ));
                        }
                    }
                }
                return Ok(true);
            }
            pgno = n.branch(i)?.child;
        }
    }

    /// Moves to the next leaf entry (skipping the rest of the current key's values). Also
    /// used after a seek that landed past the end of a leaf.
    fn next_leaf_entry(&mut self) -> Result<bool> {
        loop {
            let Some((n, i)) = self.stack.last_mut() else {
                self.valid = false;
                return Ok(false);
            };
            if *i + 1 < n.len() {
                *i += 1;
                break;
            }
            self.stack.pop();
        }
        let (n, i) = *self.stack.last().expect("just advanced");
        if !n.is_leaf() {
            self.descend_edge(n.branch(i)?.child, false)?;
        }
        self.enter(false)?;
        Ok(true)
    }

    /// Moves to the previous leaf entry (its last value).
    fn prev_leaf_entry(&mut self) -> Result<bool> {
        loop {
            let Some((n, i)) = self.stack.last_mut() else {
                self.valid = false;
                return Ok(false);
            };
            if *i > 0 {
                *i -= 1;
                let (n, i) = (*n, *i);
                if n.is_leaf() {
                    self.enter(true)?;
                    return Ok(true);
                }
                let child = n.branch(i)?.child;
                self.descend_edge(child, true)?;
                self.enter(true)?;
                return Ok(true);
            }
            self.stack.pop();
        }
    }

    /// Moves to the next entry (the next value of a list, then the next key).
    #[expect(
        clippy::should_implement_trait,
        reason = "a cursor step returns Result<bool>, not an item"
    )]
    pub fn next(&mut self) -> Result<bool> {
        if !self.valid {
            return Ok(false);
        }
        // The common step: the next plain entry of the same leaf (the stack top is the leaf
        // whenever the cursor is valid). Anything else takes the general path below.
        if let (Sub::None, Some((n, i))) = (&self.sub, self.stack.last_mut()) {
            if *i + 1 < n.len() {
                let e = n.leaf(*i + 1)?;
                if e.kind == VAL_INLINE || (e.kind == VAL_OVERFLOW && !self.nested) {
                    *i += 1;
                    self.entry = Some(e);
                    return Ok(true);
                }
            }
        }
        let moved = match &mut self.sub {
            Sub::None => false,
            Sub::Inline { items, pos } => {
                if *pos + 1 < items.len() {
                    *pos += 1;
                    true
                } else {
                    false
                }
            }
            Sub::Tree(c) => c.next()?,
        };
        if moved {
            return Ok(true);
        }
        self.next_leaf_entry()
    }

    /// Moves to the previous entry.
    pub fn prev(&mut self) -> Result<bool> {
        if !self.valid {
            return Ok(false);
        }
        let moved = match &mut self.sub {
            Sub::None => false,
            Sub::Inline { pos, .. } => {
                if *pos > 0 {
                    *pos -= 1;
                    true
                } else {
                    false
                }
            }
            Sub::Tree(c) => c.prev()?,
        };
        if moved {
            return Ok(true);
        }
        self.prev_leaf_entry()
    }

    /// Moves to the first value of the next key.
    pub fn next_key(&mut self) -> Result<bool> {
        if !self.valid {
            return Ok(false);
        }
        self.next_leaf_entry()
    }

    /// From the current position on, calls `f(key, value)` for every (key, value) pair
    /// while `go_on(key)` holds, then leaves the cursor unpositioned. `go_on` must be
    /// monotone (false for a key, false for every greater one: an upper bound), so that a
    /// leaf whose last key passes needs no test of the others. The lists inline in a leaf
    /// are read in place, without the per-key set-up of [`next_key`](Self::next_key) (a
    /// whole-attribute scan passes one short list per key); nested trees and overflow
    /// values take the general path. Values within a list are checked to be in order, as
    /// [`InlineList::parse_into`] checks them.
    pub fn each_pair_while<E: From<BtreeError>>(
        &mut self,
        mut go_on: impl FnMut(&'s [u8]) -> bool,
        mut f: impl FnMut(&'s [u8], &'s [u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        while self.valid {
            // The current key through the general path (it may be mid-list or a tree).
            let k = self.key()?;
            if !go_on(k) {
                self.valid = false;
                return Ok(());
            }
            self.each_value(|v| f(k, v))?;
            // The rest of this leaf in place; when its last key passes, every key does.
            let (n, i) = *self.stack.last().expect("positioned");
            let len = n.len();
            let all_pass = i + 1 < len && go_on(n.leaf(len - 1)?.key);
            let mut j = i + 1;
            while j < len {
                let e = n.leaf(j)?;
                if e.kind != VAL_LIST && e.kind != VAL_INLINE {
                    break;
                }
                if !all_pass && !go_on(e.key) {
                    self.valid = false;
                    return Ok(());
                }
                if e.kind == VAL_INLINE {
                    f(e.key, e.val)?;
                } else {
                    let mut b = e.val;
                    let mut prev: Option<&[u8]> = None;
                    while !b.is_empty() {
                        let item = list::split_item(n.pgno, &mut b)?;
                        if let Some(p) = prev {
                            if key_cmp(p, item).is_ge() {
                                return Err(BtreeError::corrupted(
                                    n.pgno,
                                    "inline list values out of order",
                                )
                                .into());
                            }
                        }
                        f(e.key, item)?;
                        prev = Some(item);
                    }
                }
                j += 1;
            }
            // Entries before `j` are done: step from `j - 1` to the next entry (on this
            // leaf, a nested tree or an overflow value; else the next leaf) the general way.
            if let Some(top) = self.stack.last_mut() {
                top.1 = j - 1;
            }
            self.sub = Sub::None;
            self.entry = None;
            if !self.next_leaf_entry()? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Moves to the last value of the previous key.
    pub fn prev_key(&mut self) -> Result<bool> {
        if !self.valid {
            return Ok(false);
        }
        self.prev_leaf_entry()
    }

    /// Moves to the first value of the current key.
    pub fn first_value(&mut self) -> Result<()> {
        if self.valid {
            self.enter(false)?;
        }
        Ok(())
    }

    /// Moves to the last value of the current key.
    pub fn last_value(&mut self) -> Result<()> {
        if self.valid {
            self.enter(true)?;
        }
        Ok(())
    }

    /// The current key.
    pub fn key(&self) -> Result<&'s [u8]> {
        if let (true, Some(e)) = (self.valid, self.entry) {
            return Ok(e.key);
        }
        let (n, i) = self.stack.last().expect("positioned");
        Ok(n.leaf(*i)?.key)
    }

    /// The current (key, value), or None when not positioned.
    pub fn current(&self) -> Result<Option<(&'s [u8], &'s [u8])>> {
        if !self.valid {
            return Ok(None);
        }
        // The common cases, from the entry decoded when the cursor moved: an inline value,
        // or a value of a nested list tree.
        if let Some(e) = self.entry {
            match &self.sub {
                Sub::None if e.kind == VAL_INLINE => return Ok(Some((e.key, e.val))),
                Sub::Tree(c) => {
                    if let Some((v, _)) = c.current()? {
                        return Ok(Some((e.key, v)));
                    }
                }
                _ => {}
            }
        }
        let (n, i) = *self.stack.last().expect("positioned");
        let e = match self.entry {
            Some(e) => e,
            None => n.leaf(i)?,
        };
        let v = match &self.sub {
            Sub::None => plain_value(self.src, n.pgno, &e)?,
            Sub::Inline { items, pos } => items[*pos],
            Sub::Tree(c) => match c.current()? {
                Some((k, _)) => k,
                None => {
                    return Err(BtreeError::corrupted(
                        n.pgno,
                        "nested cursor lost its position",
                    ))
                }
            },
        };
        Ok(Some((e.key, v)))
    }

    /// Calls `f` with each value of the current key, from the current position to the key's
    /// last value, and leaves the cursor on that last value: one call per key instead of a
    /// `next` and a `current` (and a key comparison) per value.
    pub fn each_value<E: From<BtreeError>>(
        &mut self,
        mut f: impl FnMut(&'s [u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        if !self.valid {
            return Ok(());
        }
        match &mut self.sub {
            Sub::Inline { items, pos } => {
                for v in &items[*pos..] {
                    f(v)?;
                }
                *pos = items.len() - 1;
            }
            Sub::Tree(c) => c.each_nested_key(f)?,
            Sub::None => {
                if let Some((_, v)) = self.current()? {
                    f(v)?;
                }
            }
        }
        Ok(())
    }

    /// In the cursor over a nested list tree (whose keys are the list's values): calls `f`
    /// with every key from the current one to the last, a leaf at a time, and leaves the
    /// cursor on the last.
    fn each_nested_key<E: From<BtreeError>>(
        &mut self,
        mut f: impl FnMut(&'s [u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        while let Some(&(n, i)) = self.stack.last() {
            for j in i..n.len() {
                let e = n.leaf(j)?;
                if e.kind != VAL_INLINE {
                    return Err(BtreeError::corrupted(
                        n.pgno,
                        "a nested list tree holds a list or overflow value",
                    )
                    .into());
                }
                f(e.key)?;
            }
            if let Some(top) = self.stack.last_mut() {
                top.1 = n.len().saturating_sub(1);
            }
            if !self.next_leaf_entry()? {
                self.last()?;
                break;
            }
        }
        Ok(())
    }

    /// Number of values of the current key.
    pub fn value_count(&self) -> Result<u64> {
        let (n, i) = *self.stack.last().expect("positioned");
        entry_count(n.pgno, &n.leaf(i)?)
    }
}

/// Starts loading all of leaf `pgno` into the CPU caches (see `levin_pager::prefetch`): a
/// seek's binary search in it then overlaps its cache misses instead of taking them one
/// after another. A page that cannot be read is left for the search to report.
pub(crate) fn prefetch_leaf<S: PageSource + ?Sized>(s: &S, pgno: levin_pager::Pgno) {
    if let Ok(p) = s.page(pgno) {
        levin_pager::prefetch::prefetch(p);
    }
}
