//! The server against raw, hostile and broken input over real TCP: garbage, truncated and
//! oversized frames, wrong versions, unknown operations, malformed transit, requests before
//! authentication, clients vanishing mid-transaction. Each gets an error reply or a closed
//! connection; the server keeps serving everyone else and no data changes.

use std::io::Write;
use std::time::Duration;

use levin_edn::Edn;
use levin_server::{write_frame, Config, HashCost, Server};

mod raw;

use raw::{e, Raw, PW};

fn start(root: &std::path::Path) -> Server {
    start_with(root, |_| {})
}

fn start_with(root: &std::path::Path, adjust: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config::new(root);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin_password = Some(PW.into());
    config.hash_cost = HashCost::TESTING;
    config.txn_idle_timeout = Duration::from_millis(300);
    adjust(&mut config);
    Server::start(config).unwrap()
}

/// Asserts that `reply` is an error with `expected` as its code; `what` says which.
fn assert_code(reply: &Edn, expected: &str, what: &str) {
    assert_eq!(code(reply).as_deref(), Some(expected), "{what}");
}

/// The reply says the command completed.
fn assert_complete(reply: &Edn) {
    assert_eq!(
        reply.get(&e(":type")),
        Some(&e(":command-complete")),
        "{reply}"
    );
}

fn code(reply: &Edn) -> Option<String> {
    reply
        .get(&e(":err-data"))
        .and_then(|d| d.get(&e(":code")))
        .map(|c| c.to_string())
}

/// The server still answers a fresh, well-behaved client.
fn still_serving(server: &Server) {
    let mut r = Raw::ready(server);
    let reply = r.call(1, "list-databases", "[]");
    assert_complete(&reply);
}

#[test]
fn garbage_truncated_oversized_and_unknown_frames() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    // Garbage bytes: an unknown format byte.
    let mut r = Raw::connect(&server);
    r.0.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let reply = r.recv().unwrap();
    assert_code(&reply, ":levin.error/protocol", &format!("{reply}"));
    assert!(r.closed());
    // A frame longer than the pre-authentication limit, refused before it is read.
    let mut r = Raw::connect(&server);
    r.0.write_all(&[1, 0, 1, 0, 0]).unwrap();
    let reply = r.recv().unwrap();
    assert!(
        reply
            .get(&e(":message"))
            .unwrap()
            .as_str()
            .unwrap()
            .contains("larger than"),
        "{reply}"
    );
    // A frame cut short, then the client vanishes.
    let mut r = Raw::connect(&server);
    r.0.write_all(&[1, 0, 0, 0, 50, b'[']).unwrap();
    drop(r);
    // Malformed transit.
    let mut r = Raw::connect(&server);
    write_frame(&mut r.0, b"[\"~#set\", ").unwrap();
    let reply = r.recv().unwrap();
    assert_code(&reply, ":levin.error/protocol", &format!("{reply}"));
    assert!(r.closed());
    // A request that is not a map.
    let mut r = Raw::connect(&server);
    r.send("[1 2 3]");
    assert_eq!(
        code(&r.recv().unwrap()).as_deref(),
        Some(":levin.error/protocol")
    );
    still_serving(&server);
}

#[test]
fn the_handshake_is_enforced() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    // Anything before :hello ends the connection.
    let mut r = Raw::connect(&server);
    r.send("{:type :list-databases :id 1 :args []}");
    assert_eq!(
        code(&r.recv().unwrap()).as_deref(),
        Some(":levin.error/protocol")
    );
    assert!(r.closed());
    // A wrong protocol version.
    let mut r = Raw::connect(&server);
    r.send("{:type :hello :id 0 :protocol 99}");
    let reply = r.recv().unwrap();
    assert!(reply.to_string().contains("protocol version 1"), "{reply}");
    assert!(r.closed());
    // Operations before authentication.
    let mut r = Raw::connect(&server);
    r.send("{:type :hello :id 0 :protocol 1}");
    r.recv().unwrap();
    r.send("{:type :open :id 1 :args [\"x\"]}");
    assert_eq!(
        code(&r.recv().unwrap()).as_deref(),
        Some(":levin.error/protocol")
    );
    assert!(r.closed());
    assert!(!root.path().join("x").exists(), "nothing was created");
    // A wrong password may be retried on the same connection.
    let mut r = Raw::connect(&server);
    r.send("{:type :hello :id 0 :protocol 1}");
    r.recv().unwrap();
    r.send("{:type :authenticate :id 0 :username \"admin\" :password \"nope\"}");
    assert_eq!(
        code(&r.recv().unwrap()).as_deref(),
        Some(":levin.error/auth-failed")
    );
    r.send(&format!(
        "{{:type :authenticate :id 0 :username \"admin\" :password \"{PW}\"}}"
    ));
    assert_eq!(
        r.recv().unwrap().get(&e(":type")),
        Some(&e(":command-complete"))
    );
    still_serving(&server);
}

#[test]
fn bad_requests_get_errors_and_the_session_goes_on() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let mut r = Raw::ready(&server);
    let reply = r.call(5, "frobnicate", "[]");
    assert_eq!(reply.get(&e(":id")), Some(&Edn::Long(5)));
    assert_eq!(code(&reply).as_deref(), Some(":levin.error/unknown-op"));
    let reply = r.call(6, "q", "[]");
    assert_code(&reply, ":levin.error/bad-argument", &format!("{reply}"));
    let reply = r.call(7, "q", "[\"notopen\" [:find ?e :where [?e :a]]]");
    assert_code(&reply, ":levin.error/not-found", &format!("{reply}"));
    for bad in ["../etc", "a/b", "system", ""] {
        let reply = r.call(8, "open", &format!("[\"{bad}\"]"));
        assert_code(
            &reply,
            ":levin.error/bad-argument",
            &format!("{bad}: {reply}"),
        );
    }
    let reply = r.call(9, "open", "[\"db\"]");
    assert_complete(&reply);
    let reply = r.call(10, "q", "[\"db\" \"[:find ?e :where [?e\"]");
    assert_code(&reply, ":levin.error/parse", &format!("{reply}"));
    let reply = r.call(11, "transact", "[\"db\" [[:db/add -1 :a 1]]]");
    assert_complete(&reply);
    let reply = r.call(12, "q", "[\"db\" [:find (count ?e) . :where [?e :a]]]");
    assert_eq!(reply.get(&e(":result")), Some(&Edn::Long(1)), "{reply}");
}

#[test]
fn a_client_vanishing_mid_transaction_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let mut a = Raw::ready(&server);
    a.call(1, "open", "[\"db\"]");
    a.call(2, "open-transact", "[\"db\"]");
    let reply = a.call(3, "transact", "[\"db\" [[:db/add -1 :a 1]]]");
    assert_complete(&reply);
    drop(a);
    // The writer is free again and the write is gone.
    let mut b = Raw::ready(&server);
    b.call(1, "open", "[\"db\"]");
    let reply = b.call(2, "transact", "[\"db\" [[:db/add -1 :b 2]]]");
    assert_complete(&reply);
    let reply = b.call(3, "q", "[\"db\" [:find (count ?e) . :where [?e :a]]]");
    assert_eq!(reply.get(&e(":result")), Some(&Edn::Nil), "{reply}");
}

#[test]
fn an_idle_transaction_is_aborted_and_says_so() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let mut a = writing_a(&server);
    std::thread::sleep(Duration::from_millis(800));
    let reply = a.call(4, "close-transact", "[\"db\"]");
    assert_code(
        &reply,
        ":levin.error/transaction-state",
        &format!("{reply}"),
    );
    assert!(reply.to_string().contains("idle"), "{reply}");
    let reply = a.call(5, "q", "[\"db\" [:find (count ?e) . :where [?e :a]]]");
    assert_eq!(reply.get(&e(":result")), Some(&Edn::Nil), "{reply}");
}

/// A session inside an explicit transaction on `db` that has written `[-1 :a 1]`
/// (requests 1 to 3).
fn writing_a(server: &Server) -> Raw {
    let mut a = Raw::ready(server);
    a.call(1, "open", "[\"db\"]");
    a.call(2, "open-transact", "[\"db\"]");
    a.call(3, "transact", "[\"db\" [[:db/add -1 :a 1]]]");
    a
}

/// How many datoms of `:a` the database holds, read by a fresh session.
fn count_a(server: &Server) -> Edn {
    let mut r = Raw::ready(server);
    r.call(1, "open", "[\"db\"]");
    let reply = r.call(2, "q", "[\"db\" [:find (count ?e) . :where [?e :a]]]");
    reply.get(&e(":result")).cloned().unwrap_or(Edn::Nil)
}

#[test]
fn after_the_server_aborts_a_transaction_its_database_is_refused_until_the_client_ends_it() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let mut a = writing_a(&server);
    std::thread::sleep(Duration::from_millis(800));
    // The client still believes it is inside its transaction: this write must not commit
    // on its own (the first write of the transaction is gone), nor may a read miss it.
    for (id, op, args) in [
        (4, "transact", "[\"db\" [[:db/add -1 :a 2]]]"),
        (5, "q", "[\"db\" [:find (count ?e) . :where [?e :a]]]"),
        (6, "datoms", "[\"db\" :eav]"),
    ] {
        let reply = a.call(id, op, args);
        assert_code(
            &reply,
            ":levin.error/transaction-state",
            &format!(":{op}: {reply}"),
        );
        let text = reply.to_string();
        assert!(
            text.contains("idle") && text.contains("refused until"),
            "{text}"
        );
    }
    assert_eq!(count_a(&server), Edn::Nil);
    // Ending the transaction reports the abort, and the database serves again.
    let reply = a.call(7, "abort-transact", "[\"db\"]");
    assert!(reply.to_string().contains("idle"), "{reply}");
    let reply = a.call(8, "transact", "[\"db\" [[:db/add -1 :a 3]]]");
    assert_complete(&reply);
    assert_eq!(count_a(&server), Edn::Long(1));
}

#[test]
fn after_the_server_aborts_a_key_value_transaction_its_database_is_refused_too() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let mut a = Raw::ready(&server);
    a.call(1, "open-kv", "[\"kv\"]");
    a.call(2, "open-dbi", "[\"kv\" \"t\"]");
    a.call(3, "open-transact-kv", "[\"kv\"]");
    a.call(4, "transact-kv", "[\"kv\" [[:put \"t\" \"a\" 1]]]");
    std::thread::sleep(Duration::from_millis(800));
    let reply = a.call(5, "transact-kv", "[\"kv\" [[:put \"t\" \"b\" 2]]]");
    assert_code(
        &reply,
        ":levin.error/transaction-state",
        &format!("{reply}"),
    );
    let reply = a.call(6, "close-transact-kv", "[\"kv\"]");
    assert!(reply.to_string().contains("idle"), "{reply}");
    for (id, key) in [(7, "a"), (8, "b")] {
        let reply = a.call(id, "get-value", &format!("[\"kv\" \"t\" \"{key}\"]"));
        assert_eq!(reply.get(&e(":result")), Some(&Edn::Nil), "{reply}");
    }
}

#[test]
fn writes_through_a_transaction_of_their_own_are_refused_inside_an_explicit_one() {
    // Each would wait for the writer the session itself holds.
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let mut a = writing_a(&server);
    for (id, op, args) in [
        (
            4,
            "update-schema",
            "[\"db\" {:b {:db/valueType :db.type/long}}]",
        ),
        (5, "clear", "[\"db\"]"),
        (6, "re-index", "[\"db\"]"),
        (7, "open", "[\"db\" {:b {:db/valueType :db.type/long}}]"),
    ] {
        let started = std::time::Instant::now();
        let reply = a.call(id, op, args);
        assert_code(
            &reply,
            ":levin.error/transaction-state",
            &format!(":{op}: {reply}"),
        );
        assert!(reply.to_string().contains("end it first"), ":{op}: {reply}");
        assert!(started.elapsed() < Duration::from_secs(5), ":{op} waited");
    }
    // The transaction goes on and commits what it wrote.
    let reply = a.call(8, "close-transact", "[\"db\"]");
    assert_complete(&reply);
    assert_eq!(count_a(&server), Edn::Long(1));
}

#[test]
fn a_transaction_open_too_long_is_aborted_at_its_next_request() {
    let root = tempfile::tempdir().unwrap();
    let server = start_with(root.path(), |c| {
        c.txn_idle_timeout = Duration::from_secs(30);
        c.txn_total_timeout = Duration::from_millis(600);
    });
    let mut a = Raw::ready(&server);
    a.call(1, "open", "[\"db\"]");
    a.call(2, "open-transact", "[\"db\"]");
    // Busy, never idle, but open longer than the total allowed.
    for id in 3..8 {
        a.call(id, "transact", &format!("[\"db\" [[:db/add -1 :a {id}]]]"));
        std::thread::sleep(Duration::from_millis(200));
    }
    let reply = a.call(10, "close-transact", "[\"db\"]");
    assert_code(
        &reply,
        ":levin.error/transaction-state",
        &format!("{reply}"),
    );
    assert!(
        reply.to_string().contains("open longer than 600 ms"),
        "{reply}"
    );
    assert_eq!(count_a(&server), Edn::Nil);
}

#[test]
fn shutdown_finishes_and_closes() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let mut a = Raw::ready(&server);
    a.call(1, "open", "[\"db\"]");
    let reply = a.call(2, "transact", "[\"db\" [[:db/add -1 :a 1]]]");
    assert_eq!(reply.get(&e(":type")), Some(&e(":command-complete")));
    server.shutdown();
    assert!(a.closed());
    // The acknowledged write is there.
    let conn = levin_datalog::Conn::open(root.path().join("db"), ()).unwrap();
    assert_eq!(conn.db().unwrap().datom_count().unwrap(), 1);
}

#[test]
fn a_query_past_the_servers_memory_limit_is_refused_whatever_max_rows_it_asks_for() {
    let root = tempfile::tempdir().unwrap();
    let server = start_with(root.path(), |c| c.query_max_memory = 1 << 20);
    let mut r = Raw::ready(&server);
    r.call(1, "open", "[\"db\"]");
    let tx: String = (0..1_000).map(|i| format!("{{:n {i}}}")).collect();
    r.call(2, "transact", &format!("[\"db\" [{tx}]]"));
    // 1,000,000 rows of two columns: well over 1 MiB.
    let pairs = "[:find (count ?a) . :where [?a :n ?x] [?b :n ?y]";
    for (id, query) in [
        (3, format!("{pairs}]")),
        (4, format!("{pairs} :max-rows 100000000]")),
    ] {
        let reply = r.call(id, "q", &format!("[\"db\" {query}]"));
        assert_code(
            &reply,
            ":levin.error/too-large",
            &format!("{query}: {reply}"),
        );
    }
    // Within the limit.
    let reply = r.call(5, "q", "[\"db\" [:find (count ?a) . :where [?a :n ?x]]]");
    assert_eq!(reply.get(&e(":result")), Some(&Edn::Long(1000)), "{reply}");
}

#[test]
fn a_cross_product_too_large_for_memory_is_refused_and_the_server_keeps_serving() {
    // [?b :n ?y] against 2,000,000 input rows is a cross product of 4e10 rows: it used to
    // allocate them up front (960 GB), and the failed allocation aborted the server.
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let mut r = Raw::ready(&server);
    r.call(1, "open", "[\"db\"]");
    let tx: String = (0..20_000).map(|i| format!("{{:n {i}}}")).collect();
    let reply = r.call(2, "transact", &format!("[\"db\" [{tx}]]"));
    assert_complete(&reply);
    let input: String = (0..2_000_000).map(|i| format!("{i} ")).collect();
    let reply = r.call(
        3,
        "q",
        &format!("[\"db\" [:find (count ?b) . :in $ [?x ...] :where [?b :n ?y]] [[{input}]]]"),
    );
    assert_code(&reply, ":levin.error/too-large", &format!("{reply}"));
    still_serving(&server);
}

/// Whether the server has closed `r`'s connection (end of stream or reset), waiting at
/// most `wait`; `false` when it is still open (the read timed out).
fn closed_within(r: &mut Raw, wait: Duration) -> bool {
    use std::io::{ErrorKind, Read};
    r.0.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 64];
    loop {
        match r.0.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn the_handshake_has_a_deadline_however_slowly_bytes_arrive() {
    let root = tempfile::tempdir().unwrap();
    let mut config = Config::new(root.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin_password = Some(PW.into());
    config.hash_cost = HashCost::TESTING;
    config.handshake_timeout = Duration::from_millis(800);
    let server = Server::start(config).unwrap();
    let started = std::time::Instant::now();
    // A peer that says hello, then trickles an :authenticate frame a byte at a time,
    // each byte well within the handshake timeout of the one before.
    let mut r = Raw::hello(&server);
    let auth = levin_edn::transit::write(&e(
        "{:type :authenticate :id 0 :username \"admin\" :password \"wrong-but-long\"}",
    ));
    let mut frame = vec![];
    write_frame(&mut frame, auth.as_bytes()).unwrap();
    for b in frame.iter().take(12) {
        std::thread::sleep(Duration::from_millis(200));
        if r.0.write_all(std::slice::from_ref(b)).is_err() {
            break;
        }
    }
    assert!(
        closed_within(&mut r, Duration::from_millis(500)),
        "an unauthenticated connection was still open after {:?}",
        started.elapsed()
    );
    // Retrying passwords does not extend it either.
    // (Failures are answered after 100, 200, 400, 800, 1600 ms: the fifth comes after
    // the deadline.)
    let mut r = Raw::hello(&server);
    let mut answered = 0;
    for _ in 0..5 {
        r.send("{:type :authenticate :id 0 :username \"admin\" :password \"nope\"}");
        if r.recv().is_none() {
            break;
        }
        answered += 1;
    }
    assert!(answered < 5, "all {answered} attempts were answered");
    // A client that logs in in time is served for as long as it likes.
    let mut r = Raw::ready(&server);
    std::thread::sleep(Duration::from_millis(1000));
    let reply = r.call(1, "list-databases", "[]");
    assert_eq!(reply.get(&e(":type")), Some(&e(":command-complete")));
}

#[test]
fn one_address_cannot_hold_every_slot_with_handshakes_it_never_finishes() {
    let root = tempfile::tempdir().unwrap();
    let mut config = Config::new(root.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin_password = Some(PW.into());
    config.hash_cost = HashCost::TESTING;
    config.max_pending_per_address = 2;
    let server = Server::start(config).unwrap();
    // Two connections that never log in hold this address's two pending places...
    let mut idle = [Raw::hello(&server), Raw::hello(&server)];
    // ...so a third is refused at once, and told why.
    let mut third = Raw::connect(&server);
    let refused = third.recv().expect("a refusal");
    assert_eq!(
        code(&refused).as_deref(),
        Some(":levin.error/busy"),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("still logging in"),
        "{refused}"
    );
    // A logged-in connection no longer counts: log one of the two in, and a new
    // connection is served.
    idle[0].send(&format!(
        "{{:type :authenticate :id 0 :username \"admin\" :password \"{PW}\"}}"
    ));
    let reply = idle[0].recv().expect("a login reply");
    assert_complete(&reply);
    let mut r = Raw::ready(&server);
    let reply = r.call(1, "list-databases", "[]");
    assert_eq!(reply.get(&e(":type")), Some(&e(":command-complete")));
    // And a connection that ends before logging in gives its place back.
    drop(idle);
    drop(r);
    std::thread::sleep(Duration::from_millis(200));
    let _a = Raw::hello(&server);
    let mut b = Raw::ready(&server);
    let reply = b.call(1, "list-databases", "[]");
    assert_eq!(reply.get(&e(":type")), Some(&e(":command-complete")));
}
