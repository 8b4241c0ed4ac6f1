//! The key-value vars: stores, sub-databases (plain and list), typed reads and writes in
//! Datalevin's vocabulary (through `levin_datalog::kv_typed`), and explicit write
//! transactions whose reads see their own writes.

use std::collections::BTreeSet;

use levin_datalog::kv_typed::{self, KvArgs, ReadOpts};
use levin_edn::Edn;
use levin_engine::{Durability, Env, EnvOptions, Read, RwTxn};

use crate::error::PodError;
use crate::state::{handle_arg, new_id, Handle, Kind, KvEntry, State};

type Res<T> = Result<T, PodError>;

fn k(n: &str) -> Edn {
    Edn::kw("", n)
}

fn bad(msg: impl Into<String>) -> PodError {
    PodError::BadArgument(msg.into())
}

fn arg(args: &[Edn], i: usize) -> &Edn {
    args.get(i).unwrap_or(&Edn::Nil)
}

fn keywords(v: Option<&Edn>, what: &str) -> Res<Vec<String>> {
    match v.filter(|v| !v.is_nil()) {
        None => Ok(vec![]),
        Some(v) => v
            .as_seq()
            .or_else(|| v.as_set())
            .ok_or_else(|| bad(format!("{what} are a set of keywords, got {v}")))?
            .iter()
            .map(|f| {
                f.as_keyword()
                    .map(|k| k.name().to_string())
                    .ok_or_else(|| bad(format!("{what}: {f} is not a keyword")))
            })
            .collect(),
    }
}

fn durability(flags: &BTreeSet<String>) -> Durability {
    if flags.contains("nosync") {
        Durability::NoSync
    } else if flags.contains("nometasync") {
        Durability::NoMetaSync
    } else {
        Durability::Durable
    }
}

impl State {
    fn kv_entry(&self, h: Handle, v: &Edn) -> Res<&KvEntry> {
        self.kvs
            .get(&h.id)
            .ok_or_else(|| State::no_handle(Kind::Kv, v))
    }

    /// Runs `f` on what the handle reads: its explicit transaction when writing, else the
    /// latest commit.
    fn kv_read<T>(&self, args: &[Edn], var: &str, f: impl FnOnce(&dyn Read) -> Res<T>) -> Res<T> {
        let h = handle_arg(args, 0, &[Kind::Kv], var)?;
        let e = self.kv_entry(h, &args[0])?;
        if h.writing {
            let t = e.txn.as_ref().ok_or_else(|| no_txn(var))?;
            return f(t);
        }
        let r = e.env.read()?;
        f(&r)
    }

    /// Runs `f` in the handle's explicit transaction when writing, else in a write
    /// transaction of its own, committed when `f` succeeds.
    fn kv_write<T>(
        &mut self,
        args: &[Edn],
        var: &str,
        f: impl FnOnce(&mut RwTxn) -> Res<T>,
    ) -> Res<T> {
        let h = handle_arg(args, 0, &[Kind::Kv], var)?;
        let timeout = self.writer_timeout;
        if h.writing {
            let e = self
                .kvs
                .get_mut(&h.id)
                .ok_or_else(|| State::no_handle(Kind::Kv, &args[0]))?;
            let t = e.txn.as_mut().ok_or_else(|| no_txn(var))?;
            return f(t);
        }
        let e = self.kv_entry(h, &args[0])?;
        self.check_writable(&e.env)?;
        let mut t = e.env.write_timeout(timeout)?;
        let out = f(&mut t)?;
        t.commit()?;
        Ok(out)
    }
}

fn no_txn(var: &str) -> PodError {
    PodError::TxState(format!(
        "{var}: no explicit transaction is open on this handle (it was closed or aborted)"
    ))
}

/// `transact-kv`'s writes: `[kv txs]` with whole forms, or `[kv dbi txs kt vt]` with forms
/// `[:put k v flags?]`, `[:del k]`, `[:put-list k vs]`, `[:del-list k vs]`.
fn kv_forms(args: &[Edn]) -> Res<Vec<Edn>> {
    if args.len() <= 2 {
        let txs = arg(args, 1);
        return Ok(txs
            .as_seq()
            .ok_or_else(|| {
                bad(format!(
                    "transact-kv takes a vector of write forms, got {txs}"
                ))
            })?
            .to_vec());
    }
    let dbi = arg(args, 1).clone();
    let txs = arg(args, 2);
    let (kt, vt) = (arg(args, 3).clone(), arg(args, 4).clone());
    txs.as_seq()
        .ok_or_else(|| {
            bad(format!(
                "transact-kv takes a vector of write forms, got {txs}"
            ))
        })?
        .iter()
        .map(|f| {
            let items = f
                .as_seq()
                .ok_or_else(|| bad(format!("a write form is a vector, got {f}")))?;
            let op = items.first().cloned().unwrap_or(Edn::Nil);
            let rest = items.get(1..).unwrap_or(&[]);
            let mut out = vec![op.clone(), dbi.clone()];
            match op.as_keyword().map(|k| k.name()) {
                Some("put") => {
                    out.extend(rest.iter().take(2).cloned());
                    out.extend([kt.clone(), vt.clone()]);
                    out.extend(rest.get(2).cloned());
                }
                Some("del") => {
                    out.extend(rest.iter().take(1).cloned());
                    out.push(kt.clone());
                }
                _ => {
                    out.extend(rest.iter().take(2).cloned());
                    out.extend([kt.clone(), vt.clone()]);
                }
            }
            Ok(Edn::Vector(out))
        })
        .collect()
}

/// Runs the key-value var `var`; `None` if it is not one.
pub fn call(s: &mut State, var: &str, args: &[Edn]) -> Option<Res<Edn>> {
    let known = kv_typed::READ_OPS.contains(&var)
        || matches!(
            var,
            "open-kv"
                | "close-kv"
                | "closed-kv?"
                | "dir"
                | "open-dbi"
                | "open-list-dbi"
                | "clear-dbi"
                | "drop-dbi"
                | "copy"
                | "stat"
                | "sync"
                | "get-env-flags"
                | "set-env-flags"
                | "open-transact-kv"
                | "close-transact-kv"
                | "abort-transact-kv"
                | "transact-kv"
                | "transact-kv-async*"
                | "put-list-items"
                | "del-list-items"
        );
    known.then(|| run(s, var, args))
}

fn run(s: &mut State, var: &str, args: &[Edn]) -> Res<Edn> {
    if kv_typed::READ_OPS.contains(&var) {
        s.seed = s
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let opts = ReadOpts {
            limit: None,
            seed: s.seed,
        };
        let a = KvArgs { op: var, args };
        return s.kv_read(args, var, |r| Ok(kv_typed::read_op(r, &a, &opts)?));
    }
    match var {
        "open-kv" => {
            let dir = arg(args, 0).as_str().ok_or_else(|| {
                bad(format!(
                    "open-kv needs the directory (a string), got {}",
                    arg(args, 0)
                ))
            })?;
            let o = args.get(1).filter(|v| !v.is_nil());
            if let Some(o) = o {
                if o.as_map().is_none() {
                    return Err(bad(format!("open-kv's options are a map, got {o}")));
                }
            }
            let flags: BTreeSet<String> =
                keywords(o.and_then(|o| o.get(&k("flags"))), "the flags")?
                    .into_iter()
                    .collect();
            let mut opts = EnvOptions::new()
                .durability(durability(&flags))
                .read_only(flags.contains("rdonly-env"));
            if let Some(n) = o
                .and_then(|o| o.get(&k("max-readers")))
                .and_then(Edn::as_long)
            {
                opts = opts.max_readers(usize::try_from(n).unwrap_or(1).max(1));
            }
            let env = Env::open_with(dir, opts)?;
            let mut shown: BTreeSet<String> = flags;
            shown.insert("nordahead".into());
            let id = new_id();
            s.kvs.insert(
                id,
                KvEntry {
                    env,
                    txn: None,
                    flags: shown,
                },
            );
            Ok(Handle {
                kind: Kind::Kv,
                id,
                writing: false,
            }
            .to_edn())
        }
        "close-kv" => {
            let h = handle_arg(args, 0, &[Kind::Kv], var)?;
            match s.kvs.remove(&h.id) {
                Some(mut e) => {
                    if let Some(t) = e.txn.take() {
                        s.set_writer(&e.env, false);
                        t.abort();
                    }
                    s.closed.insert(h.id);
                    Ok(Edn::Nil)
                }
                None if s.closed.contains(&h.id) => Ok(Edn::Nil),
                None => Err(State::no_handle(Kind::Kv, &args[0])),
            }
        }
        "closed-kv?" => {
            let h = handle_arg(args, 0, &[Kind::Kv], var)?;
            if s.kvs.contains_key(&h.id) {
                Ok(Edn::Bool(false))
            } else if s.closed.contains(&h.id) {
                Ok(Edn::Bool(true))
            } else {
                Err(State::no_handle(Kind::Kv, &args[0]))
            }
        }
        "dir" => {
            let h = handle_arg(args, 0, &[Kind::Kv], var)?;
            let e = s.kv_entry(h, &args[0])?;
            Ok(Edn::String(e.env.path().display().to_string().into()))
        }
        "open-dbi" | "open-list-dbi" => {
            let dbi = arg(args, 1)
                .as_str()
                .ok_or_else(|| {
                    bad(format!(
                        "{var} needs the sub-database name (a string), got {}",
                        arg(args, 1)
                    ))
                })?
                .to_string();
            let opts = args.get(2).filter(|v| !v.is_nil());
            let flags = keywords(opts.and_then(|o| o.get(&k("flags"))), "the flags")?;
            let list = var == "open-list-dbi" || flags.iter().any(|f| f == "dupsort");
            s.kv_write(args, var, |w| Ok(kv_typed::open_dbi(w, &dbi, list)?))?;
            Ok(Edn::Nil)
        }
        "clear-dbi" | "drop-dbi" => {
            let dbi = arg(args, 1)
                .as_str()
                .ok_or_else(|| {
                    bad(format!(
                        "{var} needs the sub-database name (a string), got {}",
                        arg(args, 1)
                    ))
                })?
                .to_string();
            s.kv_write(args, var, |w| {
                Ok(kv_typed::clear_dbi(w, &dbi, var == "drop-dbi")?)
            })?;
            Ok(Edn::Nil)
        }
        "transact-kv" | "transact-kv-async*" => {
            let forms = kv_forms(args)?;
            s.kv_write(args, var, |w| {
                for f in &forms {
                    kv_typed::apply_form(w, f)?;
                }
                Ok(())
            })?;
            Ok(Edn::kw("", "transacted"))
        }
        "put-list-items" | "del-list-items" => {
            // put-list-items [kv dbi k vs kt vt]; del-list-items [kv dbi k kt] (the whole
            // list) or [kv dbi k vs kt vt].
            let whole = var == "del-list-items" && args.len() <= 4;
            let form = if whole {
                vec![
                    Edn::kw("", "del"),
                    arg(args, 1).clone(),
                    arg(args, 2).clone(),
                    arg(args, 3).clone(),
                ]
            } else {
                vec![
                    Edn::kw(
                        "",
                        if var == "put-list-items" {
                            "put-list"
                        } else {
                            "del-list"
                        },
                    ),
                    arg(args, 1).clone(),
                    arg(args, 2).clone(),
                    arg(args, 3).clone(),
                    arg(args, 4).clone(),
                    arg(args, 5).clone(),
                ]
            };
            let form = Edn::Vector(form);
            s.kv_write(args, var, |w| Ok(kv_typed::apply_form(w, &form)?))?;
            Ok(Edn::Nil)
        }
        "open-transact-kv" => {
            let h = handle_arg(args, 0, &[Kind::Kv], var)?;
            let e = s.kv_entry(h, &args[0])?;
            if h.writing || e.txn.is_some() {
                return Err(PodError::TxState(
                    "open-transact-kv: this store already has an explicit transaction open".into(),
                ));
            }
            s.check_writable(&e.env)?;
            let t = e.env.write_timeout(s.writer_timeout)?;
            let env = e.env.clone();
            s.set_writer(&env, true);
            if let Some(e) = s.kvs.get_mut(&h.id) {
                e.txn = Some(t);
            }
            Ok(h.writing().to_edn())
        }
        "close-transact-kv" | "abort-transact-kv" => {
            let h = handle_arg(args, 0, &[Kind::Kv], var)?;
            let e = s
                .kvs
                .get_mut(&h.id)
                .ok_or_else(|| State::no_handle(Kind::Kv, &args[0]))?;
            let Some(t) = e.txn.take() else {
                return Ok(Edn::Nil);
            };
            let env = e.env.clone();
            s.set_writer(&env, false);
            if var == "abort-transact-kv" {
                t.abort();
            } else {
                t.commit()?;
            }
            Ok(Edn::Nil)
        }
        "copy" => {
            let h = handle_arg(args, 0, &[Kind::Kv], var)?;
            let dest = arg(args, 1).as_str().ok_or_else(|| {
                bad(format!(
                    "copy needs the destination directory (a string), got {}",
                    arg(args, 1)
                ))
            })?;
            let compact = matches!(args.get(2), Some(Edn::Bool(true)));
            s.kv_entry(h, &args[0])?.env.copy_to(dest, compact)?;
            Ok(Edn::Nil)
        }
        "sync" => {
            let h = handle_arg(args, 0, &[Kind::Kv], var)?;
            s.kv_entry(h, &args[0])?.env.sync()?;
            Ok(Edn::Nil)
        }
        "stat" => {
            let h = handle_arg(args, 0, &[Kind::Kv], var)?;
            let e = s.kv_entry(h, &args[0])?;
            let st = e.env.stat()?;
            let dbs: Vec<_> = match args.get(1).filter(|v| !v.is_nil()) {
                Some(name) => {
                    let name = name.as_str().ok_or_else(|| {
                        bad(format!("stat: a sub-database name is a string, got {name}"))
                    })?;
                    let d = st
                        .databases
                        .iter()
                        .find(|d| d.name == name)
                        .ok_or_else(|| bad(format!("stat: no sub-database {name:?}")))?;
                    vec![d]
                }
                None => st
                    .databases
                    .iter()
                    .filter(|d| !d.name.starts_with("datalog/"))
                    .collect(),
            };
            let sum = |f: fn(&levin_engine::DbStat) -> u64| {
                Edn::Long(dbs.iter().map(|d| f(d)).sum::<u64>() as i64)
            };
            let entries = if args.len() > 1 {
                sum(|d| d.entries)
            } else {
                Edn::Long(dbs.len() as i64)
            };
            Ok(Edn::Map(vec![
                (k("psize"), Edn::Long(st.page_size as i64)),
                (
                    k("depth"),
                    Edn::Long(dbs.iter().map(|d| d.depth).max().unwrap_or(0) as i64),
                ),
                (k("branch-pages"), sum(|d| d.branch_pages)),
                (k("leaf-pages"), sum(|d| d.leaf_pages)),
                (k("overflow-pages"), sum(|d| d.overflow_pages)),
                (k("entries"), entries),
            ]))
        }
        "get-env-flags" => {
            let h = handle_arg(args, 0, &[Kind::Kv], var)?;
            let e = s.kv_entry(h, &args[0])?;
            Ok(Edn::Set(e.flags.iter().map(|f| Edn::kw("", f)).collect()))
        }
        "set-env-flags" => {
            let h = handle_arg(args, 0, &[Kind::Kv], var)?;
            let ks = keywords(args.get(1), "the flags")?;
            let on = !matches!(args.get(2), Some(Edn::Bool(false)) | Some(Edn::Nil) | None);
            let e = s
                .kvs
                .get_mut(&h.id)
                .ok_or_else(|| State::no_handle(Kind::Kv, &args[0]))?;
            for f in ks {
                if on {
                    e.flags.insert(f);
                } else {
                    e.flags.remove(&f);
                }
            }
            e.env.set_durability(durability(&e.flags));
            Ok(Edn::Nil)
        }
        other => Err(PodError::UnknownVar(other.to_string())),
    }
}
