//! The Datalog operations: opening and administering databases, transactions (single and
//! explicit), queries, pull, entities, index access, schema changes and snapshots.

use levin_datalog::{Datom, DatomScan, Db, Index, SchemaUpdate, TxReport};
use levin_edn::{Edn, Keyword};
use levin_query::{DatalogRead, FindKind, Input, QueryResult, Registry};

use crate::dbs::Store;
use crate::error::ServerError;
use crate::message::Request;
use crate::session::{OpenTxn, Session, STREAM_BATCH};
use crate::stream::{self, Frames, StreamError};
use crate::system::DbType;

fn k(n: &str) -> Edn {
    Edn::kw("", n)
}

/// A transaction report as the protocol sends it: `{:tx-data [[e a v tx added?] ...]
/// :tempids {tempid eid ... :db/current-tx tx} :max-eid n :tx tx}`.
pub fn report_edn(r: &TxReport) -> Edn {
    let mut m = match r.to_edn() {
        Edn::Map(m) => m,
        _ => vec![],
    };
    let datoms = r
        .tx_data
        .iter()
        .map(|d| {
            Edn::Vector(vec![
                Edn::Long(d.e as i64),
                Edn::Keyword(d.a.clone()),
                d.v.clone(),
                Edn::Long(r.tx as i64),
                Edn::Bool(d.added),
            ])
        })
        .collect();
    for (key, v) in m.iter_mut() {
        if *key == k("tx-data") {
            *v = Edn::Vector(datoms);
            break;
        }
    }
    m.push((k("tx"), Edn::Long(r.tx as i64)));
    Edn::Map(m)
}

/// A datom as the protocol sends it: `[e a v]`.
fn datom_edn(d: Datom) -> Edn {
    Edn::Vector(vec![Edn::Long(d.e as i64), Edn::Keyword(d.a), d.v])
}

fn index_arg(req: &Request, i: usize) -> Result<Index, ServerError> {
    let kw = req.kw_arg(i, "the index (:eav or :ave)")?;
    Index::from_keyword(kw).ok_or_else(|| {
        ServerError::BadArgument(format!(
            ":{} needs the index :eav or :ave as argument {}, got {kw}",
            req.op,
            i + 1
        ))
    })
}

fn limit_arg(req: &Request, i: usize) -> Result<Option<usize>, ServerError> {
    Ok(req
        .count_arg(i, "the limit")?
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
}

/// A query or pattern given as EDN data, or as EDN text (a string).
fn form_arg(req: &Request, i: usize, what: &str) -> Result<Edn, ServerError> {
    match req.arg(i, what)? {
        Edn::String(text) => Ok(levin_edn::read(text)?),
        other => Ok(other.clone()),
    }
}

fn inputs_arg(req: &Request, i: usize) -> Result<Vec<Edn>, ServerError> {
    match req.opt_arg(i) {
        None => Ok(vec![]),
        Some(v) => v.as_seq().map(<[Edn]>::to_vec).ok_or_else(|| {
            ServerError::BadArgument(format!(
                ":{} takes its query inputs as a vector (argument {}), got {v}",
                req.op,
                i + 1
            ))
        }),
    }
}

fn kw_list(v: Option<&Edn>, what: &str) -> Result<Vec<Keyword>, ServerError> {
    match v {
        None => Ok(vec![]),
        Some(v) => v
            .as_seq()
            .or_else(|| v.as_set())
            .ok_or_else(|| {
                ServerError::BadArgument(format!("{what} is a vector of keywords, got {v}"))
            })?
            .iter()
            .map(|x| {
                x.as_keyword().cloned().ok_or_else(|| {
                    ServerError::BadArgument(format!("{what}: {x} is not a keyword"))
                })
            })
            .collect(),
    }
}

/// Runs `f` on the database value a read of `name` sees: the snapshot the request names,
/// the session's explicit transaction on it, or the latest committed state.
/// A query's result as [`QueryResult::to_edn`] gives it, built by moving the rows rather
/// than copying them: the rows of a large result are only sent, so they need no copy.
/// Results with `:keys`/`:strs`/`:syms` go through `to_edn`.
fn result_edn(r: QueryResult) -> Edn {
    if r.ret.is_some() {
        return r.to_edn();
    }
    let first = |row: Vec<Edn>| row.into_iter().next().unwrap_or(Edn::Nil);
    let mut rows = r.rows;
    match r.kind {
        FindKind::Rel if r.ordered => Edn::Vector(rows.into_iter().map(Edn::Vector).collect()),
        FindKind::Rel => {
            sort_rows(&mut rows);
            Edn::Set(rows.into_iter().map(Edn::Vector).collect())
        }
        FindKind::Coll => Edn::Vector(rows.into_iter().map(first).collect()),
        FindKind::Scalar => rows.into_iter().next().map_or(Edn::Nil, first),
        FindKind::Tuple => rows.into_iter().next().map_or(Edn::Nil, Edn::Vector),
    }
}

/// Sorts a relation's rows into value order, the order `to_edn` gives a set (its rows are
/// distinct, so an unstable sort gives that order too). When every row starts with an
/// integer (an entity id, most often), the sort runs on those integers held in one array,
/// comparing the rest of two rows only on a tie: the same order, without following a
/// pointer per comparison.
fn sort_rows(rows: &mut Vec<Vec<Edn>>) {
    let firsts: Option<Vec<(i64, u32)>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| match (row.first(), u32::try_from(i)) {
            (Some(Edn::Long(n)), Ok(i)) => Some((*n, i)),
            _ => None,
        })
        .collect();
    let Some(mut order) = firsts else {
        rows.sort_unstable();
        return;
    };
    order.sort_unstable_by(|(a, i), (b, j)| {
        a.cmp(b)
            .then_with(|| rows[*i as usize][1..].cmp(&rows[*j as usize][1..]))
    });
    let mut slots: Vec<Option<Vec<Edn>>> = std::mem::take(rows).into_iter().map(Some).collect();
    *rows = order
        .iter()
        .filter_map(|&(_, i)| slots[i as usize].take())
        .collect();
}

fn with_db<T>(
    s: &Session<'_>,
    req: &Request,
    name: &str,
    f: impl FnOnce(&Db<'_>) -> Result<T, ServerError>,
) -> Result<T, ServerError> {
    if let Some(id) = req.opt("snapshot") {
        let id = id.as_long().ok_or_else(|| {
            ServerError::BadArgument(format!(":snapshot is a snapshot id, got {id}"))
        })?;
        return match s.snapshots.get(&id) {
            Some((db, snap)) if db == name => f(snap),
            Some((db, _)) => Err(ServerError::BadArgument(format!(
                "snapshot {id} is of database {db:?}, not {name:?}"
            ))),
            None => Err(ServerError::NotFound(format!(
                "no snapshot {id} in this session"
            ))),
        };
    }
    if let Some((OpenTxn::Datalog { db, txn }, _)) = &s.txn {
        if db == name {
            return f(&txn.db()?);
        }
    }
    match s.store(name)? {
        Store::Datalog(c) => f(&c.db()?),
        Store::Kv(_) => Err(ServerError::BadArgument(format!(
            "database {name:?} is a key-value database; :{} needs a Datalog one",
            req.op
        ))),
    }
}

/// Refuses an operation that writes `name` through its own write transaction (`:clear`,
/// `:re-index`, `:update-schema`, `:open` with a schema or options) while this session has an explicit transaction open on it: it would wait
/// for the writer that session itself holds. Another session's transaction makes it wait
/// for the writer up to `writer_timeout`, then fail as writer-busy, as any write does.
fn no_txn_here(s: &Session<'_>, name: &str) -> Result<(), ServerError> {
    if s.txn.as_ref().is_some_and(|(t, _)| t.db() == name) {
        return Err(ServerError::TxState(format!(
            "database {name:?} has an explicit transaction open in this session; end it first"
        )));
    }
    Ok(())
}

fn conn_of(s: &Session<'_>, name: &str) -> Result<levin_datalog::Conn, ServerError> {
    match s.store(name)? {
        Store::Datalog(c) => Ok(c.clone()),
        Store::Kv(_) => Err(ServerError::BadArgument(format!(
            "database {name:?} is a key-value database, not a Datalog one"
        ))),
    }
}

/// The query registry of the server: its deadline caps every query.
pub(crate) fn registry(s: &Session<'_>) -> Registry {
    let ms = u64::try_from(s.shared.config.query_timeout.as_millis()).unwrap_or(u64::MAX);
    Registry::new()
        .timeout_cap(ms)
        .max_memory(s.shared.config.query_max_memory)
}

/// Handles the Datalog operations; `None` for any other.
pub(crate) fn handle(s: &mut Session<'_>, req: &Request) -> Option<Result<Edn, ServerError>> {
    let op = req.op.as_str();
    let known = matches!(
        op,
        "open"
            | "close"
            | "create-database"
            | "drop-database"
            | "close-database"
            | "list-databases"
            | "list-databases-in-use"
            | "transact"
            | "q"
            | "explain"
            | "pull"
            | "pull-many"
            | "entity"
            | "entid"
            | "count-datoms"
            | "schema"
            | "max-eid"
            | "update-schema"
            | "clear"
            | "re-index"
            | "db-snapshot"
            | "release-snapshot"
            | "open-transact"
            | "close-transact"
            | "abort-transact"
    );
    known.then(|| run(s, req))
}

/// The Datalog reads answered as streams (see [`crate::stream`]).
pub(crate) fn is_streamed(op: &str) -> bool {
    matches!(
        op,
        "datoms" | "seek-datoms" | "rseek-datoms" | "index-range"
    )
}

/// Answers `:datoms`, `:seek-datoms`, `:rseek-datoms` or `:index-range`: counted and read
/// in the one database value [`with_db`] gives (a snapshot, the session's transaction, or
/// the latest state), its datoms sent as they are read.
pub(crate) fn stream(
    s: &Session<'_>,
    req: &Request,
    send: &mut Frames<'_>,
) -> Result<(), StreamError> {
    let name = req.str_arg(0, "the database name")?.to_string();
    if req.op == "index-range" {
        let attr = req.kw_arg(1, "the attribute")?.clone();
        let lo = req.opt_arg(2).cloned();
        let hi = req.opt_arg(3).cloned();
        let limit = limit_arg(req, 4)?;
        return with_db(s, req, &name, |db| {
            Ok(send_datoms(
                db.plan_index_range(&attr, lo.as_ref(), hi.as_ref()),
                limit,
                req.id,
                send,
            ))
        })?;
    }
    let index = index_arg(req, 1)?;
    let components = match req.opt_arg(2) {
        None => vec![],
        Some(_) => req.seq_arg(2, "the components")?.to_vec(),
    };
    let limit = limit_arg(req, 3)?;
    with_db(s, req, &name, |db| {
        let scan = match req.op.as_str() {
            "datoms" => db.plan_datoms(index, &components),
            "seek-datoms" => db.plan_seek_datoms(index, &components),
            _ => db.plan_rseek_datoms(index, &components),
        };
        Ok(send_datoms(scan, limit, req.id, send))
    })?
}

/// Sends the datoms of `scan`, at most `limit`, counted first.
fn send_datoms(
    scan: levin_datalog::Result<DatomScan<'_>>,
    limit: Option<usize>,
    id: i64,
    send: &mut Frames<'_>,
) -> Result<(), StreamError> {
    let scan = scan?;
    let count = stream::capped(scan.count()?, limit);
    let datoms = scan
        .datoms()?
        .take(limit.unwrap_or(usize::MAX))
        .map(|d| d.map(datom_edn).map_err(ServerError::from));
    stream::send_items(send, id, count, datoms, STREAM_BATCH)
}

fn run(s: &mut Session<'_>, req: &Request) -> Result<Edn, ServerError> {
    let name =
        || -> Result<String, ServerError> { Ok(req.str_arg(0, "the database name")?.to_string()) };
    match req.op.as_str() {
        "open" => {
            let name = name()?;
            let store = s.open_db(&name, DbType::Datalog)?;
            let Store::Datalog(conn) = store else {
                return Err(ServerError::BadArgument(format!(
                    "database {name:?} is a key-value database"
                )));
            };
            if req.opt_arg(1).is_some() || req.opt_arg(2).is_some() {
                // Both write through the connection's own write transaction.
                no_txn_here(s, &name)?;
            }
            if let Some(schema) = req.opt_arg(1) {
                conn.update_schema(schema)?;
            }
            let options = match req.opt_arg(2) {
                Some(opts) => conn.merge_options(opts)?,
                None => conn.options()?,
            };
            let db = conn.db()?;
            Ok(Edn::Map(vec![
                (k("db-name"), Edn::string(name)),
                (k("max-eid"), Edn::Long(db.max_eid() as i64)),
                (k("datoms"), Edn::Long(db.datom_count()? as i64)),
                (k("opts"), options.to_edn()),
            ]))
        }
        "close" => {
            s.close_db(&name()?)?;
            Ok(Edn::Bool(true))
        }
        "create-database" => {
            let name = name()?;
            let ty = match req.opt_arg(1) {
                None => DbType::Datalog,
                Some(Edn::Keyword(kw)) => DbType::from_keyword(kw).ok_or_else(|| {
                    ServerError::BadArgument(format!(
                        "a database type is :datalog or :key-value, got {kw}"
                    ))
                })?,
                Some(v) => {
                    return Err(ServerError::BadArgument(format!(
                        "a database type is :datalog or :key-value, got {v}"
                    )))
                }
            };
            if s.shared.system.database_type(&name)?.is_some() {
                return Err(ServerError::Exists(format!(
                    "database {name:?} exists already"
                )));
            }
            let was_open = s.open.contains_key(&name);
            s.open_db(&name, ty)?;
            if !was_open {
                s.close_db(&name)?;
            }
            Ok(Edn::Bool(true))
        }
        "drop-database" => {
            let name = name()?;
            if s.shared.system.database_type(&name)?.is_none() {
                return Err(ServerError::NotFound(format!("no database {name:?}")));
            }
            if s.open.contains_key(&name) {
                s.close_db(&name)?;
            }
            s.shared.dbs.delete(&name)?;
            s.shared.system.unregister_database(&name)?;
            Ok(Edn::Bool(true))
        }
        "close-database" => {
            let name = name()?;
            if s.open.contains_key(&name) {
                s.close_db(&name)?;
            }
            s.shared.dbs.force_close(&name);
            Ok(Edn::Bool(true))
        }
        "list-databases" => Ok(Edn::Vector(
            s.shared
                .system
                .list_databases()?
                .into_iter()
                .map(|(n, _)| Edn::string(n))
                .collect(),
        )),
        "list-databases-in-use" => Ok(Edn::Vector(
            s.shared
                .dbs
                .in_use()
                .into_iter()
                .map(|(n, _)| Edn::string(n))
                .collect(),
        )),
        "transact" => {
            let name = name()?;
            let tx = form_arg(req, 1, "the transaction data")?;
            if let Some((OpenTxn::Datalog { db, txn }, _)) = &mut s.txn {
                if *db == name {
                    return Ok(report_edn(&txn.transact(&tx)?));
                }
            }
            let conn = conn_of(s, &name)?;
            Ok(report_edn(&conn.transact(&tx)?))
        }
        "q" | "explain" => {
            let name = name()?;
            let query = form_arg(req, 1, "the query")?;
            let inputs = inputs_arg(req, 2)?;
            let reg = registry(s);
            let explain = req.op == "explain";
            with_db(s, req, &name, |db| {
                let mut all = vec![Input::Db(db)];
                all.extend(inputs.into_iter().map(Input::Value));
                if explain {
                    Ok(levin_query::explain(&query, &all, &reg)?.to_edn())
                } else {
                    Ok(result_edn(levin_query::q_with(&query, &all, &reg)?))
                }
            })
        }
        "pull" => {
            let name = name()?;
            let pattern = form_arg(req, 1, "the pull pattern")?;
            let id = req.arg(2, "the entity id")?.clone();
            with_db(s, req, &name, |db| {
                Ok(DatalogRead::pull(db, &pattern, &id)?)
            })
        }
        "pull-many" => {
            let name = name()?;
            let pattern = form_arg(req, 1, "the pull pattern")?;
            let ids = req.seq_arg(2, "the entity ids")?.to_vec();
            with_db(s, req, &name, |db| {
                Ok(Edn::Vector(DatalogRead::pull_many(db, &pattern, &ids)?))
            })
        }
        "entity" => {
            let name = name()?;
            let id = req.arg(1, "the entity id")?.clone();
            with_db(s, req, &name, |db| {
                Ok(DatalogRead::entity(db, &id)?.unwrap_or(Edn::Nil))
            })
        }
        "entid" => {
            let name = name()?;
            let id = req.arg(1, "the entity id")?.clone();
            with_db(s, req, &name, |db| {
                Ok(DatalogRead::entid(db, &id)?.map_or(Edn::Nil, |e| Edn::Long(e as i64)))
            })
        }
        "count-datoms" => {
            let name = name()?;
            let index = index_arg(req, 1)?;
            let components = match req.opt_arg(2) {
                None => vec![],
                Some(_) => req.seq_arg(2, "the components")?.to_vec(),
            };
            with_db(s, req, &name, |db| {
                Ok(Edn::Long(
                    DatalogRead::count_datoms(db, index, &components)? as i64,
                ))
            })
        }
        "schema" => {
            let name = name()?;
            with_db(s, req, &name, |db| Ok(db.schema().to_edn()))
        }
        "max-eid" => {
            let name = name()?;
            with_db(s, req, &name, |db| Ok(Edn::Long(db.max_eid() as i64)))
        }
        "update-schema" => {
            let name = name()?;
            no_txn_here(s, &name)?;
            let conn = conn_of(s, &name)?;
            let schema = req.opt_arg(1).cloned();
            let delete = kw_list(req.opt_arg(2), "the attributes to delete")?;
            let rename = match req.opt_arg(3) {
                None => vec![],
                Some(Edn::Map(m)) => m
                    .iter()
                    .map(|(a, b)| match (a.as_keyword(), b.as_keyword()) {
                        (Some(a), Some(b)) => Ok((a.clone(), b.clone())),
                        _ => Err(ServerError::BadArgument(format!(
                            "a rename map maps attribute keywords to keywords, got {a} {b}"
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                Some(v) => {
                    return Err(ServerError::BadArgument(format!(
                        "the rename map is a map {{old-attr new-attr}}, got {v}"
                    )))
                }
            };
            conn.update_schema_with(schema, &SchemaUpdate { delete, rename })?;
            Ok(conn.schema().to_edn())
        }
        "clear" => {
            let name = name()?;
            no_txn_here(s, &name)?;
            conn_of(s, &name)?.clear()?;
            Ok(Edn::Bool(true))
        }
        "re-index" => {
            let name = name()?;
            no_txn_here(s, &name)?;
            let conn = conn_of(s, &name)?;
            // `nil` or no schema keeps the stored one; a schema that is not a map, or not a
            // valid one, is the store's schema error, naming what was wrong.
            let n = conn.re_index(req.opt_arg(1))?;
            Ok(Edn::Long(i64::try_from(n).unwrap_or(i64::MAX)))
        }
        "db-snapshot" => {
            let name = name()?;
            let db = conn_of(s, &name)?.db()?;
            Ok(Edn::Long(s.add_snapshot(&name, db)?))
        }
        "release-snapshot" => {
            let id = req.arg(0, "the snapshot id")?.as_long().ok_or_else(|| {
                ServerError::BadArgument(":release-snapshot takes a snapshot id".into())
            })?;
            s.snapshots
                .remove(&id)
                .map(|_| Edn::Bool(true))
                .ok_or_else(|| ServerError::NotFound(format!("no snapshot {id} in this session")))
        }
        "open-transact" => {
            let name = name()?;
            if let Some((t, _)) = &s.txn {
                return Err(ServerError::TxState(format!(
                    "this session already has a transaction open on {:?}; one at a time",
                    t.db()
                )));
            }
            let txn = conn_of(s, &name)?.begin()?;
            s.txn_aborted = None;
            s.txn = Some((
                OpenTxn::Datalog { db: name, txn },
                std::time::Instant::now(),
            ));
            Ok(Edn::Bool(true))
        }
        "close-transact" | "abort-transact" => {
            let name = name()?;
            match s.txn.take() {
                Some((OpenTxn::Datalog { db, txn }, _)) if db == name => {
                    if req.op == "abort-transact" {
                        txn.abort();
                        Ok(Edn::Bool(true))
                    } else {
                        Ok(Edn::Long(txn.commit()? as i64))
                    }
                }
                other => {
                    s.txn = other;
                    Err(ServerError::TxState(
                        s.txn_aborted.take().map(|a| a.why).unwrap_or_else(|| {
                            format!("no explicit transaction is open on {name:?} in this session")
                        }),
                    ))
                }
            }
        }
        other => Err(ServerError::UnknownOp(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use levin_datalog::Conn;
    use levin_query::Input;

    #[test]
    fn moved_results_are_what_to_edn_gives() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Conn::open(dir.path(), ()).unwrap();
        let tx = levin_edn::read(
            r#"[{:name "Ivan" :age 30} {:name "Petr" :age 20} {:name "Oleg" :age 30}
                {:name "Yuri" :age 45}]"#,
        )
        .unwrap();
        conn.transact(&tx).unwrap();
        let db = conn.db().unwrap();
        for q in [
            "[:find ?n ?a :where [?e :name ?n] [?e :age ?a]]",
            "[:find ?a :with ?e :where [?e :age ?a]]",
            "[:find ?n :where [?e :name ?n] :order-by [?n :desc]]",
            "[:find [?n ...] :where [_ :name ?n]]",
            "[:find ?n . :where [?e :name ?n] [?e :age 45]]",
            "[:find [?n ?a] :where [?e :name ?n] [?e :age ?a] [(= ?a 20)]]",
            "[:find ?n :keys name :where [_ :name ?n]]",
            "[:find ?n :where [_ :name ?n] [(= ?n \"nobody\")]]",
            "[:find ?n . :where [_ :name ?n] [(= ?n \"nobody\")]]",
            "[:find (max ?a) (count ?e) :where [?e :age ?a]]",
            "[:find ?a ?n :where [?e :age ?a] [?e :name ?n]]",
            "[:find ?n ?e :where [?e :name ?n]]",
        ] {
            let query = levin_edn::read(q).unwrap();
            let r = levin_query::q(&query, &[Input::Db(&db)]).unwrap();
            let expected = r.to_edn();
            let got = result_edn(r);
            assert_eq!(got, expected, "{q}");
            // The same order too: sets are printed in the order they hold.
            assert_eq!(got.to_string(), expected.to_string(), "{q}");
        }
    }

    #[test]
    fn rows_sort_as_values_do() {
        // Rows starting with integers (ties included), and rows that do not.
        let row = |a: Edn, b: &str| vec![a, Edn::String(b.into())];
        let cases = [
            vec![
                row(Edn::Long(3), "b"),
                row(Edn::Long(-1), "z"),
                row(Edn::Long(3), "a"),
                row(Edn::Long(i64::MIN), "m"),
                row(Edn::Long(i64::MAX), ""),
            ],
            vec![
                row(Edn::Long(2), "x"),
                row(Edn::Double(1.5), "y"),
                row(Edn::Nil, "n"),
            ],
            vec![],
        ];
        for rows in cases {
            let mut expected = rows.clone();
            expected.sort();
            let mut got = rows;
            sort_rows(&mut got);
            assert_eq!(got, expected);
        }
    }
}
