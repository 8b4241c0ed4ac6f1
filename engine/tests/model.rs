//! Model-based tests: random operation sequences on 512-byte pages (so splits and merges
//! happen constantly), checked against a `BTreeMap` after every step and after reopening.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use levin_engine::{Db, Env, EnvOptions, PutFlags, Range, Read};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put(u16, u16),
    /// A run of appends (keys after the current last key), with a value seed.
    Append(u16, u8),
    /// An append of a key that is not after the last key: refused, nothing changes.
    AppendBad(u16),
    Del(u16),
    ListAdd(u8, u16),
    ListAddMany(u8, Vec<u16>),
    ListDel(u8, u16),
    ListDelKey(u8),
    Commit,
    Abort,
    Reopen,
    Check,
    /// A compacting copy of the last commit, which must equal the committed model.
    Compact,
}

fn key(k: u16) -> Vec<u8> {
    // Key 0 is the empty key: the smallest there is.
    if k == 0 {
        return vec![];
    }
    // Variable-length keys with shared prefixes exercise separator shortening.
    let mut v = format!("key{:05}", k).into_bytes();
    v.extend(std::iter::repeat_n(b'x', (k % 7) as usize * 5));
    v
}

fn val(v: u16) -> Vec<u8> {
    // Mostly small, sometimes larger than a 512-byte page (overflow).
    let len = match v % 10 {
        0 => 700 + v as usize % 300,
        1 => 120,
        _ => (v % 40) as usize,
    };
    let mut out = vec![(v % 251) as u8; len];
    out.extend_from_slice(&v.to_be_bytes());
    out
}

fn lval(v: u16) -> Vec<u8> {
    // Value 0 is the empty value: the smallest of a list.
    if v == 0 {
        return vec![];
    }
    let mut out = v.to_be_bytes().to_vec();
    out.extend(std::iter::repeat_n(b'v', (v % 5) as usize * 7));
    out
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => (0u16..300, any::<u16>()).prop_map(|(k, v)| Op::Put(k, v)),
        6 => (any::<u16>(), 1u8..40).prop_map(|(v, n)| Op::Append(v, n)),
        1 => (0u16..300).prop_map(Op::AppendBad),
        8 => (0u16..300).prop_map(Op::Del),
        20 => (0u8..6, 0u16..400).prop_map(|(k, v)| Op::ListAdd(k, v)),
        6 => (0u8..6, proptest::collection::vec(0u16..400, 0..40))
            .prop_map(|(k, vs)| Op::ListAddMany(k, vs)),
        8 => (0u8..6, 0u16..400).prop_map(|(k, v)| Op::ListDel(k, v)),
        1 => (0u8..6).prop_map(Op::ListDelKey),
        3 => Just(Op::Commit),
        1 => Just(Op::Abort),
        1 => Just(Op::Reopen),
        1 => Just(Op::Check),
        1 => Just(Op::Compact),
    ]
}

type Plain = BTreeMap<Vec<u8>, Vec<u8>>;
type Lists = BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>>;

fn verify(r: &impl Read, plain: &Db, list: &Db, pm: &Plain, lm: &Lists) {
    let got: Vec<(Vec<u8>, Vec<u8>)> = r
        .iter(plain)
        .unwrap()
        .map(|x| x.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    let want: Vec<(Vec<u8>, Vec<u8>)> = pm.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(got, want, "plain database differs from the model");
    assert_eq!(r.len(plain).unwrap(), pm.len() as u64);
    let back: Vec<Vec<u8>> = r
        .range(plain, Range::all().rev())
        .unwrap()
        .map(|x| x.unwrap().0.to_vec())
        .collect();
    let want_back: Vec<Vec<u8>> = pm.keys().rev().cloned().collect();
    assert_eq!(back, want_back, "backward iteration differs");
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = r
        .iter(list)
        .unwrap()
        .map(|x| x.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    let want_pairs: Vec<(Vec<u8>, Vec<u8>)> = lm
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
        .collect();
    assert_eq!(pairs, want_pairs, "list database differs from the model");
    let rpairs: Vec<(Vec<u8>, Vec<u8>)> = r
        .range(list, Range::all().rev())
        .unwrap()
        .map(|x| x.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    let mut want_r = want_pairs.clone();
    want_r.reverse();
    assert_eq!(rpairs, want_r, "backward list iteration differs");
    for (k, vs) in lm {
        assert_eq!(r.list_count(list, k).unwrap(), vs.len() as u64);
    }
    // Counts and ranks through the counted tree.
    let keys: Vec<&Vec<u8>> = pm.keys().collect();
    for (i, k) in keys.iter().enumerate().step_by(7) {
        assert_eq!(r.rank(plain, k).unwrap(), Some(i as u64));
        let (gk, _) = r.get_by_rank(plain, i as u64).unwrap().unwrap();
        assert_eq!(gk, k.as_slice());
        let j = (i + 13).min(keys.len() - 1);
        let c = r.count(plain, &Range::closed(k, keys[j])).unwrap();
        assert_eq!(c, (j - i + 1) as u64);
        let c = r.count(plain, &Range::open(k, keys[j])).unwrap();
        assert_eq!(c, (j - i).saturating_sub(1) as u64);
    }
    assert_eq!(
        r.count(list, &Range::all()).unwrap(),
        want_pairs.len() as u64
    );
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let opts = || {
        EnvOptions::new()
            .page_size(512)
            .spill_threshold(8 * 512)
            .max_map_size(1 << 30)
    };
    let mut env = Env::open_with(dir.path(), opts()).unwrap();
    let (plain, list) = {
        let mut w = env.write().unwrap();
        let p = w.create_db("plain").unwrap();
        let l = w.create_list_db("list").unwrap();
        w.commit().unwrap();
        (p, l)
    };
    let (mut pm, mut lm): (Plain, Lists) = Default::default();
    let (mut cp, mut cl) = (pm.clone(), lm.clone());
    let mut w = Some(env.write().unwrap());
    let mut compacts = 0;
    for op in ops {
        let txn = w.as_mut().unwrap();
        match op {
            Op::Put(k, v) => {
                txn.put(&plain, &key(k), &val(v)).unwrap();
                pm.insert(key(k), val(v));
            }
            Op::Append(v, n) => {
                let flags = PutFlags {
                    append: true,
                    no_overwrite: false,
                };
                for i in 0..n as u16 {
                    // Each key extends the last one by a byte, so keys share long prefixes
                    // (separator shortening); past 120 bytes, a fresh prefix after them all.
                    let k = match pm.keys().next_back() {
                        None => key(v % 300),
                        Some(last) if last.len() < 120 => {
                            let mut k = last.clone();
                            k.push(b'0' + ((v ^ i) % 10) as u8);
                            k
                        }
                        Some(last) if last[0] < b'z' => vec![last[0] + 1],
                        Some(_) => break,
                    };
                    let value = val(v.wrapping_add(i));
                    assert!(txn.put_with(&plain, &k, &value, flags).unwrap());
                    pm.insert(k, value);
                }
            }
            Op::AppendBad(k) => {
                let flags = PutFlags {
                    append: true,
                    no_overwrite: false,
                };
                if pm.keys().next_back().is_some_and(|last| *last >= key(k)) {
                    let r = txn.put_with(&plain, &key(k), b"v", flags);
                    assert!(
                        matches!(r, Err(levin_engine::Error::AppendOutOfOrder { .. })),
                        "{r:?}"
                    );
                }
            }
            Op::Del(k) => {
                let had = txn.delete(&plain, &key(k)).unwrap();
                assert_eq!(had, pm.remove(&key(k)).is_some());
            }
            Op::ListAdd(k, v) => {
                let added = txn.put_list(&list, &key(k as u16), &lval(v)).unwrap();
                assert_eq!(added, lm.entry(key(k as u16)).or_default().insert(lval(v)));
            }
            Op::ListAddMany(k, vs) => {
                let vals: Vec<Vec<u8>> = vs.iter().map(|v| lval(*v)).collect();
                let refs: Vec<&[u8]> = vals.iter().map(|v| v.as_slice()).collect();
                let added = txn.put_list_many(&list, &key(k as u16), &refs).unwrap();
                let m = lm.entry(key(k as u16)).or_default();
                let new = vals.into_iter().filter(|v| m.insert(v.clone())).count();
                assert_eq!(added, new as u64);
                if m.is_empty() {
                    lm.remove(&key(k as u16));
                }
            }
            Op::ListDel(k, v) => {
                let removed = txn.delete_list(&list, &key(k as u16), &lval(v)).unwrap();
                let m = lm.entry(key(k as u16)).or_default();
                assert_eq!(removed, m.remove(&lval(v)));
                if m.is_empty() {
                    lm.remove(&key(k as u16));
                }
            }
            Op::ListDelKey(k) => {
                let had = txn.delete(&list, &key(k as u16)).unwrap();
                assert_eq!(had, lm.remove(&key(k as u16)).is_some());
            }
            Op::Commit => {
                w.take().unwrap().commit().unwrap();
                cp = pm.clone();
                cl = lm.clone();
                let r = env.read().unwrap();
                verify(&r, &plain, &list, &pm, &lm);
                w = Some(env.write().unwrap());
            }
            Op::Abort => {
                w.take().unwrap().abort();
                pm = cp.clone();
                lm = cl.clone();
                w = Some(env.write().unwrap());
            }
            Op::Reopen => {
                drop(w.take());
                drop(env);
                env = Env::open_with(dir.path(), opts()).unwrap();
                pm = cp.clone();
                lm = cl.clone();
                let r = env.read().unwrap();
                verify(&r, &plain, &list, &pm, &lm);
                w = Some(env.write().unwrap());
            }
            Op::Check => {
                let report = env.check().unwrap();
                assert!(report.is_ok(), "integrity problems: {:?}", report.problems);
            }
            Op::Compact => {
                compacts += 1;
                let dest = dir.path().join(format!("compact-{compacts}"));
                env.copy_to(&dest, true).unwrap();
                let copy = Env::open_with(&dest, opts()).unwrap();
                let report = copy.check().unwrap();
                assert!(report.is_ok(), "compacted copy: {:?}", report.problems);
                assert_eq!(report.free_pages, 0, "a compacted copy has no free pages");
                verify(&copy.read().unwrap(), &plain, &list, &cp, &cl);
            }
        }
        let txn = w.as_ref().unwrap();
        if let Some((k, v)) = pm.iter().next() {
            assert_eq!(txn.get(&plain, k).unwrap(), Some(v.as_slice()));
        }
    }
    verify(w.as_ref().unwrap(), &plain, &list, &pm, &lm);
    w.take().unwrap().commit().unwrap();
    let report = env.check().unwrap();
    assert!(report.is_ok(), "integrity problems: {:?}", report.problems);
    assert_eq!(
        report.reachable_pages + report.free_pages + 2,
        report.total_pages,
        "page accounting"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn engine_matches_model(ops in proptest::collection::vec(op(), 1..400)) {
        run(ops);
    }
}

#[test]
fn bound_helpers_are_consistent() {
    let r = Range::closed_open(b"a", b"c");
    assert!(r.contains(b"b"));
    assert!(!r.contains(b"c"));
    assert!(matches!(Range::prefix(b"ab").hi, Bound::Excluded(ref h) if h == b"ac"));
}

/// A large batch for one new key builds its nested tree bottom-up (several levels on
/// 512-byte pages); the tree must then read, count, check and keep working like one
/// built value by value.
#[test]
fn a_large_list_batch_builds_a_deep_nested_tree() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), EnvOptions::new().page_size(512)).unwrap();
    let mut w = env.write().unwrap();
    let list = w.create_list_db("list").unwrap();
    // Values in a scrambled order, with repeats.
    let vals: Vec<Vec<u8>> = (0..6000u32)
        .map(|i| lval((i.wrapping_mul(7919) % 4000) as u16))
        .collect();
    let refs: Vec<&[u8]> = vals.iter().map(|v| v.as_slice()).collect();
    let mut model: BTreeSet<Vec<u8>> = vals.iter().cloned().collect();
    assert_eq!(
        w.put_list_many(&list, b"k", &refs).unwrap(),
        model.len() as u64
    );
    assert_eq!(w.put_list_many(&list, b"k", &refs).unwrap(), 0);
    // The key's nested tree: more than one branch page means three levels or more.
    let t = w.tree_info(&list).unwrap();
    assert!(t.branch_pages > 1, "{t:?}");
    w.commit().unwrap();
    let report = env.check().unwrap();
    assert!(report.is_ok(), "integrity problems: {:?}", report.problems);
    let mut w = env.write().unwrap();
    for v in 0..4000u16 {
        if v % 3 == 0 {
            assert!(w.delete_list(&list, b"k", &lval(v)).unwrap());
            model.remove(&lval(v));
        }
    }
    for v in 4000..4100u16 {
        assert!(w.put_list(&list, b"k", &lval(v)).unwrap());
        model.insert(lval(v));
    }
    w.commit().unwrap();
    let r = env.read().unwrap();
    let got: Vec<Vec<u8>> = r
        .list(&list, b"k")
        .unwrap()
        .map(|x| x.unwrap().1.to_vec())
        .collect();
    assert_eq!(got, model.iter().cloned().collect::<Vec<_>>());
    assert_eq!(r.list_count(&list, b"k").unwrap(), model.len() as u64);
    let report = env.check().unwrap();
    assert!(report.is_ok(), "integrity problems: {:?}", report.problems);
}
