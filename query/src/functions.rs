//! Built-in functions and predicates, and the registry of application functions.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use levin_edn::{Edn, Keyword};

use crate::order::{as_decimal, as_f64, as_integer, compare, compare_as_clojure, equal, is_number};
use levin_edn::{BigDec, BigInt};

/// An application function, predicate or aggregate: takes argument values, returns a
/// value (for a predicate: truthy or not) or an error.
pub type UserFn = Arc<dyn Fn(&[Edn]) -> Result<Edn, FnError> + Send + Sync>;

/// Why a function, predicate or aggregate (built in or registered) refused its arguments.
/// Application functions make one from a message: `Err("needs a string".into())`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FnError {
    /// The arguments do not suit the function (count, types, values), as its message says.
    #[error("{0}")]
    Invalid(String),
}

impl From<String> for FnError {
    fn from(message: String) -> Self {
        FnError::Invalid(message)
    }
}

impl From<&str> for FnError {
    fn from(message: &str) -> Self {
        FnError::Invalid(message.to_string())
    }
}

/// Functions and aggregates registered by name, passed with a query.
#[derive(Clone, Default)]
pub struct Registry {
    pub(crate) fns: HashMap<String, UserFn>,
    pub(crate) aggs: HashMap<String, UserFn>,
    pub(crate) max_rows: Option<usize>,
    pub(crate) max_memory: Option<usize>,
    pub(crate) default_timeout_ms: Option<u64>,
    pub(crate) timeout_cap_ms: Option<u64>,
    pub(crate) entity_reads: levin_datalog::scan::GroupRead,
    pub(crate) pull_fns: levin_datalog::PullFns,
    /// Recursive rules always take the general evaluation (see [`Registry::frontier_search`]).
    pub(crate) no_frontier: bool,
}

/// Default limit on the rows of any intermediate result.
pub const DEFAULT_MAX_ROWS: usize = 20_000_000;

/// Default limit on the memory of any intermediate result, estimated from its rows and
/// their width: 1 GiB.
pub const DEFAULT_MAX_MEMORY: usize = 1 << 30;

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("fns", &self.fns.keys().collect::<Vec<_>>())
            .field("aggs", &self.aggs.keys().collect::<Vec<_>>())
            .field("pull_fns", &self.pull_fns)
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The functions a `(pull ?e pattern)` in `:find` may name in `:xform`.
    pub fn pull_fns(mut self, fns: levin_datalog::PullFns) -> Registry {
        self.pull_fns = fns;
        self
    }

    /// How patterns on one bound entity read their values: by default whichever of EAV (a
    /// lookup per entity) and AVE (a scan of each attribute) the index counts say is
    /// cheaper. Forcing one is for tests and experiments; results are the same.
    pub fn entity_reads(mut self, how: levin_datalog::scan::GroupRead) -> Registry {
        self.entity_reads = how;
        self
    }

    /// Whether linear recursive rules may be answered by a frontier search (the default)
    /// rather than magic sets and the semi-naive fixpoint. Turning it off is for tests
    /// and experiments; results are the same.
    pub fn frontier_search(mut self, on: bool) -> Registry {
        self.no_frontier = !on;
        self
    }

    /// Limits every intermediate result (a relation between clauses, a join's output, a
    /// rule's relation) to `n` rows; a query that would build more fails with
    /// [`ErrorKind::TooLarge`](crate::error::ErrorKind::TooLarge) instead of exhausting
    /// memory. The default is [`DEFAULT_MAX_ROWS`].
    pub fn max_rows(mut self, n: usize) -> Registry {
        self.max_rows = Some(n);
        self
    }

    /// A deadline for queries that do not set their own `:timeout`: after `ms`
    /// milliseconds such a query stops with
    /// [`ErrorKind::Timeout`](crate::error::ErrorKind::Timeout). A server sets one so that
    /// no query can hold it indefinitely. By default there is none.
    pub fn default_timeout(mut self, ms: u64) -> Registry {
        self.default_timeout_ms = Some(ms);
        self
    }

    /// The longest any query may run, whatever `:timeout` it asks for: a query without
    /// one, or with a longer one, stops after `ms` milliseconds with
    /// [`ErrorKind::Timeout`](crate::error::ErrorKind::Timeout).
    pub fn timeout_cap(mut self, ms: u64) -> Registry {
        self.timeout_cap_ms = Some(ms);
        self
    }

    /// The deadline in milliseconds for a query that asks for `requested`.
    pub(crate) fn timeout_for(&self, requested: Option<u64>) -> Option<u64> {
        let t = requested.or(self.default_timeout_ms);
        match (t, self.timeout_cap_ms) {
            (Some(t), Some(cap)) => Some(t.min(cap)),
            (t, cap) => t.or(cap),
        }
    }

    /// Limits every intermediate result to about `bytes` of memory, estimated from its
    /// rows and their width: a wide relation reaches
    /// [`ErrorKind::TooLarge`](crate::error::ErrorKind::TooLarge) before
    /// [`Registry::max_rows`]. The default is [`DEFAULT_MAX_MEMORY`].
    pub fn max_memory(mut self, bytes: usize) -> Registry {
        self.max_memory = Some(bytes);
        self
    }

    /// The memory limit in force, in bytes.
    pub fn memory_limit(&self) -> usize {
        self.max_memory.unwrap_or(DEFAULT_MAX_MEMORY)
    }

    /// The row limit in force.
    pub fn row_limit(&self) -> usize {
        self.max_rows.unwrap_or(DEFAULT_MAX_ROWS)
    }

    /// Registers a function or predicate (shadows a built-in of the same name). A query
    /// calls it by name, or through an input holding its name as a symbol (`[(?f ?x)]`);
    /// a closure can also be passed directly as [`crate::Input::Fn`].
    pub fn function(
        mut self,
        name: &str,
        f: impl Fn(&[Edn]) -> Result<Edn, FnError> + Send + Sync + 'static,
    ) -> Registry {
        self.fns.insert(name.to_string(), Arc::new(f));
        self
    }

    /// Registers an aggregate: it receives every value of the aggregated variable in the
    /// group (with duplicates, as `:with` allows), as one vector, after any constant
    /// arguments. A query calls it by name (`(name ?x)`, `(name 3 ?x)`), also inside find
    /// expressions and `:having`, or through an input holding its name as a symbol
    /// (`(aggregate ?f ?x)`).
    pub fn aggregate(
        mut self,
        name: &str,
        f: impl Fn(&[Edn]) -> Result<Edn, FnError> + Send + Sync + 'static,
    ) -> Registry {
        self.aggs.insert(name.to_string(), Arc::new(f));
        self
    }
}

/// Clojure truthiness: everything but nil and false.
pub fn truthy(e: &Edn) -> bool {
    !matches!(e, Edn::Nil | Edn::Bool(false))
}

#[derive(Clone, Copy)]
enum Num {
    L(i64),
    D(f64),
}

fn num(e: &Edn) -> Result<Num, FnError> {
    match e {
        Edn::Long(n) => Ok(Num::L(*n)),
        Edn::Double(d) => Ok(Num::D(*d)),
        _ => Err(FnError::from(format!("expected a number, got {e}"))),
    }
}

fn f(n: Num) -> f64 {
    match n {
        Num::L(x) => x as f64,
        Num::D(x) => x,
    }
}

fn to_edn(n: Num) -> Edn {
    match n {
        Num::L(x) => Edn::Long(x),
        Num::D(x) => Edn::Double(x),
    }
}

/// `+ - * /` over arguments of which one at least is a bigint or a bigdec, with Clojure's
/// contagion: a double makes the result a double, else a bigdec a bigdec, else the result
/// is a bigint. `init` is the identity the unary forms start from (`(- x)` is `(- 0 x)`).
/// A quotient of bigints that is not whole is a double, as for longs; a quotient with a
/// bigdec is exact, as Java's `BigDecimal.divide` (see [`divide_decimals`]).
pub(crate) fn big_arith(args: &[Edn], init: i64, op: char) -> Result<Edn, FnError> {
    if let Some(bad) = args.iter().find(|a| !is_number(a)) {
        return Err(format!("expected a number, got {bad}").into());
    }
    let unary;
    let args = if args.len() == 1 && (op == '-' || op == '/') {
        unary = [Edn::Long(init), args[0].clone()];
        &unary[..]
    } else {
        args
    };
    if args.iter().any(|a| matches!(a, Edn::Double(_))) {
        let mut acc = as_f64(&args[0]);
        for a in &args[1..] {
            let y = as_f64(a);
            acc = match op {
                '+' => acc + y,
                '-' => acc - y,
                '*' => acc * y,
                _ => acc / y,
            };
        }
        return Ok(Edn::Double(acc));
    }
    if args.iter().any(|a| matches!(a, Edn::BigDec(_))) {
        let mut acc = as_decimal(&args[0]);
        for a in &args[1..] {
            let y = as_decimal(a);
            acc = match op {
                '*' => BigDec::new(&acc.unscaled * &y.unscaled, acc.scale + y.scale),
                '/' => divide_decimals(&acc, &y)?,
                _ => {
                    let scale = acc.scale.max(y.scale);
                    let (x, y) = (rescale(&acc, scale), rescale(&y, scale));
                    BigDec::new(if op == '+' { x + y } else { x - y }, scale)
                }
            };
        }
        return Ok(Edn::big_dec(acc));
    }
    let mut acc = as_integer(&args[0]);
    for a in &args[1..] {
        let y = as_integer(a);
        acc = match op {
            '+' => acc + y,
            '-' => acc - y,
            '*' => acc * y,
            _ => {
                if y == BigInt::from(0) {
                    return Err(FnError::from("divide by zero"));
                }
                if &acc % &y != BigInt::from(0) {
                    return Ok(Edn::Double(
                        as_f64(&Edn::big_int(acc)) / as_f64(&Edn::big_int(y)),
                    ));
                }
                acc / y
            }
        };
    }
    Ok(Edn::big_int(acc))
}

/// `x / y` exactly, as Java's `BigDecimal.divide(BigDecimal)` (which Clojure's `/` uses for
/// bigdecs): the quotient's scale is the smallest at or above `x.scale - y.scale` that
/// holds it exactly (`1.00M / 4M` is `0.25M`, `100M / 0.5M` is `2.0E+2M`). A quotient
/// whose decimal expansion does not end (`1M / 3M`) is refused, as Java refuses it.
fn divide_decimals(x: &BigDec, y: &BigDec) -> Result<BigDec, FnError> {
    use num_integer::Integer;
    use num_traits::{One, Zero};
    if y.unscaled.is_zero() {
        return Err(FnError::from("divide by zero"));
    }
    let operands = || {
        let (a, b) = (Edn::big_dec(x.clone()), Edn::big_dec(y.clone()));
        format!("the quotient of {a} and {b}")
    };
    let too_large = || FnError::from(format!("{} is out of range", operands()));
    let preferred = i64::from(x.scale) - i64::from(y.scale);
    // x / y = (p / q) × 10^-preferred, with p / q in lowest terms.
    let g = x.unscaled.gcd(&y.unscaled);
    let (p, q) = (&x.unscaled / &g, &y.unscaled / &g);
    let (p, q) = if q.sign() == num_bigint::Sign::Minus {
        (-p, -q)
    } else {
        (p, q)
    };
    // p / q ends in decimal exactly when q = 2^a × 5^b; it then needs max(a, b) digits.
    let (ten, two, five) = (BigInt::from(10), BigInt::from(2), BigInt::from(5));
    let (mut rest, mut twos, mut fives) = (q.clone(), 0u32, 0u32);
    while rest.is_even() {
        rest /= &two;
        twos += 1;
    }
    while (&rest % &five).is_zero() {
        rest /= &five;
        fives += 1;
    }
    if !rest.is_one() {
        return Err(FnError::from(format!(
            "{} has no exact decimal value (its expansion does not end); divide doubles, or \
             round the operands first",
            operands()
        )));
    }
    let digits = twos.max(fives);
    let mut unscaled = p * (ten.pow(digits) / q);
    let mut scale = preferred + i64::from(digits);
    // Trailing zeros go while the scale stays at or above the preferred one.
    while scale > preferred && !unscaled.is_zero() && (&unscaled % &ten).is_zero() {
        unscaled /= &ten;
        scale -= 1;
    }
    if unscaled.is_zero() {
        scale = preferred;
    }
    let scale = i32::try_from(scale).map_err(|_| too_large())?;
    Ok(BigDec::new(unscaled, scale))
}

/// The unscaled value of `d` at the larger scale `scale`.
fn rescale(d: &BigDec, scale: i32) -> BigInt {
    let shift = u32::try_from(i64::from(scale) - i64::from(d.scale)).unwrap_or(0);
    &d.unscaled * BigInt::from(10).pow(shift)
}

fn arith(args: &[Edn], init: i64, op: char) -> Result<Edn, FnError> {
    if args
        .iter()
        .any(|a| matches!(a, Edn::BigInt(_) | Edn::BigDec(_)))
    {
        return big_arith(args, init, op);
    }
    let mut acc = match args.first() {
        None => return Ok(Edn::Long(init)),
        Some(a) if args.len() == 1 && (op == '-' || op == '/') => {
            // Unary minus / reciprocal.
            let x = num(a)?;
            return arith(&[Edn::Long(init), to_edn(x)], init, op);
        }
        Some(a) => num(a)?,
    };
    for a in &args[1..] {
        let b = num(a)?;
        acc = match (acc, b) {
            (Num::L(x), Num::L(y)) => match op {
                '+' => Num::L(x.checked_add(y).ok_or("integer overflow")?),
                '-' => Num::L(x.checked_sub(y).ok_or("integer overflow")?),
                '*' => Num::L(x.checked_mul(y).ok_or("integer overflow")?),
                _ => {
                    if y == 0 {
                        return Err(FnError::from("divide by zero"));
                    }
                    if x == i64::MIN && y == -1 {
                        // The one quotient of two longs a long cannot hold: a big integer,
                        // as Datalevin answers (2^63).
                        if args.len() > 2 {
                            return Err(FnError::from("integer overflow"));
                        }
                        return Ok(Edn::big_int(levin_edn::BigInt::from(-(i64::MIN as i128))));
                    }
                    if x % y == 0 {
                        Num::L(x / y)
                    } else {
                        Num::D(x as f64 / y as f64)
                    }
                }
            },
            (x, y) => {
                let (x, y) = (f(x), f(y));
                Num::D(match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    _ => x / y,
                })
            }
        };
    }
    Ok(to_edn(acc))
}

fn chain(args: &[Edn], ok: impl Fn(Ordering) -> bool) -> Result<Edn, FnError> {
    if args.is_empty() {
        return Err(FnError::from("needs at least one argument"));
    }
    Ok(Edn::Bool(
        args.windows(2).all(|w| ok(compare(&w[0], &w[1]))),
    ))
}

pub(crate) fn arity(args: &[Edn], n: usize) -> Result<(), FnError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(FnError::from(format!(
            "expects {n} argument(s), got {}",
            args.len()
        )))
    }
}

pub(crate) fn long(e: &Edn) -> Result<i64, FnError> {
    e.as_long()
        .ok_or_else(|| FnError::from(format!("expected an integer, got {e}")))
}

pub(crate) fn string(e: &Edn) -> Result<&str, FnError> {
    e.as_str()
        .ok_or_else(|| FnError::from(format!("expected a string, got {e}")))
}

pub(crate) fn seq(e: &Edn) -> Result<Vec<Edn>, FnError> {
    match e {
        Edn::Nil => Ok(vec![]),
        Edn::List(x) | Edn::Vector(x) | Edn::Set(x) => Ok(x.clone()),
        Edn::Map(m) => Ok(m
            .iter()
            .map(|(k, v)| Edn::Vector(vec![k.clone(), v.clone()]))
            .collect()),
        Edn::String(s) => Ok(s.chars().map(Edn::Char).collect()),
        _ => Err(FnError::from(format!("{e} is not a collection"))),
    }
}

/// Clojure's `str` of one value: Java's `toString`, which for a uuid is its bare text, for
/// big numbers their digits without a suffix, for an instant `Date.toString` (in UTC).
pub(crate) fn to_str(e: &Edn) -> String {
    match e {
        Edn::Nil => String::new(),
        Edn::String(s) => s.as_str().to_owned(),
        Edn::Char(c) => c.to_string(),
        Edn::Uuid(bytes) => levin_edn::format_uuid(bytes),
        Edn::BigInt(x) => x.to_string(),
        Edn::BigDec(d) => java_decimal_string(d),
        Edn::Inst(ms) => levin_edn::java_date_string(*ms),
        other => other.to_string(),
    }
}

/// Java's `BigDecimal.toString`: plain digits with the point `scale` places from the right,
/// unless the scale is negative or the number is below 10^-6, which take an exponent.
fn java_decimal_string(d: &levin_edn::BigDec) -> String {
    let negative = d.unscaled.sign() == num_bigint::Sign::Minus;
    let digits = d.unscaled.magnitude().to_string();
    let sign = if negative { "-" } else { "" };
    let scale = i64::from(d.scale);
    let adjusted = digits.len() as i64 - 1 - scale;
    if scale >= 0 && adjusted >= -6 {
        if scale == 0 {
            return format!("{sign}{digits}");
        }
        let scale = scale as usize;
        return if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        };
    }
    let (first, rest) = digits.split_at(1);
    let mantissa = if rest.is_empty() {
        first.to_string()
    } else {
        format!("{first}.{rest}")
    };
    let exp_sign = if adjusted >= 0 { "+" } else { "" };
    format!("{sign}{mantissa}E{exp_sign}{adjusted}")
}

pub(crate) fn regex(e: &Edn) -> Result<regex::Regex, FnError> {
    match e {
        Edn::String(s) => regex::Regex::new(s).map_err(|x| FnError::from(x.to_string())),
        Edn::Tagged(t) => regex(&t.1),
        _ => Err(FnError::from(format!(
            "expected a regex pattern string, got {e}"
        ))),
    }
}

/// SQL `LIKE`: `%` any run, `_` one character, `\` escapes.
/// SQL `LIKE`: `%` any run, `_` any one character, `esc` (by default `!`, as in
/// Datalevin) makes the next character literal.
fn like(s: &str, pat: &str, esc: char) -> bool {
    let mut re = String::from("(?s)^");
    let mut chars = pat.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c == esc => {
                if let Some(n) = chars.next() {
                    re.push_str(&regex::escape(&n.to_string()))
                }
            }
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(s))
}

/// `(range end)`, `(range start end)`, `(range start end step)`: a list of numbers.
fn range(a: &[Edn]) -> Result<Edn, FnError> {
    /// The longest list `range` builds: an endless or huge range is refused.
    const MAX: usize = 1_000_000;
    let (start, end, step) = match a {
        [e] => (Num::L(0), num(e)?, Num::L(1)),
        [s, e] => (num(s)?, num(e)?, Num::L(1)),
        [s, e, st] => (num(s)?, num(e)?, num(st)?),
        _ => {
            return Err(FnError::from(
                "range takes an end, a start and an end, or a start, an end and a step",
            ))
        }
    };
    let (e, st) = (f(end), f(step));
    let mut out = vec![];
    if st == 0.0 {
        if f(start) < e {
            return Err(FnError::from("range with step 0 never ends"));
        }
        return Ok(Edn::List(out));
    }
    // Each element is the previous plus the step: longs while both are longs.
    let mut x = start;
    while (st > 0.0 && f(x) < e) || (st < 0.0 && f(x) > e) {
        if out.len() >= MAX {
            return Err(FnError::from(format!("range longer than {MAX}")));
        }
        out.push(to_edn(x));
        x = match (x, step) {
            (Num::L(p), Num::L(q)) => match p.checked_add(q) {
                Some(n) => Num::L(n),
                None => break,
            },
            (p, q) => Num::D(f(p) + f(q)),
        };
    }
    Ok(Edn::List(out))
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}

/// Whether `name` is a built-in.
pub fn is_builtin(name: &str) -> bool {
    call_builtin(name, None).is_some()
}

/// Calls built-in `name`; `None` when there is no such built-in. With `args` None, only
/// checks existence.
pub fn call_builtin(name: &str, args: Option<&[Edn]>) -> Option<Result<Edn, FnError>> {
    let known = matches!(
        name,
        "=" | "=="
            | "not="
            | "!="
            | "<"
            | ">"
            | "<="
            | ">="
            | "+"
            | "-"
            | "*"
            | "/"
            | "quot"
            | "rem"
            | "mod"
            | "inc"
            | "dec"
            | "max"
            | "min"
            | "zero?"
            | "pos?"
            | "neg?"
            | "even?"
            | "odd?"
            | "compare"
            | "rand"
            | "rand-int"
            | "true?"
            | "false?"
            | "nil?"
            | "some?"
            | "not"
            | "identity"
            | "keyword"
            | "name"
            | "namespace"
            | "str"
            | "subs"
            | "count"
            | "vector"
            | "list"
            | "set"
            | "hash-map"
            | "get"
            | "contains?"
            | "empty?"
            | "not-empty"
            | "re-find"
            | "re-matches"
            | "re-seq"
            | "re-pattern"
            | "ground"
            | "tuple"
            | "untuple"
            | "like"
            | "not-like"
            | "in"
            | "not-in"
            | "identical?"
            | "vec"
            | "first"
            | "second"
            | "last"
            | "abs"
            | "and"
            | "or"
            | "complement"
            | "apply"
            | "q"
            | "type"
            | "range"
            | "pr-str"
            | "prn-str"
            | "print-str"
            | "println-str"
            | "array-map"
            | "meta"
            | "quote"
    ) || crate::strings::string_fn(name).is_some();
    if !known {
        return None;
    }
    match args {
        Some(args) => Some(builtin(name, args)),
        None => Some(Ok(Edn::Nil)),
    }
}

fn builtin(name: &str, a: &[Edn]) -> Result<Edn, FnError> {
    if let Some(short) = crate::strings::string_fn(name) {
        return crate::strings::call(short, a);
    }
    let b = Edn::Bool;
    Ok(match name {
        "and" => {
            // The first falsy argument, else the last (true without arguments).
            let mut last = Edn::Bool(true);
            for x in a {
                if !truthy(x) {
                    return Ok(x.clone());
                }
                last = x.clone();
            }
            last
        }
        "or" => {
            // The first truthy argument, else the last (nil without arguments).
            let mut last = Edn::Nil;
            for x in a {
                if truthy(x) {
                    return Ok(x.clone());
                }
                last = x.clone();
            }
            last
        }
        "type" => {
            arity(a, 1)?;
            crate::strings::type_of(&a[0])
        }
        "range" => range(a)?,
        "pr-str" | "prn-str" | "print-str" | "println-str" => {
            let readable = matches!(name, "pr-str" | "prn-str");
            let mut out = a
                .iter()
                .map(|x| crate::strings::print(x, readable))
                .collect::<Vec<_>>()
                .join(" ");
            if name.ends_with("ln-str") || name == "prn-str" {
                out.push('\n');
            }
            Edn::string(out)
        }
        "array-map" => builtin("hash-map", a)?,
        "meta" => {
            arity(a, 1)?;
            Edn::Nil
        }
        "quote" => {
            arity(a, 1)?;
            a[0].clone()
        }
        "q" | "apply" | "complement" => {
            return Err(FnError::from(format!("{name} needs the query's context")))
        }
        "=" => b(a.windows(2).all(|w| equal(&w[0], &w[1]))),
        "identical?" => b(a.windows(2).all(|w| w[0] == w[1])),
        "==" => chain(a, |o| o == Ordering::Equal)?,
        "not=" | "!=" => b(!a.windows(2).all(|w| equal(&w[0], &w[1]))),
        "<" => chain(a, |o| o == Ordering::Less)?,
        ">" => chain(a, |o| o == Ordering::Greater)?,
        "<=" => chain(a, |o| o != Ordering::Greater)?,
        ">=" => chain(a, |o| o != Ordering::Less)?,
        "+" => arith(a, 0, '+')?,
        "*" => arith(a, 1, '*')?,
        "-" => {
            if a.is_empty() {
                return Err(FnError::from("- needs arguments"));
            }
            arith(a, 0, '-')?
        }
        "/" => {
            if a.is_empty() {
                return Err(FnError::from("/ needs arguments"));
            }
            arith(a, 1, '/')?
        }
        "quot" | "rem" | "mod" => {
            arity(a, 2)?;
            match (num(&a[0])?, num(&a[1])?) {
                (Num::L(x), Num::L(y)) => {
                    if y == 0 {
                        return Err(FnError::from("divide by zero"));
                    }
                    Edn::Long(match name {
                        "quot" => x.checked_div(y).ok_or("integer overflow")?,
                        // x % -1 is 0 for every x; i64::MIN % -1 overflows in Rust.
                        _ if y == -1 => 0,
                        "rem" => x % y,
                        _ => {
                            let m = x % y;
                            if m != 0 && ((m < 0) != (y < 0)) {
                                m + y
                            } else {
                                m
                            }
                        }
                    })
                }
                (x, y) => {
                    let (x, y) = (f(x), f(y));
                    Edn::Double(match name {
                        "quot" => (x / y).trunc(),
                        "rem" => x % y,
                        _ => x - y * (x / y).floor(),
                    })
                }
            }
        }
        "inc" | "dec" => {
            arity(a, 1)?;
            arith(
                &[a[0].clone(), Edn::Long(1)],
                0,
                if name == "inc" { '+' } else { '-' },
            )?
        }
        "abs" => {
            arity(a, 1)?;
            match num(&a[0])? {
                Num::L(x) => Edn::Long(x.checked_abs().ok_or("integer overflow")?),
                Num::D(x) => Edn::Double(x.abs()),
            }
        }
        "max" | "min" => {
            let mut it = a.iter();
            let mut best = it.next().ok_or("needs arguments")?.clone();
            for x in it {
                let o = compare(x, &best);
                if (name == "max" && o == Ordering::Greater)
                    || (name == "min" && o == Ordering::Less)
                {
                    best = x.clone();
                }
            }
            best
        }
        "zero?" | "pos?" | "neg?" => {
            arity(a, 1)?;
            let x = f(num(&a[0])?);
            b(match name {
                "zero?" => x == 0.0,
                "pos?" => x > 0.0,
                _ => x < 0.0,
            })
        }
        "even?" | "odd?" => {
            arity(a, 1)?;
            let x = long(&a[0])?;
            b((x % 2 == 0) == (name == "even?"))
        }
        "compare" => {
            arity(a, 2)?;
            let o = compare_as_clojure(&a[0], &a[1]).ok_or_else(|| {
                FnError::from(format!(
                    "cannot compare {} ({}) with {} ({})",
                    a[0],
                    a[0].type_name(),
                    a[1],
                    a[1].type_name()
                ))
            })?;
            Edn::Long(o)
        }
        "rand" => {
            let r = (rand_u64() >> 11) as f64 / (1u64 << 53) as f64;
            match a.first() {
                None => Edn::Double(r),
                Some(n) => Edn::Double(r * f(num(n)?)),
            }
        }
        "rand-int" => {
            arity(a, 1)?;
            let n = long(&a[0])?;
            if n <= 0 {
                return Err(FnError::from("rand-int needs a positive bound"));
            }
            Edn::Long((rand_u64() % n as u64) as i64)
        }
        "true?" => b(a.first() == Some(&Edn::Bool(true))),
        "false?" => b(a.first() == Some(&Edn::Bool(false))),
        "nil?" => b(a.first().is_none_or(|x| x.is_nil())),
        "some?" => b(a.first().is_some_and(|x| !x.is_nil())),
        "not" => {
            arity(a, 1)?;
            b(!truthy(&a[0]))
        }
        "identity" => {
            arity(a, 1)?;
            a[0].clone()
        }
        "keyword" => match a {
            [Edn::Keyword(k)] => Edn::Keyword(k.clone()),
            [Edn::String(s)] => match s.split_once('/') {
                Some((ns, n)) if !ns.is_empty() && !n.is_empty() => {
                    Edn::Keyword(Keyword::new(Some(ns), n))
                }
                _ => Edn::Keyword(Keyword::new(None, s)),
            },
            [Edn::Symbol(s)] => Edn::Keyword(Keyword::new(s.namespace(), s.name())),
            [ns, n] => Edn::Keyword(Keyword::new(
                if ns.is_nil() { None } else { Some(string(ns)?) },
                string(n)?,
            )),
            _ => {
                return Err(FnError::from(
                    "keyword takes a string or a namespace and a name",
                ))
            }
        },
        "name" => match a {
            [Edn::Keyword(k)] => Edn::string(k.name().to_owned()),
            [Edn::Symbol(s)] => Edn::string(s.name().to_owned()),
            [Edn::String(s)] => Edn::String(s.clone()),
            _ => return Err(FnError::from("name takes a keyword, symbol or string")),
        },
        "namespace" => match a {
            [Edn::Keyword(k)] => k
                .namespace()
                .map(str::to_owned)
                .map_or(Edn::Nil, Edn::string),
            [Edn::Symbol(s)] => s
                .namespace()
                .map(str::to_owned)
                .map_or(Edn::Nil, Edn::string),
            _ => return Err(FnError::from("namespace takes a keyword or symbol")),
        },
        "str" => Edn::String(a.iter().map(to_str).collect()),
        "subs" => {
            let s: Vec<char> = string(a.first().ok_or("subs needs a string")?)?
                .chars()
                .collect();
            let start = long(a.get(1).ok_or("subs needs a start")?)? as usize;
            let end = match a.get(2) {
                Some(e) => long(e)? as usize,
                None => s.len(),
            };
            if start > end || end > s.len() {
                return Err(FnError::from("string index out of range"));
            }
            Edn::String(s[start..end].iter().collect())
        }
        "count" => {
            arity(a, 1)?;
            Edn::Long(match &a[0] {
                Edn::String(s) => s.chars().count(),
                Edn::Map(m) => m.len(),
                other => seq(other)?.len(),
            } as i64)
        }
        "vector" | "tuple" => Edn::Vector(a.to_vec()),
        "list" => Edn::List(a.to_vec()),
        "vec" => {
            arity(a, 1)?;
            Edn::Vector(seq(&a[0])?)
        }
        "set" => {
            arity(a, 1)?;
            let mut v = seq(&a[0])?;
            v.sort();
            v.dedup();
            Edn::Set(v)
        }
        "hash-map" => {
            if !a.len().is_multiple_of(2) {
                return Err(FnError::from("hash-map needs an even number of arguments"));
            }
            let mut m: Vec<(Edn, Edn)> = vec![];
            for kv in a.chunks(2) {
                m.retain(|(k, _)| *k != kv[0]);
                m.push((kv[0].clone(), kv[1].clone()));
            }
            Edn::Map(m)
        }
        "get" => {
            let (c, k) = (
                a.first().ok_or("get needs a map")?,
                a.get(1).ok_or("get needs a key")?,
            );
            let found = match c {
                Edn::Map(m) => m.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone()),
                Edn::Vector(v) => k.as_long().and_then(|i| v.get(i as usize).cloned()),
                Edn::Set(s) => s.iter().find(|x| *x == k).cloned(),
                _ => None,
            };
            found.or_else(|| a.get(2).cloned()).unwrap_or(Edn::Nil)
        }
        "contains?" => {
            arity(a, 2)?;
            b(match &a[0] {
                Edn::Map(m) => m.iter().any(|(x, _)| *x == a[1]),
                Edn::Set(s) => s.contains(&a[1]),
                Edn::Vector(v) => a[1]
                    .as_long()
                    .is_some_and(|i| i >= 0 && (i as usize) < v.len()),
                Edn::Nil => false,
                other => return Err(FnError::from(format!("contains? not supported on {other}"))),
            })
        }
        "empty?" => {
            arity(a, 1)?;
            b(match &a[0] {
                Edn::Map(m) => m.is_empty(),
                other => seq(other)?.is_empty(),
            })
        }
        "not-empty" => {
            arity(a, 1)?;
            let empty = match &a[0] {
                Edn::Map(m) => m.is_empty(),
                other => seq(other)?.is_empty(),
            };
            if empty {
                Edn::Nil
            } else {
                a[0].clone()
            }
        }
        "first" | "second" | "last" => {
            arity(a, 1)?;
            let s = seq(&a[0])?;
            match name {
                "first" => s.first().cloned(),
                "second" => s.get(1).cloned(),
                _ => s.last().cloned(),
            }
            .unwrap_or(Edn::Nil)
        }
        "re-pattern" => {
            arity(a, 1)?;
            regex(&a[0])?;
            match &a[0] {
                Edn::String(src) => crate::strings::regex_value(src),
                other => other.clone(),
            }
        }
        "re-find" | "re-matches" | "re-seq" => {
            arity(a, 2)?;
            let re = regex(&a[0])?;
            let s = string(&a[1])?;
            let groups = |c: regex::Captures| -> Edn {
                if c.len() == 1 {
                    Edn::string(c[0].to_string())
                } else {
                    Edn::Vector(
                        (0..c.len())
                            .map(|i| c.get(i).map_or(Edn::Nil, |m| Edn::string(m.as_str())))
                            .collect(),
                    )
                }
            };
            match name {
                "re-find" => re.captures(s).map_or(Edn::Nil, groups),
                "re-seq" => {
                    let all: Vec<Edn> = re.captures_iter(s).map(groups).collect();
                    if all.is_empty() {
                        Edn::Nil
                    } else {
                        Edn::List(all)
                    }
                }
                _ => match re.captures(s) {
                    Some(c)
                        if c.get(0)
                            .is_some_and(|m| m.start() == 0 && m.end() == s.len()) =>
                    {
                        groups(c)
                    }
                    _ => Edn::Nil,
                },
            }
        }
        "ground" | "untuple" => {
            arity(a, 1)?;
            a[0].clone()
        }
        "like" | "not-like" => {
            if a.len() < 2 {
                return Err(FnError::from("like takes a string and a pattern"));
            }
            // An optional third argument `{:escape \c}` names the escape character.
            let esc = match a.get(2) {
                None => '!',
                Some(o) => match o.get(&Edn::kw("", "escape")) {
                    Some(Edn::Char(c)) => *c,
                    _ => return Err(FnError::from("like options are {:escape \\c}")),
                },
            };
            let m = match &a[0] {
                Edn::String(s) => like(s, string(&a[1])?, esc),
                _ => false,
            };
            b(m == (name == "like"))
        }
        "in" | "not-in" => {
            arity(a, 2)?;
            let coll = seq(&a[1])?;
            b(coll.contains(&a[0]) == (name == "in"))
        }
        _ => return Err(FnError::from(format!("unknown function {name}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str_of(text: &str) -> String {
        to_str(&levin_edn::read(text).unwrap())
    }

    #[test]
    fn big_numbers_add_subtract_multiply_and_divide_as_clojure() {
        let calc = |op: char, xs: &[&str]| {
            let args: Vec<Edn> = xs.iter().map(|x| levin_edn::read(x).unwrap()).collect();
            // A bigdec as Java prints it (with its scale: `2.0E+2`), then `M`.
            big_arith(&args, if op == '*' || op == '/' { 1 } else { 0 }, op).map(|v| match v {
                Edn::BigDec(_) => format!("{}M", to_str(&v)),
                _ => v.to_string(),
            })
        };
        assert_eq!(calc('+', &["1N", "2"]).unwrap(), "3N");
        assert_eq!(calc('+', &["1.5M", "2", "0.25M"]).unwrap(), "3.75M");
        assert_eq!(calc('*', &["1.5M", "2"]).unwrap(), "3.0M");
        assert_eq!(calc('-', &["1.5M"]).unwrap(), "-1.5M");
        assert_eq!(calc('+', &["1.5M", "0.5"]).unwrap(), "2.0");
        assert_eq!(calc('/', &["6N", "3"]).unwrap(), "2N");
        assert_eq!(calc('/', &["1N", "4"]).unwrap(), "0.25");
        assert!(calc('/', &["1N", "0"]).is_err());
        // As Java's BigDecimal.divide (Datalevin's answers): exact, at the smallest scale
        // not below the dividend's minus the divisor's.
        for (x, y, quotient) in [
            ("1M", "4M", "0.25M"),
            ("1.00M", "4M", "0.25M"),
            ("10M", "4.0M", "2.5M"),
            ("100M", "0.5M", "2.0E+2M"),
            ("12.34M", "0.02M", "617M"),
            ("1E+3M", "2M", "5E+2M"),
            ("-1M", "8M", "-0.125M"),
            ("1M", "-8M", "-0.125M"),
            ("-3M", "-4M", "0.75M"),
            ("2.50M", "2", "1.25M"),
            ("6", "4M", "1.5M"),
            ("3N", "4M", "0.75M"),
            ("0.00M", "4M", "0.00M"),
            ("1M", "1024M", "0.0009765625M"),
        ] {
            assert_eq!(calc('/', &[x, y]).unwrap(), quotient, "{x} / {y}");
        }
        assert_eq!(calc('/', &["1M", "2M", "4M"]).unwrap(), "0.125M");
        assert_eq!(calc('/', &["4M"]).unwrap(), "0.25M");
        assert_eq!(calc('/', &["1M", "4.0"]).unwrap(), "0.25");
        let refused = calc('/', &["1M", "3"]).unwrap_err().to_string();
        assert!(
            refused.contains("1M and 3M") && refused.contains("does not end"),
            "{refused}"
        );
        assert!(calc('/', &["1.0M", "3"]).is_err());
        assert!(calc('/', &["1M", "0M"])
            .unwrap_err()
            .to_string()
            .contains("divide by zero"));
        assert!(calc('+', &["1N", ":a"]).is_err());
    }

    #[test]
    fn str_gives_what_java_to_string_gives() {
        for (value, text) in [
            (
                "#uuid \"00000000-0000-0000-0000-000000000001\"",
                "00000000-0000-0000-0000-000000000001",
            ),
            ("20000000000000000000000N", "20000000000000000000000"),
            ("-5N", "-5"),
            ("2.50M", "2.50"),
            ("-0.05M", "-0.05"),
            ("1M", "1"),
            ("0.0000001M", "1E-7"),
            (
                "#inst \"2020-01-01T00:00:00Z\"",
                "Wed Jan 01 00:00:00 UTC 2020",
            ),
            (":a/b", ":a/b"),
            ("\"s\"", "s"),
        ] {
            assert_eq!(str_of(value), text, "{value}");
        }
        assert_eq!(
            java_decimal_string(&levin_edn::BigDec::new(12, -3)),
            "1.2E+4"
        );
    }
}
