//! Printing data results as EDN or JSON, and writing to standard output without
//! panicking when it is closed (a broken pipe ends the command quietly) or full.

use std::io::Write;

use levin_edn::Edn;

use super::error::{CliError, Result};

/// Maps an error writing `what`: a broken pipe becomes [`CliError::StdoutClosed`] (`main`
/// exits quietly on it), anything else an I/O error saying what failed.
pub fn write_error(what: &str, e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        CliError::StdoutClosed
    } else {
        CliError::io(format!("write {what}"), None, e)
    }
}

/// Writes `text` and a newline to standard output.
pub fn println(text: impl std::fmt::Display) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| write_error("to standard output", e))
}

/// Writes `text` to standard output.
pub fn print(text: impl std::fmt::Display) -> Result<()> {
    let mut out = std::io::stdout().lock();
    write!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| write_error("to standard output", e))
}

/// Writes `text` and a newline to standard error, ignoring failure (there is nowhere left
/// to report it).
pub fn eprintln(text: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Output format of data results.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, Debug)]
pub enum Format {
    /// EDN, as Datalevin prints.
    Edn,
    /// JSON: keywords and symbols become strings (`":a/b"`), sets and lists arrays,
    /// maps objects when every key is a string or keyword, else arrays of pairs.
    Json,
}

/// Renders a value in the chosen format.
pub fn render(v: &Edn, f: Format) -> String {
    match f {
        Format::Edn => v.to_string(),
        Format::Json => {
            let mut s = String::new();
            json(v, &mut s);
            s
        }
    }
}

fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_seq<'a>(items: impl Iterator<Item = &'a Edn>, out: &mut String) {
    out.push('[');
    for (i, x) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        json(x, out);
    }
    out.push(']');
}

fn json(v: &Edn, out: &mut String) {
    match v {
        Edn::Nil => out.push_str("null"),
        Edn::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Edn::Long(n) => out.push_str(&n.to_string()),
        Edn::BigInt(n) => out.push_str(&n.to_string()),
        Edn::Double(d) if d.is_finite() => out.push_str(&format!("{d:?}")),
        Edn::Double(d) => json_str(&d.to_string(), out),
        Edn::String(s) => json_str(s, out),
        Edn::Keyword(_)
        | Edn::Symbol(_)
        | Edn::Char(_)
        | Edn::BigDec(_)
        | Edn::Inst(_)
        | Edn::Uuid(_)
        | Edn::Tagged(..) => json_str(&v.to_string(), out),
        Edn::List(xs) | Edn::Vector(xs) | Edn::Set(xs) => json_seq(xs.iter(), out),
        Edn::Map(kvs) => {
            if kvs
                .iter()
                .all(|(k, _)| matches!(k, Edn::String(_) | Edn::Keyword(_)))
            {
                out.push('{');
                for (i, (k, val)) in kvs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    match k {
                        Edn::String(s) => json_str(s, out),
                        other => json_str(&other.to_string(), out),
                    }
                    out.push(':');
                    json(val, out);
                }
                out.push('}');
            } else {
                out.push('[');
                for (i, (k, val)) in kvs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('[');
                    json(k, out);
                    out.push(',');
                    json(val, out);
                    out.push(']');
                }
                out.push(']');
            }
        }
    }
}
