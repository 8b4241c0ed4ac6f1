//! Datalevin's typed key-value vocabulary over Levin's byte-keyed engine, for the server
//! and the pod: type keywords (`:string`, `:long`, `[:long :string]`, `:data`, ...) mapped
//! onto the codec's value types, EDN values encoded and decoded with them, and range specs
//! (`[:closed lo hi]`, `[:closed-back hi lo]`, ...) turned into engine ranges.

use levin_codec::{decode_typed, encode_typed, Value, ValueType};
use levin_edn::{Edn, Keyword};
use levin_engine::Range;

use crate::convert::{to_edn, untyped};
use crate::error::{Error, Result};

/// The type of `:data`: any EDN value, stored as its EDN text (not range-safe: its byte
/// order is not a value order).
pub fn data_type() -> ValueType {
    ValueType::Data
}

fn bad(what: impl Into<String>) -> Error {
    Error::Invalid(what.into())
}

fn scalar_type(k: &Keyword) -> Option<ValueType> {
    Some(match k.name() {
        "data" => ValueType::Data,
        "string" => ValueType::String,
        "long" | "int" | "short" | "byte" | "id" => ValueType::Long,
        "float" => ValueType::Float,
        "double" => ValueType::Double,
        "bigint" => ValueType::BigInt,
        "bigdec" => ValueType::BigDec,
        "bytes" => ValueType::Bytes,
        "keyword" => ValueType::Keyword,
        "symbol" => ValueType::Symbol,
        "boolean" => ValueType::Boolean,
        "instant" => ValueType::Instant,
        "uuid" => ValueType::Uuid,
        _ => return None,
    })
}

/// A type keyword (`:string`), a vector of one (`[:long]`: a tuple of any length of that
/// type) or of several (`[:long :string]`: a tuple of those); `nil` means `:data`.
pub fn parse_type(t: &Edn) -> Result<ValueType> {
    let unknown = |t: &Edn| {
        bad(format!(
            "unknown key-value type {t}: use :data, :string, :long, :float, :double, :bigint, \
             :bigdec, :bytes, :keyword, :symbol, :boolean, :instant, :uuid or a vector of them"
        ))
    };
    match t {
        Edn::Nil => Ok(ValueType::Data),
        Edn::Keyword(k) => scalar_type(k).ok_or_else(|| unknown(t)),
        Edn::Vector(items) if !items.is_empty() => {
            let types = items
                .iter()
                .map(|i| match i {
                    Edn::Keyword(k) => match scalar_type(k) {
                        Some(ValueType::Data) => Err(bad(":data cannot be part of a tuple type")),
                        Some(x) => Ok(x),
                        None => Err(unknown(i)),
                    },
                    _ => Err(unknown(i)),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(match <[ValueType; 1]>::try_from(types) {
                Ok([one]) => ValueType::HomTuple(Box::new(one)),
                Err(types) => ValueType::HetTuple(types),
            })
        }
        _ => Err(unknown(t)),
    }
}

/// The codec value of `v` as type `ty`, converting numbers where Datalevin would.
fn value_of(v: &Edn, ty: &ValueType) -> Result<Value> {
    let mismatch = || {
        bad(format!(
            "{v} is not a value of key-value type {}",
            ty.name()
        ))
    };
    Ok(match (ty, v) {
        (ValueType::Data, _) => Value::Data(v.to_string().into_bytes()),
        (ValueType::Double, Edn::Long(n)) => Value::Double(*n as f64),
        (ValueType::Float, Edn::Long(n)) => Value::Float(*n as f32),
        (ValueType::Float, Edn::Double(d)) => Value::Float(*d as f32),
        (ValueType::BigInt, Edn::Long(n)) => Value::BigInt((*n).into()),
        (ValueType::HomTuple(t), Edn::Vector(items)) => Value::Tuple(
            items
                .iter()
                .map(|i| value_of(i, t))
                .collect::<Result<_>>()?,
        ),
        (ValueType::HetTuple(ts), Edn::Vector(items)) if items.len() <= ts.len() => Value::Tuple(
            items
                .iter()
                .zip(ts)
                .map(|(i, t)| value_of(i, t))
                .collect::<Result<_>>()?,
        ),
        (ValueType::HomTuple(_) | ValueType::HetTuple(_), _) => return Err(mismatch()),
        _ => {
            let value = untyped(v);
            if value.value_type() != *ty {
                return Err(mismatch());
            }
            value
        }
    })
}

/// The bytes of `v` stored as type `ty`.
pub fn encode(v: &Edn, ty: &ValueType) -> Result<Vec<u8>> {
    let value = value_of(v, ty)?;
    let mut out = Vec::new();
    encode_typed(&value, ty, &mut out)
        .map_err(|e| bad(format!("cannot encode {v} as {}: {e}", ty.name())))?;
    Ok(out)
}

/// The value stored as `bytes` with type `ty`.
pub fn decode(bytes: &[u8], ty: &ValueType) -> Result<Edn> {
    let value = decode_typed(bytes, ty)
        .map_err(|e| Error::Corrupt(format!("a stored {} does not decode: {e}", ty.name())))?;
    Ok(to_edn(value))
}

/// An engine range from Datalevin's range spec `[range-type bound ...]` over keys (or
/// list values) of type `ty`. For the `-back` types the bounds come in iteration order:
/// `[:closed-back hi lo]`.
pub fn parse_range(spec: &Edn, ty: &ValueType) -> Result<Range> {
    let items = spec
        .as_seq()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("a range is [range-type bounds...], got {spec}")))?;
    let Some(kind) = items[0].as_keyword() else {
        return Err(bad(format!(
            "a range starts with its type keyword, got {}",
            items[0]
        )));
    };
    let (name, back) = match kind.name().strip_suffix("-back") {
        Some(n) => (n, true),
        None => (kind.name(), false),
    };
    let bound = |i: usize| -> Result<Vec<u8>> {
        let v = items.get(i).ok_or_else(|| {
            bad(format!(
                "range {spec} needs {} bound(s)",
                if i == 1 { "a" } else { "two" }
            ))
        })?;
        encode(v, ty)
    };
    let want = |n: usize| -> Result<()> {
        if items.len() == n + 1 {
            Ok(())
        } else {
            Err(bad(format!(
                "range type :{} takes {n} bound(s), got {}",
                kind.name(),
                items.len() - 1
            )))
        }
    };
    // For two-bound -back ranges the first bound given is the high one.
    let (lo_i, hi_i) = if back { (2, 1) } else { (1, 2) };
    let range = match name {
        "all" => {
            want(0)?;
            Range::all()
        }
        "at-least" => {
            want(1)?;
            Range::at_least(bound(1)?)
        }
        "at-most" => {
            want(1)?;
            Range::at_most(bound(1)?)
        }
        "greater-than" => {
            want(1)?;
            Range::greater_than(bound(1)?)
        }
        "less-than" => {
            want(1)?;
            Range::less_than(bound(1)?)
        }
        "closed" => {
            want(2)?;
            Range::closed(bound(lo_i)?, bound(hi_i)?)
        }
        "closed-open" => {
            want(2)?;
            if back {
                // [:closed-open-back hi lo]: includes hi, excludes lo.
                Range::open_closed(bound(lo_i)?, bound(hi_i)?)
            } else {
                Range::closed_open(bound(lo_i)?, bound(hi_i)?)
            }
        }
        "open-closed" => {
            want(2)?;
            if back {
                Range::closed_open(bound(lo_i)?, bound(hi_i)?)
            } else {
                Range::open_closed(bound(lo_i)?, bound(hi_i)?)
            }
        }
        "open" => {
            want(2)?;
            Range::open(bound(lo_i)?, bound(hi_i)?)
        }
        _ => {
            return Err(bad(format!(
                "unknown range type {kind}: use :all, :at-least, :at-most, :greater-than, \
                 :less-than, :closed, :closed-open, :open-closed, :open, or one of them with -back"
            )))
        }
    };
    Ok(if back { range.rev() } else { range })
}

#[cfg(test)]
mod tests {
    use super::*;
    use levin_edn::read;

    fn e(s: &str) -> Edn {
        read(s).unwrap()
    }

    #[test]
    fn types_round_trip_values() {
        for (t, v) in [
            (":string", "\"hi\""),
            (":long", "-5"),
            (":double", "1.5"),
            (":keyword", ":a/b"),
            (":boolean", "true"),
            (":uuid", "#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\""),
            (":instant", "#inst \"2024-01-02T03:04:05.006Z\""),
            (":data", "{:a [1 2 #{3}]}"),
            ("[:long]", "[1 2 3]"),
            ("[:long :string]", "[1 \"x\"]"),
        ] {
            let ty = parse_type(&e(t)).unwrap();
            let bytes = encode(&e(v), &ty).unwrap();
            assert_eq!(decode(&bytes, &ty).unwrap(), e(v), "{t} {v}");
        }
        assert_eq!(
            decode(
                &encode(&e("2"), &ValueType::Double).unwrap(),
                &ValueType::Double
            )
            .unwrap(),
            e("2.0")
        );
        assert!(encode(&e("\"x\""), &ValueType::Long)
            .unwrap_err()
            .to_string()
            .contains("not a value of"));
        assert!(parse_type(&e(":nope"))
            .unwrap_err()
            .to_string()
            .contains(":nope"));
        assert!(parse_type(&e("[:data]")).is_err());
    }

    #[test]
    fn range_specs_follow_datalevin() {
        let ty = ValueType::Long;
        let k = |n: i64| encode(&Edn::Long(n), &ty).unwrap();
        assert_eq!(
            parse_range(&e("[:closed 1 5]"), &ty).unwrap(),
            Range::closed(k(1), k(5))
        );
        assert_eq!(
            parse_range(&e("[:closed-back 5 1]"), &ty).unwrap(),
            Range::closed(k(1), k(5)).rev()
        );
        assert_eq!(
            parse_range(&e("[:closed-open-back 5 1]"), &ty).unwrap(),
            Range::open_closed(k(1), k(5)).rev()
        );
        let r = parse_range(&e("[:all-back]"), &ty).unwrap();
        assert!(r.reverse);
        assert!(parse_range(&e("[:closed 1]"), &ty).is_err());
        assert!(parse_range(&e("[:sideways 1]"), &ty)
            .unwrap_err()
            .to_string()
            .contains(":sideways"));
    }
}
