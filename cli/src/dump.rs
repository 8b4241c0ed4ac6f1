//! The portable text dump of key-value databases: a header line, then per database a
//! `db` line and one line per entry with hex-encoded key and value, then `end`.
//!
//! ```text
//! levin-dump 1
//! db plain "users"
//! 616c696365 656e67696e656572
//! db list "tags"
//! 616c696365 72757374
//! end
//! ```

use std::io::{BufRead, Write};

use levin_engine::{Env, Read};

const HEADER: &str = "levin-dump 1";

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn unhex(s: &str, line: usize) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("line {line}: odd number of hex digits"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| {
                format!(
                    "line {line}, column {}: not a hex digit pair: {:?}",
                    i + 1,
                    &s[i..i + 2]
                )
            })
        })
        .collect()
}

/// Writes every database of `env` to `out`.
pub fn dump(env: &Env, mut out: impl Write) -> Result<(), String> {
    let w = |e: std::io::Error| format!("cannot write the dump: {e}");
    let r = env.read().map_err(|e| e.to_string())?;
    writeln!(out, "{HEADER}").map_err(w)?;
    for name in r.db_names().map_err(|e| e.to_string())? {
        let db = r.open_db(&name).map_err(|e| e.to_string())?;
        writeln!(
            out,
            "db {} {:?}",
            if db.is_list() { "list" } else { "plain" },
            name
        )
        .map_err(w)?;
        for item in r.iter(&db).map_err(|e| e.to_string())? {
            let (k, v) = item.map_err(|e| e.to_string())?;
            writeln!(out, "{} {}", hex(k), hex(v)).map_err(w)?;
        }
    }
    writeln!(out, "end").map_err(w)?;
    out.flush().map_err(w)
}

/// Loads a dump into `env` in one transaction; returns the number of entries.
pub fn load(env: &Env, input: impl BufRead) -> Result<u64, String> {
    let mut w = env.write().map_err(|e| e.to_string())?;
    let mut lines = input.lines().enumerate();
    match lines.next() {
        Some((_, Ok(l))) if l.trim() == HEADER => {}
        Some((_, Ok(l))) => return Err(format!("line 1: expected {HEADER:?}, found {l:?}")),
        Some((_, Err(e))) => return Err(format!("cannot read the dump: {e}")),
        None => return Err("the dump is empty".into()),
    }
    let mut db = None;
    let mut n = 0u64;
    let mut ended = false;
    for (i, line) in lines {
        let lineno = i + 1;
        let line = line.map_err(|e| format!("cannot read the dump: {e}"))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if ended {
            return Err(format!("line {lineno}: text after `end`"));
        }
        if line == "end" {
            ended = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("db ") {
            let (kind, name) = rest
                .split_once(' ')
                .ok_or_else(|| format!("line {lineno}: expected `db KIND \"NAME\"`"))?;
            let name = name
                .strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .ok_or_else(|| format!("line {lineno}: database name must be in double quotes"))?;
            let handle = match kind {
                "plain" => w.create_db(name),
                "list" => w.create_list_db(name),
                other => {
                    return Err(format!(
                        "line {lineno}: unknown database kind {other:?} (expected plain or list)"
                    ))
                }
            }
            .map_err(|e| format!("line {lineno}: {e}"))?;
            db = Some(handle);
            continue;
        }
        let Some(handle) = &db else {
            return Err(format!("line {lineno}: an entry before any `db` line"));
        };
        let (k, v) = line
            .split_once(' ')
            .ok_or_else(|| format!("line {lineno}: expected `KEYHEX VALUEHEX`"))?;
        let (k, v) = (unhex(k, lineno)?, unhex(v, lineno)?);
        if handle.is_list() {
            w.put_list(handle, &k, &v).map(|_| ())
        } else {
            w.put(handle, &k, &v)
        }
        .map_err(|e| format!("line {lineno}: {e}"))?;
        n += 1;
    }
    if !ended {
        return Err("the dump ends without `end`: it is truncated".into());
    }
    w.commit().map_err(|e| e.to_string())?;
    Ok(n)
}
