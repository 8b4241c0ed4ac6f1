//! The shared state of an open environment: the pager, the latest committed meta, the reader
//! table and the writer lock; and the process-wide registry that makes a second open of the
//! same directory share the first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use levin_pager::{
    LockFile, Meta, PageWriter, Pager, PagerError, PagerOptions, PassedOver, NO_SNAPSHOT,
};

use crate::arena::PageArena;
use crate::error::{Result, TxnError};
use crate::read::ReadTxn;
use crate::readers::{ReaderInfo, ReaderTable};
use crate::write::WriteTxn;

/// Name of the lock file beside the data file.
pub const LOCK_FILE: &str = "lock.levin";

/// When a commit reaches stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Data pages are synced, then the meta page is written and synced; or, for a small
    /// commit on a durable base, the data pages and a meta page listing them are written and
    /// synced once (recovery passes over such a meta unless its pages all landed). Either
    /// way a commit that returned is durable.
    #[default]
    Durable,
    /// Data pages are synced but the meta page is not: a crash may lose the last commits,
    /// never consistency.
    NoMetaSync,
    /// Nothing is synced: an OS crash or power loss may lose commits and, if the storage
    /// reorders writes, damage the file; a process crash loses nothing.
    NoSync,
}

/// Options of the transaction layer.
#[derive(Clone, Debug)]
pub struct CoreOptions {
    /// Pager options (page size, map size, read-only, I/O hook).
    pub pager: PagerOptions,
    /// Durability of commits.
    pub durability: Durability,
    /// Reader slots.
    pub max_readers: usize,
    /// Dirty bytes a write transaction keeps in memory before writing pages out early.
    pub spill_threshold: usize,
    /// Single-process mode: no lock file; the reader table lives in this process. The data
    /// file is locked (`flock`) so that no other process can open it meanwhile, in either
    /// mode, and this open fails while another process has it open.
    pub exclusive: bool,
    /// Write even if recovery passed over a meta page that may hold a newer commit
    /// ([`PassedOver`]); the first commit then overwrites it. Without it, writes are refused
    /// until [`EnvCore::accept_rollback`] is called.
    pub accept_rollback: bool,
}

impl Default for CoreOptions {
    fn default() -> Self {
        CoreOptions {
            pager: PagerOptions::default(),
            durability: Durability::Durable,
            max_readers: 126,
            spill_threshold: 256 << 20,
            exclusive: false,
            accept_rollback: false,
        }
    }
}

/// State shared by every handle and transaction of one open environment.
#[derive(Debug)]
pub struct EnvCore {
    pub(crate) pager: Pager,
    /// The only handle that can write pages of `pager`'s file; private to this crate, so
    /// no other code of the process can rewrite a page a reader may be borrowing.
    pub(crate) writer: PageWriter,
    /// The newest meta this process knows of.
    pub(crate) current: Mutex<Meta>,
    /// Always Some until dropped; taken in Drop so the lock file closes under the registry
    /// lock (see `Drop for EnvCore`).
    readers_slot: Option<ReaderTable>,
    pub(crate) writer_busy: Mutex<bool>,
    pub(crate) writer_cv: Condvar,
    pub(crate) opts: CoreOptions,
    pub(crate) durability: Mutex<Durability>,
    /// The dirty-page memory of the last write transaction, for the next one (so a small
    /// transaction touches memory that is already mapped).
    pub(crate) idle_arena: Mutex<Option<PageArena>>,
    /// The newest commit whose meta page this process knows to be durable: its own durable
    /// commits, and whatever `sync` covered. It starts at 0, the id of the metas a new file
    /// is created with, which are synced before the file is used. A commit may write its
    /// meta before syncing only on top of such a meta (see `WriteTxn::commit`).
    pub(crate) durable_through: AtomicU64,
    /// What recovery passed over at open (see [`PassedOver`]), until accepted.
    passed_over: Mutex<Option<PassedOver>>,
    /// The rollback to the opened meta was accepted: writes may erase the evidence.
    rollback_accepted: AtomicBool,
    dir_key: PathBuf,
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<EnvCore>>> {
    static R: OnceLock<Mutex<HashMap<PathBuf, Weak<EnvCore>>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Signalled when an environment finished closing (its registry entry is gone).
fn registry_cv() -> &'static Condvar {
    static C: OnceLock<Condvar> = OnceLock::new();
    C.get_or_init(Condvar::new)
}

impl Drop for EnvCore {
    fn drop(&mut self) {
        // Close the lock file while holding the registry lock, then remove the entry, so a
        // concurrent open of the same directory never overlaps two descriptors of it.
        let mut reg = registry().lock().unwrap_or_else(|e| e.into_inner());
        drop(self.readers_slot.take());
        if reg
            .get(&self.dir_key)
            .is_some_and(|w| w.strong_count() == 0)
        {
            reg.remove(&self.dir_key);
        }
        registry_cv().notify_all();
    }
}

impl EnvCore {
    /// Opens (or creates) the data file `file`. A second open of the same file in this
    /// process returns the environment already open, so one process never holds two
    /// independent views of one file.
    pub fn open(file: &Path, opts: CoreOptions) -> Result<Arc<EnvCore>> {
        let key = std::fs::canonicalize(file.parent().unwrap_or(Path::new(".")))
            .unwrap_or_else(|_| file.to_path_buf())
            .join(file.file_name().unwrap_or_default());
        let mut reg = registry().lock().unwrap_or_else(|e| e.into_inner());
        while let Some(w) = reg.get(&key) {
            match w.upgrade() {
                Some(existing) => return Ok(existing),
                // The last handle is being dropped right now: wait until its lock file is
                // closed, or closing it would drop the record locks of the new one (POSIX
                // record locks belong to the process, not the descriptor).
                None => reg = registry_cv().wait(reg).unwrap_or_else(|e| e.into_inner()),
            }
        }
        let lock = if opts.exclusive {
            None
        } else {
            let lock_path = file.with_file_name(LOCK_FILE);
            Some(LockFile::open(&lock_path, opts.max_readers.max(1)).map_err(|e| match e {
                PagerError::Io { source, .. } if opts.pager.read_only => PagerError::BadLockFile {
                    path: lock_path.clone(),
                    why: format!("{source}; a read-only open still needs a writable lock file, unless the environment is opened in exclusive mode"),
                },
                e => e,
            })?)
        };
        // Still holding the lock file's init lock: no other process is creating the data file.
        let pager_opts = PagerOptions {
            exclusive: opts.exclusive,
            ..opts.pager.clone()
        };
        let (pager, writer, meta) = Pager::open(file, &pager_opts)?;
        let readers = match lock {
            Some(l) => {
                l.end_init();
                ReaderTable::shared(l)
            }
            None => ReaderTable::private(opts.max_readers),
        };
        let _ = readers.committed().compare_exchange(
            NO_SNAPSHOT,
            meta.txn_id,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        let env = Arc::new(EnvCore {
            readers_slot: Some(readers),
            current: Mutex::new(meta),
            writer_busy: Mutex::new(false),
            writer_cv: Condvar::new(),
            durability: Mutex::new(opts.durability),
            idle_arena: Mutex::new(None),
            durable_through: AtomicU64::new(0),
            passed_over: Mutex::new(pager.passed_over().cloned()),
            rollback_accepted: AtomicBool::new(opts.accept_rollback),
            opts,
            pager,
            writer,
            dir_key: key.clone(),
        });
        reg.insert(key, Arc::downgrade(&env));
        Ok(env)
    }

    /// The reader table.
    pub(crate) fn readers(&self) -> &ReaderTable {
        self.readers_slot.as_ref().expect("present until drop")
    }

    /// The pager.
    pub fn pager(&self) -> &Pager {
        &self.pager
    }

    /// The newest committed meta this process knows of.
    pub fn meta(&self) -> Meta {
        *self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The meta to read given the committed id `committed` seen in the reader table: the
    /// cached one if it is that commit, else the newest valid meta on disk (another process
    /// committed).
    pub(crate) fn meta_for(&self, committed: u64) -> Result<Meta> {
        let cached = self.meta();
        if cached.txn_id == committed {
            return Ok(cached);
        }
        let fresh = self.newest_meta_on_disk(committed)?;
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if fresh.txn_id > cur.txn_id {
            *cur = fresh;
        }
        Ok(*cur)
    }

    /// The newest valid meta on disk whose commit landed; `published` is the newest commit
    /// known complete (see [`Pager::read_meta`]).
    fn newest_meta_on_disk(&self, published: u64) -> Result<Meta> {
        let mut best: Option<Meta> = None;
        for slot in 0..2 {
            if let Ok(m) = self.pager.read_meta(slot, published)? {
                if best.is_none_or(|b| m.txn_id > b.txn_id) {
                    best = Some(m);
                }
            }
        }
        best.ok_or_else(|| PagerError::corrupted(0, "neither meta page is valid any more").into())
    }

    /// Begins a read transaction on the latest committed snapshot.
    pub fn begin_read(self: &Arc<Self>) -> Result<ReadTxn> {
        ReadTxn::begin(self.clone())
    }

    /// Begins the write transaction, waiting while another one is open.
    pub fn begin_write(self: &Arc<Self>) -> Result<WriteTxn> {
        self.begin_write_within(None)
    }

    /// [`EnvCore::begin_write`], waiting at most `timeout` for the writer lock (held by
    /// another transaction of this process or of another); `None` waits as long as it takes.
    /// Fails with [`TxnError::WriterBusy`] when the wait runs out.
    pub fn begin_write_within(self: &Arc<Self>, timeout: Option<Duration>) -> Result<WriteTxn> {
        if self.pager.is_read_only() {
            return Err(TxnError::ReadOnly);
        }
        // After a failed write or sync, the newest meta on disk may belong to the commit
        // that failed; adopting it below would make that commit visible to this process's
        // readers although it returned an error. No write can succeed anyway.
        if self.pager.is_poisoned() {
            return Err(PagerError::Poisoned.into());
        }
        let passed = self.unaccepted_passed_over();
        if let Some(p) = passed.as_ref().filter(|_| !self.readers().is_shared()) {
            return Err(TxnError::PassedOver(p.clone()));
        }
        self.lock_writer(timeout)?;
        if self.readers().is_shared() {
            // Another process may have committed since this one last looked; and a writer
            // that died between writing its meta and publishing it left the table stale.
            if let Err(e) = self.adopt_newest_meta() {
                self.end_write();
                return Err(e);
            }
        }
        if let Some(p) = passed {
            // A commit past the opened meta, by another process that accepted the rollback,
            // has overwritten the passed-over page already: the decision was taken.
            if self.meta().txn_id > p.opened_at {
                self.rollback_accepted.store(true, Ordering::SeqCst);
            } else {
                self.end_write();
                return Err(TxnError::PassedOver(p));
            }
        }
        WriteTxn::begin(self.clone()).inspect_err(|_| self.end_write())
    }

    /// Takes the writer flag and the cross-process writer lock, waiting for both at most
    /// `timeout` ([`TxnError::WriterBusy`] after it), or as long as it takes.
    fn lock_writer(&self, timeout: Option<Duration>) -> Result<()> {
        let started = Instant::now();
        let busy_error = || TxnError::WriterBusy {
            waited_ms: started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
        };
        {
            let mut busy = self.writer_busy.lock().unwrap_or_else(|e| e.into_inner());
            while *busy {
                busy = match timeout {
                    None => self.writer_cv.wait(busy).unwrap_or_else(|e| e.into_inner()),
                    Some(t) => {
                        let Some(left) = t.checked_sub(started.elapsed()) else {
                            return Err(busy_error());
                        };
                        self.writer_cv
                            .wait_timeout(busy, left)
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                };
            }
            *busy = true;
        }
        let locked = match timeout {
            None => self.readers().lock_writer().map(|()| true),
            Some(t) => self.try_lock_writer_until(started + t),
        };
        match locked {
            Ok(true) => {}
            Ok(false) => {
                self.release_writer_flag();
                return Err(busy_error());
            }
            Err(e) => {
                self.release_writer_flag();
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// With the writer locks held: adopts the newest meta on disk if another process
    /// committed it, and publishes the newest commit again.
    fn adopt_newest_meta(&self) -> Result<()> {
        let m = self.newest_meta_on_disk(self.readers().committed().load(Ordering::SeqCst))?;
        {
            let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
            if m.txn_id > cur.txn_id {
                *cur = m;
            }
        }
        self.readers().publish_commit(self.meta().txn_id);
        Ok(())
    }

    /// The meta page recovery passed over at open, if any (see [`PassedOver`]); it stays
    /// reported after the rollback is accepted.
    pub fn passed_over(&self) -> Option<PassedOver> {
        self.passed_over
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// True once the rollback to the opened meta was accepted (by the option at open or by
    /// [`EnvCore::accept_rollback`]), or when nothing was passed over.
    pub fn rollback_accepted(&self) -> bool {
        self.rollback_accepted.load(Ordering::SeqCst) || self.passed_over().is_none()
    }

    fn unaccepted_passed_over(&self) -> Option<PassedOver> {
        self.passed_over()
            .filter(|_| !self.rollback_accepted.load(Ordering::SeqCst))
    }

    /// Accepts the rollback to the meta the environment opened at: durably overwrites the
    /// meta page recovery passed over with that meta (after syncing the file), so no later
    /// open reports it again, and allows writes. Returns what was passed over, if anything.
    /// If another process has committed since, that commit already overwrote the page.
    pub fn accept_rollback(&self) -> Result<Option<PassedOver>> {
        let Some(p) = self.passed_over() else {
            return Ok(None);
        };
        if self.pager.is_read_only() {
            return Err(TxnError::ReadOnly);
        }
        if self.pager.is_poisoned() {
            return Err(PagerError::Poisoned.into());
        }
        self.lock_writer(None)?;
        let r = self.discard_passed_over(&p);
        self.end_write();
        r?;
        self.rollback_accepted.store(true, Ordering::SeqCst);
        Ok(Some(p))
    }

    fn discard_passed_over(&self, p: &PassedOver) -> Result<()> {
        if self.readers().is_shared() {
            self.adopt_newest_meta()?;
        }
        let meta = self.meta();
        if meta.txn_id == p.opened_at {
            self.pager
                .overwrite_meta_slot(&self.writer, p.meta_page, &meta)?;
            self.durable_through
                .fetch_max(meta.txn_id, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Polls the cross-process writer lock until `deadline` (record locks have no timed
    /// wait): `Ok(false)` if another process still holds it then.
    fn try_lock_writer_until(&self, deadline: Instant) -> levin_pager::Result<bool> {
        let mut pause = Duration::from_micros(200);
        loop {
            if self.readers().try_lock_writer()? {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    pub(crate) fn end_write(&self) {
        let _ = self.readers().unlock_writer();
        self.release_writer_flag();
    }

    fn release_writer_flag(&self) {
        *self.writer_busy.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.writer_cv.notify_one();
    }

    /// Publishes a newly committed meta to new readers.
    pub(crate) fn publish(&self, meta: Meta) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = meta;
        self.readers().publish_commit(meta.txn_id);
    }

    /// Flushes all written data to stable storage (useful after `NoSync` commits).
    pub fn sync(&self) -> Result<()> {
        let _guard = self.writer_busy.lock();
        let covered = self.meta().txn_id;
        self.pager.sync()?;
        self.durable_through.fetch_max(covered, Ordering::SeqCst);
        Ok(())
    }

    /// Changes the durability of later commits.
    pub fn set_durability(&self, d: Durability) {
        *self.durability.lock().unwrap_or_else(|e| e.into_inner()) = d;
    }

    /// The durability of commits.
    pub fn durability(&self) -> Durability {
        *self.durability.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Live readers in every process.
    pub fn live_readers(&self) -> Vec<ReaderInfo> {
        self.readers().live()
    }

    /// Frees reader slots held by processes that died; returns how many.
    pub fn reclaim_dead_readers(&self) -> usize {
        self.readers().reclaim_dead()
    }

    /// Options the environment was opened with.
    pub fn options(&self) -> &CoreOptions {
        &self.opts
    }

    /// The canonical path of the data file.
    pub fn file_path(&self) -> &Path {
        &self.dir_key
    }
}
