//! The write transaction: copy-on-write page management (dirty pages, allocation from the
//! free list or the end of the file, spilling), named trees, and the commit protocol.

use std::collections::BTreeSet;

use crate::pgno_hash::{NameMap, PgnoMap, PgnoSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use levin_btree::layout::{Limits, HDR_PGNO_OFF, PAGE_HEADER_SIZE};
use levin_btree::{node, tree, BtreeError, Cursor, PageSource, PageStore};
use levin_pager::format::TREE_INFO_SIZE;
use levin_pager::{Meta, Pgno, TreeInfo, WrittenPages, WrittenPagesBuilder};

use crate::arena::PageArena;
use crate::catalog;
use crate::dirty::{Dirty, DirtyPages, Loc, LocMut};
use crate::env::{Durability, EnvCore};
use crate::error::{Result, TxnError};
use crate::freelist::{self, FreeKey};

/// The largest single write of coalesced dirty pages. Small on purpose: the kernel caches a
/// written range in folios as large as the write, and ext4 walks every block of a folio on
/// each later write into it, so 4 MiB writes made every later one-page write (the common
/// case, pages reused from the free list) cost as much as writing 2 MiB.
const MAX_WRITE: usize = 64 << 10;

/// The largest single write of coalesced pages that include an overflow run. Values are
/// written once and rewritten only after they are freed, so the large folios such a write
/// makes cost little later; and each whole 2 MiB window of the file written in one call
/// ends up in one 2 MiB folio, which a reader's page fault maps whole (as LMDB's long
/// `pwritev` runs do).
const MAX_RUN_WRITE: usize = 8 << 20;

/// Overflow runs up to this many bytes are held as dirty buffers and written by the flush,
/// coalesced with their neighbours (see `MAX_RUN_WRITE`); larger ones are streamed to the
/// file when put, so memory stays bounded.
const HELD_RUN: usize = 4 << 20;

/// Bytes a flush writes between requests to start writing them to the device (when the
/// commit will sync): the device then works while the next pages are sealed and copied.
const WRITEBACK_CHUNK: u64 = 1 << 20;

/// Gaps of at most this many pages between pages a flush writes, in the part of the file
/// this transaction added, are written too (as zeros) when nothing lives there, so the
/// writes form one run. A delete-heavy transaction frees many of the pages it copied, which
/// leaves such gaps; written around, its pages took the kernel and the device twice as long
/// (removals of half of 1M keys: a 425-550 ms commit for 166 MiB, against 195-250 ms for
/// 225 MiB with the gaps filled).
const MAX_GAP_FILL: u64 = 16;

/// Large values written straight to the file go in pieces that end at multiples of this
/// many bytes of the file (the size of a huge page).
const LARGE_PIECE: usize = 2 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Ordinary work: allocation may load records from the free tree.
    Normal,
    /// Loading a free-tree record: allocation must not re-enter the free tree.
    Loading,
    /// Saving the free list at commit: the pool is frozen, so allocation takes pages from
    /// the commit's reserve, then from the end of the file; freed pages of this transaction
    /// join `freed`.
    Committing,
}

#[derive(Debug, Clone)]
struct TreeState {
    info: Option<TreeInfo>,
    dirty: bool,
}

/// The single write transaction. Dropping it without [`WriteTxn::commit`] aborts it and
/// leaves no trace.
#[derive(Debug)]
pub struct WriteTxn {
    env: Arc<EnvCore>,
    base: Meta,
    txn_id: u64,
    npages: Pgno,
    /// Pages (and overflow runs) modified in this transaction and held in memory.
    dirty: DirtyPages,
    /// Where the dirty single pages live.
    arena: PageArena,
    dirty_bytes: usize,
    /// Single pages allocated in this transaction (held in `dirty` or already spilled).
    own: PgnoSet,
    /// Overflow runs allocated in this transaction: first page to length in pages.
    own_runs: PgnoMap<u64>,
    /// Pages free for this transaction to use.
    pool: BTreeSet<Pgno>,
    /// Pages of earlier snapshots freed by this transaction.
    freed: Vec<Pgno>,
    /// Pages set aside from the pool for the free-tree updates at commit (the pool itself
    /// is frozen then); what is left joins `freed`.
    reserve: Vec<Pgno>,
    /// Free-tree records freed by transactions up to this id may be reused.
    reuse_limit: Option<u64>,
    free_exhausted: bool,
    free_tree: TreeInfo,
    catalog: TreeInfo,
    trees: NameMap<TreeState>,
    phase: Phase,
    finished: bool,
    /// Pages were written before the commit's flush (spilled pages, streamed overflow
    /// values): the commit cannot list them in its meta, so it syncs before the meta.
    wrote_early: bool,
    limits: Limits,
}

impl WriteTxn {
    /// Starts the transaction after the newest commit. The caller holds the writer locks;
    /// on error it releases them.
    pub(crate) fn begin(env: Arc<EnvCore>) -> Result<WriteTxn> {
        let base = env.meta();
        // Ids come from the file: a checksum-valid meta may carry any id. `NO_SNAPSHOT`
        // (u64::MAX) means "no snapshot" in the reader table, so no commit may take it.
        let txn_id = next_txn_id(&base)?;
        // Pages freed by transaction F are unreachable from snapshots >= F. Keep every
        // snapshot a live reader holds, and the previous commit's predecessor (whose meta
        // is still on disk and is what recovery falls back to if the last meta is lost).
        let reuse_limit = crate::protocol::reuse_limit(env.readers().oldest(), txn_id);
        let limits = Limits::new(env.pager.page_size());
        let arena = env
            .idle_arena
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .filter(|a| a.page_size() == limits.page_size)
            .unwrap_or_else(|| PageArena::new(limits.page_size));
        Ok(WriteTxn {
            base,
            txn_id,
            npages: base.npages,
            dirty: DirtyPages::default(),
            arena,
            dirty_bytes: 0,
            own: PgnoSet::default(),
            own_runs: PgnoMap::default(),
            pool: BTreeSet::new(),
            freed: Vec::new(),
            reserve: Vec::new(),
            reuse_limit,
            free_exhausted: false,
            free_tree: base.free,
            catalog: base.catalog,
            trees: NameMap::default(),
            phase: Phase::Normal,
            finished: false,
            wrote_early: false,
            limits,
            env,
        })
    }

    /// The id this transaction commits as.
    pub fn id(&self) -> u64 {
        self.txn_id
    }

    /// The snapshot this transaction started from.
    pub fn base(&self) -> &Meta {
        &self.base
    }

    /// The environment.
    pub fn env(&self) -> &Arc<EnvCore> {
        &self.env
    }

    /// Pages in use (the allocation high-water mark) as of now.
    pub fn npages(&self) -> Pgno {
        self.npages
    }

    /// The catalog tree as modified so far (before pending tree roots are written).
    pub fn catalog_info(&self) -> TreeInfo {
        self.catalog
    }

    /// The free tree as of now.
    pub fn free_tree_info(&self) -> TreeInfo {
        self.free_tree
    }

    // ---- named trees ----------------------------------------------------------------

    /// The descriptor of the named tree, or None if it does not exist.
    pub fn tree(&mut self, name: &str) -> Result<Option<TreeInfo>> {
        if let Some(t) = self.trees.get(name) {
            return Ok(t.info);
        }
        let info = catalog::lookup(self, &self.catalog, name)?;
        self.trees
            .insert(name.to_string(), TreeState { info, dirty: false });
        Ok(info)
    }

    /// The descriptor of the named tree without caching it (for read-only access).
    pub fn tree_peek(&self, name: &str) -> Result<Option<TreeInfo>> {
        if let Some(t) = self.trees.get(name) {
            return Ok(t.info);
        }
        catalog::lookup(self, &self.catalog, name)
    }

    /// Records a new descriptor for the named tree (written to the catalog at commit).
    pub fn set_tree(&mut self, name: &str, info: TreeInfo) {
        // Called after every put: update in place, allocating the name only the first time.
        if let Some(t) = self.trees.get_mut(name) {
            t.info = Some(info);
            t.dirty = true;
            return;
        }
        self.trees.insert(
            name.to_string(),
            TreeState {
                info: Some(info),
                dirty: true,
            },
        );
    }

    /// Creates the named tree if absent; returns its descriptor.
    pub fn create_tree(&mut self, name: &str, flags: u32) -> Result<TreeInfo> {
        catalog::check_name(name, &self.limits)?;
        if let Some(t) = self.tree(name)? {
            return Ok(t);
        }
        let t = TreeInfo::empty(flags);
        self.set_tree(name, t);
        Ok(t)
    }

    /// Frees every page of the named tree and removes it from the catalog.
    pub fn drop_tree(&mut self, name: &str) -> Result<()> {
        let Some(mut t) = self.tree(name)? else {
            return Err(TxnError::NoSuchDatabase(name.to_string()));
        };
        tree::clear(self, &mut t)?;
        self.trees.insert(
            name.to_string(),
            TreeState {
                info: None,
                dirty: true,
            },
        );
        Ok(())
    }

    /// Names of all trees, including ones created in this transaction.
    pub fn tree_names(&self) -> Result<Vec<String>> {
        let mut names: BTreeSet<String> =
            catalog::names(self, &self.catalog)?.into_iter().collect();
        for (n, t) in &self.trees {
            if t.info.is_some() {
                names.insert(n.clone());
            } else {
                names.remove(n);
            }
        }
        Ok(names.into_iter().collect())
    }

    // ---- allocation -----------------------------------------------------------------

    fn alloc_pgno(&mut self) -> Result<Pgno> {
        if self.phase == Phase::Committing {
            if let Some(p) = self.reserve.pop() {
                return Ok(p);
            }
        } else {
            if let Some(p) = self.pool.pop_first() {
                return Ok(p);
            }
            // Deleting a record from the free tree may use up the pages it held; load on.
            while self.phase == Phase::Normal && self.load_free_record()? {
                if let Some(p) = self.pool.pop_first() {
                    return Ok(p);
                }
            }
        }
        let p = self.npages;
        self.npages += 1;
        Ok(p)
    }

    fn alloc_run(&mut self, n: u64) -> Result<Pgno> {
        if n == 1 {
            return self.alloc_pgno();
        }
        let mut loads = 0;
        // A run of n pages spans about n / per_chunk free-list records; search that many
        // and a few more, so freed runs of large values can be found again.
        let max_loads = 8 + 2 * (n as usize).div_ceil(freelist::pages_per_chunk(&self.limits));
        while self.phase != Phase::Committing {
            if let Some(start) = find_run(&self.pool, n) {
                for p in start..start + n {
                    self.pool.remove(&p);
                }
                return Ok(start);
            }
            // Bounded search: a few more records, then give up and extend the file.
            if loads >= max_loads || self.phase != Phase::Normal || !self.load_free_record()? {
                break;
            }
            loads += 1;
        }
        let p = self.npages;
        self.npages += n;
        Ok(p)
    }

    /// Moves the oldest reusable free-tree record into the pool. False if there is none.
    fn load_free_record(&mut self) -> Result<bool> {
        let Some(limit) = self.reuse_limit else {
            return Ok(false);
        };
        if self.free_exhausted || self.free_tree.root == 0 {
            return Ok(false);
        }
        let (key, pages) = {
            let mut c = Cursor::new(&*self, &self.free_tree);
            if !c.first()? {
                return Ok(false);
            }
            let (k, v) = c.current()?.expect("positioned");
            let fk = FreeKey::decode(k).ok_or_else(|| {
                BtreeError::corrupted(self.free_tree.root, "malformed free-list key")
            })?;
            if fk.freed_by > limit {
                self.free_exhausted = true;
                return Ok(false);
            }
            (
                k.to_vec(),
                freelist::decode_pages(v).ok_or_else(|| {
                    BtreeError::corrupted(self.free_tree.root, "malformed free-list record")
                })?,
            )
        };
        for p in pages {
            if p < levin_pager::format::FIRST_DATA_PAGE || p >= self.npages {
                return Err(BtreeError::corrupted(
                    self.free_tree.root,
                    format!("free list holds page {p}, outside the file"),
                )
                .into());
            }
            // A page this transaction already holds (allocated, dirty, or loaded from
            // another record) cannot be free: handing it out again would alias two pages.
            if self.own.contains(&p) || self.dirty.contains(p) || self.pool.contains(&p) {
                return Err(BtreeError::corrupted(
                    self.free_tree.root,
                    format!("free list holds page {p}, which is already in use or listed"),
                )
                .into());
            }
            self.pool.insert(p);
        }
        self.phase = Phase::Loading;
        let mut ft = self.free_tree;
        let r = tree::delete(self, &mut ft, &key);
        self.free_tree = ft;
        self.phase = Phase::Normal;
        r?;
        Ok(true)
    }

    // ---- spilling and flushing ------------------------------------------------------

    /// Bytes of dirty pages held in memory.
    pub fn dirty_bytes(&self) -> usize {
        self.dirty_bytes
    }

    /// Writes dirty pages out early if they exceed the spill threshold, so a transaction of
    /// any size runs in bounded memory. Call between operations.
    pub fn maybe_spill(&mut self) -> Result<()> {
        if self.dirty_bytes > self.env.opts.spill_threshold {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes every dirty page before the commit, to bound the transaction's memory.
    fn spill(&mut self) -> Result<()> {
        self.wrote_early = true;
        self.flush(None).map(|_| ())
    }

    /// Seals and writes every dirty page, coalescing neighbours into one write; with
    /// `record`, also collects the record of what it wrote for a single-sync commit.
    fn flush(&mut self, record: Option<WrittenPagesBuilder>) -> Result<Option<WrittenPages>> {
        let pages = self.dirty.drain_sorted();
        let gaps = GapFill::new(self.base.npages, &self.own, &self.own_runs);
        let mut out = RunWriter::new(
            &self.env.pager,
            &self.env.writer,
            pages.len(),
            self.env.durability() != Durability::NoSync,
            record,
        );
        for (p, d) in pages {
            let (slot, mut heap) = match d {
                Dirty::Slot(s) => (Some(s), Vec::new()),
                Dirty::Heap(v) => (None, v),
            };
            let page: &mut [u8] = match slot {
                Some(s) => self.arena.get_mut(s),
                None => &mut heap,
            };
            page[HDR_PGNO_OFF..HDR_PGNO_OFF + 4].copy_from_slice(&(p as u32).to_le_bytes());
            node::seal(page);
            out.push(p, page, &gaps)?;
            if let Some(s) = slot {
                self.arena.free(s);
            }
        }
        let record = out.finish()?;
        self.dirty_bytes = 0;
        Ok(record)
    }

    // ---- commit ---------------------------------------------------------------------

    /// Commits: writes tree roots to the catalog, saves the free list, writes the pages,
    /// then the meta page, syncing as the durability mode asks. On error nothing becomes
    /// visible; after an I/O error the environment refuses further writes until reopened.
    pub fn commit(mut self) -> Result<()> {
        let changed = !self.dirty.is_empty()
            || !self.own.is_empty()
            || !self.own_runs.is_empty()
            || !self.freed.is_empty()
            || self.trees.values().any(|t| t.dirty);
        if !changed {
            self.finish();
            return Ok(());
        }
        let mut pending: Vec<(String, Option<TreeInfo>)> = self
            .trees
            .iter()
            .filter(|(_, t)| t.dirty)
            .map(|(n, t)| (n.clone(), t.info))
            .collect();
        pending.sort_by(|a, b| a.0.cmp(&b.0));
        let mut cat = self.catalog;
        for (name, info) in pending {
            match info {
                Some(info) => {
                    let mut v = [0u8; TREE_INFO_SIZE];
                    info.encode(&mut v);
                    tree::put(&mut self, &mut cat, name.as_bytes(), &v, false)?;
                }
                None => {
                    tree::delete(&mut self, &mut cat, name.as_bytes())?;
                }
            }
        }
        self.catalog = cat;
        self.save_free_list()?;
        // A durable commit that wrote nothing before this flush, on top of a meta known to
        // be durable, lists what the flush writes in its meta and syncs once, after the meta;
        // recovery then checks that those pages landed (docs/FORMAT.md, "The commit
        // protocol"). The base meta must be durable because the new meta overwrites the
        // slot of the one before it: a crash before the sync leaves only the base to fall
        // back to.
        let durability = self.env.durability();
        let base_durable = self.env.durable_through.load(Ordering::SeqCst) >= self.base.txn_id;
        let record = (durability == Durability::Durable && !self.wrote_early && base_durable)
            .then(|| WrittenPagesBuilder::new(self.limits.page_size));
        let written = self.flush(record)?;
        let meta = Meta {
            page_size: self.limits.page_size as u32,
            txn_id: self.txn_id,
            npages: self.npages,
            catalog: self.catalog,
            free: self.free_tree,
        };
        let (pager, writer) = (&self.env.pager, &self.env.writer);
        pager.ensure_pages(self.npages)?;
        match (durability, written) {
            (Durability::Durable, Some(written)) => {
                pager.write_meta(writer, &meta, Some(&written))?;
                pager.sync()?;
            }
            (Durability::Durable, None) => {
                pager.sync()?;
                pager.write_meta_durable(writer, &meta)?;
            }
            (Durability::NoMetaSync, _) => {
                pager.sync()?;
                pager.write_meta(writer, &meta, None)?;
            }
            (Durability::NoSync, _) => pager.write_meta(writer, &meta, None)?,
        }
        // A durable commit made its own meta durable; a NoMetaSync one, by its first sync,
        // the meta before it.
        let durable = match durability {
            Durability::Durable => meta.txn_id,
            Durability::NoMetaSync => self.base.txn_id,
            Durability::NoSync => 0,
        };
        self.env
            .durable_through
            .fetch_max(durable, Ordering::SeqCst);
        self.env.publish(meta);
        self.finish();
        Ok(())
    }

    /// Writes the pool (pages reusable now) and this transaction's freed pages into the free
    /// tree. Saving may itself free pages (copy-on-write of free-tree pages); it repeats
    /// until the freed set stops growing, which it does because the pool is frozen and the
    /// records only grow.
    fn save_free_list(&mut self) -> Result<()> {
        // Set aside reusable pages for the copy-on-write of the free tree's paths below, so
        // that a large free tree does not make every commit extend the file.
        let want = 4 * (self.free_tree.depth as usize + 2);
        while self.pool.len() < want && self.load_free_record()? {}
        while self.reserve.len() < want {
            match self.pool.pop_first() {
                Some(p) => self.reserve.push(p),
                None => break,
            }
        }
        let per_chunk = freelist::pages_per_chunk(&self.limits);
        // A partial chunk of leftover pool pages joins the reserve rather than becoming a
        // small record that would cost more to delete from the free tree than it holds.
        for _ in 0..self.pool.len() % per_chunk {
            let p = self.pool.pop_last().expect("pool is not empty");
            self.reserve.push(p);
        }
        self.reserve.sort_unstable_by(|a, b| b.cmp(a));
        self.phase = Phase::Committing;
        let pool: Vec<Pgno> = std::mem::take(&mut self.pool).into_iter().collect();
        let mut ft = self.free_tree;
        for (c, chunk) in pool.chunks(per_chunk).enumerate() {
            let key = FreeKey {
                freed_by: 0,
                writer: self.txn_id,
                chunk: c as u16,
            }
            .encode();
            tree::put(self, &mut ft, &key, &freelist::encode_pages(chunk), false)?;
        }
        let mut written_chunks = 0usize;
        loop {
            self.freed.sort_unstable();
            self.freed.dedup();
            let before = self.freed.len();
            let freed = self.freed.clone();
            // Chunks of even size: a tiny last record would cost more to delete from the
            // free tree than the pages it holds.
            let size = freed.len().div_ceil(freed.len().div_ceil(per_chunk).max(1));
            let chunks: Vec<&[Pgno]> = freed.chunks(size.max(1)).collect();
            for (c, chunk) in chunks.iter().enumerate() {
                let key = FreeKey {
                    freed_by: self.txn_id,
                    writer: self.txn_id,
                    chunk: c as u16,
                }
                .encode();
                tree::put(self, &mut ft, &key, &freelist::encode_pages(chunk), false)?;
            }
            for c in chunks.len()..written_chunks {
                let key = FreeKey {
                    freed_by: self.txn_id,
                    writer: self.txn_id,
                    chunk: c as u16,
                }
                .encode();
                tree::delete(self, &mut ft, &key)?;
            }
            written_chunks = chunks.len();
            self.freed.sort_unstable();
            self.freed.dedup();
            if self.freed.len() == before {
                if self.reserve.is_empty() {
                    break;
                }
                // Reserved pages not needed are recorded as freed by this transaction (they
                // are unreachable from every snapshot and become reusable a little later).
                // Half at a time, so that rewriting the records keeps pages to draw on.
                let keep = self.reserve.len() / 2;
                let unused: Vec<Pgno> = self.reserve.drain(..self.reserve.len() - keep).collect();
                self.freed.extend(unused);
            }
        }
        self.free_tree = ft;
        Ok(())
    }

    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            // No dirty page outlives the transaction: its slots are all free again.
            self.dirty.clear();
            let mut arena =
                std::mem::replace(&mut self.arena, PageArena::new(self.limits.page_size));
            arena.reset();
            *self
                .env
                .idle_arena
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(arena);
            self.env.end_write();
        }
    }

    /// Aborts explicitly (the same as dropping the transaction).
    pub fn abort(mut self) {
        self.finish();
    }
}

impl Drop for WriteTxn {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The id of the commit after `base`, or a corruption error when there is none: the id
/// after `base` must be below [`levin_pager::NO_SNAPSHOT`] (u64::MAX), which the reader
/// table reserves for "no snapshot".
pub fn next_txn_id(base: &Meta) -> Result<u64> {
    base.txn_id
        .checked_add(1)
        .filter(|&id| id < levin_pager::NO_SNAPSHOT)
        .ok_or_else(|| {
            BtreeError::corrupted(
                base.slot(),
                format!(
                    "the newest meta page records transaction id {}, which no later commit \
                     can follow; the meta page is damaged or was crafted",
                    base.txn_id
                ),
            )
            .into()
        })
}

/// The first page of `n` consecutive pages in `pool`, if any.
fn find_run(pool: &BTreeSet<Pgno>, n: u64) -> Option<Pgno> {
    let mut start = 0;
    let mut len = 0;
    let mut prev = None;
    for &p in pool {
        if prev == Some(p.wrapping_sub(1)) {
            len += 1;
        } else {
            start = p;
            len = 1;
        }
        if len == n {
            return Some(start);
        }
        prev = Some(p);
    }
    None
}

impl PageSource for WriteTxn {
    fn page(&self, pgno: Pgno) -> levin_btree::Result<&[u8]> {
        if let Some(d) = self.dirty.get(pgno) {
            return Ok(&self.bytes_of(d)[..self.limits.page_size]);
        }
        // A clean page: from the map, without looking in the dirty map a second time.
        clean_page(&self.env, self.npages, pgno)
    }

    fn pages(&self, pgno: Pgno, count: u64) -> levin_btree::Result<&[u8]> {
        if let Some(d) = self.dirty.get(pgno) {
            return Ok(self.bytes_of(d));
        }
        clean_pages(&self.env, self.npages, pgno, count)
    }

    fn page_size(&self) -> usize {
        self.limits.page_size
    }
}

impl PageStore for WriteTxn {
    fn touch_with(
        &mut self,
        pgno: Pgno,
        build: impl FnOnce(&[u8], &mut [u8]) -> levin_btree::Result<()>,
    ) -> levin_btree::Result<(Pgno, bool)> {
        if self.dirty.contains(pgno) {
            return Ok((pgno, false));
        }
        let ps = self.limits.page_size;
        let src = clean_page(&self.env, self.npages, pgno)?;
        let copy = match self.arena.alloc() {
            Some(slot) => {
                if let Err(e) = build(src, self.arena.get_mut(slot)) {
                    self.arena.free(slot);
                    return Err(e);
                }
                Dirty::Slot(slot)
            }
            None => {
                let mut v = vec![0u8; ps];
                build(src, &mut v)?;
                Dirty::Heap(v)
            }
        };
        let target = if self.own.contains(&pgno) {
            // Spilled earlier in this transaction: no snapshot can see it, edit in place.
            pgno
        } else {
            let p = self.alloc_pgno().map_err(into_btree)?;
            self.own.insert(p);
            self.free(pgno, 1);
            p
        };
        self.dirty_bytes += ps;
        self.dirty.insert(target, copy);
        Ok((target, true))
    }

    fn is_dirty(&self, pgno: Pgno) -> bool {
        self.dirty.contains(pgno)
    }

    fn page_mut(&mut self, pgno: Pgno) -> &mut [u8] {
        match self
            .dirty
            .get_mut(pgno)
            .expect("page_mut on a page that is not dirty")
        {
            LocMut::Slot(s) => self.arena.get_mut(s),
            LocMut::Heap(v) => v,
        }
    }

    fn alloc_page(&mut self) -> levin_btree::Result<Pgno> {
        let p = self.alloc_pgno().map_err(into_btree)?;
        self.own.insert(p);
        let ps = self.limits.page_size;
        let page = match self.arena.alloc() {
            Some(slot) => {
                self.arena.get_mut(slot).fill(0);
                Dirty::Slot(slot)
            }
            None => Dirty::Heap(vec![0u8; ps]),
        };
        self.dirty.insert(p, page);
        self.dirty_bytes += ps;
        Ok(p)
    }

    fn alloc_overflow(&mut self, header: &[u8], value: &[u8]) -> levin_btree::Result<(Pgno, u64)> {
        let ps = self.limits.page_size;
        let n = self.limits.overflow_pages(value.len() as u64);
        let p = self.alloc_run(n).map_err(into_btree)?;
        self.own_runs.insert(p, n);
        let total = n as usize * ps;
        let mut hdr = [0u8; PAGE_HEADER_SIZE];
        hdr.copy_from_slice(&header[..PAGE_HEADER_SIZE]);
        hdr[HDR_PGNO_OFF..HDR_PGNO_OFF + 4].copy_from_slice(&(p as u32).to_le_bytes());
        if total <= HELD_RUN {
            let mut buf = vec![0u8; total];
            buf[..PAGE_HEADER_SIZE].copy_from_slice(&hdr);
            buf[PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + value.len()].copy_from_slice(value);
            self.dirty_bytes += total;
            self.dirty.insert(p, Dirty::Heap(buf));
        } else {
            // Large values go straight to the file (no snapshot can see these pages yet),
            // in pieces of at most 2 MiB so memory stays bounded.
            let padding = total - PAGE_HEADER_SIZE - value.len();
            let mut h = crc32fast::Hasher::new();
            h.update(&hdr);
            h.update(value);
            h.update(&vec![0u8; padding]);
            let crc = h.finalize();
            hdr[levin_btree::layout::HDR_CHECKSUM_OFF..levin_btree::layout::HDR_CHECKSUM_OFF + 4]
                .copy_from_slice(&crc.to_le_bytes());
            // Pieces end at multiples of LARGE_PIECE in the file, so that all but the first
            // are whole, aligned 2 MiB writes (the page cache may then hold them in large
            // folios, which a reader's page faults map more of at a time). Each piece is
            // copied from the header, the value and the padding as slices.
            self.wrote_early = true;
            let mut piece_buf = Vec::with_capacity(LARGE_PIECE);
            let mut written = 0usize;
            while written < total {
                let at = p as usize * ps + written;
                let len = (LARGE_PIECE - at % LARGE_PIECE).min(total - written);
                piece_buf.clear();
                // Bytes `written..written + len` of header, value and zero padding.
                let (mut from, end) = (written, written + len);
                if from < PAGE_HEADER_SIZE {
                    piece_buf.extend_from_slice(&hdr[from..PAGE_HEADER_SIZE.min(end)]);
                    from = PAGE_HEADER_SIZE.min(end);
                }
                let vend = PAGE_HEADER_SIZE + value.len();
                if from < vend && from < end {
                    let upto = vend.min(end);
                    piece_buf.extend_from_slice(
                        &value[from - PAGE_HEADER_SIZE..upto - PAGE_HEADER_SIZE],
                    );
                    from = upto;
                }
                piece_buf.resize(piece_buf.len() + (end - from), 0);
                self.env.pager.write_pages(
                    &self.env.writer,
                    p + (written / ps) as u64,
                    &piece_buf,
                )?;
                written += len;
            }
            // These pages are final (the entry only refers to them): when the commit will
            // sync, the device can start on them now.
            if self.env.durability() != Durability::NoSync {
                self.env.pager.start_writeback(p, n);
            }
        }
        Ok((p, n))
    }

    fn spill_if_needed(&mut self) -> levin_btree::Result<bool> {
        if self.dirty_bytes > self.env.opts.spill_threshold {
            self.spill().map_err(into_btree)?;
            return Ok(true);
        }
        Ok(false)
    }

    fn free(&mut self, pgno: Pgno, count: u64) {
        let mine = if count == 1 {
            self.own.remove(&pgno)
        } else {
            self.own_runs.remove(&pgno).is_some()
        };
        if mine {
            match self.dirty.remove(pgno) {
                Some(Dirty::Slot(s)) => {
                    self.arena.free(s);
                    self.dirty_bytes -= self.limits.page_size;
                }
                Some(Dirty::Heap(v)) => self.dirty_bytes -= v.len(),
                None => {}
            }
            if self.phase == Phase::Committing {
                self.freed.extend(pgno..pgno + count);
            } else {
                self.pool.extend(pgno..pgno + count);
            }
        } else {
            self.freed.extend(pgno..pgno + count);
        }
    }
}

impl WriteTxn {
    /// The bytes of dirty page (or run) `d`.
    fn bytes_of<'a>(&'a self, d: Loc<'a>) -> &'a [u8] {
        match d {
            Loc::Slot(s) => self.arena.get(s),
            Loc::Heap(v) => v,
        }
    }
}

/// A page of the snapshot the transaction writes over (not a dirty one): from the map.
fn clean_page(env: &EnvCore, npages: Pgno, pgno: Pgno) -> levin_btree::Result<&[u8]> {
    if (levin_pager::format::FIRST_DATA_PAGE..npages).contains(&pgno) {
        if let Some(p) = env.pager.page_if_mapped(pgno) {
            return Ok(p);
        }
    }
    clean_pages(env, npages, pgno, 1)
}

fn clean_pages(env: &EnvCore, npages: Pgno, pgno: Pgno, count: u64) -> levin_btree::Result<&[u8]> {
    if pgno < levin_pager::format::FIRST_DATA_PAGE || pgno.saturating_add(count) > npages {
        return Err(BtreeError::corrupted(
            pgno,
            format!("page reference outside the transaction's {npages} pages"),
        ));
    }
    Ok(env.pager.pages(pgno, count)?)
}

fn into_btree(e: TxnError) -> BtreeError {
    match e {
        TxnError::Btree(b) => b,
        other => BtreeError::corrupted(0, other.to_string()),
    }
}

/// Coalesces the sealed pages of a flush, given in ascending order, into writes: neighbours
/// (and fillable gaps between them) go in one write of at most `MAX_WRITE` bytes, or
/// `MAX_RUN_WRITE` once it holds an overflow run.
struct RunWriter<'a> {
    pager: &'a levin_pager::Pager,
    writer: &'a levin_pager::PageWriter,
    page_size: usize,
    buf: Vec<u8>,
    /// The first page in `buf`.
    start: Pgno,
    /// Whether `buf` holds an overflow run.
    holds_run: bool,
    /// The page after the last one written, if any.
    written_to: Option<Pgno>,
    writeback: Writeback,
    /// The record of what was written, for a single-sync commit.
    record: Option<WrittenPagesBuilder>,
}

impl<'a> RunWriter<'a> {
    fn new(
        pager: &'a levin_pager::Pager,
        writer: &'a levin_pager::PageWriter,
        npages: usize,
        writeback: bool,
        record: Option<WrittenPagesBuilder>,
    ) -> Self {
        let page_size = pager.page_size();
        RunWriter {
            pager,
            writer,
            page_size,
            // Most writes are short; the buffer grows for long ones.
            buf: Vec::with_capacity(npages.min((4 << 20) / page_size + 1) * page_size),
            start: 0,
            holds_run: false,
            written_to: None,
            writeback: Writeback::new(writeback),
            record,
        }
    }

    /// The page after the last one in `buf`.
    fn end(&self) -> Pgno {
        self.start + (self.buf.len() / self.page_size) as u64
    }

    /// Adds page (or overflow run) `p`, writing what `buf` holds first if `p` does not
    /// continue it or `buf` is full.
    fn push(&mut self, p: Pgno, page: &[u8], gaps: &GapFill<'_>) -> Result<()> {
        let is_run = page.len() > self.page_size;
        let cap = if self.holds_run || is_run {
            MAX_RUN_WRITE
        } else {
            MAX_WRITE
        };
        let next = if self.buf.is_empty() {
            self.written_to
        } else {
            Some(self.end())
        };
        if let Some(next) = next.filter(|&n| gaps.fillable(n, p)) {
            let pad = (p - next) as usize * self.page_size;
            if !self.buf.is_empty() && self.buf.len() + pad >= cap {
                self.write()?;
            }
            if self.buf.is_empty() {
                self.start = next;
            }
            self.buf.resize(self.buf.len() + pad, 0);
        }
        if !self.buf.is_empty() && (self.end() != p || self.buf.len() >= cap) {
            self.write()?;
        }
        if self.buf.is_empty() {
            self.start = p;
        }
        self.holds_run |= is_run;
        self.buf.extend_from_slice(page);
        Ok(())
    }

    fn write(&mut self) -> Result<()> {
        let n = (self.buf.len() / self.page_size) as u64;
        self.pager.write_pages(self.writer, self.start, &self.buf)?;
        if let Some(r) = &mut self.record {
            r.add(self.start, &self.buf);
        }
        self.writeback.wrote(self.pager, self.start, n);
        self.written_to = Some(self.start + n);
        self.buf.clear();
        self.holds_run = false;
        Ok(())
    }

    /// Writes what is left, hands the last span to the device and returns the record of
    /// what was written (if one was asked for and it fits in a meta page).
    fn finish(mut self) -> Result<Option<WrittenPages>> {
        if !self.buf.is_empty() {
            self.write()?;
        }
        self.writeback.finish(self.pager);
        Ok(self.record.and_then(WrittenPagesBuilder::finish))
    }
}

/// Which gaps between the pages of a flush may be written with zeros (see `MAX_GAP_FILL`):
/// short ones, at or after the base snapshot's end (so no snapshot, and neither meta page,
/// reaches them), holding no page this transaction wrote earlier (a spilled page or an
/// overflow run). Every other page there was allocated and freed by this transaction.
struct GapFill<'a> {
    base_npages: Pgno,
    own: &'a PgnoSet,
    /// Overflow runs of this transaction at or after `base_npages`, as sorted page ranges.
    runs: Vec<(Pgno, Pgno)>,
}

impl<'a> GapFill<'a> {
    fn new(base_npages: Pgno, own: &'a PgnoSet, own_runs: &PgnoMap<u64>) -> Self {
        let mut runs: Vec<(Pgno, Pgno)> = own_runs
            .iter()
            .filter(|&(&p, &n)| p + n > base_npages)
            .map(|(&p, &n)| (p, p + n))
            .collect();
        runs.sort_unstable();
        GapFill {
            base_npages,
            own,
            runs,
        }
    }

    /// True if pages `from..to` may be written with zeros.
    fn fillable(&self, from: Pgno, to: Pgno) -> bool {
        if from >= to || to - from > MAX_GAP_FILL || from < self.base_npages {
            return false;
        }
        // The first run ending after `from` must start at or after `to`.
        let i = self.runs.partition_point(|&(_, end)| end <= from);
        if self.runs.get(i).is_some_and(|&(start, _)| start < to) {
            return false;
        }
        (from..to).all(|g| !self.own.contains(&g))
    }
}

/// Asks the device to start on a flush's writes a chunk at a time (see `WRITEBACK_CHUNK`).
/// Pages are written in ascending order, so each request covers one span of the file. A
/// flush smaller than one chunk asks nothing: the sync right after it starts those writes
/// just as soon, without an extra system call on every small commit.
struct Writeback {
    enabled: bool,
    /// Whether a request was made in this flush (then the tail is handed over too).
    started: bool,
    /// First page not yet handed to the device, and the end of the pages written so far.
    from: Pgno,
    to: Pgno,
    bytes: u64,
}

impl Writeback {
    fn new(enabled: bool) -> Self {
        Writeback {
            enabled,
            started: false,
            from: Pgno::MAX,
            to: 0,
            bytes: 0,
        }
    }

    fn wrote(&mut self, pager: &levin_pager::Pager, pgno: Pgno, npages: u64) {
        if !self.enabled {
            return;
        }
        self.from = self.from.min(pgno);
        self.to = self.to.max(pgno + npages);
        self.bytes += npages * pager.page_size() as u64;
        if self.bytes >= WRITEBACK_CHUNK {
            self.started = true;
            self.finish(pager);
        }
    }

    /// Hands over what was written since the last request, if this flush made one.
    fn finish(&mut self, pager: &levin_pager::Pager) {
        if self.started && self.to > self.from {
            pager.start_writeback(self.from, self.to - self.from);
        }
        self.from = Pgno::MAX;
        self.to = 0;
        self.bytes = 0;
    }
}
