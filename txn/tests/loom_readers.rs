//! Loom model of the reader-slot protocol (txn/src/protocol.rs): whatever the interleaving,
//! every reuse limit the writer computes is <= the snapshot a live reader settled on, so
//! the writer never reuses a page the reader can reach.
//!
//! Run with: `RUSTFLAGS="--cfg loom" cargo test -p levin-txn --release --test loom_readers`.

#![cfg(loom)]

use levin_txn::protocol::{self, Cell64, NONE};
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::sync::Arc;
use loom::thread;

struct Cell(AtomicU64);

impl Cell64 for Cell {
    // Release/acquire only: the protocol must not depend on SeqCst's total order.
    fn observe(&self) -> u64 {
        self.0.fetch_add(0, Ordering::AcqRel)
    }
    fn publish(&self, v: u64) {
        self.0.swap(v, Ordering::AcqRel);
    }
}

/// Committed starts at 1; the writer runs transactions 2..=4, computing before each the
/// reuse limit from the slots, exactly as WriteTxn::begin does, then publishing it.
fn model(readers: usize, preemptions: usize) {
    let mut builder = loom::model::Builder::new();
    // The reader's retry loop makes unbounded schedules possible; bounding preemptions keeps
    // the search finite while still covering every interleaving of the handshake.
    builder.preemption_bound = Some(preemptions);
    builder.check(move || {
        let committed = Arc::new(Cell(AtomicU64::new(1)));
        let slots: Arc<Vec<Cell>> =
            Arc::new((0..readers).map(|_| Cell(AtomicU64::new(NONE))).collect());
        let limits = Arc::new(loom::sync::Mutex::new(Vec::new()));

        let writer = {
            let (committed, slots, limits) = (committed.clone(), slots.clone(), limits.clone());
            thread::spawn(move || {
                for w in 2..=4u64 {
                    let limit = protocol::reuse_limit(protocol::oldest(slots.iter()), w);
                    limits.lock().unwrap().push(limit);
                    committed.publish(w);
                }
            })
        };
        let handles: Vec<_> = (0..readers)
            .map(|i| {
                let (committed, slots) = (committed.clone(), slots.clone());
                thread::spawn(move || protocol::begin_snapshot(&slots[i], &*committed, |c| (c, c)))
            })
            .collect();
        writer.join().unwrap();
        let snaps: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        // The readers never release their slots, so no limit may pass their snapshot.
        for limit in limits.lock().unwrap().iter().flatten() {
            for s in &snaps {
                assert!(
                    limit <= s,
                    "writer may reuse pages of snapshot {s} (limit {limit})"
                );
            }
        }
    });
}

#[test]
fn one_reader_is_never_missed() {
    model(1, 3);
}

#[test]
fn two_readers_are_never_missed() {
    model(2, 2);
}
