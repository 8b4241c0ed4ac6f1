//! Fuzz target: model-based operation sequences on 512-byte pages with fault injection,
//! power loss and reopening, against a model (levin-testkit's `Model`, BTreeMaps).
//!
//! Every I/O goes through levin-testkit's recorder. Injected failures must surface as errors
//! (never panics) and poison the environment; the file as left must then reopen to a commit
//! the model allows. A `Crash` builds a power-loss image from the log (durable state plus a
//! fuzzer-chosen subset, prefix or reordering of unsynced writes, maybe one torn write),
//! which must open to exactly one allowed commit with a clean check; the run goes on from it.
#![no_main]

use arbitrary::Arbitrary;
use levin_engine::{Durability, Env, Read, RwTxn, DATA_FILE};
use levin_testkit::workload::{options, Model, LIST, PAGE_SIZE, PLAIN};
use levin_testkit::{snapshot, CrashKind, FaultPlan, History, Recorder, Verdict};
use libfuzzer_sys::fuzz_target;
use rand::rngs::StdRng;
use rand::SeedableRng;

#[derive(Arbitrary, Debug)]
enum Op {
    Put { key: u8, len: u16, fill: u8 },
    Del { key: u8 },
    ListAdd { key: u8, val: u8 },
    ListDel { key: u8, val: u8 },
    Commit,
    Abort,
    Reopen,
    Sync,
    Check,
    Durability(u8),
    FailWrite { after: u8, torn: u16 },
    FailSync { after: u8 },
    FailGrow { after: u8 },
    Crash { kind: u8, seed: u64 },
}

fn key(k: u8) -> Vec<u8> {
    let mut v = format!("k{k:03}").into_bytes();
    v.extend(std::iter::repeat_n(b'-', (k % 4) as usize * 9));
    v
}

fn value(len: u16, fill: u8) -> Vec<u8> {
    let len = match len % 16 {
        0 => 600 + len as usize % 6000, // overflow runs
        1..=3 => 100 + len as usize % 300,
        _ => len as usize % 40,
    };
    (0..len).map(|i| fill.wrapping_add(i as u8)).collect()
}

fn scratch() -> tempfile::TempDir {
    if std::path::Path::new("/dev/shm").is_dir() {
        if let Ok(d) = tempfile::tempdir_in("/dev/shm") {
            return d;
        }
    }
    tempfile::tempdir().expect("tempdir")
}

struct Run {
    dir: tempfile::TempDir,
    rec: Recorder,
    env: Option<Env>,
    txn: Option<RwTxn>,
    /// What committed.
    model: Model,
    /// What the open transaction holds.
    pending: Model,
    history: History,
    /// Log index where the open transaction began.
    txn_from: usize,
    durability: Durability,
    /// A NoSync commit since the log began: only in-order crash images are valid.
    nosync_used: bool,
}

fn expect_injected(e: &levin_engine::Error, what: &str) {
    let msg = e.to_string();
    assert!(
        msg.contains("injected") || msg.contains("poisoned"),
        "{what}: an error that no fault explains: {msg}"
    );
}

impl Run {
    fn new() -> Run {
        let dir = scratch();
        let rec = Recorder::new();
        let env = Env::open_with(dir.path(), options(&rec)).expect("create");
        let mut history = History::new(PAGE_SIZE);
        let mut model = Model::default();
        rec.with_log(|log| history.record(log, 0, model.to_snapshot(), true, true));
        // Create the two databases.
        let mut w = env.write().unwrap();
        w.create_db(PLAIN).unwrap();
        w.create_list_db(LIST).unwrap();
        let from = 0;
        w.commit().unwrap();
        model.created = true;
        rec.with_log(|log| history.record(log, from, model.to_snapshot(), true, true));
        Run {
            dir,
            rec,
            env: Some(env),
            txn: None,
            pending: model.clone(),
            model,
            history,
            txn_from: 0,
            durability: Durability::Durable,
            nosync_used: false,
        }
    }

    fn env(&self) -> &Env {
        self.env.as_ref().expect("open")
    }

    /// The open write transaction, beginning one if needed.
    fn txn(&mut self) -> Result<&mut RwTxn, levin_engine::Error> {
        if self.txn.is_none() {
            self.txn_from = self.rec.events();
            self.pending = self.model.clone();
            self.txn = Some(self.env().write()?);
        }
        Ok(self.txn.as_mut().expect("just set"))
    }

    /// Reopens from `image` (written into the directory), checking it against the history
    /// at the end of the current log; the run goes on from the commit it holds.
    fn reopen_from(&mut self, image: Option<Vec<u8>>, what: &str) {
        self.txn = None;
        self.env = None;
        let log = self.rec.log();
        let image = match image {
            Some(i) => i,
            None => std::fs::read(self.dir.path().join(DATA_FILE)).expect("read file"),
        };
        let rec = Recorder::new();
        let verdict =
            self.history
                .verify_image(&log, log.len(), &image, self.dir.path(), options(&rec));
        match verdict {
            Ok(Verdict::Commit { index, env }) => {
                let state = (*self.history.commits[index].state).clone();
                self.model = Model::from_snapshot(&state);
                self.pending = self.model.clone();
                self.history = History::with_base(PAGE_SIZE, state);
                self.env = Some(env);
                self.rec = rec;
                self.nosync_used = false;
                self.env().set_durability(self.durability);
            }
            Ok(v) => panic!("{what}: the file was created before the run: {v:?}"),
            Err(e) => panic!("{what}: {e}"),
        }
    }

    /// After an error: it must be injected; recover by reopening the file as left.
    fn failed(&mut self, e: levin_engine::Error, what: &str) {
        expect_injected(&e, what);
        assert!(
            self.rec.failures() > 0,
            "{what}: error without a fault: {e}"
        );
        self.reopen_from(None, what);
    }

    fn commit(&mut self) {
        let Some(w) = self.txn.take() else { return };
        let from = self.txn_from;
        let d = self.durability;
        let r = w.commit();
        let state = self.pending.to_snapshot();
        let ok = r.is_ok();
        self.rec.with_log(|log| {
            self.history
                .record(log, from, state, ok, d == Durability::Durable)
        });
        match r {
            Ok(()) => {
                if d == Durability::NoSync {
                    self.nosync_used = true;
                }
                self.model = self.pending.clone();
                let live = snapshot(self.env()).expect("read after commit");
                assert!(
                    live == self.model.to_snapshot(),
                    "live state differs from the model"
                );
            }
            Err(e) => self.failed(e, "commit"),
        }
    }

    fn step(&mut self, op: Op) {
        let r: Result<(), levin_engine::Error> = (|| {
            match op {
                Op::Put { key: k, len, fill } => {
                    let (k, v) = (key(k), value(len, fill));
                    let w = self.txn()?;
                    let db = w.open_db(PLAIN)?;
                    w.put(&db, &k, &v)?;
                    self.pending.plain.insert(k, v);
                }
                Op::Del { key: k } => {
                    let k = key(k);
                    let w = self.txn()?;
                    let db = w.open_db(PLAIN)?;
                    let had = w.delete(&db, &k)?;
                    assert_eq!(had, self.pending.plain.remove(&k).is_some());
                }
                Op::ListAdd { key: k, val } => {
                    let (k, v) = (key(k % 8), vec![val; 1 + val as usize % 30]);
                    let w = self.txn()?;
                    let db = w.open_db(LIST)?;
                    let added = w.put_list(&db, &k, &v)?;
                    assert_eq!(added, self.pending.list.insert((k, v)));
                }
                Op::ListDel { key: k, val } => {
                    let (k, v) = (key(k % 8), vec![val; 1 + val as usize % 30]);
                    let w = self.txn()?;
                    let db = w.open_db(LIST)?;
                    let removed = w.delete_list(&db, &k, &v)?;
                    assert_eq!(removed, self.pending.list.remove(&(k, v)));
                }
                Op::Commit => self.commit(),
                Op::Abort => {
                    self.txn = None;
                    self.pending = self.model.clone();
                }
                Op::Reopen => {
                    self.commit();
                    if self.env.is_some() {
                        self.reopen_from(None, "reopen");
                    }
                }
                Op::Sync => {
                    self.txn = None;
                    self.env().sync()?;
                }
                Op::Check => {
                    let report = self.env().check()?;
                    assert!(report.is_ok(), "check: {:?}", report.problems);
                }
                Op::Durability(d) => {
                    self.durability = match d % 3 {
                        0 => Durability::Durable,
                        1 => Durability::NoMetaSync,
                        _ => Durability::NoSync,
                    };
                    self.env().set_durability(self.durability);
                }
                Op::FailWrite { after, torn } => self.rec.set_plan(FaultPlan {
                    fail_write: Some(self.rec.writes() + (after % 32) as u64),
                    torn_bytes: torn as usize,
                    ..FaultPlan::default()
                }),
                Op::FailSync { after } => self.rec.set_plan(FaultPlan {
                    fail_sync: Some(self.rec.syncs() + (after % 8) as u64),
                    ..FaultPlan::default()
                }),
                Op::FailGrow { after } => self.rec.set_plan(FaultPlan {
                    fail_set_len: Some(self.rec.set_lens() + (after % 4) as u64),
                    ..FaultPlan::default()
                }),
                Op::Crash { kind, seed } => {
                    self.txn = None;
                    self.env = None;
                    let log = self.rec.log();
                    let mut kind = CrashKind::ALL[kind as usize % CrashKind::ALL.len()];
                    if self.nosync_used && matches!(kind, CrashKind::Reordered | CrashKind::Torn) {
                        kind = CrashKind::Prefix;
                    }
                    let crash = log.random_crash(log.len(), kind, &mut StdRng::seed_from_u64(seed));
                    let image = log.image(&crash);
                    self.reopen_from(Some(image), &format!("{kind:?} crash {crash:?}"));
                }
            }
            Ok(())
        })();
        if let Err(e) = r {
            self.failed(e, "operation");
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut run = Run::new();
    for op in ops.into_iter().take(300) {
        run.step(op);
    }
    run.commit();
    if let Some(env) = &run.env {
        let report = env.check().expect("final check");
        assert!(report.is_ok(), "final check: {:?}", report.problems);
        assert_eq!(
            report.reachable_pages + report.free_pages + 2,
            report.total_pages,
            "page accounting"
        );
    }
});
