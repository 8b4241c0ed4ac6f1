//! `levin serve` as a user runs it: the real binary on a free port, the data commands and
//! `levin admin` against it by URI, a user who may only view, and a clean stop on SIGTERM
//! that leaves every acknowledged write in a directory that opens embedded.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

fn levin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_levin"))
        .args(args)
        .env_remove("LEVIN_PASSWORD")
        .output()
        .expect("run levin")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Starts `levin serve` and returns it with the address from its one stdout line.
fn serve(root: &std::path::Path, extra_env: &[(&str, &str)]) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_levin"));
    cmd.args(["serve", "--root"])
        .arg(root)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start levin serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the listening line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("expected 'listening on HOST:PORT', got {line:?}"))
        .to_string();
    (child, addr)
}

fn stop(mut child: Child) -> std::process::ExitStatus {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    child.wait().expect("wait")
}

#[test]
fn share_a_database_from_the_command_line() {
    let root = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (server, addr) = serve(root.path(), &[("LEVIN_ADMIN_PASSWORD", "change-me")]);
    let admin = format!("levin://admin:change-me@{addr}");
    let tx = files.path().join("tx.edn");
    std::fs::write(&tx, r#"[{:name "Ivan" :age 30} {:name "Petr" :age 40}]"#).unwrap();
    let tx = tx.to_str().unwrap();
    // transact creates the database on the server.
    let o = levin(&["transact", &format!("{admin}/sales"), tx]);
    assert!(o.status.success(), "{:?}", text(&o));
    for args in [
        vec!["create-user", "\"ann\"", "\"ann-secret\""],
        vec!["create-role", ":reader"],
        vec![
            "grant-permission",
            ":reader",
            ":view",
            ":database",
            "\"sales\"",
        ],
        vec!["assign-role", ":reader", "\"ann\""],
    ] {
        let mut all = vec!["admin", admin.as_str()];
        all.extend(args);
        let o = levin(&all);
        assert!(o.status.success(), "{all:?}: {:?}", text(&o));
        assert_eq!(text(&o).0.trim(), "true");
    }
    let o = levin(&["admin", &admin, "list-users"]);
    assert_eq!(text(&o).0.trim(), r#"["admin" "ann"]"#);
    let ann = format!("levin://ann:ann-secret@{addr}/sales");
    let o = levin(&[
        "query",
        &ann,
        "[:find ?n :in $ ?min :where [?e :name ?n] [?e :age ?a] [(> ?a ?min)]]",
        "35",
    ]);
    assert_eq!(text(&o).0.trim(), r#"#{["Petr"]}"#, "{:?}", text(&o));
    let o = levin(&["pull", &ann, "[:name]", "1"]);
    assert!(text(&o).0.contains("Ivan"), "{:?}", text(&o));
    // ann may not write, and is told why, with a non-zero exit.
    let o = levin(&["transact", &ann, tx]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("permission denied"), "{:?}", text(&o));
    // Nor re-index, which needs alter too.
    let o = levin(&["re-index", &ann]);
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains(":re-index needs alter"),
        "{:?}",
        text(&o)
    );
    // The admin may: :name becomes unique, and ann looks Petr up by it.
    let schema = files.path().join("schema.edn");
    std::fs::write(&schema, "{:name {:db/unique :db.unique/identity}}").unwrap();
    let o = levin(&[
        "re-index",
        &format!("{admin}/sales"),
        "--schema",
        schema.to_str().unwrap(),
    ]);
    assert_eq!(
        text(&o).0.trim(),
        "re-indexed 4 datoms in sales",
        "{:?}",
        text(&o)
    );
    let o = levin(&["pull", &ann, "[:age]", r#"[:name "Petr"]"#]);
    assert_eq!(text(&o).0.trim(), "{:age 40}", "{:?}", text(&o));
    // Nor administer.
    let o = levin(&[
        "admin",
        &format!("levin://ann:ann-secret@{addr}"),
        "create-user",
        "\"x\"",
        "\"y\"",
    ]);
    assert!(!o.status.success());
    // A wrong password.
    let o = levin(&[
        "query",
        &format!("levin://ann:wrong@{addr}/sales"),
        "[:find ?e :where [?e :name]]",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("wrong user name or password"),
        "{:?}",
        text(&o)
    );
    // A dump loads through the server with its options, and dumps back with them.
    let dump = files.path().join("dump.edn");
    std::fs::write(
        &dump,
        "{:levin/dump 2 :closed-schema? true}\n{:n {:db/valueType :db.type/long}}\n[1 :n 5]\n{:levin/end {:datoms 1 :entries 0}}\n",
    )
    .unwrap();
    let shop = format!("{admin}/shop");
    let o = levin(&["load", &shop, "-i", dump.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = levin(&["transact", &shop, tx]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("not in the schema"), "{:?}", text(&o));
    let o = levin(&["dump", &shop]);
    assert!(
        text(&o)
            .0
            .starts_with("{:levin/dump 2, :closed-schema? true, :auto-entity-time? false}\n"),
        "{:?}",
        text(&o)
    );
    // SIGTERM: a clean stop with exit 0.
    let status = stop(server);
    assert!(status.success(), "{status:?}");
    // The database opens embedded with every acknowledged write.
    let o = levin(&[
        "query",
        root.path().join("sales").to_str().unwrap(),
        "[:find (count ?e) . :where [?e :name]]",
    ]);
    assert_eq!(text(&o).0.trim(), "2", "{:?}", text(&o));
}

#[test]
fn a_first_start_without_a_password_makes_one_and_shows_it_once() {
    let root = tempfile::tempdir().unwrap();
    let (server, addr) = serve(root.path(), &[]);
    // Stop, then read what it said on stderr.
    let pid = server.id();
    let mut server = server;
    let stderr = server.stderr.take().expect("stderr");
    let status = stop(server);
    assert!(status.success());
    let err = std::io::read_to_string(stderr).unwrap();
    let pw = err
        .split("password ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no generated password in {err:?} ({pid})"))
        .to_string();
    assert_eq!(pw.len(), 24);
    // The next start shows nothing, and the generated password works.
    let (server, addr2) = serve(root.path(), &[]);
    let o = levin(&[
        "admin",
        &format!("levin://admin:{pw}@{addr2}"),
        "list-users",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let mut server = server;
    let stderr = server.stderr.take().expect("stderr");
    stop(server);
    assert!(!std::io::read_to_string(stderr)
        .unwrap()
        .contains("password"));
    let _ = addr;
}

#[test]
fn a_non_loopback_address_needs_tls_or_consent() {
    let root = tempfile::tempdir().unwrap();
    let o = levin(&[
        "serve",
        "--root",
        root.path().to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("without TLS"), "{:?}", text(&o));
}
