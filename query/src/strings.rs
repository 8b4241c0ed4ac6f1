//! The `clojure.string` functions (also callable as `str/...`), `type`, and the printing
//! behind `pr-str`/`print-str`.

use levin_edn::{Edn, Symbol};

use crate::functions::{arity, long, regex, seq, string, to_str, FnError};

/// The `clojure.string` functions, by their short names.
const NAMES: [&str; 21] = [
    "blank?",
    "capitalize",
    "ends-with?",
    "escape",
    "includes?",
    "index-of",
    "join",
    "last-index-of",
    "lower-case",
    "re-quote-replacement",
    "replace",
    "replace-first",
    "reverse",
    "split",
    "split-lines",
    "starts-with?",
    "trim",
    "trim-newline",
    "triml",
    "trimr",
    "upper-case",
];

/// The short name of a `clojure.string/...` or `str/...` function, if `name` is one.
pub fn string_fn(name: &str) -> Option<&str> {
    let short = name
        .strip_prefix("clojure.string/")
        .or_else(|| name.strip_prefix("str/"))?;
    NAMES.contains(&short).then_some(short)
}

/// Whether `e` is a regular expression (a `re-pattern` value) rather than a string.
fn is_regex(e: &Edn) -> bool {
    regex_source(e).is_some()
}

/// The pattern text of a regular expression value (`#regex "..."`), if `e` is one.
fn regex_source(e: &Edn) -> Option<&Edn> {
    e.as_tagged()
        .filter(|(t, _)| t.is("", "regex"))
        .map(|(_, source)| source)
}

/// A regex value, as `re-pattern` makes it.
pub fn regex_value(source: &str) -> Edn {
    Edn::tagged(Symbol::new(None, "regex"), Edn::String(source.into()))
}

/// A Java replacement string (`$1` a group, `\x` a literal x) in the regex crate's syntax.
fn replacement(java: &str) -> String {
    let mut out = String::new();
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The position of `needle` in `hay` in characters, from a byte position.
fn char_pos(hay: &str, byte: usize) -> Edn {
    Edn::Long(hay[..byte].chars().count() as i64)
}

/// The byte offset of character `n` of `s` (its length when past the end).
fn byte_at(s: &str, n: i64) -> usize {
    if n <= 0 {
        return 0;
    }
    s.char_indices().nth(n as usize).map_or(s.len(), |(i, _)| i)
}

fn needle(e: &Edn) -> Result<String, FnError> {
    match e {
        Edn::String(s) => Ok(s.as_str().to_owned()),
        Edn::Char(c) => Ok(c.to_string()),
        other => Err(FnError::from(format!(
            "expected a string or a character, got {other}"
        ))),
    }
}

/// Java's `String.split`: at most `limit` parts when it is positive; with 0, trailing
/// empty strings are removed. A match of nothing at the start makes no leading part.
fn split(s: &str, re: &regex::Regex, limit: i64) -> Vec<Edn> {
    let mut parts: Vec<&str> = vec![];
    let mut last = 0;
    for m in re.find_iter(s) {
        if limit > 0 && parts.len() as i64 == limit - 1 {
            break;
        }
        if m.end() == 0 {
            continue;
        }
        if m.start() == m.end() && m.start() >= s.len() {
            break;
        }
        parts.push(&s[last..m.start()]);
        last = m.end();
    }
    parts.push(&s[last..]);
    if limit == 0 {
        while parts.len() > 1 && parts.last() == Some(&"") {
            parts.pop();
        }
        if parts == [""] && !s.is_empty() {
            parts.clear();
        }
    }
    parts.into_iter().map(|p| Edn::String(p.into())).collect()
}

fn replace(a: &[Edn], first_only: bool) -> Result<Edn, FnError> {
    arity(a, 3)?;
    let s = string(&a[0])?;
    match (&a[1], &a[2]) {
        (m, r) if is_regex(m) => {
            let re = regex(m)?;
            let rep = replacement(string(r)?);
            Ok(Edn::String(if first_only {
                re.replacen(s, 1, rep.as_str()).into_owned().into()
            } else {
                re.replace_all(s, rep.as_str()).into_owned().into()
            }))
        }
        (m @ (Edn::String(_) | Edn::Char(_)), r @ (Edn::String(_) | Edn::Char(_))) => {
            let (m, r) = (needle(m)?, needle(r)?);
            Ok(Edn::String(if first_only {
                s.replacen(&m, &r, 1).into()
            } else {
                s.replace(&m, &r).into()
            }))
        }
        (m, r) => Err(FnError::from(format!(
            "replaces a string with a string, a character with a character, or a pattern with a string; got {m} and {r}"
        ))),
    }
}

/// Calls `clojure.string/<short>`.
pub fn call(short: &str, a: &[Edn]) -> Result<Edn, FnError> {
    let b = Edn::Bool;
    let s1 = |a: &[Edn]| -> Result<String, FnError> {
        arity(a, 1)?;
        Ok(string(&a[0])?.to_string())
    };
    Ok(match short {
        "blank?" => {
            arity(a, 1)?;
            b(a[0].is_nil() || string(&a[0])?.chars().all(char::is_whitespace))
        }
        "capitalize" => {
            let s = s1(a)?;
            let mut cs = s.chars();
            Edn::String(match cs.next() {
                Some(c) => c
                    .to_uppercase()
                    .chain(cs.as_str().to_lowercase().chars())
                    .collect(),
                None => String::new().into(),
            })
        }
        "ends-with?" | "starts-with?" | "includes?" => {
            arity(a, 2)?;
            let (s, x) = (string(&a[0])?, string(&a[1])?);
            b(match short {
                "ends-with?" => s.ends_with(x),
                "starts-with?" => s.starts_with(x),
                _ => s.contains(x),
            })
        }
        "escape" => {
            arity(a, 2)?;
            let s = string(&a[0])?;
            let Edn::Map(m) = &a[1] else {
                return Err(FnError::from(
                    "escape takes a string and a map of characters",
                ));
            };
            let mut out = String::new();
            for c in s.chars() {
                match m.iter().find(|(k, _)| *k == Edn::Char(c)) {
                    Some((_, v)) if !v.is_nil() => out.push_str(&to_str(v)),
                    _ => out.push(c),
                }
            }
            Edn::string(out)
        }
        "index-of" | "last-index-of" => {
            if !(2..=3).contains(&a.len()) {
                return Err(FnError::from(format!(
                    "{short} takes a string, a value and an optional position"
                )));
            }
            let s = string(&a[0])?;
            let n = needle(&a[1])?;
            let found = match (short, a.get(2)) {
                ("index-of", None) => s.find(&n),
                ("index-of", Some(from)) => {
                    let from = byte_at(s, long(from)?);
                    s[from..].find(&n).map(|i| i + from)
                }
                (_, None) => s.rfind(&n),
                (_, Some(from)) => {
                    let from = long(from)?;
                    if from < 0 {
                        None
                    } else {
                        // A match may start at `from` at the latest.
                        let end = (byte_at(s, from) + n.len()).min(s.len());
                        let end = (0..=end)
                            .rev()
                            .find(|&i| s.is_char_boundary(i))
                            .unwrap_or(0);
                        s[..end].rfind(&n)
                    }
                }
            };
            found.map_or(Edn::Nil, |i| char_pos(s, i))
        }
        "join" => {
            let (sep, coll) = match a {
                [coll] => (String::new(), coll),
                [sep, coll] => (to_str(sep), coll),
                _ => {
                    return Err(FnError::from(
                        "join takes an optional separator and a collection",
                    ))
                }
            };
            Edn::string(seq(coll)?.iter().map(to_str).collect::<Vec<_>>().join(&sep))
        }
        "lower-case" => Edn::string(s1(a)?.to_lowercase()),
        "upper-case" => Edn::string(s1(a)?.to_uppercase()),
        "re-quote-replacement" => {
            let s = s1(a)?;
            let mut out = String::new();
            for c in s.chars() {
                if c == '\\' || c == '$' {
                    out.push('\\');
                }
                out.push(c);
            }
            Edn::string(out)
        }
        "replace" => replace(a, false)?,
        "replace-first" => replace(a, true)?,
        "reverse" => Edn::String(s1(a)?.chars().rev().collect()),
        "split" => {
            let (s, re, limit) = match a {
                [s, re] => (s, re, 0),
                [s, re, l] => (s, re, long(l)?),
                _ => {
                    return Err(FnError::from(
                        "split takes a string, a pattern and an optional limit",
                    ))
                }
            };
            Edn::Vector(split(string(s)?, &regex(re)?, limit))
        }
        "split-lines" => {
            let s = s1(a)?;
            let re = regex::Regex::new("\r?\n").map_err(|e| FnError::from(e.to_string()))?;
            Edn::Vector(split(&s, &re, 0))
        }
        "trim" => Edn::string(s1(a)?.trim()),
        "triml" => Edn::string(s1(a)?.trim_start()),
        "trimr" => Edn::string(s1(a)?.trim_end()),
        "trim-newline" => Edn::string(s1(a)?.trim_end_matches(['\n', '\r'])),
        _ => {
            return Err(FnError::from(format!(
                "unknown function clojure.string/{short}"
            )))
        }
    })
}

/// `(type x)`: the name of the JVM class Datalevin would give, as a symbol.
pub fn type_of(e: &Edn) -> Edn {
    match class_name(e) {
        Some(name) => Edn::Symbol(Symbol::new(None, name)),
        None => Edn::Nil,
    }
}

/// The name of the JVM class Datalevin holds `e` in (`None` for nil).
pub(crate) fn class_name(e: &Edn) -> Option<&'static str> {
    Some(match e {
        Edn::Nil => return None,
        Edn::Bool(_) => "java.lang.Boolean",
        Edn::Long(_) => "java.lang.Long",
        Edn::BigInt(_) => "clojure.lang.BigInt",
        Edn::Double(_) => "java.lang.Double",
        Edn::BigDec(_) => "java.math.BigDecimal",
        Edn::String(_) => "java.lang.String",
        Edn::Char(_) => "java.lang.Character",
        Edn::Keyword(_) => "clojure.lang.Keyword",
        Edn::Symbol(_) => "clojure.lang.Symbol",
        Edn::List(_) => "clojure.lang.PersistentList",
        Edn::Vector(_) => "clojure.lang.PersistentVector",
        Edn::Map(m) if m.len() <= 8 => "clojure.lang.PersistentArrayMap",
        Edn::Map(_) => "clojure.lang.PersistentHashMap",
        Edn::Set(_) => "clojure.lang.PersistentHashSet",
        Edn::Inst(_) => "java.util.Date",
        Edn::Uuid(_) => "java.util.UUID",
        Edn::Tagged(_) if is_regex(e) => "java.util.regex.Pattern",
        Edn::Tagged(_) => "clojure.lang.TaggedLiteral",
    })
}

/// `x` as `pr-str` (`readable`) or `print-str` print it: the latter writes strings and
/// characters as they are, inside collections too.
pub fn print(x: &Edn, readable: bool) -> String {
    if readable {
        return match regex_source(x) {
            Some(source) => format!("#\"{}\"", to_str(source)),
            None => x.to_string(),
        };
    }
    let seq = |open: &str, xs: &[Edn], close: &str| {
        let inner: Vec<String> = xs.iter().map(|x| print(x, false)).collect();
        format!("{open}{}{close}", inner.join(" "))
    };
    match x {
        Edn::String(s) => s.as_str().to_owned(),
        Edn::Char(c) => c.to_string(),
        Edn::List(xs) => seq("(", xs, ")"),
        Edn::Vector(xs) => seq("[", xs, "]"),
        Edn::Set(xs) => seq("#{", xs, "}"),
        Edn::Map(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{} {}", print(k, false), print(v, false)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => match regex_source(other) {
            Some(source) => to_str(source),
            None => other.to_string(),
        },
    }
}
