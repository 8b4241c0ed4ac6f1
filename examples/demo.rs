//! The embedded demo: creates a database in a temporary directory, loads data, and shows
//! reads, ranges, counts, ranks and list databases, with timings.

use std::time::Instant;

use levin::{Durability, Env, EnvOptions, Range, Read};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("levin-demo-{}", std::process::id())));
    let env = Env::open_with(&dir, EnvOptions::new().durability(Durability::Durable))?;
    println!("opened {} (page size {})", dir.display(), env.page_size());

    let n = 200_000u64;
    let t = Instant::now();
    let mut w = env.write()?;
    let people = w.create_db("people")?;
    let follows = w.create_list_db("follows")?;
    for i in 0..n {
        let key = format!("person:{i:08}");
        w.put(
            &people,
            key.as_bytes(),
            format!("{{:name \"P{i}\" :age {}}}", i % 90).as_bytes(),
        )?;
        for j in 1..=3 {
            w.put_list(
                &follows,
                key.as_bytes(),
                format!("person:{:08}", (i * 7 + j) % n).as_bytes(),
            )?;
        }
    }
    w.commit()?;
    println!(
        "loaded {n} people and {} follow edges in one transaction: {:?}",
        n * 3,
        t.elapsed()
    );

    let r = env.read()?;
    let t = Instant::now();
    let v = r
        .get(&people, b"person:00123456")?
        .map(|v| String::from_utf8_lossy(v).into_owned());
    println!("get person:00123456 -> {v:?} ({:?})", t.elapsed());

    let t = Instant::now();
    let c = r.count(
        &people,
        &Range::closed(b"person:00100000", b"person:00149999"),
    )?;
    println!(
        "count of a 50,000-key range through the counted tree: {c} ({:?})",
        t.elapsed()
    );

    let t = Instant::now();
    let rank = r.rank(&people, b"person:00150000")?;
    let at = r
        .get_by_rank(&people, 150_000)?
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned());
    println!(
        "rank of person:00150000 = {rank:?}; key at rank 150000 = {at:?} ({:?})",
        t.elapsed()
    );

    let t = Instant::now();
    let last5: Vec<String> = r
        .range(&people, Range::all().rev())?
        .take(5)
        .map(|x| x.map(|(k, _)| String::from_utf8_lossy(k).into_owned()))
        .collect::<Result<_, _>>()?;
    println!(
        "last five keys, iterating backward: {last5:?} ({:?})",
        t.elapsed()
    );

    let t = Instant::now();
    let fs: Vec<String> = r
        .list(&follows, b"person:00000042")?
        .map(|x| x.map(|(_, v)| String::from_utf8_lossy(v).into_owned()))
        .collect::<Result<_, _>>()?;
    println!("person:00000042 follows {fs:?} ({:?})", t.elapsed());

    let t = Instant::now();
    let mut scanned = 0u64;
    for item in r.iter(&people)? {
        let (_k, v) = item?;
        scanned += v.len() as u64;
    }
    println!(
        "full scan of {n} values ({scanned} bytes, zero-copy): {:?}",
        t.elapsed()
    );
    drop(r);

    let report = env.check()?;
    println!(
        "integrity check: {} problems; {} pages reachable, {} free, {} in the file",
        report.problems.len(),
        report.reachable_pages,
        report.free_pages,
        report.total_pages
    );
    let stat = env.stat()?;
    for db in &stat.databases {
        println!(
            "  {:8} {:5} entries={:>7} depth={} branch={} leaf={} overflow={}",
            db.name,
            if db.list { "list" } else { "plain" },
            db.entries,
            db.depth,
            db.branch_pages,
            db.leaf_pages,
            db.overflow_pages
        );
    }
    println!("file size: {} bytes", stat.file_size);
    Ok(())
}
