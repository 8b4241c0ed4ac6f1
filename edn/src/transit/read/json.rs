//! JSON tokens for the transit reader: numbers, literals and strings with their escapes.

use std::borrow::Cow;

use super::{Parser, Result};
use crate::transit::error::TransitErrorKind as Kind;
use crate::transit::scalar::abbreviate;
use crate::{BigInt, Edn};

impl<'a> Parser<'a> {
    pub(super) fn literal(&mut self, word: &str, v: Edn) -> Result<Edn> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.unexpected("a JSON value"))
        }
    }

    pub(super) fn number(&mut self) -> Result<Edn> {
        let start = self.pos;
        let b = self.b;
        // The common case, an integer of at most 18 digits (which cannot overflow an
        // `i64`), is read in one pass; anything else takes the general path below.
        {
            let neg = b[start] == b'-';
            let first = start + usize::from(neg);
            let mut i = first;
            let mut n: i64 = 0;
            while let Some(&d) = b.get(i) {
                if !d.is_ascii_digit() || i - first == 18 {
                    break;
                }
                n = n * 10 + i64::from(d - b'0');
                i += 1;
            }
            let digits = i - first;
            let leading_zero = digits > 1 && b[first] == b'0';
            let ends = !matches!(b.get(i), Some(b'0'..=b'9' | b'.' | b'e' | b'E'));
            if digits > 0 && !leading_zero && ends {
                self.pos = i;
                return Ok(Edn::Long(if neg { -n } else { n }));
            }
        }
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let invalid = |p: &Self| {
            let mut end = start;
            while b
                .get(end)
                .is_some_and(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
            {
                end += 1;
            }
            p.err_at(Kind::InvalidNumber(abbreviate(&p.text[start..end])), start)
        };
        let mut i = start + usize::from(b[start] == b'-');
        match b.get(i) {
            Some(b'0') if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                return Err(invalid(self))
            }
            Some(b'0'..=b'9') => i = digits(i),
            _ => return Err(invalid(self)),
        }
        let mut float = false;
        if b.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                return Err(invalid(self));
            }
            i = end;
            float = true;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return Err(invalid(self));
            }
            i = end;
            float = true;
        }
        let token = &self.text[start..i];
        self.pos = i;
        if float {
            return token
                .parse::<f64>()
                .map(Edn::Double)
                .map_err(|_| invalid(self));
        }
        if let Ok(n) = token.parse::<i64>() {
            return Ok(Edn::Long(n));
        }
        BigInt::parse_bytes(token.as_bytes(), 10)
            .map(Edn::big_int)
            .ok_or_else(|| invalid(self))
    }

    /// The JSON string at the current position as a string value, when it has no escapes
    /// and starts with neither `~` nor `^` (so it is itself); otherwise `None`, having read
    /// nothing.
    pub(super) fn plain_string(&mut self) -> Option<Edn> {
        let start = self.pos + 1;
        let rest = self.b.get(start..)?;
        if matches!(rest.first(), Some(b'~' | b'^')) {
            return None;
        }
        let len = rest
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        if rest[len] != b'"' {
            return None;
        }
        self.pos = start + len + 1;
        Some(Edn::string(self.text[start..start + len].to_owned()))
    }

    /// The text of the JSON string at the current position, unescaped.
    pub(super) fn json_string(&mut self) -> Result<Cow<'a, str>> {
        let (text, b) = (self.text, self.b);
        let start = self.pos + 1;
        let mut i = start;
        while let Some(&c) = b.get(i) {
            match c {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(&text[start..i]));
                }
                b'\\' => break,
                c if c < 0x20 => break,
                _ => i += 1,
            }
        }
        let mut out = String::from(&text[start..i]);
        loop {
            let Some(&c) = b.get(i) else {
                return Err(self.err_at(
                    Kind::UnexpectedEnd {
                        expected: "'\"' to close the string",
                    },
                    i,
                ));
            };
            match c {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    let simple = match b.get(i + 1) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let (ch, len) = self.unicode_escape(i)?;
                            out.push(ch);
                            i += len;
                            continue;
                        }
                        _ => return Err(self.err_at(Kind::InvalidString("invalid escape"), i)),
                    };
                    out.push(simple);
                    i += 2;
                }
                c if c < 0x20 => {
                    return Err(self.err_at(Kind::InvalidString("unescaped control character"), i))
                }
                _ => {
                    let mut j = i + 1;
                    while b
                        .get(j)
                        .is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20)
                    {
                        j += 1;
                    }
                    out.push_str(&text[i..j]);
                    i = j;
                }
            }
        }
    }

    /// The character of the `\uXXXX` escape (or surrogate pair) at `i`, and its length.
    pub(super) fn unicode_escape(&self, i: usize) -> Result<(char, usize)> {
        let hex4 = |at: usize| {
            let digits = self.b.get(at..at + 4)?;
            let s = std::str::from_utf8(digits).ok()?;
            if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            u32::from_str_radix(s, 16).ok()
        };
        let bad = |what| self.err_at(Kind::InvalidString(what), i);
        let hi = hex4(i + 2).ok_or_else(|| bad("expected 4 hexadecimal digits after \\u"))?;
        match hi {
            0xD800..=0xDBFF => {
                let lo = (self.b.get(i + 6..i + 8) == Some(b"\\u"))
                    .then(|| hex4(i + 8))
                    .flatten()
                    .filter(|lo| (0xDC00..=0xDFFF).contains(lo))
                    .ok_or_else(|| bad("a high surrogate without a low one"))?;
                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                char::from_u32(cp)
                    .map(|c| (c, 12))
                    .ok_or_else(|| bad("invalid surrogate pair"))
            }
            0xDC00..=0xDFFF => Err(bad("a low surrogate without a high one")),
            _ => char::from_u32(hi)
                .map(|c| (c, 6))
                .ok_or_else(|| bad("invalid code point")),
        }
    }
}
