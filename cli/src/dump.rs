//! The portable text dump: a stream of EDN forms that `levin load` reads back.
//!
//! ```text
//! {:levin/dump 1}                         ; options (Datalevin's dump has its opts map here)
//! {:person/name {:db/unique :db.unique/identity}}   ; the Datalog schema ({} if none)
//! [1 :person/name "Ivan"]                 ; one datom per line, in EAV order
//! {:levin/section :kv}                    ; key-value databases, if any
//! [:db "users" :plain]
//! ["616c696365" "656e67696e656572"]      ; key and value in hex
//! ```
//!
//! The Datalog part has the shape of `dtlv dump -g`, so `levin load` also reads Datalevin's
//! Datalog dumps: their `:db/aid` schema entries and system attributes are skipped and
//! `#datalevin/bytes` base64 values become bytes.

use std::io::{BufRead, Write};
use std::path::Path;

use levin_datalog::{Conn, Index};
use levin_edn as edn;
use levin_edn::{Edn, Keyword};
use levin_engine::{Env, EnvOptions, Read};

const DATALOG_PREFIX: &str = "datalog/";
const BATCH: usize = 10_000;

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16)
                .map_err(|_| format!("{:?} at offset {i} is not hex", &s[i..i + 2]))
        })
        .collect()
}

fn has_datalog(env: &Env) -> Result<bool, String> {
    let r = env.read().map_err(|e| e.to_string())?;
    Ok(r.db_names()
        .map_err(|e| e.to_string())?
        .iter()
        .any(|n| n.starts_with(DATALOG_PREFIX)))
}

/// Writes the whole environment to `out`.
pub fn dump(dir: &Path, env: &Env, mut out: impl Write) -> Result<(), String> {
    let w = |e: std::io::Error| format!("cannot write the dump: {e}");
    writeln!(out, "{{:levin/dump 1}}").map_err(w)?;
    if has_datalog(env)? {
        let conn = Conn::open(dir, ()).map_err(|e| e.to_string())?;
        writeln!(out, "{}", conn.schema().to_edn()).map_err(w)?;
        let db = conn.db().map_err(|e| e.to_string())?;
        // EAV order groups datoms by entity; within an entity, attribute ids depend on the
        // order attributes were created, so sort by name to make the dump canonical.
        let mut entity: Vec<(String, String)> = Vec::new();
        let mut current = None;
        let write_entity = |e: u64,
                            entity: &mut Vec<(String, String)>,
                            out: &mut dyn Write|
         -> Result<(), String> {
            entity.sort();
            for (a, v) in entity.drain(..) {
                writeln!(out, "[{e} {a} {v}]").map_err(w)?;
            }
            Ok(())
        };
        let bar = crate::progress::counter("dumping datoms");
        for d in db.datoms(Index::Eav, &[]).map_err(|e| e.to_string())? {
            let d = d.map_err(|e| e.to_string())?;
            bar.inc(1);
            if current.is_some_and(|c| c != d.e) {
                write_entity(current.expect("set"), &mut entity, &mut out)?;
            }
            current = Some(d.e);
            entity.push((Edn::Keyword(d.a).to_string(), d.v.to_string()));
        }
        if let Some(e) = current {
            write_entity(e, &mut entity, &mut out)?;
        }
        bar.finish_and_clear();
    } else {
        writeln!(out, "{{}}").map_err(w)?;
    }
    let r = env.read().map_err(|e| e.to_string())?;
    let names: Vec<String> = r
        .db_names()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|n| !n.starts_with(DATALOG_PREFIX))
        .collect();
    if !names.is_empty() {
        writeln!(out, "{{:levin/section :kv}}").map_err(w)?;
    }
    for name in names {
        let db = r.open_db(&name).map_err(|e| e.to_string())?;
        writeln!(
            out,
            "[:db {} :{}]",
            Edn::String(name.clone()),
            if db.is_list() { "list" } else { "plain" }
        )
        .map_err(w)?;
        for item in r.iter(&db).map_err(|e| e.to_string())? {
            let (k, v) = item.map_err(|e| e.to_string())?;
            writeln!(out, "[\"{}\" \"{}\"]", hex(k), hex(v)).map_err(w)?;
        }
    }
    out.flush().map_err(w)
}

fn kw(ns: &str, name: &str) -> Edn {
    Edn::Keyword(Keyword::new(
        if ns.is_empty() { None } else { Some(ns) },
        name,
    ))
}

fn base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}

/// Rewrites values Datalevin prints with its own tags into Levin's forms.
fn import_value(v: Edn) -> Edn {
    match v {
        Edn::Tagged(tag, inner)
            if tag.namespace() == Some("datalevin") && tag.name() == "bytes" =>
        {
            match inner.as_str().and_then(base64) {
                Some(b) => Edn::Tagged(
                    edn::Symbol::new(None, "bytes"),
                    Box::new(Edn::String(hex(&b))),
                ),
                None => Edn::Tagged(tag, inner),
            }
        }
        other => other,
    }
}

/// The schema without Datalevin's bookkeeping (`:db/aid`) and built-in `:db/*` attributes.
fn import_schema(schema: &Edn) -> Result<Edn, String> {
    let map = schema.as_map().ok_or_else(|| {
        format!(
            "expected the schema map as the second form, found {}",
            schema.type_name()
        )
    })?;
    let mut out = Vec::new();
    for (k, props) in map {
        if k.as_keyword().is_some_and(|k| k.namespace() == Some("db")) {
            continue;
        }
        let props = match props.as_map() {
            Some(p) => Edn::Map(
                p.iter()
                    .filter(|(pk, _)| !pk.is_kw("db", "aid"))
                    .cloned()
                    .collect(),
            ),
            None => props.clone(),
        };
        out.push((k.clone(), props));
    }
    Ok(Edn::Map(out))
}

/// Loads a dump (Levin's or Datalevin's `dtlv dump -g`) into the environment at `dir`;
/// returns (datoms, key-value entries) loaded.
pub fn load(dir: &Path, input: impl BufRead) -> Result<(u64, u64), String> {
    let mut text = String::new();
    let mut input = input;
    input
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the dump: {e}"))?;
    let mut forms = edn::Reader::new(&text);
    let mut next = || -> Result<Option<(edn::Position, Edn)>, String> {
        forms.read_form().map_err(|e| format!("dump: {e}"))
    };
    let mut first = next()?.ok_or("the dump is empty")?;
    if first.1.get(&kw("datalevin", "section")).is_some() {
        first = next()?.ok_or("the dump ends after its section header")?;
    }
    if first.1.as_map().is_none() {
        return Err(format!(
            "dump: {}: expected an options map first, found {}",
            first.0,
            first.1.type_name()
        ));
    }
    let (schema_pos, schema) = next()?.ok_or("the dump ends before its schema map")?;
    let schema = import_schema(&schema).map_err(|e| format!("dump: {schema_pos}: {e}"))?;
    let mut datoms = 0u64;
    let mut entries = 0u64;
    let mut pending: Vec<Edn> = Vec::new();
    let mut conn: Option<Conn> = None;
    let open_conn = |schema: &Edn| Conn::open(dir, schema.clone()).map_err(|e| e.to_string());
    if schema.as_map().is_some_and(|m| !m.is_empty()) {
        conn = Some(open_conn(&schema)?);
    }
    let flush = |conn: &Conn, pending: &mut Vec<Edn>| -> Result<(), String> {
        if !pending.is_empty() {
            conn.transact(&Edn::Vector(std::mem::take(pending)))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    let mut kv: Option<(edn::Position, Edn)> = None;
    let bar = crate::progress::counter("loading datoms");
    while let Some((pos, form)) = next()? {
        bar.inc(1);
        if form.get(&kw("levin", "section")).is_some() {
            kv = Some((pos, form));
            break;
        }
        let items = form
            .as_vec()
            .filter(|v| v.len() == 3)
            .ok_or_else(|| format!("dump: {pos}: expected a datom [e a v], found {form}"))?;
        if items[0].as_long().is_none() || items[1].as_keyword().is_none() {
            return Err(format!(
                "dump: {pos}: expected a datom [entity-id :attribute value], found {form}"
            ));
        }
        let c = match &conn {
            Some(c) => c,
            None => conn.insert(open_conn(&schema)?),
        };
        pending.push(Edn::Vector(vec![
            kw("db", "add"),
            items[0].clone(),
            items[1].clone(),
            import_value(items[2].clone()),
        ]));
        datoms += 1;
        if pending.len() >= BATCH {
            flush(c, &mut pending).map_err(|e| format!("dump: before {pos}: {e}"))?;
        }
    }
    if let Some(c) = &conn {
        flush(c, &mut pending)?;
    }
    bar.finish_and_clear();
    drop(conn);
    if kv.is_some() {
        let env = Env::open_with(dir, EnvOptions::new()).map_err(|e| e.to_string())?;
        let mut w = env.write().map_err(|e| e.to_string())?;
        let mut db = None;
        while let Some((pos, form)) = next()? {
            let items = form
                .as_vec()
                .ok_or_else(|| format!("dump: {pos}: expected a vector, found {form}"))?;
            if items.len() == 3 && items[0].is_kw("", "db") {
                let name = items[1]
                    .as_str()
                    .ok_or_else(|| format!("dump: {pos}: database name must be a string"))?;
                if name.starts_with(DATALOG_PREFIX) {
                    return Err(format!(
                        "dump: {pos}: {name:?} is reserved for the Datalog store"
                    ));
                }
                db = Some(
                    if items[2].is_kw("", "list") {
                        w.create_list_db(name)
                    } else if items[2].is_kw("", "plain") {
                        w.create_db(name)
                    } else {
                        return Err(format!(
                            "dump: {pos}: database kind must be :plain or :list, found {}",
                            items[2]
                        ));
                    }
                    .map_err(|e| format!("dump: {pos}: {e}"))?,
                );
                continue;
            }
            let (Some(k), Some(v)) = (
                items.first().and_then(Edn::as_str),
                items.get(1).and_then(Edn::as_str),
            ) else {
                return Err(format!(
                    "dump: {pos}: expected [\"key-hex\" \"value-hex\"], found {form}"
                ));
            };
            let handle = db
                .as_ref()
                .ok_or_else(|| format!("dump: {pos}: an entry before any [:db ...] form"))?;
            let (k, v) = (
                unhex(k).map_err(|e| format!("dump: {pos}: key: {e}"))?,
                unhex(v).map_err(|e| format!("dump: {pos}: value: {e}"))?,
            );
            if handle.is_list() {
                w.put_list(handle, &k, &v).map(|_| ())
            } else {
                w.put(handle, &k, &v)
            }
            .map_err(|e| format!("dump: {pos}: {e}"))?;
            entries += 1;
        }
        w.commit().map_err(|e| e.to_string())?;
    }
    Ok((datoms, entries))
}
