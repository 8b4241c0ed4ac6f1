//! Integrity checking of a committed tree: checksums, key order, separator bounds, branch
//! counts, list order, depth and page bookkeeping; every problem is reported with its page.

use std::collections::HashSet;

use levin_pager::{Pgno, TreeInfo};

use crate::layout::*;
use crate::list::{self, InlineList};
use crate::node::{checksum_ok, entry_count, Node};
use crate::read::overflow_ref;
use crate::store::PageSource;

/// One problem found by the integrity check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The page at fault.
    pub page: Pgno,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "page {}: {}", self.page, self.what)
    }
}

/// Walks and checks trees, remembering every page seen (to find pages used twice, and for
/// page accounting).
pub struct Checker<'s, S: PageSource + ?Sized> {
    src: &'s S,
    npages: Pgno,
    verify_checksums: bool,
    /// Every page reached, overflow pages included.
    pub seen: HashSet<Pgno>,
    /// Problems found so far.
    pub problems: Vec<Problem>,
}

struct Totals {
    entries: u64,
    branch: u64,
    leaf: u64,
    overflow: u64,
}

impl<'s, S: PageSource + ?Sized> Checker<'s, S> {
    /// A checker for a snapshot whose pages are below `npages`. Checksums are verified only
    /// when `verify_checksums` (dirty pages of an open write transaction are not sealed).
    pub fn new(src: &'s S, npages: Pgno, verify_checksums: bool) -> Self {
        Checker {
            src,
            npages,
            verify_checksums,
            seen: HashSet::new(),
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, page: Pgno, what: impl Into<String>) {
        self.problems.push(Problem {
            page,
            what: what.into(),
        });
    }

    fn claim(&mut self, pgno: Pgno, count: u64, owner: &str) -> bool {
        if pgno < levin_pager::format::FIRST_DATA_PAGE || pgno.saturating_add(count) > self.npages {
            self.problem(
                pgno,
                format!(
                    "{owner} refers to pages {pgno}..{} outside the file's {} pages",
                    pgno.saturating_add(count),
                    self.npages
                ),
            );
            return false;
        }
        for p in pgno..pgno + count {
            if !self.seen.insert(p) {
                self.problem(p, format!("page reached twice (again from {owner})"));
                return false;
            }
        }
        true
    }

    /// Checks a whole tree against its descriptor.
    pub fn check_tree(&mut self, name: &str, info: &TreeInfo) {
        if info.root == 0 {
            if info.entries != 0 || info.depth != 0 {
                self.problem(
                    0,
                    format!(
                        "{name}: empty tree claims {} entries, depth {}",
                        info.entries, info.depth
                    ),
                );
            }
            return;
        }
        let mut t = Totals {
            entries: 0,
            branch: 0,
            leaf: 0,
            overflow: 0,
        };
        let mut leaf_depth = None;
        self.check_page(name, info.root, None, None, 1, &mut leaf_depth, &mut t);
        if t.entries != info.entries {
            self.problem(
                info.root,
                format!(
                    "{name}: descriptor says {} entries, tree holds {}",
                    info.entries, t.entries
                ),
            );
        }
        if leaf_depth.unwrap_or(0) != info.depth {
            self.problem(
                info.root,
                format!(
                    "{name}: descriptor says depth {}, leaves are at depth {}",
                    info.depth,
                    leaf_depth.unwrap_or(0)
                ),
            );
        }
        if (t.branch, t.leaf, t.overflow)
            != (info.branch_pages, info.leaf_pages, info.overflow_pages)
        {
            self.problem(
                info.root,
                format!(
                    "{name}: descriptor counts {}/{}/{} branch/leaf/overflow pages, tree has {}/{}/{}",
                    info.branch_pages, info.leaf_pages, info.overflow_pages, t.branch, t.leaf, t.overflow
                ),
            );
        }
    }

    /// Checks the subtree at `pgno`, whose keys must lie in [lo, hi); returns its entry count.
    #[allow(clippy::too_many_arguments)]
    fn check_page(
        &mut self,
        name: &str,
        pgno: Pgno,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
        depth: u32,
        leaf_depth: &mut Option<u32>,
        t: &mut Totals,
    ) -> u64 {
        if depth > 64 || !self.claim(pgno, 1, name) {
            return 0;
        }
        let src = self.src;
        let data = match src.page(pgno) {
            Ok(d) => d,
            Err(e) => {
                self.problem(pgno, format!("{name}: unreadable: {e}"));
                return 0;
            }
        };
        if self.verify_checksums && !checksum_ok(data) {
            self.problem(pgno, format!("{name}: checksum mismatch"));
        }
        let n = match Node::new(pgno, data) {
            Ok(n) => n,
            Err(e) => {
                self.problem(pgno, format!("{name}: {e}"));
                return 0;
            }
        };
        if n.is_empty() {
            self.problem(pgno, format!("{name}: empty page inside the tree"));
            return 0;
        }
        let mut total = 0u64;
        let mut prev: Option<&[u8]> = None;
        if n.is_leaf() {
            t.leaf += 1;
            match leaf_depth {
                None => *leaf_depth = Some(depth),
                Some(d) if *d != depth => self.problem(
                    pgno,
                    format!("{name}: leaf at depth {depth}, others at {d}"),
                ),
                _ => {}
            }
            for i in 0..n.len() {
                let e = match n.leaf(i) {
                    Ok(e) => e,
                    Err(err) => {
                        self.problem(pgno, format!("{name}: {err}"));
                        continue;
                    }
                };
                self.check_key_order(name, pgno, i, e.key, &mut prev, lo, hi);
                match e.kind {
                    VAL_OVERFLOW => match overflow_ref(pgno, e.val) {
                        Ok((p, len)) => {
                            let count = Limits::new(src.page_size()).overflow_pages(len);
                            if self.claim(p, count, name) {
                                t.overflow = t.overflow.saturating_add(count);
                                match src.pages(p, count) {
                                    Ok(run) => {
                                        if run[HDR_KIND_OFF] != KIND_OVERFLOW {
                                            self.problem(p, format!("{name}: overflow run does not start with an overflow page"));
                                        } else if self.verify_checksums && !checksum_ok(run) {
                                            self.problem(
                                                p,
                                                format!("{name}: overflow run checksum mismatch"),
                                            );
                                        }
                                    }
                                    Err(err) => self.problem(p, format!("{name}: {err}")),
                                }
                            }
                        }
                        Err(err) => self.problem(pgno, format!("{name}: {err}")),
                    },
                    VAL_LIST => {
                        if let Err(err) = InlineList::parse(pgno, e.val) {
                            self.problem(pgno, format!("{name}: {err}"));
                        }
                    }
                    VAL_TREE => match list::tree_info(pgno, e.val) {
                        Ok(nested) => {
                            let mut nt = Totals {
                                entries: 0,
                                branch: 0,
                                leaf: 0,
                                overflow: 0,
                            };
                            let mut nd = None;
                            if nested.root == 0 {
                                self.problem(
                                    pgno,
                                    format!("{name}: entry {i} has an empty nested tree"),
                                );
                            } else {
                                self.check_page(name, nested.root, None, None, 1, &mut nd, &mut nt);
                            }
                            if nt.entries != nested.entries || nd.unwrap_or(0) != nested.depth {
                                self.problem(pgno, format!("{name}: nested tree of entry {i} holds {} entries at depth {:?}, descriptor says {} at {}", nt.entries, nd, nested.entries, nested.depth));
                            }
                            t.branch += nt.branch;
                            t.leaf += nt.leaf;
                        }
                        Err(err) => self.problem(pgno, format!("{name}: {err}")),
                    },
                    _ => {}
                }
                match entry_count(pgno, &e) {
                    Ok(c) => total = total.saturating_add(c),
                    Err(err) => self.problem(pgno, format!("{name}: {err}")),
                }
            }
        } else {
            t.branch += 1;
            for i in 0..n.len() {
                let e = match n.branch(i) {
                    Ok(e) => e,
                    Err(err) => {
                        self.problem(pgno, format!("{name}: {err}"));
                        continue;
                    }
                };
                let child_lo = if i == 0 { lo } else { Some(e.key) };
                if i > 0 {
                    self.check_key_order(name, pgno, i, e.key, &mut prev, lo, hi);
                }
                let child_hi = if i + 1 < n.len() {
                    n.branch(i + 1).ok().map(|b| b.key)
                } else {
                    hi
                };
                let c =
                    self.check_page(name, e.child, child_lo, child_hi, depth + 1, leaf_depth, t);
                if c != e.count {
                    self.problem(
                        pgno,
                        format!(
                            "{name}: branch entry {i} counts {} entries, child {} holds {c}",
                            e.count, e.child
                        ),
                    );
                }
                total = total.saturating_add(c);
            }
            return total;
        }
        t.entries = t.entries.saturating_add(total);
        total
    }

    #[allow(clippy::too_many_arguments)]
    fn check_key_order<'k>(
        &mut self,
        name: &str,
        pgno: Pgno,
        i: usize,
        key: &'k [u8],
        prev: &mut Option<&'k [u8]>,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) {
        if let Some(p) = prev {
            if *p >= key {
                self.problem(
                    pgno,
                    format!("{name}: key {i} is not greater than key {}", i - 1),
                );
            }
        }
        if lo.is_some_and(|l| key < l) || hi.is_some_and(|h| key >= h) {
            self.problem(
                pgno,
                format!("{name}: key {i} lies outside the range its parent gives"),
            );
        }
        *prev = Some(key);
    }
}
