//! Fault injection through levin-testkit's recorder: fail the Nth write (whole or torn), the
//! Nth sync, the Nth resize, or every operation after the Nth (a dead device), at every
//! point of a seeded workload. Each time the environment must poison itself (later writes
//! fail with a clear error, reads keep serving the last commit), and both the file as left
//! and every power-loss image of it must reopen to a commit the model allows, with a clean
//! check and working writes. `LEVIN_FULL=1` runs longer workloads.

use levin_engine::{Env, EnvOptions, DATA_FILE};
use levin_testkit::workload::{options, Mode, Workload};
use levin_testkit::{snapshot, CrashKind, FaultPlan, Recorder, Verdict};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn full() -> bool {
    std::env::var("LEVIN_FULL").is_ok_and(|v| v == "1")
}

fn txns() -> usize {
    if full() {
        40
    } else {
        12
    }
}

fn plain_opts() -> EnvOptions {
    EnvOptions::new()
        .max_map_size(1 << 28)
        .accept_rollback(true)
}

/// Operation counts of a fault-free run after the file was created.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    writes: u64,
    syncs: u64,
    set_lens: u64,
    events: usize,
}

fn counts(seed: u64, mode: Mode) -> Counts {
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::new();
    let env = Env::open_with(dir.path(), options(&rec)).unwrap();
    let mut wl = Workload::new(seed, mode);
    wl.created(&rec);
    let before = (rec.writes(), rec.syncs(), rec.set_lens(), rec.events());
    wl.run(&env, &rec, txns()).unwrap();
    Counts {
        writes: rec.writes() - before.0,
        syncs: rec.syncs() - before.1,
        set_lens: rec.set_lens() - before.2,
        events: rec.events() - before.3,
    }
}

#[derive(Debug, Default)]
struct Tally {
    runs: usize,
    failed: usize,
    images: usize,
    /// Runs where the failed commit itself survived (its meta write had landed).
    failed_commit_survived: usize,
}

/// Runs the workload with the plan `plan(counts after creation)`; checks poisoning, the
/// file as left, power-loss images of it, and that the reopened file takes writes.
fn fault_run(seed: u64, mode: Mode, what: &str, plan: impl Fn(&Recorder) -> FaultPlan) -> Tally {
    let mut tally = Tally {
        runs: 1,
        ..Tally::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::new();
    let env = Env::open_with(dir.path(), options(&rec)).unwrap();
    let mut wl = Workload::new(seed, mode);
    wl.created(&rec);
    rec.set_plan(plan(&rec));
    if let Err(e) = wl.run(&env, &rec, txns()) {
        tally.failed = 1;
        let msg = e.to_string();
        assert!(msg.contains("injected"), "{what}: unexpected error {msg}");
        assert!(rec.failures() >= 1, "{what}");
        // Poisoned: every later write fails, saying why and what to do.
        let later = env.write().and_then(|mut w| {
            let db = w.create_db("plain")?;
            w.put(&db, b"after-failure", b"x")?;
            w.commit()
        });
        let later = later.expect_err("a write after an I/O failure must fail");
        let later = later.to_string();
        assert!(
            later.contains("poisoned") && later.contains("reopen"),
            "{what}: unclear error after poisoning: {later}"
        );
        assert!(
            env.sync().is_err(),
            "{what}: sync after poisoning succeeded"
        );
        // Reads still serve the last commit.
        assert!(
            snapshot(&env).unwrap() == wl.model.to_snapshot(),
            "{what}: reads after the failure differ from the last commit"
        );
    }
    drop(env);
    rec.set_plan(FaultPlan::default());
    let log = rec.log();
    let scratch = tempfile::tempdir().unwrap();
    // The file as the process left it (a reopen without a crash).
    let file = std::fs::read(dir.path().join(DATA_FILE)).unwrap();
    match wl
        .history
        .verify_image(&log, log.len(), &file, scratch.path(), plain_opts())
    {
        Ok(Verdict::Commit { index, .. }) => {
            if !wl.history.commits[index].acked {
                tally.failed_commit_survived = 1;
            }
        }
        Ok(v) => panic!("{what}: {v:?}"),
        Err(e) => panic!("{what}: the file as left: {e}"),
    }
    // Power loss right after the failure.
    let mut rng = StdRng::seed_from_u64(seed);
    for kind in CrashKind::ALL {
        if !mode.survives_reordering() && matches!(kind, CrashKind::Reordered | CrashKind::Torn) {
            continue;
        }
        for _ in 0..2 {
            let crash = log.random_crash(log.len(), kind, &mut rng);
            let img = log.image(&crash);
            if let Err(e) =
                wl.history
                    .verify_image(&log, log.len(), &img, scratch.path(), plain_opts())
            {
                panic!("{what}: power loss after the failure: {e}\n  crash {crash:?}");
            }
            tally.images += 1;
        }
    }
    // Reopening recovers and takes writes again.
    let rec2 = Recorder::new();
    let env = Env::open_with(dir.path(), options(&rec2)).unwrap();
    let state = snapshot(&env).unwrap();
    let mut wl2 = Workload::resume(seed + 1, mode, &state);
    wl2.run(&env, &rec2, 4)
        .unwrap_or_else(|e| panic!("{what}: writing after reopening: {e}"));
    let report = env.check().unwrap();
    assert!(report.is_ok(), "{what}: {:?}", report.problems);
    tally
}

fn add(total: &mut Tally, t: Tally) {
    total.runs += t.runs;
    total.failed += t.failed;
    total.images += t.images;
    total.failed_commit_survived += t.failed_commit_survived;
}

fn mode_for(n: u64) -> Mode {
    if n.is_multiple_of(2) {
        Mode::Durable
    } else {
        Mode::Mixed
    }
}

#[test]
fn failed_write_poisons_and_recovers() {
    let seed = 101;
    let c = [counts(seed, Mode::Durable), counts(seed, Mode::Mixed)];
    let mut total = Tally::default();
    for n in 0..c[0].writes.max(c[1].writes) {
        let mode = mode_for(n);
        // No tear, a partial sector, exactly a 512-byte page, all bytes (an error reported
        // after the data landed).
        let torn = [0, 100, 512, usize::MAX][(n / 2 % 4) as usize];
        let what = format!("{mode:?} seed {seed}: write {n} fails, {torn} bytes land");
        let t = fault_run(seed, mode, &what, |rec| FaultPlan {
            fail_write: Some(rec.writes() + n),
            torn_bytes: torn,
            ..FaultPlan::default()
        });
        add(&mut total, t);
    }
    eprintln!("writes: {total:?}");
    assert!(total.failed as u64 >= c[0].writes.min(c[1].writes));
    assert!(
        total.failed_commit_survived > 0,
        "no meta write failed after its bytes landed"
    );
}

#[test]
fn failed_sync_poisons_and_recovers() {
    let seed = 202;
    let c = [counts(seed, Mode::Durable), counts(seed, Mode::Mixed)];
    let mut total = Tally::default();
    for n in 0..c[0].syncs.max(c[1].syncs) {
        let mode = mode_for(n);
        let what = format!("{mode:?} seed {seed}: sync {n} fails");
        let t = fault_run(seed, mode, &what, |rec| FaultPlan {
            fail_sync: Some(rec.syncs() + n),
            ..FaultPlan::default()
        });
        add(&mut total, t);
    }
    eprintln!("syncs: {total:?}");
    assert!(total.failed as u64 >= c[0].syncs.min(c[1].syncs));
    // A failing sync after the meta write leaves the commit unacknowledged but on disk.
    assert!(total.failed_commit_survived > 0);
}

#[test]
fn failed_resize_poisons_and_recovers() {
    let seed = 303;
    let c = counts(seed, Mode::Durable);
    assert!(
        c.set_lens >= 2,
        "the workload grew the file {} times",
        c.set_lens
    );
    let mut total = Tally::default();
    for n in 0..c.set_lens {
        let what = format!("Durable seed {seed}: resize {n} fails");
        let t = fault_run(seed, Mode::Durable, &what, |rec| FaultPlan {
            fail_set_len: Some(rec.set_lens() + n),
            ..FaultPlan::default()
        });
        add(&mut total, t);
    }
    eprintln!("resizes: {total:?}");
    assert_eq!(total.failed as u64, c.set_lens);
}

#[test]
fn dead_device_poisons_and_recovers() {
    let seed = 404;
    let c = counts(seed, Mode::NoSync);
    let mut total = Tally::default();
    let step = if full() { 1 } else { 3 };
    for k in (0..c.events).step_by(step) {
        for mode in [Mode::Durable, Mode::NoSync] {
            let what = format!("{mode:?} seed {seed}: device dies after {k} events");
            let t = fault_run(seed, mode, &what, |rec| FaultPlan {
                die_after: Some(rec.events() + k),
                ..FaultPlan::default()
            });
            add(&mut total, t);
        }
    }
    eprintln!("dead device: {total:?}");
    assert!(total.failed > 0);
}

#[test]
fn failure_while_creating_the_file() {
    // Nothing was acknowledged, so the open fails; reopening then either starts afresh or
    // reports a damaged (never created) file, and never panics.
    let plans = [
        FaultPlan {
            fail_write: Some(0),
            ..FaultPlan::default()
        },
        FaultPlan {
            fail_write: Some(1),
            ..FaultPlan::default()
        },
        FaultPlan {
            fail_write: Some(0),
            torn_bytes: 50,
            ..FaultPlan::default()
        },
        FaultPlan {
            fail_sync: Some(0),
            ..FaultPlan::default()
        },
    ];
    let mut reopened = 0;
    for plan in plans {
        let dir = tempfile::tempdir().unwrap();
        let rec = Recorder::with_plan(plan.clone());
        let err = Env::open_with(dir.path(), options(&rec)).expect_err("creation must fail");
        assert!(err.to_string().contains("injected"), "{err}");
        match Env::open_with(dir.path(), plain_opts()) {
            Ok(env) => {
                reopened += 1;
                assert!(snapshot(&env).unwrap().is_empty());
                assert!(env.check().unwrap().is_ok());
                let mut w = env.write().unwrap();
                let db = w.create_db("plain").unwrap();
                w.put(&db, b"k", b"v").unwrap();
                w.commit().unwrap();
            }
            Err(e) => assert!(e.is_corruption(), "{plan:?}: {e}"),
        }
    }
    assert!(reopened >= 2);
}
