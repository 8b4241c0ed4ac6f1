//! The key-value operations, in Datalevin's vocabulary: typed keys and values (`:string`,
//! `:long`, `[:long :string]`, `:data`, ... `:data` by default), range specs, batches
//! (`[:put dbi k v kt vt]`, `[:del dbi k kt]`, `[:put-list ...]`, `[:del-list ...]`),
//! list databases, and explicit write transactions whose reads see their own writes.

use levin_datalog::kv_typed::{self, KvArgs, ReadOpts};
use levin_edn::Edn;
use levin_engine::{Env, Read, RwTxn};

use crate::dbs::Store;
use crate::error::ServerError;
use crate::message::Request;
use crate::session::{OpenTxn, Session, STREAM_BATCH};
use crate::stream::{self, Frames, StreamError};

fn env_of<'a>(s: &'a Session<'_>, name: &str) -> Result<&'a Env, ServerError> {
    match s.store(name)? {
        Store::Kv(env) => Ok(env),
        Store::Datalog(_) => Err(ServerError::BadArgument(format!(
            "database {name:?} is a Datalog database; key-value operations need one opened with :open-kv"
        ))),
    }
}

/// Handles the key-value operations; `None` for any other.
pub(crate) fn handle(s: &mut Session<'_>, req: &Request) -> Option<Result<Edn, ServerError>> {
    let known = matches!(
        req.op.as_str(),
        "open-kv"
            | "close-kv"
            | "open-dbi"
            | "open-list-dbi"
            | "clear-dbi"
            | "drop-dbi"
            | "list-dbis"
            | "stat"
            | "entries"
            | "sync"
            | "transact-kv"
            | "get-value"
            | "get-first"
            | "get-first-n"
            | "get-range"
            | "key-range"
            | "range-count"
            | "key-range-count"
            | "get-rank"
            | "get-by-rank"
            | "sample-kv"
            | "get-list"
            | "list-count"
            | "in-list?"
            | "list-range"
            | "list-range-count"
            | "open-transact-kv"
            | "close-transact-kv"
            | "abort-transact-kv"
    );
    known.then(|| run(s, req))
}

/// Answers one of the key-value reads whose result is as long as a range or a list
/// ([`kv_typed::COUNTED_OPS`]): counted and read in one transaction (the session's
/// explicit one on the database, so that it sees its own writes, or a fresh snapshot), its
/// items sent as they are decoded.
pub(crate) fn stream(
    s: &Session<'_>,
    req: &Request,
    send: &mut Frames<'_>,
) -> Result<(), StreamError> {
    let name = req.str_arg(0, "the database name")?;
    if let Some((OpenTxn::Kv { db, txn }, _)) = &s.txn {
        if db == name {
            return send_counted(txn, req, send);
        }
    }
    let r = env_of(s, name)?.read()?;
    send_counted(&r, req, send)
}

fn send_counted(r: &dyn Read, req: &Request, send: &mut Frames<'_>) -> Result<(), StreamError> {
    let a = KvArgs {
        op: &req.op,
        args: &req.args,
    };
    let counted = kv_typed::read_counted(r, &a, &read_opts(req))?;
    let items = counted.items.map(|x| x.map_err(ServerError::from));
    stream::send_items(send, req.id, counted.count, items, STREAM_BATCH)
}

fn run(s: &mut Session<'_>, req: &Request) -> Result<Edn, ServerError> {
    let name = req.str_arg(0, "the database name")?.to_string();
    match req.op.as_str() {
        "open-kv" => {
            s.open_db(&name, crate::system::DbType::KeyValue)?;
            Ok(Edn::Map(vec![(Edn::kw("", "db-name"), Edn::string(name))]))
        }
        "close-kv" => {
            s.close_db(&name)?;
            Ok(Edn::Bool(true))
        }
        "open-transact-kv" => {
            if let Some((t, _)) = &s.txn {
                return Err(ServerError::TxState(format!(
                    "this session already has a transaction open on {:?}; one at a time",
                    t.db()
                )));
            }
            let env = env_of(s, &name)?;
            let txn = env.write_timeout(s.shared.config.writer_timeout)?;
            s.txn_aborted = None;
            s.txn = Some((OpenTxn::Kv { db: name, txn }, std::time::Instant::now()));
            Ok(Edn::Bool(true))
        }
        "close-transact-kv" | "abort-transact-kv" => match s.txn.take() {
            Some((OpenTxn::Kv { db, txn }, _)) if db == name => {
                if req.op == "abort-transact-kv" {
                    txn.abort();
                } else {
                    txn.commit()?;
                }
                Ok(Edn::Bool(true))
            }
            other => {
                s.txn = other;
                Err(ServerError::TxState(
                    s.txn_aborted.take().map(|a| a.why).unwrap_or_else(|| {
                        format!("no key-value transaction is open on {name:?} in this session")
                    }),
                ))
            }
        },
        op if is_write(op) => {
            // Inside an explicit transaction on this database, write there; otherwise in
            // a transaction of its own.
            if let Some((OpenTxn::Kv { db, txn }, _)) = &mut s.txn {
                if *db == name {
                    return write(txn, req);
                }
            }
            let env = env_of(s, &name)?;
            let mut txn = env.write_timeout(s.shared.config.writer_timeout)?;
            let out = write(&mut txn, req)?;
            if req.op == "sync" {
                drop(txn);
                env.sync()?;
                return Ok(out);
            }
            txn.commit()?;
            Ok(out)
        }
        "stat" => {
            let env = s.store(&name)?.env();
            let st = env.stat()?;
            let k = |n: &str| Edn::kw("", n);
            Ok(Edn::Map(vec![
                (k("page-size"), Edn::Long(st.page_size as i64)),
                (k("txn-id"), Edn::Long(st.txn_id as i64)),
                (k("pages"), Edn::Long(st.pages as i64)),
                (k("free-pages"), Edn::Long(st.free_pages as i64)),
                (k("file-size"), Edn::Long(st.file_size as i64)),
                (
                    k("dbis"),
                    Edn::Vector(
                        st.databases
                            .iter()
                            .map(|d| {
                                Edn::Map(vec![
                                    (k("name"), Edn::string(d.name.clone())),
                                    (k("list?"), Edn::Bool(d.list)),
                                    (k("entries"), Edn::Long(d.entries as i64)),
                                ])
                            })
                            .collect(),
                    ),
                ),
            ]))
        }
        _ => {
            if let Some((OpenTxn::Kv { db, txn }, _)) = &s.txn {
                if *db == name {
                    return read(txn, req);
                }
            }
            let r = env_of(s, &name)?.read()?;
            read(&r, req)
        }
    }
}

fn is_write(op: &str) -> bool {
    matches!(
        op,
        "open-dbi" | "open-list-dbi" | "clear-dbi" | "drop-dbi" | "transact-kv" | "sync"
    )
}

fn write(w: &mut RwTxn, req: &Request) -> Result<Edn, ServerError> {
    let a = KvArgs {
        op: &req.op,
        args: &req.args,
    };
    match req.op.as_str() {
        "sync" => Ok(Edn::Bool(true)),
        "open-dbi" | "open-list-dbi" => {
            kv_typed::open_dbi(w, a.dbi(1)?, req.op == "open-list-dbi")?;
            Ok(Edn::Bool(true))
        }
        "clear-dbi" | "drop-dbi" => {
            kv_typed::clear_dbi(w, a.dbi(1)?, req.op == "drop-dbi")?;
            Ok(Edn::Bool(true))
        }
        "transact-kv" => {
            for form in req.seq_arg(1, "the key-value transaction data")? {
                kv_typed::apply_form(w, form)?;
            }
            Ok(Edn::kw("", "transacted"))
        }
        other => Err(ServerError::UnknownOp(other.to_string())),
    }
}

fn read(r: &dyn Read, req: &Request) -> Result<Edn, ServerError> {
    let a = KvArgs {
        op: &req.op,
        args: &req.args,
    };
    if !kv_typed::READ_OPS.contains(&req.op.as_str()) {
        return Err(ServerError::UnknownOp(req.op.clone()));
    }
    Ok(kv_typed::read_op(r, &a, &read_opts(req))?)
}

/// The named options of a key-value read.
fn read_opts(req: &Request) -> ReadOpts {
    ReadOpts {
        limit: req
            .opt("limit")
            .and_then(Edn::as_long)
            .map(|n| usize::try_from(n).unwrap_or(0)),
        seed: req.opt("seed").and_then(Edn::as_long).unwrap_or(0) as u64,
    }
}
