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

use levin_pager::{LockFile, ReaderSlot, NO_SNAPSHOT};

use crate::protocol::{self, Cell64};

impl Cell64 for AtomicU64 {
    fn observe(&self) -> u64 {
        self.fetch_add(0, Ordering::SeqCst)
    }
    fn publish(&self, v: u64) {
        self.swap(v, Ordering::SeqCst);
    }
}

/// A slot's owner while a reclaimer frees it (never a token: tokens are at most 2^20).
const RECLAIMING: u32 = u32::MAX;

/// The owner token of every slot of a private (exclusive-mode) table.
const PRIVATE_OWNER: u32 = 1;

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
    /// Process id, as the reader's process sees itself (in another PID namespace, such as
    /// another container, it may name a different process, or none, here).
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
    /// This process's owner token (see `levin_pager::LockFile::owner`).
    owner: u32,
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
            owner: PRIVATE_OWNER,
            pid: std::process::id(),
            next_hint: AtomicUsize::new(0),
        }
    }

    /// A table in a shared lock file.
    pub fn shared(lock: LockFile) -> Self {
        let t = ReaderTable {
            owner: lock.owner(),
            slots: Slots::Shared(lock),
            pid: std::process::id(),
            next_hint: AtomicUsize::new(0),
        };
        // Slots that name this process's token were left by a process that held the token
        // before and is gone (the token's byte was free when this process locked it).
        for s in t.slots() {
            t.free_if_owned_by(s, t.owner);
        }
        t.reclaim_dead();
        t
    }

    /// Frees slot `s` if `owner` still owns it; true if this call freed it.
    fn free_if_owned_by(&self, s: &ReaderSlot, owner: u32) -> bool {
        // Take the slot first, so a racing reclaimer cannot clear the snapshot of a reader
        // that claimed the slot in between; only then clear and free it.
        if s.owner
            .compare_exchange(owner, RECLAIMING, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        s.txn.store(NO_SNAPSHOT, Ordering::SeqCst);
        s.pid.store(0, Ordering::SeqCst);
        s.owner.store(0, Ordering::SeqCst);
        true
    }

    /// True unless slots of `owner` belong to a process that is gone.
    fn owner_alive(&self, owner: u32) -> bool {
        match &self.slots {
            Slots::Shared(l) => l.owner_alive(owner),
            Slots::Private { .. } => true,
        }
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
                .owner
                .compare_exchange(0, self.owner, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                slots[i].pid.store(self.pid, Ordering::Relaxed);
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
        s.owner.store(0, Ordering::SeqCst);
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
                let owner = s.owner.load(Ordering::SeqCst);
                let txn = s.txn.load(Ordering::SeqCst);
                (owner != 0 && owner != RECLAIMING && txn != NO_SNAPSHOT).then(|| ReaderInfo {
                    pid: s.pid.load(Ordering::SeqCst),
                    txn,
                    age_ms: now.saturating_sub(s.started_ms.load(Ordering::Relaxed)),
                })
            })
            .collect()
    }

    /// Frees the slots of processes that no longer exist; returns how many. A process is
    /// alive while it holds its owner byte's record lock, which the kernel drops when it
    /// dies: unlike a process id, this means the same in every PID namespace.
    pub fn reclaim_dead(&self) -> usize {
        let mut n = 0;
        for s in self.slots() {
            let owner = s.owner.load(Ordering::SeqCst);
            if owner != 0
                && owner != RECLAIMING
                && owner != self.owner
                && !self.owner_alive(owner)
                && self.free_if_owned_by(s, owner)
            {
                n += 1;
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
