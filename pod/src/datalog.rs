//! The Datalog vars: connections, database values, transactions (single and explicit),
//! queries, pull, entities and index access, over `levin_datalog` and `levin_query`.

use std::path::PathBuf;

use levin_datalog::{Conn, Datom, Db, Index, SchemaUpdate, TxReport};
use levin_edn::{Edn, Keyword, Symbol};
use levin_engine::{Env, EnvOptions};
use levin_query::{DatalogRead, Input, Registry};

use crate::error::PodError;
use crate::state::{handle_arg, new_id, ConnEntry, DbEntry, Handle, Id, Kind, State};

type Res<T> = Result<T, PodError>;

fn k(n: &str) -> Edn {
    Edn::kw("", n)
}

fn bad(msg: impl Into<String>) -> PodError {
    PodError::BadArgument(msg.into())
}

/// A database to read: a snapshot of the pod, or one made for the call.
enum View<'s> {
    Held(&'s Db<'static>),
    Made(Box<Db<'s>>),
}

impl<'s> View<'s> {
    fn db(&self) -> &Db<'s> {
        match self {
            View::Held(d) => d,
            View::Made(d) => d,
        }
    }
}

/// A query or pattern given as data, or as EDN text (a string).
fn form(v: &Edn) -> Res<Edn> {
    match v {
        Edn::String(text) => Ok(levin_edn::read(text)?),
        other => Ok(other.clone()),
    }
}

fn datoms_edn(ds: Vec<Datom>) -> Edn {
    Edn::Vector(
        ds.into_iter()
            .map(|d| Edn::Vector(vec![Edn::Long(d.e as i64), Edn::Keyword(d.a), d.v]))
            .collect(),
    )
}

/// `transact!`'s result: `{:tx-data [#datalevin/Datom [e a v tx] ...] :tempids {...
/// :db/current-tx tx} :tx-meta m}`; a retraction has a negative tx.
fn report_edn(r: &TxReport, meta: Edn) -> Edn {
    let tx = r.tx as i64;
    let datoms = r
        .tx_data
        .iter()
        .map(|d| {
            Edn::tagged(
                Symbol::new(Some("datalevin"), "Datom"),
                Edn::Vector(vec![
                    Edn::Long(d.e as i64),
                    Edn::Keyword(d.a.clone()),
                    d.v.clone(),
                    Edn::Long(if d.added { tx } else { -tx }),
                ]),
            )
        })
        .collect();
    let tempids = r
        .tempids
        .iter()
        .map(|(t, e)| (t.clone(), Edn::Long(*e as i64)))
        .chain([(Edn::kw("db", "current-tx"), Edn::Long(tx))])
        .collect();
    Edn::Map(vec![
        (k("tx-data"), Edn::Vector(datoms)),
        (k("tempids"), Edn::Map(tempids)),
        (k("tx-meta"), meta),
    ])
}

fn index_of(v: &Edn) -> Res<Index> {
    v.as_keyword()
        .and_then(Index::from_keyword)
        .ok_or_else(|| bad(format!("an index is :eav or :ave (:eavt, :avet), got {v}")))
}

fn opt(args: &[Edn], i: usize) -> Option<&Edn> {
    args.get(i).filter(|v| !v.is_nil())
}

fn schema_arg(v: Option<&Edn>) -> Res<Option<Edn>> {
    match v {
        None => Ok(None),
        Some(m @ Edn::Map(_)) => Ok(Some(m.clone())),
        Some(Edn::String(text)) => Ok(Some(levin_edn::read(text)?)),
        Some(other) => Err(bad(format!("a schema is a map, got {other}"))),
    }
}

fn dir_arg(v: Option<&Edn>) -> Res<Option<PathBuf>> {
    match v {
        None => Ok(None),
        Some(Edn::String(s)) => Ok(Some(PathBuf::from(s.as_str()))),
        Some(other) => Err(bad(format!("a directory is a string, got {other}"))),
    }
}

impl State {
    /// The connection of a conn handle.
    fn conn_entry(&self, h: Handle, v: &Edn) -> Res<&ConnEntry> {
        self.conns
            .get(&h.id)
            .ok_or_else(|| State::no_handle(Kind::Conn, v))
    }

    /// The database a db (or conn) handle reads: the explicit transaction's view when
    /// writing, the snapshot `db` took, or the connection's latest state.
    fn view<'s>(&'s self, v: &Edn, var: &str) -> Res<View<'s>> {
        let h = handle_arg(std::slice::from_ref(v), 0, &[Kind::Db, Kind::Conn], var)?;
        if h.writing {
            let c = self
                .conns
                .get(&h.id)
                .ok_or_else(|| State::no_handle(h.kind, v))?;
            let t = c.txn.as_ref().ok_or_else(|| {
                PodError::TxState(format!(
                    "{var}: no explicit transaction is open on this handle (it was closed or aborted)"
                ))
            })?;
            return Ok(View::Made(Box::new(t.db()?)));
        }
        if h.kind == Kind::Db {
            if let Some(d) = self.dbs.get(&h.id) {
                return Ok(View::Held(&d.db));
            }
        }
        match self.conns.get(&h.id) {
            Some(c) => Ok(View::Made(Box::new(c.conn.db()?))),
            None => Err(State::no_handle(h.kind, v)),
        }
    }

    /// Opens the Datalog database in `dir` (a fresh temporary directory if `None`).
    /// Opens (creating) the database in `dir` (a new temporary directory for `None`),
    /// merging `schema` into its stored one and laying Datalevin's `opts` map over its
    /// stored options (see [`set_opts`]).
    fn open_conn(
        &mut self,
        dir: Option<PathBuf>,
        schema: Option<Edn>,
        opts: &Edn,
    ) -> Res<(Conn, PathBuf)> {
        let dir = match dir {
            Some(d) => d,
            None => {
                let t = tempfile::Builder::new().prefix("levin-pod-").tempdir()?;
                let p = t.path().to_path_buf();
                self.temps.push(t);
                p
            }
        };
        // Open the environment first: a database this pod is writing must not be opened
        // in a way that waits for that writer.
        let env = Env::open_with(&dir, EnvOptions::new())?;
        self.check_writable(&env)?;
        let conn = Conn::open(&dir, schema)?;
        conn.set_writer_timeout(Some(self.writer_timeout));
        set_opts(&conn, opts)?;
        let canon = std::fs::canonicalize(&dir).unwrap_or(dir);
        Ok((conn, canon))
    }

    fn register_conn(&mut self, id: Id, conn: Conn, dir: Option<PathBuf>) {
        if let Some(d) = &dir {
            self.dirs.entry(d.clone()).or_insert(id);
        }
        self.conns.insert(
            id,
            ConnEntry {
                conn,
                txn: None,
                dir,
            },
        );
    }

    fn close_conn(&mut self, id: &Id) {
        if let Some(mut c) = self.conns.remove(id) {
            if let Some(t) = c.txn.take() {
                self.set_writer(c.conn.env(), false);
                t.abort();
            }
            if let Some(d) = &c.dir {
                if self.dirs.get(d) == Some(id) {
                    self.dirs.remove(d);
                }
            }
        }
        self.dbs.remove(id);
        self.closed.insert(*id);
    }

    fn transact(&mut self, args: &[Edn], var: &str) -> Res<Edn> {
        let h = handle_arg(args, 0, &[Kind::Conn], var)?;
        let tx = form(args.get(1).unwrap_or(&Edn::Nil))?;
        let meta = args.get(2).cloned().unwrap_or(Edn::Nil);
        let v = &args[0];
        if h.writing {
            let c = self
                .conns
                .get_mut(&h.id)
                .ok_or_else(|| State::no_handle(Kind::Conn, v))?;
            let t = c.txn.as_mut().ok_or_else(|| {
                PodError::TxState(format!(
                    "{var}: no explicit transaction is open on this handle (it was closed or aborted)"
                ))
            })?;
            return Ok(report_edn(&t.transact(&tx)?, meta));
        }
        let c = self.conn_entry(h, v)?;
        self.check_writable(c.conn.env())?;
        Ok(report_edn(&c.conn.transact(&tx)?, meta))
    }

    fn entity_map(&self, dbv: &Edn, db_id: Edn, eid: &Edn, var: &str) -> Res<Edn> {
        let view = self.view(dbv, var)?;
        match DatalogRead::entity(view.db(), eid)? {
            Some(Edn::Map(mut m)) => {
                m.push((k("db-name"), db_id));
                Ok(Edn::Map(m))
            }
            _ => Ok(Edn::Nil),
        }
    }
}

/// Runs the Datalog var `var`; `None` if it is not one.
pub fn call(s: &mut State, var: &str, args: &[Edn]) -> Option<Res<Edn>> {
    let known = matches!(
        var,
        "get-conn"
            | "create-conn"
            | "close"
            | "closed?"
            | "conn?"
            | "conn-from-db"
            | "db"
            | "db?"
            | "empty-db"
            | "init-db"
            | "close-db"
            | "schema"
            | "update-schema"
            | "clear"
            | "re-index"
            | "datalog-index-cache-limit"
            | "transact!"
            | "transact"
            | "transact-async*"
            | "open-transact"
            | "close-transact"
            | "abort-transact"
            | "q"
            | "explain"
            | "pull"
            | "pull-many"
            | "entity"
            | "touch"
            | "entid"
            | "datoms"
            | "seek-datoms"
            | "rseek-datoms"
            | "search-datoms"
            | "count-datoms"
            | "index-range"
            | "cardinality"
            | "max-eid"
            | "analyze"
    );
    known.then(|| run(s, var, args))
}

fn arg(args: &[Edn], i: usize) -> &Edn {
    args.get(i).unwrap_or(&Edn::Nil)
}

/// Lays Datalevin's opts map `opts` (nil: none) over the options stored in `conn`'s
/// database: `:closed-schema?` and `:auto-entity-time?` are stored, as Datalevin stores
/// them; its other keys are ignored (docs/POD.md).
fn set_opts(conn: &Conn, opts: &Edn) -> Res<()> {
    conn.merge_options(opts)?;
    Ok(())
}

fn run(s: &mut State, var: &str, args: &[Edn]) -> Res<Edn> {
    match var {
        "get-conn" => {
            let dir = dir_arg(opt(args, 0))?
                .ok_or_else(|| bad("get-conn needs the database directory (a string)"))?;
            let schema = schema_arg(opt(args, 1))?;
            if let Ok(canon) = std::fs::canonicalize(&dir) {
                if let Some(id) = s.dirs.get(&canon).copied() {
                    if let Some(c) = s.conns.get(&id) {
                        if let Some(schema) = schema {
                            s.check_writable(c.conn.env())?;
                            c.conn.update_schema(schema)?;
                        }
                        if !arg(args, 2).is_nil() {
                            s.check_writable(c.conn.env())?;
                            set_opts(&c.conn, arg(args, 2))?;
                        }
                        return Ok(Handle {
                            kind: Kind::Conn,
                            id,
                            writing: false,
                        }
                        .to_edn());
                    }
                }
            }
            let (conn, canon) = s.open_conn(Some(dir), schema, arg(args, 2))?;
            let id = new_id();
            s.register_conn(id, conn, Some(canon));
            Ok(Handle {
                kind: Kind::Conn,
                id,
                writing: false,
            }
            .to_edn())
        }
        "create-conn" => {
            let dir = dir_arg(opt(args, 0))?;
            let given = dir.is_some();
            let (conn, canon) = s.open_conn(dir, schema_arg(opt(args, 1))?, arg(args, 2))?;
            let id = new_id();
            s.register_conn(id, conn, given.then_some(canon));
            Ok(Handle {
                kind: Kind::Conn,
                id,
                writing: false,
            }
            .to_edn())
        }
        "empty-db" | "init-db" => {
            let shift = usize::from(var == "init-db");
            let (conn, _) = s.open_conn(
                dir_arg(opt(args, shift))?,
                schema_arg(opt(args, shift + 1))?,
                arg(args, shift + 2),
            )?;
            if var == "init-db" {
                let datoms = arg(args, 0)
                    .as_seq()
                    .or_else(|| arg(args, 0).as_set())
                    .ok_or_else(|| bad("init-db takes a vector of [e a v] datoms"))?;
                let forms = datoms
                    .iter()
                    .map(|d| match d.as_seq() {
                        Some([e, a, v, ..]) => Ok(Edn::Vector(vec![
                            Edn::kw("db", "add"),
                            e.clone(),
                            a.clone(),
                            v.clone(),
                        ])),
                        _ => Err(bad(format!("a datom is [e a v], got {d}"))),
                    })
                    .collect::<Res<Vec<_>>>()?;
                if !forms.is_empty() {
                    conn.transact(&Edn::Vector(forms))?;
                }
            }
            let id = new_id();
            let db = conn.db()?;
            s.dbs.insert(id, DbEntry { db, conn });
            Ok(Handle {
                kind: Kind::Db,
                id,
                writing: false,
            }
            .to_edn())
        }
        "close" => {
            let h = handle_arg(args, 0, &[Kind::Conn], var)?;
            if !s.conns.contains_key(&h.id) && !s.closed.contains(&h.id) {
                return Err(State::no_handle(Kind::Conn, &args[0]));
            }
            s.close_conn(&h.id);
            Ok(Edn::Nil)
        }
        "closed?" => {
            let h = handle_arg(args, 0, &[Kind::Conn], var)?;
            if s.conns.contains_key(&h.id) {
                Ok(Edn::Bool(false))
            } else if s.closed.contains(&h.id) {
                Ok(Edn::Bool(true))
            } else {
                Err(State::no_handle(Kind::Conn, &args[0]))
            }
        }
        "conn?" => Ok(Edn::Bool(matches!(
            Handle::parse(arg(args, 0)),
            Some(h) if h.kind == Kind::Conn && s.conns.contains_key(&h.id)
        ))),
        "db?" => Ok(Edn::Bool(matches!(
            Handle::parse(arg(args, 0)),
            Some(h) if h.kind == Kind::Db && s.view(&args[0], var).is_ok()
        ))),
        "conn-from-db" => {
            let h = handle_arg(args, 0, &[Kind::Db], var)?;
            let conn = match s.dbs.get(&h.id) {
                Some(d) => d.conn.clone(),
                None => s.conn_entry(h, &args[0])?.conn.clone(),
            };
            if !s.conns.contains_key(&h.id) {
                s.register_conn(h.id, conn, None);
            }
            Ok(Handle {
                kind: Kind::Conn,
                id: h.id,
                writing: false,
            }
            .to_edn())
        }
        "db" => {
            let h = handle_arg(args, 0, &[Kind::Conn], var)?;
            let c = s.conn_entry(h, &args[0])?;
            let dbh = Handle {
                kind: Kind::Db,
                id: h.id,
                writing: h.writing,
            };
            if h.writing {
                if c.txn.is_none() {
                    return Err(PodError::TxState(
                        "db: no explicit transaction is open on this handle".into(),
                    ));
                }
                return Ok(dbh.to_edn());
            }
            let conn = c.conn.clone();
            let db = conn.db()?;
            s.dbs.insert(h.id, DbEntry { db, conn });
            Ok(dbh.to_edn())
        }
        "close-db" => {
            let h = handle_arg(args, 0, &[Kind::Db], var)?;
            if s.dbs.remove(&h.id).is_none() && !s.closed.contains(&h.id) {
                return Err(State::no_handle(Kind::Db, &args[0]));
            }
            if !s.conns.contains_key(&h.id) {
                s.closed.insert(h.id);
            }
            Ok(Edn::Nil)
        }
        "schema" => {
            let view = s.view(&args[0], var)?;
            Ok(view.db().schema().to_edn())
        }
        "update-schema" => {
            let h = handle_arg(args, 0, &[Kind::Conn], var)?;
            if h.writing {
                return Err(PodError::TxState(
                    "update-schema: schema changes cannot run inside an explicit transaction"
                        .into(),
                ));
            }
            let schema = schema_arg(opt(args, 1))?;
            let delete = match opt(args, 2) {
                None => vec![],
                Some(v) => v
                    .as_seq()
                    .or_else(|| v.as_set())
                    .ok_or_else(|| {
                        bad(format!(
                            "the attributes to delete are a set of keywords, got {v}"
                        ))
                    })?
                    .iter()
                    .map(|x| {
                        x.as_keyword()
                            .cloned()
                            .ok_or_else(|| bad(format!("{x} is not an attribute keyword")))
                    })
                    .collect::<Res<Vec<Keyword>>>()?,
            };
            let rename = match opt(args, 3) {
                None => vec![],
                Some(Edn::Map(m)) => m
                    .iter()
                    .map(|(a, b)| match (a.as_keyword(), b.as_keyword()) {
                        (Some(a), Some(b)) => Ok((a.clone(), b.clone())),
                        _ => Err(bad(format!(
                            "a rename map maps keywords to keywords, got {a} {b}"
                        ))),
                    })
                    .collect::<Res<Vec<_>>>()?,
                Some(v) => return Err(bad(format!("the rename map is a map, got {v}"))),
            };
            let c = s.conn_entry(h, &args[0])?;
            s.check_writable(c.conn.env())?;
            c.conn
                .update_schema_with(schema, &SchemaUpdate { delete, rename })?;
            Ok(c.conn.schema().to_edn())
        }
        "clear" => {
            let h = handle_arg(args, 0, &[Kind::Conn], var)?;
            let c = s.conn_entry(h, &args[0])?;
            if h.writing || c.txn.is_some() {
                return Err(PodError::TxState(
                    "clear: the connection has an explicit transaction open; close or abort it first".into(),
                ));
            }
            s.check_writable(c.conn.env())?;
            c.conn.clear()?;
            Ok(Edn::Nil)
        }
        "re-index" => {
            // Datalevin's arities: [handle opts] and [handle schema opts].
            if Handle::parse(arg(args, 0)).is_some_and(|h| h.kind == Kind::Kv) {
                return Err(PodError::Unsupported {
                    var: var.to_string(),
                    reason: "re-indexing a key-value store (Levin re-indexes Datalog conns)",
                });
            }
            let h = handle_arg(args, 0, &[Kind::Conn], var)?;
            let (schema, opts) = match args.len() {
                3 => (schema_arg(opt(args, 1))?, opt(args, 2)),
                _ => (None, opt(args, 1)),
            };
            // The options (:backup? and the rest) change nothing here, but they must be
            // a map, as Datalevin's are.
            if let Some(o) = opts.filter(|o| o.as_map().is_none()) {
                return Err(bad(format!(
                    "re-index: the options are a map (such as {{:backup? true}}), got {o}"
                )));
            }
            let c = s.conn_entry(h, &args[0])?;
            if h.writing || c.txn.is_some() {
                return Err(PodError::TxState(
                    "re-index: the connection has an explicit transaction open; close or abort it first".into(),
                ));
            }
            s.check_writable(c.conn.env())?;
            c.conn.re_index(schema)?;
            // The same connection, re-indexed: Datalevin answers a handle with the same
            // uuid.
            Ok(Handle {
                kind: Kind::Conn,
                id: h.id,
                writing: false,
            }
            .to_edn())
        }
        "datalog-index-cache-limit" => {
            let h = handle_arg(args, 0, &[Kind::Conn], var)?;
            s.conn_entry(h, &args[0])?;
            Ok(if args.len() > 1 {
                Edn::Nil
            } else {
                Edn::Long(0)
            })
        }
        "transact!" | "transact" | "transact-async*" => s.transact(args, var),
        "open-transact" => {
            let h = handle_arg(args, 0, &[Kind::Conn], var)?;
            let c = s.conn_entry(h, &args[0])?;
            if h.writing || c.txn.is_some() {
                return Err(PodError::TxState(
                    "open-transact: this connection already has an explicit transaction open"
                        .into(),
                ));
            }
            s.check_writable(c.conn.env())?;
            let t = c.conn.begin()?;
            let env = c.conn.env().clone();
            s.set_writer(&env, true);
            if let Some(c) = s.conns.get_mut(&h.id) {
                c.txn = Some(t);
            }
            Ok(h.writing().to_edn())
        }
        "close-transact" | "abort-transact" => {
            let h = handle_arg(args, 0, &[Kind::Conn], var)?;
            let c = s
                .conns
                .get_mut(&h.id)
                .ok_or_else(|| State::no_handle(Kind::Conn, &args[0]))?;
            let Some(t) = c.txn.take() else {
                // Already closed or aborted: nothing to do (with-transaction aborts after a
                // failed close).
                return Ok(Edn::Nil);
            };
            let env = c.conn.env().clone();
            s.set_writer(&env, false);
            if var == "abort-transact" {
                t.abort();
            } else {
                t.commit()?;
            }
            Ok(Edn::Nil)
        }
        "q" | "explain" => {
            let shift = usize::from(var == "explain");
            let query = form(arg(args, shift))?;
            let rest = args.get(shift + 1..).unwrap_or(&[]);
            let mut views = Vec::new();
            let mut slots = Vec::new();
            for v in rest {
                if Handle::parse(v).is_some_and(|h| h.kind != Kind::Kv) {
                    slots.push(None);
                    views.push(s.view(v, var)?);
                } else {
                    slots.push(Some(v.clone()));
                }
            }
            let mut next = views.iter();
            let inputs: Vec<Input<'_>> = slots
                .into_iter()
                .map(|slot| match slot {
                    Some(v) => Input::Value(v),
                    None => match next.next() {
                        Some(view) => Input::Db(view.db()),
                        None => Input::Value(Edn::Nil),
                    },
                })
                .collect();
            let reg = Registry::new();
            if var == "explain" {
                Ok(levin_query::explain(&query, &inputs, &reg)?.to_edn())
            } else {
                Ok(levin_query::q_with(&query, &inputs, &reg)?.to_edn())
            }
        }
        "pull" => {
            let view = s.view(arg(args, 0), var)?;
            Ok(DatalogRead::pull(
                view.db(),
                &form(arg(args, 1))?,
                arg(args, 2),
            )?)
        }
        "pull-many" => {
            let view = s.view(arg(args, 0), var)?;
            let ids = arg(args, 2)
                .as_seq()
                .or_else(|| arg(args, 2).as_set())
                .ok_or_else(|| bad("pull-many takes a vector of entity ids"))?;
            Ok(Edn::Vector(DatalogRead::pull_many(
                view.db(),
                &form(arg(args, 1))?,
                ids,
            )?))
        }
        "entity" => {
            let h = handle_arg(args, 0, &[Kind::Db, Kind::Conn], var)?;
            s.entity_map(&args[0], Edn::Uuid(h.id), arg(args, 1), var)
        }
        "touch" => {
            let m = arg(args, 0);
            let (Some(Edn::Uuid(id)), Some(eid)) = (m.get(&k("db-name")), m.get_kw("db", "id"))
            else {
                return Err(bad(format!(
                    "touch takes a map from entity (with :db/id and :db-name), got {m}"
                )));
            };
            let dbv = Handle {
                kind: Kind::Db,
                id: *id,
                writing: false,
            }
            .to_edn();
            s.entity_map(&dbv, Edn::Uuid(*id), eid, var)
        }
        "entid" => {
            let view = s.view(arg(args, 0), var)?;
            Ok(DatalogRead::entid(view.db(), arg(args, 1))?
                .map_or(Edn::Nil, |e| Edn::Long(e as i64)))
        }
        "datoms" | "seek-datoms" | "rseek-datoms" => {
            let view = s.view(arg(args, 0), var)?;
            let index = index_of(arg(args, 1))?;
            let comps: Vec<Edn> = args
                .get(2..args.len().min(5))
                .unwrap_or(&[])
                .iter()
                .take_while(|c| !c.is_nil())
                .cloned()
                .collect();
            let limit = match opt(args, 5) {
                None => None,
                Some(Edn::Long(n)) if *n >= 0 => Some(usize::try_from(*n).unwrap_or(usize::MAX)),
                Some(v) => {
                    return Err(bad(format!(
                        "{var}: the limit is a non-negative integer, got {v}"
                    )))
                }
            };
            let db = view.db();
            let ds = match var {
                "datoms" => DatalogRead::datoms(db, index, &comps, limit)?,
                "seek-datoms" => DatalogRead::seek_datoms(db, index, &comps, limit)?,
                _ => DatalogRead::rseek_datoms(db, index, &comps, limit)?,
            };
            Ok(datoms_edn(ds))
        }
        "search-datoms" | "count-datoms" => {
            let view = s.view(arg(args, 0), var)?;
            let (e, v) = (opt(args, 1), opt(args, 3));
            let a = match opt(args, 2) {
                None => None,
                Some(Edn::Keyword(k)) => Some(k),
                Some(other) => {
                    return Err(bad(format!(
                        "{var} needs an attribute keyword or nil, got {other}"
                    )))
                }
            };
            let db = view.db();
            if var == "count-datoms" {
                return Ok(Edn::Long(
                    DatalogRead::count_search_datoms(db, e, a, v)? as i64
                ));
            }
            Ok(datoms_edn(DatalogRead::search_datoms(db, e, a, v)?))
        }
        "index-range" => {
            let view = s.view(arg(args, 0), var)?;
            let attr = arg(args, 1).as_keyword().ok_or_else(|| {
                bad(format!(
                    "index-range needs an attribute keyword, got {}",
                    arg(args, 1)
                ))
            })?;
            Ok(datoms_edn(DatalogRead::index_range(
                view.db(),
                attr,
                opt(args, 2),
                opt(args, 3),
                None,
            )?))
        }
        "cardinality" => {
            let view = s.view(arg(args, 0), var)?;
            let attr = arg(args, 1).as_keyword().ok_or_else(|| {
                bad(format!(
                    "cardinality needs an attribute keyword, got {}",
                    arg(args, 1)
                ))
            })?;
            Ok(Edn::Long(DatalogRead::cardinality(view.db(), attr)? as i64))
        }
        "max-eid" => {
            let view = s.view(arg(args, 0), var)?;
            Ok(Edn::Long(view.db().max_eid() as i64))
        }
        "analyze" => {
            s.view(arg(args, 0), var)?;
            Ok(Edn::kw("", "done"))
        }
        other => Err(PodError::UnknownVar(other.to_string())),
    }
}
