//! Every data file in tests/data has Datalevin's answers in tests/golden (written by
//! scripts/regen-datalevin-golden) and is run by some test, so no case escapes the oracle.

use std::path::Path;

fn edn_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".edn"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_data_file_has_golden_answers_and_a_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let data = edn_files(&root.join("data"));
    let golden = edn_files(&root.join("golden"));
    let tests: String = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let mut missing = vec![];
    for f in &data {
        if !golden.contains(f) {
            missing.push(format!(
                "{f}: no tests/golden/{f}: run scripts/regen-datalevin-golden"
            ));
        }
        if !tests.contains(&format!("\"{f}\"")) {
            missing.push(format!("{f}: no test in tests/*.rs runs it"));
        }
    }
    for f in &golden {
        if !data.contains(f) {
            missing.push(format!("tests/golden/{f} answers no data file: delete it"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    assert!(data.len() >= 19, "{} data files", data.len());
}
