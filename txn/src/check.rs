//! The environment integrity check: every tree, the free list, and page accounting
//! (every page below the high-water mark is either reachable from exactly one tree or free,
//! never both, never neither).

use std::collections::BTreeSet;

use levin_btree::check::{Checker, Problem};
use levin_btree::{Cursor, PageSource};
use levin_pager::{Meta, Pgno};

use crate::catalog;
use crate::freelist::{self, FreeKey};

/// What the integrity check found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Every problem, with its page.
    pub problems: Vec<Problem>,
    /// Pages reachable from the trees (catalog, free tree, databases).
    pub reachable_pages: u64,
    /// Pages listed as free.
    pub free_pages: u64,
    /// Pages in use: the high-water mark, metas included.
    pub total_pages: u64,
    /// Databases checked.
    pub databases: usize,
    /// A meta page recovery passed over at open whose rollback was not accepted (also
    /// listed among the problems); filled in by the environment's check.
    pub passed_over: Option<levin_pager::PassedOver>,
}

impl CheckReport {
    /// True if nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the snapshot `meta` read through `src`.
pub fn check<S: PageSource + ?Sized>(src: &S, meta: &Meta, verify_checksums: bool) -> CheckReport {
    let mut ck = Checker::new(src, meta.npages, verify_checksums);
    let mut report = CheckReport {
        total_pages: meta.npages,
        ..CheckReport::default()
    };
    ck.check_tree("catalog", &meta.catalog);
    ck.check_tree("free list", &meta.free);
    match catalog::entries(src, &meta.catalog) {
        Ok(dbs) => {
            report.databases = dbs.len();
            for (name, info) in dbs {
                ck.check_tree(&format!("database {name:?}"), &info);
            }
        }
        Err(e) => ck.problems.push(Problem {
            page: meta.catalog.root,
            what: format!("catalog unreadable: {e}"),
        }),
    }
    let mut free: BTreeSet<Pgno> = BTreeSet::new();
    let mut c = Cursor::new(src, &meta.free);
    let mut ok = c.first();
    loop {
        match ok {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                ck.problems.push(Problem {
                    page: meta.free.root,
                    what: format!("free list unreadable: {e}"),
                });
                break;
            }
        }
        match c.current() {
            Ok(Some((k, v))) => {
                let key = FreeKey::decode(k);
                let pages = freelist::decode_pages(v);
                match (key, pages) {
                    (Some(key), Some(pages)) => {
                        if key.freed_by > meta.txn_id || key.writer > meta.txn_id {
                            ck.problems.push(Problem {
                                page: meta.free.root,
                                what: format!(
                                    "free-list record {key:?} is from the future (snapshot {})",
                                    meta.txn_id
                                ),
                            });
                        }
                        for p in pages {
                            if p < levin_pager::format::FIRST_DATA_PAGE || p >= meta.npages {
                                ck.problems.push(Problem {
                                    page: p,
                                    what: "free list holds a page outside the file".into(),
                                });
                            } else if !free.insert(p) {
                                ck.problems.push(Problem {
                                    page: p,
                                    what: "page listed as free twice".into(),
                                });
                            }
                        }
                    }
                    _ => ck.problems.push(Problem {
                        page: meta.free.root,
                        what: "malformed free-list record".into(),
                    }),
                }
            }
            Ok(None) => break,
            Err(e) => {
                ck.problems.push(Problem {
                    page: meta.free.root,
                    what: format!("free list unreadable: {e}"),
                });
                break;
            }
        }
        ok = c.next();
    }
    for p in &free {
        if ck.seen.contains(p) {
            ck.problems.push(Problem {
                page: *p,
                what: "page is both free and in use".into(),
            });
        }
    }
    for p in levin_pager::format::FIRST_DATA_PAGE..meta.npages {
        if !ck.seen.contains(&p) && !free.contains(&p) {
            ck.problems.push(Problem {
                page: p,
                what: "page is neither free nor in use (leaked)".into(),
            });
        }
    }
    report.reachable_pages = ck.seen.len() as u64;
    report.free_pages = free.len() as u64;
    report.problems = ck.problems;
    report
}
