//! Abusive clients leak no threads: after garbage, truncated and oversized frames, wrong
//! versions and formats, malformed transit, wrong passwords, requests before the handshake
//! ends, unknown operations, clients that vanish mid-request, mid-stream or
//! mid-transaction, clients that go silent mid-frame or stop reading replies, the server's
//! thread count (`/proc/self/task`: the server runs in this process, and this file holds
//! one test so no other test's threads come and go) returns to what it was before, within a
//! bounded wait, and a well-behaved client is still served.
#![cfg(target_os = "linux")]

use std::net::Shutdown;
use std::time::{Duration, Instant};

use levin_edn::Edn;
use levin_server::{write_frame, Config, HashCost, Server};

mod raw;

use raw::{e, Raw, PW};

/// How long the server may take to end every session the abuse left behind: the longest
/// timeout below plus slack for a loaded machine.
const SETTLE: Duration = Duration::from_secs(20);

fn start(root: &std::path::Path) -> Server {
    let mut config = Config::new(root);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin_password = Some(PW.into());
    config.hash_cost = HashCost::TESTING;
    config.max_frame = 16 << 20;
    config.handshake_timeout = Duration::from_millis(300);
    config.idle_timeout = Duration::from_secs(1);
    config.txn_idle_timeout = Duration::from_millis(300);
    config.write_timeout = Duration::from_millis(300);
    Server::start(config).unwrap()
}

/// Threads of this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Waits until the thread count is back to `baseline`; fails naming what is left.
fn settle(baseline: usize, after: &str) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let now = threads();
        if now <= baseline {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {after}: {now} threads, {} more than before, {} s later",
            now - baseline,
            SETTLE.as_secs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ok(reply: &Edn) {
    assert_eq!(
        reply.get(&e(":type")),
        Some(&e(":command-complete")),
        "{reply}"
    );
}

/// Clients that misbehave and then leave: each connection is gone when this returns.
fn abuse_and_leave(server: &Server) {
    let garbage: [&[u8]; 6] = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &[1, 0, 0],                   // a header cut short
        &[1, 0, 0, 0, 50, b'['],      // a payload cut short
        &[1, 0, 1, 0, 0],             // larger than the pre-authentication limit
        &[2, 0, 0, 0, 1, b'x'],       // an unknown format byte
        &[1, 0, 0, 0, 3, b'[', b'"'], // malformed transit, and a byte more
    ];
    for bytes in garbage {
        // Once reading the server's answer, once vanishing at once.
        let mut r = Raw::connect(server);
        r.bytes(bytes);
        r.0.shutdown(Shutdown::Write).unwrap();
        let _ = r.recv();
        let mut r = Raw::connect(server);
        r.bytes(bytes);
        drop(r);
    }
    // Malformed transit in a whole frame; a request that is not a map.
    let mut r = Raw::connect(server);
    write_frame(&mut r.0, b"[\"~#set\", ").unwrap();
    let _ = r.recv();
    assert!(r.closed());
    let mut r = Raw::connect(server);
    r.send("[1 2 3]");
    let _ = r.recv();
    // The handshake out of order: a request before :hello, a wrong protocol version, an
    // operation before :authenticate, :hello twice.
    let mut r = Raw::connect(server);
    r.send("{:type :list-databases :id 1 :args []}");
    let _ = r.recv();
    assert!(r.closed());
    let mut r = Raw::connect(server);
    r.send("{:type :hello :id 0 :protocol 99}");
    let _ = r.recv();
    assert!(r.closed());
    let mut r = Raw::hello(server);
    r.send("{:type :open :id 1 :args [\"x\"]}");
    let _ = r.recv();
    assert!(r.closed());
    let mut r = Raw::hello(server);
    r.send("{:type :hello :id 0 :protocol 1}");
    let _ = r.recv();
    // Wrong passwords, then vanishing before the answer to the second.
    let mut r = Raw::hello(server);
    r.send("{:type :authenticate :id 0 :username \"admin\" :password \"nope\"}");
    let _ = r.recv();
    r.send("{:type :authenticate :id 0 :username \"nobody\" :password \"nope\"}");
    drop(r);
    // After authentication: an unknown operation, malformed transit, an oversized frame.
    let mut r = Raw::ready(server);
    let reply = r.call(1, "frobnicate", "[]");
    assert!(reply.to_string().contains("unknown-op"), "{reply}");
    write_frame(&mut r.0, b"{\"~:type\" ").unwrap();
    let _ = r.recv();
    assert!(r.closed());
    let mut r = Raw::ready(server);
    r.bytes(&[1, 0xff, 0xff, 0xff, 0xff]);
    let _ = r.recv();
    assert!(r.closed());
    // Vanishing mid-request: the request sent, the connection gone before the reply.
    let mut r = Raw::ready(server);
    ok(&r.call(1, "open", "[\"db\"]"));
    r.send("{:type :q :id 2 :args [\"db\" [:find ?e ?n :where [?e :name ?n]]]}");
    drop(r);
    // Vanishing mid-stream: after the head of a streamed result.
    let mut r = Raw::ready(server);
    ok(&r.call(1, "open", "[\"db\"]"));
    r.send("{:type :q :id 2 :args [\"db\" [:find ?e ?n :where [?e :name ?n]]]}");
    let head = r.recv().unwrap();
    assert_eq!(
        head.get(&e(":type")),
        Some(&e(":copy-out-response")),
        "{head}"
    );
    drop(r);
    // Vanishing mid-transaction, and mid-request inside one.
    let mut r = Raw::ready(server);
    ok(&r.call(1, "open", "[\"db\"]"));
    ok(&r.call(2, "open-transact", "[\"db\"]"));
    ok(&r.call(3, "transact", "[\"db\" [[:db/add -1 :junk 1]]]"));
    drop(r);
    let mut r = Raw::ready(server);
    ok(&r.call(1, "open", "[\"db\"]"));
    ok(&r.call(2, "open-transact", "[\"db\"]"));
    r.send("{:type :transact :id 3 :args [\"db\" [[:db/add -1 :junk 2]]]}");
    drop(r);
    // Many at once.
    let crowd: Vec<Raw> = (0..32)
        .map(|i| {
            let mut r = Raw::connect(server);
            r.bytes(if i % 2 == 0 {
                b"garbage!"
            } else {
                &[1, 0, 0, 0, 9]
            });
            r
        })
        .collect();
    drop(crowd);
}

/// Clients that misbehave and then stay connected, silent or not reading: the server must
/// end these sessions by itself. Returns the connections, still open.
fn abuse_and_stay(server: &Server) -> Vec<Raw> {
    let mut stay = vec![];
    // Connected, saying nothing.
    stay.push(Raw::connect(server));
    // Silent in the middle of a header, and of a payload.
    let mut r = Raw::connect(server);
    r.bytes(&[1, 0]);
    stay.push(r);
    let mut r = Raw::connect(server);
    r.bytes(&[1, 0, 0, 0, 40, b'{']);
    stay.push(r);
    // Silent after :hello, and after a wrong password.
    stay.push(Raw::hello(server));
    let mut r = Raw::hello(server);
    r.send("{:type :authenticate :id 0 :username \"admin\" :password \"nope\"}");
    let _ = r.recv();
    stay.push(r);
    // Authenticated and silent; silent with a transaction open; silent mid-frame.
    stay.push(Raw::ready(server));
    let mut r = Raw::ready(server);
    ok(&r.call(1, "open", "[\"db\"]"));
    ok(&r.call(2, "open-transact", "[\"db\"]"));
    ok(&r.call(3, "transact", "[\"db\" [[:db/add -1 :junk 3]]]"));
    stay.push(r);
    let mut r = Raw::ready(server);
    r.bytes(&[1, 0, 0, 1, 0, b'[', b'1']);
    stay.push(r);
    // Asking for large results and never reading them: the replies (4 MiB each) fill the
    // socket buffers and the server's writes block.
    let mut r = Raw::ready(server);
    ok(&r.call(1, "open", "[\"db\"]"));
    for id in 2..10 {
        r.send(&format!(
            "{{:type :q :id {id} :args [\"db\" [:find ?b . :where [_ :blob ?b]]]}}"
        ));
    }
    stay.push(r);
    stay
}

#[test]
fn abusive_clients_leak_no_threads() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    // The data the abuse reads: a few thousand rows to stream, and a 4 MiB string.
    {
        let mut r = Raw::ready(&server);
        ok(&r.call(1, "open", "[\"db\"]"));
        let people: String = (0..3000).map(|i| format!("{{:name \"p{i}\"}}")).collect();
        ok(&r.call(2, "transact", &format!("[\"db\" [{people}]]")));
        let blob = "x".repeat(4 << 20);
        ok(&r.call(3, "transact", &format!("[\"db\" [{{:blob \"{blob}\"}}]]")));
    }
    let baseline = threads();
    settle(baseline, "setting up");
    let baseline = threads();

    abuse_and_leave(&server);
    settle(baseline, "clients that misbehaved and left");

    let stay = abuse_and_stay(&server);
    // The count sees session threads: the last four connections, authenticated, keep theirs
    // for at least `idle_timeout` (1 s); the earlier ones, silent before authenticating,
    // may already be gone on a slow machine.
    let during = threads();
    assert!(
        during >= baseline + 2,
        "{during} threads with {} connections open, {baseline} before",
        stay.len()
    );
    settle(
        baseline,
        "clients that misbehaved and stayed (silent, mid-frame, in a transaction, not reading)",
    );
    // The server closed the silent ones (the last connection has unread replies).
    let n = stay.len();
    for (i, mut r) in stay.into_iter().enumerate().take(n - 1) {
        assert!(r.closed(), "connection {i} is still open");
    }

    // A well-behaved client is served, sees none of the abandoned transactions' writes,
    // and its thread goes when it leaves.
    let mut r = Raw::ready(&server);
    ok(&r.call(1, "open", "[\"db\"]"));
    ok(&r.call(2, "transact", "[\"db\" [{:name \"last\"}]]"));
    let reply = r.call(3, "q", "[\"db\" [:find (count ?e) . :where [?e :junk]]]");
    assert_eq!(reply.get(&e(":result")), Some(&Edn::Nil), "{reply}");
    let reply = r.call(4, "q", "[\"db\" [:find (count ?e) . :where [?e :name]]]");
    assert_eq!(reply.get(&e(":result")), Some(&Edn::Long(3001)), "{reply}");
    drop(r);
    settle(baseline, "a well-behaved client");
}
