//! The model side of crash testing: the commits of a recorded run and the rule that says
//! which of them a crash image may hold.
//!
//! A commit becomes visible when its meta page is written and durable once a sync completes
//! after that write. So a crash after `at` logged events may show commit `c` only if `c`'s
//! meta write is among those events, and must show `c` or a later commit if a sync
//! completed after `c`'s meta write. The image must hold exactly the contents of one
//! commit in that window (never a mixture) and pass the integrity check.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use levin_engine::{Env, EnvOptions, Read, DATA_FILE};

use crate::fault::Event;
use crate::image::Log;

/// Every database of a commit: name to (is a list database, its (key, value) pairs).
pub type Snapshot = BTreeMap<String, (bool, Vec<(Vec<u8>, Vec<u8>)>)>;

/// Reads every database of the latest commit.
pub fn snapshot(env: &Env) -> levin_engine::Result<Snapshot> {
    let r = env.read()?;
    let mut out = Snapshot::new();
    for name in r.db_names()? {
        let db = r.open_db(&name)?;
        let mut pairs = Vec::new();
        for kv in r.iter(&db)? {
            let (k, v) = kv?;
            pairs.push((k.to_vec(), v.to_vec()));
        }
        out.insert(name, (db.is_list(), pairs));
    }
    Ok(out)
}

/// One commit of a recorded run.
#[derive(Debug, Clone)]
pub struct Commit {
    /// What the databases hold after it.
    pub state: Arc<Snapshot>,
    /// Log index of its meta-page write; `None` for the base the log started from.
    pub meta_at: Option<usize>,
    /// True if `commit` returned Ok.
    pub acked: bool,
}

/// The commits of a recorded run, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    page_size: u64,
    /// The commits.
    pub commits: Vec<Commit>,
}

/// What opening a crash image found.
#[derive(Debug)]
pub enum Verdict {
    /// The image opened, holds commit `index` of the history, and checks clean.
    Commit {
        /// Index into [`History::commits`].
        index: usize,
        /// The open environment (drop it before reopening the same directory).
        env: Env,
    },
    /// Nothing had been durable yet (the file was being created) and the image does not
    /// open as a Levin file; the error is allowed.
    NotCreated(String),
}

impl History {
    /// A run that creates its file: no commit yet. Record the creating open with
    /// [`History::record`] (an empty snapshot) like any commit.
    pub fn new(page_size: usize) -> Self {
        History {
            page_size: page_size as u64,
            commits: Vec::new(),
        }
    }

    /// A run that starts from an existing file holding `state` (durable by definition).
    pub fn with_base(page_size: usize, state: Snapshot) -> Self {
        History {
            page_size: page_size as u64,
            commits: vec![Commit {
                state: Arc::new(state),
                meta_at: None,
                acked: true,
            }],
        }
    }

    /// The newest commit's state.
    pub fn last_state(&self) -> Option<&Snapshot> {
        self.commits.last().map(|c| &*c.state)
    }

    /// Records a commit attempt whose events are `log.events[from..]`: `state` is what it
    /// commits, `acked` whether it returned Ok, `durable` whether it ran in Durable mode.
    /// An attempt that wrote no meta page is not a commit (a no-op, or one that failed
    /// early); an acknowledged one must then leave the state as it was.
    ///
    /// Panics if the engine acknowledged a Durable commit that the log does not show as
    /// durable (no sync after its meta write): that is an engine bug.
    pub fn record(&mut self, log: &Log, from: usize, state: Snapshot, acked: bool, durable: bool) {
        let meta_at = (from..log.len())
            .rev()
            .find(|&i| matches!(&log.events[i], Event::Write { offset, .. } if *offset < 2 * self.page_size));
        let Some(meta_at) = meta_at else {
            if acked {
                assert!(
                    self.last_state() == Some(&state),
                    "a commit returned Ok without writing a meta page, but changed the data"
                );
            }
            return;
        };
        if acked && durable {
            assert!(
                log.synced_between(meta_at + 1, log.len()),
                "a Durable commit returned Ok but no sync followed its meta write (event {meta_at})"
            );
        }
        self.commits.push(Commit {
            state: Arc::new(state),
            meta_at: Some(meta_at),
            acked,
        });
    }

    /// The commits a crash after `at` events may show: `(first, last)` indices, where
    /// `first` is the newest durable commit (None if none is durable yet).
    pub fn window(&self, log: &Log, at: usize) -> (Option<usize>, Option<usize>) {
        let durable = self.commits.iter().rposition(|c| match c.meta_at {
            None => true,
            Some(m) => log.synced_between(m + 1, at),
        });
        let visible = self.commits.iter().rposition(|c| match c.meta_at {
            None => true,
            Some(m) => m < at,
        });
        (durable, visible)
    }

    /// Writes `image` as the data file of `dir` (created if needed), opens it with `opts`
    /// and checks it against the commits a crash after `at` events of `log` may show.
    ///
    /// No environment of `dir` may be open in this process (drop earlier verdicts first):
    /// the open would return it instead of reading the new image.
    pub fn verify_image(
        &self,
        log: &Log,
        at: usize,
        image: &[u8],
        dir: &Path,
        opts: EnvOptions,
    ) -> Result<Verdict, String> {
        verify_image(self, log, at, image, dir, opts)
    }
}

/// See [`History::verify_image`].
pub fn verify_image(
    history: &History,
    log: &Log,
    at: usize,
    image: &[u8],
    dir: &Path,
    opts: EnvOptions,
) -> Result<Verdict, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    std::fs::write(dir.join(DATA_FILE), image).map_err(|e| format!("writing the image: {e}"))?;
    let (first, last) = history.window(log, at);
    // An image may pass over a commit whose sync never returned; which commit it opens at
    // is checked below, so the rollback is accepted in advance.
    let env = match Env::open_with(dir, opts.accept_rollback(true)) {
        Ok(env) => env,
        Err(e) if first.is_none() && e.is_corruption() => {
            return Ok(Verdict::NotCreated(e.to_string()));
        }
        Err(e) => {
            return Err(format!(
                "crash image at event {at} does not open: {e} (durable commit {first:?})"
            ))
        }
    };
    let state = snapshot(&env).map_err(|e| format!("crash image at event {at}: reading: {e}"))?;
    let report = env
        .check()
        .map_err(|e| format!("crash image at event {at}: check failed to run: {e}"))?;
    if !report.is_ok() {
        return Err(format!(
            "crash image at event {at}: integrity problems: {:?}",
            report.problems
        ));
    }
    if report.reachable_pages + report.free_pages + 2 != report.total_pages {
        return Err(format!(
            "crash image at event {at}: page accounting: {} reachable + {} free + 2 != {}",
            report.reachable_pages, report.free_pages, report.total_pages
        ));
    }
    let lo = first.unwrap_or(0);
    if let Some(hi) = last {
        if let Some(i) = (lo..=hi)
            .rev()
            .find(|&i| *history.commits[i].state == state)
        {
            return Ok(Verdict::Commit { index: i, env });
        }
    }
    if first.is_none() && state.is_empty() {
        // The file was being created and no commit had reached its meta write yet.
        return Ok(Verdict::NotCreated("empty file recreated".into()));
    }
    let elsewhere = history.commits.iter().rposition(|c| *c.state == state);
    Err(format!(
        "crash image at event {at} holds {} database(s) matching none of commits {lo}..={} \
         (durable {first:?}); it equals commit {elsewhere:?} of {}",
        state.len(),
        last.map_or(-1, |l| l as i64),
        history.commits.len()
    ))
}
