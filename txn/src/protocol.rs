//! The reader/writer snapshot protocol, written over a minimal atomic-cell trait so the
//! same code runs on the shared-memory slots and, under `cfg(loom)`, on loom's atomics.
//!
//! The protocol is a store-then-check handshake on two locations (the reader's slot and the
//! committed id), which plain release/acquire loads and stores do not make safe. Both sides
//! therefore use read-modify-write operations (`swap` to publish, `fetch_add(0)` to
//! observe): an RMW always reads the latest value in its location's modification order, and
//! an RMW that reads another's write synchronises with it, so whichever side acts second is
//! guaranteed to see the other. This holds under release/acquire alone, which is what loom
//! can model (it does not model SeqCst's total order).

/// A 64-bit cell with the two operations the protocol needs.
pub trait Cell64 {
    /// Reads the latest value (an RMW: `fetch_add(0)`).
    fn observe(&self) -> u64;
    /// Writes a value (an RMW: `swap`).
    fn publish(&self, v: u64);
}

/// A slot value meaning "no snapshot".
pub const NONE: u64 = u64::MAX;

/// Reader side: publish a snapshot in `slot`, then confirm no commit was published since
/// the committed id the snapshot was chosen from. `load(committed)` picks the snapshot to
/// read (its id must be >= `committed`) and returns (id, description).
pub fn begin_snapshot<C: Cell64 + ?Sized, T>(
    slot: &C,
    committed: &C,
    mut load: impl FnMut(u64) -> (u64, T),
) -> T {
    let mut seen = committed.observe();
    loop {
        let (id, snap) = load(seen);
        slot.publish(id);
        let now = committed.observe();
        if now == seen {
            return snap;
        }
        seen = now;
    }
}

/// Writer side: the oldest snapshot any slot holds.
pub fn oldest<'a, C: Cell64 + 'a>(slots: impl Iterator<Item = &'a C>) -> Option<u64> {
    slots.map(|s| s.observe()).filter(|&v| v != NONE).min()
}

/// Writer side: free-list records freed by transactions up to the returned id may be reused
/// by the transaction `writer`. Pages freed by F are unreachable from snapshots >= F, so
/// keep every snapshot a reader holds, and `writer - 2` (the older meta on disk, which
/// recovery falls back to if the newest meta is lost).
pub fn reuse_limit(oldest_reader: Option<u64>, writer: u64) -> Option<u64> {
    writer
        .checked_sub(2)
        .map(|w| w.min(oldest_reader.unwrap_or(u64::MAX)))
}
