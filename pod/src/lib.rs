//! Levin as a Babashka pod: the `levin` binary run with `BABASHKA_POD=true` (or as `levin
//! pod`) speaks the pod protocol as Datalevin's `pod.huahaiy.datalevin` does, so scripts
//! written for Datalevin's pod load Levin instead (docs/POD.md).
//!
//! Messages are bencode ([`bencode`]); arguments and values are transit+json
//! (`levin_edn::transit`). Over stdio by default, or a loopback socket with
//! `BABASHKA_POD_TRANSPORT=socket` ([`transport`]).
#![forbid(unsafe_code)]

pub mod bencode;
mod datalog;
pub mod error;
mod kv;
pub mod protocol;
mod state;
pub mod transport;
pub mod vars;

use std::process::ExitCode;
use std::time::Duration;

pub use error::PodError;
pub use protocol::{describe, Outcome, Pod};

/// True when the process was started as a pod (`BABASHKA_POD=true`).
pub fn is_pod_mode() -> bool {
    std::env::var_os("BABASHKA_POD").is_some_and(|v| v == "true")
}

/// How long a write waits for a writer held by another process:
/// `LEVIN_POD_WRITER_TIMEOUT_MS`, else 60 s.
pub fn writer_timeout() -> Duration {
    std::env::var("LEVIN_POD_WRITER_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_secs(60), Duration::from_millis)
}

/// Runs the pod until `shutdown` or the end of its input, over the transport
/// `BABASHKA_POD_TRANSPORT` names (`socket`, else stdio); closes every database before it
/// returns. Only bencode is written to stdout; diagnostics go to stderr.
pub fn run() -> ExitCode {
    let mut pod = Pod::new(writer_timeout());
    let socket = std::env::var("BABASHKA_POD_TRANSPORT").is_ok_and(|t| t == "socket");
    let result = if socket {
        transport::socket(&mut pod)
    } else {
        transport::stdio(&mut pod)
    };
    pod.close_all();
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("levin pod: {e}");
            ExitCode::FAILURE
        }
    }
}
