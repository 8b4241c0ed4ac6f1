//! The reader table: one slot per live read transaction holding the snapshot it reads, so
//! the writer can tell the oldest snapshot in use in any process and never reuse its pages.
//! The slots live in the shared lock file (or in process memory in exclusive mode).
//!
//! Protocol (src/protocol.rs, checked with loom in tests/loom_readers.rs; see
//! docs/ARCHITECTURE.md): a reader publishes its snapshot id in its slot, then re-reads the
//! committed id; if a commit slipped in between, it retries with the newer snapshot. The
//! writer publishes each commit before it scans the slots for its next transaction. Both
//! sides use read-modify-write operations, so either the writer's scan sees the reader's
//! slot, or the reader's re-read sees the newer commit and moves on: a snapshot in use is
//! never missed.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use levin_pager::{process_alive, LockFile, ReaderSlot, NO_SNAPSHOT};

use crate::protocol::{self, Cell64};

impl Cell64 for AtomicU64 {
    fn observe(&self) -> u64 {
        self.fetch_add(0, Ordering::SeqCst)
    }
    fn publish(&self, v: u64) {
        self.swap(v, Ordering::SeqCst);
    }
}

/// A slot's pid while a reclaimer frees it (never a real process id: pids are < 2^22).
const RECLAIMING: u32 = u32::MAX;

enum Slots {
    /// Exclusive mode: this process is the only user; slots live in its memory.
    Private {
        slots: Box<[ReaderSlot]>,
        committed: AtomicU64,
    },
    /// Shared mode: slots live in the mapped lock file.
    Shared(LockFile),
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Slots::Private { slots, .. } => write!(f, "Private({} slots)", slots.len()),
            Slots::Shared(l) => write!(f, "Shared({})", l.path().display()),
        }
    }
}

/// A live reader, as reported to `stat` tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// Process id.
    pub pid: u32,
    /// Snapshot (transaction id) it reads.
    pub txn: u64,
    /// Milliseconds since it took the snapshot.
    pub age_ms: u64,
}

/// The reader table of one environment.
#[derive(Debug)]
pub struct ReaderTable {
    slots: Slots,
    pid: u32,
    next_hint: AtomicUsize,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl ReaderTable {
    /// A table in process memory (exclusive mode).
    pub fn private(n: usize) -> Self {
        ReaderTable {
            slots: Slots::Private {
                slots: (0..n.max(1)).map(|_| ReaderSlot::new()).collect(),
                committed: AtomicU64::new(NO_SNAPSHOT),
            },
            pid: std::process::id(),
            next_hint: AtomicUsize::new(0),
        }
    }

    /// A table in a shared lock file.
    pub fn shared(lock: LockFile) -> Self {
        let t = ReaderTable {
            slots: Slots::Shared(lock),
            pid: std::process::id(),
            next_hint: AtomicUsize::new(0),
        };
        t.reclaim_dead();
        t
    }

    fn slots(&self) -> &[ReaderSlot] {
        match &self.slots {
            Slots::Private { slots, .. } => slots,
            Slots::Shared(l) => l.slots(),
        }
    }

    /// The id of the last commit published to readers ([`NO_SNAPSHOT`] if not yet known).
    pub fn committed(&self) -> &AtomicU64 {
        match &self.slots {
            Slots::Private { committed, .. } => committed,
            Slots::Shared(l) => &l.header().committed,
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots().len()
    }

    /// True when the table is shared with other processes.
    pub fn is_shared(&self) -> bool {
        matches!(self.slots, Slots::Shared(_))
    }

    fn try_claim(&self) -> Option<usize> {
        let slots = self.slots();
        let n = slots.len();
        let start = self.next_hint.fetch_add(1, Ordering::Relaxed) % n;
        for k in 0..n {
            let i = (start + k) % n;
            if slots[i]
                .pid
                .compare_exchange(0, self.pid, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                slots[i].started_ms.store(now_ms(), Ordering::Relaxed);
                return Some(i);
            }
        }
        None
    }

    /// Claims a free slot (reclaiming slots of dead processes if the table is full).
    pub fn claim(&self) -> Option<usize> {
        self.try_claim().or_else(|| {
            if self.reclaim_dead() > 0 {
                self.try_claim()
            } else {
                None
            }
        })
    }

    /// Runs the reader side of the protocol in slot `slot`: `load(committed_id)` returns the
    /// snapshot id to read and whatever describes it; returns that description once the
    /// published snapshot is safe from reuse.
    pub fn begin<T>(&self, slot: usize, load: impl FnMut(u64) -> (u64, T)) -> T {
        protocol::begin_snapshot(&self.slots()[slot].txn, self.committed(), load)
    }

    /// Publishes a new committed id (the writer's half of the handshake).
    pub fn publish_commit(&self, txn: u64) {
        self.committed().publish(txn);
    }

    /// Releases a slot.
    pub fn release(&self, slot: usize) {
        let s = &self.slots()[slot];
        s.txn.store(NO_SNAPSHOT, Ordering::SeqCst);
        s.pid.store(0, Ordering::SeqCst);
    }

    /// The oldest snapshot held by any reader in any process, or None.
    pub fn oldest(&self) -> Option<u64> {
        protocol::oldest(self.slots().iter().map(|s| &s.txn))
    }

    /// Live readers.
    pub fn live(&self) -> Vec<ReaderInfo> {
        let now = now_ms();
        self.slots()
            .iter()
            .filter_map(|s| {
                let pid = s.pid.load(Ordering::SeqCst);
                let txn = s.txn.load(Ordering::SeqCst);
                (pid != 0 && pid != RECLAIMING && txn != NO_SNAPSHOT).then(|| ReaderInfo {
                    pid,
                    txn,
                    age_ms: now.saturating_sub(s.started_ms.load(Ordering::Relaxed)),
                })
            })
            .collect()
    }

    /// Frees the slots of processes that no longer exist; returns how many.
    pub fn reclaim_dead(&self) -> usize {
        let mut n = 0;
        for s in self.slots() {
            let pid = s.pid.load(Ordering::SeqCst);
            if pid != 0 && pid != RECLAIMING && pid != self.pid && !process_alive(pid) {
                // Take the slot first, so a racing reclaimer cannot clear the snapshot of a
                // reader that claimed the slot in between; only then clear and free it.
                if s.pid
                    .compare_exchange(pid, RECLAIMING, Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok()
                {
                    s.txn.store(NO_SNAPSHOT, Ordering::SeqCst);
                    s.pid.store(0, Ordering::SeqCst);
                    n += 1;
                }
            }
        }
        n
    }

    /// Takes the cross-process writer lock (nothing in exclusive mode).
    pub fn lock_writer(&self) -> levin_pager::Result<()> {
        match &self.slots {
            Slots::Shared(l) => l.lock_writer(),
            Slots::Private { .. } => Ok(()),
        }
    }

    /// Takes the cross-process writer lock if it is free; `Ok(false)` when another process
    /// holds it.
    pub fn try_lock_writer(&self) -> levin_pager::Result<bool> {
        match &self.slots {
            Slots::Shared(l) => l.try_lock_writer(),
            Slots::Private { .. } => Ok(true),
        }
    }

    /// Releases the cross-process writer lock.
    pub fn unlock_writer(&self) -> levin_pager::Result<()> {
        match &self.slots {
            Slots::Shared(l) => l.unlock_writer(),
            Slots::Private { .. } => Ok(()),
        }
    }
}
