//! The shared state of an open environment: the pager, the latest committed meta, the reader
//! table and the writer lock; and the process-wide registry that makes a second open of the
//! same directory share the first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};

use levin_pager::{Meta, Pager, PagerOptions};

use crate::error::{Result, TxnError};
use crate::read::ReadTxn;
use crate::readers::ReaderTable;
use crate::write::WriteTxn;

/// When a commit reaches stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Data pages are synced, then the meta page is written and synced: a commit that
    /// returned is durable.
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
}

impl Default for CoreOptions {
    fn default() -> Self {
        CoreOptions {
            pager: PagerOptions::default(),
            durability: Durability::Durable,
            max_readers: 126,
            spill_threshold: 256 << 20,
        }
    }
}

/// State shared by every handle and transaction of one open environment.
#[derive(Debug)]
pub struct EnvCore {
    pub(crate) pager: Pager,
    pub(crate) current: Mutex<Meta>,
    pub(crate) current_txn: AtomicU64,
    pub(crate) readers: ReaderTable,
    pub(crate) writer_busy: Mutex<bool>,
    pub(crate) writer_cv: Condvar,
    pub(crate) opts: CoreOptions,
    pub(crate) durability: Mutex<Durability>,
    dir_key: PathBuf,
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<EnvCore>>> {
    static R: OnceLock<Mutex<HashMap<PathBuf, Weak<EnvCore>>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
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
        if let Some(existing) = reg.get(&key).and_then(Weak::upgrade) {
            return Ok(existing);
        }
        let (pager, meta) = Pager::open(file, &opts.pager)?;
        let env = Arc::new(EnvCore {
            readers: ReaderTable::new(opts.max_readers.max(1)),
            current_txn: AtomicU64::new(meta.txn_id),
            current: Mutex::new(meta),
            writer_busy: Mutex::new(false),
            writer_cv: Condvar::new(),
            durability: Mutex::new(opts.durability),
            opts,
            pager,
            dir_key: key.clone(),
        });
        reg.retain(|_, w| w.strong_count() > 0);
        reg.insert(key, Arc::downgrade(&env));
        Ok(env)
    }

    /// The pager.
    pub fn pager(&self) -> &Pager {
        &self.pager
    }

    /// The latest committed meta.
    pub fn meta(&self) -> Meta {
        *self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Begins a read transaction on the latest committed snapshot.
    pub fn begin_read(self: &Arc<Self>) -> Result<ReadTxn> {
        ReadTxn::begin(self.clone())
    }

    /// Begins the write transaction, waiting while another one is open.
    pub fn begin_write(self: &Arc<Self>) -> Result<WriteTxn> {
        if self.pager.is_read_only() {
            return Err(TxnError::ReadOnly);
        }
        {
            let mut busy = self.writer_busy.lock().unwrap_or_else(|e| e.into_inner());
            while *busy {
                busy = self.writer_cv.wait(busy).unwrap_or_else(|e| e.into_inner());
            }
            *busy = true;
        }
        Ok(WriteTxn::begin(self.clone()))
    }

    pub(crate) fn end_write(&self) {
        *self.writer_busy.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.writer_cv.notify_one();
    }

    /// Publishes a newly committed meta to new readers.
    pub(crate) fn publish(&self, meta: Meta) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = meta;
        self.current_txn.store(meta.txn_id, Ordering::SeqCst);
    }

    /// Flushes all written data to stable storage (useful after `NoSync` commits).
    pub fn sync(&self) -> Result<()> {
        let _guard = self.writer_busy.lock();
        self.pager.sync()?;
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

    /// Snapshot ids held by live readers.
    pub fn live_readers(&self) -> Vec<u64> {
        self.readers.live()
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
