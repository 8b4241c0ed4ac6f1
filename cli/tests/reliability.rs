//! The `levin` binary under hostile use (issue #22): read commands that never write,
//! all-or-nothing loads with truncation and version checks, refusals that protect the
//! Datalog store, a closed standard output, bounded `--repeat`, and `check` of the
//! Datalog layer.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use levin_engine::{Env, Read};

fn levin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_levin"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

const SCHEMA: &str = "{:p/name {:db/unique :db.unique/identity} :p/friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}}";

/// A Datalog database with two people.
fn people(root: &Path) -> std::path::PathBuf {
    let db = root.join("db");
    let schema = root.join("schema.edn");
    std::fs::write(&schema, SCHEMA).unwrap();
    let tx = root.join("tx.edn");
    std::fs::write(
        &tx,
        r#"[{:db/id "a" :p/name "alice" :p/friend "b"} {:db/id "b" :p/name "bob"}]"#,
    )
    .unwrap();
    let o = levin(&["transact", p(&db), p(&tx), "--schema", p(&schema)]);
    assert!(o.status.success(), "{}", stderr(&o));
    db
}

fn data_bytes(db: &Path) -> Vec<u8> {
    std::fs::read(db.join(levin_engine::DATA_FILE)).unwrap()
}

#[test]
fn read_commands_never_write() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    let before = data_bytes(&db);
    let dump = d.path().join("dump.edn");
    for args in [
        vec!["query", p(&db), "[:find ?n :where [_ :p/name ?n]]"],
        vec!["pull", p(&db), "[*]", "1"],
        vec!["dump", p(&db), "-o", p(&dump)],
        vec!["stat", p(&db)],
        vec!["check", p(&db)],
    ] {
        let o = levin(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(data_bytes(&db) == before, "{args:?} wrote to the data file");
    }
}

#[test]
fn read_commands_do_not_add_datalog_databases_to_a_kv_environment() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::open(d.path()).unwrap();
    let mut w = env.write().unwrap();
    let users = w.create_db("users").unwrap();
    w.put(&users, b"k", b"v").unwrap();
    w.commit().unwrap();
    drop(env);
    let o = levin(&["query", p(d.path()), "[:find ?e :where [?e :a]]"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("holds no Datalog database"),
        "{}",
        stderr(&o)
    );
    let o = levin(&["pull", p(d.path()), "[*]", "1"]);
    assert!(!o.status.success());
    let o = levin(&["dump", p(d.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let env = Env::open(d.path()).unwrap();
    assert_eq!(env.read().unwrap().db_names().unwrap(), vec!["users"]);
}

#[test]
fn read_commands_do_not_wait_for_a_writer() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    // This process holds the writer for the whole test.
    let env = Env::open(&db).unwrap();
    let _w = env.write().unwrap();
    let t = Instant::now();
    for args in [
        vec!["query", p(&db), "[:find ?n :where [_ :p/name ?n]]"],
        vec!["pull", p(&db), "[*]", "1"],
        vec!["dump", p(&db)],
    ] {
        let o = levin(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    assert!(t.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_zero_byte_data_file_is_reported_not_taken_for_a_new_database() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(levin_engine::DATA_FILE), b"").unwrap();
    for cmd in ["check", "stat", "dump"] {
        let o = levin(&[cmd, p(d.path())]);
        assert!(!o.status.success(), "{cmd}");
        assert!(
            stderr(&o).contains("is empty (0 bytes)"),
            "{cmd}: {}",
            stderr(&o)
        );
    }
    let tx = d.path().join("tx.edn");
    std::fs::write(&tx, "[{:a 1}]").unwrap();
    let o = levin(&["transact", p(d.path()), p(&tx)]);
    assert!(stderr(&o).contains("is empty (0 bytes)"), "{}", stderr(&o));
    assert_eq!(
        std::fs::metadata(d.path().join(levin_engine::DATA_FILE))
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn composite_tuples_round_trip_through_dump_and_load() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("db");
    let schema = d.path().join("schema.edn");
    std::fs::write(&schema, "{:a {} :b {} :a+b {:db/valueType :db.type/tuple :db/tupleAttrs [:a :b] :db/unique :db.unique/identity}}").unwrap();
    let tx = d.path().join("tx.edn");
    std::fs::write(&tx, "[{:a 1 :b 2} {:a 3 :b 4}]").unwrap();
    assert!(levin(&["transact", p(&db), p(&tx), "--schema", p(&schema)])
        .status
        .success());
    let dump = d.path().join("dump.edn");
    assert!(levin(&["dump", p(&db), "-o", p(&dump)]).status.success());
    let copy = d.path().join("copy");
    let o = levin(&["load", p(&copy), "-i", p(&dump)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again = levin(&["dump", p(&copy)]);
    assert_eq!(stdout(&again), std::fs::read_to_string(&dump).unwrap());
    let o = levin(&["query", p(&copy), "[:find ?e . :where [?e :a+b [3 4]]]"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "2");
}

#[test]
fn load_refuses_a_non_empty_target_unless_merging() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    let other = d.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let tx = other.join("tx.edn");
    std::fs::write(
        &tx,
        r#"[{:db/id "c" :p/name "carol" :p/friend "d"} {:db/id "d" :p/name "dave"}]"#,
    )
    .unwrap();
    let schema = other.join("schema.edn");
    std::fs::write(&schema, SCHEMA).unwrap();
    let src = other.join("db");
    assert!(
        levin(&["transact", p(&src), p(&tx), "--schema", p(&schema)])
            .status
            .success()
    );
    let dump = d.path().join("dump.edn");
    assert!(levin(&["dump", p(&src), "-o", p(&dump)]).status.success());
    let before = data_bytes(&db);
    let o = levin(&["load", p(&db), "-i", p(&dump)]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("already holds data (3 datoms)"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--merge"), "{}", stderr(&o));
    assert!(data_bytes(&db) == before);
    // Merging gives the dump's entities new ids; alice keeps hers and refs follow.
    let o = levin(&["load", p(&db), "-i", p(&dump), "--merge"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = levin(&[
        "query",
        p(&db),
        "[:find ?n ?f :where [?e :p/name ?n] [?e :p/friend ?x] [?x :p/name ?f]]",
    ]);
    assert_eq!(
        levin_edn::read(&stdout(&o)).unwrap(),
        levin_edn::read(r#"#{["alice" "bob"] ["carol" "dave"]}"#).unwrap()
    );
    let o = levin(&["pull", p(&db), "[:p/name]", "1"]);
    assert_eq!(stdout(&o).trim(), r#"{:p/name "alice"}"#);
}

#[test]
fn load_detects_truncation_and_unknown_versions_and_is_all_or_nothing() {
    let d = tempfile::tempdir().unwrap();
    let src = people(d.path());
    let dump = d.path().join("dump.edn");
    assert!(levin(&["dump", p(&src), "-o", p(&dump)]).status.success());
    let text = std::fs::read_to_string(&dump).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let load = |name: &str, body: &str| {
        let f = d.path().join(format!("{name}.edn"));
        std::fs::write(&f, body).unwrap();
        let target = d.path().join(name);
        (levin(&["load", p(&target), "-i", p(&f)]), target)
    };
    // Cut at a line boundary: the end marker is missing.
    let (o, target) = load("cut", &(lines[..lines.len() - 2].join("\n") + "\n"));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cut short"), "{}", stderr(&o));
    let nothing = |target: &Path| {
        !target.join(levin_engine::DATA_FILE).exists() || {
            let env = Env::open(target).unwrap();
            let r = env.read().unwrap();
            r.open_db("datalog/eav")
                .map(|db| r.len(&db).unwrap() == 0)
                .unwrap_or(true)
        }
    };
    assert!(nothing(&target));
    // Cut mid-line.
    let (o, target) = load("mid", &text[..text.len() - 10]);
    assert!(!o.status.success());
    assert!(nothing(&target));
    // A datom that fails after others were read: nothing is kept.
    let (o, target) = load(
        "bad",
        &format!(
            "{{:levin/dump 2}}\n{SCHEMA}\n[1 :p/name \"x\"]\n[2 :p/friend \"not-a-ref\"]\n{{:levin/end {{:datoms 2 :entries 0}}}}\n"
        ),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nothing was loaded"), "{}", stderr(&o));
    assert!(nothing(&target));
    // Wrong counts.
    let (o, _) = load(
        "count",
        "{:levin/dump 2}\n{}\n[1 :x 1]\n{:levin/end {:datoms 2 :entries 0}}\n",
    );
    assert!(stderr(&o).contains("damaged"), "{}", stderr(&o));
    // Unknown version.
    let (o, target) = load("version", "{:levin/dump 99}\n{}\n[1 :x 1]\n");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("dump version 99"), "{}", stderr(&o));
    assert!(nothing(&target));
    // Version 1 dumps still load.
    let (o, _) = load("v1", "{:levin/dump 1}\n{}\n[1 :x 1]\n");
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn load_reports_non_ascii_in_a_hex_field() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("d.edn");
    std::fs::write(
        &f,
        "{:levin/dump 1}\n{}\n{:levin/section :kv}\n[:db \"x\" :plain]\n[\"6é\" \"00\"]\n",
    )
    .unwrap();
    let o = levin(&["load", p(&d.path().join("db")), "-i", p(&f)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not a hex digit"), "{}", stderr(&o));
}

#[test]
fn drop_refuses_datalog_databases() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    for args in [
        vec!["drop", p(&db), "datalog/meta", "--delete"],
        vec!["drop", p(&db), "datalog/eav"],
    ] {
        let o = levin(&args);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("--force-datalog"), "{}", stderr(&o));
    }
    let o = levin(&["pull", p(&db), "[:p/name]", "1"]);
    assert_eq!(stdout(&o).trim(), r#"{:p/name "alice"}"#);
}

#[test]
fn transact_schema_is_atomic_with_the_transaction() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    let schema = d.path().join("s2.edn");
    std::fs::write(&schema, "{:p/age {:db/valueType :db.type/long}}").unwrap();
    let tx = d.path().join("bad.edn");
    std::fs::write(&tx, r#"[{:p/name "eve" :p/age "old"}]"#).unwrap();
    let o = levin(&["transact", p(&db), p(&tx), "--schema", p(&schema)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nothing was changed"), "{}", stderr(&o));
    let o = levin(&["dump", p(&db)]);
    assert!(!stdout(&o).contains(":p/age"), "{}", stdout(&o));
}

#[test]
fn demo_refuses_a_non_empty_database() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    let o = levin(&["demo", p(&db)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already holds data"), "{}", stderr(&o));
}

#[test]
fn a_closed_standard_output_ends_commands_quietly() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    for args in [
        vec!["stat", p(&db)],
        vec!["check", p(&db)],
        vec!["query", p(&db), "[:find ?n :where [_ :p/name ?n]]"],
        vec!["pull", p(&db), "[*]", "1"],
        vec!["dump", p(&db)],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_levin"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before the command writes.
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            status.code().is_some_and(|c| c != 101),
            "{args:?}: {status:?} {err}"
        );
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn a_full_standard_output_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    let o = Command::new(env!("CARGO_BIN_EXE_levin"))
        .args(["stat", p(&db)])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));
}

#[test]
fn repeat_is_bounded() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    for n in ["100000000000", "18446744073709551615"] {
        let o = levin(&[
            "query",
            p(&db),
            "[:find ?n :where [_ :p/name ?n]]",
            "--repeat",
            n,
        ]);
        assert_eq!(o.status.code(), Some(1), "{n}: {}", stderr(&o));
        assert!(stderr(&o).contains("at most 1000000"), "{}", stderr(&o));
    }
}

#[test]
fn inputs_bind_a_query_without_a_database() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    let o = levin(&[
        "query",
        p(&db),
        "[:find ?y . :in ?x :where [(inc ?x) ?y]]",
        "41",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "42");
    // $ elsewhere in :in, and the count checked.
    let o = levin(&[
        "query",
        p(&db),
        "[:find ?e . :in ?n $ :where [?e :p/name ?n]]",
        "\"bob\"",
    ]);
    assert_eq!(stdout(&o).trim(), "2", "{}", stderr(&o));
    let o = levin(&["query", p(&db), "[:find ?y . :in ?x :where [(inc ?x) ?y]]"]);
    assert!(
        stderr(&o).contains("takes 1 input(s); 0 given"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn transact_prints_a_summary_and_the_report_on_request() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    let tx = d.path().join("more.edn");
    let items: Vec<String> = (0..500)
        .map(|i| format!("{{:db/id \"t{i}\" :p/name \"n{i}\"}}"))
        .collect();
    std::fs::write(&tx, format!("[{}]", items.join(" "))).unwrap();
    let o = levin(&["transact", p(&db), p(&tx)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1);
    assert!(
        out.contains(":datoms-added 500 :datoms-retracted 0 :tempids 500 :max-eid 502}"),
        "{out}"
    );
    let tx2 = d.path().join("one.edn");
    std::fs::write(&tx2, r#"[{:db/id "z" :p/name "zed"}]"#).unwrap();
    let o = levin(&["transact", p(&db), p(&tx2), "--report"]);
    assert!(
        stdout(&o).contains(r#":tempids {"z" 503}"#),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_finds_eav_and_ave_disagreeing() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    assert!(levin(&["check", p(&db)]).status.success());
    let env = Env::open(&db).unwrap();
    let mut w = env.write().unwrap();
    let ave = w.open_db("datalog/ave").unwrap();
    let (k, v) = {
        let mut it = w.iter(&ave).unwrap();
        let (k, v) = it.next().unwrap().unwrap();
        (k.to_vec(), v.to_vec())
    };
    w.delete_list(&ave, &k, &v).unwrap();
    w.commit().unwrap();
    drop(env);
    let o = levin(&["check", p(&db)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("the EAV datom has no AVE entry"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_finds_a_datalog_meta_out_of_range() {
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    let env = Env::open(&db).unwrap();
    let mut w = env.write().unwrap();
    let meta = w.open_db("datalog/meta").unwrap();
    w.put(&meta, b"max-eid", &1u64.to_be_bytes()).unwrap();
    w.commit().unwrap();
    drop(env);
    let o = levin(&["check", p(&db)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("entity id 2 is outside 1..=1"),
        "{}",
        stdout(&o)
    );
}

/// Read commands work on a database on a read-only mount, and a write fails with an error
/// naming the file system. The mount is a read-only bind mount in a user and mount
/// namespace of its own (`unshare -rm`), so no root is needed; where the machine forbids
/// such namespaces the test says so on stderr and checks nothing else.
#[test]
fn read_commands_work_on_a_read_only_mount() {
    if Command::new("unshare")
        .args(["-rm", "true"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!("skipped: this machine does not allow `unshare -rm` (user namespaces)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let db = people(d.path());
    let before = data_bytes(&db);
    let tx = d.path().join("tx2.edn");
    std::fs::write(&tx, r#"[{:p/name "carol"}]"#).unwrap();
    let bin = env!("CARGO_BIN_EXE_levin");
    let dbs = p(&db);
    // Each command's output is framed so the script's one stdout can be split again.
    let script = format!(
        "mount --bind '{dbs}' '{dbs}' && mount -o remount,bind,ro '{dbs}' || exit 97
         touch '{dbs}/probe' 2>/dev/null && exit 98
         for args in \"query|[:find ?n :where [_ :p/name ?n]]\" \"pull|[*]|1\" \"stat\" \"check\" \"dump\"; do
           cmd=${{args%%|*}}; rest=${{args#*|}}
           echo \"== $cmd\"
           if [ \"$cmd\" = query ]; then '{bin}' query '{dbs}' \"$rest\" 2>&1
           elif [ \"$cmd\" = pull ]; then '{bin}' pull '{dbs}' '[*]' 1 2>&1
           else '{bin}' $cmd '{dbs}' 2>&1; fi
           echo \"== exit $?\"
         done
         echo '== transact'
         '{bin}' transact '{dbs}' '{tx}' 2>&1
         echo \"== exit $?\"",
        tx = p(&tx)
    );
    let o = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .output()
        .unwrap();
    let out = stdout(&o);
    assert_ne!(
        o.status.code(),
        Some(97),
        "the read-only bind mount failed: {}",
        stderr(&o)
    );
    assert_ne!(o.status.code(), Some(98), "the mount is not read-only");
    let sections: Vec<&str> = out.split("== ").skip(1).collect();
    assert_eq!(sections.len(), 12, "{out}");
    for pair in sections.chunks(2).take(5) {
        assert_eq!(
            pair[1].trim(),
            "exit 0",
            "on a read-only mount: {}",
            pair[0]
        );
    }
    assert!(
        sections[0].contains("\"alice\"") && sections[0].contains("\"bob\""),
        "{out}"
    );
    assert!(sections[2].contains(":p/name \"alice\""), "{out}");
    assert!(
        sections[6].starts_with("check") && sections[6].contains("ok"),
        "{out}"
    );
    // The write is refused with the system's reason, and nothing changed.
    assert!(sections[10].contains("Read-only file system"), "{out}");
    assert_ne!(sections[11].trim(), "exit 0", "{out}");
    assert!(data_bytes(&db) == before);
}
