//! [`Conn`]: a connection to a Datalog database in a directory: opening it with a schema
//! (stored in the database and changed only where the data allows), transacting, explicit
//! multi-call [`Transaction`]s, clearing, and taking [`Db`] snapshots.
//!
//! `transact` returns a plain [`TxReport`] and `db()` a snapshot value, so neither leaks the
//! storage engine; the remote client offers the same operations through the query crate's
//! `Connection` trait.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use levin_edn::{Edn, Keyword};
use levin_engine::{Env, EnvOptions, Read, RwTxn};

use crate::db::{Db, Snapshot};
use crate::error::{Error, Result};
use crate::layout::{self, Dbs, Meta};
use crate::options::StoreOptions;
use crate::schema::{db_ident, Schema};
use crate::schema_store::{delete_and_rename, load_schema, merge_schema, store_attr, SchemaUpdate};
use crate::tx::{Tx, TxOpts, TxReport};
use crate::txfn::{expand, TxFns};

/// Datoms per transaction call when [`Conn::re_index`] asserts them again.
const RE_INDEX_BATCH: usize = 10_000;

/// A callback run after each commit (see [`Conn::listen`]).
pub type Listener = dyn Fn(&TxReport) + Send + Sync;

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
    /// Registered transaction functions.
    tx_fns: Mutex<TxFns>,
    /// Callbacks after commit, by key, in registration order.
    listeners: Mutex<Vec<(Edn, Arc<Listener>)>>,
    /// Held from a commit until the snapshot after it is taken, and by every commit of
    /// this connection, so that `db_after` is exactly the committed state (writers of
    /// other processes are not held; see [`TxReport::db_after`]).
    commit_gate: Mutex<()>,
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
                options: StoreOptions::default(),
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
                tx_fns: Mutex::new(HashMap::new()),
                listeners: Mutex::new(Vec::new()),
                commit_gate: Mutex::new(()),
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

    /// Adds or changes attributes, as [`Conn::open`] does with a schema. A stored attribute
    /// given in EDN keeps the properties its new definition leaves out, as in Datalevin
    /// (`{:email {:db/doc "x"}}` changes only the doc); a property given as `nil` is
    /// removed. An attribute of a [`Schema`] built in Rust is replaced whole.
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
    /// and committed, or (on any error) nothing changes. The report carries snapshots of
    /// the database before and after (see [`TxReport`]); the listeners
    /// ([`Conn::listen`]) run after the commit, before this returns.
    pub fn transact(&self, tx: &Edn) -> Result<TxReport> {
        self.transact_with_meta(tx, None)
    }

    /// [`Conn::transact`] with metadata, handed back as [`TxReport::tx_meta`] (and so to
    /// the listeners) and not stored (Datalevin's `transact!` with `tx-meta`).
    pub fn transact_with_meta(&self, tx: &Edn, meta: Option<Edn>) -> Result<TxReport> {
        let mut t = self.begin()?;
        // Taken while this transaction holds the writer: the state just before it.
        let before = self.db()?;
        let mut report = t.transact(tx)?;
        report.tx_meta = meta;
        let after = t.finish(true)?;
        report.db_before = Some(Snapshot::new(before));
        report.db_after = after.map(Snapshot::new);
        self.notify(&report);
        Ok(report)
    }

    /// [`Conn::transact`] on EDN text.
    pub fn transact_str(&self, tx: &str) -> Result<TxReport> {
        self.transact(&levin_edn::read(tx)?)
    }

    /// Runs `tx` speculatively (Datalevin's `with` / `db-with`): `f` gets the report and
    /// the database as the transaction left it, then everything is discarded. It applies
    /// to the current state, with the connection's functions and options, and holds the
    /// writer until `f` returns (other transactions wait; snapshots do not), so `f` must
    /// not transact on the connection.
    pub fn with<R>(&self, tx: &Edn, f: impl FnOnce(&TxReport, &Db<'_>) -> R) -> Result<R> {
        let mut t = self.begin()?;
        let report = t.transact(tx)?;
        let out = f(&report, &t.db()?);
        t.abort();
        Ok(out)
    }

    /// Registers `f` as the transaction function `name` (a keyword such as `:my/fn`, with
    /// or without the colon), replacing one of that name: the forms `[:db.fn/call :my/fn
    /// args...]` and `[:my/fn args...]` then call it (see [`TxFn`](crate::TxFn)). An error it returns
    /// fails the transaction with [`Error::TxFn`]; `:db.fn/call` of a name not registered
    /// fails with [`Error::UnknownTxFn`].
    pub fn register_tx_fn(
        &self,
        name: &str,
        f: impl Fn(&Db<'_>, &[Edn]) -> std::result::Result<Edn, crate::TxFnError>
            + Send
            + Sync
            + 'static,
    ) -> Result<()> {
        let k = fn_name(name)?;
        lock(&self.inner.tx_fns).insert(k, Arc::new(f));
        Ok(())
    }

    /// Removes the transaction function `name`; true if there was one.
    pub fn unregister_tx_fn(&self, name: &str) -> Result<bool> {
        let k = fn_name(name)?;
        Ok(lock(&self.inner.tx_fns).remove(&k).is_some())
    }

    /// Registers `f` under `key` (replacing one with that key), to run after every commit
    /// of this connection with the commit's report (Datalevin's `listen!`). It runs on the
    /// thread that committed, after the writer is released, so a slow listener delays only
    /// that caller's return and never other transactions; a listener may transact itself.
    /// A listener that panics is removed, and the commit and its report stand.
    pub fn listen(&self, key: impl Into<Edn>, f: impl Fn(&TxReport) + Send + Sync + 'static) {
        let key = key.into();
        let mut ls = lock(&self.inner.listeners);
        ls.retain(|(k, _)| *k != key);
        ls.push((key, Arc::new(f)));
    }

    /// Removes the listener `key`; true if there was one.
    pub fn unlisten(&self, key: &Edn) -> bool {
        let mut ls = lock(&self.inner.listeners);
        let n = ls.len();
        ls.retain(|(k, _)| k != key);
        ls.len() != n
    }

    /// Runs the listeners on `report`, without holding any lock.
    fn notify(&self, report: &TxReport) {
        let ls: Vec<(Edn, Arc<Listener>)> = lock(&self.inner.listeners).clone();
        for (key, f) in ls {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(report)));
            if ran.is_err() {
                lock(&self.inner.listeners).retain(|(k, g)| !(k == &key && Arc::ptr_eq(g, &f)));
            }
        }
    }

    fn has_listeners(&self) -> bool {
        !lock(&self.inner.listeners).is_empty()
    }

    /// The options the database is transacted under (stored in it: see
    /// [`Conn::set_options`]).
    pub fn options(&self) -> Result<StoreOptions> {
        let r = self.inner.env.read()?;
        Ok(Meta::read(&r, &self.inner.dbs)?.options)
    }

    /// Stores `options` in the database, as Datalevin stores its opts: every connection to
    /// it, in this process or another and in every mode, then transacts under them, and
    /// they stay after the database is closed. Writes only when they differ from the
    /// stored ones (so it works on a read-only database when nothing changes).
    ///
    /// - `closed_schema` (Datalevin's `:closed-schema?`): asserting an attribute the
    ///   schema lacks fails with [`Error::ClosedSchema`] instead of adding it untyped.
    ///   Retracting one is still a no-op.
    /// - `auto_entity_time` (`:auto-entity-time?`): every transaction sets
    ///   `:db/updated-at` on each entity it changes and `:db/created-at` on each that
    ///   lacks it, both as milliseconds since the epoch (`:db.type/long`, added to the
    ///   schema in the same commit when this turns them on); an entity whose other datoms
    ///   are all retracted loses both.
    pub fn set_options(&self, options: StoreOptions) -> Result<()> {
        if self.options()? == options {
            return Ok(());
        }
        let mut t = self.begin()?;
        t.set_options(options)?;
        t.commit()?;
        Ok(())
    }

    /// Lays Datalevin's opts map `opts` over the stored options ([`StoreOptions::with_edn`]:
    /// nil changes nothing) and stores the result, as [`Conn::set_options`]; returns the
    /// options now stored. A bad map is [`Error::Option`], and nothing is stored.
    pub fn merge_options(&self, opts: &Edn) -> Result<StoreOptions> {
        let options = self.options()?.with_edn(opts)?;
        self.set_options(options)?;
        Ok(options)
    }

    /// Sets the stored `closed_schema` option (see [`Conn::set_options`]).
    pub fn set_closed_schema(&self, closed: bool) -> Result<()> {
        self.set_options(StoreOptions {
            closed_schema: closed,
            ..self.options()?
        })
    }

    /// Sets the stored `auto_entity_time` option (see [`Conn::set_options`]).
    pub fn set_auto_entity_time(&self, on: bool) -> Result<()> {
        self.set_options(StoreOptions {
            auto_entity_time: on,
            ..self.options()?
        })
    }

    /// Rebuilds the Datalog indexes from the data (Datalevin's `re-index`), optionally
    /// changing the schema on the way, in one transaction: all of it or nothing. Every
    /// datom is read, the indexes are emptied, `schema` (if any) is merged into the stored
    /// one as [`Conn::update_schema`] would into an empty database, and the datoms are
    /// asserted again with their entity ids. So it allows changes that existing data
    /// forbids to `update_schema`, as long as the data fits: untyped values that fit a new
    /// `:db/valueType`, a new `:db/unique` over distinct values, cardinality many to one
    /// (each entity keeps its first value in index order). A value that does not fit
    /// fails the whole rebuild. Composite tuples are recomputed. Returns the number of
    /// datoms asserted; listeners are not called and entity timestamps are not touched.
    /// It holds every datom in memory.
    pub fn re_index(&self, schema: impl AsSchema) -> Result<u64> {
        let new = schema.as_schema()?;
        let mut t = self.begin()?;
        t.done = None;
        let datoms: Vec<(u64, Keyword, Edn)> = {
            let db = t.db()?;
            let mut out = Vec::new();
            for d in db.datoms(crate::Index::Eav, &[])? {
                let d = d?;
                let derived = db
                    .schema()
                    .get(&d.a)
                    .is_some_and(|a| a.tuple_attrs.is_some());
                if !derived {
                    out.push((d.e, d.a, d.v));
                }
            }
            out
        };
        let dbs = self.inner.dbs.clone();
        let w = t.kv_mut()?;
        w.clear_db(&dbs.eav)?;
        w.clear_db(&dbs.ave)?;
        w.clear_db(&dbs.giants)?;
        if let Some(new) = new {
            t.update_schema(new)?;
        }
        // An attribute now of cardinality one keeps its first value in index order, as
        // Datalevin's re-index does.
        let mut datoms = datoms;
        let mut last: Option<(u64, Keyword)> = None;
        datoms.retain(|(e, a, _)| {
            let one = t.schema.get(a).is_some_and(|x| !x.is_many());
            let again = last.as_ref().is_some_and(|(le, la)| le == e && la == a);
            last = Some((*e, a.clone()));
            !(one && again)
        });
        let n = datoms.len() as u64;
        let add = Edn::kw("db", "add");
        for chunk in datoms.chunks(RE_INDEX_BATCH) {
            let forms = chunk
                .iter()
                .map(|(e, a, v)| {
                    Edn::Vector(vec![
                        add.clone(),
                        Edn::Long(*e as i64),
                        Edn::Keyword(a.clone()),
                        v.clone(),
                    ])
                })
                .collect();
            t.run(&Edn::Vector(forms), TxOpts::default(), &TxFns::new())?;
        }
        t.commit()?;
        Ok(n)
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
            done: self.has_listeners().then(Vec::new),
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
    /// The reports of its calls, kept for the listeners when there were any at begin.
    done: Option<Vec<TxReport>>,
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
        // The options as stored, read with the transaction: another connection (or
        // process) may have changed them.
        let opts = TxOpts {
            closed_schema: self.meta.options.closed_schema,
            entity_time: self.meta.options.auto_entity_time.then(now_millis),
        };
        let fns = lock(&self.conn.inner.tx_fns).clone();
        self.run(tx, opts, &fns)
    }

    /// Applies `tx` with these options and functions.
    fn run(&mut self, tx: &Edn, opts: TxOpts, fns: &TxFns) -> Result<TxReport> {
        self.usable()?;
        let Some(txn) = self.txn.as_mut() else {
            return Err(Error::TxFailed("the transaction has ended".into()));
        };
        let inner = &self.conn.inner;
        let expanded = if fns.is_empty() {
            Ok(std::borrow::Cow::Borrowed(tx))
        } else {
            let db = Db::of_writer(txn, inner.dbs.clone(), self.schema.clone(), self.meta);
            expand(tx, &db, fns)
        };
        let schema = Arc::make_mut(&mut self.schema);
        let ran = expanded.and_then(|tx| {
            Tx::new(txn, &inner.dbs, schema, self.meta)
                .with_opts(opts)
                .run(&tx)
        });
        match ran {
            Ok((report, meta, new_attrs)) => {
                self.meta = meta;
                self.schema_changed |= !new_attrs.is_empty();
                if let Some(done) = &mut self.done {
                    done.push(report.clone());
                }
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

    /// The options stored in the database as of this transaction.
    pub fn options(&self) -> StoreOptions {
        self.meta.options
    }

    /// Stores `options` in the database with this transaction (see [`Conn::set_options`]):
    /// its later `transact` calls, and every transaction after it commits, run under them.
    /// On error the transaction can only be aborted.
    pub fn set_options(&mut self, options: StoreOptions) -> Result<()> {
        self.usable()?;
        if options.auto_entity_time {
            let has = |n: &str| self.schema.get(&Keyword::new(Some("db"), n)).is_some();
            if !has("created-at") || !has("updated-at") {
                self.update_schema(
                    "{:db/created-at {:db/valueType :db.type/long}
                      :db/updated-at {:db/valueType :db.type/long}}",
                )?;
            }
        }
        let Some(txn) = self.txn.as_mut() else {
            return Err(Error::TxFailed("the transaction has ended".into()));
        };
        let mut meta = self.meta;
        meta.options = options;
        match meta.write(txn, &self.conn.inner.dbs) {
            Ok(()) => {
                self.meta = meta;
                Ok(())
            }
            Err(e) => {
                self.failed = Some(format!("storing the options failed ({e}); abort it"));
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

    /// Commits every write of the transaction at once, durably; returns its id. The
    /// connection's listeners then get one report of all its calls (with `db_after`).
    pub fn commit(mut self) -> Result<u64> {
        let id = self.id();
        let after = self.finish(false)?;
        if let Some(done) = self.done.take() {
            let mut all = TxReport {
                tx_data: Vec::new(),
                tempids: Vec::new(),
                max_eid: self.meta.max_eid,
                tx: id,
                tx_meta: None,
                db_before: None,
                db_after: after.map(Snapshot::new),
            };
            for r in done {
                all.tx_data.extend(r.tx_data);
                all.tempids.extend(r.tempids);
            }
            self.conn.notify(&all);
        }
        Ok(id)
    }

    /// Commits; returns the snapshot just after the commit when `snapshot` is true or
    /// there are listeners to give it to.
    fn finish(&mut self, snapshot: bool) -> Result<Option<Db<'static>>> {
        self.usable()?;
        let Some(txn) = self.txn.take() else {
            return Err(Error::TxFailed("the transaction has ended".into()));
        };
        let gate = lock(&self.conn.inner.commit_gate);
        txn.commit()?;
        if self.schema_changed {
            self.conn
                .set_schema(self.meta.schema_gen, self.schema.clone());
        }
        let after = if snapshot || self.done.is_some() {
            Some(self.conn.db()?)
        } else {
            None
        };
        drop(gate);
        Ok(after)
    }

    /// Discards every write of the transaction.
    pub fn abort(mut self) {
        if let Some(txn) = self.txn.take() {
            txn.abort();
        }
    }
}

/// The keyword a transaction function is registered as.
fn fn_name(name: &str) -> Result<Keyword> {
    let k = crate::entity::keyword(name);
    if k.name().is_empty() || k.is("db.fn", "call") {
        return Err(Error::Invalid(format!(
            "{name:?} cannot name a transaction function"
        )));
    }
    Ok(k)
}

/// Milliseconds since the Unix epoch, now.
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The attribute keyword for `:ns/name` text (a convenience for callers).
pub fn attr(name: &str) -> Keyword {
    crate::entity::keyword(name)
}
