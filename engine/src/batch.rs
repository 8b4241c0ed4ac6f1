//! Atomic batches of KV operations (Datalevin's transact-kv): all apply in one commit, or
//! none do.

use crate::db::Db;
use crate::env::Env;
use crate::error::Result;
use crate::txn::RwTxn;

/// One operation of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    /// Put a key and value into a plain database.
    Put {
        /// The database.
        db: Db,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Delete a key (and all its values, in a list database).
    Delete {
        /// The database.
        db: Db,
        /// The key.
        key: Vec<u8>,
    },
    /// Add values to a key's list.
    PutList {
        /// The list database.
        db: Db,
        /// The key.
        key: Vec<u8>,
        /// The values to add.
        values: Vec<Vec<u8>>,
    },
    /// Remove values from a key's list.
    DeleteList {
        /// The list database.
        db: Db,
        /// The key.
        key: Vec<u8>,
        /// The values to remove.
        values: Vec<Vec<u8>>,
    },
}

impl RwTxn {
    /// Applies a batch inside this transaction.
    pub fn apply(&mut self, ops: &[KvOp]) -> Result<()> {
        for op in ops {
            match op {
                KvOp::Put { db, key, value } => self.put(db, key, value)?,
                KvOp::Delete { db, key } => {
                    self.delete(db, key)?;
                }
                KvOp::PutList { db, key, values } => {
                    for v in values {
                        self.put_list(db, key, v)?;
                    }
                }
                KvOp::DeleteList { db, key, values } => {
                    for v in values {
                        self.delete_list(db, key, v)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Env {
    /// Applies a batch atomically in its own transaction: on any error nothing is written.
    pub fn transact(&self, ops: &[KvOp]) -> Result<()> {
        let mut w = self.write()?;
        w.apply(ops)?;
        w.commit()
    }
}
