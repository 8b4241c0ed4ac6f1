//! A recording, fault-injecting [`FileIo`].
//!
//! [`Recorder::wrapper`] gives an [`IoWrapper`] for `EnvOptions::io_wrapper`. When the pager
//! opens the data file, the wrapper reads the file's current contents as the *base* of the
//! log (treated as durable), then every write, sync and resize passes through to the real
//! file (the engine reads pages through the memory map, so writes must really land) and is
//! appended to the log. [`Recorder::log`] returns a copy of the log, from which
//! [`crate::image`] builds crash images.
//!
//! Faults come from a [`FaultPlan`], which can be changed at any time: fail the Nth write
//! (optionally letting a prefix of its bytes reach the file, a torn failing write), the Nth
//! sync or the Nth resize, or every operation once the log holds N events (a dead device).
//! A failed operation returns an `io::Error` and, except for the landed prefix of a torn
//! write, leaves no trace in the file or the log. Syncs are logged as barriers but, unless
//! [`Recorder::real_syncs`] asks, not passed to the real file.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use levin_pager::{FileIo, IoWrapper};

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

    /// The wrapper to pass to `EnvOptions::io_wrapper`. Each time the pager opens the file
    /// through it, the recording restarts: the file's contents become the new base, the log
    /// and the counters are cleared.
    pub fn wrapper(&self) -> IoWrapper {
        let state = self.state.clone();
        Arc::new(move |inner: Box<dyn FileIo>| -> Box<dyn FileIo> {
            let base = read_all(inner.as_ref()).unwrap_or_default();
            {
                let mut st = lock(&state);
                st.log = Log {
                    base,
                    events: Vec::new(),
                };
                st.writes = 0;
                st.syncs = 0;
                st.set_lens = 0;
                st.failures = 0;
                st.opens += 1;
            }
            Box::new(RecordingIo {
                inner,
                state: state.clone(),
            })
        })
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

    /// How many times the file was opened through [`Recorder::wrapper`].
    pub fn opens(&self) -> u64 {
        lock(&self.state).opens
    }
}

fn read_all(io: &dyn FileIo) -> io::Result<Vec<u8>> {
    let len = io.len()?;
    let mut buf = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    if len > 0 {
        io.read_at(&mut buf, 0)?;
    }
    Ok(buf)
}

fn injected(what: &str) -> io::Error {
    io::Error::other(format!("injected {what} failure (levin-testkit)"))
}

#[derive(Debug)]
struct RecordingIo {
    inner: Box<dyn FileIo>,
    state: Arc<Mutex<State>>,
}

impl State {
    fn dead(&self) -> bool {
        self.plan
            .die_after
            .is_some_and(|n| self.log.events.len() >= n)
    }
}

impl FileIo for RecordingIo {
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut st = lock(&self.state);
        let n = st.writes;
        st.writes += 1;
        if st.dead() {
            st.failures += 1;
            return Err(injected("write (dead device)"));
        }
        if st.plan.fail_write == Some(n) {
            st.failures += 1;
            let keep = st.plan.torn_bytes.min(buf.len());
            if keep > 0 {
                self.inner.write_at(&buf[..keep], offset)?;
                st.log.events.push(Event::Write {
                    offset,
                    data: buf[..keep].to_vec(),
                });
            }
            return Err(injected("write"));
        }
        self.inner.write_at(buf, offset)?;
        st.log.events.push(Event::Write {
            offset,
            data: buf.to_vec(),
        });
        Ok(())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_at(buf, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut st = lock(&self.state);
        let n = st.syncs;
        st.syncs += 1;
        if st.dead() || st.plan.fail_sync == Some(n) {
            st.failures += 1;
            return Err(injected("sync"));
        }
        if st.real_syncs {
            self.inner.sync_data()?;
        }
        st.log.events.push(Event::Sync);
        Ok(())
    }

    fn start_writeback(&self, offset: u64, len: u64) -> io::Result<()> {
        // A hint that changes no byte and no durability: passed on, not logged.
        self.inner.start_writeback(offset, len)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut st = lock(&self.state);
        let n = st.set_lens;
        st.set_lens += 1;
        if st.dead() || st.plan.fail_set_len == Some(n) {
            st.failures += 1;
            return Err(injected("resize"));
        }
        self.inner.set_len(len)?;
        st.log.events.push(Event::SetLen(len));
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file in memory.
    #[derive(Debug, Default)]
    struct MemIo(Mutex<Vec<u8>>);

    impl FileIo for MemIo {
        fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
            let mut v = self.0.lock().unwrap();
            let end = offset as usize + buf.len();
            if v.len() < end {
                v.resize(end, 0);
            }
            v[offset as usize..end].copy_from_slice(buf);
            Ok(())
        }
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            let v = self.0.lock().unwrap();
            buf.copy_from_slice(&v[offset as usize..offset as usize + buf.len()]);
            Ok(())
        }
        fn sync_data(&self) -> io::Result<()> {
            Ok(())
        }
        fn set_len(&self, len: u64) -> io::Result<()> {
            self.0.lock().unwrap().resize(len as usize, 0);
            Ok(())
        }
        fn len(&self) -> io::Result<u64> {
            Ok(self.0.lock().unwrap().len() as u64)
        }
    }

    #[test]
    fn records_and_injects() {
        let rec = Recorder::with_plan(FaultPlan {
            fail_write: Some(1),
            torn_bytes: 3,
            fail_sync: Some(1),
            ..FaultPlan::default()
        });
        let base = MemIo::default();
        base.write_at(b"old", 0).unwrap();
        let io = (rec.wrapper())(Box::new(base));
        io.write_at(b"abcd", 0).unwrap();
        assert!(io.write_at(b"XYZW", 4).is_err());
        io.sync_data().unwrap();
        assert!(io.sync_data().is_err());
        io.set_len(16).unwrap();
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
        let mut buf = [0u8; 8];
        io.read_at(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"abcdXYZ\0");
    }

    #[test]
    fn a_dead_device_fails_everything() {
        let rec = Recorder::with_plan(FaultPlan {
            die_after: Some(1),
            ..FaultPlan::default()
        });
        let io = (rec.wrapper())(Box::<MemIo>::default());
        io.write_at(b"a", 0).unwrap();
        assert!(io.write_at(b"b", 1).is_err());
        assert!(io.sync_data().is_err());
        assert!(io.set_len(8).is_err());
        assert_eq!(rec.events(), 1);
        assert_eq!(rec.failures(), 3);
    }
}
