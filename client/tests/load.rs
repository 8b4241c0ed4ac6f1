//! A load test: 32 concurrent clients mix queries, transactions and key-value reads and
//! writes against one server for a bounded time (`LEVIN_LOAD_SECONDS`, 3 s by default;
//! minutes for a full run), then every acknowledged write must be there. No request may
//! fail.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use levin_client::{Client, ClientError};
use levin_edn::{read, Edn};
use levin_query::{Connection, DatalogRead, KvConnection, KvWrite};
use levin_server::{Config, HashCost, Server};

const CLIENTS: usize = 32;

fn e(s: &str) -> Edn {
    read(s).unwrap()
}

/// What one client did that was acknowledged.
#[derive(Default)]
struct Acked {
    people: Vec<String>,
    keys: Vec<Vec<u8>>,
    ops: usize,
}

fn worker(uri_base: &str, n: usize, stop: &AtomicBool) -> Result<Acked, ClientError> {
    let client = Arc::new(Client::connect(&format!("{uri_base}/"))?);
    let conn = client.open_db("people")?;
    let kv = client.open_kv("cache")?;
    let mut acked = Acked::default();
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        match i % 4 {
            0 => {
                let name = format!("c{n}-p{i}");
                conn.transact(&e(&format!(r#"[{{:name "{name}" :client {n} :i {i}}}]"#)))?;
                acked.people.push(name);
            }
            1 => {
                let r = conn.q(
                    &e("[:find (count ?e) . :in $ ?c :where [?e :client ?c]]"),
                    &[Edn::Long(n as i64)],
                )?;
                let seen = r.as_long().unwrap_or(0) as usize;
                assert!(seen >= acked.people.len(), "client {n} lost its own writes");
            }
            2 => {
                let key = format!("c{n}-k{i}").into_bytes();
                kv.transact_kv(&[KvWrite::Put {
                    dbi: "cache".into(),
                    key: key.clone(),
                    value: i.to_be_bytes().to_vec(),
                }])?;
                acked.keys.push(key);
            }
            _ => {
                if let Some(k) = acked.keys.last() {
                    assert!(kv.get_value("cache", k)?.is_some(), "client {n} lost a key");
                }
            }
        }
        acked.ops += 1;
    }
    Ok(acked)
}

#[test]
fn thirty_two_clients_mix_reads_and_writes() {
    let seconds: u64 = std::env::var("LEVIN_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let root = tempfile::tempdir().unwrap();
    let mut config = Config::new(root.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin_password = Some("pw".into());
    config.hash_cost = HashCost::TESTING;
    let server = Server::start(config).unwrap();
    let base = format!("levin://admin:pw@{}", server.local_addr());
    {
        let admin = Arc::new(Client::connect(&format!("{base}/")).unwrap());
        admin.open_db("people").unwrap();
        admin
            .open_kv("cache")
            .unwrap()
            .open_dbi("cache", false)
            .unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (base, stop) = (base.clone(), stop.clone());
            std::thread::spawn(move || worker(&base, n, &stop))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::SeqCst);
    let results: Vec<Acked> = workers
        .into_iter()
        .map(|h| h.join().unwrap().expect("no request fails under load"))
        .collect();
    let elapsed = started.elapsed();
    let ops: usize = results.iter().map(|a| a.ops).sum();
    eprintln!(
        "load: {CLIENTS} clients, {ops} requests in {:.1} s ({:.0} per second)",
        elapsed.as_secs_f64(),
        ops as f64 / elapsed.as_secs_f64()
    );
    // Every acknowledged write is there, seen by a fresh client.
    let check = Arc::new(Client::connect(&format!("{base}/")).unwrap());
    let conn = check.open_db("people").unwrap();
    let kv = check.open_kv("cache").unwrap();
    let names = conn
        .q(&e("[:find [?n ...] :where [_ :name ?n]]"), &[])
        .unwrap();
    let names: std::collections::HashSet<&str> = names
        .as_seq()
        .unwrap_or(&[])
        .iter()
        .filter_map(Edn::as_str)
        .collect();
    let mut writes = 0;
    for a in &results {
        for p in &a.people {
            assert!(
                names.contains(p.as_str()),
                "{p} was acknowledged and is missing"
            );
        }
        for k in &a.keys {
            assert!(kv.get_value("cache", k).unwrap().is_some());
        }
        writes += a.people.len() + a.keys.len();
    }
    assert!(writes > 0);
    drop(conn);
    server.shutdown();
}
