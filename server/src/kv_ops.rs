//! The key-value operations, in Datalevin's vocabulary: typed keys and values (`:string`,
//! `:long`, `[:long :string]`, `:data`, ... `:data` by default), range specs, batches
//! (`[:put dbi k v kt vt]`, `[:del dbi k kt]`, `[:put-list ...]`, `[:del-list ...]`),
//! list databases, and explicit write transactions whose reads see their own writes.

use levin_codec::ValueType;
use levin_datalog::kv_typed::{decode, encode, parse_range, parse_type};
use levin_edn::Edn;
use levin_engine::{Env, Range, Read, RwTxn};

use crate::dbs::Store;
use crate::error::ServerError;
use crate::message::Request;
use crate::session::{OpenTxn, Session};

fn env_of<'a>(s: &'a Session<'_>, name: &str) -> Result<&'a Env, ServerError> {
    match s.store(name)? {
        Store::Kv(env) => Ok(env),
        Store::Datalog(_) => Err(ServerError::BadArgument(format!(
            "database {name:?} is a Datalog database; key-value operations need one opened with :open-kv"
        ))),
    }
}

fn ty(req: &Request, i: usize) -> Result<ValueType, ServerError> {
    Ok(parse_type(req.opt_arg(i).unwrap_or(&Edn::Nil))?)
}

fn dbi_arg(req: &Request, i: usize) -> Result<String, ServerError> {
    Ok(req.str_arg(i, "the sub-database name")?.to_string())
}

/// `ignore-key?` at `i`: `default` when absent.
fn flag(req: &Request, i: usize, default: bool) -> bool {
    match req.opt_arg(i) {
        Some(Edn::Bool(b)) => *b,
        _ => default,
    }
}

struct Types {
    k: ValueType,
    v: ValueType,
}

impl Types {
    fn pair(&self, k: &[u8], v: &[u8], ignore_key: bool) -> Result<Edn, ServerError> {
        let v = decode(v, &self.v)?;
        Ok(if ignore_key {
            v
        } else {
            Edn::Vector(vec![decode(k, &self.k)?, v])
        })
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

fn run(s: &mut Session<'_>, req: &Request) -> Result<Edn, ServerError> {
    let name = req.str_arg(0, "the database name")?.to_string();
    match req.op.as_str() {
        "open-kv" => {
            s.open_db(&name, crate::system::DbType::KeyValue)?;
            Ok(Edn::Map(vec![(Edn::kw("", "db-name"), Edn::String(name))]))
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
                Err(ServerError::TxState(s.txn_aborted.take().unwrap_or_else(
                    || format!("no key-value transaction is open on {name:?} in this session"),
                )))
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
                                    (k("name"), Edn::String(d.name.clone())),
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

fn refuse_internal(dbi: &str) -> Result<(), ServerError> {
    if dbi.starts_with("datalog/") {
        return Err(ServerError::BadArgument(format!(
            "{dbi:?} belongs to the Datalog layer and cannot be written as key-value data"
        )));
    }
    Ok(())
}

fn write(w: &mut RwTxn, req: &Request) -> Result<Edn, ServerError> {
    match req.op.as_str() {
        "sync" => Ok(Edn::Bool(true)),
        "open-dbi" | "open-list-dbi" => {
            let dbi = dbi_arg(req, 1)?;
            refuse_internal(&dbi)?;
            let list = req.op == "open-list-dbi";
            match w.open_db(&dbi) {
                Ok(db) if db.is_list() != list => Err(ServerError::BadArgument(format!(
                    "sub-database {dbi:?} exists and is {}a list database",
                    if db.is_list() { "" } else { "not " }
                ))),
                Ok(_) => Ok(Edn::Bool(true)),
                Err(_) => {
                    if list {
                        w.create_list_db(&dbi)?;
                    } else {
                        w.create_db(&dbi)?;
                    }
                    Ok(Edn::Bool(true))
                }
            }
        }
        "clear-dbi" | "drop-dbi" => {
            let dbi = dbi_arg(req, 1)?;
            refuse_internal(&dbi)?;
            let db = w.open_db(&dbi)?;
            if req.op == "drop-dbi" {
                w.drop_db(&db)?;
            } else {
                w.clear_db(&db)?;
            }
            Ok(Edn::Bool(true))
        }
        "transact-kv" => {
            for form in req.seq_arg(1, "the key-value transaction data")? {
                apply(w, form)?;
            }
            Ok(Edn::kw("", "transacted"))
        }
        other => Err(ServerError::UnknownOp(other.to_string())),
    }
}

/// Applies one `[:put dbi k v kt vt]` / `[:del dbi k kt]` / `[:put-list dbi k vs kt vt]` /
/// `[:del-list dbi k vs kt vt]` form.
fn apply(w: &mut RwTxn, form: &Edn) -> Result<(), ServerError> {
    let bad = |why: &str| {
        ServerError::BadArgument(format!(
            "{why} in {form}: a form is [:put dbi k v kt? vt?], [:del dbi k kt?], \
             [:put-list dbi k vs kt? vt?] or [:del-list dbi k vs kt? vt?]"
        ))
    };
    let items = form.as_seq().ok_or_else(|| bad("not a vector"))?;
    let op = items
        .first()
        .and_then(Edn::as_keyword)
        .ok_or_else(|| bad("no operation"))?;
    let dbi = items
        .get(1)
        .and_then(Edn::as_str)
        .ok_or_else(|| bad("no sub-database name"))?;
    refuse_internal(dbi)?;
    let key = items.get(2).ok_or_else(|| bad("no key"))?;
    let t = |i: usize| -> Result<ValueType, ServerError> {
        Ok(parse_type(items.get(i).unwrap_or(&Edn::Nil))?)
    };
    let db = w.open_db(dbi)?;
    match op.name() {
        "put" => {
            let v = items.get(3).ok_or_else(|| bad("no value"))?;
            let (kb, vb) = (encode(key, &t(4)?)?, encode(v, &t(5)?)?);
            w.put(&db, &kb, &vb)?;
        }
        "del" => {
            w.delete(&db, &encode(key, &t(3)?)?)?;
        }
        "put-list" | "del-list" => {
            let vs = items
                .get(3)
                .and_then(|v| v.as_seq().or_else(|| v.as_set()))
                .ok_or_else(|| bad("no vector of values"))?;
            let (kt, vt) = (t(4)?, t(5)?);
            let kb = encode(key, &kt)?;
            for v in vs {
                let vb = encode(v, &vt)?;
                if op.name() == "put-list" {
                    w.put_list(&db, &kb, &vb)?;
                } else {
                    w.delete_list(&db, &kb, &vb)?;
                }
            }
        }
        _ => return Err(bad("unknown operation")),
    }
    Ok(())
}

/// A key and its value, borrowed from the transaction.
type Pair<'t> = (&'t [u8], &'t [u8]);

fn take<'t>(
    it: impl Iterator<Item = levin_engine::Result<Pair<'t>>>,
    limit: Option<usize>,
) -> Result<Vec<Pair<'t>>, ServerError> {
    Ok(it
        .take(limit.unwrap_or(usize::MAX))
        .collect::<levin_engine::Result<Vec<_>>>()?)
}

fn read(r: &dyn Read, req: &Request) -> Result<Edn, ServerError> {
    let dbi =
        |i: usize| -> Result<levin_engine::Db, ServerError> { Ok(r.open_db(&dbi_arg(req, i)?)?) };
    let limit = req
        .opt("limit")
        .and_then(Edn::as_long)
        .map(|n| usize::try_from(n).unwrap_or(0));
    match req.op.as_str() {
        "list-dbis" => Ok(Edn::Vector(
            r.db_names()?
                .into_iter()
                .filter(|n| !n.starts_with("datalog/"))
                .map(Edn::String)
                .collect(),
        )),
        "entries" => Ok(Edn::Long(r.len(&dbi(1)?)? as i64)),
        "get-value" => {
            // [db dbi k kt vt ignore-key?]
            let types = Types {
                k: ty(req, 3)?,
                v: ty(req, 4)?,
            };
            let kb = encode(req.arg(2, "the key")?, &types.k)?;
            match r.get(&dbi(1)?, &kb)? {
                Some(v) => types.pair(&kb, v, flag(req, 5, true)),
                None => Ok(Edn::Nil),
            }
        }
        "get-first" | "get-first-n" | "get-range" | "key-range" => {
            // get-first [db dbi range kt vt ignore-key?]; get-first-n [db dbi n range kt vt
            // ignore-key?]; get-range [db dbi range kt vt ignore-key?]; key-range [db dbi
            // range kt].
            let shift = usize::from(req.op == "get-first-n");
            let types = Types {
                k: ty(req, 3 + shift)?,
                v: ty(req, 4 + shift)?,
            };
            let range = parse_range(req.arg(2 + shift, "the range")?, &types.k)?;
            let n = match req.op.as_str() {
                "get-first" => Some(1),
                "get-first-n" => Some(req.count_arg(2, "the count")?.unwrap_or(1) as usize),
                _ => limit,
            };
            let pairs = take(r.range(&dbi(1)?, range)?, n)?;
            if req.op == "key-range" {
                return Ok(Edn::Vector(
                    pairs
                        .iter()
                        .map(|(k, _)| decode(k, &types.k))
                        .collect::<Result<_, _>>()?,
                ));
            }
            let ignore_key = flag(req, 5 + shift, false);
            let items: Vec<Edn> = pairs
                .iter()
                .map(|(k, v)| types.pair(k, v, ignore_key))
                .collect::<Result<_, _>>()?;
            if req.op == "get-first" {
                return Ok(items.into_iter().next().unwrap_or(Edn::Nil));
            }
            Ok(Edn::Vector(items))
        }
        "range-count" | "key-range-count" => {
            let kt = ty(req, 3)?;
            let range = parse_range(req.arg(2, "the range")?, &kt)?;
            Ok(Edn::Long(r.count(&dbi(1)?, &range)? as i64))
        }
        "get-rank" => {
            let kt = ty(req, 3)?;
            let kb = encode(req.arg(2, "the key")?, &kt)?;
            Ok(r.rank(&dbi(1)?, &kb)?
                .map_or(Edn::Nil, |n| Edn::Long(n as i64)))
        }
        "get-by-rank" => {
            let types = Types {
                k: ty(req, 3)?,
                v: ty(req, 4)?,
            };
            let rank = req.count_arg(2, "the rank")?.unwrap_or(0);
            match r.get_by_rank(&dbi(1)?, rank)? {
                Some((k, v)) => types.pair(k, v, flag(req, 5, false)),
                None => Ok(Edn::Nil),
            }
        }
        "sample-kv" => {
            let types = Types {
                k: ty(req, 3)?,
                v: ty(req, 4)?,
            };
            let n = req.count_arg(2, "the sample size")?.unwrap_or(1) as usize;
            let seed = req.opt("seed").and_then(Edn::as_long).unwrap_or(0) as u64;
            let ignore_key = flag(req, 5, false);
            Ok(Edn::Vector(
                r.sample(&dbi(1)?, n, seed)?
                    .iter()
                    .map(|(k, v)| types.pair(k, v, ignore_key))
                    .collect::<Result<_, _>>()?,
            ))
        }
        "get-list" => {
            // [db dbi k kt vt]
            let types = Types {
                k: ty(req, 3)?,
                v: ty(req, 4)?,
            };
            let kb = encode(req.arg(2, "the key")?, &types.k)?;
            Ok(Edn::Vector(
                take(r.list(&dbi(1)?, &kb)?, limit)?
                    .iter()
                    .map(|(_, v)| decode(v, &types.v))
                    .collect::<Result<_, _>>()?,
            ))
        }
        "list-count" => {
            let kb = encode(req.arg(2, "the key")?, &ty(req, 3)?)?;
            Ok(Edn::Long(r.list_count(&dbi(1)?, &kb)? as i64))
        }
        "in-list?" => {
            // [db dbi k v kt vt]
            let kb = encode(req.arg(2, "the key")?, &ty(req, 4)?)?;
            let vb = encode(req.arg(3, "the value")?, &ty(req, 5)?)?;
            Ok(Edn::Bool(r.in_list(&dbi(1)?, &kb, &vb)?))
        }
        "list-range" | "list-range-count" => {
            // [db dbi k-range kt v-range vt]
            let types = Types {
                k: ty(req, 3)?,
                v: ty(req, 5)?,
            };
            let keys = parse_range(req.arg(2, "the key range")?, &types.k)?;
            let values = match req.opt_arg(4) {
                Some(spec) => parse_range(spec, &types.v)?,
                None => Range::all(),
            };
            let it = r.list_range(&dbi(1)?, keys, values)?;
            if req.op == "list-range-count" {
                return Ok(Edn::Long(take(it, None)?.len() as i64));
            }
            Ok(Edn::Vector(
                take(it, limit)?
                    .iter()
                    .map(|(k, v)| types.pair(k, v, false))
                    .collect::<Result<_, _>>()?,
            ))
        }
        other => Err(ServerError::UnknownOp(other.to_string())),
    }
}
