//! The DataScript side: installs `@logseq/nbb-logseq` (pinned in
//! `benches/datascript/package.json`) into a scratch folder with npm, writes a spec file and
//! runs `benches/datascript/query-bench.cljs` under nbb as a child process, which prints one
//! `QB-RESULT {json}` line per benchmark.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::{data, spread, Bench, Kind, Outcome, Timing};

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

fn edn_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The spec file the script reads.
fn spec(benches: &[Bench], files: &HashMap<String, PathBuf>, out: &Path, t: &Timing) -> String {
    let mut s = String::from("{:schema ");
    s.push_str(&edn_str(data::SCHEMA));
    s.push_str("\n :out ");
    s.push_str(&edn_str(&out.display().to_string()));
    s.push_str(&format!(
        "\n :timing {{:warmup-ms {} :samples {} :sample-ms {} :load-samples {} :load-warmup {}}}",
        t.warmup_ms, t.samples, t.sample_ms, t.load_samples, t.load_warmup
    ));
    s.push_str("\n :data {");
    let mut names: Vec<&String> = files.keys().collect();
    names.sort();
    for n in names {
        s.push_str(&format!(
            "{} {} ",
            edn_str(n),
            edn_str(&files[n].display().to_string())
        ));
    }
    s.push_str("}\n :benches [");
    for b in benches {
        s.push_str(&format!(
            "\n  {{:name {} :dataset {} ",
            edn_str(&b.name),
            edn_str(&b.dataset)
        ));
        match &b.kind {
            Kind::Load => s.push_str(":kind :load}"),
            Kind::Query { query, args } => {
                let args: Vec<String> = args.iter().map(|a| edn_str(a)).collect();
                s.push_str(&format!(
                    ":kind :query :query {} :args [{}]}}",
                    edn_str(query),
                    args.join(" ")
                ));
            }
        }
    }
    s.push_str("]}\n");
    s
}

#[derive(Deserialize)]
struct Line {
    name: String,
    median_ms: Option<f64>,
    #[serde(default)]
    samples: Vec<f64>,
    count: Option<u64>,
    rows_file: Option<String>,
    error: Option<String>,
}

/// Runs the script on every benchmark. `work` is a scratch directory for the spec and the
/// result rows.
pub fn run(
    nbb: &Path,
    benches: &[Bench],
    files: &HashMap<String, PathBuf>,
    work: &Path,
    t: &Timing,
    log: &mut dyn FnMut(&str),
) -> Result<HashMap<String, Outcome>, String> {
    let out_dir = work.join("datascript-out");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let spec_path = work.join("spec.edn");
    std::fs::write(&spec_path, spec(benches, files, &out_dir, t)).map_err(|e| e.to_string())?;
    let script = project_dir().join("query-bench.cljs");
    let mut child = Command::new(nbb)
        .arg(&script)
        .arg(&spec_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", nbb.display()))?;
    let stdout = child.stdout.take().expect("piped");
    let mut results = HashMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        let Some(json) = line.strip_prefix("QB-RESULT ") else {
            log(&format!("datascript| {line}"));
            continue;
        };
        let l: Line = serde_json::from_str(json).map_err(|e| format!("{e}: {json}"))?;
        let rows = match &l.rows_file {
            Some(f) => {
                let text = std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?;
                let mut v: Vec<String> = if text.is_empty() {
                    Vec::new()
                } else {
                    text.split('\n').map(str::to_string).collect()
                };
                // JavaScript sorts by UTF-16 code units; re-sort the same way as Levin's side.
                v.sort();
                Some(v)
            }
            None => None,
        };
        log(&format!(
            "datascript: {:<22} {}",
            l.name,
            match (&l.error, l.median_ms) {
                (Some(e), _) => format!("error: {e}"),
                (None, Some(ms)) => format!(
                    "{ms:.3} ms ({} rows; samples {})",
                    l.count.unwrap_or(0),
                    spread(&l.samples)
                ),
                _ => "?".into(),
            }
        ));
        results.insert(
            l.name,
            Outcome {
                median_ms: l.median_ms,
                samples: l.samples,
                count: l.count,
                rows,
                error: l.error,
            },
        );
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        if results.is_empty() {
            return Err(format!("nbb-logseq exited with {status}"));
        }
        log(&format!("datascript: nbb-logseq exited with {status}"));
    }
    Ok(results)
}
