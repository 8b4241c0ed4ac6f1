//! Crash images: what the disk could hold after a power loss at a point of a recorded run.
//!
//! The media model: a completed sync makes every earlier write and resize durable. Writes
//! and resizes issued after the last completed sync may each have reached the media or
//! not, in any order; at most one of them may be torn (only some of its bytes landed, the
//! rest of the range keeps its old contents). Reordering writes to the *same* bytes is
//! allowed too, which is more than a page cache permits (it never writes an older version
//! over a newer one); the engine never rewrites a range between two syncs, so this costs
//! no false alarms.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::fault::Event;

/// A recorded run: the file's contents when recording began, then every event.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// The file when it was opened (treated as durable).
    pub base: Vec<u8>,
    /// Writes, syncs and resizes, in the order they completed.
    pub events: Vec<Event>,
}

/// Part of a write that landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tear {
    /// Index of the write event in the log.
    pub event: usize,
    /// Byte ranges (relative to the write) that reached the media.
    pub ranges: Vec<(usize, usize)>,
}

/// One crash: the run was cut after `at` events, and of the events since the last sync
/// before that point, `landed` reached the media in that order, and `torn` partly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    /// Events `0..at` had been issued.
    pub at: usize,
    /// Unsynced events (log indices) that reached the media, in landing order.
    pub landed: Vec<usize>,
    /// One unsynced write that partly landed, applied last.
    pub torn: Option<Tear>,
}

/// Families of crash images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashKind {
    /// Every unsynced event is lost.
    PowerLoss,
    /// Every issued event landed, in order (a process crash: the OS keeps the page cache).
    ProcessCrash,
    /// A prefix of the unsynced events landed, in order.
    Prefix,
    /// Any subset of the unsynced events landed, in any order.
    Reordered,
    /// Any subset, in any order, plus one torn write.
    Torn,
}

impl CrashKind {
    /// Every kind.
    pub const ALL: [CrashKind; 5] = [
        CrashKind::PowerLoss,
        CrashKind::ProcessCrash,
        CrashKind::Prefix,
        CrashKind::Reordered,
        CrashKind::Torn,
    ];
}

fn apply(img: &mut Vec<u8>, ev: &Event) {
    match ev {
        Event::Write { offset, data } => write(img, *offset as usize, data, 0..data.len()),
        Event::SetLen(n) => img.resize(*n as usize, 0),
        Event::Sync => {}
    }
}

fn write(img: &mut Vec<u8>, offset: usize, data: &[u8], range: std::ops::Range<usize>) {
    let start = offset + range.start;
    let end = offset + range.end;
    if img.len() < end {
        img.resize(end, 0);
    }
    img[start..end].copy_from_slice(&data[range]);
}

impl Log {
    /// Events in the log.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True if nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The number of events durable at crash point `at`: one past the last sync before it.
    pub fn durable(&self, at: usize) -> usize {
        self.events[..at]
            .iter()
            .rposition(|e| *e == Event::Sync)
            .map_or(0, |i| i + 1)
    }

    /// Log indices of the writes and resizes issued after the last sync before `at`.
    pub fn pending(&self, at: usize) -> Vec<usize> {
        (self.durable(at)..at)
            .filter(|&i| self.events[i] != Event::Sync)
            .collect()
    }

    /// True if a sync completed in events `from..at`.
    pub fn synced_between(&self, from: usize, at: usize) -> bool {
        from < at && self.events[from..at].contains(&Event::Sync)
    }

    /// The file a crash produces.
    pub fn image(&self, crash: &Crash) -> Vec<u8> {
        self.image_skipping(crash, &[])
    }

    /// Like [`Log::image`], but durable events listed in `skip` are left out: a way to build
    /// images that break the media model, to check that checkers notice.
    pub fn image_skipping(&self, crash: &Crash, skip: &[usize]) -> Vec<u8> {
        let durable = self.durable(crash.at);
        let mut img = self.base.clone();
        for (i, ev) in self.events[..durable].iter().enumerate() {
            if !skip.contains(&i) {
                apply(&mut img, ev);
            }
        }
        for &i in &crash.landed {
            assert!(
                (durable..crash.at).contains(&i),
                "event {i} is not pending at crash point {}",
                crash.at
            );
            apply(&mut img, &self.events[i]);
        }
        if let Some(t) = &crash.torn {
            if let Event::Write { offset, data } = &self.events[t.event] {
                for &(a, b) in &t.ranges {
                    write(&mut img, *offset as usize, data, a..b.min(data.len()));
                }
            }
        }
        img
    }

    /// A random crash of the given kind at point `at`.
    pub fn random_crash(&self, at: usize, kind: CrashKind, rng: &mut impl Rng) -> Crash {
        let pending = self.pending(at);
        let mut crash = Crash {
            at,
            landed: Vec::new(),
            torn: None,
        };
        match kind {
            CrashKind::PowerLoss => {}
            CrashKind::ProcessCrash => crash.landed = pending,
            CrashKind::Prefix => {
                let n = rng.gen_range(0..=pending.len());
                crash.landed = pending[..n].to_vec();
            }
            CrashKind::Reordered | CrashKind::Torn => {
                let mut chosen: Vec<usize> = pending
                    .iter()
                    .copied()
                    .filter(|_| rng.gen_bool(0.5))
                    .collect();
                chosen.shuffle(rng);
                if kind == CrashKind::Torn {
                    let writes: Vec<usize> = pending
                        .iter()
                        .copied()
                        .filter(|i| matches!(self.events[*i], Event::Write { .. }))
                        .collect();
                    if let Some(&w) = writes.choose(rng) {
                        chosen.retain(|&i| i != w);
                        crash.torn = Some(self.random_tear(w, rng));
                    }
                }
                crash.landed = chosen;
            }
        }
        crash
    }

    /// A random tear of write event `event`: a prefix or suffix cut at any byte, or any
    /// subset of its 512-byte sectors.
    pub fn random_tear(&self, event: usize, rng: &mut impl Rng) -> Tear {
        let len = match &self.events[event] {
            Event::Write { data, .. } => data.len(),
            _ => 0,
        };
        let ranges = match rng.gen_range(0..3) {
            0 => vec![(0, rng.gen_range(0..=len))],
            1 => vec![(rng.gen_range(0..=len), len)],
            _ => (0..len.div_ceil(512))
                .filter(|_| rng.gen_bool(0.5))
                .map(|s| (s * 512, ((s + 1) * 512).min(len)))
                .collect(),
        };
        Tear { event, ranges }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn w(offset: u64, b: u8, len: usize) -> Event {
        Event::Write {
            offset,
            data: vec![b; len],
        }
    }

    fn log() -> Log {
        Log {
            base: vec![0; 4],
            events: vec![
                w(0, 1, 2),
                Event::Sync,
                w(2, 2, 2),
                Event::SetLen(8),
                w(6, 3, 2),
            ],
        }
    }

    #[test]
    fn durable_prefix_and_pending() {
        let l = log();
        assert_eq!(l.durable(0), 0);
        assert_eq!(l.durable(2), 2);
        assert_eq!(l.durable(5), 2);
        assert_eq!(l.pending(5), vec![2, 3, 4]);
        assert!(l.synced_between(0, 2));
        assert!(!l.synced_between(2, 5));
    }

    #[test]
    fn images_apply_durable_then_landed_then_torn() {
        let l = log();
        let lost = l.image(&Crash {
            at: 5,
            landed: vec![],
            torn: None,
        });
        assert_eq!(lost, vec![1, 1, 0, 0]);
        let some = l.image(&Crash {
            at: 5,
            landed: vec![4],
            torn: Some(Tear {
                event: 2,
                ranges: vec![(1, 2)],
            }),
        });
        assert_eq!(some, vec![1, 1, 0, 2, 0, 0, 3, 3]);
        let skipped = l.image_skipping(
            &Crash {
                at: 5,
                landed: vec![3],
                torn: None,
            },
            &[0],
        );
        assert_eq!(skipped, vec![0; 8]);
    }

    #[test]
    fn random_crashes_stay_within_pending() {
        let l = log();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for kind in CrashKind::ALL {
            for _ in 0..50 {
                let c = l.random_crash(5, kind, &mut rng);
                assert!(c.landed.iter().all(|i| l.pending(5).contains(i)));
                if kind == CrashKind::PowerLoss {
                    assert!(c.landed.is_empty() && c.torn.is_none());
                }
                if kind == CrashKind::ProcessCrash {
                    assert_eq!(c.landed, vec![2, 3, 4]);
                }
                let _ = l.image(&c);
            }
        }
    }
}
