//! Fast hashers for the write transaction's maps: page-number keys (the dirty-page maps are
//! looked up several times per tree level on every write, where SipHash's DoS resistance
//! buys nothing: page numbers come from the allocator, not from users), and database names
//! (looked up twice per operation; a transaction touches a handful of databases, so
//! collisions cost little even if names were chosen to collide).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Multiplicative hashing of one u64 (Fibonacci hashing), good enough for page numbers.
#[derive(Default, Clone, Copy)]
pub struct PgnoHasher(u64);

impl Hasher for PgnoHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 ^= self.0 >> 29;
    }
}

/// A map keyed by page number.
pub type PgnoMap<V> = HashMap<u64, V, BuildHasherDefault<PgnoHasher>>;
/// A set of page numbers.
pub type PgnoSet = HashSet<u64, BuildHasherDefault<PgnoHasher>>;

/// FNV-1a over the bytes of a key, for short strings such as database names.
#[derive(Clone, Copy)]
pub struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// A map keyed by database name.
pub type NameMap<V> = HashMap<String, V, BuildHasherDefault<NameHasher>>;
