//! Transit's string forms of scalars (`~i`, `~:`, `~u`, ...): parsing them into `Edn` and
//! writing `Edn` scalars as them.

use std::fmt::Write as _;

use super::base64;
use super::error::TransitErrorKind as Kind;
use crate::inst::parse_rfc3339;
use crate::reader::parse_number;
use crate::uuid::{format_uuid, parse_uuid};
use crate::{BigInt, Edn, Keyword, Symbol};

/// A decoded transit string: a value, or a `~#tag` that introduces a tagged value.
#[derive(Debug, Clone)]
pub(super) enum Decoded {
    Value(Edn),
    Tag(String),
}

/// Splits `ns/name` at the first `/` that is neither first nor last (`/` alone is a name).
pub(super) fn split_name(s: &str) -> (Option<&str>, &str) {
    match s.find('/') {
        Some(i) if i > 0 && i + 1 < s.len() => (Some(&s[..i]), &s[i + 1..]),
        _ => (None, s),
    }
}

/// The symbol a tag names (`datalevin/Datom`).
pub(super) fn tag_symbol(tag: &str) -> Symbol {
    let (namespace, name) = split_name(tag);
    Symbol::new(namespace, name)
}

/// The first 60 characters of `s`, for error messages.
pub(super) fn abbreviate(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Decodes a JSON string that is not a cache code.
pub(super) fn decode(s: &str) -> Result<Decoded, Kind> {
    let mut chars = s.chars();
    if chars.next() != Some('~') {
        return Ok(Decoded::Value(Edn::string(s.to_owned())));
    }
    let Some(tag) = chars.next() else {
        // A lone "~": not a tagged string (transit-java reads it as is).
        return Ok(Decoded::Value(Edn::string(s.to_owned())));
    };
    let rest = chars.as_str();
    match tag {
        '~' | '^' | '`' => Ok(Decoded::Value(Edn::string(s[1..].to_owned()))),
        '#' if rest.is_empty() => Err(invalid("tag (~#)", s, "the tag is empty")),
        '#' => Ok(Decoded::Tag(rest.to_owned())),
        c => scalar(c, rest).map(Decoded::Value),
    }
}

fn invalid(what: &'static str, text: &str, reason: impl Into<String>) -> Kind {
    Kind::InvalidScalar {
        what,
        text: abbreviate(text),
        reason: reason.into(),
    }
}

/// An optional sign then ASCII digits.
fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn big_integer(s: &str) -> Option<BigInt> {
    if !is_integer(s) {
        return None;
    }
    BigInt::parse_bytes(s.as_bytes(), 10)
}

/// Whether `c` is a one-letter tag with a string form that [`scalar`] knows.
pub(super) fn is_scalar_tag(c: char) -> bool {
    matches!(
        c,
        '_' | '?' | 'i' | 'n' | 'd' | 'f' | 'z' | 'c' | ':' | '$' | 'u' | 'm' | 't' | 'b' | 'r'
    )
}

/// The value of `~<tag><rest>`. Unknown one-letter tags give `Tagged(tag, rest)`, as the spec
/// asks of tags without a decoder.
pub(super) fn scalar(tag: char, rest: &str) -> Result<Edn, Kind> {
    let text = || format!("~{tag}{rest}");
    Ok(match tag {
        '_' if rest.is_empty() => Edn::Nil,
        '_' => return Err(invalid("nil (~_)", &text(), "text after ~_")),
        '?' => match rest {
            "t" => Edn::Bool(true),
            "f" => Edn::Bool(false),
            _ => return Err(invalid("boolean (~?)", &text(), "expected t or f")),
        },
        'i' => {
            if !is_integer(rest) {
                return Err(invalid("integer (~i)", &text(), "expected decimal digits"));
            }
            match rest.parse::<i64>() {
                Ok(n) => Edn::Long(n),
                Err(_) => {
                    Edn::big_int(big_integer(rest).ok_or_else(|| {
                        invalid("integer (~i)", &text(), "expected decimal digits")
                    })?)
                }
            }
        }
        'n' => Edn::big_int(
            big_integer(rest)
                .ok_or_else(|| invalid("big integer (~n)", &text(), "expected decimal digits"))?,
        ),
        'd' => match rest.parse::<f64>() {
            Ok(d)
                if rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
            {
                Edn::Double(d)
            }
            _ => return Err(invalid("double (~d)", &text(), "not a number")),
        },
        'f' => {
            let ok_chars = rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
            let parsed = if ok_chars && !rest.is_empty() {
                parse_number(&format!("{rest}M")).map_err(|(_, msg)| msg)
            } else {
                Err("expected a decimal number".to_owned())
            };
            match parsed {
                Ok(d @ Edn::BigDec(_)) => d,
                Ok(_) => return Err(invalid("big decimal (~f)", &text(), "not a decimal")),
                Err(msg) => return Err(invalid("big decimal (~f)", &text(), msg)),
            }
        }
        'z' => Edn::Double(match rest {
            "NaN" => f64::NAN,
            "INF" => f64::INFINITY,
            "-INF" => f64::NEG_INFINITY,
            _ => {
                return Err(invalid(
                    "special number (~z)",
                    &text(),
                    "expected NaN, INF or -INF",
                ))
            }
        }),
        'c' => {
            let mut cs = rest.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Edn::Char(c),
                _ => {
                    return Err(invalid(
                        "character (~c)",
                        &text(),
                        "expected exactly one character",
                    ))
                }
            }
        }
        ':' => {
            let (namespace, name) = split_name(rest);
            Edn::Keyword(Keyword::new(namespace, name))
        }
        '$' => {
            let (namespace, name) = split_name(rest);
            Edn::Symbol(Symbol::new(namespace, name))
        }
        'u' => Edn::Uuid(parse_uuid(rest).ok_or_else(|| {
            invalid(
                "UUID (~u)",
                &text(),
                "expected 8-4-4-4-12 hexadecimal digits",
            )
        })?),
        'm' => {
            if !is_integer(rest) {
                return Err(invalid("instant (~m)", &text(), "expected milliseconds"));
            }
            Edn::Inst(
                rest.parse::<i64>()
                    .map_err(|_| invalid("instant (~m)", &text(), "milliseconds out of range"))?,
            )
        }
        't' => Edn::Inst(
            parse_rfc3339(rest).map_err(|msg| invalid("instant (~t)", &text(), msg.to_string()))?,
        ),
        'b' => {
            let bytes = base64::decode(rest).map_err(|msg| invalid("bytes (~b)", &text(), msg))?;
            bytes_edn(&bytes)
        }
        'r' => Edn::tagged(Symbol::new(None, "uri"), Edn::string(rest.to_owned())),
        // The quote tag as a string tag: the identity, as in transit-java and -python.
        '\'' => Edn::string(rest.to_owned()),
        other => Edn::tagged(
            Symbol::new(None, &other.to_string()),
            Edn::string(rest.to_owned()),
        ),
    })
}

/// Bytes as Levin holds them: `#bytes "hex"` (lowercase).
fn bytes_edn(bytes: &[u8]) -> Edn {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(hex, "{b:02x}");
    }
    Edn::tagged(Symbol::new(None, "bytes"), Edn::string(hex))
}

/// The bytes of `#bytes "hex"` when the hex is lowercase and even (what reading `~b` gives
/// back, so that only those are written as `~b`).
fn bytes_of(tag: &Symbol, rep: &Edn) -> Option<Vec<u8>> {
    if !tag.is("", "bytes") {
        return None;
    }
    let hex = rep.as_str()?.as_bytes();
    if hex.len() & 1 != 0 || !hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let nibble = |b: u8| if b <= b'9' { b - b'0' } else { b - b'a' + 10 };
    Some(
        hex.chunks(2)
            .map(|p| nibble(p[0]) << 4 | nibble(p[1]))
            .collect(),
    )
}

/// The URI of `#uri "text"`.
fn uri_of<'a>(tag: &Symbol, rep: &'a Edn) -> Option<&'a str> {
    tag.is("", "uri").then(|| rep.as_str()).flatten()
}

fn push_named(out: &mut String, prefix: &str, namespace: Option<&str>, name: &str) {
    out.push_str(prefix);
    if let Some(ns) = namespace {
        out.push_str(ns);
        out.push('/');
    }
    out.push_str(name);
}

/// The string form of a stringable value (the form a map key takes), or `None` for a
/// composite one (list, vector, map, set, other tagged values).
pub(super) fn string_form(v: &Edn) -> Option<String> {
    let mut s = String::new();
    match v {
        Edn::Nil => s.push_str("~_"),
        Edn::Bool(b) => s.push_str(if *b { "~?t" } else { "~?f" }),
        Edn::Long(n) => {
            let _ = write!(s, "~i{n}");
        }
        Edn::BigInt(n) => {
            let _ = write!(s, "~n{n}");
        }
        Edn::Double(d) => push_double_string(&mut s, *d),
        Edn::BigDec(d) => {
            // EDN's text keeps the scale (`1.50M`, `15E2M`); drop the `M`.
            let text = Edn::BigDec(d.clone()).to_string();
            s.push_str("~f");
            s.push_str(text.strip_suffix('M').unwrap_or(&text));
        }
        Edn::String(text) => {
            if text.starts_with(['~', '^', '`']) {
                s.push('~');
            }
            s.push_str(text);
        }
        Edn::Char(c) => {
            s.push_str("~c");
            s.push(*c);
        }
        Edn::Keyword(k) => push_named(&mut s, "~:", k.namespace(), k.name()),
        Edn::Symbol(sym) => push_named(&mut s, "~$", sym.namespace(), sym.name()),
        Edn::Inst(ms) => {
            let _ = write!(s, "~m{ms}");
        }
        Edn::Uuid(u) => {
            s.push_str("~u");
            s.push_str(&format_uuid(u));
        }
        Edn::Tagged(t) => {
            let (tag, rep) = (&t.0, &t.1);
            if let Some(bytes) = bytes_of(tag, rep) {
                s.push_str("~b");
                base64::encode(&bytes, &mut s);
            } else if let Some(uri) = uri_of(tag, rep) {
                s.push_str("~r");
                s.push_str(uri);
            } else {
                return None;
            }
        }
        Edn::List(_) | Edn::Vector(_) | Edn::Map(_) | Edn::Set(_) => return None,
    }
    Some(s)
}

/// A double as a string: `~zNaN`/`~zINF`/`~z-INF`, else `~d<digits>` (a map key; elsewhere
/// finite doubles are JSON numbers).
fn push_double_string(s: &mut String, d: f64) {
    if d.is_nan() {
        s.push_str("~zNaN");
    } else if d == f64::INFINITY {
        s.push_str("~zINF");
    } else if d == f64::NEG_INFINITY {
        s.push_str("~z-INF");
    } else {
        // `{:?}` is the shortest text that reads back exactly.
        let _ = write!(s, "~d{d:?}");
    }
}
