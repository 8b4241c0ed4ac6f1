//! levin-benches: shared pieces of Levin's benchmarks.
//!
//! - [`Rng`]: a small seeded generator, so every engine sees the same keys and values.
//! - [`engines`]: one narrow interface ([`engines::Engine`]) over Levin, LMDB (through
//!   `heed`) and redb, so the comparison runs literally the same workload code on each.
//! - [`workloads`]: the workloads of `engine-compare` (after redb's own benchmark suite).
//! - [`machine`]: a description of the machine for the report.
//!
//! Benchmarks are not tests: nothing here asserts on a time.
//!
//! No `unsafe` of Levin's own: the one exception to `deny(unsafe_code)` is opening the LMDB
//! peer, whose `heed` API is `unsafe` (see `engines::LmdbEngine::open` and docs/unsafe.md).

#![deny(unsafe_code)]

/// Every benchmark program allocates with mimalloc, as the `levin` binary does (see
/// cli/src/main.rs for why); `machine::describe` says so in each report.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod engines;
pub mod machine;
pub mod workloads;

/// Key length of the standard workloads.
pub const KEY_LEN: usize = 24;
/// Value length of the standard workloads.
pub const VALUE_LEN: usize = 150;

/// A seeded SplitMix64 generator: fast, deterministic, good enough for benchmark data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let x = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&x[..chunk.len()]);
        }
    }

    /// A random 24-byte key.
    pub fn key(&mut self) -> [u8; KEY_LEN] {
        let mut k = [0u8; KEY_LEN];
        self.fill(&mut k);
        k
    }

    /// Shuffles `v` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// `n` distinct random 24-byte keys from `seed` (random 24-byte strings; a collision is
/// astronomically unlikely, but duplicates are dropped and replaced all the same).
pub fn random_keys(seed: u64, n: usize) -> Vec<[u8; KEY_LEN]> {
    let mut rng = Rng::new(seed);
    let mut keys: Vec<[u8; KEY_LEN]> = (0..n).map(|_| rng.key()).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != n {
        let mut seen = std::collections::HashSet::with_capacity(n);
        keys.retain(|k| seen.insert(*k));
        while keys.len() < n {
            let k = rng.key();
            if seen.insert(k) {
                keys.push(k);
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_keys_distinct() {
        let a = random_keys(7, 1000);
        let b = random_keys(7, 1000);
        assert_eq!(a, b);
        let mut s = a.clone();
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), 1000);
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
        }
    }
}
