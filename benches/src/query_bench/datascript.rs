//! The DataScript side: installs `@logseq/nbb-logseq` (pinned in
//! `benches/datascript/package.json`) into a scratch folder with npm, writes a spec file and
//! runs `benches/datascript/query-bench.cljs` under nbb as a child process, which prints one
//! `QB-RESULT {json}` line per benchmark (see [`peer`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::peer::{self, Files};
use super::{Bench, Outcome, Timing};

/// `benches/datascript/`.
pub fn project_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datascript")
}

fn pinned_version() -> Result<String, String> {
    let text = std::fs::read_to_string(project_dir().join("package.json"))
        .map_err(|e| format!("benches/datascript/package.json: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    v["dependencies"]["@logseq/nbb-logseq"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "package.json pins no @logseq/nbb-logseq".into())
}

/// Installs nbb-logseq into `scratch` (unless the pinned version is already there) and
/// returns the path of its `nbb-logseq` executable.
pub fn install(scratch: &Path, log: &mut dyn FnMut(&str)) -> Result<PathBuf, String> {
    let version = pinned_version()?;
    let bin = scratch.join("node_modules/.bin/nbb-logseq");
    let installed = scratch.join("node_modules/@logseq/nbb-logseq/package.json");
    let have = std::fs::read_to_string(&installed)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_string));
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("node not found: {e}"))?;
    if !node.status.success() {
        return Err("`node --version` failed".into());
    }
    if have.as_deref() == Some(version.as_str()) && bin.exists() {
        return Ok(bin);
    }
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    std::fs::copy(
        project_dir().join("package.json"),
        scratch.join("package.json"),
    )
    .map_err(|e| format!("copy package.json: {e}"))?;
    log(&format!(
        "datascript: npm install @logseq/nbb-logseq@{version} --prefix {}",
        scratch.display()
    ));
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(scratch)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("npm not found: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("npm install failed ({}): {last}", out.status));
    }
    if !bin.exists() {
        return Err(format!("npm install left no {}", bin.display()));
    }
    Ok(bin)
}

/// Runs the script on every benchmark. `work` is a scratch directory for the spec and the
/// result rows.
pub fn run(
    nbb: &Path,
    benches: &[Bench],
    files: &Files,
    work: &Path,
    t: &Timing,
    log: &mut dyn FnMut(&str),
) -> Result<HashMap<String, Outcome>, String> {
    let out_dir = work.join("datascript-out");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let spec_path = work.join("spec-datascript.edn");
    std::fs::write(&spec_path, peer::spec(benches, files, &out_dir, t, 0.0))
        .map_err(|e| e.to_string())?;
    let mut cmd = Command::new(nbb);
    cmd.arg(project_dir().join("query-bench.cljs"))
        .arg(&spec_path);
    peer::run(cmd, "datascript", log)
}
