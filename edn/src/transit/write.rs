//! The transit+json writer: non-verbose JSON with the write cache.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::scalar::string_form;
use super::{cacheable, CACHE_DIGITS, CACHE_DIGIT_BASE, CACHE_SIZE};
use crate::Edn;

pub(super) fn write(v: &Edn) -> String {
    let mut w = Writer {
        out: String::new(),
        cache: HashMap::new(),
        scratch: String::new(),
    };
    let composite = matches!(v, Edn::List(_) | Edn::Vector(_) | Edn::Map(_) | Edn::Set(_))
        || (matches!(v, Edn::Tagged(..)) && string_form(v).is_none());
    if composite {
        w.value(v);
    } else {
        w.out.push_str("[\"~#'\",");
        w.value(v);
        w.out.push(']');
    }
    w.out
}

/// The code of cache entry `index`: `^` and one or two base-44 digits.
pub(super) fn cache_code(index: usize) -> String {
    let digit = |d: usize| char::from(CACHE_DIGIT_BASE + (d % CACHE_DIGITS) as u8);
    let mut code = String::from("^");
    if index >= CACHE_DIGITS {
        code.push(digit(index / CACHE_DIGITS));
    }
    code.push(digit(index));
    code
}

struct Writer {
    out: String,
    /// Encoded strings already written, to their cache index. Its size is the next index.
    cache: HashMap<String, usize>,
    /// Reused to build the string forms of keywords and symbols.
    scratch: String,
}

/// Writes `s` as a JSON string.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut run = 0;
    // Every byte that needs escaping is ASCII, so scanning bytes never splits a character.
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Writes `n` in decimal.
fn push_integer(out: &mut String, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push('-');
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

impl Writer {
    /// Writes an encoded transit string, or its cache code when it was written before.
    fn string(&mut self, s: &str, as_map_key: bool) {
        if cacheable(s, as_map_key) {
            if let Some(&index) = self.cache.get(s) {
                self.out.push('"');
                self.out.push_str(&cache_code(index));
                self.out.push('"');
                return;
            }
            if self.cache.len() == CACHE_SIZE {
                self.cache.clear();
            }
            let index = self.cache.len();
            self.cache.insert(s.to_owned(), index);
        }
        push_json_string(&mut self.out, s);
    }

    /// Writes a keyword or symbol, building its string form in the scratch buffer.
    fn named(&mut self, prefix: &str, namespace: Option<&str>, name: &str) {
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        text.push_str(prefix);
        if let Some(ns) = namespace {
            text.push_str(ns);
            text.push('/');
        }
        text.push_str(name);
        self.string(&text, false);
        self.scratch = text;
    }

    fn tag(&mut self, tag: &str) {
        self.out.push('[');
        self.string(&format!("~#{tag}"), false);
        self.out.push(',');
    }

    fn items(&mut self, items: &[Edn]) {
        self.out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.value(item);
        }
        self.out.push(']');
    }

    fn value(&mut self, v: &Edn) {
        match v {
            Edn::Nil => self.out.push_str("null"),
            Edn::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Edn::Long(n) if n.unsigned_abs() < 1 << 53 => push_integer(&mut self.out, *n),
            // A string value is never cached (only map keys, keywords, symbols and tags
            // are), so one that needs no `~` escape goes straight out.
            Edn::String(text) if !text.starts_with(['~', '^', '`']) => {
                push_json_string(&mut self.out, text);
            }
            Edn::Keyword(k) => self.named("~:", k.namespace(), k.name()),
            Edn::Symbol(sym) => self.named("~$", sym.namespace(), sym.name()),
            Edn::Double(d) if d.is_finite() => {
                // `{:?}` is the shortest text that reads back exactly, with '.' or 'e'.
                let _ = write!(self.out, "{d:?}");
            }
            Edn::Vector(items) => self.items(items),
            Edn::List(items) => {
                self.tag("list");
                self.items(items);
                self.out.push(']');
            }
            Edn::Set(items) => {
                self.tag("set");
                self.items(items);
                self.out.push(']');
            }
            Edn::Map(entries) => {
                let keys: Option<Vec<String>> =
                    entries.iter().map(|(k, _)| string_form(k)).collect();
                if let Some(keys) = keys {
                    self.out.push_str("[\"^ \"");
                    for (key, (_, value)) in keys.iter().zip(entries) {
                        self.out.push(',');
                        self.string(key, true);
                        self.out.push(',');
                        self.value(value);
                    }
                    self.out.push(']');
                } else {
                    self.tag("cmap");
                    self.out.push('[');
                    for (i, (key, value)) in entries.iter().enumerate() {
                        if i > 0 {
                            self.out.push(',');
                        }
                        self.value(key);
                        self.out.push(',');
                        self.value(value);
                    }
                    self.out.push_str("]]");
                }
            }
            other => match string_form(other) {
                Some(s) => self.string(&s, false),
                None => {
                    // Only tagged values other than bytes and URIs are left.
                    if let Some((tag, rep)) = other.as_tagged() {
                        self.tag(&tag.to_string());
                        self.value(rep);
                        self.out.push(']');
                    }
                }
            },
        }
    }
}
