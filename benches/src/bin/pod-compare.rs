//! `pod-compare`: the Babashka pod driven as babashka drives it (bencode messages with
//! transit+json payloads, over stdio and over the socket transport) beside the same work
//! embedded: the round trip of a small query and of a small key-value get, the time to
//! return a 10,000-row result, and the startup of the `levin` binary to its first answered
//! `describe`. Goals (issue #24): a small call under 100 µs over stdio, a large result at
//! most 3x the embedded query, startup under 20 ms.
//!
//! ```text
//! cargo build --release -p levin-cli
//! cargo run --release -p levin-benches --bin pod-compare [-- --quick]
//! ```
//! The pod is `target/release/levin` (next to this binary), or `LEVIN_BIN`.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use levin_datalog::kv_typed;
use levin_datalog::Conn;
use levin_edn::{read, transit, Edn};
use levin_engine::Read;
use levin_pod::bencode::{self, Reader, Value};
use levin_query::DatalogRead;

const NS: &str = "pod.huahaiy.datalevin";
const ROWS: i64 = 10_000;

fn e(s: &str) -> Edn {
    read(s).unwrap_or_else(|err| panic!("{s}: {err}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn time(runs: usize, warm: usize, mut op: impl FnMut()) -> f64 {
    for _ in 0..warm {
        op();
    }
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                op();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect(),
    )
}

fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

struct Client {
    child: Child,
    out: Box<dyn Write>,
    input: Reader<Box<dyn BufRead>>,
    n: u64,
    buf: Vec<u8>,
}

impl Client {
    fn send(&mut self, msg: &Value) -> Value {
        self.buf.clear();
        bencode::encode(msg, &mut self.buf);
        self.out.write_all(&self.buf).expect("write to the pod");
        self.out.flush().expect("flush");
        self.input
            .read_value()
            .expect("a reply")
            .expect("the pod closed its output")
    }

    fn call(&mut self, var: &str, args: &Edn) -> Edn {
        self.n += 1;
        let reply = self.send(&Value::dict([
            ("op", Value::str("invoke")),
            ("id", Value::str(self.n.to_string())),
            ("var", Value::str(format!("{NS}/{var}"))),
            ("args", Value::str(transit::write(args))),
        ]));
        match reply.get("value").and_then(Value::as_str) {
            Some(v) => transit::read(v).expect("transit"),
            None => panic!("{var}: {reply:?}"),
        }
    }

    fn shutdown(mut self) {
        self.buf.clear();
        bencode::encode(
            &Value::dict([("op", Value::str("shutdown")), ("id", Value::str("x"))]),
            &mut self.buf,
        );
        let _ = self.out.write_all(&self.buf);
        let _ = self.out.flush();
        let _ = self.child.wait();
    }
}

fn levin_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("LEVIN_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    exe.with_file_name("levin")
}

fn describe_msg() -> Value {
    Value::dict([("op", Value::str("describe")), ("id", Value::str("d"))])
}

/// Starts the pod and waits for its first `describe` reply.
fn start(socket: bool, cwd: &std::path::Path) -> Client {
    let mut cmd = Command::new(levin_bin());
    cmd.env("BABASHKA_POD", "true")
        .current_dir(cwd)
        .stdin(Stdio::piped());
    if socket {
        cmd.env("BABASHKA_POD_TRANSPORT", "socket");
    } else {
        cmd.stdout(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap_or_else(|err| {
        panic!(
            "cannot run {}: {err} (build it with cargo build --release -p levin-cli, or set LEVIN_BIN)",
            levin_bin().display()
        )
    });
    let (out, input): (Box<dyn Write>, Box<dyn BufRead>) = if socket {
        let file = cwd.join(format!(".babashka-pod-{}.port", child.id()));
        let port: u16 = loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                if let Ok(p) = text.trim().parse() {
                    if text.ends_with('\n') {
                        break p;
                    }
                }
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) => std::thread::sleep(Duration::from_micros(200)),
            }
        };
        stream.set_nodelay(true).expect("nodelay");
        (
            Box::new(BufWriter::new(stream.try_clone().expect("clone"))),
            Box::new(BufReader::new(stream)),
        )
    } else {
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        (
            Box::new(BufWriter::new(stdin)),
            Box::new(BufReader::new(stdout)),
        )
    };
    let mut c = Client {
        child,
        out,
        input: Reader::new(input),
        n: 0,
        buf: Vec::new(),
    };
    let reply = c.send(&describe_msg());
    assert!(reply.get("namespaces").is_some());
    c
}

struct Row {
    what: &'static str,
    embedded: f64,
    stdio: f64,
    socket: f64,
    server: f64,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (small_runs, large_runs, starts) = if quick { (300, 5, 5) } else { (3000, 25, 30) };
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("people");
    let kvdir = tmp.path().join("kv");
    let schema = "{:name {:db/unique :db.unique/identity}}";

    // Build the data embedded; the pods open the same directories.
    {
        let conn = Conn::open(&dir, schema).expect("open");
        let tx: Vec<Edn> = (0..ROWS)
            .map(|i| e(&format!("{{:name \"p{i}\" :age {}}}", i % 90)))
            .collect();
        conn.transact(&Edn::Vector(tx)).expect("transact");
        let env = levin_engine::Env::open(&kvdir).expect("kv");
        let mut w = env.write().expect("write");
        kv_typed::open_dbi(&mut w, "t", false).expect("dbi");
        for i in 0..1000i64 {
            kv_typed::apply_form(
                &mut w,
                &e(&format!("[:put \"t\" {i} {} :long :long]", i * 2)),
            )
            .expect("put");
        }
        w.commit().expect("commit");
    }

    let small_q = e("[:find ?e . :in $ ?n :where [?e :name ?n]]");
    let large_q = e("[:find ?e ?n ?a :where [?e :name ?n] [?e :age ?a]]");

    // Embedded.
    let conn = Conn::open(&dir, ()).expect("open");
    let db = conn.db().expect("db");
    let emb_small = time(small_runs, 100, || {
        let r = DatalogRead::q(&db, &small_q, &[e("\"p42\"")]).expect("q");
        assert!(matches!(r, Edn::Long(_)));
    });
    let emb_large = time(large_runs, 2, || {
        let r = DatalogRead::q(&db, &large_q, &[]).expect("q");
        assert_eq!(r.as_set().map(<[Edn]>::len), Some(ROWS as usize));
    });
    let env = levin_engine::Env::open(&kvdir).expect("kv");
    let lt = kv_typed::parse_type(&e(":long")).expect("type");
    let key = kv_typed::encode(&Edn::Long(42), &lt).expect("enc");
    let emb_get = time(small_runs, 100, || {
        let r = env.read().expect("read");
        let t = r.open_db("t").expect("t");
        let v = r.get(&t, &key).expect("get").expect("found");
        assert_eq!(kv_typed::decode(v, &lt).expect("dec"), Edn::Long(84));
    });
    drop(db);
    drop(conn);
    drop(env);

    let mut rows = vec![
        Row {
            what: "small query (1 row)",
            embedded: emb_small,
            stdio: 0.0,
            socket: 0.0,
            server: 0.0,
        },
        Row {
            what: "small KV get",
            embedded: emb_get,
            stdio: 0.0,
            socket: 0.0,
            server: 0.0,
        },
        Row {
            what: "10,000-row query",
            embedded: emb_large,
            stdio: 0.0,
            socket: 0.0,
            server: 0.0,
        },
    ];
    let mut startup = [0.0f64; 2];
    for (col, socket) in [(0usize, false), (1, true)] {
        let cwd = tempfile::tempdir().expect("cwd");
        startup[col] = median(
            (0..starts)
                .map(|_| {
                    let t = Instant::now();
                    let c = start(socket, cwd.path());
                    let us = t.elapsed().as_secs_f64() * 1e6;
                    c.shutdown();
                    us
                })
                .collect(),
        );
        let mut c = start(socket, cwd.path());
        let conn = c.call(
            "get-conn",
            &Edn::Vector(vec![Edn::string(dir.to_str().expect("utf-8"))]),
        );
        let db = c.call("db", &Edn::Vector(vec![conn]));
        let small_args = Edn::Vector(vec![small_q.clone(), db.clone(), Edn::string("p42")]);
        let small = time(small_runs, 100, || {
            assert!(matches!(c.call("q", &small_args), Edn::Long(_)));
        });
        let large_args = Edn::Vector(vec![large_q.clone(), db.clone()]);
        let large = time(large_runs, 2, || {
            let r = c.call("q", &large_args);
            assert_eq!(r.as_set().map(<[Edn]>::len), Some(ROWS as usize));
        });
        let kv = c.call(
            "open-kv",
            &Edn::Vector(vec![Edn::string(kvdir.to_str().expect("utf-8"))]),
        );
        let get_args = Edn::Vector(vec![
            kv,
            Edn::string("t"),
            Edn::Long(42),
            e(":long"),
            e(":long"),
        ]);
        let get = time(small_runs, 100, || {
            assert_eq!(c.call("get-value", &get_args), Edn::Long(84));
        });
        c.shutdown();
        let set = |r: &mut Row, v: f64| if socket { r.socket = v } else { r.stdio = v };
        set(&mut rows[0], small);
        set(&mut rows[1], get);
        set(&mut rows[2], large);
    }

    // The same work through levin serve on loopback (the databases live under one root).
    {
        let mut config = levin_server::Config::new(tmp.path());
        config.listen = "127.0.0.1:0".parse().expect("address");
        config.admin_password = Some("bench".into());
        config.hash_cost = levin_server::HashCost::TESTING;
        let server = levin_server::Server::start(config).expect("server");
        let client = std::sync::Arc::new(
            levin_client::Client::connect(&format!("levin://admin:bench@{}/", server.local_addr()))
                .expect("connect"),
        );
        let remote = client.open_db("people").expect("open");
        rows[0].server = time(small_runs, 100, || {
            let r = remote.q(&small_q, &[e("\"p42\"")]).expect("q");
            assert!(matches!(r, Edn::Long(_)));
        });
        rows[2].server = time(large_runs, 2, || {
            let r = remote.q(&large_q, &[]).expect("q");
            assert_eq!(r.as_set().map(<[Edn]>::len), Some(ROWS as usize));
        });
        client
            .call("open-kv", vec![Edn::string("kv")])
            .expect("open-kv");
        let get_args = vec![
            Edn::string("kv"),
            Edn::string("t"),
            Edn::Long(42),
            e(":long"),
            e(":long"),
        ];
        rows[1].server = time(small_runs, 100, || {
            assert_eq!(
                client.call("get-value", get_args.clone()).expect("get"),
                Edn::Long(84)
            );
        });
        drop(remote);
        server.shutdown();
    }

    println!("pod-compare: medians; the pod is {}", levin_bin().display());
    println!(
        "{:<26} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "", "embedded", "pod stdio", "pod socket", "server", "stdio/emb"
    );
    for r in &rows {
        println!(
            "{:<26} {:>12} {:>12} {:>12} {:>12} {:>9.1}x",
            r.what,
            fmt_us(r.embedded),
            fmt_us(r.stdio),
            fmt_us(r.socket),
            fmt_us(r.server),
            r.stdio / r.embedded
        );
    }
    println!(
        "{:<26} {:>12} {:>12} {:>12}",
        "startup to describe",
        "-",
        fmt_us(startup[0]),
        fmt_us(startup[1])
    );
    println!(
        "goals: small call < 100 µs over stdio ({}), large result <= 3x embedded ({:.1}x), startup < 20 ms ({})",
        fmt_us(rows[0].stdio.max(rows[1].stdio)),
        rows[2].stdio / rows[2].embedded,
        fmt_us(startup[0])
    );
}
