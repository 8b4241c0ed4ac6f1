//! The environment: a directory holding one data file, opened once per process and shared
//! by every handle; the entry point for transactions, stat, check and sync.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use levin_pager::{IoHook, PagerOptions, PassedOver};
use levin_txn::check::CheckReport;
use levin_txn::{CoreOptions, EnvCore, TxnError};

pub use levin_txn::Durability;

use crate::error::{Error, Result};
use crate::stat::Stat;
use crate::txn::{RoTxn, RwTxn};

/// Name of the data file inside an environment directory.
pub const DATA_FILE: &str = "data.levin";

/// Options for opening an environment. Defaults suit almost everyone.
#[derive(Clone, Debug, Default)]
pub struct EnvOptions {
    core: CoreOptions,
}

impl EnvOptions {
    /// Default options: 4 KiB pages, durable commits, 126 readers.
    pub fn new() -> Self {
        Self::default()
    }
    /// Page size for a new database (a power of two from 512 to 32768); an existing file
    /// keeps its own.
    pub fn page_size(mut self, bytes: usize) -> Self {
        self.core.pager.page_size = bytes;
        self
    }
    /// Address space to reserve (the largest the file may grow); default 1 TiB.
    pub fn max_map_size(mut self, bytes: u64) -> Self {
        self.core.pager.max_map_size = bytes;
        self
    }
    /// Open read-only: no write transactions, works without write permission.
    pub fn read_only(mut self, yes: bool) -> Self {
        self.core.pager.read_only = yes;
        self
    }
    /// Durability of commits.
    pub fn durability(mut self, d: Durability) -> Self {
        self.core.durability = d;
        self
    }
    /// Maximum concurrent read transactions.
    pub fn max_readers(mut self, n: usize) -> Self {
        self.core.max_readers = n;
        self
    }
    /// Dirty bytes a write transaction holds in memory before writing pages out early.
    pub fn spill_threshold(mut self, bytes: usize) -> Self {
        self.core.spill_threshold = bytes;
        self
    }
    /// Single-process mode: no lock file, the reader table lives in this process. Faster to
    /// open and works where the directory is not writable. No other process may use the
    /// environment meanwhile: the data file is locked (`flock`), so this open fails while
    /// another process has the environment open, and other opens fail while this one lasts.
    pub fn exclusive(mut self, yes: bool) -> Self {
        self.core.exclusive = yes;
        self
    }
    /// Write even if recovery passed over a meta page that may hold a newer commit than the
    /// one the environment opened at ([`Env::passed_over`]): the first commit then
    /// overwrites that page, and the commit it may have held is gone for good. Without
    /// this, writes fail with [`levin_txn::TxnError::PassedOver`] until
    /// [`Env::accept_rollback`] is called. For tools and tests that reopen after a crash and
    /// have decided in advance that the last unacknowledged commit may go.
    pub fn accept_rollback(mut self, yes: bool) -> Self {
        self.core.accept_rollback = yes;
        self
    }
    /// Shows every write, sync and resize of the data file to `hook`, which may fail it,
    /// let part of a write land, or lose a sync (fault-injection and recording tests). The
    /// hook never supplies bytes, so it cannot break the map's invariants.
    pub fn io_hook(mut self, hook: Arc<dyn IoHook>) -> Self {
        self.core.pager.io_hook = Some(hook);
        self
    }
    /// The pager options.
    pub fn pager_options(&self) -> &PagerOptions {
        &self.core.pager
    }
}

/// An open environment. Cheap to clone; all clones share one open file.
///
/// Opens of one directory within a process share one file (see `EnvCore::open`), so
/// read-only is a property of the handle as well: a read-only open of a directory this
/// process already has open for writing gets a handle that refuses to write.
#[derive(Clone, Debug)]
pub struct Env {
    core: Arc<EnvCore>,
    dir: PathBuf,
    read_only: bool,
}

impl Env {
    /// Opens the environment in directory `dir` with default options, creating it if needed.
    pub fn open(dir: impl AsRef<Path>) -> Result<Env> {
        Self::open_with(dir, EnvOptions::default())
    }

    /// Opens the environment in `dir` with `opts`, creating the directory and database if
    /// they do not exist (unless read-only).
    ///
    /// A directory this process already has open is shared with that open, and keeps its
    /// options (durability, reader slots, exclusive mode, ...); only read-only is the new
    /// handle's own: a read-only open gets a handle that refuses writes, and an open for
    /// writing of a directory open read-only fails with [`Error::Invalid`].
    pub fn open_with(dir: impl AsRef<Path>, opts: EnvOptions) -> Result<Env> {
        let dir = dir.as_ref();
        if dir.exists() && !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "{} exists and is not a directory",
                dir.display()
            )));
        }
        if !opts.core.pager.read_only {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                op: format!("creating the directory {}", dir.display()),
                source: e,
            })?;
        } else if !dir.join(DATA_FILE).exists() {
            return Err(Error::Invalid(format!(
                "{} holds no Levin database",
                dir.display()
            )));
        }
        let read_only = opts.core.pager.read_only;
        let core = EnvCore::open(&dir.join(DATA_FILE), opts.core)?;
        if core.pager().is_read_only() && !read_only {
            // The file this process shares is open without write access.
            return Err(Error::Invalid(format!(
                "{} is open read-only in this process; close it before opening it for writing",
                dir.display()
            )));
        }
        Ok(Env {
            core,
            dir: dir.to_path_buf(),
            read_only,
        })
    }

    /// The environment directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The page size of the data file.
    pub fn page_size(&self) -> usize {
        self.core.pager().page_size()
    }

    /// The longest key (and list value) this page size allows.
    pub fn max_key_size(&self) -> usize {
        levin_btree::Limits::new(self.page_size()).max_key
    }

    /// Whether this handle was opened read-only (its writes fail with the read-only error).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Fails with the read-only error when this handle was opened read-only.
    fn writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::Txn(TxnError::ReadOnly));
        }
        Ok(())
    }

    /// Begins a read transaction on the latest commit. Never blocks, never blocked.
    pub fn read(&self) -> Result<RoTxn> {
        Ok(RoTxn::new(self.core.begin_read()?))
    }

    /// Begins the write transaction, waiting while another is open.
    pub fn write(&self) -> Result<RwTxn> {
        self.writable()?;
        Ok(RwTxn::new(self.core.begin_write()?))
    }

    /// [`Env::write`], waiting at most `timeout` for another write transaction (of this
    /// process or another) to finish; then it fails with an error whose
    /// [`Error::is_writer_busy`] is true, and nothing was changed.
    pub fn write_timeout(&self, timeout: std::time::Duration) -> Result<RwTxn> {
        self.writable()?;
        Ok(RwTxn::new(self.core.begin_write_within(Some(timeout))?))
    }

    /// Runs `f` in a write transaction: commits if it returns Ok, aborts if it returns Err
    /// or panics.
    pub fn with_write<T, E: From<Error>>(
        &self,
        f: impl FnOnce(&mut RwTxn) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut txn = self.write()?;
        let out = f(&mut txn)?;
        txn.commit()?;
        Ok(out)
    }

    /// Flushes commits made with a weaker durability to stable storage.
    pub fn sync(&self) -> Result<()> {
        Ok(self.core.sync()?)
    }

    /// Changes the durability of later commits.
    pub fn set_durability(&self, d: Durability) {
        self.core.set_durability(d);
    }

    /// Checks the integrity of the latest commit: checksums, order, counts, page accounting;
    /// and reports, as a problem, a meta page recovery passed over at open whose rollback was
    /// not accepted ([`Env::passed_over`]).
    pub fn check(&self) -> Result<CheckReport> {
        let r = self.core.begin_read()?;
        let meta = *r.meta();
        let mut report = levin_txn::check::check(&r, &meta, true);
        if let Some(p) = self
            .core
            .passed_over()
            .filter(|_| !self.core.rollback_accepted())
        {
            report.problems.insert(
                0,
                levin_btree::check::Problem {
                    page: p.meta_page,
                    what: format!(
                        "{p}. Writes are refused until the rollback is accepted \
                         (`levin check --accept-rollback`, Env::accept_rollback)"
                    ),
                },
            );
            report.passed_over = Some(p);
        }
        Ok(report)
    }

    /// The meta page recovery passed over when this environment was opened, if any: one
    /// that may hold a commit newer than the one it opened at (see [`PassedOver`]). It is
    /// reported until the environment is closed, accepted or not.
    pub fn passed_over(&self) -> Option<PassedOver> {
        self.core.passed_over()
    }

    /// Accepts the rollback to the commit the environment opened at: the meta page recovery
    /// passed over is overwritten durably (so no later open reports it) and writes are
    /// allowed. Returns what was passed over, or None if nothing was.
    pub fn accept_rollback(&self) -> Result<Option<PassedOver>> {
        if self.core.passed_over().is_some() {
            self.writable()?;
        }
        Ok(self.core.accept_rollback()?)
    }

    /// Frees reader slots left by processes that died (this also happens at open and
    /// whenever the table fills); returns how many.
    pub fn reclaim_dead_readers(&self) -> usize {
        self.core.reclaim_dead_readers()
    }

    /// Statistics of the latest commit.
    pub fn stat(&self) -> Result<Stat> {
        Stat::collect(&self.core)
    }

    /// The transaction-layer core (for crates built on the engine).
    #[doc(hidden)]
    pub fn core(&self) -> &Arc<EnvCore> {
        &self.core
    }
}
