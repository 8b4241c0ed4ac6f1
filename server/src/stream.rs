//! Reads streamed from their snapshot: the items of a long result (datoms, key-value
//! ranges and lists) go from the read transaction to the client one batch at a time, so the
//! server holds at most one batch of a result (and the frame it encodes), however large
//! the result. The count the stream announces up front is taken from the same
//! transaction as the items, and the stream checks that they agree.

use std::io;

use levin_edn::Edn;

use crate::error::ServerError;
use crate::message::{self, Request};
use crate::session::Session;

/// The operations answered by [`answer`]: every read whose result is as long as a range
/// of the data.
pub(crate) fn is_streamed(op: &str) -> bool {
    matches!(
        op,
        "datoms" | "seek-datoms" | "rseek-datoms" | "index-range"
    ) || levin_datalog::kv_typed::COUNTED_OPS.contains(&op)
}

/// Why a streamed read stopped short.
#[derive(Debug)]
pub(crate) enum StreamError {
    /// Before any frame was sent: the request gets an error reply, the session goes on.
    Failed(ServerError),
    /// After `:copy-out-response` (or on a broken connection): as for a streamed file, the
    /// connection can only be ended, and the client sees the stream cut short.
    Cut,
}

impl From<ServerError> for StreamError {
    fn from(e: ServerError) -> Self {
        StreamError::Failed(e)
    }
}

impl From<levin_datalog::Error> for StreamError {
    fn from(e: levin_datalog::Error) -> Self {
        StreamError::Failed(e.into())
    }
}

impl From<levin_engine::Error> for StreamError {
    fn from(e: levin_engine::Error) -> Self {
        StreamError::Failed(e.into())
    }
}

/// Where the frames of a reply go, one at a time (the connection, or a test's record).
pub(crate) type Frames<'f> = dyn FnMut(&Edn) -> io::Result<()> + 'f;

/// Answers one of the [`is_streamed`] requests (authorised already), reading it from the
/// database value the request names and sending its items as they are read.
pub(crate) fn answer(
    s: &Session<'_>,
    req: &Request,
    send: &mut Frames<'_>,
) -> Result<(), StreamError> {
    if crate::datalog_ops::is_streamed(&req.op) {
        crate::datalog_ops::stream(s, req, send)
    } else {
        crate::kv_ops::stream(s, req, send)
    }
}

/// Sends `items`, of which there are `count`, as the reply to request `id`: a vector in
/// one `:command-complete` when they fit in one batch of `batch` (as any small result),
/// else `:copy-out-response {:count count :kind :vector}`, `:copy-batch`es of `batch`
/// items and `:copy-done`.
///
/// Invariant: at most one batch of items is held at a time; a batch is taken from `items`
/// only once the one before it was written (and dropped). The first batch is taken before
/// anything is sent, so a read that fails early gets an ordinary error reply. Items that
/// do not match `count` (fewer, or one more) are an error: before the first frame an
/// ordinary one, after it the stream is cut.
pub(crate) fn send_items(
    send: &mut Frames<'_>,
    id: i64,
    count: u64,
    items: impl Iterator<Item = Result<Edn, ServerError>>,
    batch: usize,
) -> Result<(), StreamError> {
    let batch = batch.max(1);
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let mut items = items.fuse();
    let first = take_batch(&mut items, count.min(batch), count)?;
    if count <= batch {
        if items.next().is_some() {
            return Err(StreamError::Failed(disagree(count)));
        }
        return send(&message::ok(id, Edn::Vector(first))).map_err(|_| StreamError::Cut);
    }
    let mut head = message::copy_out(id, count);
    if let Edn::Map(m) = &mut head {
        m.push((Edn::kw("", "kind"), Edn::kw("", "vector")));
    }
    send(&head).map_err(|_| StreamError::Cut)?;
    let mut left = count - first.len();
    send(&message::copy_batch(id, first)).map_err(|_| StreamError::Cut)?;
    while left > 0 {
        let n = left.min(batch);
        let items = take_batch(&mut items, n, count).map_err(|_| StreamError::Cut)?;
        left -= n;
        send(&message::copy_batch(id, items)).map_err(|_| StreamError::Cut)?;
    }
    // One more item would mean the count was short: not a whole answer, so no `:copy-done`.
    if items.next().is_some() {
        return Err(StreamError::Cut);
    }
    send(&message::copy_done(id)).map_err(|_| StreamError::Cut)
}

/// The next `n` items, or the first error among them (fewer than `n` items disagree with
/// the read's `count`).
fn take_batch(
    items: &mut impl Iterator<Item = Result<Edn, ServerError>>,
    n: usize,
    count: usize,
) -> Result<Vec<Edn>, ServerError> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match items.next() {
            Some(item) => out.push(item?),
            None => return Err(disagree(count)),
        }
    }
    Ok(out)
}

/// The error of a read whose items do not match the count taken from the same snapshot.
fn disagree(count: usize) -> ServerError {
    ServerError::Store(levin_datalog::Error::Corrupt(format!(
        "a read counted {count} items in its snapshot and did not read as many"
    )))
}

/// The count of a read with at most `limit` items.
pub(crate) fn capped(count: u64, limit: Option<usize>) -> u64 {
    limit.map_or(count, |l| count.min(u64::try_from(l).unwrap_or(u64::MAX)))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn field<'a>(m: &'a Edn, name: &str) -> Option<&'a Edn> {
        m.get(&Edn::kw("", name))
    }

    /// Streams `n` numbers counted as `count` in batches of `batch`, recording every frame
    /// and, at each frame, how many items had been taken from the source and not yet
    /// written: the most the producer held at once.
    fn run(n: usize, count: u64, batch: usize) -> (Result<(), StreamError>, Vec<Edn>, usize) {
        let taken = Cell::new(0usize);
        let items = (0..n).map(|i| {
            taken.set(taken.get() + 1);
            Ok(Edn::Long(i as i64))
        });
        let mut frames = vec![];
        let mut written = 0usize;
        let mut most_held = 0usize;
        let mut send = |m: &Edn| -> io::Result<()> {
            let size = match field(m, "items").or_else(|| field(m, "result")) {
                Some(Edn::Vector(v)) => v.len(),
                _ => 0,
            };
            most_held = most_held.max(taken.get() - written);
            written += size;
            frames.push(m.clone());
            Ok(())
        };
        let r = send_items(&mut send, 7, count, items, batch);
        (r, frames, most_held)
    }

    fn kind(m: &Edn) -> String {
        field(m, "type").map(Edn::to_string).unwrap_or_default()
    }

    #[test]
    fn a_long_read_is_held_one_batch_at_a_time() {
        let (r, frames, most_held) = run(2_503, 2_503, 10);
        assert!(r.is_ok());
        // The source was read as the batches went out, never more than one ahead.
        assert!(most_held <= 10, "held {most_held} items at once");
        assert_eq!(kind(&frames[0]), ":copy-out-response");
        assert_eq!(field(&frames[0], "count"), Some(&Edn::Long(2_503)));
        assert_eq!(field(&frames[0], "kind"), Some(&Edn::kw("", "vector")));
        let batches = &frames[1..frames.len() - 1];
        assert_eq!(batches.len(), 251);
        let mut all = vec![];
        for b in batches {
            assert_eq!(kind(b), ":copy-batch");
            let Some(Edn::Vector(items)) = field(b, "items") else {
                panic!("{b}")
            };
            assert!(!items.is_empty() && items.len() <= 10);
            all.extend(items.iter().cloned());
        }
        assert_eq!(all, (0..2_503).map(Edn::Long).collect::<Vec<_>>());
        assert_eq!(kind(frames.last().unwrap()), ":copy-done");
    }

    #[test]
    fn a_result_of_one_batch_is_one_reply_as_before() {
        for n in [0, 1, 10] {
            let (r, frames, _) = run(n, n as u64, 10);
            assert!(r.is_ok());
            let expected = message::ok(7, Edn::Vector((0..n as i64).map(Edn::Long).collect()));
            assert_eq!(frames, vec![expected]);
        }
    }

    #[test]
    fn items_that_disagree_with_the_count_are_an_error() {
        // Before anything is sent: an ordinary error.
        let (r, frames, _) = run(5, 6, 10);
        assert!(matches!(r, Err(StreamError::Failed(_))), "{r:?}");
        assert!(frames.is_empty());
        let (r, frames, _) = run(7, 6, 10);
        assert!(matches!(r, Err(StreamError::Failed(_))), "{r:?}");
        assert!(frames.is_empty());
        // Once streaming: cut, with no `:copy-done`.
        for (n, count) in [(25, 30), (31, 30)] {
            let (r, frames, _) = run(n, count, 10);
            assert!(matches!(r, Err(StreamError::Cut)), "{r:?}");
            assert_eq!(kind(&frames[0]), ":copy-out-response");
            assert!(frames.iter().all(|f| kind(f) != ":copy-done"));
        }
    }

    #[test]
    fn an_error_mid_stream_cuts_it_and_one_before_is_a_reply() {
        let failing = |at: usize| {
            (0..30).map(move |i| {
                if i == at {
                    Err(ServerError::BadArgument("bad item".into()))
                } else {
                    Ok(Edn::Long(i as i64))
                }
            })
        };
        let mut frames = vec![];
        let mut send = |m: &Edn| -> io::Result<()> {
            frames.push(m.clone());
            Ok(())
        };
        let r = send_items(&mut send, 1, 30, failing(3), 10);
        assert!(matches!(r, Err(StreamError::Failed(_))), "{r:?}");
        let r = send_items(&mut send, 2, 30, failing(15), 10);
        assert!(matches!(r, Err(StreamError::Cut)), "{r:?}");
        // Only the second stream began: its head and first batch.
        assert_eq!(frames.len(), 2, "{frames:?}");
        // A connection that breaks ends the stream too.
        let mut broken = |_: &Edn| -> io::Result<()> { Err(io::ErrorKind::BrokenPipe.into()) };
        let r = send_items(&mut broken, 3, 30, failing(99), 10);
        assert!(matches!(r, Err(StreamError::Cut)), "{r:?}");
    }
}
