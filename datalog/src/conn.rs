//! [`Conn`]: a connection to a Datalog database in a directory: opening it with a schema
//! (stored in the database and changed only where the data allows), transacting, explicit
//! multi-call [`Transaction`]s, clearing, and taking [`Db`] snapshots.
//!
//! `transact` returns a plain [`TxReport`] and `db()` a snapshot value, so neither leaks the
//! storage engine; the remote client offers the same operations through the query crate's
//! `Connection` trait.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use levin_edn::{Edn, Keyword};
use levin_engine::{Env, EnvOptions, Read, RwTxn};

use crate::db::Db;
use crate::error::{Error, Result};
use crate::layout::{self, Dbs, Meta};
use crate::schema::{db_ident, Schema};
use crate::schema_store::{delete_and_rename, load_schema, merge_schema, store_attr, SchemaUpdate};
use crate::tx::{Tx, TxReport};

/// Something that gives a schema: `()` (none), EDN text, an [`Edn`] map, a [`Schema`], or
/// an `Option` of one of these.
pub trait AsSchema {
    /// The schema, or `None` to keep the stored one.
    fn as_schema(&self) -> Result<Option<Schema>>;
}

impl AsSchema for () {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Ok(None)
    }
}

impl AsSchema for &str {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Schema::parse(self).map(Some)
    }
}

impl AsSchema for Edn {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Schema::from_edn(self).map(Some)
    }
}

impl AsSchema for &Edn {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Schema::from_edn(self).map(Some)
    }
}

impl AsSchema for Schema {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Ok(Some(self.clone()))
    }
}

impl AsSchema for &Schema {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Ok(Some((*self).clone()))
    }
}

impl<T: AsSchema> AsSchema for Option<T> {
    fn as_schema(&self) -> Result<Option<Schema>> {
        match self {
            Some(s) => s.as_schema(),
            None => Ok(None),
        }
    }
}

/// A connection to a Datalog database. Cheap to clone (the clones share one connection),
/// `Send` and `Sync`: a server shares one per database across its threads.
/// Transactions run one at a time; snapshots ([`Conn::db`]) never wait for them.
#[derive(Clone)]
pub struct Conn {
    inner: Arc<Inner>,
}

struct Inner {
    env: Env,
    dbs: Dbs,
    /// The cached schema and the generation it was read at.
    schema: Mutex<(u64, Arc<Schema>)>,
    /// How long a transaction waits for the writer; `None` waits as long as it takes.
    writer_timeout: Mutex<Option<Duration>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("path", &self.inner.env.path())
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Opens (creating if needed) the database in `dir` with 4 KiB pages. A schema given
    /// here is merged into the stored one: new attributes are added, changed ones are
    /// changed when existing data allows it ([`Error::SchemaChange`] otherwise); attributes
    /// not mentioned are kept.
    ///
    /// Opening writes only when there is something to write (a new database, or a schema
    /// that changes the stored one); otherwise it neither writes nor waits for a writer, so
    /// it works on a read-only file with `EnvOptions::read_only`.
    pub fn open(dir: impl AsRef<Path>, schema: impl AsSchema) -> Result<Conn> {
        Conn::open_with(dir, schema, EnvOptions::new())
    }

    /// [`Conn::open`] with engine options (page size, durability, read-only, ...).
    pub fn open_with(
        dir: impl AsRef<Path>,
        schema: impl AsSchema,
        opts: EnvOptions,
    ) -> Result<Conn> {
        let new_schema = schema.as_schema()?;
        let env = Env::open_with(dir, opts)?;
        if let Some(conn) = Conn::open_existing(&env, new_schema.as_ref())? {
            return Ok(conn);
        }
        let mut w = env.write()?;
        let fresh = w.open_db(layout::META).is_err();
        let dbs = Dbs::create(&mut w)?;
        let mut meta = if fresh {
            let m = Meta {
                max_eid: 0,
                max_aid: 1,
                max_gid: 0,
                giant_limit: layout::giant_limit_for(env.max_key_size()),
                schema_gen: 0,
            };
            store_attr(&mut w, &dbs, &db_ident())?;
            m
        } else {
            Meta::read(&w, &dbs)?
        };
        let mut stored = load_schema(&w, &dbs)?;
        if let Some(new) = new_schema {
            merge_schema(&mut w, &dbs, &mut stored, &mut meta, &new)?;
        }
        meta.write(&mut w, &dbs)?;
        w.commit()?;
        Ok(Conn::from_parts(env, dbs, meta.schema_gen, stored))
    }

    /// Opens the existing Datalog database in `dir` for reading only: it never writes, never
    /// waits for a writer, and works on a read-only file. Transactions on the connection
    /// fail. [`Error::NoDatalog`] when `dir` holds no Datalog database (a key-value-only
    /// environment is left as it is).
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Conn> {
        let dir = dir.as_ref();
        let env = Env::open_with(dir, EnvOptions::new().read_only(true))?;
        Conn::open_existing(&env, None)?.ok_or_else(|| Error::NoDatalog {
            path: dir.display().to_string(),
        })
    }

    /// The connection to an existing Datalog database whose stored schema already holds
    /// everything in `schema`, read without a write transaction; `None` when opening needs
    /// to write.
    fn open_existing(env: &Env, schema: Option<&Schema>) -> Result<Option<Conn>> {
        let r = env.read()?;
        if r.open_db(layout::META).is_err() {
            return Ok(None);
        }
        let dbs = Dbs::open(&r)?;
        let meta = Meta::read(&r, &dbs)?;
        let stored = load_schema(&r, &dbs)?;
        if let Some(new) = schema {
            if !stored.contains_all(new) {
                return Ok(None);
            }
        }
        drop(r);
        Ok(Some(Conn::from_parts(
            env.clone(),
            dbs,
            meta.schema_gen,
            stored,
        )))
    }

    fn from_parts(env: Env, dbs: Dbs, schema_gen: u64, schema: Schema) -> Conn {
        Conn {
            inner: Arc::new(Inner {
                env,
                dbs,
                schema: Mutex::new((schema_gen, Arc::new(schema))),
                writer_timeout: Mutex::new(None),
            }),
        }
    }

    /// The current schema (with attribute ids).
    pub fn schema(&self) -> Arc<Schema> {
        lock(&self.inner.schema).1.clone()
    }

    /// The schema as of the write transaction `w` (the cache, unless another connection
    /// changed it since).
    fn schema_in(&self, w: &RwTxn, meta: &Meta) -> Result<Arc<Schema>> {
        let cached = lock(&self.inner.schema).clone();
        if cached.0 == meta.schema_gen {
            Ok(cached.1)
        } else {
            Ok(Arc::new(load_schema(w, &self.inner.dbs)?))
        }
    }

    /// Caches `schema` as of generation `gen`, unless a newer one is cached already.
    fn set_schema(&self, gen: u64, schema: Arc<Schema>) {
        let mut cached = lock(&self.inner.schema);
        if gen >= cached.0 {
            *cached = (gen, schema);
        }
    }

    /// The engine environment under the connection.
    pub fn env(&self) -> &Env {
        &self.inner.env
    }

    /// Bounds how long a transaction waits for the writer (held by another transaction of
    /// this process or of another): after `timeout` it fails with an error whose
    /// [`Error::is_writer_busy`] is true. `None` (the default) waits as long as it takes.
    pub fn set_writer_timeout(&self, timeout: Option<Duration>) {
        *lock(&self.inner.writer_timeout) = timeout;
    }

    /// The engine's write transaction, waiting as [`Conn::set_writer_timeout`] says.
    fn begin_write(&self) -> Result<RwTxn> {
        let timeout = *lock(&self.inner.writer_timeout);
        Ok(match timeout {
            Some(t) => self.inner.env.write_timeout(t)?,
            None => self.inner.env.write()?,
        })
    }

    /// Adds or changes attributes, as [`Conn::open`] does with a schema.
    pub fn update_schema(&self, schema: impl AsSchema) -> Result<()> {
        self.update_schema_with(schema, &SchemaUpdate::default())
    }

    /// Adds or changes attributes, then deletes and renames attributes, in one transaction:
    /// all of it happens or none. A deleted attribute must hold no datom; a renamed one
    /// keeps its data, which queries then see under the new name.
    pub fn update_schema_with(&self, schema: impl AsSchema, update: &SchemaUpdate) -> Result<()> {
        let new = schema.as_schema()?;
        if new.is_none() && update.is_empty() {
            return Ok(());
        }
        let mut txn = self.begin_write()?;
        let mut meta = Meta::read(&txn, &self.inner.dbs)?;
        let mut stored = (*self.schema_in(&txn, &meta)?).clone();
        if let Some(new) = new {
            merge_schema(&mut txn, &self.inner.dbs, &mut stored, &mut meta, &new)?;
        }
        delete_and_rename(&mut txn, &self.inner.dbs, &mut stored, &mut meta, update)?;
        meta.write(&mut txn, &self.inner.dbs)?;
        txn.commit()?;
        self.set_schema(meta.schema_gen, Arc::new(stored));
        Ok(())
    }

    /// Removes every datom and keeps the schema; entity ids start again at 1.
    pub fn clear(&self) -> Result<()> {
        let mut txn = self.begin_write()?;
        let dbs = &self.inner.dbs;
        let mut meta = Meta::read(&txn, dbs)?;
        txn.clear_db(&dbs.eav)?;
        txn.clear_db(&dbs.ave)?;
        txn.clear_db(&dbs.giants)?;
        meta.max_eid = 0;
        meta.max_gid = 0;
        meta.write(&mut txn, dbs)?;
        txn.commit()?;
        Ok(())
    }

    /// A snapshot of the database as of now.
    pub fn db(&self) -> Result<Db<'static>> {
        let cached = lock(&self.inner.schema).clone();
        let txn = self.inner.env.read()?;
        Db::new(txn, self.inner.dbs.clone(), cached)
    }

    /// Runs a transaction (a vector of forms) atomically: either every datom is applied
    /// and committed, or (on any error) nothing changes.
    pub fn transact(&self, tx: &Edn) -> Result<TxReport> {
        let mut t = self.begin()?;
        let report = t.transact(tx)?;
        t.commit()?;
        Ok(report)
    }

    /// [`Conn::transact`] on EDN text.
    pub fn transact_str(&self, tx: &str) -> Result<TxReport> {
        self.transact(&levin_edn::read(tx)?)
    }

    /// Begins an explicit write transaction: several [`Transaction::transact`] calls, reads
    /// of its own uncommitted data through [`Transaction::db`], then
    /// [`Transaction::commit`] or [`Transaction::abort`]. It holds the database's writer
    /// until then (other transactions wait, as [`Conn::set_writer_timeout`] bounds);
    /// snapshots do not wait.
    pub fn begin(&self) -> Result<Transaction> {
        let txn = self.begin_write()?;
        let meta = Meta::read(&txn, &self.inner.dbs)?;
        let stale = lock(&self.inner.schema).0 != meta.schema_gen;
        let schema = self.schema_in(&txn, &meta)?;
        Ok(Transaction {
            conn: self.clone(),
            txn: Some(txn),
            meta,
            schema,
            // A schema read from the data (another connection changed it) is cached on
            // commit too.
            schema_changed: stale,
            failed: None,
        })
    }
}

/// An explicit write transaction of a [`Conn`] (see [`Conn::begin`]). Dropping it without
/// [`commit`](Transaction::commit) aborts it. If one of its `transact` calls fails, the
/// transaction may hold part of that call's writes, so it refuses everything but `abort`
/// afterwards.
pub struct Transaction {
    conn: Conn,
    /// `None` once committed or aborted.
    txn: Option<RwTxn>,
    meta: Meta,
    schema: Arc<Schema>,
    schema_changed: bool,
    /// Why the transaction can only be aborted.
    failed: Option<String>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("id", &self.txn.as_ref().map(RwTxn::id))
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Transaction {
    fn usable(&self) -> Result<&RwTxn> {
        if let Some(why) = &self.failed {
            return Err(Error::TxFailed(why.clone()));
        }
        self.txn
            .as_ref()
            .ok_or_else(|| Error::TxFailed("the transaction has ended".into()))
    }

    /// The id the transaction commits as (the engine's transaction id, also
    /// [`TxReport::tx`]).
    pub fn id(&self) -> u64 {
        self.txn.as_ref().map_or(0, RwTxn::id)
    }

    /// Applies a vector of tx forms within the transaction; later calls and
    /// [`Transaction::db`] see them. On error the transaction can only be aborted.
    pub fn transact(&mut self, tx: &Edn) -> Result<TxReport> {
        self.usable()?;
        let Some(txn) = self.txn.as_mut() else {
            return Err(Error::TxFailed("the transaction has ended".into()));
        };
        let schema = Arc::make_mut(&mut self.schema);
        match Tx::new(txn, &self.conn.inner.dbs, schema, self.meta).run(tx) {
            Ok((report, meta, new_attrs)) => {
                self.meta = meta;
                self.schema_changed |= !new_attrs.is_empty();
                Ok(report)
            }
            Err(e) => {
                self.failed = Some(format!("an earlier transact failed ({e}); abort it"));
                Err(e)
            }
        }
    }

    /// Adds or changes attributes within the transaction, as [`Conn::update_schema`] does:
    /// the change commits with the transaction's data or not at all. On error the
    /// transaction can only be aborted.
    pub fn update_schema(&mut self, schema: impl AsSchema) -> Result<()> {
        self.usable()?;
        let Some(new) = schema.as_schema()? else {
            return Ok(());
        };
        let Some(txn) = self.txn.as_mut() else {
            return Err(Error::TxFailed("the transaction has ended".into()));
        };
        let mut stored = (*self.schema).clone();
        let mut meta = self.meta;
        match merge_schema(txn, &self.conn.inner.dbs, &mut stored, &mut meta, &new)
            .and_then(|()| meta.write(txn, &self.conn.inner.dbs))
        {
            Ok(()) => {
                self.meta = meta;
                self.schema = Arc::new(stored);
                self.schema_changed = true;
                Ok(())
            }
            Err(e) => {
                self.failed = Some(format!("a schema change failed ({e}); abort it"));
                Err(e)
            }
        }
    }

    /// The engine's write transaction under this one, to write key-value databases that
    /// must commit (or not) with the Datalog data, as `levin load` does. Writing the
    /// `datalog/...` databases through it bypasses the Datalog layer and can break it.
    pub fn kv_mut(&mut self) -> Result<&mut RwTxn> {
        self.usable()?;
        self.txn
            .as_mut()
            .ok_or_else(|| Error::TxFailed("the transaction has ended".into()))
    }

    /// The database as this transaction sees it, its own uncommitted writes included.
    pub fn db(&self) -> Result<Db<'_>> {
        let txn = self.usable()?;
        Ok(Db::of_writer(
            txn,
            self.conn.inner.dbs.clone(),
            self.schema.clone(),
            self.meta,
        ))
    }

    /// Commits every write of the transaction at once, durably; returns its id.
    pub fn commit(mut self) -> Result<u64> {
        self.usable()?;
        let Some(txn) = self.txn.take() else {
            return Err(Error::TxFailed("the transaction has ended".into()));
        };
        let id = txn.id();
        txn.commit()?;
        if self.schema_changed {
            self.conn
                .set_schema(self.meta.schema_gen, self.schema.clone());
        }
        Ok(id)
    }

    /// Discards every write of the transaction.
    pub fn abort(mut self) {
        if let Some(txn) = self.txn.take() {
            txn.abort();
        }
    }
}

/// The attribute keyword for `:ns/name` text (a convenience for callers).
pub fn attr(name: &str) -> Keyword {
    crate::entity::keyword(name)
}
