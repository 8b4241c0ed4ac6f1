//! Writing results to standard output: a closed pipe (`levin stat DIR | head -1`) ends the
//! program quietly with success; any other write error is reported.

use std::io::Write;

/// Prints `text` and a newline.
pub fn line(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(format!("cannot write to standard output: {e}")),
    }
}
