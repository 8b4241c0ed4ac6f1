//! A recording, fault-injecting [`IoHook`].
//!
//! [`Recorder::hook`] gives the hook for `EnvOptions::io_hook`. When the pager opens the data
//! file, the recorder takes the file's current contents as the *base* of the log (treated
//! as durable); then every write, sync and resize the pager lets through is appended to the
//! log (writes really land: the engine reads pages through the memory map).
//! [`Recorder::log`] returns a copy of the log, from which [`crate::image`] builds crash
//! images.
//!
//! Faults come from a [`FaultPlan`], which can be changed at any time: fail the Nth write
//! (optionally letting a prefix of its bytes reach the file, a torn failing write), the Nth
//! sync or the Nth resize, or every operation once the log holds N events (a dead device).
//! A failed operation returns an `io::Error` and, except for the landed prefix of a torn
//! write, leaves no trace in the file or the log. Syncs are logged as barriers but, unless
//! [`Recorder::real_syncs`] asks, not passed to the real file. A durable write (the meta
//! page of a two-sync commit) counts, and can fail, as a write followed by a sync.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use levin_pager::{IoHook, IoOp, IoVerdict};

use crate::image::Log;

/// One operation that reached the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `data` was written at byte `offset`.
    Write {
        /// Byte offset in the file.
        offset: u64,
        /// The bytes written.
        data: Vec<u8>,
    },
    /// A completed `sync_data`: every earlier event is durable.
    Sync,
    /// The file length was set.
    SetLen(u64),
}

/// Which operations fail. Counters start at 0 when the file is opened (wrapped) and count
/// attempts, failed ones included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Fail the write with this index.
    pub fail_write: Option<u64>,
    /// Bytes of the failing write that reach the file anyway (a torn failing write).
    pub torn_bytes: usize,
    /// Fail the sync with this index.
    pub fail_sync: Option<u64>,
    /// Fail the resize with this index.
    pub fail_set_len: Option<u64>,
    /// Once the log holds this many events, every write, sync and resize fails.
    pub die_after: Option<usize>,
}

#[derive(Debug, Default)]
struct State {
    log: Log,
    plan: FaultPlan,
    writes: u64,
    syncs: u64,
    set_lens: u64,
    failures: u64,
    opens: u64,
    real_syncs: bool,
}

/// A handle on one recording; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    state: Arc<Mutex<State>>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Recorder {
    /// A recorder that injects no faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// A recorder with a fault plan.
    pub fn with_plan(plan: FaultPlan) -> Self {
        let r = Self::default();
        r.set_plan(plan);
        r
    }

    /// Also syncs the real file on each logged sync. Off by default: crash images are
    /// simulated from the log, so the real file never needs to be durable and tests run
    /// faster without `fdatasync`.
    pub fn real_syncs(self, yes: bool) -> Self {
        lock(&self.state).real_syncs = yes;
        self
    }

    /// Replaces the fault plan (counters keep running).
    pub fn set_plan(&self, plan: FaultPlan) {
        lock(&self.state).plan = plan;
    }

    /// The hook to pass to `EnvOptions::io_hook`. Each time the pager opens the file with
    /// it, the recording restarts: the file's contents become the new base, the log and the
    /// counters are cleared.
    pub fn hook(&self) -> Arc<dyn IoHook> {
        Arc::new(self.clone())
    }

    /// A copy of the log so far.
    pub fn log(&self) -> Log {
        lock(&self.state).log.clone()
    }

    /// Runs `f` on the log without copying it (do not touch the environment inside `f`).
    pub fn with_log<R>(&self, f: impl FnOnce(&Log) -> R) -> R {
        f(&lock(&self.state).log)
    }

    /// Events logged so far.
    pub fn events(&self) -> usize {
        lock(&self.state).log.events.len()
    }

    /// Writes attempted so far (failed ones included).
    pub fn writes(&self) -> u64 {
        lock(&self.state).writes
    }

    /// Syncs attempted so far (failed ones included).
    pub fn syncs(&self) -> u64 {
        lock(&self.state).syncs
    }

    /// Resizes attempted so far (failed ones included).
    pub fn set_lens(&self) -> u64 {
        lock(&self.state).set_lens
    }

    /// Failures injected so far.
    pub fn failures(&self) -> u64 {
        lock(&self.state).failures
    }

    /// How many times the pager opened the file with [`Recorder::hook`].
    pub fn opens(&self) -> u64 {
        lock(&self.state).opens
    }
}

fn injected(what: &str) -> io::Error {
    io::Error::other(format!("injected {what} failure (levin-testkit)"))
}

impl State {
    fn dead(&self) -> bool {
        self.plan
            .die_after
            .is_some_and(|n| self.log.events.len() >= n)
    }

    /// The fate of a write (the write half of a durable write too).
    fn write(&mut self, offset: u64, data: &[u8]) -> IoVerdict {
        let n = self.writes;
        self.writes += 1;
        if self.dead() {
            self.failures += 1;
            return IoVerdict::Fail(injected("write (dead device)"));
        }
        if self.plan.fail_write == Some(n) {
            self.failures += 1;
            let landed = self.plan.torn_bytes.min(data.len());
            if landed > 0 {
                self.log.events.push(Event::Write {
                    offset,
                    data: data[..landed].to_vec(),
                });
            }
            return IoVerdict::Torn {
                landed,
                error: injected("write"),
            };
        }
        self.log.events.push(Event::Write {
            offset,
            data: data.to_vec(),
        });
        IoVerdict::Proceed
    }

    /// The fate of a sync: `Err` to fail it, else whether to pass it to the file.
    fn sync(&mut self) -> Result<bool, io::Error> {
        let n = self.syncs;
        self.syncs += 1;
        if self.dead() || self.plan.fail_sync == Some(n) {
            self.failures += 1;
            return Err(injected("sync"));
        }
        self.log.events.push(Event::Sync);
        Ok(self.real_syncs)
    }
}

impl IoHook for Recorder {
    fn opened(&self, contents: &[u8]) {
        let mut st = lock(&self.state);
        st.log = Log {
            base: contents.to_vec(),
            events: Vec::new(),
        };
        st.writes = 0;
        st.syncs = 0;
        st.set_lens = 0;
        st.failures = 0;
        st.opens += 1;
    }

    fn decide(&self, op: IoOp<'_>) -> IoVerdict {
        let mut st = lock(&self.state);
        match op {
            IoOp::Write {
                offset,
                data,
                durable,
            } => {
                let verdict = st.write(offset, data);
                if !durable || !matches!(verdict, IoVerdict::Proceed) {
                    return verdict;
                }
                match st.sync() {
                    Ok(_) => IoVerdict::Proceed,
                    // The bytes landed; making them durable failed.
                    Err(error) => IoVerdict::Torn {
                        landed: data.len(),
                        error,
                    },
                }
            }
            IoOp::Sync => match st.sync() {
                Ok(true) => IoVerdict::Proceed,
                Ok(false) => IoVerdict::Skip,
                Err(e) => IoVerdict::Fail(e),
            },
            // A hint that changes no byte and no durability: passed on, not logged.
            IoOp::Writeback { .. } => IoVerdict::Proceed,
            IoOp::SetLen(len) => {
                let n = st.set_lens;
                st.set_lens += 1;
                if st.dead() || st.plan.fail_set_len == Some(n) {
                    st.failures += 1;
                    return IoVerdict::Fail(injected("resize"));
                }
                st.log.events.push(Event::SetLen(len));
                IoVerdict::Proceed
            }
            // Operations added later are let through unrecorded.
            _ => IoVerdict::Proceed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(rec: &Recorder, offset: u64, data: &[u8]) -> IoVerdict {
        rec.decide(IoOp::Write {
            offset,
            data,
            durable: false,
        })
    }

    #[test]
    fn records_and_injects() {
        let rec = Recorder::with_plan(FaultPlan {
            fail_write: Some(1),
            torn_bytes: 3,
            fail_sync: Some(1),
            ..FaultPlan::default()
        });
        rec.opened(b"old");
        assert!(matches!(write(&rec, 0, b"abcd"), IoVerdict::Proceed));
        assert!(matches!(
            write(&rec, 4, b"XYZW"),
            IoVerdict::Torn { landed: 3, .. }
        ));
        assert!(matches!(rec.decide(IoOp::Sync), IoVerdict::Skip));
        assert!(matches!(rec.decide(IoOp::Sync), IoVerdict::Fail(_)));
        assert!(matches!(rec.decide(IoOp::SetLen(16)), IoVerdict::Proceed));
        assert_eq!(rec.failures(), 2);
        let log = rec.log();
        assert_eq!(log.base, b"old");
        assert_eq!(
            log.events,
            vec![
                Event::Write {
                    offset: 0,
                    data: b"abcd".to_vec()
                },
                Event::Write {
                    offset: 4,
                    data: b"XYZ".to_vec()
                },
                Event::Sync,
                Event::SetLen(16),
            ]
        );
    }

    #[test]
    fn real_syncs_are_passed_on() {
        let rec = Recorder::new().real_syncs(true);
        rec.opened(b"");
        assert!(matches!(rec.decide(IoOp::Sync), IoVerdict::Proceed));
        assert_eq!(rec.log().events, vec![Event::Sync]);
    }

    #[test]
    fn a_durable_write_is_a_write_then_a_sync() {
        let rec = Recorder::with_plan(FaultPlan {
            fail_sync: Some(0),
            ..FaultPlan::default()
        });
        rec.opened(b"");
        let op = IoOp::Write {
            offset: 0,
            data: b"meta",
            durable: true,
        };
        assert!(matches!(rec.decide(op), IoVerdict::Torn { landed: 4, .. }));
        assert_eq!((rec.writes(), rec.syncs(), rec.failures()), (1, 1, 1));
        assert_eq!(
            rec.log().events,
            vec![Event::Write {
                offset: 0,
                data: b"meta".to_vec()
            }]
        );
    }

    #[test]
    fn a_dead_device_fails_everything() {
        let rec = Recorder::with_plan(FaultPlan {
            die_after: Some(1),
            ..FaultPlan::default()
        });
        rec.opened(b"");
        assert!(matches!(write(&rec, 0, b"a"), IoVerdict::Proceed));
        assert!(matches!(write(&rec, 1, b"b"), IoVerdict::Fail(_)));
        assert!(matches!(rec.decide(IoOp::Sync), IoVerdict::Fail(_)));
        assert!(matches!(rec.decide(IoOp::SetLen(8)), IoVerdict::Fail(_)));
        assert_eq!(rec.events(), 1);
        assert_eq!(rec.failures(), 3);
    }
}
