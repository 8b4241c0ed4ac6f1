//! Frames on the wire: a format byte, a 4-byte big-endian payload length (the 5 header
//! bytes not included), then the payload. The length is checked against a maximum before
//! anything is allocated.

use std::io::{self, Read, Write};

/// The format byte of a transit+json payload, the only format of protocol version 1.
pub const FORMAT_TRANSIT_JSON: u8 = 0x01;

/// Bytes before the payload.
pub const HEADER_LEN: usize = 5;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The connection failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the connection inside a frame.
    #[error("the connection closed {read} bytes into a frame of {expected}")]
    Truncated {
        /// Bytes of the frame received.
        read: usize,
        /// Bytes the header promised (header included).
        expected: usize,
    },
    /// A payload larger than allowed.
    #[error("a frame of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// The length the header gives.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A format byte other than transit+json.
    #[error("unknown frame format 0x{0:02x} (this protocol version speaks 0x01, transit+json)")]
    UnknownFormat(u8),
}

/// Reads one frame's payload; `Ok(None)` when the peer closed the connection between
/// frames.
pub fn read_frame(r: &mut impl Read, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let got = read_full(r, &mut header)?;
    if got == 0 {
        return Ok(None);
    }
    if got < HEADER_LEN {
        return Err(FrameError::Truncated {
            read: got,
            expected: HEADER_LEN,
        });
    }
    if header[0] != FORMAT_TRANSIT_JSON {
        return Err(FrameError::UnknownFormat(header[0]));
    }
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let mut payload = vec![0u8; len];
    let got = read_full(r, &mut payload)?;
    if got < len {
        return Err(FrameError::Truncated {
            read: HEADER_LEN + got,
            expected: HEADER_LEN + len,
        });
    }
    Ok(Some(payload))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Writes one frame and flushes it.
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a frame payload must be under 4 GiB",
        )
    })?;
    // One write per frame: with TCP_NODELAY (and with TLS records) a separate header
    // would go out as a packet of its own.
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.push(FORMAT_TRANSIT_JSON);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    w.write_all(&frame)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut v = vec![];
        write_frame(&mut v, payload).unwrap();
        v
    }

    #[test]
    fn round_trip_and_clean_end() {
        let mut bytes = framed(b"[\"~:a\"]");
        bytes.extend(framed(b""));
        let mut r = &bytes[..];
        assert_eq!(read_frame(&mut r, 100).unwrap().unwrap(), b"[\"~:a\"]");
        assert_eq!(read_frame(&mut r, 100).unwrap().unwrap(), b"");
        assert!(read_frame(&mut r, 100).unwrap().is_none());
    }

    #[test]
    fn bad_frames_are_named() {
        let f = framed(b"0123456789");
        let err = |bytes: &[u8], max: usize| read_frame(&mut &bytes[..], max).unwrap_err();
        assert!(matches!(
            err(&f[..3], 100),
            FrameError::Truncated {
                read: 3,
                expected: 5
            }
        ));
        assert!(matches!(
            err(&f[..8], 100),
            FrameError::Truncated {
                read: 8,
                expected: 15
            }
        ));
        assert!(matches!(
            err(&f, 9),
            FrameError::TooLarge { len: 10, max: 9 }
        ));
        let mut other = f.clone();
        other[0] = 0x02;
        assert!(matches!(err(&other, 100), FrameError::UnknownFormat(2)));
        // A huge length is refused before anything is allocated.
        let huge = [1u8, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(err(&huge, 1 << 20), FrameError::TooLarge { .. }));
    }
}
