//! A random workload for crash and fault tests, with its model.
//!
//! Three databases: `plain` (plain), `list` (a list database) and `extra` (plain, created
//! and dropped now and then). Values range from empty to many pages (overflow runs that
//! grow the file), on 512-byte pages with a small spill threshold so large transactions
//! write pages before commit. Each [`Workload::txn`] is one write transaction that commits
//! or aborts; the model follows only what committed, and the [`History`] records every
//! commit attempt against the recorder's log.

use std::collections::{BTreeMap, BTreeSet};

use levin_engine::{Durability, Env, EnvOptions, Read, RwTxn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::fault::Recorder;
use crate::model::{snapshot, History, Snapshot};

/// The page size the workload uses.
pub const PAGE_SIZE: usize = 512;

/// Names of the workload's databases.
pub const PLAIN: &str = "plain";
/// The list database.
pub const LIST: &str = "list";
/// The database that comes and goes.
pub const EXTRA: &str = "extra";

/// The expected contents of the workload's databases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    /// `plain`.
    pub plain: BTreeMap<Vec<u8>, Vec<u8>>,
    /// `list`: (key, value) pairs.
    pub list: BTreeSet<(Vec<u8>, Vec<u8>)>,
    /// `extra`, if it exists.
    pub extra: Option<BTreeMap<Vec<u8>, Vec<u8>>>,
    /// False until the setup commit created `plain` and `list`.
    pub created: bool,
}

impl Model {
    /// The snapshot this model stands for.
    pub fn to_snapshot(&self) -> Snapshot {
        let mut s = Snapshot::new();
        if self.created {
            s.insert(
                PLAIN.into(),
                (false, self.plain.clone().into_iter().collect()),
            );
            s.insert(LIST.into(), (true, self.list.iter().cloned().collect()));
        }
        if let Some(e) = &self.extra {
            s.insert(EXTRA.into(), (false, e.clone().into_iter().collect()));
        }
        s
    }

    /// The model of a snapshot of this workload's databases.
    pub fn from_snapshot(s: &Snapshot) -> Model {
        let map = |name: &str| {
            s.get(name)
                .map(|(_, pairs)| pairs.iter().cloned().collect::<BTreeMap<_, _>>())
        };
        Model {
            plain: map(PLAIN).unwrap_or_default(),
            list: s
                .get(LIST)
                .map(|(_, p)| p.iter().cloned().collect())
                .unwrap_or_default(),
            extra: map(EXTRA),
            created: s.contains_key(PLAIN),
        }
    }
}

/// How commits are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every commit `Durable`.
    Durable,
    /// Every commit `NoMetaSync`, with an explicit sync now and then.
    NoMetaSync,
    /// Every commit `NoSync`, with an explicit sync now and then. Safe only against
    /// crashes that keep writes in order (process crashes, prefixes).
    NoSync,
    /// `Durable` or `NoMetaSync` at random, with an explicit sync now and then.
    Mixed,
}

impl Mode {
    /// True if power loss may reorder this mode's unsynced writes without damage.
    pub fn survives_reordering(self) -> bool {
        self != Mode::NoSync
    }
}

/// Options the workload opens its environment with.
pub fn options(rec: &Recorder) -> EnvOptions {
    EnvOptions::new()
        .page_size(PAGE_SIZE)
        .spill_threshold(6 * PAGE_SIZE)
        .max_map_size(1 << 28)
        // Power-loss images pass over commits that never returned; the tests check which
        // commit each image opens at, so the rollback is accepted in advance.
        .accept_rollback(true)
        .io_hook(rec.hook())
}

/// A seeded random workload.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Randomness.
    pub rng: StdRng,
    /// Durability of its commits.
    pub mode: Mode,
    /// What committed so far.
    pub model: Model,
    /// Every commit attempt.
    pub history: History,
    /// Percent of values of 2 to 20 KB (overflow runs of up to 40 pages, which grow the
    /// file); the rest are up to 2 KB.
    pub big_percent: u32,
    /// After each commit, check the live environment against the model.
    pub check_live: bool,
}

fn plain_key(k: u32) -> Vec<u8> {
    let mut v = format!("k{k:04}").into_bytes();
    v.extend(std::iter::repeat_n(b'.', (k % 5) as usize * 6));
    v
}

impl Workload {
    /// A workload on a file this run creates. Open the environment with [`options`] and
    /// call [`Workload::created`] right after.
    pub fn new(seed: u64, mode: Mode) -> Self {
        Workload {
            rng: StdRng::seed_from_u64(seed),
            mode,
            model: Model::default(),
            history: History::new(PAGE_SIZE),
            big_percent: 2,
            check_live: true,
        }
    }

    /// A workload continuing from an existing file that holds `state`.
    pub fn resume(seed: u64, mode: Mode, state: &Snapshot) -> Self {
        Workload {
            model: Model::from_snapshot(state),
            history: History::with_base(PAGE_SIZE, state.clone()),
            ..Self::new(seed, mode)
        }
    }

    /// Records the creation of the file (its two initial meta pages) as the first commit.
    pub fn created(&mut self, rec: &Recorder) {
        let state = self.model.to_snapshot();
        rec.with_log(|log| self.history.record(log, 0, state, true, true));
    }

    fn value(&mut self) -> Vec<u8> {
        let len = if self.rng.gen_range(0..100) < self.big_percent {
            self.rng.gen_range(2000..20000)
        } else {
            match self.rng.gen_range(0..100) {
                0..=64 => self.rng.gen_range(0..40),
                65..=88 => self.rng.gen_range(40..400),
                _ => self.rng.gen_range(400..2000),
            }
        };
        let b: u8 = self.rng.gen();
        (0..len).map(|i| b.wrapping_add(i as u8)).collect()
    }

    fn ops(&mut self, w: &mut RwTxn, m: &mut Model) -> levin_engine::Result<()> {
        if !m.created {
            w.create_db(PLAIN)?;
            w.create_list_db(LIST)?;
            m.created = true;
            return Ok(());
        }
        let plain = w.create_db(PLAIN)?;
        let list = w.create_list_db(LIST)?;
        let n = self.rng.gen_range(1..=12);
        for _ in 0..n {
            let r = self.rng.gen_range(0..100);
            if r < 40 {
                let k = plain_key(self.rng.gen_range(0..300));
                let v = self.value();
                w.put(&plain, &k, &v)?;
                m.plain.insert(k, v);
            } else if r < 55 {
                let k = plain_key(self.rng.gen_range(0..300));
                let had = w.delete(&plain, &k)?;
                assert_eq!(had, m.plain.remove(&k).is_some(), "delete result");
            } else if r < 80 {
                let k = format!("l{}", self.rng.gen_range(0..8)).into_bytes();
                let v = format!("v{:05}", self.rng.gen_range(0..2000)).into_bytes();
                let added = w.put_list(&list, &k, &v)?;
                assert_eq!(added, m.list.insert((k, v)), "put_list result");
            } else if r < 90 {
                let k = format!("l{}", self.rng.gen_range(0..8)).into_bytes();
                let v = format!("v{:05}", self.rng.gen_range(0..2000)).into_bytes();
                let removed = w.delete_list(&list, &k, &v)?;
                assert_eq!(removed, m.list.remove(&(k, v)), "delete_list result");
            } else if r < 97 {
                let extra = w.create_db(EXTRA)?;
                let e = m.extra.get_or_insert_with(BTreeMap::new);
                for _ in 0..self.rng.gen_range(1..20) {
                    let k = plain_key(self.rng.gen_range(0..100));
                    let v = vec![b'e'; self.rng.gen_range(0..200)];
                    w.put(&extra, &k, &v)?;
                    e.insert(k, v);
                }
            } else if r < 99 {
                if m.extra.take().is_some() {
                    let extra = w.open_db(EXTRA)?;
                    w.drop_db(&extra)?;
                }
            } else {
                w.clear_db(&plain)?;
                m.plain.clear();
            }
        }
        Ok(())
    }

    /// One write transaction: random operations, then (nine times in ten) commit, else
    /// abort. Returns the first error, after recording the attempt in the history.
    pub fn txn(&mut self, env: &Env, rec: &Recorder) -> levin_engine::Result<()> {
        let from = rec.events();
        let mut next = self.model.clone();
        let mut w = env.write()?;
        self.ops(&mut w, &mut next)?;
        if next.created && self.model.created && self.rng.gen_bool(0.1) {
            w.abort();
            return Ok(());
        }
        let d = match self.mode {
            Mode::Durable => Durability::Durable,
            Mode::NoMetaSync => Durability::NoMetaSync,
            Mode::NoSync => Durability::NoSync,
            Mode::Mixed => {
                if self.rng.gen_bool(0.5) {
                    Durability::Durable
                } else {
                    Durability::NoMetaSync
                }
            }
        };
        env.set_durability(d);
        let r = w.commit();
        let state = next.to_snapshot();
        let acked = r.is_ok();
        rec.with_log(|log| {
            self.history
                .record(log, from, state, acked, d == Durability::Durable)
        });
        r?;
        self.model = next;
        if self.check_live {
            let live = snapshot(env)?;
            assert!(
                live == self.model.to_snapshot(),
                "the live environment differs from the model"
            );
        }
        if self.mode != Mode::Durable && self.rng.gen_bool(0.1) {
            env.sync()?;
        }
        Ok(())
    }

    /// Runs `n` transactions, stopping at the first error.
    pub fn run(&mut self, env: &Env, rec: &Recorder, n: usize) -> levin_engine::Result<()> {
        for _ in 0..n {
            self.txn(env, rec)?;
        }
        Ok(())
    }
}
