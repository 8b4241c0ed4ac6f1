//! Sequential UUIDs (Datalevin's `squuid`): version-4 UUIDs whose first 32 bits are the
//! creation time in seconds, so that ids made later sort later, which keeps index inserts
//! near the end of a `:db.type/uuid` attribute.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use levin_edn::Edn;

/// Distinguishes UUIDs made in the same nanosecond.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 64 bits that are hard to predict: std's per-process random hash keys over a counter and
/// the clock.
fn random_u64(nanos: u128) -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(nanos);
    h.finish()
}

/// A new sequential UUID, as [`Edn::Uuid`].
pub fn squuid() -> Edn {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&random_u64(now.as_nanos()).to_be_bytes());
    b[8..].copy_from_slice(&random_u64(now.as_nanos() ^ 0x5555).to_be_bytes());
    b[..4].copy_from_slice(&(now.as_secs() as u32).to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    Edn::Uuid(b)
}

/// The creation time of a [`squuid`] in milliseconds since the epoch (whole seconds), or
/// `None` if `id` is not a UUID.
pub fn squuid_time_millis(id: &Edn) -> Option<i64> {
    match id {
        Edn::Uuid(b) => Some(i64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])) * 1000),
        _ => None,
    }
}
