//! What the two peers (DataScript under node, Datalevin on the JVM) share: the spec file
//! their scripts read (data files, schemas, timing, benchmarks) and the runner that starts a
//! script as a child process and collects its `QB-RESULT {json}` lines.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::{spread, Bench, Kind, Outcome, Timing};

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

/// The data the scripts read: data set name -> (EDN file, schema text).
pub type Files = HashMap<String, (PathBuf, &'static str)>;

/// The spec file the scripts read. `jvm_warmup_ms` is the JIT warm-up of a JVM peer.
pub fn spec(
    benches: &[Bench],
    files: &Files,
    out: &Path,
    t: &Timing,
    jvm_warmup_ms: f64,
) -> String {
    let mut s = String::from("{:out ");
    s.push_str(&edn_str(&out.display().to_string()));
    s.push_str(&format!(
        "\n :timing {{:warmup-ms {} :samples {} :sample-ms {} :load-samples {} :load-warmup {}}}",
        t.warmup_ms, t.samples, t.sample_ms, t.load_samples, t.load_warmup
    ));
    s.push_str(&format!("\n :jvm-warmup-ms {jvm_warmup_ms}"));
    let mut names: Vec<&String> = files.keys().collect();
    names.sort();
    s.push_str("\n :data {");
    for n in &names {
        let p = files[*n].0.display().to_string();
        s.push_str(&format!("{} {} ", edn_str(n), edn_str(&p)));
    }
    s.push_str("}\n :schemas {");
    for n in &names {
        s.push_str(&format!("{} {} ", edn_str(n), edn_str(files[*n].1)));
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

/// Runs `cmd` (a peer's script, given the spec file as its last argument) and collects one
/// outcome per `QB-RESULT` line; other lines go to `log` prefixed with `label`.
pub fn run(
    mut cmd: Command,
    label: &str,
    log: &mut dyn FnMut(&str),
) -> Result<HashMap<String, Outcome>, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let stdout = child.stdout.take().expect("piped");
    let mut results = HashMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        let Some(json) = line.strip_prefix("QB-RESULT ") else {
            log(&format!("{label}| {line}"));
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
                // Each peer sorts its own way; re-sort the same way as Levin's side.
                v.sort();
                Some(v)
            }
            None => None,
        };
        log(&format!(
            "{label}: {:<24} {}",
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
            return Err(format!("{label} exited with {status}"));
        }
        log(&format!("{label}: exited with {status}"));
    }
    Ok(results)
}
