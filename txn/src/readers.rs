//! The reader table: one slot per live read transaction holding the snapshot it reads, so
//! the writer can tell the oldest snapshot still in use and never reuse its pages.
//!
//! Protocol (see docs/ARCHITECTURE.md, "Reader slots"): a reader publishes its snapshot id in
//! a slot, then re-reads the latest committed id; if a commit slipped in between, it retries
//! with the newer snapshot. With sequentially consistent operations on both sides, a writer
//! that scans the slots either sees the reader's slot or the reader sees the writer's newer
//! commit and moves to it, so a snapshot in use is never missed.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Marks a free slot.
pub const FREE: u64 = u64::MAX;

/// A fixed table of reader slots.
#[derive(Debug)]
pub struct ReaderTable {
    slots: Box<[AtomicU64]>,
    next_hint: AtomicUsize,
}

impl ReaderTable {
    /// A table with `n` free slots.
    pub fn new(n: usize) -> Self {
        ReaderTable {
            slots: (0..n).map(|_| AtomicU64::new(FREE)).collect(),
            next_hint: AtomicUsize::new(0),
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Claims a free slot, storing `snapshot` in it; None if the table is full.
    pub fn claim(&self, snapshot: u64) -> Option<usize> {
        let n = self.slots.len();
        let start = self.next_hint.fetch_add(1, Ordering::Relaxed) % n.max(1);
        for k in 0..n {
            let i = (start + k) % n;
            if self.slots[i]
                .compare_exchange(FREE, snapshot, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                return Some(i);
            }
        }
        None
    }

    /// Updates the snapshot held in a claimed slot.
    pub fn set(&self, slot: usize, snapshot: u64) {
        self.slots[slot].store(snapshot, Ordering::SeqCst);
    }

    /// Releases a slot.
    pub fn release(&self, slot: usize) {
        self.slots[slot].store(FREE, Ordering::SeqCst);
    }

    /// The oldest snapshot held by any reader, or None if there are no readers.
    pub fn oldest(&self) -> Option<u64> {
        self.slots
            .iter()
            .map(|s| s.load(Ordering::SeqCst))
            .filter(|&v| v != FREE)
            .min()
    }

    /// Snapshots held by live readers.
    pub fn live(&self) -> Vec<u64> {
        self.slots
            .iter()
            .map(|s| s.load(Ordering::SeqCst))
            .filter(|&v| v != FREE)
            .collect()
    }
}
