//! The portable text dump: a stream of EDN forms that `levin load` reads back.
//!
//! ```text
//! {:levin/dump 2, :closed-schema? false, :auto-entity-time? false}   ; options
//!                                         ; (Datalevin's dump has its opts map here)
//! {:person/name {:db/unique :db.unique/identity}}   ; the Datalog schema ({} if none)
//! [1 :person/name "Ivan"]                 ; one datom per line, in EAV order
//! {:levin/section :kv}                    ; key-value databases, if any
//! [:db "users" :plain]
//! ["616c696365" "656e67696e656572"]      ; key and value in hex
//! {:levin/end {:datoms 1 :entries 1}}     ; the end marker: a dump without it was cut short
//! ```
//!
//! The Datalog part has the shape of `dtlv dump -g`, so `levin load` also reads Datalevin's
//! Datalog dumps: their `:db/aid` schema entries and system attributes are skipped and
//! `#datalevin/bytes` base64 values become bytes. It reads version 1 dumps (no end marker,
//! so a cut at a line boundary goes unnoticed) and refuses versions it does not know.
//!
//! `levin load` also reads Datalevin's key-value dumps (`dtlv dump DBI` / `dtlv dump -a`):
//! `{:dbi "name" :entries n :opts {...}}` headers each followed by `["key" "value"]` pairs
//! in base64; the bytes (Datalevin's encodings) are stored as they are.
//!
//! A load is one transaction: all of it or nothing. Datoms of composite tuple attributes
//! (`:db/tupleAttrs`) are not written: the store derives them from their parts.

use std::io::{BufRead, Write};
use std::path::Path;

use levin_datalog::{Conn, Index, StoreOptions};
use levin_edn as edn;
use levin_edn::{Edn, Keyword};
use levin_engine::{Env, EnvOptions, Read};

use super::error::{At, CliError, Context, Result, ResultExt, Undone};

const DATALOG_PREFIX: &str = "datalog/";
const BATCH: usize = 10_000;
/// The dump version `dump` writes.
const VERSION: i64 = 2;

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The bytes of the hex text `s`, the dump form at `pos`'s `what` (key or value).
fn unhex(s: &str, pos: &edn::Position, what: &str) -> Result<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16);
    let b = s.as_bytes();
    if let Some(i) = b.iter().position(|c| digit(*c).is_none()) {
        return Err(CliError::dump(
            *pos,
            format!(
                "{what}: {:?} at byte offset {i} is not a hex digit",
                String::from_utf8_lossy(&b[i..(i + 4).min(b.len())])
                    .chars()
                    .next()
                    .unwrap_or('?')
            ),
        ));
    }
    if !b.len().is_multiple_of(2) {
        return Err(CliError::dump(
            *pos,
            format!("{what}: odd number of hex digits"),
        ));
    }
    Ok(b.chunks(2)
        .map(|p| (digit(p[0]).unwrap_or(0) * 16 + digit(p[1]).unwrap_or(0)) as u8)
        .collect())
}

fn has_datalog(env: &Env) -> Result<bool> {
    let r = env.read()?;
    Ok(r.db_names()?.iter().any(|n| n.starts_with(DATALOG_PREFIX)))
}

/// Writes datoms given in EAV order as dump lines, each entity's sorted by attribute name
/// (attribute ids depend on the order attributes were created, so this makes the dump
/// canonical); returns how many.
fn write_datoms(
    datoms: impl Iterator<Item = Result<levin_datalog::Datom>>,
    out: &mut impl Write,
) -> Result<u64> {
    let w = |e: std::io::Error| super::output::write_error("the dump", e);
    let mut n = 0u64;
    let mut entity: Vec<(String, String)> = Vec::new();
    let mut current = None;
    let mut flush = |e: u64, entity: &mut Vec<(String, String)>| -> Result<()> {
        entity.sort();
        for (a, v) in entity.drain(..) {
            writeln!(out, "[{e} {a} {v}]").map_err(w)?;
        }
        Ok(())
    };
    for d in datoms {
        let d = d?;
        n += 1;
        if let Some(c) = current.filter(|c| *c != d.e) {
            flush(c, &mut entity)?;
        }
        current = Some(d.e);
        entity.push((Edn::Keyword(d.a).to_string(), d.v.to_string()));
    }
    if let Some(e) = current {
        flush(e, &mut entity)?;
    }
    Ok(n)
}

/// A Datalog dump's first line: the version and the database's stored options, under
/// Datalevin's names (`{:levin/dump 2 :closed-schema? false :auto-entity-time? false}`).
fn options_line(options: StoreOptions) -> String {
    let mut pairs = vec![(kw("levin", "dump"), Edn::Long(VERSION))];
    if let Edn::Map(opts) = options.to_edn() {
        pairs.extend(opts);
    }
    Edn::Map(pairs).to_string()
}

/// Writes the Datalog database behind `conn` (embedded or remote) as a dump: the schema
/// and every datom, no key-value section.
pub fn dump_connection<C: levin_query::Connection>(conn: &C, mut out: impl Write) -> Result<()>
where
    CliError: From<C::Error>,
{
    let w = |e: std::io::Error| super::output::write_error("the dump", e);
    writeln!(out, "{}", options_line(conn.options()?)).map_err(w)?;
    let schema = conn.schema()?;
    writeln!(out, "{}", schema.to_edn()).map_err(w)?;
    let all = conn.datoms(Index::Eav, &[], None)?;
    let datoms = write_datoms(all.into_iter().map(Ok), &mut out)?;
    writeln!(out, "{{:levin/end {{:datoms {datoms} :entries 0}}}}").map_err(w)?;
    out.flush().map_err(w)
}

/// Writes the whole environment to `out`.
pub fn dump(dir: &Path, env: &Env, mut out: impl Write) -> Result<()> {
    let w = |e: std::io::Error| super::output::write_error("the dump", e);
    let (mut datoms, mut entries) = (0u64, 0u64);
    if has_datalog(env)? {
        let conn = Conn::open_read_only(dir)?;
        writeln!(out, "{}", options_line(conn.options()?)).map_err(w)?;
        writeln!(out, "{}", conn.schema().to_edn()).map_err(w)?;
        let db = conn.db()?;
        let bar = super::progress::counter("dumping datoms");
        let all = db
            .datoms(Index::Eav, &[])?
            .map(|d| d.map_err(CliError::from))
            .inspect(|_| bar.inc(1));
        datoms = write_datoms(all, &mut out)?;
        bar.finish_and_clear();
    } else {
        writeln!(out, "{{:levin/dump {VERSION}}}").map_err(w)?;
        writeln!(out, "{{}}").map_err(w)?;
    }
    let r = env.read()?;
    let names: Vec<String> = r
        .db_names()?
        .into_iter()
        .filter(|n| !n.starts_with(DATALOG_PREFIX))
        .collect();
    if !names.is_empty() {
        writeln!(out, "{{:levin/section :kv}}").map_err(w)?;
    }
    for name in names {
        let db = r.open_db(&name)?;
        writeln!(
            out,
            "[:db {} :{}]",
            Edn::String(name.clone().into()),
            if db.is_list() { "list" } else { "plain" }
        )
        .map_err(w)?;
        for item in r.iter(&db)? {
            let (k, v) = item?;
            writeln!(out, "[\"{}\" \"{}\"]", hex(k), hex(v)).map_err(w)?;
            entries += 1;
        }
    }
    writeln!(
        out,
        "{{:levin/end {{:datoms {datoms} :entries {entries}}}}}"
    )
    .map_err(w)?;
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
        Edn::Tagged(t) if t.0.is("datalevin", "bytes") => match t.1.as_str().and_then(base64) {
            Some(b) => Edn::tagged(edn::Symbol::new(None, "bytes"), Edn::String(hex(&b).into())),
            None => Edn::Tagged(t),
        },
        other => other,
    }
}

/// The schema without Datalevin's bookkeeping (`:db/aid`) and built-in `:db/*` attributes.
/// `pos` is where the schema map is in the dump.
fn import_schema(schema: &Edn, pos: &edn::Position) -> Result<Edn> {
    let map = schema.as_map().ok_or_else(|| {
        CliError::dump(
            *pos,
            format!(
                "expected the schema map as the second form, found {}",
                schema.type_name()
            ),
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

/// What the target directory already holds, or `None` when it is empty.
pub fn existing_data(dir: &Path) -> Result<Option<String>> {
    if !dir.join(levin_engine::DATA_FILE).exists() {
        return Ok(None);
    }
    let env = Env::open_with(dir, EnvOptions::new().read_only(true))?;
    let r = env.read()?;
    let mut held = Vec::new();
    for name in r.db_names()? {
        let db = r.open_db(&name)?;
        let n = r.len(&db)?;
        if name == "datalog/eav" && n > 0 {
            held.push(format!("{n} datoms"));
        } else if !name.starts_with(DATALOG_PREFIX) {
            held.push(format!("key-value database {name:?}"));
        }
    }
    Ok((!held.is_empty()).then(|| held.join(", ")))
}

/// The dump's version from its options map: 1 or 2 for Levin's, `None` for Datalevin's
/// (no `:levin/dump` key); anything else is refused.
fn dump_version(opts: &Edn, pos: &edn::Position) -> Result<Option<i64>> {
    match opts.get(&kw("levin", "dump")) {
        None => Ok(None),
        Some(Edn::Long(v)) if (1..=VERSION).contains(v) => Ok(Some(*v)),
        Some(v) => Err(CliError::dump(
            *pos,
            format!(
                "dump version {v} is not one this levin reads (1 to {VERSION}); load it with \
                 the levin that wrote it, or a newer one"
            ),
        )),
    }
}

/// Datoms gathered for the Datalog transaction, with ids remapped when merging.
struct Datoms<'s> {
    schema: &'s levin_datalog::Schema,
    /// `Some` when merging: dump entity id -> new id, and the next new id.
    remap: Option<(std::collections::HashMap<u64, u64>, u64)>,
}

impl Datoms<'_> {
    fn id(&mut self, e: i64, pos: &edn::Position) -> Result<Edn> {
        let Some((map, next)) = &mut self.remap else {
            return Ok(Edn::Long(e));
        };
        if e <= 0 {
            return Err(CliError::dump(
                *pos,
                format!("entity id {e} is not positive"),
            ));
        }
        let id = *map.entry(e as u64).or_insert_with(|| {
            *next += 1;
            *next
        });
        Ok(Edn::Long(id as i64))
    }

    /// The `[:db/add ...]` form of a dump datom; `None` for a derived composite tuple.
    fn add(&mut self, items: &[Edn], pos: &edn::Position) -> Result<Option<Edn>> {
        let (Some(e), Some(a)) = (items[0].as_long(), items[1].as_keyword()) else {
            return Err(CliError::dump(
                *pos,
                format!(
                    "expected a datom [entity-id :attribute value], found {}",
                    Edn::Vector(items.to_vec())
                ),
            ));
        };
        let attr = self.schema.get(a);
        if attr.is_some_and(|a| a.tuple_attrs.is_some()) {
            return Ok(None);
        }
        let v = match (&items[2], attr.is_some_and(|a| a.is_ref())) {
            (Edn::Long(r), true) => self.id(*r, pos)?,
            (v, _) => import_value(v.clone()),
        };
        Ok(Some(Edn::Vector(vec![
            kw("db", "add"),
            self.id(e, pos)?,
            items[1].clone(),
            v,
        ])))
    }
}

/// A dump read whole and checked (version, end marker, counts) before anything is written.
struct Parsed {
    /// The first form, the dump's options map, and where it is: its `:closed-schema?` and
    /// `:auto-entity-time?` are the database's stored options (Levin's and Datalevin's
    /// dumps alike); nil for a key-value dump.
    opts_pos: edn::Position,
    opts: Edn,
    schema_pos: edn::Position,
    schema: Edn,
    datoms_forms: Vec<(edn::Position, Edn)>,
    kv_forms: Vec<(edn::Position, Edn)>,
}

fn parse(mut input: impl BufRead) -> Result<Parsed> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| CliError::io("read the dump", None, e))?;
    let mut forms = edn::Reader::new(&text);
    let mut next = || -> Result<Option<(edn::Position, Edn)>> {
        forms.read_form().map_err(CliError::DumpSyntax)
    };
    let mut first = next()?.ok_or_else(|| CliError::dump_whole("the dump is empty"))?;
    if first.1.get(&kw("", "dbi")).is_some() {
        let mut forms = vec![first];
        while let Some(f) = next()? {
            forms.push(f);
        }
        return Ok(Parsed {
            opts_pos: forms[0].0,
            opts: Edn::Nil,
            schema_pos: forms[0].0,
            schema: Edn::Map(vec![]),
            datoms_forms: Vec::new(),
            kv_forms: datalevin_kv(forms)?,
        });
    }
    if first.1.get(&kw("datalevin", "section")).is_some() {
        first = next()?
            .ok_or_else(|| CliError::dump_whole("the dump ends after its section header"))?;
    }
    if first.1.as_map().is_none() {
        return Err(CliError::dump(
            first.0,
            format!(
                "expected an options map first, found {}",
                first.1.type_name()
            ),
        ));
    }
    let version = dump_version(&first.1, &first.0)?;
    let (schema_pos, schema) =
        next()?.ok_or_else(|| CliError::dump_whole("the dump ends before its schema map"))?;
    let schema = import_schema(&schema, &schema_pos)?;
    // Read every form first: nothing is written unless the whole dump reads.
    let mut datoms_forms = Vec::new();
    let mut kv_forms = Vec::new();
    let mut end = None;
    let mut in_kv = false;
    while let Some((pos, form)) = next()? {
        if end.is_some() {
            return Err(CliError::dump(pos, "a form after the end marker"));
        }
        if let Some(counts) = form.get(&kw("levin", "end")) {
            end = Some((pos, counts.clone()));
        } else if form.get(&kw("levin", "section")).is_some() {
            in_kv = true;
        } else if in_kv {
            kv_forms.push((pos, form));
        } else {
            datoms_forms.push((pos, form));
        }
    }
    let kv_entries = kv_forms
        .iter()
        .filter(|(_, f)| {
            !f.as_vec()
                .is_some_and(|v| v.first().is_some_and(|x| x.is_kw("", "db")))
        })
        .count() as u64;
    if version == Some(2) {
        let Some((pos, counts)) = end else {
            return Err(CliError::dump_whole(format!(
                "the dump ends without its end marker {{:levin/end ...}}: it was cut short \
                 after {} datoms and {kv_entries} key-value entries; nothing was loaded",
                datoms_forms.len()
            )));
        };
        let count = |k: &str| counts.get(&kw("", k)).and_then(Edn::as_long);
        if count("datoms") != Some(datoms_forms.len() as i64)
            || count("entries") != Some(kv_entries as i64)
        {
            return Err(CliError::dump(
                pos,
                format!(
                    "the end marker counts {counts}, but the dump holds {} datoms and \
                     {kv_entries} key-value entries: it is damaged; nothing was loaded",
                    datoms_forms.len()
                ),
            ));
        }
    }
    Ok(Parsed {
        opts_pos: first.0,
        opts: first.1,
        schema_pos,
        schema,
        datoms_forms,
        kv_forms,
    })
}

/// The key-value forms of a Datalevin KV dump (`dtlv dump DBI...` or `dtlv dump -a`):
/// for each database a header `{:dbi "name" :entries n :opts {:flags #{... :dupsort}}}`,
/// then its entries as `["key-base64" "value-base64"]`. The bytes are Datalevin's own
/// encodings of its typed keys and values and are loaded as they are. Datalevin's own
/// databases (`datalevin/...`) are skipped; a database whose entry count differs from its
/// header's is refused (the dump was cut short).
fn datalevin_kv(forms: Vec<(edn::Position, Edn)>) -> Result<Vec<(edn::Position, Edn)>> {
    let mut out = Vec::new();
    // The current header: its position, name, announced count, entries seen, skipped.
    let mut cur: Option<(edn::Position, String, Option<i64>, i64, bool)> = None;
    let check = |c: &Option<(edn::Position, String, Option<i64>, i64, bool)>| match c {
        Some((pos, name, Some(n), seen, _)) if n != seen => Err(CliError::dump(
            *pos,
            format!(
                "database {name:?} announces {n} entries but the dump holds {seen}: it was \
                 cut short; nothing was loaded"
            ),
        )),
        _ => Ok(()),
    };
    for (pos, form) in forms {
        if let Some(name) = form.get(&kw("", "dbi")) {
            check(&cur)?;
            let name = name
                .as_str()
                .ok_or_else(|| CliError::dump(pos, format!(":dbi must be a string, found {name}")))?
                .to_string();
            let skip = name.starts_with("datalevin/");
            let list = form
                .get(&kw("", "opts"))
                .and_then(|o| o.get(&kw("", "flags")))
                .is_some_and(|fs| match fs {
                    Edn::Set(xs) | Edn::Vector(xs) | Edn::List(xs) => {
                        xs.iter().any(|f| f.is_kw("", "dupsort"))
                    }
                    _ => false,
                });
            let n = form.get(&kw("", "entries")).and_then(Edn::as_long);
            if !skip {
                let kind = kw("", if list { "list" } else { "plain" });
                out.push((
                    pos,
                    Edn::Vector(vec![kw("", "db"), Edn::String(name.clone().into()), kind]),
                ));
            }
            cur = Some((pos, name, n, 0, skip));
            continue;
        }
        let Some((_, _, _, seen, skip)) = cur.as_mut() else {
            return Err(CliError::dump(
                pos,
                format!("expected a {{:dbi \"name\" ...}} header, found {form}"),
            ));
        };
        *seen += 1;
        let pair = form.as_vec().filter(|v| v.len() == 2);
        let Some([Edn::String(k), Edn::String(v)]) = pair else {
            return Err(CliError::dump(
                pos,
                format!("expected [\"key-base64\" \"value-base64\"], found {form}"),
            ));
        };
        if *skip {
            continue;
        }
        let (Some(k), Some(v)) = (base64(k), base64(v)) else {
            return Err(CliError::dump(
                pos,
                format!("a key or value that is not base64: {form}"),
            ));
        };
        out.push((
            pos,
            Edn::Vector(vec![
                Edn::String(hex(&k).into()),
                Edn::String(hex(&v).into()),
            ]),
        ));
    }
    check(&cur)?;
    Ok(out)
}

/// Renames the single database of a key-value section to `into` (`levin load --dbi`).
fn rename_kv(forms: &mut [(edn::Position, Edn)], into: &str) -> Result<()> {
    let mut headers = forms
        .iter_mut()
        .filter_map(|(_, f)| match f {
            Edn::Vector(v) if v.len() == 3 && v[0].is_kw("", "db") => Some(v),
            _ => None,
        })
        .collect::<Vec<_>>();
    match headers.as_mut_slice() {
        [one] => {
            one[1] = Edn::string(into);
            Ok(())
        }
        hs => Err(CliError::Usage(format!(
            "--dbi names one database to load into, but the dump holds {} key-value databases",
            hs.len()
        ))),
    }
}

/// Loads a dump's Datalog part into the (empty) database behind `conn`, embedded or
/// remote: the schema, then every datom in one explicit transaction. A dump with a
/// key-value section is refused (a server's Datalog database has none).
pub fn load_connection<C: levin_query::Connection>(conn: &C, input: impl BufRead) -> Result<u64>
where
    CliError: From<C::Error>,
{
    use levin_query::DatalogTransaction;
    let max_eid = conn.max_eid()?;
    if max_eid > 0 {
        return Err(CliError::Refused(format!(
            "the database already holds entities (max eid {max_eid}); load into an empty one"
        )));
    }
    let Parsed {
        opts_pos,
        opts,
        schema_pos,
        schema,
        datoms_forms,
        kv_forms,
    } = parse(input)?;
    if !kv_forms.is_empty() {
        return Err(CliError::Refused("the dump has a key-value section, which a server's Datalog database cannot hold; nothing was loaded".into()));
    }
    conn.update_schema(&schema, &levin_datalog::SchemaUpdate::default())
        .context(Context::at_undone(At::DumpForm(schema_pos), Undone::Loaded))?;
    let db_schema = conn.schema()?;
    let mut gather = Datoms {
        schema: &db_schema,
        remap: None,
    };
    let mut adds = Vec::with_capacity(datoms_forms.len());
    for (pos, form) in &datoms_forms {
        let items = form.as_vec().filter(|v| v.len() == 3).ok_or_else(|| {
            CliError::dump(*pos, format!("expected a datom [e a v], found {form}"))
        })?;
        if let Some(add) = gather.add(items, pos)? {
            adds.push(add);
        }
    }
    let n = adds.len() as u64;
    // Checked before anything is written; stored after the datoms, which are loaded as
    // they were (entity timestamps included), not stamped anew.
    let options = conn
        .options()?
        .with_edn(&opts)
        .context(Context::at_undone(At::DumpForm(opts_pos), Undone::Loaded))?;
    let mut t = conn.begin()?;
    for chunk in adds.chunks(BATCH) {
        t.transact(&Edn::Vector(chunk.to_vec()))
            .context(Context::undone(Undone::Loaded))?;
    }
    t.commit()?;
    // A server stores the options through its own message, after the data's commit.
    conn.set_options(options)?;
    Ok(n)
}

/// Loads a dump (Levin's or Datalevin's `dtlv dump -g`) into the environment at `dir`, in
/// one transaction; returns (datoms, key-value entries) loaded. A directory that already
/// holds data is refused unless `merge` (then the dump's entities get new ids).
///
/// It also reads Datalevin's key-value dumps (see [`datalevin_kv`]); `into` loads the
/// dump's single key-value database under that name instead of its own.
pub fn load(
    dir: &Path,
    input: impl BufRead,
    merge: bool,
    into: Option<&str>,
) -> Result<(u64, u64)> {
    if !merge {
        if let Some(held) = existing_data(dir)? {
            return Err(CliError::Refused(format!(
                "{} already holds data ({held}); load into an empty directory, or add \
                 --merge to add the dump's entities under new ids",
                dir.display()
            )));
        }
    }
    let Parsed {
        opts_pos,
        opts,
        schema_pos,
        schema,
        datoms_forms,
        mut kv_forms,
    } = parse(input)?;
    if let Some(into) = into {
        rename_kv(&mut kv_forms, into)?;
    }
    let has_datalog = schema.as_map().is_some_and(|m| !m.is_empty()) || !datoms_forms.is_empty();
    let mut datoms = 0u64;
    let bar = super::progress::counter("loading datoms");
    let entries = if has_datalog {
        let conn = Conn::open(dir, ())?;
        let mut t = conn.begin()?;
        t.update_schema(&schema)
            .context(Context::at_undone(At::DumpForm(schema_pos), Undone::Loaded))?;
        let db_schema = t.db()?.schema().clone();
        let max_eid = t.db()?.max_eid();
        let mut gather = Datoms {
            schema: &db_schema,
            remap: merge.then(|| (Default::default(), max_eid)),
        };
        let mut pending: Vec<Edn> = Vec::new();
        let mut last = None;
        for (pos, form) in &datoms_forms {
            bar.inc(1);
            let items = form.as_vec().filter(|v| v.len() == 3).ok_or_else(|| {
                CliError::dump(*pos, format!("expected a datom [e a v], found {form}"))
            })?;
            if let Some(add) = gather.add(items, pos)? {
                pending.push(add);
                datoms += 1;
            }
            last = Some(pos);
            if pending.len() >= BATCH {
                t.transact(&Edn::Vector(std::mem::take(&mut pending)))
                    .context(Context::at_undone(At::DumpUpTo(*pos), Undone::Loaded))?;
            }
        }
        if !pending.is_empty() {
            t.transact(&Edn::Vector(pending)).context(Context {
                at: last.map(|pos| At::DumpUpTo(*pos)),
                undone: Some(Undone::Loaded),
            })?;
        }
        // After the datoms, so that they load as they were, not stamped anew.
        let options = t
            .options()
            .with_edn(&opts)
            .context(Context::at_undone(At::DumpForm(opts_pos), Undone::Loaded))?;
        t.set_options(options)?;
        let w = t.kv_mut()?;
        let n = load_kv(w, &kv_forms)?;
        t.commit()?;
        n
    } else {
        let env = Env::open_with(dir, EnvOptions::new())?;
        let mut w = env.write()?;
        let n = load_kv(&mut w, &kv_forms)?;
        w.commit()?;
        n
    };
    bar.finish_and_clear();
    Ok((datoms, entries))
}

/// Writes the key-value section's forms in `w`; returns the entries written.
fn load_kv(w: &mut levin_engine::RwTxn, forms: &[(edn::Position, Edn)]) -> Result<u64> {
    let mut entries = 0u64;
    let mut db = None;
    for (pos, form) in forms {
        let items = form
            .as_vec()
            .ok_or_else(|| CliError::dump(*pos, format!("expected a vector, found {form}")))?;
        if items.len() == 3 && items[0].is_kw("", "db") {
            let name = items[1]
                .as_str()
                .ok_or_else(|| CliError::dump(*pos, "database name must be a string"))?;
            if name.starts_with(DATALOG_PREFIX) {
                return Err(CliError::dump(
                    *pos,
                    format!("{name:?} is reserved for the Datalog store"),
                ));
            }
            db = Some(
                if items[2].is_kw("", "list") {
                    w.create_list_db(name)
                } else if items[2].is_kw("", "plain") {
                    w.create_db(name)
                } else {
                    return Err(CliError::dump(
                        *pos,
                        format!("database kind must be :plain or :list, found {}", items[2]),
                    ));
                }
                .context(Context::at(At::DumpForm(*pos)))?,
            );
            continue;
        }
        let (Some(k), Some(v)) = (
            items.first().and_then(Edn::as_str),
            items.get(1).and_then(Edn::as_str),
        ) else {
            return Err(CliError::dump(
                *pos,
                format!("expected [\"key-hex\" \"value-hex\"], found {form}"),
            ));
        };
        let handle = db
            .as_ref()
            .ok_or_else(|| CliError::dump(*pos, "an entry before any [:db ...] form"))?;
        let (k, v) = (unhex(k, pos, "key")?, unhex(v, pos, "value")?);
        if handle.is_list() {
            w.put_list(handle, &k, &v).map(|_| ())
        } else {
            w.put(handle, &k, &v)
        }
        .context(Context::at(At::DumpForm(*pos)))?;
        entries += 1;
    }
    Ok(entries)
}
