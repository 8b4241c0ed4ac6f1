//! The Datalog layout on the KV engine: the databases, the byte encodings of entity ids,
//! attribute ids and index items, giants, and the low-level index reads shared by
//! snapshots ([`crate::Db`]) and transactions. The bytes are described in
//! docs/FORMAT.md, "The Datalog layout".

use levin_codec::{decode_value, encode_value, Value};
use levin_engine::{Db as KvDb, Range, Read, RwTxn};

use crate::error::{Error, Result};
use crate::options::StoreOptions;

/// EAV: a list database; key = entity id (8 bytes), values = index items.
pub const EAV: &str = "datalog/eav";
/// AVE: a list database; key = index item, values = entity ids (8 bytes).
pub const AVE: &str = "datalog/ave";
/// Giants: a plain database; key = giant id (8 bytes), value = the whole tagged value.
pub const GIANTS: &str = "datalog/giants";
/// Schema: a plain database; key = attribute id (4 bytes), value = EDN text of the definition.
pub const SCHEMA: &str = "datalog/schema";
/// Meta: a plain database of counters (see the `META_*` keys).
pub const META: &str = "datalog/meta";

/// Meta key: the layout version (u32, currently 1).
pub const META_FORMAT: &[u8] = b"format";
/// Meta key: the largest entity id in use (u64).
pub const META_MAX_EID: &[u8] = b"max-eid";
/// Meta key: the largest attribute id assigned (u32).
pub const META_MAX_AID: &[u8] = b"max-aid";
/// Meta key: the largest giant id assigned (u64).
pub const META_MAX_GID: &[u8] = b"max-gid";
/// Meta key: the giant threshold `L` (u32): value encodings longer than `L` bytes are giants.
pub const META_GIANT_LIMIT: &[u8] = b"giant-limit";

/// Meta key: the schema generation (u64), bumped by every change to the schema database,
/// so a connection (or a later process) knows when its cached schema is stale.
pub const META_SCHEMA_GEN: &[u8] = b"schema-gen";

/// Meta key: the database's `:closed-schema?` option (one byte, 0 or 1; absent is 0).
pub const META_CLOSED_SCHEMA: &[u8] = b"closed-schema";
/// Meta key: the database's `:auto-entity-time?` option (one byte, 0 or 1; absent is 0).
pub const META_AUTO_ENTITY_TIME: &[u8] = b"auto-entity-time";

/// The layout version written in meta.
pub const FORMAT_VERSION: u32 = 1;

/// Bytes of a giant id.
pub const GID_LEN: usize = 8;

/// The handles of the five databases.
#[derive(Debug, Clone)]
pub struct Dbs {
    /// EAV index.
    pub eav: KvDb,
    /// AVE index.
    pub ave: KvDb,
    /// Giant values.
    pub giants: KvDb,
    /// Attribute definitions.
    pub schema: KvDb,
    /// Counters.
    pub meta: KvDb,
}

impl Dbs {
    /// Creates (or opens) the databases in a write transaction.
    pub fn create(w: &mut RwTxn) -> Result<Dbs> {
        Ok(Dbs {
            eav: w.create_list_db(EAV)?,
            ave: w.create_list_db(AVE)?,
            giants: w.create_db(GIANTS)?,
            schema: w.create_db(SCHEMA)?,
            meta: w.create_db(META)?,
        })
    }

    /// Opens the databases in a snapshot.
    pub fn open(r: &dyn Read) -> Result<Dbs> {
        Ok(Dbs {
            eav: r.open_db(EAV)?,
            ave: r.open_db(AVE)?,
            giants: r.open_db(GIANTS)?,
            schema: r.open_db(SCHEMA)?,
            meta: r.open_db(META)?,
        })
    }
}

/// The largest entity id a transaction may name explicitly: one below the largest id the
/// store can hold, so new entities can still be numbered after it.
pub const MAX_EID: u64 = i64::MAX as u64 - 1;

/// The largest entity id the store holds (ids are stored and compared as longs).
pub const NEW_EID_LIMIT: u64 = i64::MAX as u64;

/// The counters of the meta database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Largest entity id in use.
    pub max_eid: u64,
    /// Largest attribute id assigned.
    pub max_aid: u32,
    /// Largest giant id assigned.
    pub max_gid: u64,
    /// Value encodings longer than this are giants.
    pub giant_limit: usize,
    /// Bumped by every schema change.
    pub schema_gen: u64,
    /// The options the database is transacted under.
    pub options: StoreOptions,
}

impl Meta {
    /// Reads the counters.
    pub fn read(r: &dyn Read, dbs: &Dbs) -> Result<Meta> {
        let u64_of = |k: &[u8]| -> Result<u64> {
            match r.get(&dbs.meta, k)? {
                Some(b) if b.len() == 8 => Ok(u64::from_be_bytes(b.try_into().unwrap_or([0; 8]))),
                Some(b) if b.len() == 4 => Ok(u64::from(u32::from_be_bytes(
                    b.try_into().unwrap_or([0; 4]),
                ))),
                Some(_) => Err(Error::Corrupt(format!(
                    "meta key {:?} has a bad length",
                    String::from_utf8_lossy(k)
                ))),
                None => Ok(0),
            }
        };
        let flag_of = |k: &[u8]| -> Result<bool> {
            match r.get(&dbs.meta, k)? {
                None => Ok(false),
                Some([0]) => Ok(false),
                Some([1]) => Ok(true),
                Some(b) => Err(Error::Corrupt(format!(
                    "meta key {:?} holds {b:?}, not one byte 0 or 1",
                    String::from_utf8_lossy(k)
                ))),
            }
        };
        let format = u64_of(META_FORMAT)?;
        let in_range = |what: &str, v: u64, max: u64| -> Result<u64> {
            if v > max {
                Err(Error::Corrupt(format!(
                    "the Datalog meta's {what} is {v}, over its largest possible value {max}"
                )))
            } else {
                Ok(v)
            }
        };
        if format != u64::from(FORMAT_VERSION) {
            return Err(Error::Corrupt(format!(
                "unknown Datalog layout version {format} (this build reads {FORMAT_VERSION})"
            )));
        }
        Ok(Meta {
            max_eid: in_range("max entity id", u64_of(META_MAX_EID)?, NEW_EID_LIMIT)?,
            max_aid: in_range(
                "max attribute id",
                u64_of(META_MAX_AID)?,
                u64::from(u32::MAX),
            )? as u32,
            max_gid: in_range("max giant id", u64_of(META_MAX_GID)?, u64::MAX - 1)?,
            giant_limit: in_range(
                "giant limit",
                u64_of(META_GIANT_LIMIT)?,
                u64::from(u32::MAX),
            )? as usize,
            schema_gen: u64_of(META_SCHEMA_GEN)?,
            options: StoreOptions {
                closed_schema: flag_of(META_CLOSED_SCHEMA)?,
                auto_entity_time: flag_of(META_AUTO_ENTITY_TIME)?,
            },
        })
    }

    /// Writes the counters.
    pub fn write(&self, w: &mut RwTxn, dbs: &Dbs) -> Result<()> {
        w.put(&dbs.meta, META_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
        w.put(&dbs.meta, META_MAX_EID, &self.max_eid.to_be_bytes())?;
        w.put(&dbs.meta, META_MAX_AID, &self.max_aid.to_be_bytes())?;
        w.put(&dbs.meta, META_MAX_GID, &self.max_gid.to_be_bytes())?;
        w.put(
            &dbs.meta,
            META_GIANT_LIMIT,
            &(self.giant_limit as u32).to_be_bytes(),
        )?;
        w.put(&dbs.meta, META_SCHEMA_GEN, &self.schema_gen.to_be_bytes())?;
        w.put(
            &dbs.meta,
            META_CLOSED_SCHEMA,
            &[u8::from(self.options.closed_schema)],
        )?;
        w.put(
            &dbs.meta,
            META_AUTO_ENTITY_TIME,
            &[u8::from(self.options.auto_entity_time)],
        )?;
        Ok(())
    }
}

/// The giant threshold for a maximum key size: an item (4-byte attribute id, `L` value
/// bytes, 8-byte giant id) must fit a key and a list value.
pub fn giant_limit_for(max_key: usize) -> usize {
    max_key - 4 - GID_LEN
}

/// An entity id as a key: 8 bytes big-endian.
pub fn eid_bytes(e: u64) -> [u8; 8] {
    e.to_be_bytes()
}

/// Reads an 8-byte entity id.
#[inline]
pub fn eid_of(b: &[u8]) -> Result<u64> {
    b.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Corrupt(format!("entity id of {} bytes", b.len())))
}

/// An attribute id: 4 bytes big-endian.
pub fn aid_bytes(a: u32) -> [u8; 4] {
    a.to_be_bytes()
}

/// Splits an index item into attribute id and value part.
pub fn split_item(item: &[u8]) -> Result<(u32, &[u8])> {
    if item.len() < 5 {
        return Err(Error::Corrupt(format!(
            "index item of {} bytes",
            item.len()
        )));
    }
    let (a, v) = item.split_at(4);
    Ok((u32::from_be_bytes(a.try_into().unwrap_or([0; 4])), v))
}

/// `aid ++ part`.
pub fn item(aid: u32, part: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + part.len());
    out.extend_from_slice(&aid_bytes(aid));
    out.extend_from_slice(part);
    out
}

/// The tagged encoding of `v`.
pub fn encode(v: &Value) -> Result<Vec<u8>, levin_codec::CodecError> {
    let mut out = Vec::new();
    encode_value(v, &mut out)?;
    Ok(out)
}

/// The value of an item's value part, reading the giant when it is one.
pub fn part_value(r: &dyn Read, dbs: &Dbs, limit: usize, part: &[u8]) -> Result<Value> {
    if part.len() > limit {
        let gid = &part[part.len() - GID_LEN..];
        let gid_n = eid_of(gid)?;
        let full = r
            .get(&dbs.giants, gid)?
            .ok_or_else(|| Error::Corrupt(format!("missing giant {gid_n}")))?;
        decode_value(full).map_err(|e| Error::Corrupt(e.to_string()))
    } else {
        decode_value(part).map_err(|e| Error::Corrupt(e.to_string()))
    }
}

/// The value part under which `enc` (a tagged encoding) is indexed, if it is stored:
/// itself when short, or the part of the stored giant with equal bytes.
pub fn find_part(
    r: &dyn Read,
    dbs: &Dbs,
    limit: usize,
    aid: u32,
    enc: &[u8],
) -> Result<Option<Vec<u8>>> {
    if enc.len() <= limit {
        return Ok(Some(enc.to_vec()));
    }
    let prefix = item(aid, &enc[..limit]);
    for kv in r.keys(&dbs.ave, Range::prefix(&prefix))? {
        let key = kv?;
        let part = &key[4..];
        if part.len() == limit + GID_LEN {
            let gid = &part[limit..];
            if r.get(&dbs.giants, gid)? == Some(enc) {
                return Ok(Some(part.to_vec()));
            }
        }
    }
    Ok(None)
}

/// Entity ids (AVE values) of one index item, in order.
pub fn entities_of(r: &dyn Read, dbs: &Dbs, key: &[u8]) -> Result<Vec<u64>> {
    Ok(entities_of_each(r, dbs, &[key])?.pop().unwrap_or_default())
}

/// Entity ids (AVE values) of each of `keys` (index items in ascending order), one vector
/// per key in the same order, read with one cursor.
pub fn entities_of_each(r: &dyn Read, dbs: &Dbs, keys: &[&[u8]]) -> Result<Vec<Vec<u64>>> {
    // All ids in one vector first (the visit gives the keys' ids in key order), then one
    // exactly sized vector per key: no vector grows a push at a time.
    let mut ids: Vec<u64> = Vec::new();
    let mut bad = None;
    let mut push = |ids: &mut Vec<u64>, e: &[u8]| match eid_of(e) {
        Ok(e) => ids.push(e),
        Err(err) => {
            bad.get_or_insert(err);
        }
    };
    if keys.len() == 1 {
        r.visit_lists(&dbs.ave, keys, &mut |_, e| {
            push(&mut ids, e);
            Ok(())
        })?;
        if let Some(err) = bad {
            return Err(err);
        }
        return Ok(vec![ids]);
    }
    // `ends[k]`: where key `k`'s ids end, for each key before the one being visited.
    let mut ends: Vec<usize> = Vec::with_capacity(keys.len());
    r.visit_lists(&dbs.ave, keys, &mut |j, e| {
        while ends.len() < j {
            ends.push(ids.len());
        }
        push(&mut ids, e);
        Ok(())
    })?;
    if let Some(err) = bad {
        return Err(err);
    }
    ends.resize(keys.len(), ids.len());
    let mut start = 0;
    Ok(ends
        .into_iter()
        .map(|end| {
            let each = ids[start..end].to_vec();
            start = end;
            each
        })
        .collect())
}

/// The items (attribute id + value part) of entity `e` for attribute `aid`.
pub fn items_of(r: &dyn Read, dbs: &Dbs, e: u64, aid: u32) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for_each_item_of_attr(r, dbs, e, aid, |it| {
        out.push(it.to_vec());
        Ok(())
    })?;
    Ok(out)
}

/// Calls `f` on every item of entity `e` in index order, with no copy of the items (what
/// reads that decode each item at once use).
pub fn for_each_item_of(
    r: &dyn Read,
    dbs: &Dbs,
    e: u64,
    mut f: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    for kv in r.list(&dbs.eav, &eid_bytes(e))? {
        f(kv?.1)?;
    }
    Ok(())
}

/// Calls `f` on every item of entity `e` for attribute `aid`, in index order, with no copy.
pub fn for_each_item_of_attr(
    r: &dyn Read,
    dbs: &Dbs,
    e: u64,
    aid: u32,
    mut f: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let k = eid_bytes(e);
    for kv in r.list_range(&dbs.eav, Range::closed(k, k), Range::prefix(aid_bytes(aid)))? {
        f(kv?.1)?;
    }
    Ok(())
}

/// Every item of entity `e`.
pub fn all_items_of(r: &dyn Read, dbs: &Dbs, e: u64) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for_each_item_of(r, dbs, e, |it| {
        out.push(it.to_vec());
        Ok(())
    })?;
    Ok(out)
}
