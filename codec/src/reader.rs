//! A cursor over encoded bytes that reports errors with byte offsets, and the
//! self-delimiting (escaped) form of byte strings used inside tuples.
//!
//! Escaped form: every 0x00 byte becomes 0x00 0xFF and the string ends with
//! 0x00 0x00. Comparing escaped forms byte by byte gives the order of the
//! original strings, and no escaped form is a prefix of another.

use std::borrow::Cow;

use crate::error::CodecError;

/// Appends `bytes` in escaped form, terminator included.
pub(crate) fn write_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|&b| b == 0) {
        out.extend_from_slice(&rest[..=i]);
        out.push(0xFF);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.extend_from_slice(&[0x00, 0x00]);
}

/// A position in a byte slice being decoded.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// How many tuples the cursor is inside.
    depth: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            depth: 0,
        }
    }

    /// Notes entering a tuple; fails past [`crate::MAX_DEPTH`].
    pub(crate) fn enter(&mut self) -> Result<(), CodecError> {
        self.depth += 1;
        if self.depth > crate::MAX_DEPTH {
            return Err(CodecError::TooDeep {
                max: crate::MAX_DEPTH,
            });
        }
        Ok(())
    }

    /// Notes leaving a tuple.
    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }

    /// The offset of the next byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn end(&self, what: &'static str) -> CodecError {
        CodecError::UnexpectedEnd {
            what,
            offset: self.buf.len(),
        }
    }

    /// The next byte; `what` names what is being decoded, for the error.
    pub(crate) fn byte(&mut self, what: &'static str) -> Result<u8, CodecError> {
        let b = self.peek().ok_or_else(|| self.end(what))?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        if self.remaining() < n {
            return Err(self.end(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], CodecError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// All remaining bytes.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// Reads an escaped byte string up to and including its terminator.
    /// Borrows when the string holds no escaped zero byte.
    pub(crate) fn escaped(&mut self, what: &'static str) -> Result<Cow<'a, [u8]>, CodecError> {
        let start = self.pos;
        let mut owned: Option<Vec<u8>> = None;
        let mut chunk = start;
        loop {
            let i = self.buf[self.pos..]
                .iter()
                .position(|&b| b == 0)
                .map(|i| self.pos + i)
                .ok_or_else(|| self.end(what))?;
            let next = *self.buf.get(i + 1).ok_or_else(|| self.end(what))?;
            match next {
                0x00 => {
                    self.pos = i + 2;
                    return Ok(match owned {
                        None => Cow::Borrowed(&self.buf[start..i]),
                        Some(mut v) => {
                            v.extend_from_slice(&self.buf[chunk..i]);
                            Cow::Owned(v)
                        }
                    });
                }
                0xFF => {
                    let v = owned.get_or_insert_with(Vec::new);
                    v.extend_from_slice(&self.buf[chunk..=i]);
                    chunk = i + 2;
                    self.pos = i + 2;
                }
                found => {
                    return Err(CodecError::BadEscape {
                        what,
                        offset: i,
                        found,
                    })
                }
            }
        }
    }

    /// Reads an escaped UTF-8 string.
    pub(crate) fn escaped_str(&mut self, what: &'static str) -> Result<String, CodecError> {
        let start = self.pos;
        let bytes = self.escaped(what)?.into_owned();
        String::from_utf8(bytes).map_err(|e| CodecError::InvalidUtf8 {
            what,
            // Offset within the unescaped string; exact when it has no 0x00.
            offset: start + e.utf8_error().valid_up_to(),
        })
    }

    /// Reads all remaining bytes as UTF-8.
    pub(crate) fn rest_str(&mut self, what: &'static str) -> Result<&'a str, CodecError> {
        let start = self.pos;
        std::str::from_utf8(self.rest()).map_err(|e| CodecError::InvalidUtf8 {
            what,
            offset: start + e.valid_up_to(),
        })
    }

    /// Fails unless every byte has been read.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), CodecError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CodecError::TrailingBytes {
                what,
                offset: self.pos,
                count: self.remaining(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn esc(b: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        write_escaped(b, &mut v);
        v
    }

    #[test]
    fn escaping_layout() {
        assert_eq!(esc(b""), [0, 0]);
        assert_eq!(esc(b"a\0b"), [b'a', 0, 0xFF, b'b', 0, 0]);
        assert_eq!(esc(b"\0"), [0, 0xFF, 0, 0]);
    }

    #[test]
    fn borrowed_when_no_zero() {
        let e = esc(b"abc");
        let mut r = Reader::new(&e);
        assert!(matches!(r.escaped("bytes").unwrap(), Cow::Borrowed(b"abc")));
        assert!(r.is_empty());
    }

    #[test]
    fn bad_escape_and_unterminated() {
        let mut r = Reader::new(&[b'a', 0, 7]);
        assert_eq!(
            r.escaped("a string").unwrap_err(),
            CodecError::BadEscape {
                what: "a string",
                offset: 1,
                found: 7
            }
        );
        let mut r = Reader::new(b"abc");
        assert_eq!(
            r.escaped("a string").unwrap_err().to_string(),
            "unexpected end of input at byte 3: a string is incomplete"
        );
    }

    proptest! {
        #[test]
        fn escaped_roundtrip_and_order(a in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(0xFFu8), any::<u8>()], 0..8),
                                       b in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(0xFFu8), any::<u8>()], 0..8)) {
            let (ea, eb) = (esc(&a), esc(&b));
            prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
            let mut joined = ea.clone();
            joined.extend_from_slice(&eb);
            let mut r = Reader::new(&joined);
            prop_assert_eq!(&*r.escaped("bytes").unwrap(), &a[..]);
            prop_assert_eq!(&*r.escaped("bytes").unwrap(), &b[..]);
            prop_assert!(r.is_empty());
        }
    }
}
