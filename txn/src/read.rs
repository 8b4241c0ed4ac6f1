//! Read transactions: a registered snapshot of the last commit, readable without locks and
//! never blocked by the writer.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use levin_btree::{BtreeError, PageSource};
use levin_pager::{Meta, Pgno};

use crate::env::EnvCore;
use crate::error::{Result, TxnError};

/// A read-only snapshot. Pages it can reach are not reused until it is dropped.
/// `Send`, so it can move to another thread.
#[derive(Debug)]
pub struct ReadTxn {
    env: Arc<EnvCore>,
    meta: Meta,
    slot: usize,
}

impl ReadTxn {
    pub(crate) fn begin(env: Arc<EnvCore>) -> Result<ReadTxn> {
        let mut meta = env.meta();
        let slot = env
            .readers
            .claim(meta.txn_id)
            .ok_or(TxnError::ReadersFull(env.readers.capacity()))?;
        // A commit may have slipped in between reading the meta and publishing the slot;
        // if so, move to the newer snapshot (see readers.rs for why this suffices).
        while env.current_txn.load(Ordering::SeqCst) != meta.txn_id {
            meta = env.meta();
            env.readers.set(slot, meta.txn_id);
        }
        Ok(ReadTxn { env, meta, slot })
    }

    /// The snapshot's meta (transaction id, catalog and free tree roots).
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The environment.
    pub fn env(&self) -> &Arc<EnvCore> {
        &self.env
    }
}

impl Drop for ReadTxn {
    fn drop(&mut self) {
        self.env.readers.release(self.slot);
    }
}

impl PageSource for ReadTxn {
    fn page(&self, pgno: Pgno) -> levin_btree::Result<&[u8]> {
        self.pages(pgno, 1)
    }

    fn pages(&self, pgno: Pgno, count: u64) -> levin_btree::Result<&[u8]> {
        if pgno < levin_pager::format::FIRST_DATA_PAGE
            || pgno.saturating_add(count) > self.meta.npages
        {
            return Err(BtreeError::corrupted(
                pgno,
                format!(
                    "page reference outside the snapshot's {} pages",
                    self.meta.npages
                ),
            ));
        }
        Ok(self.env.pager.pages(pgno, count)?)
    }

    fn page_size(&self) -> usize {
        self.env.pager.page_size()
    }
}
