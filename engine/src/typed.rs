//! Typed tables: a database handle that carries its key and value codecs, so keys and
//! values are encoded order-preservingly on the way in and decoded (zero-copy for strings
//! and bytes) on the way out. Using the wrong Rust type does not compile.

use std::marker::PhantomData;

use levin_codec::{Codec, CodecError};

use crate::db::Db;
use crate::error::{Error, Result};
use crate::iter::Iter;
use crate::range::Range;
use crate::txn::{PutFlags, Read, RwTxn};

/// A database with typed keys `K` and values `V`, e.g. `Table<Long, Str>`.
#[derive(Debug)]
pub struct Table<K: Codec, V: Codec> {
    db: Db,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K: Codec, V: Codec> Clone for Table<K, V> {
    fn clone(&self) -> Self {
        Table {
            db: self.db.clone(),
            _types: PhantomData,
        }
    }
}

fn codec_err(db: &Db, what: &str, e: CodecError) -> Error {
    Error::Codec {
        context: format!("{what} of database {:?}", db.name()),
        source: e,
    }
}

impl<K: Codec, V: Codec> Table<K, V> {
    /// Gives a database handle its types.
    pub fn new(db: Db) -> Self {
        Table {
            db,
            _types: PhantomData,
        }
    }

    /// The untyped handle.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Encodes a key (for building a [`Range`]).
    pub fn key(&self, key: &K::Item) -> Result<Vec<u8>> {
        K::to_vec(key).map_err(|e| codec_err(&self.db, "key", e))
    }

    /// Encodes a value (for list value ranges).
    pub fn value(&self, value: &V::Item) -> Result<Vec<u8>> {
        V::to_vec(value).map_err(|e| codec_err(&self.db, "value", e))
    }

    fn decode_pair<'t>(
        &self,
        k: &'t [u8],
        v: &'t [u8],
    ) -> Result<(K::Decoded<'t>, V::Decoded<'t>)> {
        Ok((
            K::decode(k).map_err(|e| codec_err(&self.db, "stored key", e))?,
            V::decode(v).map_err(|e| codec_err(&self.db, "stored value", e))?,
        ))
    }

    /// The value of `key` (a list table: its first value).
    pub fn get<'t, T: Read>(&self, txn: &'t T, key: &K::Item) -> Result<Option<V::Decoded<'t>>> {
        match txn.get(&self.db, &self.key(key)?)? {
            None => Ok(None),
            Some(v) => Ok(Some(
                V::decode(v).map_err(|e| codec_err(&self.db, "stored value", e))?,
            )),
        }
    }

    /// Puts `key` = `value`.
    pub fn put(&self, txn: &mut RwTxn, key: &K::Item, value: &V::Item) -> Result<()> {
        txn.put(&self.db, &self.key(key)?, &self.value(value)?)
    }

    /// Puts with flags (no-overwrite, append); false if no-overwrite found the key.
    pub fn put_with(
        &self,
        txn: &mut RwTxn,
        key: &K::Item,
        value: &V::Item,
        flags: PutFlags,
    ) -> Result<bool> {
        txn.put_with(&self.db, &self.key(key)?, &self.value(value)?, flags)
    }

    /// Deletes `key`; true if it existed.
    pub fn delete(&self, txn: &mut RwTxn, key: &K::Item) -> Result<bool> {
        txn.delete(&self.db, &self.key(key)?)
    }

    /// Iterates a range of decoded pairs; build bounds with [`Table::key`].
    pub fn range<'t, T: Read>(&self, txn: &'t T, range: Range) -> Result<TypedIter<'t, K, V>> {
        Ok(TypedIter {
            inner: txn.range(&self.db, range)?,
            table: self.clone(),
        })
    }

    /// Entries in a range, O(log n).
    pub fn count<T: Read>(&self, txn: &T, range: &Range) -> Result<u64> {
        txn.count(&self.db, range)
    }

    /// Adds a value to a key's list.
    pub fn put_list(&self, txn: &mut RwTxn, key: &K::Item, value: &V::Item) -> Result<bool> {
        txn.put_list(&self.db, &self.key(key)?, &self.value(value)?)
    }

    /// Removes a value from a key's list.
    pub fn delete_list(&self, txn: &mut RwTxn, key: &K::Item, value: &V::Item) -> Result<bool> {
        txn.delete_list(&self.db, &self.key(key)?, &self.value(value)?)
    }

    /// The decoded values of a key's list.
    pub fn list<'t, T: Read>(&self, txn: &'t T, key: &K::Item) -> Result<TypedIter<'t, K, V>> {
        Ok(TypedIter {
            inner: txn.list(&self.db, &self.key(key)?)?,
            table: self.clone(),
        })
    }

    /// Number of values of a key.
    pub fn list_count<T: Read>(&self, txn: &T, key: &K::Item) -> Result<u64> {
        txn.list_count(&self.db, &self.key(key)?)
    }

    /// True if `value` is in the list of `key`.
    pub fn in_list<T: Read>(&self, txn: &T, key: &K::Item, value: &V::Item) -> Result<bool> {
        txn.in_list(&self.db, &self.key(key)?, &self.value(value)?)
    }
}

/// Iterates decoded (key, value) pairs.
pub struct TypedIter<'t, K: Codec, V: Codec> {
    inner: Iter<'t>,
    table: Table<K, V>,
}

impl<'t, K: Codec, V: Codec> Iterator for TypedIter<'t, K, V> {
    type Item = Result<(K::Decoded<'t>, V::Decoded<'t>)>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(
            self.inner
                .next()?
                .and_then(|(k, v)| self.table.decode_pair(k, v)),
        )
    }
}

impl RwTxn {
    /// Creates (or opens) a plain database with typed keys and values.
    pub fn create_table<K: Codec, V: Codec>(&mut self, name: &str) -> Result<Table<K, V>> {
        Ok(Table::new(self.create_db(name)?))
    }

    /// Creates (or opens) a list database with typed keys and values.
    pub fn create_list_table<K: Codec, V: Codec>(&mut self, name: &str) -> Result<Table<K, V>> {
        Ok(Table::new(self.create_list_db(name)?))
    }
}
