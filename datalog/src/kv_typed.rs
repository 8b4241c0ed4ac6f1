//! Datalevin's typed key-value vocabulary over Levin's byte-keyed engine, for the server
//! and the pod: type keywords (`:string`, `:long`, `[:long :string]`, `:data`, ...) mapped
//! onto the codec's value types, EDN values encoded and decoded with them, and range specs
//! (`[:closed lo hi]`, `[:closed-back hi lo]`, ...) turned into engine ranges.

use levin_codec::{decode_typed, encode_typed, Value, ValueType};
use levin_edn::{Edn, Keyword};
use levin_engine::{PutFlags, Range, Read, RwTxn};

use crate::convert::{to_edn, untyped};
use crate::error::{Error, Result};

/// The type of `:data`: any EDN value, stored as its EDN text (not range-safe: its byte
/// order is not a value order).
pub fn data_type() -> ValueType {
    ValueType::Data
}

fn bad(what: impl Into<String>) -> Error {
    Error::Invalid(what.into())
}

fn scalar_type(k: &Keyword) -> Option<ValueType> {
    Some(match k.name() {
        "data" => ValueType::Data,
        "string" => ValueType::String,
        "long" | "int" | "short" | "byte" | "id" => ValueType::Long,
        "float" => ValueType::Float,
        "double" => ValueType::Double,
        "bigint" => ValueType::BigInt,
        "bigdec" => ValueType::BigDec,
        "bytes" => ValueType::Bytes,
        "keyword" => ValueType::Keyword,
        "symbol" => ValueType::Symbol,
        "boolean" => ValueType::Boolean,
        "instant" => ValueType::Instant,
        "uuid" => ValueType::Uuid,
        _ => return None,
    })
}

/// A type keyword (`:string`), a vector of one (`[:long]`: a tuple of any length of that
/// type) or of several (`[:long :string]`: a tuple of those); `nil` means `:data`.
pub fn parse_type(t: &Edn) -> Result<ValueType> {
    let unknown = |t: &Edn| {
        bad(format!(
            "unknown key-value type {t}: use :data, :string, :long, :float, :double, :bigint, \
             :bigdec, :bytes, :keyword, :symbol, :boolean, :instant, :uuid or a vector of them"
        ))
    };
    match t {
        Edn::Nil => Ok(ValueType::Data),
        Edn::Keyword(k) => scalar_type(k).ok_or_else(|| unknown(t)),
        Edn::Vector(items) if !items.is_empty() => {
            let types = items
                .iter()
                .map(|i| match i {
                    Edn::Keyword(k) => match scalar_type(k) {
                        Some(ValueType::Data) => Err(bad(":data cannot be part of a tuple type")),
                        Some(x) => Ok(x),
                        None => Err(unknown(i)),
                    },
                    _ => Err(unknown(i)),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(match <[ValueType; 1]>::try_from(types) {
                Ok([one]) => ValueType::HomTuple(Box::new(one)),
                Err(types) => ValueType::HetTuple(types),
            })
        }
        _ => Err(unknown(t)),
    }
}

/// The codec value of `v` as type `ty`, converting numbers where Datalevin would.
fn value_of(v: &Edn, ty: &ValueType) -> Result<Value> {
    let mismatch = || {
        bad(format!(
            "{v} is not a value of key-value type {}",
            ty.name()
        ))
    };
    Ok(match (ty, v) {
        (ValueType::Data, _) => Value::Data(v.to_string().into_bytes()),
        (ValueType::Double, Edn::Long(n)) => Value::Double(*n as f64),
        (ValueType::Float, Edn::Long(n)) => Value::Float(*n as f32),
        (ValueType::Float, Edn::Double(d)) => Value::Float(*d as f32),
        (ValueType::BigInt, Edn::Long(n)) => Value::BigInt((*n).into()),
        (ValueType::HomTuple(t), Edn::Vector(items)) => Value::Tuple(
            items
                .iter()
                .map(|i| value_of(i, t))
                .collect::<Result<_>>()?,
        ),
        (ValueType::HetTuple(ts), Edn::Vector(items)) if items.len() <= ts.len() => Value::Tuple(
            items
                .iter()
                .zip(ts)
                .map(|(i, t)| value_of(i, t))
                .collect::<Result<_>>()?,
        ),
        (ValueType::HomTuple(_) | ValueType::HetTuple(_), _) => return Err(mismatch()),
        _ => {
            let value = untyped(v);
            if value.value_type() != *ty {
                return Err(mismatch());
            }
            value
        }
    })
}

/// The bytes of `v` stored as type `ty`.
pub fn encode(v: &Edn, ty: &ValueType) -> Result<Vec<u8>> {
    let value = value_of(v, ty)?;
    let mut out = Vec::new();
    encode_typed(&value, ty, &mut out)
        .map_err(|e| bad(format!("cannot encode {v} as {}: {e}", ty.name())))?;
    Ok(out)
}

/// The value stored as `bytes` with type `ty`.
pub fn decode(bytes: &[u8], ty: &ValueType) -> Result<Edn> {
    let value = decode_typed(bytes, ty)
        .map_err(|e| Error::Corrupt(format!("a stored {} does not decode: {e}", ty.name())))?;
    Ok(to_edn(value))
}

/// An engine range from Datalevin's range spec `[range-type bound ...]` over keys (or
/// list values) of type `ty`. For the `-back` types the bounds come in iteration order:
/// `[:closed-back hi lo]`.
pub fn parse_range(spec: &Edn, ty: &ValueType) -> Result<Range> {
    let items = spec
        .as_seq()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("a range is [range-type bounds...], got {spec}")))?;
    let Some(kind) = items[0].as_keyword() else {
        return Err(bad(format!(
            "a range starts with its type keyword, got {}",
            items[0]
        )));
    };
    let (name, back) = match kind.name().strip_suffix("-back") {
        Some(n) => (n, true),
        None => (kind.name(), false),
    };
    let bound = |i: usize| -> Result<Vec<u8>> {
        let v = items.get(i).ok_or_else(|| {
            bad(format!(
                "range {spec} needs {} bound(s)",
                if i == 1 { "a" } else { "two" }
            ))
        })?;
        encode(v, ty)
    };
    let want = |n: usize| -> Result<()> {
        if items.len() == n + 1 {
            Ok(())
        } else {
            Err(bad(format!(
                "range type :{} takes {n} bound(s), got {}",
                kind.name(),
                items.len() - 1
            )))
        }
    };
    // For two-bound -back ranges the first bound given is the high one.
    let (lo_i, hi_i) = if back { (2, 1) } else { (1, 2) };
    let range = match name {
        "all" => {
            want(0)?;
            Range::all()
        }
        "at-least" => {
            want(1)?;
            Range::at_least(bound(1)?)
        }
        "at-most" => {
            want(1)?;
            Range::at_most(bound(1)?)
        }
        "greater-than" => {
            want(1)?;
            Range::greater_than(bound(1)?)
        }
        "less-than" => {
            want(1)?;
            Range::less_than(bound(1)?)
        }
        "closed" => {
            want(2)?;
            Range::closed(bound(lo_i)?, bound(hi_i)?)
        }
        "closed-open" => {
            want(2)?;
            if back {
                // [:closed-open-back hi lo]: includes hi, excludes lo.
                Range::open_closed(bound(lo_i)?, bound(hi_i)?)
            } else {
                Range::closed_open(bound(lo_i)?, bound(hi_i)?)
            }
        }
        "open-closed" => {
            want(2)?;
            if back {
                Range::closed_open(bound(lo_i)?, bound(hi_i)?)
            } else {
                Range::open_closed(bound(lo_i)?, bound(hi_i)?)
            }
        }
        "open" => {
            want(2)?;
            Range::open(bound(lo_i)?, bound(hi_i)?)
        }
        _ => {
            return Err(bad(format!(
                "unknown range type {kind}: use :all, :at-least, :at-most, :greater-than, \
                 :less-than, :closed, :closed-open, :open-closed, :open, or one of them with -back"
            )))
        }
    };
    Ok(if back { range.rev() } else { range })
}

/// The positional arguments of one key-value operation in Datalevin's order: the store
/// (a handle, a database name: not read here) at 0, the sub-database name at 1, then the
/// operation's own (`get-value`: key, key type, value type, `ignore-key?`).
#[derive(Debug, Clone, Copy)]
pub struct KvArgs<'a> {
    /// The operation's name (`get-value`, `list-range`, ...), for messages.
    pub op: &'a str,
    /// The arguments, the store first.
    pub args: &'a [Edn],
}

impl<'a> KvArgs<'a> {
    /// The argument at `i`, or an error naming what the operation expected there.
    pub fn arg(&self, i: usize, what: &str) -> Result<&'a Edn> {
        self.args.get(i).ok_or_else(|| {
            bad(format!(
                "{} needs {what} as argument {} (got {} arguments)",
                self.op,
                i + 1,
                self.args.len()
            ))
        })
    }

    /// An optional argument (absent or `nil` gives `None`).
    pub fn opt_arg(&self, i: usize) -> Option<&'a Edn> {
        self.args.get(i).filter(|v| !v.is_nil())
    }

    /// The sub-database name at `i`.
    pub fn dbi(&self, i: usize) -> Result<&'a str> {
        let v = self.arg(i, "the sub-database name")?;
        v.as_str().ok_or_else(|| {
            bad(format!(
                "{} needs the sub-database name (a string) as argument {}, got {v}",
                self.op,
                i + 1
            ))
        })
    }

    /// The type keyword at `i` (absent or `nil`: `:data`).
    pub fn ty(&self, i: usize) -> Result<ValueType> {
        parse_type(self.opt_arg(i).unwrap_or(&Edn::Nil))
    }

    /// The boolean at `i`, `default` when absent or not a boolean.
    pub fn flag(&self, i: usize, default: bool) -> bool {
        match self.opt_arg(i) {
            Some(Edn::Bool(b)) => *b,
            _ => default,
        }
    }

    /// A non-negative integer at `i`, if given.
    pub fn count(&self, i: usize, what: &str) -> Result<Option<u64>> {
        match self.opt_arg(i) {
            None => Ok(None),
            Some(Edn::Long(n)) if *n >= 0 => Ok(Some(*n as u64)),
            Some(v) => Err(bad(format!(
                "{} needs {what} (a non-negative integer) as argument {}, got {v}",
                self.op,
                i + 1
            ))),
        }
    }
}

/// Refuses writes to the Datalog layer's own sub-databases (`datalog/...`).
pub fn refuse_internal(dbi: &str) -> Result<()> {
    if dbi.starts_with("datalog/") {
        return Err(bad(format!(
            "{dbi:?} belongs to the Datalog layer and cannot be written as key-value data"
        )));
    }
    Ok(())
}

/// Opens the sub-database `dbi`, creating it (a list database when `list`) if missing; an
/// error if it exists with the other kind.
pub fn open_dbi(w: &mut RwTxn, dbi: &str, list: bool) -> Result<()> {
    refuse_internal(dbi)?;
    match w.open_db(dbi) {
        Ok(db) if db.is_list() != list => Err(bad(format!(
            "sub-database {dbi:?} exists and is {}a list database",
            if db.is_list() { "" } else { "not " }
        ))),
        Ok(_) => Ok(()),
        Err(_) => {
            if list {
                w.create_list_db(dbi)?;
            } else {
                w.create_db(dbi)?;
            }
            Ok(())
        }
    }
}

/// Empties the sub-database `dbi` (`drop`: deletes it).
pub fn clear_dbi(w: &mut RwTxn, dbi: &str, drop: bool) -> Result<()> {
    refuse_internal(dbi)?;
    let db = w.open_db(dbi)?;
    if drop {
        w.drop_db(&db)?;
    } else {
        w.clear_db(&db)?;
    }
    Ok(())
}

fn put_flags(v: Option<&Edn>) -> Result<PutFlags> {
    let mut flags = PutFlags::default();
    let Some(v) = v.filter(|v| !v.is_nil()) else {
        return Ok(flags);
    };
    let items = v
        .as_seq()
        .or_else(|| v.as_set())
        .ok_or_else(|| bad(format!("put flags are a set of keywords, got {v}")))?;
    for f in items {
        match f.as_keyword().map(Keyword::name) {
            Some("nooverwrite") => flags.no_overwrite = true,
            Some("append") => flags.append = true,
            // LMDB flags that mean nothing (or are the default) here.
            Some("nodupdata" | "current" | "reserve" | "appenddup" | "multiple") => {}
            _ => return Err(bad(format!("unknown put flag {f}"))),
        }
    }
    Ok(flags)
}

/// Applies one write form: `[:put dbi k v kt? vt? flags?]`, `[:del dbi k kt?]`,
/// `[:put-list dbi k vs kt? vt?]` or `[:del-list dbi k vs kt? vt?]`.
pub fn apply_form(w: &mut RwTxn, form: &Edn) -> Result<()> {
    let fail = |why: &str| {
        bad(format!(
            "{why} in {form}: a form is [:put dbi k v kt? vt? flags?], [:del dbi k kt?], \
             [:put-list dbi k vs kt? vt?] or [:del-list dbi k vs kt? vt?]"
        ))
    };
    let items = form.as_seq().ok_or_else(|| fail("not a vector"))?;
    let op = items
        .first()
        .and_then(Edn::as_keyword)
        .ok_or_else(|| fail("no operation"))?;
    let dbi = items
        .get(1)
        .and_then(Edn::as_str)
        .ok_or_else(|| fail("no sub-database name"))?;
    refuse_internal(dbi)?;
    let key = items.get(2).ok_or_else(|| fail("no key"))?;
    if key.is_nil() {
        return Err(fail("the key is nil (a key cannot be nil)"));
    }
    let t = |i: usize| parse_type(items.get(i).unwrap_or(&Edn::Nil));
    let db = w.open_db(dbi)?;
    match op.name() {
        "put" => {
            let v = items.get(3).ok_or_else(|| fail("no value"))?;
            if v.is_nil() {
                return Err(fail("the value is nil (a value cannot be nil)"));
            }
            let (kb, vb) = (encode(key, &t(4)?)?, encode(v, &t(5)?)?);
            let flags = put_flags(items.get(6))?;
            if db.is_list() {
                w.put_list(&db, &kb, &vb)?;
            } else if !w.put_with(&db, &kb, &vb, flags)? {
                // As Datalevin (LMDB's MDB_KEYEXIST): the transaction fails.
                return Err(fail("the key is already there (put flag :nooverwrite)"));
            }
        }
        "del" => {
            w.delete(&db, &encode(key, &t(3)?)?)?;
        }
        "put-list" | "del-list" => {
            let vs = items
                .get(3)
                .and_then(|v| v.as_seq().or_else(|| v.as_set()))
                .ok_or_else(|| fail("no vector of values"))?;
            let (kt, vt) = (t(4)?, t(5)?);
            let kb = encode(key, &kt)?;
            for v in vs {
                if v.is_nil() {
                    return Err(fail("a value is nil (a value cannot be nil)"));
                }
                let vb = encode(v, &vt)?;
                if op.name() == "put-list" {
                    w.put_list(&db, &kb, &vb)?;
                } else {
                    w.delete_list(&db, &kb, &vb)?;
                }
            }
        }
        _ => return Err(fail("unknown operation")),
    }
    Ok(())
}

/// Options of [`read_op`] that are not positional arguments.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOpts {
    /// At most this many items from the range operations.
    pub limit: Option<usize>,
    /// The seed of `sample-kv`.
    pub seed: u64,
}

/// The key-value read operations [`read_op`] answers.
pub const READ_OPS: &[&str] = &[
    "list-dbis",
    "entries",
    "get-value",
    "get-first",
    "get-first-n",
    "get-range",
    "key-range",
    "range-count",
    "key-range-count",
    "get-rank",
    "get-by-rank",
    "sample-kv",
    "get-list",
    "list-count",
    "in-list?",
    "list-range",
    "list-range-count",
    "list-range-first",
    "list-range-first-n",
];

struct Types {
    k: ValueType,
    v: ValueType,
}

impl Types {
    fn pair(&self, k: &[u8], v: &[u8], ignore_key: bool) -> Result<Edn> {
        let v = decode(v, &self.v)?;
        Ok(if ignore_key {
            v
        } else {
            Edn::Vector(vec![decode(k, &self.k)?, v])
        })
    }
}

fn long(n: u64) -> Edn {
    Edn::Long(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The items of a read whose result grows with the data, with how many there are: the
/// count comes first, from the counted tree where it can (else from a walk that borrows
/// every item and keeps none), and the items are decoded one at a time as they are taken,
/// from the same transaction, so the two agree.
pub struct Counted<'t> {
    /// How many items `items` gives.
    pub count: u64,
    /// The items, in order, each decoded when it is taken.
    pub items: Box<dyn Iterator<Item = Result<Edn>> + 't>,
}

/// The reads [`read_counted`] answers: those whose results are vectors as long as a range
/// or a list of the data (or as a count the caller picks).
pub const COUNTED_OPS: &[&str] = &[
    "get-first-n",
    "get-range",
    "key-range",
    "sample-kv",
    "get-list",
    "list-range",
    "list-range-first-n",
];

/// `n` capped at `limit`.
fn capped(n: u64, limit: Option<usize>) -> u64 {
    limit.map_or(n, |l| n.min(u64::try_from(l).unwrap_or(u64::MAX)))
}

/// How many items `it` gives, at most `limit`; the items are borrowed from the transaction
/// and dropped at once, so nothing is allocated per item.
fn walk_count<T>(
    it: impl Iterator<Item = levin_engine::Result<T>>,
    limit: Option<usize>,
) -> Result<u64> {
    let mut n = 0u64;
    for x in it.take(limit.unwrap_or(usize::MAX)) {
        x?;
        n += 1;
    }
    Ok(n)
}

/// Runs one of the [`COUNTED_OPS`]: the items [`read_op`] puts in its vector, in the same
/// order, lazily, with their count. `get-first` and `list-range-first` are read here too
/// (their one item).
pub fn read_counted<'t>(r: &'t dyn Read, a: &KvArgs<'_>, opts: &ReadOpts) -> Result<Counted<'t>> {
    let dbi = |i: usize| -> Result<levin_engine::Db> { Ok(r.open_db(a.dbi(i)?)?) };
    match a.op {
        "get-first" | "get-first-n" | "get-range" | "key-range" => {
            // get-first [db dbi range kt vt ignore-key?]; get-first-n [db dbi n range kt vt
            // ignore-key?]; get-range [db dbi range kt vt ignore-key?]; key-range [db dbi
            // range kt].
            let shift = usize::from(a.op == "get-first-n");
            let types = Types {
                k: a.ty(3 + shift)?,
                v: a.ty(4 + shift)?,
            };
            let range = parse_range(a.arg(2 + shift, "the range")?, &types.k)?;
            let n = match a.op {
                "get-first" => Some(1),
                "get-first-n" => Some(
                    usize::try_from(a.count(2, "the count")?.unwrap_or(1)).unwrap_or(usize::MAX),
                ),
                _ => opts.limit,
            };
            let db = dbi(1)?;
            if a.op == "key-range" {
                let keys = r.keys(&db, range.clone())?;
                // A list database's keys are counted by walking them: the tree counts
                // pairs, not distinct keys.
                let count = if db.is_list() {
                    walk_count(r.keys(&db, range)?, n)?
                } else {
                    capped(r.count(&db, &range)?, n)
                };
                let kt = types.k;
                let items = keys
                    .take(n.unwrap_or(usize::MAX))
                    .map(move |k| decode(k?, &kt));
                return Ok(Counted {
                    count,
                    items: Box::new(items),
                });
            }
            let count = capped(r.count(&db, &range)?, n);
            // A list database's values ascend within each key, whichever way keys go.
            let pairs = if db.is_list() {
                list_pairs(r, &db, range, Range::all())?
            } else {
                Box::new(r.range(&db, range)?)
            };
            let ignore_key = a.flag(5 + shift, false);
            let items = pairs.take(n.unwrap_or(usize::MAX)).map(move |p| {
                let (k, v) = p?;
                types.pair(k, v, ignore_key)
            });
            Ok(Counted {
                count,
                items: Box::new(items),
            })
        }
        "sample-kv" => {
            let types = Types {
                k: a.ty(3)?,
                v: a.ty(4)?,
            };
            let n =
                usize::try_from(a.count(2, "the sample size")?.unwrap_or(1)).unwrap_or(usize::MAX);
            // As Datalevin, values alone unless `ignore-key?` is false.
            let ignore_key = a.flag(5, true);
            let db = dbi(1)?;
            let len = r.len(&db)?;
            let decode_pair = move |p: levin_engine::Result<(&[u8], &[u8])>| {
                let (k, v) = p?;
                types.pair(k, v, ignore_key)
            };
            if u64::try_from(n).unwrap_or(u64::MAX) >= len {
                // All of them, in order: read as they are sent.
                return Ok(Counted {
                    count: len,
                    items: Box::new(r.iter(&db)?.map(decode_pair)),
                });
            }
            // Fewer than all: the chosen pairs are found first (borrowed, not decoded).
            let chosen = r.sample(&db, n, opts.seed)?;
            Ok(Counted {
                count: chosen.len() as u64,
                items: Box::new(chosen.into_iter().map(Ok).map(decode_pair)),
            })
        }
        "get-list" => {
            // [db dbi k kt vt]
            let types = Types {
                k: a.ty(3)?,
                v: a.ty(4)?,
            };
            let kb = encode(a.arg(2, "the key")?, &types.k)?;
            let db = dbi(1)?;
            let values = r.list(&db, &kb)?;
            let count = capped(r.list_count(&db, &kb)?, opts.limit);
            let vt = types.v;
            let items = values.take(opts.limit.unwrap_or(usize::MAX)).map(move |p| {
                let (_, v) = p?;
                decode(v, &vt)
            });
            Ok(Counted {
                count,
                items: Box::new(items),
            })
        }
        "list-range" | "list-range-first" | "list-range-first-n" => {
            // [db dbi k-range kt v-range vt]; list-range-first-n [db dbi n k-range kt
            // v-range vt].
            let shift = usize::from(a.op == "list-range-first-n");
            let types = Types {
                k: a.ty(3 + shift)?,
                v: a.ty(5 + shift)?,
            };
            let keys = parse_range(a.arg(2 + shift, "the key range")?, &types.k)?;
            let value_spec = a.opt_arg(4 + shift);
            let values = match value_spec {
                Some(spec) => parse_range(spec, &types.v)?,
                None => Range::all(),
            };
            let n = match a.op {
                "list-range-first" => Some(1),
                "list-range-first-n" => Some(
                    usize::try_from(a.count(2, "the count")?.unwrap_or(1)).unwrap_or(usize::MAX),
                ),
                _ => opts.limit,
            };
            let db = dbi(1)?;
            // Every value of the keys: the tree counts them. Some values: a walk.
            let count = match value_spec {
                None => capped(r.count(&db, &keys)?, n),
                Some(_) => walk_count(r.list_range(&db, keys.clone(), values.clone())?, n)?,
            };
            let pairs = list_pairs(r, &db, keys, values)?;
            let items = pairs.take(n.unwrap_or(usize::MAX)).map(move |p| {
                let (k, v) = p?;
                types.pair(k, v, false)
            });
            Ok(Counted {
                count,
                items: Box::new(items),
            })
        }
        other => Err(bad(format!(
            "{other} is not a key-value read answered item by item"
        ))),
    }
}

/// The pairs of a list database in a key range, read as Datalevin reads them: keys in
/// the direction of `keys`, each key's values in `values` in the direction of `values`
/// (`[:all-back]` keys with `[:all]` values: the last key first, its values ascending).
fn list_pairs<'t>(
    r: &'t dyn Read,
    db: &levin_engine::Db,
    keys: Range,
    values: Range,
) -> Result<PairIter<'t>> {
    if keys.reverse == values.reverse {
        return Ok(Box::new(r.list_range(db, keys, values)?));
    }
    // One key at a time: the engine walks a key's values in its key range's direction.
    let db = db.clone();
    let each_key = r.keys(&db, keys)?;
    Ok(Box::new(each_key.flat_map(move |k| -> PairIter<'t> {
        let one_key = k.and_then(|k| {
            let only = Range::closed(k, k);
            let only = if values.reverse { only.rev() } else { only };
            r.list_range(&db, only, values.clone())
        });
        match one_key {
            Ok(pairs) => Box::new(pairs),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    })))
}

/// Pairs borrowed from a read transaction, as the engine's iterators give them.
type PairIter<'t> = Box<dyn Iterator<Item = levin_engine::Result<(&'t [u8], &'t [u8])>> + 't>;

/// The vector of a counted read's items (or, for `get-first` and `list-range-first`, its
/// first item or `nil`).
fn counted_edn(r: &dyn Read, a: &KvArgs<'_>, opts: &ReadOpts) -> Result<Edn> {
    let mut c = read_counted(r, a, opts)?;
    if matches!(a.op, "get-first" | "list-range-first") {
        return Ok(c.items.next().transpose()?.unwrap_or(Edn::Nil));
    }
    Ok(Edn::Vector(c.items.collect::<Result<_>>()?))
}

/// Runs one of the [`READ_OPS`] with Datalevin's arguments and result shapes (`[k v]`
/// pairs, or values alone with `ignore-key?`; `nil` for nothing found).
pub fn read_op(r: &dyn Read, a: &KvArgs<'_>, opts: &ReadOpts) -> Result<Edn> {
    let dbi = |i: usize| -> Result<levin_engine::Db> { Ok(r.open_db(a.dbi(i)?)?) };
    match a.op {
        "list-dbis" => Ok(Edn::Vector(
            r.db_names()?
                .into_iter()
                .filter(|n| !n.starts_with("datalog/"))
                .map(Edn::string)
                .collect(),
        )),
        "entries" => Ok(long(r.len(&dbi(1)?)?)),
        "get-value" => {
            // [db dbi k kt vt ignore-key?]
            let types = Types {
                k: a.ty(3)?,
                v: a.ty(4)?,
            };
            let kb = encode(a.arg(2, "the key")?, &types.k)?;
            match r.get(&dbi(1)?, &kb)? {
                Some(v) => types.pair(&kb, v, a.flag(5, true)),
                None => Ok(Edn::Nil),
            }
        }
        "get-first" | "get-first-n" | "get-range" | "key-range" => counted_edn(r, a, opts),
        "range-count" | "key-range-count" => {
            let kt = a.ty(3)?;
            let range = parse_range(a.arg(2, "the range")?, &kt)?;
            let db = dbi(1)?;
            if a.op == "key-range-count" && db.is_list() {
                // Distinct keys, not pairs.
                let mut n = 0u64;
                for k in r.keys(&db, range)? {
                    k?;
                    n += 1;
                }
                return Ok(long(n));
            }
            Ok(long(r.count(&db, &range)?))
        }
        "get-rank" => {
            let kb = encode(a.arg(2, "the key")?, &a.ty(3)?)?;
            Ok(r.rank(&dbi(1)?, &kb)?.map_or(Edn::Nil, long))
        }
        "get-by-rank" => {
            let types = Types {
                k: a.ty(3)?,
                v: a.ty(4)?,
            };
            let rank = a.count(2, "the rank")?.unwrap_or(0);
            match r.get_by_rank(&dbi(1)?, rank)? {
                // As Datalevin, the value alone unless `ignore-key?` is false.
                Some((k, v)) => types.pair(k, v, a.flag(5, true)),
                None => Ok(Edn::Nil),
            }
        }
        "sample-kv" | "get-list" => counted_edn(r, a, opts),
        "list-count" => {
            let kb = encode(a.arg(2, "the key")?, &a.ty(3)?)?;
            Ok(long(r.list_count(&dbi(1)?, &kb)?))
        }
        "in-list?" => {
            // [db dbi k v kt vt]
            let kb = encode(a.arg(2, "the key")?, &a.ty(4)?)?;
            let vb = encode(a.arg(3, "the value")?, &a.ty(5)?)?;
            Ok(Edn::Bool(r.in_list(&dbi(1)?, &kb, &vb)?))
        }
        "list-range" | "list-range-first" | "list-range-first-n" => counted_edn(r, a, opts),
        "list-range-count" => {
            // [db dbi k-range kt v-range vt]
            let (kt, vt) = (a.ty(3)?, a.ty(5)?);
            let keys = parse_range(a.arg(2, "the key range")?, &kt)?;
            let values = match a.opt_arg(4) {
                Some(spec) => parse_range(spec, &vt)?,
                None => Range::all(),
            };
            Ok(long(walk_count(
                r.list_range(&dbi(1)?, keys, values)?,
                None,
            )?))
        }
        other => Err(bad(format!("{other} is not a key-value read operation"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use levin_edn::read;

    fn e(s: &str) -> Edn {
        read(s).unwrap()
    }

    #[test]
    fn types_round_trip_values() {
        for (t, v) in [
            (":string", "\"hi\""),
            (":long", "-5"),
            (":double", "1.5"),
            (":keyword", ":a/b"),
            (":boolean", "true"),
            (":uuid", "#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\""),
            (":instant", "#inst \"2024-01-02T03:04:05.006Z\""),
            (":data", "{:a [1 2 #{3}]}"),
            ("[:long]", "[1 2 3]"),
            ("[:long :string]", "[1 \"x\"]"),
        ] {
            let ty = parse_type(&e(t)).unwrap();
            let bytes = encode(&e(v), &ty).unwrap();
            assert_eq!(decode(&bytes, &ty).unwrap(), e(v), "{t} {v}");
        }
        assert_eq!(
            decode(
                &encode(&e("2"), &ValueType::Double).unwrap(),
                &ValueType::Double
            )
            .unwrap(),
            e("2.0")
        );
        assert!(encode(&e("\"x\""), &ValueType::Long)
            .unwrap_err()
            .to_string()
            .contains("not a value of"));
        assert!(parse_type(&e(":nope"))
            .unwrap_err()
            .to_string()
            .contains(":nope"));
        assert!(parse_type(&e("[:data]")).is_err());
    }

    #[test]
    fn range_specs_follow_datalevin() {
        let ty = ValueType::Long;
        let k = |n: i64| encode(&Edn::Long(n), &ty).unwrap();
        assert_eq!(
            parse_range(&e("[:closed 1 5]"), &ty).unwrap(),
            Range::closed(k(1), k(5))
        );
        assert_eq!(
            parse_range(&e("[:closed-back 5 1]"), &ty).unwrap(),
            Range::closed(k(1), k(5)).rev()
        );
        assert_eq!(
            parse_range(&e("[:closed-open-back 5 1]"), &ty).unwrap(),
            Range::open_closed(k(1), k(5)).rev()
        );
        let r = parse_range(&e("[:all-back]"), &ty).unwrap();
        assert!(r.reverse);
        assert!(parse_range(&e("[:closed 1]"), &ty).is_err());
        assert!(parse_range(&e("[:sideways 1]"), &ty)
            .unwrap_err()
            .to_string()
            .contains(":sideways"));
    }
}
