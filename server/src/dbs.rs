//! The databases the server has open: one shared [`Conn`] or [`Env`] per database
//! directory `ROOT/NAME`, with how many sessions use each, so that a database others use
//! is not dropped under them and one nobody uses is closed.
//!
//! Each entry carries an epoch, which `:close-database` ([`Databases::force_close`])
//! advances: a session whose handle is of an older epoch drops it at its next request
//! ([`Databases::is_current`]). Until it has, it still counts as using the database, so
//! the directory is never deleted under a live handle: the engine shares one open file per
//! path in a process, and a database created again at that path while an old handle lived
//! would write into the deleted file and be lost.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use levin_datalog::Conn;
use levin_engine::{Env, Read};

use crate::error::ServerError;
use crate::system::DbType;

/// An open database.
#[derive(Clone)]
pub enum Store {
    /// A Datalog database.
    Datalog(Conn),
    /// A key-value environment.
    Kv(Env),
}

impl Store {
    /// Its type.
    pub fn db_type(&self) -> DbType {
        match self {
            Store::Datalog(_) => DbType::Datalog,
            Store::Kv(_) => DbType::KeyValue,
        }
    }

    /// The environment under it.
    pub fn env(&self) -> &Env {
        match self {
            Store::Datalog(c) => c.env(),
            Store::Kv(e) => e,
        }
    }
}

struct Entry {
    store: Store,
    /// Sessions holding a handle, of this epoch or an older one.
    sessions: usize,
    /// Handles acquired before a `:close-database` of this entry are of an older epoch.
    epoch: u64,
}

/// The open databases.
pub struct Databases {
    root: PathBuf,
    open: Mutex<HashMap<String, Entry>>,
    /// The next epoch to hand out (epochs are never reused, whatever the name).
    next_epoch: std::sync::atomic::AtomicU64,
}

/// Whether the directory holds a Datalog database (its `datalog/meta` database exists).
pub fn is_datalog_dir(dir: &Path) -> Result<bool, ServerError> {
    let env = Env::open_with(dir, levin_engine::EnvOptions::new().read_only(true))?;
    let r = env.read()?;
    Ok(r.open_db("datalog/meta").is_ok())
}

impl Databases {
    /// No database open yet, under `root`.
    pub fn new(root: &Path) -> Databases {
        Databases {
            root: root.to_path_buf(),
            open: Mutex::new(HashMap::new()),
            next_epoch: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// The directory of database `name`.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_epoch(&self) -> u64 {
        self.next_epoch
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    /// Opens `name` as `ty` for one more session (creating it when missing); returns the
    /// store and the epoch of the handle.
    pub fn acquire(&self, name: &str, ty: DbType) -> Result<(Store, u64), ServerError> {
        let mut open = self.lock();
        if let Some(e) = open.get_mut(name) {
            if e.store.db_type() != ty {
                return Err(ServerError::BadArgument(format!(
                    "database {name:?} is a {} database, not a {} one",
                    type_name(e.store.db_type()),
                    type_name(ty)
                )));
            }
            e.sessions += 1;
            return Ok((e.store.clone(), e.epoch));
        }
        let dir = self.dir(name);
        if dir.is_dir() && ty == DbType::KeyValue && is_datalog_dir(&dir)? {
            return Err(ServerError::BadArgument(format!(
                "database {name:?} is a Datalog database; open it with :open, not :open-kv"
            )));
        }
        let store = match ty {
            DbType::Datalog => Store::Datalog(Conn::open(&dir, ())?),
            DbType::KeyValue => Store::Kv(Env::open(&dir)?),
        };
        let epoch = self.new_epoch();
        open.insert(
            name.to_string(),
            Entry {
                store: store.clone(),
                sessions: 1,
                epoch,
            },
        );
        Ok((store, epoch))
    }

    /// Whether a handle on `name` of `epoch` is still good (no `:close-database` since it
    /// was acquired).
    pub fn is_current(&self, name: &str, epoch: u64) -> bool {
        self.lock().get(name).is_some_and(|e| e.epoch == epoch)
    }

    /// One session stops using `name`; the last one closes it.
    pub fn release(&self, name: &str) {
        let mut open = self.lock();
        if let Some(e) = open.get_mut(name) {
            e.sessions = e.sessions.saturating_sub(1);
            if e.sessions == 0 {
                open.remove(name);
            }
        }
    }

    /// The databases in use and by how many sessions.
    pub fn in_use(&self) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = self
            .lock()
            .iter()
            .map(|(n, e)| (n.clone(), e.sessions))
            .collect();
        v.sort();
        v
    }

    /// Closes `name` for every session: each drops its handle at its next request (which,
    /// if it is on `name`, fails as on a database the session has not opened). The sessions
    /// keep counting as users of `name` until they have.
    pub fn force_close(&self, name: &str) {
        let epoch = self.new_epoch();
        if let Some(e) = self.lock().get_mut(name) {
            e.epoch = epoch;
        }
    }

    /// Deletes the directory of `name` (which nobody may have open).
    pub fn delete(&self, name: &str) -> Result<(), ServerError> {
        let mut open = self.lock();
        if let Some(e) = open.get(name) {
            return Err(ServerError::InUse(format!(
                "database {name:?} is in use by {} session(s); close it first",
                e.sessions
            )));
        }
        open.remove(name);
        let dir = self.dir(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| {
                ServerError::Engine(levin_engine::Error::Io {
                    op: format!("deleting {}", dir.display()),
                    source: e,
                })
            })?;
        }
        Ok(())
    }

    /// Closes everything (at shutdown).
    pub fn close_all(&self) {
        self.lock().clear();
    }
}

/// `Datalog` or `key-value`.
pub fn type_name(t: DbType) -> &'static str {
    match t {
        DbType::Datalog => "Datalog",
        DbType::KeyValue => "key-value",
    }
}
