//! Read transactions: a registered snapshot of the last commit, readable without locks and
//! never blocked by the writer.

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
        let slot = env
            .readers()
            .claim()
            .ok_or(TxnError::ReadersFull(env.readers().capacity()))?;
        let meta = env
            .readers()
            .begin(slot, |committed| match env.meta_for(committed) {
                Ok(m) => (m.txn_id, Ok(m)),
                Err(e) => (levin_pager::NO_SNAPSHOT, Err(e)),
            });
        match meta {
            Ok(meta) => Ok(ReadTxn { env, meta, slot }),
            Err(e) => {
                env.readers().release(slot);
                Err(e)
            }
        }
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
        self.env.readers().release(self.slot);
    }
}

impl PageSource for ReadTxn {
    fn page(&self, pgno: Pgno) -> levin_btree::Result<&[u8]> {
        if (levin_pager::format::FIRST_DATA_PAGE..self.meta.npages).contains(&pgno) {
            if let Some(p) = self.env.pager.page_if_mapped(pgno) {
                return Ok(p);
            }
        }
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
