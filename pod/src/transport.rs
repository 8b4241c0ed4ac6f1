//! The transports: bencode over stdin/stdout, and (a Levin extension; Datalevin's pod is
//! stdio-only) a loopback TCP socket announced in `.babashka-pod-<pid>.port`, removed at
//! shutdown and at exit.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use crate::bencode::{self, Reader};
use crate::protocol::{Outcome, Pod};

/// How a serving loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// A `shutdown` message.
    Shutdown,
    /// The input ended.
    Eof,
}

/// Serves messages from `input`, replies to `output`, until `shutdown` or the end of the
/// input. Malformed messages get an error reply and the pod reads on.
pub fn serve(pod: &mut Pod, input: impl BufRead, output: impl Write) -> std::io::Result<End> {
    let mut r = Reader::new(input);
    let mut out = output;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let reply = match r.read_message() {
            Ok(None) => return Ok(End::Eof),
            Ok(Some(msg)) => match pod.handle(&msg) {
                Outcome::Reply(v) => v,
                Outcome::Shutdown => return Ok(End::Shutdown),
            },
            Err(f) => {
                eprintln!("levin pod: {}", f.error);
                let reply = pod.malformed(&f);
                buf.clear();
                bencode::encode(&reply, &mut buf);
                out.write_all(&buf)?;
                out.flush()?;
                if f.error.is_fatal() || r.resync().is_err() {
                    return Ok(End::Eof);
                }
                continue;
            }
        };
        buf.clear();
        bencode::encode(&reply, &mut buf);
        out.write_all(&buf)?;
        out.flush()?;
    }
}

/// Serves on stdin/stdout.
pub fn stdio(pod: &mut Pod) -> std::io::Result<End> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    serve(
        pod,
        BufReader::with_capacity(1 << 16, stdin.lock()),
        BufWriter::with_capacity(1 << 16, stdout.lock()),
    )
}

/// The port file: removed when dropped.
pub struct PortFile(PathBuf);

impl PortFile {
    /// Writes `.babashka-pod-<pid>.port` (the port and a newline) in the working directory.
    pub fn write(port: u16) -> std::io::Result<PortFile> {
        let name = format!(".babashka-pod-{}.port", std::process::id());
        let tmp = PathBuf::from(format!("{name}.tmp"));
        std::fs::write(&tmp, format!("{port}\n"))?;
        std::fs::rename(&tmp, &name)?;
        Ok(PortFile(PathBuf::from(name)))
    }

    /// The file.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for PortFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Serves one client on a loopback port announced in the port file.
pub fn socket(pod: &mut Pod) -> std::io::Result<End> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let port = listener.local_addr()?.port();
    let file = PortFile::write(port)?;
    // On SIGTERM/SIGINT/SIGHUP remove the port file before dying.
    let path = std::fs::canonicalize(file.path()).unwrap_or_else(|_| file.path().to_path_buf());
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ]) {
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let _ = std::fs::remove_file(&path);
                std::process::exit(128 + sig);
            }
        });
    }
    let (stream, _) = listener.accept()?;
    stream.set_nodelay(true)?;
    let input = BufReader::with_capacity(1 << 16, stream.try_clone()?);
    let output = BufWriter::with_capacity(1 << 16, stream);
    let end = serve(pod, input, output);
    drop(file);
    end
}
