//! Pull: DataScript/Datalevin pull patterns over a [`Db`] — `*`, attribute names,
//! `:db/id`, options `:as` `:limit` `:default` (and the legacy `(limit ..)`/`(default ..)`
//! forms), nested map specs, reverse refs `:ns/_attr`, recursion with `...` or a depth,
//! and component expansion. Each entity is expanded at most once per pull through
//! recursion or components: a repeated one comes back as `{:db/id n}`, so a pull's work is
//! bounded by the entities it reaches however the graph cycles. A deadline bounds it too.

mod batch;
mod columns;
mod pattern;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Instant;

use crate::db::{Db, View};
use crate::error::{Error, Result};
use crate::schema::{reverse_of, Attr};
use levin_edn::{Edn, Keyword};
use pattern::{parse, Pattern, Spec, Sub};
pub use pattern::{PullFns, XformFn};

fn wildcard() -> Rc<Pattern> {
    Rc::new(Pattern {
        wildcard: true,
        specs: vec![],
    })
}

fn id_map(e: u64) -> Edn {
    Edn::Map(vec![(Edn::kw("db", "id"), Edn::Long(e as i64))])
}

struct Puller<'a> {
    view: View<'a>,
    /// Entities already expanded (or being expanded) by recursion or as components in
    /// this pull. The root is not among them at first, so a cycle back to it expands it
    /// once more (as DataScript and Datalevin do), then never again.
    seen: RefCell<HashSet<u64>>,
    deadline: Option<Instant>,
    /// Entities read so far, to check the deadline every so often.
    reads: Cell<u64>,
}

struct Ctx {
    depth: HashMap<Keyword, usize>,
}

impl Puller<'_> {
    /// Counts one entity read, failing once the deadline has passed (looked at every 64
    /// reads: the clock costs more than a read).
    fn tick(&self) -> Result<()> {
        if let Some(d) = self.deadline {
            let n = self.reads.get().wrapping_add(1);
            self.reads.set(n);
            if n.is_multiple_of(64) && Instant::now() > d {
                return Err(timeout());
            }
        }
        Ok(())
    }

    fn entity(&self, e: u64, pat: &Rc<Pattern>, ctx: &Ctx) -> Result<Edn> {
        self.tick()?;
        // A wildcard, or a pattern naming many attributes, reads the whole entity at once;
        // a pattern naming a few reads just those attributes (one seek each), so the
        // entity's other values are never decoded.
        let forward_specs = pat
            .specs
            .iter()
            .filter(|s| !s.attr.is("db", "id") && reverse_of(&s.attr).is_none())
            .count();
        let read_whole = pat.wildcard || forward_specs > FEW_ATTRIBUTES;
        let mut groups: Vec<(&Attr, Vec<Edn>)> = Vec::new();
        if read_whole {
            for (a, v) in self.view.entity_datoms(e)? {
                match groups.last_mut() {
                    Some((b, vs)) if b.id == a.id => vs.push(v),
                    _ => groups.push((a, vec![v])),
                }
            }
        }
        let mut out: Vec<(Edn, Edn)> = Vec::new();
        if pat.wildcard {
            let explicit: HashSet<&Keyword> = pat.specs.iter().map(|s| &s.attr).collect();
            out.push((Edn::kw("db", "id"), Edn::Long(e as i64)));
            for (a, vs) in &groups {
                if explicit.contains(&a.ident) {
                    continue;
                }
                let spec = Spec {
                    attr: a.ident.clone(),
                    key: Edn::Keyword(a.ident.clone()),
                    limit: None,
                    default: None,
                    sub: Sub::None,
                    xform: None,
                };
                if let Some(v) = self.forward(a, vs.clone(), &spec, pat, ctx)? {
                    out.push((spec.key, v));
                }
            }
        }
        for spec in &pat.specs {
            if spec.attr.is("db", "id") {
                if !out.iter().any(|(k, _)| *k == spec.key) {
                    out.push((spec.key.clone(), Edn::Long(e as i64)));
                }
                continue;
            }
            let v = if let Some(fwd) = reverse_of(&spec.attr) {
                match self.view.attr(&fwd).filter(|a| a.is_ref()) {
                    Some(a) => self.reverse(e, a, spec, pat, ctx)?,
                    None => None,
                }
            } else if read_whole {
                match groups.iter().find(|(a, _)| a.ident == spec.attr) {
                    Some((a, vs)) => self.forward(a, vs.clone(), spec, pat, ctx)?,
                    None => None,
                }
            } else {
                match self.view.attr(&spec.attr) {
                    Some(a) => {
                        let vs = self.view.values(e, a)?;
                        if vs.is_empty() {
                            None
                        } else {
                            self.forward(a, vs, spec, pat, ctx)?
                        }
                    }
                    None => None,
                }
            };
            push_value(&mut out, spec, v);
        }
        if out.is_empty() {
            return Ok(Edn::Nil);
        }
        Ok(Edn::Map(out))
    }

    /// The value of one ref target under `spec`; `None` to leave it out (a target its
    /// sub-pattern or recursion finds nothing in).
    fn target(
        &self,
        x: u64,
        a: &Attr,
        spec: &Spec,
        pat: &Rc<Pattern>,
        ctx: &Ctx,
    ) -> Result<Option<Edn>> {
        match &spec.sub {
            Sub::Pattern(p) => {
                // A target the sub-pattern finds nothing in is left out (as in Datalevin).
                let v = self.entity(x, p, ctx)?;
                Ok((!v.is_nil()).then_some(v))
            }
            Sub::Recurse(_) => {
                if !self.seen.borrow_mut().insert(x) {
                    return Ok(Some(id_map(x)));
                }
                let mut depth = ctx.depth.clone();
                *depth.entry(spec.attr.clone()).or_default() += 1;
                let v = self.entity(x, pat, &Ctx { depth })?;
                Ok((!v.is_nil()).then_some(v))
            }
            Sub::None if a.is_component && reverse_of(&spec.attr).is_none() => {
                if !self.seen.borrow_mut().insert(x) {
                    return Ok(Some(id_map(x)));
                }
                let v = self.entity(x, &wildcard(), ctx)?;
                Ok(Some(if v.is_nil() { id_map(x) } else { v }))
            }
            Sub::None => Ok(Some(id_map(x))),
        }
    }

    /// The values of ref targets `xs` under `spec`, at most `limit` of them. The limit
    /// counts the values kept: a target left out (its sub-pattern finds nothing in it) does
    /// not use up a place, as in Datalevin.
    fn targets(
        &self,
        xs: impl Iterator<Item = u64>,
        limit: Option<usize>,
        a: &Attr,
        spec: &Spec,
        pat: &Rc<Pattern>,
        ctx: &Ctx,
    ) -> Result<Vec<Edn>> {
        let mut out = Vec::new();
        for x in xs {
            if limit.is_some_and(|n| out.len() >= n) {
                break;
            }
            if let Some(t) = self.target(x, a, spec, pat, ctx)? {
                out.push(t);
            }
        }
        Ok(out)
    }

    fn exhausted(&self, spec: &Spec, ctx: &Ctx) -> bool {
        match spec.sub {
            Sub::Recurse(Some(n)) => ctx.depth.get(&spec.attr).copied().unwrap_or(0) >= n,
            _ => false,
        }
    }

    fn forward(
        &self,
        a: &Attr,
        mut vs: Vec<Edn>,
        spec: &Spec,
        pat: &Rc<Pattern>,
        ctx: &Ctx,
    ) -> Result<Option<Edn>> {
        if self.exhausted(spec, ctx) {
            return Ok(None);
        }
        let limit = spec.limit.filter(|_| a.is_many());
        if a.is_ref() {
            let targets = vs.iter().map(|v| v.as_long().unwrap_or(0) as u64);
            vs = self.targets(targets, limit, a, spec, pat, ctx)?;
        } else if let Some(n) = limit {
            vs.truncate(n);
        }
        if vs.is_empty() {
            return Ok(None);
        }
        Ok(Some(if a.is_many() {
            Edn::Vector(vs)
        } else {
            vs.swap_remove(0)
        }))
    }

    fn reverse(
        &self,
        e: u64,
        a: &Attr,
        spec: &Spec,
        pat: &Rc<Pattern>,
        ctx: &Ctx,
    ) -> Result<Option<Edn>> {
        if self.exhausted(spec, ctx) {
            return Ok(None);
        }
        let es = self.view.referrers(e, a)?;
        let mut out = self.targets(es.into_iter(), spec.limit, a, spec, pat, ctx)?;
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(if a.is_component {
            out.swap_remove(0)
        } else {
            Edn::Vector(out)
        }))
    }
}

/// Pulls `pattern` for the entity `id` (an entity id, lookup ref or ident); `Edn::Nil`
/// when the entity does not exist or nothing in the pattern matches.
pub fn pull(db: &Db, pattern: &Edn, id: &Edn) -> Result<Edn> {
    pull_until(db, pattern, id, None)
}

/// [`pull`] that fails with [`Error::Timeout`] once `deadline` has passed.
pub fn pull_until(db: &Db, pattern: &Edn, id: &Edn, deadline: Option<Instant>) -> Result<Edn> {
    let pat = Rc::new(parse(pattern, &PullFns::default())?);
    pull_parsed(db, &pat, id, deadline)
}

/// [`pull`] whose pattern may name the functions of `fns` in `:xform`.
pub fn pull_with(db: &Db, pattern: &Edn, id: &Edn, fns: &PullFns) -> Result<Edn> {
    let pat = Rc::new(parse(pattern, fns)?);
    pull_parsed(db, &pat, id, None)
}

fn pull_parsed(db: &Db, pat: &Rc<Pattern>, id: &Edn, deadline: Option<Instant>) -> Result<Edn> {
    let Some(e) = db.entid(id)? else {
        return Ok(Edn::Nil);
    };
    let p = Puller {
        view: db.view(),
        seen: RefCell::new(HashSet::new()),
        deadline,
        reads: Cell::new(0),
    };
    let ctx = Ctx {
        depth: HashMap::new(),
    };
    let v = p.entity(e, pat, &ctx)?;
    // An entity without datoms pulls as nil even when the pattern asks for :db/id. Only a
    // result holding nothing but the id can be that case, so only then are the entity's
    // datoms looked at (most pulls read the entity once).
    if only_id(pat, &v) && p.view.entity_datoms(e)?.is_empty() {
        return Ok(Edn::Nil);
    }
    Ok(v)
}

fn timeout() -> Error {
    Error::Timeout("pull ran past the deadline (the query's :timeout)".into())
}

/// Whether `v`, a root entity's result, is a map holding nothing but the entity's id: what
/// an entity without datoms gives for a pattern that asks for `:db/id`.
fn only_id(pat: &Pattern, v: &Edn) -> bool {
    let Edn::Map(m) = v else {
        return false;
    };
    m.iter().all(|(k, _)| {
        pat.specs
            .iter()
            .any(|s| s.key == *k && s.attr.is("db", "id"))
            || k.is_kw("db", "id")
    })
}

/// Up to this many attributes named in a pattern are read one seek each; more, and the
/// whole entity is read at once (a seek costs about as much as decoding a few values).
const FEW_ATTRIBUTES: usize = 3;

/// A pull pattern parsed once (its attributes resolved, its `:xform` functions looked up),
/// to pull many entities with it: what a query does for each row of `(pull ?e pattern)`.
#[derive(Debug, Clone)]
pub struct PullPattern(Rc<Pattern>);

impl PullPattern {
    /// Parses `pattern`; its `:xform` may name the functions of `fns`.
    pub fn parse(pattern: &Edn, fns: &PullFns) -> Result<PullPattern> {
        Ok(PullPattern(Rc::new(parse(pattern, fns)?)))
    }

    /// Pulls this pattern for the entity `id`, failing with [`Error::Timeout`] once
    /// `deadline` has passed; as [`pull`] otherwise.
    pub fn pull(&self, db: &Db, id: &Edn, deadline: Option<Instant>) -> Result<Edn> {
        pull_parsed(db, &self.0, id, deadline)
    }

    /// Pulls this pattern for each of `ids`, in order: what [`pull`](Self::pull) gives for
    /// each. A pattern without recursion, wildcards or component expansion is pulled for
    /// all of them at once, level by level, each distinct entity of a level read once.
    pub fn pull_many(&self, db: &Db, ids: &[Edn], deadline: Option<Instant>) -> Result<Vec<Edn>> {
        let view = db.view();
        if !batch::batchable(&self.0, &view) {
            // Each pull looks at the clock only every so many reads, so a long run of small
            // pulls looks at it between them too.
            return ids
                .iter()
                .map(|id| {
                    if deadline.is_some_and(|d| Instant::now() > d) {
                        return Err(timeout());
                    }
                    pull_parsed(db, &self.0, id, deadline)
                })
                .collect();
        }
        let eids: Vec<Option<u64>> = ids.iter().map(|id| db.entid(id)).collect::<Result<_>>()?;
        let present: Vec<u64> = eids.iter().flatten().copied().collect();
        let p = Puller {
            view,
            seen: RefCell::new(HashSet::new()),
            deadline,
            reads: Cell::new(0),
        };
        let mut got = p.batch(&present, &self.0, true)?.into_iter();
        Ok(eids
            .iter()
            .map(|e| match e {
                Some(_) => got.next().unwrap_or(Edn::Nil),
                None => Edn::Nil,
            })
            .collect())
    }
}

/// Pulls `pattern` for each of `ids`, in order.
pub fn pull_many(db: &Db, pattern: &Edn, ids: &[Edn]) -> Result<Vec<Edn>> {
    pull_many_with(db, pattern, ids, &PullFns::default())
}

/// [`pull_many`] whose pattern may name the functions of `fns` in `:xform`.
pub fn pull_many_with(db: &Db, pattern: &Edn, ids: &[Edn], fns: &PullFns) -> Result<Vec<Edn>> {
    PullPattern::parse(pattern, fns)?.pull_many(db, ids, None)
}

/// Adds an attribute's value to a pulled map under `spec`'s key, after its `:default` (for
/// `None`: the entity has no value) and its `:xform`; a value that ends up nil is left out.
#[inline]
fn push_value(out: &mut Vec<(Edn, Edn)>, spec: &Spec, v: Option<Edn>) {
    if spec.default.is_none() && spec.xform.is_none() {
        // The common case: the value as it is, moved once.
        if let Some(v) = v.filter(|v| !v.is_nil()) {
            out.push((spec.key.clone(), v));
        }
        return;
    }
    push_value_with(out, spec, v);
}

/// [`push_value`] for a spec with a `:default` or an `:xform`.
fn push_value_with(out: &mut Vec<(Edn, Edn)>, spec: &Spec, v: Option<Edn>) {
    let v = match (v, &spec.default, &spec.xform) {
        (Some(v), _, Some(f)) => Some((f.0)(&v)),
        (Some(v), _, None) => Some(v),
        (None, Some(d), _) => Some(d.clone()),
        (None, None, Some(f)) => Some((f.0)(&Edn::Nil)),
        (None, None, None) => None,
    };
    match v {
        Some(v) if !v.is_nil() => out.push((spec.key.clone(), v)),
        _ => {}
    }
}
