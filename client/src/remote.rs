//! The remote side of the `Connection` API: [`Client`] (a connection to a server, with the
//! administrative operations), [`RemoteConn`] (a Datalog database), [`RemoteKv`] (a
//! key-value database), their snapshots and explicit transactions.

use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use levin_datalog::{Datom, Index, Schema, SchemaUpdate, StoreOptions, TxReport};
use levin_edn::{Edn, Keyword};
use levin_engine::Range;
use levin_query::{Connection, DatalogRead, DatalogTransaction, KvConnection, KvPair, KvWrite};

use crate::error::ClientError;
use crate::uri::Target;
use crate::wire::Wire;

fn k(n: &str) -> Edn {
    Edn::kw("", n)
}

fn s(v: &str) -> Edn {
    Edn::string(v)
}

/// A connection to a server. Requests are sent one at a time (it is `Sync`: threads share
/// it and take turns); open several clients for parallel requests.
pub struct Client {
    wire: Mutex<Wire>,
    target: Target,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("user", &self.target.user)
            .field("host", &self.target.host)
            .field("port", &self.target.port)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects and authenticates as the URI says (its database part is ignored).
    pub fn connect(uri: &str) -> Result<Client, ClientError> {
        Client::connect_to(Target::parse(uri)?)
    }

    /// Connects to a parsed target.
    pub fn connect_to(target: Target) -> Result<Client, ClientError> {
        Ok(Client {
            wire: Mutex::new(Wire::open(&target)?),
            target,
        })
    }

    fn wire(&self) -> MutexGuard<'_, Wire> {
        self.wire.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one request: `op` with positional `args`; the result as the server sends it.
    pub fn call(&self, op: &str, args: Vec<Edn>) -> Result<Edn, ClientError> {
        self.wire().call(op, args, vec![])
    }

    /// [`Client::call`] with named options (`:snapshot`, `:limit`, ...).
    pub fn call_with(
        &self,
        op: &str,
        args: Vec<Edn>,
        named: Vec<(Edn, Edn)>,
    ) -> Result<Edn, ClientError> {
        self.wire().call(op, args, named)
    }

    /// Opens (creating when allowed) the Datalog database `name`.
    pub fn open_db(self: &Arc<Self>, name: &str) -> Result<RemoteConn, ClientError> {
        self.open_db_with(name, None, None)
    }

    /// [`Client::open_db`] that first merges `schema` into the database's and lays `opts`
    /// (a Datalevin opts map: `{:closed-schema? true :auto-entity-time? true}`) over the
    /// options stored in it; either needs alter on the database (docs/PROTOCOL.md).
    pub fn open_db_with(
        self: &Arc<Self>,
        name: &str,
        schema: Option<&Edn>,
        opts: Option<&Edn>,
    ) -> Result<RemoteConn, ClientError> {
        let mut args = vec![s(name)];
        if schema.is_some() || opts.is_some() {
            args.push(schema.cloned().unwrap_or(Edn::Nil));
        }
        if let Some(o) = opts {
            args.push(o.clone());
        }
        self.call("open", args)?;
        Ok(RemoteConn {
            client: self.clone(),
            db: name.to_string(),
        })
    }

    /// Opens (creating when allowed) the key-value database `name`.
    pub fn open_kv(self: &Arc<Self>, name: &str) -> Result<RemoteKv, ClientError> {
        self.call("open-kv", vec![s(name)])?;
        Ok(RemoteKv {
            client: self.clone(),
            db: name.to_string(),
        })
    }

    /// Runs an administrative operation (`create-user`, `grant-permission`, ...) with its
    /// arguments, as `levin admin` does.
    pub fn admin(&self, op: &str, args: Vec<Edn>) -> Result<Edn, ClientError> {
        self.call(op, args)
    }

    /// The names of the databases on the server.
    pub fn list_databases(&self) -> Result<Vec<String>, ClientError> {
        Ok(self
            .call("list-databases", vec![])?
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect())
    }
}

/// Connects to the Datalog database a `levin://USER:PASS@HOST:PORT/DB` URI names.
pub fn connect(uri: &str) -> Result<RemoteConn, ClientError> {
    let target = Target::parse(uri)?;
    let db = target
        .db
        .clone()
        .ok_or_else(|| ClientError::Uri(format!("{uri:?} names no database: add /DB")))?;
    Arc::new(Client::connect_to(target)?).open_db(&db)
}

/// Connects to the key-value database a URI names.
pub fn connect_kv(uri: &str) -> Result<RemoteKv, ClientError> {
    let target = Target::parse(uri)?;
    let db = target
        .db
        .clone()
        .ok_or_else(|| ClientError::Uri(format!("{uri:?} names no database: add /DB")))?;
    Arc::new(Client::connect_to(target)?).open_kv(&db)
}

/// A Datalog database on a server. Its reads see the latest committed state on each call
/// (take a [`RemoteSnapshot`] with [`Connection::db`] to keep reading one state).
#[derive(Clone, Debug)]
pub struct RemoteConn {
    client: Arc<Client>,
    db: String,
}

impl RemoteConn {
    /// The client it speaks through.
    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// The database's name on the server.
    pub fn name(&self) -> &str {
        &self.db
    }

    fn read_call(
        &self,
        op: &str,
        mut args: Vec<Edn>,
        snapshot: Option<i64>,
    ) -> Result<Edn, ClientError> {
        args.insert(0, s(&self.db));
        let named = snapshot
            .map(|id| vec![(k("snapshot"), Edn::Long(id))])
            .unwrap_or_default();
        self.client.call_with(op, args, named)
    }
}

/// The stored options in an `:open` reply.
fn options_of(info: &Edn) -> Result<StoreOptions, ClientError> {
    let opts = info.get(&k("opts")).ok_or_else(|| {
        ClientError::Protocol(format!(":open answers a map with :opts, got {info}"))
    })?;
    StoreOptions::default()
        .with_edn(opts)
        .map_err(|e| ClientError::Protocol(format!(":open answered bad :opts: {e}")))
}

fn datoms_of(v: &Edn) -> Result<Vec<Datom>, ClientError> {
    v.as_seq()
        .unwrap_or(&[])
        .iter()
        .map(|d| match d.as_seq() {
            Some([Edn::Long(e), Edn::Keyword(a), v, rest @ ..]) => Ok(Datom {
                e: *e as u64,
                a: a.clone(),
                v: v.clone(),
                added: !matches!(rest.get(1), Some(Edn::Bool(false))),
            }),
            _ => Err(ClientError::Protocol(format!(
                "a datom is [e a v], got {d}"
            ))),
        })
        .collect()
}

fn report_of(v: &Edn) -> Result<TxReport, ClientError> {
    let get = |n: &str| v.get(&k(n));
    let current_tx = Edn::kw("db", "current-tx");
    let tempids = match get("tempids") {
        Some(Edn::Map(m)) => m
            .iter()
            .filter(|(t, _)| *t != current_tx)
            .filter_map(|(t, e)| Some((t.clone(), e.as_long()? as u64)))
            .collect(),
        _ => vec![],
    };
    Ok(TxReport {
        tx_data: datoms_of(get("tx-data").unwrap_or(&Edn::Nil))?,
        tempids,
        max_eid: get("max-eid").and_then(Edn::as_long).unwrap_or(0) as u64,
        tx: get("tx").and_then(Edn::as_long).unwrap_or(0) as u64,
        tx_meta: get("tx-meta").cloned(),
        db_before: None,
        db_after: None,
    })
}

fn index_kw(i: Index) -> Edn {
    k(match i {
        Index::Eav => "eav",
        Index::Ave => "ave",
    })
}

fn limit_edn(limit: Option<usize>) -> Edn {
    limit.map_or(Edn::Nil, |n| {
        Edn::Long(i64::try_from(n).unwrap_or(i64::MAX))
    })
}

/// One of the three index reads (`:datoms`, `:seek-datoms`, `:rseek-datoms`).
fn index_read(
    conn: &RemoteConn,
    op: &str,
    index: Index,
    components: &[Edn],
    limit: Option<usize>,
    snapshot: Option<i64>,
) -> Result<Vec<Datom>, ClientError> {
    datoms_of(&conn.read_call(
        op,
        vec![
            index_kw(index),
            Edn::Vector(components.to_vec()),
            limit_edn(limit),
        ],
        snapshot,
    )?)
}

fn schema_of(v: &Edn) -> Result<Schema, ClientError> {
    Schema::from_edn(v)
        .map_err(|e| ClientError::Protocol(format!("the server's schema does not read: {e}")))
}

/// Every read of [`DatalogRead`] as a request, with `$snap` naming the snapshot to read
/// (or `None` for the latest state or the session's transaction).
macro_rules! remote_reads {
    ($conn:expr, $snap:expr) => {
        type Error = ClientError;

        fn q(&self, query: &Edn, inputs: &[Edn]) -> Result<Edn, ClientError> {
            $conn(self).read_call(
                "q",
                vec![query.clone(), Edn::Vector(inputs.to_vec())],
                $snap(self),
            )
        }
        fn explain(&self, query: &Edn, inputs: &[Edn]) -> Result<Edn, ClientError> {
            $conn(self).read_call(
                "explain",
                vec![query.clone(), Edn::Vector(inputs.to_vec())],
                $snap(self),
            )
        }
        fn pull(&self, pattern: &Edn, id: &Edn) -> Result<Edn, ClientError> {
            $conn(self).read_call("pull", vec![pattern.clone(), id.clone()], $snap(self))
        }
        fn pull_many(&self, pattern: &Edn, ids: &[Edn]) -> Result<Vec<Edn>, ClientError> {
            let r = $conn(self).read_call(
                "pull-many",
                vec![pattern.clone(), Edn::Vector(ids.to_vec())],
                $snap(self),
            )?;
            Ok(r.as_seq().map(<[Edn]>::to_vec).unwrap_or_default())
        }
        fn entity(&self, id: &Edn) -> Result<Option<Edn>, ClientError> {
            let r = $conn(self).read_call("entity", vec![id.clone()], $snap(self))?;
            Ok((!r.is_nil()).then_some(r))
        }
        fn entid(&self, id: &Edn) -> Result<Option<u64>, ClientError> {
            let r = $conn(self).read_call("entid", vec![id.clone()], $snap(self))?;
            Ok(r.as_long().map(|n| n as u64))
        }
        fn datoms(
            &self,
            index: Index,
            c: &[Edn],
            limit: Option<usize>,
        ) -> Result<Vec<Datom>, ClientError> {
            index_read($conn(self), "datoms", index, c, limit, $snap(self))
        }
        fn seek_datoms(
            &self,
            index: Index,
            c: &[Edn],
            limit: Option<usize>,
        ) -> Result<Vec<Datom>, ClientError> {
            index_read($conn(self), "seek-datoms", index, c, limit, $snap(self))
        }
        fn rseek_datoms(
            &self,
            index: Index,
            c: &[Edn],
            limit: Option<usize>,
        ) -> Result<Vec<Datom>, ClientError> {
            index_read($conn(self), "rseek-datoms", index, c, limit, $snap(self))
        }
        fn index_range(
            &self,
            attr: &Keyword,
            lo: Option<&Edn>,
            hi: Option<&Edn>,
            limit: Option<usize>,
        ) -> Result<Vec<Datom>, ClientError> {
            datoms_of(&$conn(self).read_call(
                "index-range",
                vec![
                    Edn::Keyword(attr.clone()),
                    lo.cloned().unwrap_or(Edn::Nil),
                    hi.cloned().unwrap_or(Edn::Nil),
                    limit_edn(limit),
                ],
                $snap(self),
            )?)
        }
        fn count_datoms(&self, index: Index, c: &[Edn]) -> Result<u64, ClientError> {
            let r = $conn(self).read_call(
                "count-datoms",
                vec![index_kw(index), Edn::Vector(c.to_vec())],
                $snap(self),
            )?;
            Ok(r.as_long().unwrap_or(0) as u64)
        }
        fn max_eid(&self) -> Result<u64, ClientError> {
            Ok($conn(self)
                .read_call("max-eid", vec![], $snap(self))?
                .as_long()
                .unwrap_or(0) as u64)
        }
        fn schema(&self) -> Result<Schema, ClientError> {
            schema_of(&$conn(self).read_call("schema", vec![], $snap(self))?)
        }
        /// Counted on the server by a query, instead of sending every datom of the
        /// attribute over.
        fn cardinality(&self, attr: &Keyword) -> Result<u64, ClientError> {
            let n = $conn(self).read_call(
                "q",
                vec![
                    Edn::string(CARDINALITY_QUERY),
                    Edn::Vector(vec![Edn::Keyword(attr.clone())]),
                ],
                $snap(self),
            )?;
            Ok(n.as_long().map_or(0, |n| n.max(0) as u64))
        }
    };
}

/// The distinct values of the attribute given as input: what `cardinality` counts.
const CARDINALITY_QUERY: &str = "[:find (count-distinct ?v) . :in $ ?a :where [_ ?a ?v]]";

fn itself(c: &RemoteConn) -> &RemoteConn {
    c
}

fn latest(_: &RemoteConn) -> Option<i64> {
    None
}

impl DatalogRead for RemoteConn {
    remote_reads!(itself, latest);
}

/// A snapshot the server holds for this client until it is dropped: every read sees the
/// state it was taken at.
#[derive(Debug)]
pub struct RemoteSnapshot {
    conn: RemoteConn,
    id: i64,
}

impl Drop for RemoteSnapshot {
    fn drop(&mut self) {
        let _ = self
            .conn
            .client
            .call("release-snapshot", vec![Edn::Long(self.id)]);
    }
}

fn snap_conn(s: &RemoteSnapshot) -> &RemoteConn {
    &s.conn
}

fn snap_id(s: &RemoteSnapshot) -> Option<i64> {
    Some(s.id)
}

impl DatalogRead for RemoteSnapshot {
    remote_reads!(snap_conn, snap_id);
}

/// An explicit transaction the server holds for this client; dropping it without
/// [`DatalogTransaction::commit`] aborts it.
#[derive(Debug)]
pub struct RemoteTxn<'c> {
    conn: &'c RemoteConn,
    open: bool,
}

fn txn_conn<'a>(t: &'a RemoteTxn<'_>) -> &'a RemoteConn {
    t.conn
}

fn in_txn(_: &RemoteTxn<'_>) -> Option<i64> {
    None
}

impl DatalogRead for RemoteTxn<'_> {
    remote_reads!(txn_conn, in_txn);
}

impl DatalogTransaction for RemoteTxn<'_> {
    fn transact(&mut self, tx: &Edn) -> Result<TxReport, ClientError> {
        report_of(&self.conn.read_call("transact", vec![tx.clone()], None)?)
    }

    fn commit(mut self) -> Result<u64, ClientError> {
        self.open = false;
        let r = self.conn.read_call("close-transact", vec![], None)?;
        Ok(r.as_long().unwrap_or(0) as u64)
    }

    fn abort(mut self) -> Result<(), ClientError> {
        self.open = false;
        self.conn.read_call("abort-transact", vec![], None)?;
        Ok(())
    }
}

impl Drop for RemoteTxn<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.read_call("abort-transact", vec![], None);
        }
    }
}

impl Connection for RemoteConn {
    type Snapshot<'c> = RemoteSnapshot;
    type Txn<'c> = RemoteTxn<'c>;

    fn db(&self) -> Result<RemoteSnapshot, ClientError> {
        let id = self
            .read_call("db-snapshot", vec![], None)?
            .as_long()
            .ok_or_else(|| ClientError::Protocol(":db-snapshot did not answer an id".into()))?;
        Ok(RemoteSnapshot {
            conn: self.clone(),
            id,
        })
    }

    fn transact(&self, tx: &Edn) -> Result<TxReport, ClientError> {
        report_of(&self.read_call("transact", vec![tx.clone()], None)?)
    }

    fn update_schema(&self, schema: &Edn, update: &SchemaUpdate) -> Result<Schema, ClientError> {
        let delete = Edn::Vector(update.delete.iter().cloned().map(Edn::Keyword).collect());
        let rename = Edn::Map(
            update
                .rename
                .iter()
                .map(|(a, b)| (Edn::Keyword(a.clone()), Edn::Keyword(b.clone())))
                .collect(),
        );
        schema_of(&self.read_call("update-schema", vec![schema.clone(), delete, rename], None)?)
    }

    fn clear(&self) -> Result<(), ClientError> {
        self.read_call("clear", vec![], None).map(|_| ())
    }

    // The options are read and stored through `:open`, which answers the stored ones
    // (docs/PROTOCOL.md); opening a database this session has open already is a no-op.
    fn options(&self) -> Result<StoreOptions, ClientError> {
        let info = self.client.call("open", vec![s(&self.db)])?;
        options_of(&info)
    }

    fn set_options(&self, options: StoreOptions) -> Result<(), ClientError> {
        let info = self
            .client
            .call("open", vec![s(&self.db), Edn::Nil, options.to_edn()])?;
        options_of(&info).map(|_| ())
    }

    fn re_index(&self, schema: Option<&Edn>) -> Result<u64, ClientError> {
        let schema = schema.cloned().unwrap_or(Edn::Nil);
        match self.read_call("re-index", vec![schema], None)? {
            Edn::Long(n) if n >= 0 => Ok(n as u64),
            other => Err(ClientError::Protocol(format!(
                ":re-index answers a count of datoms, got {other}"
            ))),
        }
    }

    fn begin(&self) -> Result<RemoteTxn<'_>, ClientError> {
        self.read_call("open-transact", vec![], None)?;
        Ok(RemoteTxn {
            conn: self,
            open: true,
        })
    }

    fn close(self) -> Result<(), ClientError> {
        self.read_call("close", vec![], None).map(|_| ())
    }
}

/// A key-value database on a server. Keys and values travel as bytes (`:bytes`).
#[derive(Clone, Debug)]
pub struct RemoteKv {
    client: Arc<Client>,
    db: String,
}

fn bytes(b: &[u8]) -> Edn {
    levin_datalog::convert::bytes_edn(b)
}

fn bytes_of(v: &Edn) -> Result<Vec<u8>, ClientError> {
    match v.as_tagged() {
        Some((tag, hex)) if tag.name() == "bytes" => hex.as_str().and_then(unhex),
        _ => None,
    }
    .ok_or_else(|| ClientError::Protocol(format!("expected bytes, got {v}")))
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Datalevin's range spec for an engine range over byte keys.
fn range_spec(r: &Range) -> Edn {
    use Bound::*;
    let b = |x: &Vec<u8>| bytes(x);
    let (name, mut bounds): (&str, Vec<Edn>) = match (&r.lo, &r.hi) {
        (Unbounded, Unbounded) => ("all", vec![]),
        (Included(l), Unbounded) => ("at-least", vec![b(l)]),
        (Excluded(l), Unbounded) => ("greater-than", vec![b(l)]),
        (Unbounded, Included(h)) => ("at-most", vec![b(h)]),
        (Unbounded, Excluded(h)) => ("less-than", vec![b(h)]),
        (Included(l), Included(h)) => ("closed", vec![b(l), b(h)]),
        (Included(l), Excluded(h)) => ("closed-open", vec![b(l), b(h)]),
        (Excluded(l), Included(h)) => ("open-closed", vec![b(l), b(h)]),
        (Excluded(l), Excluded(h)) => ("open", vec![b(l), b(h)]),
    };
    let mut name = name.to_string();
    if r.reverse {
        // -back ranges give their bounds in iteration order, and swap which end is open.
        bounds.reverse();
        name = match name.as_str() {
            "closed-open" => "open-closed".into(),
            "open-closed" => "closed-open".into(),
            n => n.into(),
        };
        name.push_str("-back");
    }
    let mut v = vec![k(&name)];
    v.extend(bounds);
    Edn::Vector(v)
}

fn pairs_of(v: &Edn) -> Result<Vec<KvPair>, ClientError> {
    v.as_seq()
        .unwrap_or(&[])
        .iter()
        .map(|p| match p.as_seq() {
            Some([key, value]) => Ok((bytes_of(key)?, bytes_of(value)?)),
            _ => Err(ClientError::Protocol(format!("a pair is [k v], got {p}"))),
        })
        .collect()
}

impl RemoteKv {
    fn call(
        &self,
        op: &str,
        mut args: Vec<Edn>,
        named: Vec<(Edn, Edn)>,
    ) -> Result<Edn, ClientError> {
        args.insert(0, s(&self.db));
        self.client.call_with(op, args, named)
    }
}

const B: fn() -> Edn = || k("bytes");

impl KvConnection for RemoteKv {
    type Error = ClientError;

    fn open_dbi(&self, name: &str, list: bool) -> Result<(), ClientError> {
        let op = if list { "open-list-dbi" } else { "open-dbi" };
        self.call(op, vec![s(name)], vec![]).map(|_| ())
    }

    fn list_dbis(&self) -> Result<Vec<String>, ClientError> {
        Ok(self
            .call("list-dbis", vec![], vec![])?
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect())
    }

    fn drop_dbi(&self, name: &str) -> Result<(), ClientError> {
        self.call("drop-dbi", vec![s(name)], vec![]).map(|_| ())
    }

    fn clear_dbi(&self, name: &str) -> Result<(), ClientError> {
        self.call("clear-dbi", vec![s(name)], vec![]).map(|_| ())
    }

    fn transact_kv(&self, writes: &[KvWrite]) -> Result<(), ClientError> {
        let forms = writes
            .iter()
            .map(|w| match w {
                KvWrite::Put { dbi, key, value } => Ok(Edn::Vector(vec![
                    k("put"),
                    s(dbi),
                    bytes(key),
                    bytes(value),
                    B(),
                    B(),
                ])),
                KvWrite::Delete { dbi, key } => {
                    Ok(Edn::Vector(vec![k("del"), s(dbi), bytes(key), B()]))
                }
                KvWrite::PutList { dbi, key, values } => Ok(Edn::Vector(vec![
                    k("put-list"),
                    s(dbi),
                    bytes(key),
                    Edn::Vector(values.iter().map(|v| bytes(v)).collect()),
                    B(),
                    B(),
                ])),
                KvWrite::DeleteList { dbi, key, values } => Ok(Edn::Vector(vec![
                    k("del-list"),
                    s(dbi),
                    bytes(key),
                    Edn::Vector(values.iter().map(|v| bytes(v)).collect()),
                    B(),
                    B(),
                ])),
                _ => Err(ClientError::Protocol("an unknown kind of write".into())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.call("transact-kv", vec![Edn::Vector(forms)], vec![])
            .map(|_| ())
    }

    fn get_value(&self, dbi: &str, key: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
        let r = self.call("get-value", vec![s(dbi), bytes(key), B(), B()], vec![])?;
        if r.is_nil() {
            return Ok(None);
        }
        bytes_of(&r).map(Some)
    }

    fn get_range(
        &self,
        dbi: &str,
        range: &Range,
        limit: Option<usize>,
    ) -> Result<Vec<KvPair>, ClientError> {
        let named = vec![(k("limit"), limit_edn(limit))];
        pairs_of(&self.call(
            "get-range",
            vec![s(dbi), range_spec(range), B(), B(), Edn::Bool(false)],
            named,
        )?)
    }

    fn range_count(&self, dbi: &str, range: &Range) -> Result<u64, ClientError> {
        Ok(self
            .call("range-count", vec![s(dbi), range_spec(range), B()], vec![])?
            .as_long()
            .unwrap_or(0) as u64)
    }

    fn entries(&self, dbi: &str) -> Result<u64, ClientError> {
        Ok(self
            .call("entries", vec![s(dbi)], vec![])?
            .as_long()
            .unwrap_or(0) as u64)
    }

    fn get_rank(&self, dbi: &str, key: &[u8]) -> Result<Option<u64>, ClientError> {
        Ok(self
            .call("get-rank", vec![s(dbi), bytes(key), B()], vec![])?
            .as_long()
            .map(|n| n as u64))
    }

    fn get_by_rank(&self, dbi: &str, rank: u64) -> Result<Option<KvPair>, ClientError> {
        let r = self.call(
            "get-by-rank",
            vec![s(dbi), Edn::Long(rank as i64), B(), B(), Edn::Bool(false)],
            vec![],
        )?;
        if r.is_nil() {
            return Ok(None);
        }
        Ok(pairs_of(&Edn::Vector(vec![r]))?.pop())
    }

    fn sample(&self, dbi: &str, n: usize, seed: u64) -> Result<Vec<KvPair>, ClientError> {
        let named = vec![(k("seed"), Edn::Long(seed as i64))];
        pairs_of(&self.call(
            "sample-kv",
            vec![s(dbi), Edn::Long(n as i64), B(), B(), Edn::Bool(false)],
            named,
        )?)
    }

    fn get_list(&self, dbi: &str, key: &[u8]) -> Result<Vec<Vec<u8>>, ClientError> {
        self.call("get-list", vec![s(dbi), bytes(key), B(), B()], vec![])?
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .map(bytes_of)
            .collect()
    }

    fn list_count(&self, dbi: &str, key: &[u8]) -> Result<u64, ClientError> {
        Ok(self
            .call("list-count", vec![s(dbi), bytes(key), B()], vec![])?
            .as_long()
            .unwrap_or(0) as u64)
    }

    fn in_list(&self, dbi: &str, key: &[u8], value: &[u8]) -> Result<bool, ClientError> {
        Ok(matches!(
            self.call(
                "in-list?",
                vec![s(dbi), bytes(key), bytes(value), B(), B()],
                vec![]
            )?,
            Edn::Bool(true)
        ))
    }

    fn list_range(
        &self,
        dbi: &str,
        keys: &Range,
        values: &Range,
        limit: Option<usize>,
    ) -> Result<Vec<KvPair>, ClientError> {
        let named = vec![(k("limit"), limit_edn(limit))];
        pairs_of(&self.call(
            "list-range",
            vec![s(dbi), range_spec(keys), B(), range_spec(values), B()],
            named,
        )?)
    }
}
