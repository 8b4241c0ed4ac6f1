//! Datom reads planned before they start ([`DatomScan`]): the index segments a read walks,
//! from which both its count (through the counted B+tree, O(log n) a segment, or a walk for
//! a seek that bounds each key's values) and its datoms (lazily) are taken, so that the two
//! agree by construction.

use levin_engine::Range;

use crate::db::{Datoms, Db, Index};
use crate::error::Result;

/// One stretch of an index, in the order a read walks it. Both indexes are list databases
/// (a key with its sorted values), so a stretch is a range of keys with every value, or
/// some values of one key.
#[derive(Debug, Clone)]
pub(crate) enum Segment {
    /// Every (key, value) pair of the keys in the range, in its direction.
    Pairs(Range),
    /// The values of `key` inside `values`, high to low when `reverse`.
    List {
        key: Vec<u8>,
        values: Range,
        reverse: bool,
    },
    /// Every key in `keys`, in its direction, with its values inside `values`, in the same
    /// direction.
    Bounded { keys: Range, values: Range },
}

impl Segment {
    pub(crate) fn list(key: Vec<u8>, values: Range, reverse: bool) -> Segment {
        Segment::List {
            key,
            values,
            reverse,
        }
    }
}

/// A datom read of a [`Db`] planned but not started ([`Db::plan_datoms`],
/// [`Db::plan_seek_datoms`], [`Db::plan_rseek_datoms`], [`Db::plan_index_range`]):
/// [`DatomScan::count`] says how many datoms [`DatomScan::datoms`] gives, without reading
/// them. Both read the same segments of the same view, so they agree.
pub struct DatomScan<'a> {
    db: &'a Db<'a>,
    index: Index,
    segments: Vec<Segment>,
}

impl<'a> DatomScan<'a> {
    pub(crate) fn new(db: &'a Db<'a>, index: Index, segments: Vec<Segment>) -> DatomScan<'a> {
        DatomScan {
            db,
            index,
            segments,
        }
    }

    /// How many datoms [`DatomScan::datoms`] gives: O(log n) per segment counted in the
    /// tree, except a seek bounding both keys and values, which walks its datoms (reading
    /// none into a datom).
    pub fn count(&self) -> Result<u64> {
        let r = self.db.kv();
        let db = self.db.index_db(self.index);
        let mut n = 0u64;
        for s in &self.segments {
            n = n.saturating_add(match s {
                Segment::Pairs(range) => r.count(db, range)?,
                // The count ignores the direction, as it should.
                Segment::List { key, values, .. } => r.list_count_range(db, key, values)?,
                // No count in the tree bounds the values of many keys: a walk.
                Segment::Bounded { keys, values } => {
                    let mut n = 0u64;
                    for pair in r.list_range(db, keys.clone(), values.clone())? {
                        pair?;
                        n += 1;
                    }
                    n
                }
            });
        }
        Ok(n)
    }

    /// The datoms, lazily, in the read's order.
    pub fn datoms(self) -> Result<Datoms<'a>> {
        let db = self.db;
        let r = db.kv();
        let tree = db.index_db(self.index);
        let mut parts = Vec::with_capacity(self.segments.len());
        for s in self.segments {
            parts.push(match s {
                Segment::Pairs(range) => r.range(tree, range)?,
                Segment::List {
                    key,
                    values,
                    reverse,
                } => {
                    let keys = Range::closed(&key, &key);
                    let keys = if reverse { keys.rev() } else { keys };
                    r.list_range(tree, keys, values)?
                }
                Segment::Bounded { keys, values } => r.list_range(tree, keys, values)?,
            });
        }
        let pairs = parts.into_iter().flatten();
        Ok(match self.index {
            Index::Eav => Box::new(pairs.map(move |x| {
                let (k, v) = x?;
                db.view().eav_datom(k, v)
            })),
            Index::Ave => Box::new(pairs.map(move |x| {
                let (k, v) = x?;
                db.view().ave_datom(k, v)
            })),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Conn, Index};
    use levin_edn::{read, Edn};

    /// Every shape of every read: the count taken from the tree is the number of datoms
    /// the same scan gives.
    #[test]
    fn counts_are_what_the_scans_give() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Conn::open(
            dir.path(),
            "{:name {:db/unique :db.unique/identity} :friend {:db/valueType :db.type/ref
              :db/cardinality :db.cardinality/many} :tag {:db/cardinality :db.cardinality/many}}",
        )
        .unwrap();
        let mut tx = vec![];
        for i in 0..60 {
            tx.push(format!(
                r#"{{:db/id -{n} :name "p{i}" :age {a} :tag ["t{t}" "u{t}"] :friend [-{f}]}}"#,
                n = i + 1,
                a = i % 7,
                t = i % 5,
                f = (i + 1) % 60 + 1,
            ));
        }
        conn.transact(&read(&format!("[{}]", tx.join(" "))).unwrap())
            .unwrap();
        let db = conn.db().unwrap();
        let mut total = 0;
        let shapes = [
            "[]",
            "[1]",
            "[30]",
            "[999]",
            "[5 :age]",
            "[5 :tag]",
            "[5 :tag \"t0\"]",
            "[5 :tag \"zz\"]",
            "[5 :nope]",
            "[:age]",
            "[:age 3]",
            "[:age 3 10]",
            "[:age 3.5]",
            "[:tag \"t1\"]",
            "[:friend 7]",
            "[:nope]",
        ];
        for index in [Index::Eav, Index::Ave] {
            for shape in shapes {
                let c: Vec<Edn> = read(shape).unwrap().as_seq().unwrap().to_vec();
                // Shapes that do not fit the index (a keyword entity, a number attribute)
                // fail or match nothing in both reads alike.
                let plans = [
                    db.plan_datoms(index, &c),
                    db.plan_seek_datoms(index, &c),
                    db.plan_rseek_datoms(index, &c),
                ];
                for (i, plan) in plans.into_iter().enumerate() {
                    let Ok(plan) = plan else { continue };
                    let n = plan.count().unwrap();
                    let got = plan
                        .datoms()
                        .unwrap()
                        .try_fold(0u64, |n, d| d.map(|_| n + 1))
                        .unwrap();
                    assert_eq!(n, got, "{index:?} {shape} read {i}");
                    total += n;
                }
            }
        }
        for (lo, hi) in [
            (None, None),
            (Some("2"), None),
            (None, Some("4")),
            (Some("2"), Some("4")),
            (Some("9"), Some("1")),
        ] {
            let (lo, hi) = (lo.map(|x| read(x).unwrap()), hi.map(|x| read(x).unwrap()));
            let kw = levin_edn::Keyword::new(None, "age");
            let plan = db.plan_index_range(&kw, lo.as_ref(), hi.as_ref()).unwrap();
            let n = plan.count().unwrap();
            assert_eq!(
                n,
                plan.datoms()
                    .unwrap()
                    .try_fold(0u64, |n, d| d.map(|_| n + 1))
                    .unwrap(),
                "{lo:?} {hi:?}"
            );
            total += n;
        }
        assert!(total > 3_000, "the shapes read datoms: {total}");
    }
}
