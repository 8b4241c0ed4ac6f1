//! Criterion micro-benchmarks of Levin's KV API: get and put of 24-byte keys with 150-byte
//! values (the shape of `engine-compare`'s workloads).
//!
//! `cargo bench -p levin-benches --bench kv`

#![forbid(unsafe_code)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use levin_benches::{random_keys, Rng, VALUE_LEN};
use levin_engine::{Durability, Env, EnvOptions, Read};

const N: usize = 100_000;

fn open(dir: &std::path::Path) -> Env {
    Env::open_with(dir, EnvOptions::new().durability(Durability::NoSync)).expect("open")
}

fn bench_get(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = open(dir.path());
    let keys = random_keys(1, N);
    let mut rng = Rng::new(2);
    let mut v = [0u8; VALUE_LEN];
    let mut w = env.write().expect("write");
    let db = w.create_db("main").expect("create_db");
    for k in &keys {
        rng.fill(&mut v);
        w.put(&db, k, &v).expect("put");
    }
    w.commit().expect("commit");

    let r = env.read().expect("read");
    let mut i = 0usize;
    c.bench_function("get 24-byte key (100k entries)", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            black_box(r.get(&db, &keys[i]).expect("get"))
        })
    });
    c.bench_function("read txn begin + get", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            let r = env.read().expect("read");
            black_box(r.get(&db, &keys[i]).expect("get").map(|v| v.len()))
        })
    });
}

fn bench_put(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = open(dir.path());
    let mut w = env.write().expect("write");
    let db = w.create_db("main").expect("create_db");
    w.commit().expect("commit");
    let mut rng = Rng::new(3);
    let v = [7u8; VALUE_LEN];
    // 1,000 random puts in one (no-sync) transaction, committed.
    c.bench_function("put 1000 x 24-byte keys + commit (nosync)", |b| {
        b.iter_batched(
            || (0..1000).map(|_| rng.key()).collect::<Vec<_>>(),
            |keys| {
                let mut w = env.write().expect("write");
                for k in &keys {
                    w.put(&db, k, &v).expect("put");
                }
                w.commit().expect("commit");
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_get, bench_put
}
criterion_main!(benches);
