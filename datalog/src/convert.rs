//! Conversions between EDN values and the codec's [`Value`]s stored in the indexes,
//! validated against an attribute's declared type.
//!
//! Attributes without a type store numbers, strings, keywords, symbols, booleans, instants
//! and uuids as themselves (so they sort and range-scan by value) and anything else (vectors,
//! maps, sets, lists, characters, tagged values) as `Data` holding the value's EDN text.
//! Bytes are written in EDN as `#bytes "0a1b..."` (hex).

use crate::error::Error;
use levin_codec::{BigDec as CBigDec, Value};

use crate::schema::{Attr, AttrType};
use levin_edn::{BigDec, Edn, Keyword, Symbol};

/// Converts `v` for `attr` (not for refs, which the transaction resolves to entity ids).
pub fn to_value(attr: &Attr, v: &Edn) -> Result<Value, Error> {
    if v.is_nil() {
        return Err(Error::InvalidValue(
            "nil is not a valid value; retract the attribute instead".into(),
        ));
    }
    match attr.value_type {
        None => Ok(untyped(v)),
        Some(AttrType::Tuple) => {
            let items = v.as_vec().ok_or_else(|| {
                Error::InvalidValue(format!(
                    "expected a tuple (a vector), got {}",
                    v.type_name()
                ))
            })?;
            if let Some(ts) = &attr.tuple_types {
                if items.len() != ts.len() {
                    return Err(Error::InvalidValue(format!(
                        "expected a tuple of {} elements, got {}",
                        ts.len(),
                        items.len()
                    )));
                }
                let mut out = Vec::new();
                for (t, x) in ts.iter().zip(items) {
                    out.push(tuple_elem(Some(*t), x)?);
                }
                Ok(Value::Tuple(out))
            } else {
                let t = attr.tuple_type;
                let out = items
                    .iter()
                    .map(|x| tuple_elem(t, x))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::Tuple(out))
            }
        }
        Some(t) => typed(t, v),
    }
}

fn tuple_elem(t: Option<AttrType>, v: &Edn) -> Result<Value, Error> {
    match (t, v) {
        (_, Edn::Nil) => Ok(nil_value()),
        (None, v) => Ok(untyped(v)),
        (Some(AttrType::Ref), Edn::Long(n)) if *n > 0 => Ok(Value::Long(*n)),
        (Some(t), v) => typed(t, v),
    }
}

/// How `nil` is stored inside a tuple: empty `Data` (it sorts after every other element).
pub(crate) fn nil_value() -> Value {
    Value::Data(Vec::new())
}

fn mismatch(t: AttrType, v: &Edn) -> String {
    format!(
        "expected a value of type {}, got {} {v}",
        t.name(),
        article(v)
    )
}

fn article(v: &Edn) -> String {
    let n = v.type_name();
    match n.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {n}"),
        Some('#') => n.to_string(),
        _ => format!("a {n}"),
    }
}

/// Converts `v` to the declared scalar type `t`.
pub fn typed(t: AttrType, v: &Edn) -> Result<Value, Error> {
    Ok(match (t, v) {
        (AttrType::String, Edn::String(s)) => Value::String(s.as_str().to_owned()),
        (AttrType::Keyword, Edn::Keyword(k)) => Value::keyword(k.namespace(), k.name()),
        (AttrType::Symbol, Edn::Symbol(s)) => Value::Symbol {
            ns: s.namespace().map(str::to_owned),
            name: s.name().to_owned(),
        },
        (AttrType::Boolean, Edn::Bool(b)) => Value::Boolean(*b),
        (AttrType::Long, Edn::Long(n)) => Value::Long(*n),
        (AttrType::Ref, Edn::Long(n)) if *n > 0 => Value::Long(*n),
        (AttrType::Double, Edn::Double(d)) => double(*d)?,
        (AttrType::Double, Edn::Long(n)) => Value::Double(*n as f64),
        (AttrType::Float, Edn::Double(d)) if d.is_nan() => return Err(Error::InvalidValue(nan())),
        (AttrType::Float, Edn::Double(d)) => Value::Float(*d as f32),
        (AttrType::Float, Edn::Long(n)) => Value::Float(*n as f32),
        (AttrType::BigInt, Edn::BigInt(n)) => Value::BigInt((**n).clone()),
        (AttrType::BigInt, Edn::Long(n)) => Value::BigInt((*n).into()),
        (AttrType::BigDec, Edn::BigDec(d)) => {
            Value::BigDec(CBigDec::new(d.unscaled.clone(), d.scale))
        }
        (AttrType::BigDec, Edn::Long(n)) => Value::BigDec(CBigDec::new(*n, 0)),
        (AttrType::Instant, Edn::Inst(ms)) => Value::Instant(*ms),
        (AttrType::Uuid, Edn::Uuid(u)) => Value::Uuid(*u),
        (AttrType::Bytes, v) => {
            Value::Bytes(bytes_of(v).ok_or_else(|| Error::InvalidValue(mismatch(t, v)))?)
        }
        (AttrType::Tuple, _) => {
            return Err(Error::InvalidValue("a tuple cannot nest in a tuple".into()))
        }
        _ => return Err(Error::InvalidValue(mismatch(t, v))),
    })
}

fn nan() -> String {
    "NaN cannot be stored".into()
}

fn double(d: f64) -> Result<Value, Error> {
    if d.is_nan() {
        Err(Error::InvalidValue(nan()))
    } else {
        Ok(Value::Double(d))
    }
}

/// `#bytes "hex"` -> the bytes.
fn bytes_of(v: &Edn) -> Option<Vec<u8>> {
    let (tag, inner) = v.as_tagged()?;
    if !tag.is("", "bytes") {
        return None;
    }
    let s = inner.as_str()?;
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Bytes as `#bytes "hex"`.
pub fn bytes_edn(b: &[u8]) -> Edn {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Edn::tagged(Symbol::new(None, "bytes"), Edn::string(hex))
}

/// The value of an attribute without a declared type.
pub fn untyped(v: &Edn) -> Value {
    match v {
        Edn::Bool(b) => Value::Boolean(*b),
        Edn::Long(n) => Value::Long(*n),
        Edn::BigInt(n) => Value::BigInt((**n).clone()),
        Edn::Double(d) if !d.is_nan() => Value::Double(*d),
        Edn::BigDec(d) => Value::BigDec(CBigDec::new(d.unscaled.clone(), d.scale)),
        Edn::String(s) => Value::String(s.as_str().to_owned()),
        Edn::Keyword(k) => Value::keyword(k.namespace(), k.name()),
        Edn::Symbol(s) => Value::Symbol {
            ns: s.namespace().map(str::to_owned),
            name: s.name().to_owned(),
        },
        Edn::Inst(ms) => Value::Instant(*ms),
        Edn::Uuid(u) => Value::Uuid(*u),
        other => match bytes_of(other) {
            Some(b) => Value::Bytes(b),
            None => Value::Data(other.to_string().into_bytes()),
        },
    }
}

/// Converts a stored value back to EDN.
pub fn to_edn(v: Value) -> Edn {
    match v {
        Value::Boolean(b) => Edn::Bool(b),
        Value::Long(n) => Edn::Long(n),
        Value::Double(d) => Edn::Double(d),
        Value::Float(f) => Edn::Double(f64::from(f)),
        Value::BigInt(n) => Edn::big_int(n),
        Value::BigDec(d) => Edn::big_dec(BigDec::new(d.unscaled, d.scale)),
        Value::Instant(ms) => Edn::Inst(ms),
        Value::String(s) => Edn::string(s),
        Value::Keyword { ns, name } => Edn::Keyword(Keyword::new(ns.as_deref(), &name)),
        Value::Symbol { ns, name } => Edn::Symbol(Symbol::new(ns.as_deref(), &name)),
        Value::Uuid(u) => Edn::Uuid(u),
        Value::Bytes(b) => bytes_edn(&b),
        Value::Tuple(items) => Edn::Vector(items.into_iter().map(to_edn).collect()),
        Value::Data(d) if d.is_empty() => Edn::Nil,
        Value::Data(d) => std::str::from_utf8(&d)
            .ok()
            .and_then(|s| levin_edn::read(s).ok())
            .unwrap_or_else(|| bytes_edn(&d)),
    }
}
