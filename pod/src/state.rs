//! The pod's open objects and the handles scripts hold for them
//! (`{:pod.huahaiy.datalevin/conn #uuid "..."}`, `.../db`, `.../kv-db`, with `:writing?
//! true` inside explicit transactions), and the guard that turns a write which would wait
//! forever on the pod's own write transaction into an error.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use levin_datalog::{Conn, Db, Transaction};
use levin_edn::{Edn, Keyword};
use levin_engine::{Env, RwTxn};

use crate::error::PodError;
use crate::vars::NAMESPACE;

/// A handle's uuid.
pub type Id = [u8; 16];

/// What a handle names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Datalog connection.
    Conn,
    /// A Datalog database value.
    Db,
    /// A key-value store.
    Kv,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Conn => "conn",
            Kind::Db => "db",
            Kind::Kv => "kv-db",
        }
    }
}

/// A handle as a script passes it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handle {
    /// What it names.
    pub kind: Kind,
    /// Its uuid.
    pub id: Id,
    /// True inside an explicit transaction (`:writing? true`).
    pub writing: bool,
}

impl Handle {
    /// The handle map `v` is, if it is one.
    pub fn parse(v: &Edn) -> Option<Handle> {
        let Edn::Map(m) = v else { return None };
        let mut found = None;
        let mut writing = false;
        for (k, val) in m {
            let Edn::Keyword(k) = k else { continue };
            match (k.namespace(), k.name(), val) {
                (Some(NAMESPACE), "conn", Edn::Uuid(id)) => found = Some((Kind::Conn, *id)),
                (Some(NAMESPACE), "db", Edn::Uuid(id)) => found = Some((Kind::Db, *id)),
                (Some(NAMESPACE), "kv-db", Edn::Uuid(id)) => found = Some((Kind::Kv, *id)),
                (None, "writing?", Edn::Bool(b)) => writing = *b,
                _ => {}
            }
        }
        found.map(|(kind, id)| Handle { kind, id, writing })
    }

    /// The handle map.
    pub fn to_edn(self) -> Edn {
        let mut m = vec![(
            Edn::Keyword(Keyword::new(Some(NAMESPACE), self.kind.key())),
            Edn::Uuid(self.id),
        )];
        if self.writing {
            m.push((Edn::kw("", "writing?"), Edn::Bool(true)));
        }
        Edn::Map(m)
    }

    /// The same handle with `:writing? true`.
    pub fn writing(self) -> Handle {
        Handle {
            writing: true,
            ..self
        }
    }
}

/// An open Datalog connection.
pub struct ConnEntry {
    /// The connection.
    pub conn: Conn,
    /// Its explicit write transaction, between `open-transact` and `close-transact`.
    pub txn: Option<Transaction>,
    /// The directory, as registered for `get-conn`.
    pub dir: Option<PathBuf>,
}

/// A database value.
pub struct DbEntry {
    /// The snapshot.
    pub db: Db<'static>,
    /// The connection it was taken from (kept open while the value is).
    pub conn: Conn,
}

/// An open key-value store.
pub struct KvEntry {
    /// The environment.
    pub env: Env,
    /// Its explicit write transaction, between `open-transact-kv` and `close-transact-kv`.
    pub txn: Option<RwTxn>,
    /// The environment flags, as `get-env-flags` reports them.
    pub flags: BTreeSet<String>,
}

/// Everything the pod has open.
pub struct State {
    /// Connections by handle id.
    pub conns: HashMap<Id, ConnEntry>,
    /// Database values by handle id.
    pub dbs: HashMap<Id, DbEntry>,
    /// Key-value stores by handle id.
    pub kvs: HashMap<Id, KvEntry>,
    /// Handles that were open and are closed.
    pub closed: HashSet<Id>,
    /// `get-conn`'s directory -> connection.
    pub dirs: HashMap<PathBuf, Id>,
    /// The environments (by identity) an explicit write transaction of the pod holds.
    writers: HashSet<usize>,
    /// Directories made for `create-conn` / `empty-db` without one; removed at the end.
    pub temps: Vec<tempfile::TempDir>,
    /// How long a write waits for a writer held elsewhere (another process).
    pub writer_timeout: Duration,
    /// The seed of the next `sample-kv`.
    pub seed: u64,
}

/// The identity of an environment (every handle of one database file shares it).
pub fn env_id(env: &Env) -> usize {
    Arc::as_ptr(env.core()) as usize
}

/// A fresh random (version 4) uuid.
pub fn new_id() -> Id {
    let mut id: Id = rand::random();
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    id
}

impl State {
    /// Nothing open; writes wait at most `writer_timeout` for a writer of another process.
    pub fn new(writer_timeout: Duration) -> State {
        State {
            conns: HashMap::new(),
            dbs: HashMap::new(),
            kvs: HashMap::new(),
            closed: HashSet::new(),
            dirs: HashMap::new(),
            writers: HashSet::new(),
            temps: Vec::new(),
            writer_timeout,
            seed: 0x5eed,
        }
    }

    /// An error if the pod holds an explicit write transaction on `env`'s database: a
    /// write through another handle would wait for it forever.
    pub fn check_writable(&self, env: &Env) -> Result<(), PodError> {
        if self.writers.contains(&env_id(env)) {
            return Err(PodError::WriterBusy(format!(
                "{} has an explicit write transaction open in this pod (open-transact or \
                 open-transact-kv): write through the handle it returned (the one with \
                 :writing? true), or close or abort it first",
                env.path().display()
            )));
        }
        Ok(())
    }

    /// Records that the pod holds (`held`) or released the writer of `env`.
    pub fn set_writer(&mut self, env: &Env, held: bool) {
        if held {
            self.writers.insert(env_id(env));
        } else {
            self.writers.remove(&env_id(env));
        }
    }

    /// Closes everything: explicit transactions are aborted.
    pub fn close_all(&mut self) {
        for (_, mut c) in self.conns.drain() {
            if let Some(t) = c.txn.take() {
                t.abort();
            }
        }
        for (_, mut k) in self.kvs.drain() {
            if let Some(t) = k.txn.take() {
                t.abort();
            }
        }
        self.dbs.clear();
        self.dirs.clear();
        self.writers.clear();
        self.temps.clear();
    }

    /// The error for a handle that is not open.
    pub fn no_handle(kind: Kind, v: &Edn) -> PodError {
        PodError::NoHandle {
            kind: kind.key(),
            id: v.to_string(),
        }
    }
}

/// The handle of kind `kind` that argument `i` of `var` must be.
pub fn handle_arg(args: &[Edn], i: usize, kinds: &[Kind], var: &str) -> Result<Handle, PodError> {
    let v = args.get(i).unwrap_or(&Edn::Nil);
    match Handle::parse(v) {
        Some(h) if kinds.contains(&h.kind) => Ok(h),
        _ => Err(PodError::BadArgument(format!(
            "{var} needs a {} handle as argument {}, got {v}",
            kinds
                .iter()
                .map(|k| format!("{{:{NAMESPACE}/{} #uuid ...}}", k.key()))
                .collect::<Vec<_>>()
                .join(" or "),
            i + 1
        ))),
    }
}
