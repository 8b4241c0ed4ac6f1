//! The one API every deployment mode offers: [`Connection`] (Datalog) and
//! [`KvConnection`] (key-value), implemented here for the embedded [`Conn`] and [`Env`], and
//! by the client crate over the server's protocol, so that code written against the traits
//! runs embedded or remote by changing how the connection is made.
//!
//! Everything crosses the traits as plain data (EDN values, [`TxReport`], [`Datom`],
//! bytes), never a borrowed engine object, so a remote implementation can produce the same
//! answers.

use std::path::Path;

use levin_datalog::{
    Conn, Datom, Db, Error as StoreError, Index, Schema, SchemaUpdate, StoreOptions, Transaction,
    TxReport,
};
use levin_edn::{Edn, Keyword};
use levin_engine::{Env, Range, Read};

use crate::error::Error;
use crate::{DbQuery, Input};

/// Reads of one database value: queries, pull, entities and index access. A
/// [`Connection`] reads its latest committed state on each call, a snapshot reads the state
/// it was taken at, and a [`DatalogTransaction`] reads its own uncommitted writes.
pub trait DatalogRead {
    /// The error of every operation.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Runs `query` with this database as `$` (the first `:in` source) and `inputs` for
    /// the rest of `:in`; the result shaped as the find spec says.
    fn q(&self, query: &Edn, inputs: &[Edn]) -> Result<Edn, Self::Error>;

    /// The plan `query` runs with, as `{:steps [...] ...}` (see `Explain::to_edn`).
    fn explain(&self, query: &Edn, inputs: &[Edn]) -> Result<Edn, Self::Error>;

    /// Pulls `pattern` for the entity `id` (an id, lookup ref or ident); `nil` if none.
    fn pull(&self, pattern: &Edn, id: &Edn) -> Result<Edn, Self::Error>;

    /// [`DatalogRead::pull`] for each id, in order.
    fn pull_many(&self, pattern: &Edn, ids: &[Edn]) -> Result<Vec<Edn>, Self::Error>;

    /// Every attribute of the entity `id` as a map with `:db/id` (Datalevin's
    /// `(touch (entity db id))`), or `None` when it has no datom.
    fn entity(&self, id: &Edn) -> Result<Option<Edn>, Self::Error>;

    /// The entity id `id` names (an id, lookup ref or ident), if any.
    fn entid(&self, id: &Edn) -> Result<Option<u64>, Self::Error>;

    /// The datoms of `index` whose leading components equal `components`, at most `limit`.
    fn datoms(
        &self,
        index: Index,
        components: &[Edn],
        limit: Option<usize>,
    ) -> Result<Vec<Datom>, Self::Error>;

    /// The datoms of `index` from `components` onwards, at most `limit`.
    fn seek_datoms(
        &self,
        index: Index,
        components: &[Edn],
        limit: Option<usize>,
    ) -> Result<Vec<Datom>, Self::Error>;

    /// The datoms of `index` from `components` backwards, at most `limit`.
    fn rseek_datoms(
        &self,
        index: Index,
        components: &[Edn],
        limit: Option<usize>,
    ) -> Result<Vec<Datom>, Self::Error>;

    /// The datoms of `attr` with values in `[lo, hi]` (either bound optional), in value
    /// order, at most `limit`.
    fn index_range(
        &self,
        attr: &Keyword,
        lo: Option<&Edn>,
        hi: Option<&Edn>,
        limit: Option<usize>,
    ) -> Result<Vec<Datom>, Self::Error>;

    /// How many datoms [`DatalogRead::datoms`] would return without a limit.
    fn count_datoms(&self, index: Index, components: &[Edn]) -> Result<u64, Self::Error>;

    /// The largest entity id in use.
    fn max_eid(&self) -> Result<u64, Self::Error>;

    /// The schema, with attribute ids.
    fn schema(&self) -> Result<Schema, Self::Error>;

    /// The datoms matching `[e a v]`, each part optional (`None` matches anything), as
    /// Datalevin's `search-datoms`: read from EAV when `e` is given, else from AVE when `a`
    /// is, else from the whole EAV index, in that index's order (a value given without an
    /// attribute filters what the index gives).
    fn search_datoms(
        &self,
        e: Option<&Edn>,
        a: Option<&Keyword>,
        v: Option<&Edn>,
    ) -> Result<Vec<Datom>, Self::Error> {
        let (index, components, filter) = search_plan(e, a, v);
        let mut found = self.datoms(index, &components, None)?;
        if let Some(v) = filter {
            found.retain(|d| &d.v == v);
        }
        Ok(found)
    }

    /// How many datoms [`DatalogRead::search_datoms`] returns for `[e a v]` (Datalevin's
    /// `count-datoms`): counted in the index without reading them, unless a value is given
    /// without an attribute.
    fn count_search_datoms(
        &self,
        e: Option<&Edn>,
        a: Option<&Keyword>,
        v: Option<&Edn>,
    ) -> Result<u64, Self::Error> {
        let (index, components, filter) = search_plan(e, a, v);
        match filter {
            None => self.count_datoms(index, &components),
            Some(v) => Ok(self
                .datoms(index, &components, None)?
                .iter()
                .filter(|d| &d.v == v)
                .count() as u64),
        }
    }

    /// How many distinct values `attr` holds (Datalevin's `cardinality`); 0 for an
    /// attribute with no datom or not in the schema. This default reads the attribute's
    /// datoms; the embedded database counts its AVE keys instead, and the client has the
    /// server count them with one query.
    fn cardinality(&self, attr: &Keyword) -> Result<u64, Self::Error> {
        let mut n = 0;
        let mut last: Option<Edn> = None;
        for d in self.datoms(Index::Ave, &[Edn::Keyword(attr.clone())], None)? {
            if last.as_ref() != Some(&d.v) {
                n += 1;
                last = Some(d.v);
            }
        }
        Ok(n)
    }
}

/// The index, leading components and value filter [`DatalogRead::search_datoms`] reads
/// `[e a v]` with.
fn search_plan<'v>(
    e: Option<&Edn>,
    a: Option<&Keyword>,
    v: Option<&'v Edn>,
) -> (Index, Vec<Edn>, Option<&'v Edn>) {
    let a = a.map(|k| Edn::Keyword(k.clone()));
    match (e, a, v) {
        (Some(e), Some(a), Some(v)) => (Index::Eav, vec![e.clone(), a, v.clone()], None),
        (Some(e), Some(a), None) => (Index::Eav, vec![e.clone(), a], None),
        (Some(e), None, v) => (Index::Eav, vec![e.clone()], v),
        (None, Some(a), Some(v)) => (Index::Ave, vec![a, v.clone()], None),
        (None, Some(a), None) => (Index::Ave, vec![a], None),
        (None, None, v) => (Index::Eav, vec![], v),
    }
}

/// A connection to a Datalog database, embedded ([`Conn`]) or remote (the client crate).
pub trait Connection: DatalogRead + Send + Sync + Sized {
    /// A database value that keeps reading one state.
    type Snapshot<'c>: DatalogRead<Error = Self::Error>
    where
        Self: 'c;
    /// An explicit write transaction.
    type Txn<'c>: DatalogTransaction<Error = Self::Error>
    where
        Self: 'c;

    /// The database as of now.
    fn db(&self) -> Result<Self::Snapshot<'_>, Self::Error>;

    /// Runs a vector of tx forms atomically.
    fn transact(&self, tx: &Edn) -> Result<TxReport, Self::Error>;

    /// Adds or changes the attributes of `schema` (a map; `nil` for none; a stored
    /// attribute keeps the properties its new definition leaves out, and `nil` removes
    /// one, as in Datalevin), then deletes and renames as `update` says, all at once;
    /// returns the new schema.
    fn update_schema(&self, schema: &Edn, update: &SchemaUpdate) -> Result<Schema, Self::Error>;

    /// Removes every datom and keeps the schema.
    fn clear(&self) -> Result<(), Self::Error>;

    /// Rebuilds the indexes from the datoms (Datalevin's `re-index`), first merging
    /// `schema` (a map; `None` or `nil` keeps the stored one) as into an empty database, so
    /// it may make changes the data forbids to [`Connection::update_schema`] as long as the
    /// data fits them (a type for untyped values, uniqueness of distinct values). All of it
    /// or nothing: a value the new schema refuses fails the call and changes nothing.
    /// Returns how many datoms were asserted again.
    fn re_index(&self, schema: Option<&Edn>) -> Result<u64, Self::Error>;

    /// The options stored in the database (`:closed-schema?`, `:auto-entity-time?`).
    fn options(&self) -> Result<StoreOptions, Self::Error>;

    /// Stores `options` in the database: every connection to it, in every mode, then
    /// transacts under them (see `levin_datalog::Conn::set_options`).
    fn set_options(&self, options: StoreOptions) -> Result<(), Self::Error>;

    /// Begins an explicit write transaction.
    fn begin(&self) -> Result<Self::Txn<'_>, Self::Error>;

    /// Runs `tx` speculatively (Datalevin's `with`): `f` gets the report and the
    /// transaction, whose reads see what `tx` did, then everything is discarded. It holds
    /// the writer until `f` returns, so `f` must not transact on the connection.
    fn with_tx<R>(
        &self,
        tx: &Edn,
        f: impl FnOnce(&TxReport, &Self::Txn<'_>) -> R,
    ) -> Result<R, Self::Error> {
        let mut t = self.begin()?;
        let report = match t.transact(tx) {
            Ok(r) => r,
            Err(e) => {
                // The transaction's own error is the one to report.
                let _ = t.abort();
                return Err(e);
            }
        };
        let out = f(&report, &t);
        t.abort()?;
        Ok(out)
    }

    /// Closes the connection (for the embedded one: when its last clone is dropped).
    fn close(self) -> Result<(), Self::Error>;
}

/// An explicit write transaction: its reads see its own writes; nothing is visible to
/// others until [`DatalogTransaction::commit`].
pub trait DatalogTransaction: DatalogRead {
    /// Applies a vector of tx forms within the transaction.
    fn transact(&mut self, tx: &Edn) -> Result<TxReport, Self::Error>;
    /// Commits everything at once; returns the transaction id.
    fn commit(self) -> Result<u64, Self::Error>;
    /// Discards everything.
    fn abort(self) -> Result<(), Self::Error>;
}

/// One write of a [`KvConnection::transact_kv`] batch, naming its database.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KvWrite {
    /// Put a key and value into a plain database.
    Put {
        /// The database.
        dbi: String,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Delete a key (with all its values, in a list database).
    Delete {
        /// The database.
        dbi: String,
        /// The key.
        key: Vec<u8>,
    },
    /// Add values to a key's list.
    PutList {
        /// The list database.
        dbi: String,
        /// The key.
        key: Vec<u8>,
        /// The values.
        values: Vec<Vec<u8>>,
    },
    /// Remove values from a key's list.
    DeleteList {
        /// The list database.
        dbi: String,
        /// The key.
        key: Vec<u8>,
        /// The values.
        values: Vec<Vec<u8>>,
    },
}

/// A key-value pair as owned bytes.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// A connection to a key-value environment, embedded ([`Env`]) or remote. Keys and values
/// are bytes; typed encodings sit on top (`levin-codec`).
pub trait KvConnection: Send + Sync {
    /// The error of every operation.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Creates the database `name` if it does not exist (a list database when `list`).
    fn open_dbi(&self, name: &str, list: bool) -> Result<(), Self::Error>;
    /// The names of the databases.
    fn list_dbis(&self) -> Result<Vec<String>, Self::Error>;
    /// Deletes a database and its data.
    fn drop_dbi(&self, name: &str) -> Result<(), Self::Error>;
    /// Deletes a database's data and keeps the database.
    fn clear_dbi(&self, name: &str) -> Result<(), Self::Error>;
    /// Applies a batch of writes atomically.
    fn transact_kv(&self, writes: &[KvWrite]) -> Result<(), Self::Error>;
    /// The value of `key`.
    fn get_value(&self, dbi: &str, key: &[u8]) -> Result<Option<Vec<u8>>, Self::Error>;
    /// The pairs in `range`, in its direction, at most `limit`.
    fn get_range(
        &self,
        dbi: &str,
        range: &Range,
        limit: Option<usize>,
    ) -> Result<Vec<KvPair>, Self::Error>;
    /// How many pairs are in `range`.
    fn range_count(&self, dbi: &str, range: &Range) -> Result<u64, Self::Error>;
    /// How many pairs the database holds.
    fn entries(&self, dbi: &str) -> Result<u64, Self::Error>;
    /// The position of `key` in key order.
    fn get_rank(&self, dbi: &str, key: &[u8]) -> Result<Option<u64>, Self::Error>;
    /// The pair at position `rank`.
    fn get_by_rank(&self, dbi: &str, rank: u64) -> Result<Option<KvPair>, Self::Error>;
    /// `n` pairs picked at random (reproducibly for one `seed`).
    fn sample(&self, dbi: &str, n: usize, seed: u64) -> Result<Vec<KvPair>, Self::Error>;
    /// The values of `key` in a list database, in order.
    fn get_list(&self, dbi: &str, key: &[u8]) -> Result<Vec<Vec<u8>>, Self::Error>;
    /// How many values `key` has in a list database.
    fn list_count(&self, dbi: &str, key: &[u8]) -> Result<u64, Self::Error>;
    /// Whether `value` is among `key`'s values.
    fn in_list(&self, dbi: &str, key: &[u8], value: &[u8]) -> Result<bool, Self::Error>;
    /// The pairs of a list database with the key in `keys` and the value in `values`.
    fn list_range(
        &self,
        dbi: &str,
        keys: &Range,
        values: &Range,
        limit: Option<usize>,
    ) -> Result<Vec<KvPair>, Self::Error>;
}

// ---- the embedded implementations --------------------------------------------------

fn take_datoms(it: levin_datalog::Datoms<'_>, limit: Option<usize>) -> Result<Vec<Datom>, Error> {
    it.take(limit.unwrap_or(usize::MAX))
        .collect::<Result<Vec<_>, StoreError>>()
        .map_err(Error::from)
}

fn inputs_of(inputs: &[Edn]) -> Vec<Input<'static>> {
    inputs.iter().cloned().map(Input::Value).collect()
}

impl DatalogRead for Db<'_> {
    type Error = Error;

    fn q(&self, query: &Edn, inputs: &[Edn]) -> Result<Edn, Error> {
        Ok(DbQuery::q(self, query, &inputs_of(inputs))?.to_edn())
    }

    fn explain(&self, query: &Edn, inputs: &[Edn]) -> Result<Edn, Error> {
        Ok(DbQuery::explain(self, query, &inputs_of(inputs))?.to_edn())
    }

    fn pull(&self, pattern: &Edn, id: &Edn) -> Result<Edn, Error> {
        Ok(Db::pull(self, pattern, id)?)
    }

    fn pull_many(&self, pattern: &Edn, ids: &[Edn]) -> Result<Vec<Edn>, Error> {
        Ok(Db::pull_many(self, pattern, ids)?)
    }

    fn entity(&self, id: &Edn) -> Result<Option<Edn>, Error> {
        match Db::entity(self, id)? {
            Some(e) => Ok(Some(e.touch()?)),
            None => Ok(None),
        }
    }

    fn entid(&self, id: &Edn) -> Result<Option<u64>, Error> {
        Ok(Db::entid(self, id)?)
    }

    fn datoms(&self, index: Index, c: &[Edn], limit: Option<usize>) -> Result<Vec<Datom>, Error> {
        take_datoms(Db::datoms(self, index, c)?, limit)
    }

    fn seek_datoms(
        &self,
        index: Index,
        c: &[Edn],
        limit: Option<usize>,
    ) -> Result<Vec<Datom>, Error> {
        take_datoms(Db::seek_datoms(self, index, c)?, limit)
    }

    fn rseek_datoms(
        &self,
        index: Index,
        c: &[Edn],
        limit: Option<usize>,
    ) -> Result<Vec<Datom>, Error> {
        take_datoms(Db::rseek_datoms(self, index, c)?, limit)
    }

    fn index_range(
        &self,
        attr: &Keyword,
        lo: Option<&Edn>,
        hi: Option<&Edn>,
        limit: Option<usize>,
    ) -> Result<Vec<Datom>, Error> {
        take_datoms(Db::index_range(self, attr, lo, hi)?, limit)
    }

    fn count_datoms(&self, index: Index, c: &[Edn]) -> Result<u64, Error> {
        Ok(Db::count_datoms(self, index, c)?)
    }

    fn max_eid(&self) -> Result<u64, Error> {
        Ok(Db::max_eid(self))
    }

    fn schema(&self) -> Result<Schema, Error> {
        Ok(Db::schema(self).clone())
    }

    fn cardinality(&self, attr: &Keyword) -> Result<u64, Error> {
        Ok(Db::cardinality(self, attr)?)
    }
}

/// Forwards every read of [`DatalogRead`] to the database value `$db` gives.
macro_rules! read_through {
    ($db:expr) => {
        type Error = Error;

        fn q(&self, query: &Edn, inputs: &[Edn]) -> Result<Edn, Error> {
            DatalogRead::q(&$db(self)?, query, inputs)
        }
        fn explain(&self, query: &Edn, inputs: &[Edn]) -> Result<Edn, Error> {
            DatalogRead::explain(&$db(self)?, query, inputs)
        }
        fn pull(&self, pattern: &Edn, id: &Edn) -> Result<Edn, Error> {
            DatalogRead::pull(&$db(self)?, pattern, id)
        }
        fn pull_many(&self, pattern: &Edn, ids: &[Edn]) -> Result<Vec<Edn>, Error> {
            DatalogRead::pull_many(&$db(self)?, pattern, ids)
        }
        fn entity(&self, id: &Edn) -> Result<Option<Edn>, Error> {
            DatalogRead::entity(&$db(self)?, id)
        }
        fn entid(&self, id: &Edn) -> Result<Option<u64>, Error> {
            DatalogRead::entid(&$db(self)?, id)
        }
        fn datoms(
            &self,
            index: Index,
            c: &[Edn],
            limit: Option<usize>,
        ) -> Result<Vec<Datom>, Error> {
            DatalogRead::datoms(&$db(self)?, index, c, limit)
        }
        fn seek_datoms(
            &self,
            index: Index,
            c: &[Edn],
            limit: Option<usize>,
        ) -> Result<Vec<Datom>, Error> {
            DatalogRead::seek_datoms(&$db(self)?, index, c, limit)
        }
        fn rseek_datoms(
            &self,
            index: Index,
            c: &[Edn],
            limit: Option<usize>,
        ) -> Result<Vec<Datom>, Error> {
            DatalogRead::rseek_datoms(&$db(self)?, index, c, limit)
        }
        fn index_range(
            &self,
            attr: &Keyword,
            lo: Option<&Edn>,
            hi: Option<&Edn>,
            limit: Option<usize>,
        ) -> Result<Vec<Datom>, Error> {
            DatalogRead::index_range(&$db(self)?, attr, lo, hi, limit)
        }
        fn count_datoms(&self, index: Index, c: &[Edn]) -> Result<u64, Error> {
            DatalogRead::count_datoms(&$db(self)?, index, c)
        }
        fn max_eid(&self) -> Result<u64, Error> {
            DatalogRead::max_eid(&$db(self)?)
        }
        fn schema(&self) -> Result<Schema, Error> {
            DatalogRead::schema(&$db(self)?)
        }
        fn cardinality(&self, attr: &Keyword) -> Result<u64, Error> {
            DatalogRead::cardinality(&$db(self)?, attr)
        }
    };
}

fn conn_db(c: &Conn) -> Result<Db<'static>, Error> {
    Ok(c.db()?)
}

fn txn_db(t: &Transaction) -> Result<Db<'_>, Error> {
    Ok(t.db()?)
}

impl DatalogRead for Conn {
    read_through!(conn_db);
}

impl DatalogRead for Transaction {
    read_through!(txn_db);
}

impl DatalogTransaction for Transaction {
    fn transact(&mut self, tx: &Edn) -> Result<TxReport, Error> {
        Ok(Transaction::transact(self, tx)?)
    }

    fn commit(self) -> Result<u64, Error> {
        Ok(Transaction::commit(self)?)
    }

    fn abort(self) -> Result<(), Error> {
        Transaction::abort(self);
        Ok(())
    }
}

impl Connection for Conn {
    type Snapshot<'c> = Db<'static>;
    type Txn<'c> = Transaction;

    fn db(&self) -> Result<Db<'static>, Error> {
        conn_db(self)
    }

    fn transact(&self, tx: &Edn) -> Result<TxReport, Error> {
        Ok(Conn::transact(self, tx)?)
    }

    fn update_schema(&self, schema: &Edn, update: &SchemaUpdate) -> Result<Schema, Error> {
        let schema = (!schema.is_nil()).then_some(schema);
        self.update_schema_with(schema, update)?;
        Ok((*Conn::schema(self)).clone())
    }

    fn clear(&self) -> Result<(), Error> {
        Ok(Conn::clear(self)?)
    }

    fn re_index(&self, schema: Option<&Edn>) -> Result<u64, Error> {
        Ok(Conn::re_index(self, schema.filter(|s| !s.is_nil()))?)
    }

    fn options(&self) -> Result<StoreOptions, Error> {
        Ok(Conn::options(self)?)
    }

    fn set_options(&self, options: StoreOptions) -> Result<(), Error> {
        Ok(Conn::set_options(self, options)?)
    }

    fn begin(&self) -> Result<Transaction, Error> {
        Ok(Conn::begin(self)?)
    }

    fn close(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Opens the embedded connection to the Datalog database in `dir`: the embedded side of the
/// `Connection` API (the client crate opens `levin://` URIs).
pub fn connect(dir: impl AsRef<Path>) -> Result<Conn, Error> {
    Ok(Conn::open(dir, ())?)
}

fn pairs<'t>(
    it: impl Iterator<Item = levin_engine::Result<(&'t [u8], &'t [u8])>>,
    limit: Option<usize>,
) -> Result<Vec<KvPair>, Error> {
    it.take(limit.unwrap_or(usize::MAX))
        .map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<levin_engine::Result<Vec<_>>>()
        .map_err(|e| Error::Store(e.into()))
}

fn kv<T>(r: levin_engine::Result<T>) -> Result<T, Error> {
    r.map_err(|e| Error::Store(e.into()))
}

impl KvConnection for Env {
    type Error = Error;

    fn open_dbi(&self, name: &str, list: bool) -> Result<(), Error> {
        if let Ok(db) = kv(self.read())?.open_db(name) {
            return match db.is_list() == list {
                true => Ok(()),
                false => Err(Error::Store(StoreError::Invalid(format!(
                    "database {name:?} exists and is {}a list database",
                    if db.is_list() { "" } else { "not " }
                )))),
            };
        }
        kv(self.with_write(|w| {
            if list {
                w.create_list_db(name)?;
            } else {
                w.create_db(name)?;
            }
            Ok(())
        }))
    }

    fn list_dbis(&self) -> Result<Vec<String>, Error> {
        kv(kv(self.read())?.db_names())
    }

    fn drop_dbi(&self, name: &str) -> Result<(), Error> {
        kv(self.with_write(|w| {
            let db = w.open_db(name)?;
            w.drop_db(&db)
        }))
    }

    fn clear_dbi(&self, name: &str) -> Result<(), Error> {
        kv(self.with_write(|w| {
            let db = w.open_db(name)?;
            w.clear_db(&db)
        }))
    }

    fn transact_kv(&self, writes: &[KvWrite]) -> Result<(), Error> {
        kv(self.with_write(|w| {
            for op in writes {
                match op {
                    KvWrite::Put { dbi, key, value } => {
                        let db = w.open_db(dbi)?;
                        w.put(&db, key, value)?;
                    }
                    KvWrite::Delete { dbi, key } => {
                        let db = w.open_db(dbi)?;
                        w.delete(&db, key)?;
                    }
                    KvWrite::PutList { dbi, key, values } => {
                        let db = w.open_db(dbi)?;
                        for v in values {
                            w.put_list(&db, key, v)?;
                        }
                    }
                    KvWrite::DeleteList { dbi, key, values } => {
                        let db = w.open_db(dbi)?;
                        for v in values {
                            w.delete_list(&db, key, v)?;
                        }
                    }
                }
            }
            Ok(())
        }))
    }

    fn get_value(&self, dbi: &str, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        Ok(kv(r.get(&db, key))?.map(<[u8]>::to_vec))
    }

    fn get_range(
        &self,
        dbi: &str,
        range: &Range,
        limit: Option<usize>,
    ) -> Result<Vec<KvPair>, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        pairs(kv(r.range(&db, range.clone()))?, limit)
    }

    fn range_count(&self, dbi: &str, range: &Range) -> Result<u64, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        kv(r.count(&db, range))
    }

    fn entries(&self, dbi: &str) -> Result<u64, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        kv(r.len(&db))
    }

    fn get_rank(&self, dbi: &str, key: &[u8]) -> Result<Option<u64>, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        kv(r.rank(&db, key))
    }

    fn get_by_rank(&self, dbi: &str, rank: u64) -> Result<Option<KvPair>, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        Ok(kv(r.get_by_rank(&db, rank))?.map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    fn sample(&self, dbi: &str, n: usize, seed: u64) -> Result<Vec<KvPair>, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        Ok(kv(r.sample(&db, n, seed))?
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect())
    }

    fn get_list(&self, dbi: &str, key: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        Ok(pairs(kv(r.list(&db, key))?, None)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    fn list_count(&self, dbi: &str, key: &[u8]) -> Result<u64, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        kv(r.list_count(&db, key))
    }

    fn in_list(&self, dbi: &str, key: &[u8], value: &[u8]) -> Result<bool, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        kv(r.in_list(&db, key, value))
    }

    fn list_range(
        &self,
        dbi: &str,
        keys: &Range,
        values: &Range,
        limit: Option<usize>,
    ) -> Result<Vec<KvPair>, Error> {
        let r = kv(self.read())?;
        let db = kv(r.open_db(dbi))?;
        pairs(kv(r.list_range(&db, keys.clone(), values.clone()))?, limit)
    }
}
