//! The Datalevin side: runs `benches/datalevin/query-bench.clj` on the real Datalevin (one
//! JVM, through `run-clj` of /work/shared/datalevin, or `$LEVIN_DATALEVIN_RUN_CLJ`), which
//! reads the same spec file as the DataScript side and prints one `QB-RESULT {json}` line
//! per benchmark (see [`peer`]). Datalevin's query cache is off and each query is warmed up
//! for the JIT before its samples.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::peer::{self, Files};
use super::{Bench, Outcome, Timing};

/// The `run-clj` launcher: `$LEVIN_DATALEVIN_RUN_CLJ`, else `../shared/datalevin/run-clj`
/// beside the workspace (or its main checkout's).
pub fn launcher() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("LEVIN_DATALEVIN_RUN_CLJ") {
        return Ok(PathBuf::from(p));
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [
        ws.join("../shared/datalevin/run-clj"),
        PathBuf::from("/work/shared/datalevin/run-clj"),
    ];
    candidates
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| "no run-clj (set LEVIN_DATALEVIN_RUN_CLJ)".into())
}

/// Runs the script on every benchmark; `work` holds the spec and the result rows.
pub fn run(
    run_clj: &Path,
    benches: &[Bench],
    files: &Files,
    work: &Path,
    t: &Timing,
    jvm_warmup_ms: f64,
    log: &mut dyn FnMut(&str),
) -> Result<HashMap<String, Outcome>, String> {
    let out_dir = work.join("datalevin-out");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let spec_path = work.join("spec-datalevin.edn");
    std::fs::write(
        &spec_path,
        peer::spec(benches, files, &out_dir, t, jvm_warmup_ms),
    )
    .map_err(|e| e.to_string())?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("datalevin/query-bench.clj");
    let mut cmd = Command::new(run_clj);
    cmd.arg(script).arg(&spec_path);
    peer::run(cmd, "datalevin", log)
}
