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
}

/// Writes `s` as a JSON string.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut run = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if c < ' ' => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push_str(escape);
        }
        run = i + c.len_utf8();
    }
    out.push_str(&s[run..]);
    out.push('"');
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
            Edn::Long(n) if n.unsigned_abs() < 1 << 53 => {
                let _ = write!(self.out, "{n}");
            }
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
                    if let Edn::Tagged(tag, rep) = other {
                        self.tag(&tag.to_string());
                        self.value(rep);
                        self.out.push(']');
                    }
                }
            },
        }
    }
}
