//! Printing EDN: canonical one-line text via `Display`, and multi-line [`to_pretty_string`].
//!
//! The printed text of any value the reader can produce reads back to an equal value. Values
//! built by hand that the reader could never produce (a symbol containing a space, a map with
//! duplicate keys, a `Tagged` value with tag `inst`, ...) print as the closest text, which may
//! not read back.

use std::fmt::{self, Write};

use super::inst::format_rfc3339;
use super::uuid::format_uuid;
use super::{BigDec, Edn};

/// Writes `d` so that it reads back as the same double: always with a `.` or an exponent.
fn write_double(f: &mut impl Write, d: f64) -> fmt::Result {
    if d.is_nan() {
        f.write_str("##NaN")
    } else if d == f64::INFINITY {
        f.write_str("##Inf")
    } else if d == f64::NEG_INFINITY {
        f.write_str("##-Inf")
    } else {
        // `{:?}` is the shortest text that parses back exactly, and always has '.' or 'e'.
        write!(f, "{d:?}")
    }
}

/// Writes a string literal with `"`, `\`, and control characters escaped.
fn write_string(f: &mut impl Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut run_start = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\t' => Some("\\t"),
            '\r' => Some("\\r"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            c if c.is_control() => None,
            _ => continue,
        };
        f.write_str(&s[run_start..i])?;
        match escape {
            Some(e) => f.write_str(e)?,
            None => write!(f, "\\u{:04x}", u32::from(c))?,
        }
        run_start = i + c.len_utf8();
    }
    f.write_str(&s[run_start..])?;
    f.write_char('"')
}

/// Writes a character literal: a name for the named ones, `\uXXXX` for other invisible ones.
fn write_char(f: &mut impl Write, c: char) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\newline"),
        ' ' => f.write_str("\\space"),
        '\t' => f.write_str("\\tab"),
        '\r' => f.write_str("\\return"),
        '\u{c}' => f.write_str("\\formfeed"),
        '\u{8}' => f.write_str("\\backspace"),
        // Every whitespace and control character is in the Basic Multilingual Plane.
        c if c.is_whitespace() || c.is_control() => write!(f, "\\u{:04x}", u32::from(c)),
        c => write!(f, "\\{c}"),
    }
}

/// The decimal as EDN writes it, without the `M` suffix, e.g. `1.50`, `0.015`, `15E2`,
/// `15E-20`: the scale is kept, so the text reads back to the same digits.
fn write_bigdec(f: &mut fmt::Formatter<'_>, d: &BigDec) -> fmt::Result {
    {
        let digits = d.unscaled.magnitude().to_str_radix(10);
        let sign = if d.unscaled.sign() == num_bigint::Sign::Minus {
            "-"
        } else {
            ""
        };
        let scale = i64::from(d.scale);
        let len = digits.len() as i64;
        if scale == 0 {
            write!(f, "{sign}{digits}")
        } else if scale < 0 {
            write!(f, "{sign}{digits}E{}", -scale)
        } else if scale < len {
            let (int, frac) = digits.split_at((len - scale) as usize);
            write!(f, "{sign}{int}.{frac}")
        } else if scale - len <= 6 {
            let zeros = "0".repeat((scale - len) as usize);
            write!(f, "{sign}0.{zeros}{digits}")
        } else {
            write!(f, "{sign}{digits}E-{scale}")
        }
    }
}

fn write_seq(f: &mut fmt::Formatter<'_>, open: &str, items: &[Edn], close: &str) -> fmt::Result {
    f.write_str(open)?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_char(' ')?;
        }
        fmt::Display::fmt(item, f)?;
    }
    f.write_str(close)
}

impl fmt::Display for Edn {
    /// Canonical one-line EDN, e.g. `{:a [1 2.0 "x"], :b #{\c}}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edn::Nil => f.write_str("nil"),
            Edn::Bool(b) => write!(f, "{b}"),
            Edn::Long(n) => write!(f, "{n}"),
            Edn::BigInt(n) => write!(f, "{n}N"),
            Edn::Double(d) => write_double(f, *d),
            Edn::BigDec(d) => {
                write_bigdec(f, d)?;
                f.write_str("M")
            }
            Edn::String(s) => write_string(f, s),
            Edn::Char(c) => write_char(f, *c),
            Edn::Keyword(k) => write!(f, "{k}"),
            Edn::Symbol(s) => write!(f, "{s}"),
            Edn::List(items) => write_seq(f, "(", items, ")"),
            Edn::Vector(items) => write_seq(f, "[", items, "]"),
            Edn::Set(items) => write_seq(f, "#{", items, "}"),
            Edn::Map(entries) => {
                f.write_char('{')?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    fmt::Display::fmt(k, f)?;
                    f.write_char(' ')?;
                    fmt::Display::fmt(v, f)?;
                }
                f.write_char('}')
            }
            Edn::Inst(ms) => write!(f, "#inst \"{}\"", format_rfc3339(*ms)),
            Edn::Uuid(bytes) => write!(f, "#uuid \"{}\"", format_uuid(bytes)),
            Edn::Tagged(t) => {
                write!(f, "#{} ", t.0)?;
                fmt::Display::fmt(&t.1, f)
            }
        }
    }
}

/// Counts characters and fails once more than `budget` have been written.
struct Budget {
    left: usize,
}

impl Write for Budget {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.chars().count();
        if n > self.left {
            return Err(fmt::Error);
        }
        self.left -= n;
        Ok(())
    }
}

/// Whether `value` printed on one line takes at most `budget` characters (stops counting early).
fn fits(value: &Edn, budget: usize) -> bool {
    write!(Budget { left: budget }, "{value}").is_ok()
}

/// Collects at most `max` characters, then refuses more.
struct Capped {
    out: String,
    left: usize,
}

impl Write for Capped {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.left == 0 {
                return Err(fmt::Error);
            }
            self.out.push(c);
            self.left -= 1;
        }
        Ok(())
    }
}

/// `value` printed on one line, cut to `max` characters plus `...` if longer (for messages).
pub(crate) fn abbreviate(value: &Edn, max: usize) -> String {
    let mut capped = Capped {
        out: String::new(),
        left: max,
    };
    if write!(capped, "{value}").is_err() {
        capped.out.push_str("...");
    }
    capped.out
}

/// The column (in characters, 0-based) at which the next character of `out` would be printed.
fn column(out: &str) -> usize {
    let line_start = out.rfind('\n').map_or(0, |i| i + 1);
    out[line_start..].chars().count()
}

fn newline(out: &mut String, indent: usize) {
    out.push('\n');
    out.push_str(&" ".repeat(indent));
}

fn pretty(value: &Edn, width: usize, out: &mut String) {
    let col = column(out);
    if fits(value, width.saturating_sub(col)) {
        // Writing to a String cannot fail.
        let _ = write!(out, "{value}");
        return;
    }
    let seq = |open: &str, items: &[Edn], close: &str, out: &mut String| {
        out.push_str(open);
        let indent = col + open.chars().count();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                newline(out, indent);
            }
            pretty(item, width, out);
        }
        out.push_str(close);
    };
    match value {
        Edn::List(items) => seq("(", items, ")", out),
        Edn::Vector(items) => seq("[", items, "]", out),
        Edn::Set(items) => seq("#{", items, "}", out),
        Edn::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    newline(out, col + 1);
                }
                pretty(k, width, out);
                out.push(' ');
                pretty(v, width, out);
            }
            out.push('}');
        }
        Edn::Tagged(t) => {
            let _ = write!(out, "#{} ", t.0);
            pretty(&t.1, width, out);
        }
        _ => {
            let _ = write!(out, "{value}");
        }
    }
}

/// Prints `value` across lines so that, where possible, no line is wider than `width`.
///
/// A collection that fits in the rest of its line is printed as by `Display`; one that does
/// not is printed one element (or one map entry) per line, aligned after its opening bracket.
/// The text reads back to the same value.
///
/// ```
/// use levin_edn::{read, to_pretty_string};
///
/// let v = read("[{:db/id 1 :name \"Ivan\"} {:db/id 2 :name \"Petr\"}]").unwrap();
/// assert_eq!(
///     to_pretty_string(&v, 30),
///     "[{:db/id 1, :name \"Ivan\"}\n {:db/id 2, :name \"Petr\"}]"
/// );
/// ```
pub fn to_pretty_string(value: &Edn, width: usize) -> String {
    let mut out = String::new();
    pretty(value, width, &mut out);
    out
}

#[cfg(test)]
mod tests {
    //! Unit tests for canonical and pretty printing.

    use super::*;
    use crate::{read, BigInt, Keyword, Symbol};

    fn p(v: &Edn) -> String {
        v.to_string()
    }

    #[test]
    fn prints_scalars() {
        assert_eq!(p(&Edn::Nil), "nil");
        assert_eq!(p(&Edn::Bool(true)), "true");
        assert_eq!(p(&Edn::Long(-5)), "-5");
        assert_eq!(p(&Edn::big_int(BigInt::from(3))), "3N");
        assert_eq!(p(&Edn::Double(1.0)), "1.0");
        assert_eq!(p(&Edn::Double(-0.0)), "-0.0");
        assert_eq!(p(&Edn::Double(1e300)), "1e300");
        assert_eq!(p(&Edn::Double(1.5e-7)), "1.5e-7");
        assert_eq!(p(&Edn::Double(f64::NAN)), "##NaN");
        assert_eq!(p(&Edn::Double(f64::INFINITY)), "##Inf");
        assert_eq!(p(&Edn::Double(f64::NEG_INFINITY)), "##-Inf");
        assert_eq!(
            p(&Edn::String("a\"b\\c\nd\te\u{1}é".into())),
            r#""a\"b\\c\nd\te\u0001é""#
        );
        assert_eq!(p(&Edn::Char('a')), "\\a");
        assert_eq!(p(&Edn::Char('\n')), "\\newline");
        assert_eq!(p(&Edn::Char(' ')), "\\space");
        assert_eq!(p(&Edn::Char('\u{0}')), "\\u0000");
        assert_eq!(p(&Edn::Char('\u{3000}')), "\\u3000");
        assert_eq!(p(&Edn::Char('(')), "\\(");
        assert_eq!(
            p(&Edn::Keyword(Keyword::new(Some("ns"), "_rev"))),
            ":ns/_rev"
        );
        assert_eq!(
            p(&Edn::Symbol(Symbol::new(Some("clojure.core"), "/"))),
            "clojure.core//"
        );
        assert_eq!(p(&Edn::Inst(0)), "#inst \"1970-01-01T00:00:00.000Z\"");
        assert_eq!(
            p(&Edn::Uuid([0xab; 16])),
            "#uuid \"abababab-abab-abab-abab-abababababab\""
        );
    }

    #[test]
    fn prints_bigdecs() {
        let d = |u: i64, s: i32| p(&Edn::big_dec(BigDec::new(u, s)));
        assert_eq!(d(15, 1), "1.5M");
        assert_eq!(d(150, 2), "1.50M");
        assert_eq!(d(-15, 3), "-0.015M");
        assert_eq!(d(0, 3), "0.000M");
        assert_eq!(d(7, 0), "7M");
        assert_eq!(d(15, -2), "15E2M");
        assert_eq!(d(15, 20), "15E-20M");
        assert_eq!(d(-1, i32::MIN), "-1E2147483648M");
    }

    #[test]
    fn prints_collections() {
        let v = read("(a [1 2] {:a #{1} \"k\" nil} #my/tag [x])").unwrap();
        assert_eq!(p(&v), "(a [1 2] {:a #{1}, \"k\" nil} #my/tag [x])");
        assert_eq!(p(&read("[]").unwrap()), "[]");
        assert_eq!(p(&read("{}").unwrap()), "{}");
        assert_eq!(p(&read("#{}").unwrap()), "#{}");
    }

    #[test]
    fn pretty_prints_wide_values() {
        let v =
            read("{:find [?e ?name] :where [[?e :name ?name] [?e :age ?a] [(> ?a 30)]] :limit 10}")
                .unwrap();
        let out = to_pretty_string(&v, 40);
        assert_eq!(
            out,
            "{:find [?e ?name],\n :where [[?e :name ?name]\n         [?e :age ?a]\n         [(> ?a 30)]],\n :limit 10}"
        );
        assert_eq!(read(&out).unwrap(), v);
        for line in out.lines() {
            assert!(line.chars().count() <= 40, "{line}");
        }
        // Narrow widths still produce readable text.
        for width in [0, 1, 5, 200] {
            assert_eq!(read(&to_pretty_string(&v, width)).unwrap(), v);
        }
        let tagged = read("#my/tag [1 2 3]").unwrap();
        assert_eq!(
            to_pretty_string(&tagged, 5),
            "#my/tag [1\n         2\n         3]"
        );
    }
}
