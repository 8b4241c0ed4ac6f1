//! Pull patterns: the EDN forms of a pattern parsed into [`Pattern`]s of attribute specs
//! (names, options, sub-patterns, recursion), and the `:xform` functions they may name.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::error::{Error, Result};
use levin_edn::{Edn, Keyword};

/// The default `:limit` of cardinality-many and reverse attributes.
pub const DEFAULT_LIMIT: usize = 1000;

#[derive(Debug, Clone)]
pub(super) enum Sub {
    None,
    Pattern(Rc<Pattern>),
    Recurse(Option<usize>),
}

/// A function applied to an attribute's pulled value (`:xform`).
pub type XformFn = dyn Fn(&Edn) -> Edn + Send + Sync;

/// Functions that pull patterns may name in `:xform` (Datalevin's `:xform` takes any
/// Clojure function; EDN cannot carry one, so Levin's names a function registered here).
/// The function gets the attribute's value as pulled (after `:limit` and sub-patterns: a
/// vector for a cardinality-many or reverse attribute), or nil when the entity lacks the
/// attribute and there is no `:default`; a nil result leaves the attribute out.
#[derive(Clone, Default)]
pub struct PullFns {
    fns: HashMap<String, Arc<XformFn>>,
}

impl std::fmt::Debug for PullFns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.fns.keys()).finish()
    }
}

impl PullFns {
    /// No functions.
    pub fn new() -> PullFns {
        PullFns::default()
    }

    /// Registers `f` as `name`: a pattern names it as a symbol (`my/upper`) or a keyword
    /// (`:my/upper`).
    pub fn register(
        &mut self,
        name: &str,
        f: impl Fn(&Edn) -> Edn + Send + Sync + 'static,
    ) -> &mut Self {
        self.fns
            .insert(name.trim_start_matches(':').to_string(), Arc::new(f));
        self
    }

    fn get(&self, name: &Edn) -> Option<Arc<XformFn>> {
        let n = match name {
            Edn::Symbol(s) => s.to_string(),
            Edn::Keyword(k) => k.to_string().trim_start_matches(':').to_string(),
            _ => return None,
        };
        self.fns.get(&n).cloned()
    }
}

#[derive(Clone)]
pub(super) struct Xform(pub(super) Arc<XformFn>);

impl std::fmt::Debug for Xform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Xform")
    }
}

#[derive(Debug, Clone)]
pub(super) struct Spec {
    pub(super) attr: Keyword,
    pub(super) key: Edn,
    pub(super) limit: Option<usize>,
    pub(super) default: Option<Edn>,
    pub(super) sub: Sub,
    pub(super) xform: Option<Xform>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Pattern {
    pub(super) wildcard: bool,
    pub(super) specs: Vec<Spec>,
}

fn bad(p: &Edn, why: &str) -> Error {
    Error::Invalid(format!("bad pull pattern {p}: {why}"))
}

fn attr_name(x: &Edn) -> Option<Keyword> {
    match x {
        Edn::Keyword(k) => Some(k.clone()),
        Edn::String(s) => Some(crate::entity::keyword(s)),
        _ => None,
    }
}

fn is_wildcard(x: &Edn) -> bool {
    matches!(x, Edn::Symbol(s) if s.namespace().is_none() && s.name() == "*")
        || x.as_str() == Some("*")
        || x.is_kw("", "*")
}

fn spec_of(x: &Edn, fns: &PullFns) -> Result<Spec> {
    if let Some(k) = attr_name(x) {
        return Ok(Spec {
            attr: k,
            key: x.clone(),
            limit: Some(DEFAULT_LIMIT),
            default: None,
            sub: Sub::None,
            xform: None,
        });
    }
    let items = x
        .as_seq()
        .ok_or_else(|| bad(x, "expected an attribute, [attr options...] or a map"))?;
    // Legacy (limit :attr n) and (default :attr v).
    if let Some(Edn::Symbol(s)) = items.first() {
        if items.len() == 3 && s.namespace().is_none() {
            let mut spec = spec_of(&items[1], fns)?;
            match s.name() {
                "limit" => spec.limit = limit_of(&items[2], x)?,
                "default" => spec.default = Some(items[2].clone()),
                _ => return Err(bad(x, "unknown attribute function")),
            }
            return Ok(spec);
        }
    }
    let Some(first) = items.first() else {
        return Err(bad(x, "empty attribute spec"));
    };
    let mut spec = spec_of(first, fns)?;
    if items.len() % 2 != 1 {
        return Err(bad(x, "attribute options come in pairs"));
    }
    for kv in items[1..].chunks(2) {
        let opt = kv[0]
            .as_keyword()
            .map(|k| k.name().to_string())
            .or_else(|| kv[0].as_symbol().map(|s| s.name().to_string()))
            .unwrap_or_default();
        match opt.as_str() {
            "as" => spec.key = kv[1].clone(),
            "limit" => spec.limit = limit_of(&kv[1], x)?,
            "default" => spec.default = Some(kv[1].clone()),
            "xform" => match fns.get(&kv[1]) {
                Some(f) => spec.xform = Some(Xform(f)),
                None => {
                    return Err(Error::Invalid(format!(
                        "bad pull pattern {x}: unknown :xform function {} (register it in the PullFns given to pull_with)",
                        kv[1]
                    )))
                }
            },
            _ => return Err(bad(x, "unknown attribute option")),
        }
    }
    Ok(spec)
}

fn limit_of(v: &Edn, x: &Edn) -> Result<Option<usize>> {
    match v {
        Edn::Nil => Ok(None),
        Edn::Long(n) if *n >= 0 => Ok(Some(*n as usize)),
        _ => Err(bad(x, ":limit takes a non-negative number or nil")),
    }
}

pub(super) fn parse(p: &Edn, fns: &PullFns) -> Result<Pattern> {
    let items = p.as_seq().ok_or_else(|| bad(p, "a pattern is a vector"))?;
    let mut out = Pattern::default();
    for x in items {
        if is_wildcard(x) {
            out.wildcard = true;
        } else if let Some(m) = x.as_map() {
            for (k, v) in m {
                let mut spec = spec_of(k, fns)?;
                spec.sub = match v {
                    Edn::Symbol(s) if s.namespace().is_none() && s.name() == "..." => {
                        Sub::Recurse(None)
                    }
                    Edn::Long(n) if *n >= 0 => Sub::Recurse(Some(*n as usize)),
                    v if v.as_seq().is_some() => Sub::Pattern(Rc::new(parse(v, fns)?)),
                    _ => return Err(bad(p, "a map spec's value is a pattern, ... or a depth")),
                };
                out.specs.push(spec);
            }
        } else {
            out.specs.push(spec_of(x, fns)?);
        }
    }
    Ok(out)
}
