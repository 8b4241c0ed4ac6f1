//! Crash images: seeded workloads run through levin-testkit's recorder; from each log we build
//! what the disk could hold after a power loss at every point (durable state plus any subset,
//! prefix or reordering of unsynced writes, possibly one torn write), open it, and check it
//! holds exactly one commit that may have survived, every durable commit, and a clean
//! `check()`. Includes crashes during file growth and crashes during recovery, and checks
//! that the checker itself flags broken images. `LEVIN_FULL=1` runs many more seeds.

use levin_engine::{Env, EnvOptions, DATA_FILE};
use levin_testkit::workload::{options, Mode, Workload, PAGE_SIZE};
use levin_testkit::{Crash, CrashKind, Event, History, Log, Recorder, Verdict};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn full() -> bool {
    std::env::var("LEVIN_FULL").is_ok_and(|v| v == "1")
}

/// Options for opening an image: no recorder, a modest map.
fn plain_opts() -> EnvOptions {
    EnvOptions::new()
        .max_map_size(1 << 28)
        .accept_rollback(true)
}

/// Runs `txns` transactions of a fresh workload and returns its log and workload.
fn record(seed: u64, mode: Mode, txns: usize) -> (Log, Workload) {
    record_with(seed, mode, txns, 2)
}

/// Like [`record`], with `big_percent` percent of values 2 to 20 KB.
fn record_with(seed: u64, mode: Mode, txns: usize, big_percent: u32) -> (Log, Workload) {
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::new();
    let env = Env::open_with(dir.path(), options(&rec)).unwrap();
    let mut wl = Workload::new(seed, mode);
    wl.big_percent = big_percent;
    wl.created(&rec);
    wl.run(&env, &rec, txns).unwrap();
    drop(env);
    (rec.log(), wl)
}

fn kinds(mode: Mode) -> Vec<(CrashKind, usize)> {
    if mode.survives_reordering() {
        vec![
            (CrashKind::PowerLoss, 1),
            (CrashKind::ProcessCrash, 1),
            (CrashKind::Prefix, 1),
            (CrashKind::Reordered, 2),
            (CrashKind::Torn, 3),
        ]
    } else {
        vec![
            (CrashKind::PowerLoss, 1),
            (CrashKind::ProcessCrash, 1),
            (CrashKind::Prefix, 2),
        ]
    }
}

#[derive(Debug, Default)]
struct Stats {
    images: usize,
    /// Images that recovered a commit older than the newest whose meta write was issued.
    older: usize,
    /// Images that recovered a commit that was not yet durable.
    undurable: usize,
    not_created: usize,
}

/// Checks crash images at the given points of `log` against `history`; panics with a
/// reproducible description on the first bad one.
fn check_points(
    what: &str,
    log: &Log,
    history: &History,
    mode: Mode,
    points: impl IntoIterator<Item = usize>,
    rng: &mut StdRng,
    stats: &mut Stats,
) {
    let scratch = tempfile::tempdir().unwrap();
    for at in points {
        for (kind, variants) in kinds(mode) {
            for _ in 0..variants {
                let crash = log.random_crash(at, kind, rng);
                let img = log.image(&crash);
                match history.verify_image(log, at, &img, scratch.path(), plain_opts()) {
                    Ok(Verdict::Commit { index, .. }) => {
                        let (durable, visible) = history.window(log, at);
                        if Some(index) != visible {
                            stats.older += 1;
                        }
                        if Some(index) != durable {
                            stats.undurable += 1;
                        }
                    }
                    Ok(Verdict::NotCreated(_)) => stats.not_created += 1,
                    Err(e) => panic!("{what}: {e}\n  {kind:?} crash {crash:?}"),
                }
                stats.images += 1;
            }
        }
    }
}

fn every_point(log: &Log) -> std::ops::RangeInclusive<usize> {
    0..=log.len()
}

#[test]
fn durable_commits_survive_power_loss_at_every_point() {
    let seeds: Vec<u64> = if full() { (1..=8).collect() } else { vec![1] };
    let txns = if full() { 120 } else { 40 };
    let mut stats = Stats::default();
    for seed in seeds {
        let (log, wl) = record(seed, Mode::Durable, txns);
        let mut rng = StdRng::seed_from_u64(seed ^ 0xC0FFEE);
        let what = format!("Durable seed {seed}");
        check_points(
            &what,
            &log,
            &wl.history,
            Mode::Durable,
            every_point(&log),
            &mut rng,
            &mut stats,
        );
    }
    eprintln!("durable: {stats:?}");
    assert!(stats.images > 1000, "too few images: {stats:?}");
    // Torn and lost meta writes must have sent some images back to the previous commit.
    assert!(stats.older > 0, "no image fell back to an older commit");
    assert!(stats.not_created > 0, "no crash during file creation");
}

#[test]
fn weaker_durability_loses_only_unsynced_commits() {
    let seeds: Vec<u64> = if full() {
        (10..=15).collect()
    } else {
        vec![10]
    };
    let txns = if full() { 100 } else { 30 };
    let mut stats = Stats::default();
    for seed in seeds {
        for mode in [Mode::NoMetaSync, Mode::Mixed, Mode::NoSync] {
            let (log, wl) = record(seed, mode, txns);
            let mut rng = StdRng::seed_from_u64(seed ^ 0xBEEF);
            let what = format!("{mode:?} seed {seed}");
            check_points(
                &what,
                &log,
                &wl.history,
                mode,
                every_point(&log),
                &mut rng,
                &mut stats,
            );
        }
    }
    eprintln!("weaker durability: {stats:?}");
    assert!(stats.images > 1000, "too few images: {stats:?}");
    assert!(
        stats.undurable > 0,
        "no image showed a commit that was not yet durable"
    );
}

#[test]
fn crash_during_file_growth() {
    // Large values make the file grow often; crash right around every resize.
    let (log, wl) = record_with(21, Mode::Durable, if full() { 120 } else { 40 }, 25);
    let resizes: Vec<usize> = (0..log.len())
        .filter(|&i| matches!(log.events[i], Event::SetLen(_)))
        .collect();
    assert!(
        resizes.len() >= 3,
        "the workload grew the file only {} times",
        resizes.len()
    );
    let mut rng = StdRng::seed_from_u64(21);
    let mut stats = Stats::default();
    let mut grown_pending = 0;
    let mut points = Vec::new();
    for &i in &resizes {
        for at in i..(i + 4).min(log.len() + 1) {
            points.push(at);
            if log.pending(at).contains(&i) {
                grown_pending += 1;
            }
        }
    }
    for _ in 0..if full() { 20 } else { 4 } {
        check_points(
            "growth",
            &log,
            &wl.history,
            Mode::Durable,
            points.iter().copied(),
            &mut rng,
            &mut stats,
        );
    }
    assert!(grown_pending > 0, "no crash point had an unsynced resize");
    // Explicitly: the resize lost, or kept, with none or all of the writes after it.
    let scratch = tempfile::tempdir().unwrap();
    for &i in &resizes {
        let at = (i + 3).min(log.len());
        let pending = log.pending(at);
        if !pending.contains(&i) {
            continue;
        }
        let after: Vec<usize> = pending.iter().copied().filter(|&e| e > i).collect();
        let mut all = vec![i];
        all.extend(&after);
        for landed in [vec![], vec![i], after, all] {
            let crash = Crash {
                at,
                landed,
                torn: None,
            };
            let img = log.image(&crash);
            if let Err(e) = wl
                .history
                .verify_image(&log, at, &img, scratch.path(), plain_opts())
            {
                panic!("growth: {e}\n  crash {crash:?}");
            }
        }
    }
    eprintln!("growth: {} resizes, {stats:?}", resizes.len());
}

/// Crash, recover, write more, crash again, `levels` deep; checks every image on the way.
fn crash_again(
    log: &Log,
    history: &History,
    mode: Mode,
    rng: &mut StdRng,
    levels: usize,
    stats: &mut Stats,
) -> usize {
    let mut recovered = 0;
    let at = rng.gen_range(0..=log.len());
    let kind = CrashKind::ALL[rng.gen_range(0..CrashKind::ALL.len())];
    let kind = if mode.survives_reordering() {
        kind
    } else {
        CrashKind::Prefix
    };
    let crash = log.random_crash(at, kind, rng);
    let img = log.image(&crash);
    if img.len() < 2 * PAGE_SIZE {
        // No database yet (the crash came before both meta pages were written): opening
        // the image creates the file anew, so a crash of the resumed run may leave no
        // database at all, which the history of the resumed run cannot express. Crashes
        // during creation are checked by the first-level tests (`not_created`).
        return 0;
    }
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::new();
    let verdict = history.verify_image(log, at, &img, dir.path(), options(&rec));
    let (index, env) = match verdict {
        Ok(Verdict::Commit { index, env }) => (index, env),
        Ok(Verdict::NotCreated(_)) => return 0,
        Err(e) => panic!("recovery level {levels}: {e}\n  crash {crash:?}"),
    };
    // The image opened: keep writing on it while recording, then crash that run.
    let state = (*history.commits[index].state).clone();
    let mut wl = Workload::resume(rng.gen(), mode, &state);
    wl.run(&env, &rec, rng.gen_range(2..10))
        .unwrap_or_else(|e| panic!("writing after recovery: {e}"));
    drop(env);
    let log2 = rec.log();
    assert_eq!(log2.base, img, "the recording starts from the crash image");
    let stride = if full() { 1 } else { 4 };
    let start = rng.gen_range(0..stride);
    check_points(
        "after recovery",
        &log2,
        &wl.history,
        mode,
        every_point(&log2).skip(start).step_by(stride),
        rng,
        stats,
    );
    recovered += 1;
    if levels > 1 {
        recovered += crash_again(&log2, &wl.history, mode, rng, levels - 1, stats);
    }
    recovered
}

#[test]
fn crash_during_recovery() {
    let rounds = if full() { 60 } else { 5 };
    let mut stats = Stats::default();
    let mut recovered = 0;
    for (seed, mode) in [(31, Mode::Durable), (32, Mode::Mixed), (33, Mode::NoSync)] {
        let (log, wl) = record(seed, mode, 25);
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..rounds {
            recovered += crash_again(&log, &wl.history, mode, &mut rng, 3, &mut stats);
        }
    }
    eprintln!("recovery: {recovered} recoveries, {stats:?}");
    assert!(recovered >= rounds, "too few images opened: {recovered}");
}

// ---- the checker must fail on broken images --------------------------------------------

/// The log index of the last meta write.
fn last_meta_write(log: &Log) -> usize {
    (0..log.len())
        .rev()
        .find(|&i| matches!(&log.events[i], Event::Write { offset, .. } if *offset < 2 * PAGE_SIZE as u64))
        .unwrap()
}

#[test]
fn checker_flags_a_lost_durable_commit() {
    let (log, wl) = record(41, Mode::Durable, 12);
    let h = &wl.history;
    // The newest commit that changed something, and the end of its final sync.
    let c = (1..h.commits.len())
        .rev()
        .find(|&c| h.commits[c].state != h.commits[c - 1].state)
        .unwrap();
    let meta = h.commits[c].meta_at.unwrap();
    let at = meta
        + 1
        + log.events[meta + 1..]
            .iter()
            .position(|e| *e == Event::Sync)
            .unwrap()
        + 1;
    let crash = Crash {
        at,
        landed: vec![],
        torn: None,
    };
    let scratch = tempfile::tempdir().unwrap();
    // The honest image passes and holds commit c.
    let img = log.image(&crash);
    let ok = h.verify_image(&log, at, &img, scratch.path(), plain_opts());
    assert!(matches!(ok, Ok(Verdict::Commit { index, .. }) if index == c));
    drop(ok); // close it: the next image goes to the same directory
              // Leave out c's (durable) meta write: the file falls back a commit.
    let broken = log.image_skipping(&crash, &[meta]);
    let err = match h.verify_image(&log, at, &broken, scratch.path(), plain_opts()) {
        Ok(Verdict::Commit { index, .. }) => {
            panic!("a lost durable commit must be flagged: got commit {index}, c = {c}, meta at {meta}, window {:?}", h.window(&log, at))
        }
        Ok(v) => panic!("{v:?}"),
        Err(e) => e,
    };
    assert!(err.contains("matching none"), "{err}");
}

#[test]
fn checker_flags_a_damaged_page() {
    let (log, wl) = record(42, Mode::Durable, 12);
    let at = log.len();
    let crash = Crash {
        at,
        landed: vec![],
        torn: None,
    };
    let meta = last_meta_write(&log);
    // A data page the last commit wrote (and synced): damage its middle in the image.
    let (offset, len) = (0..meta)
        .rev()
        .find_map(|i| match &log.events[i] {
            Event::Write { offset, data } if *offset >= 2 * PAGE_SIZE as u64 => {
                Some((*offset as usize, data.len()))
            }
            _ => None,
        })
        .unwrap();
    let mut img = log.image(&crash);
    for b in &mut img[offset + len / 2 - 8..offset + len / 2 + 8] {
        *b ^= 0x5A;
    }
    let scratch = tempfile::tempdir().unwrap();
    let err = wl
        .history
        .verify_image(&log, at, &img, scratch.path(), plain_opts())
        .map(|_| ())
        .expect_err("a damaged page must be flagged");
    eprintln!("flagged: {err}");
}

#[test]
fn checker_flags_a_state_of_no_commit() {
    let (log, mut wl) = record(43, Mode::Durable, 12);
    let at = log.len();
    let img = log.image(&Crash {
        at,
        landed: vec![],
        torn: None,
    });
    // Tamper with the model: the newest commit "should" hold one more key.
    let last = wl.history.commits.last_mut().unwrap();
    let mut state = (*last.state).clone();
    state
        .get_mut("plain")
        .unwrap()
        .1
        .push((b"zzz-never-written".to_vec(), b"x".to_vec()));
    last.state = std::sync::Arc::new(state);
    let scratch = tempfile::tempdir().unwrap();
    let err = wl
        .history
        .verify_image(&log, at, &img, scratch.path(), plain_opts())
        .map(|_| ())
        .expect_err("a state that is no commit must be flagged");
    assert!(err.contains("matching none"), "{err}");
}

#[test]
#[should_panic(expected = "no sync followed its meta write")]
fn history_flags_a_durable_ack_without_sync() {
    let (mut log, mut wl) = record(44, Mode::Durable, 3);
    // Pretend the last commit's final sync never happened.
    assert_eq!(log.events.pop(), Some(Event::Sync));
    let from = last_meta_write(&log);
    let state = wl.history.last_state().unwrap().clone();
    wl.history.record(&log, from, state, true, true);
}

#[test]
fn recorder_log_rebuilds_the_real_file() {
    // The log replayed with nothing lost is byte-for-byte the file the engine left.
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::new();
    let env = Env::open_with(dir.path(), options(&rec)).unwrap();
    let mut wl = Workload::new(5, Mode::Mixed);
    wl.created(&rec);
    wl.run(&env, &rec, 20).unwrap();
    drop(env);
    let log = rec.log();
    let all = log.image(&Crash {
        at: log.len(),
        landed: log.pending(log.len()),
        torn: None,
    });
    assert_eq!(all, std::fs::read(dir.path().join(DATA_FILE)).unwrap());
    assert!(
        log.len() > 40,
        "the workload wrote only {} events",
        log.len()
    );
}
