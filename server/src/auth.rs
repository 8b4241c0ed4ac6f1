//! Passwords: Argon2id hashes in PHC strings, verified in constant time, computed in a
//! bounded pool (so a burst of logins cannot exhaust memory), and a per-peer slowdown after
//! failed logins.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl HashCost {
    /// What the server uses: 64 MiB, 3 passes, 1 lane (about 0.1-0.2 s per login on one
    /// core of this class of machine); stronger than OWASP's Argon2id minimum (19 MiB, 2
    /// passes).
    pub const DEFAULT: HashCost = HashCost {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// For tests only: the cheapest parameters Argon2 allows.
    pub const TESTING: HashCost = HashCost {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    fn argon2(self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .unwrap_or_default();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// Limits how many hashes run at once.
pub struct HashPool {
    running: Mutex<usize>,
    freed: Condvar,
    limit: usize,
    cost: HashCost,
}

impl HashPool {
    /// A pool running at most `limit` hashes at once.
    pub fn new(limit: usize, cost: HashCost) -> HashPool {
        HashPool {
            running: Mutex::new(0),
            freed: Condvar::new(),
            limit: limit.max(1),
            cost,
        }
    }

    fn run<T>(&self, f: impl FnOnce(Argon2<'static>) -> T) -> T {
        {
            let mut n = self.running.lock().unwrap_or_else(|e| e.into_inner());
            while *n >= self.limit {
                n = self.freed.wait(n).unwrap_or_else(|e| e.into_inner());
            }
            *n += 1;
        }
        let out = f(self.cost.argon2());
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.freed.notify_one();
        out
    }

    /// The PHC string of `password` with a fresh random salt.
    pub fn hash(&self, password: &str) -> String {
        self.run(|a| {
            let salt = SaltString::generate(&mut OsRng);
            a.hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
    }

    /// Whether `password` matches the PHC string `stored` (the comparison is constant
    /// time; a malformed `stored` matches nothing).
    pub fn verify(&self, password: &str, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        self.run(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
    }
}

/// Slows down peers after failed logins: the n-th consecutive failure from one address
/// waits `min(2^(n-1) * 100 ms, 5 s)` before its answer.
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Throttle {
    /// How long to wait before answering a failed login from `peer`, counting it.
    pub fn failed(&self, peer: IpAddr) -> Duration {
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Forget peers quiet for a minute, so the table stays small.
        m.retain(|_, (_, at)| at.elapsed() < Duration::from_secs(60));
        let entry = m.entry(peer).or_insert((0, Instant::now()));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = Instant::now();
        let ms = 100u64.saturating_mul(1 << entry.0.saturating_sub(1).min(10));
        Duration::from_millis(ms.min(5_000))
    }

    /// Forgets `peer`'s failures after a successful login.
    pub fn succeeded(&self, peer: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let pool = HashPool::new(2, HashCost::TESTING);
        let a = pool.hash("secret");
        let b = pool.hash("secret");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert!(pool.verify("secret", &a));
        assert!(!pool.verify("Secret", &a));
        assert!(!pool.verify("secret", "not a hash"));
    }

    #[test]
    fn failures_slow_down_and_success_resets() {
        let t = Throttle::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(t.failed(ip), Duration::from_millis(100));
        assert_eq!(t.failed(ip), Duration::from_millis(200));
        for _ in 0..20 {
            t.failed(ip);
        }
        assert_eq!(t.failed(ip), Duration::from_secs(5));
        t.succeeded(ip);
        assert_eq!(t.failed(ip), Duration::from_millis(100));
    }
}
