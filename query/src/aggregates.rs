//! Aggregates: count, count-distinct, sum, avg, median, variance, stddev, min/max (with
//! optional n), rand and sample with n, distinct, and registered ones.

use std::cmp::Ordering;

use levin_edn::Edn;

use crate::functions::{call_builtin, FnError, Registry};
use crate::order::compare;

fn num(e: &Edn) -> Result<f64, FnError> {
    match e {
        Edn::Long(n) => Ok(*n as f64),
        Edn::Double(d) => Ok(*d),
        _ => Err(FnError::from(format!("expected a number, got {e}"))),
    }
}

fn n_arg(args: &[Edn], name: &str) -> Result<Option<usize>, FnError> {
    match args {
        [] => Ok(None),
        [Edn::Long(n)] if *n >= 0 => Ok(Some(*n as usize)),
        _ => Err(FnError::from(format!(
            "{name} takes an optional count before the variable"
        ))),
    }
}

fn owned(vals: &[&Edn]) -> Vec<Edn> {
    vals.iter().map(|&v| v.clone()).collect()
}

fn sorted(vals: &[&Edn]) -> Vec<Edn> {
    let mut v = owned(vals);
    v.sort_by(compare);
    v
}

fn pick(vals: &[&Edn], n: usize) -> Vec<Edn> {
    // Deterministic-enough sampling: a random rotation of distinct values.
    let mut v = owned(vals);
    v.sort();
    v.dedup();
    let r = call_builtin("rand-int", Some(&[Edn::Long(v.len().max(1) as i64)]))
        .and_then(|x| x.ok())
        .and_then(|x| x.as_long())
        .unwrap_or(0) as usize;
    let len = v.len();
    v.rotate_left(r.min(len));
    v.truncate(n);
    v
}

/// Whether `name` is a known aggregate (built in or registered).
pub fn is_aggregate(name: &str, reg: &Registry) -> bool {
    reg.aggs.contains_key(name)
        || matches!(
            name,
            "count"
                | "count-distinct"
                | "sum"
                | "avg"
                | "median"
                | "variance"
                | "stddev"
                | "min"
                | "max"
                | "rand"
                | "sample"
                | "distinct"
        )
}

/// Applies aggregate `name` with constant `args` to the group's `vals` (borrowed from the
/// rows: only the result is built).
pub fn aggregate(name: &str, args: &[Edn], vals: &[&Edn], reg: &Registry) -> Result<Edn, FnError> {
    if let Some(f) = reg.aggs.get(name) {
        let mut all = args.to_vec();
        all.push(Edn::Vector(owned(vals)));
        return f(&all);
    }
    Ok(match name {
        "count" => Edn::Long(vals.len() as i64),
        "count-distinct" => {
            let mut v = vals.to_vec();
            v.sort();
            v.dedup();
            Edn::Long(v.len() as i64)
        }
        "sum" => {
            if vals.iter().all(|v| matches!(v, Edn::Long(_))) {
                let mut s: i64 = 0;
                for v in vals {
                    s = s
                        .checked_add(v.as_long().unwrap_or(0))
                        .ok_or("integer overflow in sum")?;
                }
                Edn::Long(s)
            } else if vals
                .iter()
                .any(|v| matches!(v, Edn::BigInt(_) | Edn::BigDec(_)))
            {
                // Big numbers add exactly, with Clojure's contagion (a bigdec sum of
                // bigdecs, a double once a double is among them).
                let mut all = vec![Edn::Long(0)];
                all.extend(vals.iter().map(|v| (*v).clone()));
                crate::functions::big_arith(&all, 0, '+')?
            } else {
                let mut s = 0.0;
                for v in vals {
                    s += num(v)?;
                }
                Edn::Double(s)
            }
        }
        "avg" => {
            if vals.is_empty() {
                return Ok(Edn::Nil);
            }
            let mut s = 0.0;
            for v in vals {
                s += num(v)?;
            }
            Edn::Double(s / vals.len() as f64)
        }
        "median" => {
            if vals.is_empty() {
                return Ok(Edn::Nil);
            }
            let v = sorted(vals);
            for x in &v {
                num(x)?;
            }
            let n = v.len();
            if n % 2 == 1 {
                v[n / 2].clone()
            } else if let (Edn::Long(a), Edn::Long(b)) = (&v[n / 2 - 1], &v[n / 2]) {
                // In i128 the sum cannot overflow, and the mean of two longs fits a long.
                let s = *a as i128 + *b as i128;
                if s % 2 == 0 {
                    Edn::Long((s / 2) as i64)
                } else {
                    Edn::Double(s as f64 / 2.0)
                }
            } else {
                call_builtin("+", Some(&[v[n / 2 - 1].clone(), v[n / 2].clone()]))
                    .and_then(|s| s.ok())
                    .and_then(|s| call_builtin("/", Some(&[s, Edn::Long(2)])))
                    .transpose()?
                    .unwrap_or(Edn::Nil)
            }
        }
        "variance" | "stddev" => {
            if vals.is_empty() {
                return Ok(Edn::Nil);
            }
            let xs: Vec<f64> = vals.iter().map(|v| num(v)).collect::<Result<_, _>>()?;
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / xs.len() as f64;
            Edn::Double(if name == "variance" { var } else { var.sqrt() })
        }
        "min" | "max" => {
            let want = if name == "min" {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            match n_arg(args, name)? {
                None => {
                    let mut best: Option<&Edn> = None;
                    for &v in vals {
                        if best.is_none_or(|b| compare(v, b) == want) {
                            best = Some(v);
                        }
                    }
                    best.cloned().unwrap_or(Edn::Nil)
                }
                Some(n) => {
                    // The n smallest or largest values, repeats kept (under `:with`),
                    // ascending either way (as Datalevin).
                    let mut v = sorted(vals);
                    if name == "max" {
                        v.drain(..v.len().saturating_sub(n));
                    }
                    v.truncate(n);
                    Edn::Vector(v)
                }
            }
        }
        "distinct" => {
            let mut v = owned(vals);
            v.sort();
            v.dedup();
            Edn::Set(v)
        }
        "rand" => match n_arg(args, name)? {
            None => pick(vals, 1).into_iter().next().unwrap_or(Edn::Nil),
            Some(n) => {
                // With replacement.
                let mut out = vec![];
                for _ in 0..n {
                    if let Some(x) = pick(vals, 1).into_iter().next() {
                        out.push(x);
                    }
                }
                Edn::Vector(out)
            }
        },
        "sample" => match n_arg(args, name)? {
            Some(n) => Edn::Vector(pick(vals, n)),
            None => return Err(FnError::from("sample takes a count: (sample n ?x)")),
        },
        _ => return Err(FnError::from(format!("unknown aggregate {name}"))),
    })
}
