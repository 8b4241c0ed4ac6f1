//! The `levin` binary end to end as a process: every command's output, exit status and
//! error paths (missing directory, malformed dump with its line, unknown command or flag).

use std::process::{Command, Output};

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

fn sample(dir: &std::path::Path) {
    let env = Env::open(dir).unwrap();
    let mut w = env.write().unwrap();
    let db = w.create_db("users").unwrap();
    let l = w.create_list_db("tags").unwrap();
    for i in 0u32..500 {
        w.put(&db, format!("user{i:04}").as_bytes(), &i.to_be_bytes())
            .unwrap();
        w.put_list(&l, format!("t{}", i % 7).as_bytes(), &i.to_le_bytes())
            .unwrap();
    }
    w.commit().unwrap();
}

#[test]
fn stat_and_check_report_on_a_database() {
    let d = tempfile::tempdir().unwrap();
    sample(d.path());
    let p = d.path().to_str().unwrap();
    let o = levin(&["stat", p]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(":name \"users\" :kind :plain :entries 500"),
        "{}",
        stdout(&o)
    );
    let o = levin(&["stat", "--format", "json", p]);
    assert!(
        stdout(&o).contains("\"name\":\"tags\",\"kind\":\"list\",\"entries\":500"),
        "{}",
        stdout(&o)
    );
    let o = levin(&["check", p]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("ok: 2 databases"), "{}", stdout(&o));
}

#[test]
fn missing_directory_is_a_one_line_error() {
    for cmd in ["stat", "check", "dump"] {
        let o = levin(&[cmd, "/nonexistent/levin-db"]);
        assert!(!o.status.success());
        assert_eq!(
            stderr(&o),
            "levin: /nonexistent/levin-db holds no Levin database\n"
        );
    }
}

#[test]
fn unknown_command_and_flag_fail() {
    let o = levin(&["frobnicate"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unrecognized subcommand"),
        "{}",
        stderr(&o)
    );
    let o = levin(&["stat", "--bogus", "x"]);
    assert!(!o.status.success());
    let o = levin(&["--help"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("check"));
}

#[test]
fn dump_load_dump_gives_the_same_text() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    sample(&src);
    // A Datalog store beside the key-value databases.
    let tx = d.path().join("tx.edn");
    std::fs::write(&tx, r#"[{:db/id "a" :person/name "Ivan" :person/age 40 :person/friend "b"} {:db/id "b" :person/name "Petr"}]"#).unwrap();
    let schema = d.path().join("schema.edn");
    std::fs::write(&schema, "{:person/name {:db/unique :db.unique/identity} :person/friend {:db/valueType :db.type/ref}}").unwrap();
    let o = levin(&[
        "transact",
        src.to_str().unwrap(),
        tx.to_str().unwrap(),
        "--schema",
        schema.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = d.path().join("dump.edn");
    let o = levin(&["dump", src.to_str().unwrap(), "-o", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("{:levin/dump 2, :closed-schema? false, :auto-entity-time? false}\n"),
        "{text}"
    );
    assert!(
        text.ends_with("{:levin/end {:datoms 4 :entries 1000}}\n"),
        "{text}"
    );
    assert!(text.contains("[1 :person/name \"Ivan\"]"), "{text}");
    assert!(
        text.contains("{:levin/section :kv}\n[:db \"tags\" :list]"),
        "{text}"
    );
    let dst = d.path().join("dst");
    let o = levin(&["load", dst.to_str().unwrap(), "-i", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        format!(
            "loaded 4 datoms and 1000 key-value entries into {}",
            dst.display()
        )
    );
    let again = levin(&["dump", dst.to_str().unwrap()]);
    let again = stdout(&again);
    if again != text {
        let first = again.lines().zip(text.lines()).position(|(a, b)| a != b);
        panic!(
            "dumps differ at line {first:?}: {:?} vs {:?}",
            first.map(|i| again.lines().nth(i)),
            first.map(|i| text.lines().nth(i))
        );
    }
    let o = levin(&[
        "pull",
        dst.to_str().unwrap(),
        "[:person/name {:person/friend [:person/name]}]",
        "1",
    ]);
    assert_eq!(
        stdout(&o).trim(),
        r#"{:person/name "Ivan", :person/friend {:person/name "Petr"}}"#
    );
}

#[test]
fn loads_a_datalevin_datalog_dump() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("dtlv.edn");
    // The shape `dtlv dump -g` prints: options, schema (with :db/aid and system attributes),
    // then one [e a v] per datom.
    std::fs::write(
        &file,
        r#"{:db-name "x", :cache-limit 512, :closed-schema? true}
{:db/ident {:db/unique :db.unique/identity, :db/aid 0},
 :db/created-at {:db/valueType :db.type/long, :db/aid 1},
 :name {:db/unique :db.unique/identity, :db/valueType :db.type/string, :db/aid 2},
 :blob {:db/valueType :db.type/bytes, :db/aid 3},
 :friend {:db/valueType :db.type/ref, :db/aid 4}}
[1 :name "Ivan"]
[1 :friend 2]
[1 :blob #datalevin/bytes "AQID"]
[2 :name "Petr"]
"#,
    )
    .unwrap();
    let db = d.path().join("db");
    let o = levin(&["load", db.to_str().unwrap(), "-i", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("loaded 4 datoms and 0 key-value entries"),
        "{}",
        stdout(&o)
    );
    let o = levin(&[
        "pull",
        db.to_str().unwrap(),
        "[:name :blob {:friend [:name]}]",
        "[:name \"Ivan\"]",
    ]);
    assert_eq!(
        stdout(&o).trim(),
        r#"{:name "Ivan", :blob #bytes "010203", :friend {:name "Petr"}}"#
    );
    // The dump's options came with it: the schema is closed.
    let tx = d.path().join("tx.edn");
    std::fs::write(&tx, r#"[{:name "Ann" :unknown 1}]"#).unwrap();
    let o = levin(&["transact", db.to_str().unwrap(), tx.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not in the schema"), "{}", stderr(&o));
    // And a dump of it carries them on.
    let o = levin(&["dump", db.to_str().unwrap()]);
    assert!(
        stdout(&o).starts_with("{:levin/dump 2, :closed-schema? true, :auto-entity-time? false}\n"),
        "{}",
        stdout(&o)
    );
    // A bad option names where it is.
    std::fs::write(
        &file,
        "{:levin/dump 2 :auto-entity-time? 1}\n{:x {:db/valueType :db.type/long}}\n[1 :x 1]\n{:levin/end {:datoms 1 :entries 0}}\n",
    )
    .unwrap();
    let o = levin(&[
        "load",
        d.path().join("db2").to_str().unwrap(),
        "-i",
        file.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains(":auto-entity-time?"), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
}

#[test]
fn malformed_dump_names_the_line() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("bad.edn");
    std::fs::write(&file, "{:levin/dump 1}\n{}\n{:levin/section :kv}\n[:db \"x\" :plain]\n[\"6161\" \"6262\"]\n[\"61zz\" \"00\"]\n").unwrap();
    let o = levin(&[
        "load",
        d.path().join("db").to_str().unwrap(),
        "-i",
        file.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert_eq!(
        stderr(&o),
        "levin: dump: line 6, column 1: key: 'z' at byte offset 2 is not a hex digit\n"
    );
    // Nothing of the failed load was committed.
    let env = Env::open(d.path().join("db")).unwrap();
    assert!(env.read().unwrap().db_names().unwrap().is_empty());
    std::fs::write(&file, "{:levin/dump 1}\n{}\n[1 :a\n").unwrap();
    let o = levin(&[
        "load",
        d.path().join("db2").to_str().unwrap(),
        "-i",
        file.to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).starts_with("levin: dump: line 4, column 1: expected ']' to close the vector opened at line 3, column 1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn copy_compact_and_drop() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    sample(&src);
    let dest = d.path().join("copy");
    let o = levin(&[
        "copy",
        src.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--compact",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = levin(&["copy", src.to_str().unwrap(), dest.to_str().unwrap()]);
    assert!(
        !o.status.success(),
        "copying over an existing database fails"
    );
    let o = levin(&["drop", dest.to_str().unwrap(), "tags"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = levin(&["drop", dest.to_str().unwrap(), "users", "--delete"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let env = Env::open(&dest).unwrap();
    let r = env.read().unwrap();
    assert_eq!(r.db_names().unwrap(), vec!["tags".to_string()]);
    assert_eq!(r.len(&r.open_db("tags").unwrap()).unwrap(), 0);
    let o = levin(&["drop", dest.to_str().unwrap(), "nope"]);
    assert_eq!(
        stderr(&o),
        "levin: no database named \"nope\"; create it first\n"
    );
}

#[test]
fn transact_then_pull() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("db");
    let schema = d.path().join("schema.edn");
    std::fs::write(&schema, "{:person/name {:db/unique :db.unique/identity} :person/friend {:db/valueType :db.type/ref}}").unwrap();
    let tx = d.path().join("tx.edn");
    std::fs::write(
        &tx,
        r#"[{:db/id "a" :person/name "Ivan" :person/friend "b"} {:db/id "b" :person/name "Petr"}]"#,
    )
    .unwrap();
    let o = levin(&[
        "transact",
        db.to_str().unwrap(),
        tx.to_str().unwrap(),
        "--schema",
        schema.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(":datoms-added 3 :datoms-retracted 0 :tempids 2 :max-eid 2}"),
        "{}",
        stdout(&o)
    );
    let o = levin(&[
        "pull",
        db.to_str().unwrap(),
        "[:person/name {:person/friend [:person/name]}]",
        r#"[:person/name "Ivan"]"#,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        r#"{:person/name "Ivan", :person/friend {:person/name "Petr"}}"#
    );
    let o = levin(&[
        "pull",
        db.to_str().unwrap(),
        "[:person/name]",
        r#"[:person/name "Petr"]"#,
        "--format",
        "json",
    ]);
    assert_eq!(stdout(&o).trim(), r#"{":person/name":"Petr"}"#);
}

#[test]
fn transact_errors_name_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("db");
    let tx = d.path().join("tx.edn");
    std::fs::write(&tx, "[{:a 1}\n {:b 2]").unwrap();
    let o = levin(&["transact", db.to_str().unwrap(), tx.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.starts_with("levin: transaction ") && err.contains("line 2, column"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let o = levin(&["pull", db.to_str().unwrap(), "[*]", "-5"]);
    assert!(
        !o.status.success(),
        "a negative entity id is taken as an input, and found missing"
    );
    assert!(
        !stderr(&o).contains("unexpected argument"),
        "{}",
        stderr(&o)
    );
}

/// Each error line says what failed and where: the file and what was being done with it,
/// or what a failed transaction left undone. Exit status 1 for all of them.
#[test]
fn errors_name_the_file_and_what_was_being_done() {
    let d = tempfile::tempdir().unwrap();
    let db = people_db(d.path());
    let db = db.to_str().unwrap();
    let missing = d.path().join("missing.edn");
    let missing = missing.to_str().unwrap();
    let out = format!("{missing}/out.edn");
    let cases: [(Vec<&str>, String); 4] = [
        (
            vec!["transact", db, missing],
            format!("levin: cannot read transaction {missing}: "),
        ),
        (
            vec!["load", db, "-i", missing, "--merge"],
            format!("levin: cannot open {missing}: "),
        ),
        (
            vec!["dump", db, "-o", &out],
            format!("levin: cannot create {out}: "),
        ),
        (
            vec!["transact", db, missing, "--schema", missing],
            format!("levin: cannot read schema {missing}: "),
        ),
    ];
    for (args, start) in &cases {
        let o = levin(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.starts_with(start.as_str()), "{args:?}: {err}");
        assert!(err.contains("os error 2"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    let schema = d.path().join("schema.edn");
    std::fs::write(
        &schema,
        "{:age {:db/cardinality :db.cardinality/sometimes}}",
    )
    .unwrap();
    let tx = d.path().join("tx2.edn");
    std::fs::write(&tx, r#"[{:name "Anna"}]"#).unwrap();
    let o = levin(&[
        "transact",
        db,
        tx.to_str().unwrap(),
        "--schema",
        schema.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("levin: schema: ") && err.ends_with("; nothing was changed\n"),
        "{err}"
    );
}

fn people_db(d: &std::path::Path) -> std::path::PathBuf {
    let db = d.join("db");
    let tx = d.join("tx.edn");
    std::fs::write(
        &tx,
        r#"[{:name "Ivan" :age 30} {:name "Petr" :age 40} {:name "Oleg" :age 50}]"#,
    )
    .unwrap();
    let o = levin(&["transact", db.to_str().unwrap(), tx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    db
}

#[test]
fn query_with_inputs_repeat_and_explain() {
    let d = tempfile::tempdir().unwrap();
    let db = people_db(d.path());
    let p = db.to_str().unwrap();
    let q = "[:find ?n :in $ ?min :where [?e :name ?n] [?e :age ?a] [(> ?a ?min)]]";
    let o = levin(&["query", p, q, "35", "--repeat", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), r#"#{["Oleg"] ["Petr"]}"#);
    let err = stderr(&o);
    assert!(
        err.starts_with("timing: runs=3 min_ms=")
            && err.contains(" median_ms=")
            && err.contains(" max_ms="),
        "{err}"
    );
    // A negative number is an input, not an option.
    let o = levin(&["query", p, q, "-5", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json = stdout(&o);
    let json = json.trim();
    assert!(json.starts_with("[[") && json.ends_with("]]"), "{json}");
    for name in ["\"Ivan\"", "\"Oleg\"", "\"Petr\""] {
        assert!(json.contains(&format!("[{name}]")), "{json}");
    }
    let o = levin(&[
        "query",
        p,
        "[:find (count ?e) . :where [?e :name]]",
        "--explain",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("est") && stdout(&o).contains("actual"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn query_errors_are_one_line() {
    let d = tempfile::tempdir().unwrap();
    let db = people_db(d.path());
    let o = levin(&[
        "query",
        db.to_str().unwrap(),
        "[:find ?a :where [?e :age ?a] [(frobnicate ?a)]]",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.starts_with("levin: ") && err.contains("frobnicate"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let o = levin(&["query", db.to_str().unwrap(), "[:find ?a :where"]);
    assert!(stderr(&o).contains("line 1, column"), "{}", stderr(&o));
}

#[test]
fn demo_runs() {
    let o = levin(&["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("departments above dept-30 (recursive rule)"),
        "{out}"
    );
    assert!(
        out.contains(r#"=> ["dept-0" "dept-14" "dept-2" "dept-6"]"#),
        "{out}"
    );
}

#[test]
fn repl_reads_forms_from_standard_input() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("db");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_levin"))
        .args(["repl", db.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"[{:name \"Ivan\"}]\n[:find ?n\n :where [?e :name ?n]]\n(pull [:name] 1)\n[:find ?x :where (nope)]\n:quit\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let out = stdout(&o);
    assert!(out.contains("{:datoms-added 1"), "{out}");
    assert!(out.contains(r#"#{["Ivan"]}"#), "{out}");
    assert!(out.contains(r#"{:name "Ivan"}"#), "{out}");
    assert!(stderr(&o).contains("error: "), "{}", stderr(&o));
}

/// A commit that recovery passes over (here: the newest meta page is damaged) is reported
/// by `stat` and `check`, writes are refused, and `check --accept-rollback` accepts the
/// rollback so the database takes writes again.
#[test]
fn check_reports_a_passed_over_commit_and_accepts_the_rollback() {
    use std::os::unix::fs::FileExt;
    let d = tempfile::tempdir().unwrap();
    sample(d.path()); // transaction 1, meta page 1
    {
        let env = Env::open(d.path()).unwrap();
        let mut w = env.write().unwrap();
        let db = w.create_db("more").unwrap();
        w.put(&db, b"k", b"v").unwrap();
        w.commit().unwrap(); // transaction 2, meta page 0
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(d.path().join(levin_engine::DATA_FILE))
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, 40).unwrap(); // a byte of the catalog's entry count
    f.write_all_at(&[b[0] ^ 1], 40).unwrap();
    drop(f);
    let p = d.path().to_str().unwrap();

    let o = levin(&["check", p]);
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains("passed over transaction 2"),
        "{}",
        stdout(&o)
    );
    let o = levin(&["stat", p]);
    assert!(
        stdout(&o).contains(":passed-over {:txn-id 2 :meta-page 0 :opened-at 1"),
        "{}",
        stdout(&o)
    );
    let o = levin(&["drop", p, "users"]);
    assert!(!o.status.success(), "a write must not erase the evidence");
    assert!(stderr(&o).contains("--accept-rollback"), "{}", stderr(&o));

    let o = levin(&["check", "--accept-rollback", p]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("accepted the rollback: transaction 2"),
        "{}",
        stdout(&o)
    );
    let o = levin(&["check", p]);
    assert!(o.status.success(), "{}", stdout(&o));
    let o = levin(&["drop", p, "users"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `l/dump-all` output of Datalevin 1.2.8 for a KV store with a plain database "misc"
/// (keys :a, "str", 42 and "k") and a list database "lst" ("a" -> 1 2 3), trimmed of
/// the internal kv-info entries but one.
const DATALEVIN_KV_DUMP: &str = r#"{:dbi "datalevin/kv-info", :entries 1, :opts nil}
["agV0ZW1wPw" "CQ"]
{:dbi "lst",
 :entries 3,
 :opts
 {:key-size 511,
  :val-size 511,
  :flags #{:create :dupsort :prefix-compression :counted},
  :validate-data? false}}
["+mE" "wQAAAAAAAAAB"]
["+mE" "wQAAAAAAAAAC"]
["+mE" "wQAAAAAAAAAD"]
{:dbi "misc",
 :entries 4,
 :opts
 {:key-size 511,
  :val-size 16384,
  :flags #{:create :prefix-compression :counted},
  :validate-data? false}}
["YINzdHI" "Y4FqAXhhgleBV4I"]
["agFh" "V4E"]
["wQAAAAAAAAAq" "+mZvcnR5LXR3bw"]
["+ms" "+nY"]
"#;

#[test]
fn loads_a_datalevin_kv_dump() {
    let d = tempfile::tempdir().unwrap();
    let dump = d.path().join("kv.dump");
    std::fs::write(&dump, DATALEVIN_KV_DUMP).unwrap();
    let db = d.path().join("db");
    let o = levin(&["load", db.to_str().unwrap(), "-i", dump.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("0 datoms and 7 key-value entries"),
        "{}",
        stdout(&o)
    );
    let env = Env::open(&db).unwrap();
    let r = env.read().unwrap();
    let mut names = r.db_names().unwrap();
    names.sort();
    assert_eq!(names, ["lst", "misc"]);
    let misc = r.open_db("misc").unwrap();
    // "k" -> "v" as Datalevin's :string encoding: a 0xfa tag, then the UTF-8 bytes.
    assert_eq!(
        r.get(&misc, &[0xfa, b'k']).unwrap(),
        Some(&[0xfa, b'v'][..])
    );
    let lst = r.open_db("lst").unwrap();
    assert_eq!(r.list_count(&lst, &[0xfa, b'a']).unwrap(), 3);
    drop(r);
    drop(env);

    // One database under another name; several with --dbi are refused.
    let one: String = DATALEVIN_KV_DUMP
        .lines()
        .skip(2)
        .take(10)
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&dump, one).unwrap();
    let db2 = d.path().join("db2");
    let o = levin(&[
        "load",
        db2.to_str().unwrap(),
        "-i",
        dump.to_str().unwrap(),
        "--dbi",
        "tags",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let env = Env::open(&db2).unwrap();
    assert_eq!(env.read().unwrap().db_names().unwrap(), ["tags"]);
    drop(env);
    std::fs::write(&dump, DATALEVIN_KV_DUMP).unwrap();
    let o = levin(&[
        "load",
        d.path().join("db3").to_str().unwrap(),
        "-i",
        dump.to_str().unwrap(),
        "--dbi",
        "x",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("holds 2 key-value databases"),
        "{}",
        stderr(&o)
    );

    // A database cut short is refused.
    let cut: String = DATALEVIN_KV_DUMP
        .lines()
        .take(11)
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&dump, cut).unwrap();
    let o = levin(&[
        "load",
        d.path().join("db4").to_str().unwrap(),
        "-i",
        dump.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("announces 3 entries but the dump holds 2"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn re_index_rebuilds_with_a_new_schema() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("db");
    let tx = d.path().join("tx.edn");
    std::fs::write(&tx, r#"[{:name "A" :n 1} {:name "B" :n 2}]"#).unwrap();
    let o = levin(&["transact", db.to_str().unwrap(), tx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let schema = d.path().join("schema.edn");
    std::fs::write(
        &schema,
        "{:n {:db/valueType :db.type/long :db/unique :db.unique/identity}}",
    )
    .unwrap();
    let o = levin(&[
        "re-index",
        db.to_str().unwrap(),
        "--schema",
        schema.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("re-indexed 4 datoms"), "{}", stdout(&o));
    let o = levin(&["pull", db.to_str().unwrap(), "[:name]", "[:n 2]"]);
    assert_eq!(stdout(&o).trim(), r#"{:name "B"}"#);
    // Data that does not fit is refused, and nothing changes.
    std::fs::write(&schema, "{:name {:db/valueType :db.type/long}}").unwrap();
    let o = levin(&[
        "re-index",
        db.to_str().unwrap(),
        "--schema",
        schema.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nothing was changed"), "{}", stderr(&o));
    let o = levin(&["pull", db.to_str().unwrap(), "[:name]", "[:n 2]"]);
    assert_eq!(stdout(&o).trim(), r#"{:name "B"}"#);
}
