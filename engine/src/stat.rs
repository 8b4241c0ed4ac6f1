//! Environment statistics: page size, pages in use and free, and per-database tree shape.

use std::sync::Arc;

use levin_btree::Cursor;
use levin_pager::{PassedOver, TreeInfo};
use levin_txn::{EnvCore, ReaderInfo};

use crate::error::Result;

/// Statistics of one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbStat {
    /// Its name.
    pub name: String,
    /// True for a list database.
    pub list: bool,
    /// Entries: keys, or (key, value) pairs in a list database.
    pub entries: u64,
    /// Tree depth.
    pub depth: u32,
    /// Branch pages.
    pub branch_pages: u64,
    /// Leaf pages.
    pub leaf_pages: u64,
    /// Overflow pages.
    pub overflow_pages: u64,
}

/// Statistics of an environment.
#[derive(Debug, Clone)]
pub struct Stat {
    /// Page size in bytes.
    pub page_size: usize,
    /// Id of the latest commit.
    pub txn_id: u64,
    /// Pages in use (the high-water mark, metas included).
    pub pages: u64,
    /// Pages on the free list.
    pub free_pages: u64,
    /// File size in bytes.
    pub file_size: u64,
    /// Live readers in every process (pid, snapshot, age).
    pub readers: Vec<ReaderInfo>,
    /// Per-database statistics, by name.
    pub databases: Vec<DbStat>,
    /// A meta page recovery passed over at open: it may hold a commit newer than `txn_id`.
    pub passed_over: Option<PassedOver>,
    /// Whether the rollback past `passed_over` was accepted (true when nothing was passed
    /// over); until it is, writes are refused.
    pub rollback_accepted: bool,
}

impl DbStat {
    fn new(name: String, t: &TreeInfo) -> Self {
        DbStat {
            name,
            list: t.is_list(),
            entries: t.entries,
            depth: t.depth,
            branch_pages: t.branch_pages,
            leaf_pages: t.leaf_pages,
            overflow_pages: t.overflow_pages,
        }
    }
}

impl Stat {
    pub(crate) fn collect(core: &Arc<EnvCore>) -> Result<Stat> {
        // Taken before this function's own read transaction begins.
        let readers = core.live_readers();
        let r = core.begin_read()?;
        let meta = *r.meta();
        let mut free_pages = 0u64;
        let mut c = Cursor::new(&r, &meta.free);
        let mut ok = c.first()?;
        while ok {
            let (_, v) = c.current()?.expect("positioned");
            free_pages += (v.len() / 8) as u64;
            ok = c.next()?;
        }
        let databases = levin_txn::catalog::entries(&r, &meta.catalog)?
            .into_iter()
            .map(|(n, t)| DbStat::new(n, &t))
            .collect();
        Ok(Stat {
            page_size: core.pager().page_size(),
            txn_id: meta.txn_id,
            pages: meta.npages,
            free_pages,
            file_size: core.pager().file_bytes(),
            readers,
            databases,
            passed_over: core.passed_over(),
            rollback_accepted: core.rollback_accepted(),
        })
    }
}
