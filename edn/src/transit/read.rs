//! The transit+json reader: a JSON parser that builds `Edn` directly, resolving tags, the two
//! map forms and cache codes in document order.

use super::error::{TransitError, TransitErrorKind as Kind};
use super::scalar::{self, abbreviate, is_scalar_tag, tag_symbol, Decoded};
use super::{cacheable, CACHE_DIGITS, CACHE_DIGIT_BASE, CACHE_SIZE};
use crate::printer::abbreviate as abbreviate_edn;
use crate::reader::find_duplicate;
use crate::uuid::parse_uuid;
use crate::{Edn, DEFAULT_MAX_DEPTH};

mod json;

/// Errors are boxed inside the reader: a `Result<Edn>` then takes little more room than an
/// `Edn`, and every value the reader returns is moved through one.
type Result<T> = std::result::Result<T, Box<TransitError>>;

pub(super) fn read(text: &str) -> std::result::Result<Edn, TransitError> {
    read_boxed(text).map_err(|e| *e)
}

fn read_boxed(text: &str) -> Result<Edn> {
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        pos: 0,
        cache: Vec::new(),
        path: Vec::new(),
        depth: 0,
        copied: 0,
        copy_limit: text.len().saturating_mul(64).saturating_add(1 << 20),
        stack: Vec::new(),
    };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.pos < p.b.len() {
        return Err(p.err(Kind::TrailingInput));
    }
    Ok(v)
}

/// One step of the path to the value being read.
enum Seg {
    /// The i-th element of an array.
    Index(usize),
    /// The member of an object whose key's raw text is at this byte range.
    Key(usize, usize),
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    /// The read cache: entries in the order they were read, cleared when full.
    cache: Vec<Decoded>,
    path: Vec<Seg>,
    depth: usize,
    /// Bytes copied out of the cache by cache codes so far, and the most allowed.
    copied: usize,
    copy_limit: usize,
    /// Elements of the arrays being read, innermost last: each array collects its items
    /// here and moves them into a vector of exactly their number when it closes, so
    /// reading a long array allocates once instead of growing a vector step by step.
    stack: Vec<Edn>,
}

/// An estimate of the memory a cached scalar takes.
fn size_of(d: &Decoded) -> usize {
    fn edn(v: &Edn) -> usize {
        let named = |ns: Option<&str>, name: &str| name.len() + ns.map_or(0, str::len);
        32 + match v {
            Edn::String(s) => s.len(),
            Edn::Keyword(k) => named(k.namespace(), k.name()),
            Edn::Symbol(s) => named(s.namespace(), s.name()),
            Edn::BigInt(n) => (n.bits() / 8) as usize,
            Edn::BigDec(d) => (d.unscaled.bits() / 8) as usize,
            Edn::Tagged(t) => named(t.0.namespace(), t.0.name()) + edn(&t.1),
            _ => 0,
        }
    }
    match d {
        Decoded::Tag(t) => 32 + t.len(),
        Decoded::Value(v) => edn(v),
    }
}

/// A UUID from `["~#u", rep]`: its text, or its two halves as signed 64-bit integers.
fn uuid_of(rep: &Edn) -> Option<Edn> {
    let half = |v: &Edn| match v {
        Edn::Long(n) => Some(*n as u64),
        Edn::BigInt(n) => u64::try_from(&**n).ok(),
        _ => None,
    };
    match rep {
        Edn::String(s) => parse_uuid(s).map(Edn::Uuid),
        Edn::Vector(v) if v.len() == 2 => {
            let (hi, lo) = (half(&v[0])?, half(&v[1])?);
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&hi.to_be_bytes());
            bytes[8..].copy_from_slice(&lo.to_be_bytes());
            Some(Edn::Uuid(bytes))
        }
        _ => None,
    }
}

impl<'a> Parser<'a> {
    fn render_path(&self) -> String {
        let mut s = String::from("$");
        for seg in &self.path {
            match *seg {
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
                Seg::Key(from, to) => {
                    let key = self.text.get(from..to).unwrap_or("");
                    s.push_str(&format!("[\"{}\"]", abbreviate(key)));
                }
            }
        }
        s
    }

    fn err_at(&self, kind: Kind, offset: usize) -> Box<TransitError> {
        Box::new(TransitError::new(kind, offset, self.render_path()))
    }

    fn err(&self, kind: Kind) -> Box<TransitError> {
        self.err_at(kind, self.pos)
    }

    /// An error for the character at the current position (or the end of the input).
    fn unexpected(&self, expected: &'static str) -> Box<TransitError> {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(found) => self.err(Kind::UnexpectedChar { found, expected }),
            None => self.err(Kind::UnexpectedEnd { expected }),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes `c` (after whitespace) or fails saying `expected`.
    fn expect(&mut self, c: u8, expected: &'static str) -> Result<()> {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn set_last(&mut self, seg: Seg) {
        if let Some(last) = self.path.last_mut() {
            *last = seg;
        }
    }

    fn enter(&mut self, at: usize) -> Result<()> {
        if self.depth >= DEFAULT_MAX_DEPTH {
            return Err(self.err_at(
                Kind::TooDeep {
                    max: DEFAULT_MAX_DEPTH,
                },
                at,
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn value(&mut self) -> Result<Edn> {
        self.ws();
        match self.peek() {
            Some(b'[') => self.array(),
            Some(b'{') => self.object(),
            Some(b'"') => {
                let at = self.pos;
                let raw = self.json_string()?;
                // A string that starts with neither `~` nor `^` is itself, and a string
                // that is not a map key is cached only when it encodes a keyword, a
                // symbol or a tag: plain values skip the cache and the scalar decoder.
                if !raw.starts_with(['~', '^']) {
                    return Ok(Edn::string(raw.into_owned()));
                }
                match self.transit_string(&raw, false, at)? {
                    Decoded::Value(v) => Ok(v),
                    Decoded::Tag(tag) => Err(self.err_at(Kind::MisplacedTag { tag }, at)),
                }
            }
            Some(b't') => self.literal("true", Edn::Bool(true)),
            Some(b'f') => self.literal("false", Edn::Bool(false)),
            Some(b'n') => self.literal("null", Edn::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("a JSON value")),
        }
    }

    /// Reads a JSON string and decodes it as transit (cache codes included).
    fn string(&mut self, as_map_key: bool) -> Result<Decoded> {
        let at = self.pos;
        let raw = self.json_string()?;
        self.transit_string(&raw, as_map_key, at)
    }

    fn transit_string(&mut self, s: &str, as_map_key: bool, at: usize) -> Result<Decoded> {
        if s.starts_with('^') {
            if s == "^ " {
                return Err(self.err_at(Kind::MisplacedMapMarker, at));
            }
            return self.cached(s, at);
        }
        let decoded = scalar::decode(s).map_err(|k| self.err_at(k, at))?;
        if cacheable(s, as_map_key) {
            if self.cache.len() == CACHE_SIZE {
                self.cache.clear();
            }
            self.cache.push(decoded.clone());
        }
        Ok(decoded)
    }

    /// The cache entry a code names.
    fn cached(&mut self, code: &str, at: usize) -> Result<Decoded> {
        let digit = |c: u8| {
            c.checked_sub(CACHE_DIGIT_BASE)
                .map(usize::from)
                .filter(|&d| d < CACHE_DIGITS)
        };
        let index = match code.as_bytes()[1..] {
            [d] => digit(d),
            [hi, lo] => digit(hi).zip(digit(lo)).map(|(h, l)| h * CACHE_DIGITS + l),
            _ => None,
        };
        let Some(index) = index else {
            return Err(self.err_at(
                Kind::InvalidCacheCode {
                    code: abbreviate(code),
                },
                at,
            ));
        };
        let Some(entry) = self.cache.get(index) else {
            return Err(self.err_at(
                Kind::UnknownCacheCode {
                    code: code.to_owned(),
                    index,
                    len: self.cache.len(),
                },
                at,
            ));
        };
        self.copied = self.copied.saturating_add(size_of(entry));
        if self.copied > self.copy_limit {
            return Err(self.err_at(
                Kind::TooLarge {
                    limit: self.copy_limit,
                },
                at,
            ));
        }
        Ok(entry.clone())
    }

    fn array(&mut self) -> Result<Edn> {
        self.enter(self.pos)?;
        self.pos += 1;
        self.ws();
        let v = if self.peek() == Some(b']') {
            self.pos += 1;
            Edn::Vector(Vec::new())
        } else {
            self.path.push(Seg::Index(0));
            let v = self.array_body()?;
            self.path.pop();
            v
        };
        self.depth -= 1;
        Ok(v)
    }

    /// The rest of a non-empty array: a `"^ "` map, a tagged value or a vector.
    fn array_body(&mut self) -> Result<Edn> {
        let first_at = self.pos;
        let first = if self.peek() == Some(b'"') {
            let raw = self.json_string()?;
            if raw == "^ " {
                return self.map_as_array();
            }
            if !raw.starts_with(['~', '^']) {
                Edn::string(raw.into_owned())
            } else {
                match self.transit_string(&raw, false, first_at)? {
                    Decoded::Tag(tag) => {
                        self.expect(b',', "',' and the representation of the tagged value")?;
                        self.set_last(Seg::Index(1));
                        let v = self.tagged_rep(tag.clone())?;
                        self.close_tagged(b']', tag)?;
                        return Ok(v);
                    }
                    Decoded::Value(v) => v,
                }
            }
        } else if matches!(self.peek(), Some(b'0'..=b'9')) {
            self.number()?
        } else {
            self.value()?
        };
        let base = self.stack.len();
        self.stack.push(first);
        loop {
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.set_last(Seg::Index(self.stack.len() - base));
                    // Rows of results are mostly numbers and plain strings: those are read
                    // here, without the general dispatch.
                    let v = match self.peek() {
                        Some(b'"') => match self.plain_string() {
                            Some(v) => v,
                            None => self.value()?,
                        },
                        Some(b'0'..=b'9') => self.number()?,
                        _ => self.value()?,
                    };
                    self.stack.push(v);
                }
                Some(b']') => {
                    self.pos += 1;
                    let items: Vec<Edn> = self.stack.drain(base..).collect();
                    return Ok(Edn::Vector(items));
                }
                _ => return Err(self.unexpected("',' or ']'")),
            }
        }
    }

    fn close_tagged(&mut self, close: u8, tag: String) -> Result<()> {
        self.ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        let reason = if close == b']' {
            "a tagged value is an array of exactly two elements"
        } else {
            "an object holding a tag has exactly one member"
        };
        Err(self.err(Kind::InvalidTaggedValue { tag, reason }))
    }

    /// `["^ ", k, v, ...]` after the marker.
    fn map_as_array(&mut self) -> Result<Edn> {
        let mut entries = Vec::new();
        let mut key_at = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                Some(b',') => self.pos += 1,
                _ => return Err(self.unexpected("',' or ']'")),
            }
            self.ws();
            let at = self.pos;
            self.set_last(Seg::Index(1 + 2 * entries.len()));
            let key = if self.peek() == Some(b'"') {
                match self.string(true)? {
                    Decoded::Value(k) => k,
                    // `["^ ", "~#tag", rep]`: a tagged value written as a one-entry map.
                    Decoded::Tag(tag) if entries.is_empty() => {
                        self.expect(b',', "',' and the representation of the tagged value")?;
                        self.set_last(Seg::Index(2));
                        let v = self.tagged_rep(tag.clone())?;
                        self.close_tagged(b']', tag)?;
                        return Ok(v);
                    }
                    Decoded::Tag(tag) => return Err(self.err_at(Kind::MisplacedTag { tag }, at)),
                }
            } else {
                self.value()?
            };
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => return Err(self.err_at(Kind::MissingMapValue, at)),
                _ => return Err(self.unexpected("',' and the value of the map entry")),
            }
            self.set_last(Seg::Index(2 + 2 * entries.len()));
            let value = self.value()?;
            entries.push((key, value));
            key_at.push(at);
        }
        if let Some(i) = find_duplicate(&entries, |(k, _)| k) {
            self.set_last(Seg::Index(1 + 2 * i));
            let key = abbreviate_edn(&entries[i].0, 60);
            return Err(self.err_at(Kind::DuplicateKey(key), key_at[i]));
        }
        Ok(Edn::Map(entries))
    }

    /// The representation after a tag, read as the value that tag gives.
    fn tagged_rep(&mut self, tag: String) -> Result<Edn> {
        self.ws();
        let at = self.pos;
        let bad = |p: &Self, reason| {
            p.err_at(
                Kind::InvalidTaggedValue {
                    tag: tag.clone(),
                    reason,
                },
                at,
            )
        };
        match tag.as_str() {
            "set" => {
                let (items, offsets) = self.rep_array(&tag)?;
                if let Some(i) = find_duplicate(&items, |e| e) {
                    let item = abbreviate_edn(&items[i], 60);
                    return Err(self.err_at(Kind::DuplicateElement(item), offsets[i]));
                }
                Ok(Edn::Set(items))
            }
            "list" => Ok(Edn::List(self.rep_array(&tag)?.0)),
            "cmap" => {
                let (items, offsets) = self.rep_array(&tag)?;
                if items.len() & 1 != 0 {
                    let last = offsets.last().copied().unwrap_or(at);
                    return Err(self.err_at(Kind::MissingMapValue, last));
                }
                let mut entries = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                if let Some(i) = find_duplicate(&entries, |(k, _)| k) {
                    let key = abbreviate_edn(&entries[i].0, 60);
                    return Err(self.err_at(Kind::DuplicateKey(key), offsets[2 * i]));
                }
                Ok(Edn::Map(entries))
            }
            "'" => self.value(),
            "u" => {
                let rep = self.value()?;
                uuid_of(&rep).ok_or_else(|| {
                    bad(
                        self,
                        "expected a UUID string or [hi, lo] as 64-bit integers",
                    )
                })
            }
            t if t.chars().count() == 1 && t.chars().all(is_scalar_tag) => {
                let c = t.chars().next().unwrap_or('_');
                match self.value()? {
                    Edn::String(s) => scalar::scalar(c, &s).map_err(|k| self.err_at(k, at)),
                    Edn::Long(ms) if c == 'm' => Ok(Edn::Inst(ms)),
                    _ => Err(bad(self, "expected the string form of the value")),
                }
            }
            _ => {
                let rep = self.value()?;
                Ok(Edn::tagged(tag_symbol(&tag), rep))
            }
        }
    }

    /// The array that represents a set, list or cmap: its elements and their offsets.
    fn rep_array(&mut self, tag: &str) -> Result<(Vec<Edn>, Vec<usize>)> {
        if self.peek() != Some(b'[') {
            return Err(self.err(Kind::InvalidTaggedValue {
                tag: tag.to_owned(),
                reason: "expected an array",
            }));
        }
        self.pos += 1;
        let (mut items, mut offsets) = (Vec::new(), Vec::new());
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok((items, offsets));
        }
        self.path.push(Seg::Index(0));
        loop {
            self.ws();
            offsets.push(self.pos);
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.set_last(Seg::Index(items.len()));
                }
                Some(b']') => {
                    self.pos += 1;
                    self.path.pop();
                    return Ok((items, offsets));
                }
                _ => return Err(self.unexpected("',' or ']'")),
            }
        }
    }

    /// A JSON object: a verbose map, or `{"~#tag": rep}`.
    fn object(&mut self) -> Result<Edn> {
        self.enter(self.pos)?;
        self.pos += 1;
        self.ws();
        let mut entries = Vec::new();
        let mut keys: Vec<(usize, usize)> = Vec::new();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Edn::Map(entries));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a string key"));
            }
            let at = self.pos;
            let raw = self.json_string()?;
            let key_end = self.pos - 1;
            self.path.push(Seg::Key(at + 1, key_end));
            let key = self.transit_string(&raw, true, at)?;
            self.expect(b':', "':' after the key")?;
            match key {
                Decoded::Tag(tag) if entries.is_empty() => {
                    let v = self.tagged_rep(tag.clone())?;
                    self.close_tagged(b'}', tag)?;
                    self.path.pop();
                    self.depth -= 1;
                    return Ok(v);
                }
                Decoded::Tag(tag) => return Err(self.err_at(Kind::MisplacedTag { tag }, at)),
                Decoded::Value(k) => {
                    let v = self.value()?;
                    entries.push((k, v));
                    keys.push((at, key_end));
                }
            }
            self.path.pop();
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected("',' or '}'")),
            }
        }
        if let Some(i) = find_duplicate(&entries, |(k, _)| k) {
            let (at, end) = keys[i];
            self.path.push(Seg::Key(at + 1, end));
            let key = abbreviate_edn(&entries[i].0, 60);
            return Err(self.err_at(Kind::DuplicateKey(key), at));
        }
        self.depth -= 1;
        Ok(Edn::Map(entries))
    }
}
