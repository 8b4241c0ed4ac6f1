//! Bencode, the pod protocol's framing: values, a streaming reader that resynchronises
//! after malformed input, and a writer that emits dictionary keys in sorted order.

use std::collections::BTreeMap;
use std::io::{BufRead, ErrorKind};

/// The deepest nesting of lists and dictionaries accepted.
pub const MAX_DEPTH: usize = 64;
/// The longest byte string accepted (read as it arrives: a large length costs nothing
/// until the bytes come).
pub const MAX_STRING: u64 = 1 << 30;

/// A bencode value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `i42e`.
    Int(i64),
    /// `4:spam`.
    Bytes(Vec<u8>),
    /// `l...e`.
    List(Vec<Value>),
    /// `d...e`, keys in byte order.
    Dict(BTreeMap<Vec<u8>, Value>),
}

impl Value {
    /// A byte string of `s`.
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::Bytes(s.as_ref().as_bytes().to_vec())
    }

    /// A dictionary of `(key, value)` pairs.
    pub fn dict<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        Value::Dict(
            pairs
                .into_iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v))
                .collect(),
        )
    }

    /// The bytes of a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A byte string as UTF-8 text.
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The entry `key` of a dictionary.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(d) => d.get(key.as_bytes()),
            _ => None,
        }
    }
}

/// What is wrong with some bencode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BencodeError {
    /// The input ended inside a value.
    #[error("the input ended inside a message (byte {offset})")]
    Truncated {
        /// Bytes read when it ended.
        offset: u64,
    },
    /// A byte that cannot start or continue what was being read.
    #[error("unexpected byte {byte:#04x} at byte {offset}: expected {expected}")]
    Unexpected {
        /// The byte.
        byte: u8,
        /// Where.
        offset: u64,
        /// What would have been valid there.
        expected: &'static str,
    },
    /// An integer (or string length) that is empty, malformed or out of range.
    #[error("malformed integer at byte {offset}")]
    BadInt {
        /// Where.
        offset: u64,
    },
    /// Lists and dictionaries nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} at byte {offset}")]
    TooDeep {
        /// Where.
        offset: u64,
    },
    /// A byte string longer than [`MAX_STRING`].
    #[error("a byte string of {len} bytes at byte {offset} is longer than allowed")]
    TooLong {
        /// Its declared length.
        len: u64,
        /// Where.
        offset: u64,
    },
    /// Reading failed.
    #[error("reading failed: {0}")]
    Io(String),
}

impl BencodeError {
    /// True when the input cannot continue (it ended, or reading failed).
    pub fn is_fatal(&self) -> bool {
        matches!(self, BencodeError::Truncated { .. } | BencodeError::Io(_))
    }
}

/// A failed read of one message: the error, and the message's `id` when it was read
/// before the error (so the reply can carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFailure {
    /// What went wrong.
    pub error: BencodeError,
    /// The `id` entry of the message, if read before the error.
    pub id: Option<Vec<u8>>,
}

/// Reads bencode values one after another from a byte stream.
pub struct Reader<R> {
    input: R,
    offset: u64,
}

type Res<T> = Result<T, BencodeError>;

impl<R: BufRead> Reader<R> {
    /// A reader of `input`.
    pub fn new(input: R) -> Self {
        Reader { input, offset: 0 }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn peek(&mut self) -> Res<Option<u8>> {
        loop {
            match self.input.fill_buf() {
                Ok(b) => return Ok(b.first().copied()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(BencodeError::Io(e.to_string())),
            }
        }
    }

    fn need(&mut self) -> Res<u8> {
        self.peek()?.ok_or(BencodeError::Truncated {
            offset: self.offset,
        })
    }

    fn bump(&mut self) {
        self.input.consume(1);
        self.offset += 1;
    }

    fn unexpected(&self, byte: u8, expected: &'static str) -> BencodeError {
        BencodeError::Unexpected {
            byte,
            offset: self.offset,
            expected,
        }
    }

    /// Digits up to `end` (consumed), with an optional leading minus when `signed`.
    fn number(&mut self, end: u8, signed: bool) -> Res<i64> {
        let start = self.offset;
        let bad = BencodeError::BadInt { offset: start };
        let mut neg = false;
        if signed && self.need()? == b'-' {
            neg = true;
            self.bump();
        }
        let mut n: i64 = 0;
        let mut digits = 0usize;
        loop {
            let b = self.need()?;
            if b == end {
                self.bump();
                break;
            }
            if !b.is_ascii_digit() {
                return Err(if digits == 0 && !neg && signed {
                    self.unexpected(b, "a digit")
                } else {
                    self.unexpected(
                        b,
                        if end == b'e' {
                            "a digit or 'e'"
                        } else {
                            "a digit or ':'"
                        },
                    )
                });
            }
            self.bump();
            digits += 1;
            let d = i64::from(b - b'0');
            n = n
                .checked_mul(10)
                .and_then(|n| {
                    if neg {
                        n.checked_sub(d)
                    } else {
                        n.checked_add(d)
                    }
                })
                .ok_or(bad.clone())?;
        }
        if digits == 0 {
            return Err(bad);
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Res<Vec<u8>> {
        let at = self.offset;
        let len = self.number(b':', false)?;
        let len = u64::try_from(len).map_err(|_| BencodeError::BadInt { offset: at })?;
        if len > MAX_STRING {
            return Err(BencodeError::TooLong { len, offset: at });
        }
        let mut out = Vec::with_capacity(usize::try_from(len.min(1 << 16)).unwrap_or(0));
        let mut left = len;
        while left > 0 {
            let chunk = loop {
                match self.input.fill_buf() {
                    Ok(b) => break b,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(BencodeError::Io(e.to_string())),
                }
            };
            if chunk.is_empty() {
                return Err(BencodeError::Truncated {
                    offset: self.offset,
                });
            }
            let n = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            out.extend_from_slice(&chunk[..n]);
            self.input.consume(n);
            self.offset += n as u64;
            left -= n as u64;
        }
        Ok(out)
    }

    fn value(&mut self, depth: usize) -> Res<Value> {
        let b = self.need()?;
        match b {
            b'i' => {
                self.bump();
                Ok(Value::Int(self.number(b'e', true)?))
            }
            b'0'..=b'9' => Ok(Value::Bytes(self.bytes()?)),
            b'l' => {
                if depth >= MAX_DEPTH {
                    return Err(BencodeError::TooDeep {
                        offset: self.offset,
                    });
                }
                self.bump();
                let mut items = Vec::new();
                while self.need()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.bump();
                Ok(Value::List(items))
            }
            b'd' => {
                let mut d = BTreeMap::new();
                self.dict_into(depth, &mut d)?;
                Ok(Value::Dict(d))
            }
            _ => Err(self.unexpected(b, "'i', 'l', 'd' or a digit")),
        }
    }

    /// A dictionary (at the `d`), entries added to `d` as they are read, so a caller keeps
    /// what was read before an error.
    fn dict_into(&mut self, depth: usize, d: &mut BTreeMap<Vec<u8>, Value>) -> Res<()> {
        if depth >= MAX_DEPTH {
            return Err(BencodeError::TooDeep {
                offset: self.offset,
            });
        }
        self.bump();
        loop {
            let b = self.need()?;
            if b == b'e' {
                self.bump();
                return Ok(());
            }
            if !b.is_ascii_digit() {
                return Err(self.unexpected(b, "a byte-string key or 'e'"));
            }
            let k = self.bytes()?;
            let v = self.value(depth + 1)?;
            d.insert(k, v);
        }
    }

    /// The next value; `None` at the end of the input between values.
    pub fn read_value(&mut self) -> Res<Option<Value>> {
        if self.peek()?.is_none() {
            return Ok(None);
        }
        self.value(0).map(Some)
    }

    /// The next message (a dictionary); `None` at the end of the input between messages.
    /// After a failure that is not fatal, [`Reader::resync`] skips to where the next
    /// message may start.
    pub fn read_message(&mut self) -> Result<Option<BTreeMap<Vec<u8>, Value>>, ReadFailure> {
        let fail = |error| ReadFailure { error, id: None };
        match self.peek().map_err(fail)? {
            None => return Ok(None),
            Some(b'd') => {}
            Some(b) => return Err(fail(self.unexpected(b, "a dictionary ('d')"))),
        }
        let mut d = BTreeMap::new();
        match self.dict_into(0, &mut d) {
            Ok(()) => Ok(Some(d)),
            Err(error) => Err(ReadFailure {
                error,
                id: match d.get(b"id".as_slice()) {
                    Some(Value::Bytes(b)) => Some(b.clone()),
                    _ => None,
                },
            }),
        }
    }

    /// Skips input after a malformed message: the offending byte (unless it is a `d`,
    /// which may start the next message), then everything up to the next `d`.
    pub fn resync(&mut self) -> Res<()> {
        if self.peek()? != Some(b'd') {
            if self.peek()?.is_some() {
                self.bump();
            }
            while let Some(b) = self.peek()? {
                if b == b'd' {
                    break;
                }
                self.bump();
            }
        }
        Ok(())
    }
}

/// The first value of `bytes` and how many bytes it took.
pub fn decode(bytes: &[u8]) -> Result<(Value, usize), BencodeError> {
    let mut r = Reader::new(bytes);
    match r.read_value()? {
        Some(v) => Ok((v, usize::try_from(r.offset()).unwrap_or(usize::MAX))),
        None => Err(BencodeError::Truncated { offset: 0 }),
    }
}

/// Appends the bencode of `v` to `out`.
pub fn encode(v: &Value, out: &mut Vec<u8>) {
    fn bytes(b: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(b.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(b);
    }
    match v {
        Value::Int(n) => {
            out.push(b'i');
            out.extend_from_slice(n.to_string().as_bytes());
            out.push(b'e');
        }
        Value::Bytes(b) => bytes(b, out),
        Value::List(items) => {
            out.push(b'l');
            for i in items {
                encode(i, out);
            }
            out.push(b'e');
        }
        Value::Dict(d) => {
            out.push(b'd');
            for (k, v) in d {
                bytes(k, out);
                encode(v, out);
            }
            out.push(b'e');
        }
    }
}

/// The bencode of `v`.
pub fn to_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(v, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> Vec<Result<Value, BencodeError>> {
        let mut r = Reader::new(bytes);
        let mut out = Vec::new();
        loop {
            match r.read_message() {
                Ok(None) => break,
                Ok(Some(d)) => out.push(Ok(Value::Dict(d))),
                Err(f) => {
                    let fatal = f.error.is_fatal();
                    out.push(Err(f.error));
                    if fatal || r.resync().is_err() {
                        break;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn round_trips() {
        let v = Value::dict([
            ("op", Value::str("invoke")),
            ("n", Value::Int(-42)),
            ("big", Value::Int(i64::MIN)),
            (
                "l",
                Value::List(vec![Value::str(""), Value::Int(0), Value::List(vec![])]),
            ),
            ("nested", Value::dict([("z", Value::Int(i64::MAX))])),
        ]);
        let bytes = to_vec(&v);
        assert_eq!(decode(&bytes).unwrap(), (v, bytes.len()));
    }

    #[test]
    fn keys_are_written_sorted_and_read_in_any_order() {
        let bytes = b"d2:opi1e1:ai2ee";
        let (v, _) = decode(bytes).unwrap();
        assert_eq!(to_vec(&v), b"d1:ai2e2:opi1ee");
    }

    #[test]
    fn known_encodings() {
        assert_eq!(to_vec(&Value::str("spam")), b"4:spam");
        assert_eq!(to_vec(&Value::Int(3)), b"i3e");
        assert_eq!(
            to_vec(&Value::List(vec![Value::str("done"), Value::str("error")])),
            b"l4:done5:errore"
        );
    }

    #[test]
    fn malformed_input_is_an_error_never_a_panic() {
        for bad in [
            &b"i12"[..],
            b"ie",
            b"i-e",
            b"i1x2e",
            b"i99999999999999999999e",
            b"5:abc",
            b"l",
            b"d3:abc",
            b"di1ei2ee",
            b"x",
            b"-1:a",
            b"99999999999999999999:a",
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "l".repeat(MAX_DEPTH + 1);
        assert!(matches!(
            decode(deep.as_bytes()),
            Err(BencodeError::TooDeep { .. })
        ));
    }

    #[test]
    fn a_stream_recovers_after_garbage_and_keeps_the_id() {
        let stream = b"garbage d2:id1:72:opd1:xi1eee d2:id1:82:op8:describee";
        let mut r = Reader::new(&stream[..]);
        let f = r.read_message().unwrap_err();
        assert!(matches!(
            f.error,
            BencodeError::Unexpected { byte: b'g', .. }
        ));
        r.resync().unwrap();
        // "d2:id1:72:opd1:xi1eee" is a whole dict whose op is a dict: a message, not an error.
        let m = r.read_message().unwrap().unwrap();
        assert_eq!(m.get(b"id".as_slice()), Some(&Value::str("7")));
        r.resync().unwrap();
        let m = r.read_message().unwrap().unwrap();
        assert_eq!(m.get(b"op".as_slice()), Some(&Value::str("describe")));
        assert_eq!(r.read_message().unwrap(), None);

        // A message cut short by the next one: the error carries its id, the next reads.
        let all = read_all(b"d2:id1:92:op6:invoked2:op8:describe2:id2:10e");
        assert_eq!(all.len(), 2);
        assert!(all[0].is_err());
        assert!(all[1].is_ok());
        let mut r = Reader::new(&b"d2:id1:92:op6:invoked2:op8:describee"[..]);
        assert_eq!(r.read_message().unwrap_err().id, Some(b"9".to_vec()));
    }

    #[test]
    fn truncation_is_fatal() {
        let mut r = Reader::new(&b"d2:id1:52:op6:inv"[..]);
        let f = r.read_message().unwrap_err();
        assert!(f.error.is_fatal());
        assert_eq!(f.id, Some(b"5".to_vec()));
    }
}
