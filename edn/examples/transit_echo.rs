//! Reads transit+json documents, one a line, from standard input and writes each back as Levin
//! re-encodes it (or `ERROR: <message>`), one a line. Used by scripts/transit-interop.

use std::io::{self, BufRead, Write};

fn main() -> io::Result<()> {
    let stdin = io::stdin();
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in stdin.lock().lines() {
        match levin_edn::transit::read(&line?) {
            Ok(v) => writeln!(out, "{}", levin_edn::transit::write(&v))?,
            Err(e) => writeln!(out, "ERROR: {e}")?,
        }
    }
    out.flush()
}
