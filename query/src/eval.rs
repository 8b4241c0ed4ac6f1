//! Execution: relations of variable bindings threaded through the `:where` clauses in the
//! order the planner picks, index lookups for patterns, filters, functions, `not`, `or`,
//! rule calls (see `rules.rs`).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;

use levin_datalog::{Datom, Db, Index};
use levin_edn::{Edn, Keyword};

use crate::ast::*;
use crate::error::{ErrorKind, QResult, QueryError};
use crate::explain::Step;
use crate::fds::Deps;
use crate::functions::{call_builtin, truthy, FnError, Registry};
use crate::plan::{self, Choice};
use crate::stats::Stats;
use levin_datalog::scan;

/// A row of values, one per variable of its relation.
pub type Row = Vec<Edn>;

/// A relation: variables and rows of their values.
#[derive(Debug, Clone, Default)]
pub struct Rel {
    /// Column names.
    pub vars: Vec<Var>,
    /// Rows.
    pub rows: Vec<Row>,
    /// True when no two rows are equal, known from how the rows were made (a scan of
    /// distinct datoms, a filter or an extension of distinct rows): deduplication can be
    /// skipped. False says nothing.
    pub distinct: bool,
}

impl Rel {
    /// One empty row: the identity of join.
    pub fn unit() -> Rel {
        Rel {
            vars: vec![],
            rows: vec![vec![]],
            distinct: true,
        }
    }

    /// Column of `v`.
    pub fn col(&self, v: &str) -> Option<usize> {
        self.vars.iter().position(|x| x == v)
    }

    /// Keeps the columns `vars` (a subsequence of this relation's variables, in order) and
    /// deduplicates the rows, consuming the relation; columns are removed in place.
    pub fn project_distinct(self, vars: &[Var]) -> Rel {
        let was_distinct = self.distinct;
        let dropped: Vec<usize> = (0..self.vars.len())
            .filter(|&c| !vars.contains(&self.vars[c]))
            .collect();
        // Dropping only columns that hold one value throughout (an input scalar, a
        // constant-bound variable) cannot make two distinct rows equal: no deduplication.
        let constant_drops = self.rows.first().is_some_and(|first| {
            dropped
                .iter()
                .all(|&c| self.rows.iter().all(|r| r[c] == first[c]))
        });
        let mut rel = self.project_only(vars);
        if !constant_drops {
            rel.rows = distinct(rel.rows);
        }
        rel.distinct = was_distinct || !constant_drops;
        rel
    }

    /// Keeps the columns `vars` (a subsequence of this relation's variables, in order),
    /// removing the others in place; rows that become equal are kept.
    pub fn project_only(self, vars: &[Var]) -> Rel {
        let dropped: Vec<usize> = (0..self.vars.len())
            .filter(|&c| !vars.contains(&self.vars[c]))
            .collect();
        let mut rows = self.rows;
        for r in &mut rows {
            for &c in dropped.iter().rev() {
                r.remove(c);
            }
        }
        let vars = self
            .vars
            .into_iter()
            .enumerate()
            .filter(|(c, _)| !dropped.contains(c))
            .map(|(_, v)| v)
            .collect();
        Rel {
            vars,
            rows,
            distinct: false,
        }
    }

    /// Distinct rows over `vars` (all must be columns).
    pub fn project(&self, vars: &[Var]) -> Rel {
        let cols: Vec<usize> = vars.iter().filter_map(|v| self.col(v)).collect();
        let mut seen = HashSet::default();
        let mut rows = vec![];
        for r in &self.rows {
            let k: Row = cols.iter().map(|&c| r[c].clone()).collect();
            if seen.insert(k.clone()) {
                rows.push(k);
            }
        }
        Rel {
            vars: cols.iter().map(|&c| self.vars[c].clone()).collect(),
            rows,
            distinct: true,
        }
    }

    /// Natural (hash) join on the shared variables, under `ctx`'s row limit and deadline.
    pub fn join(self, other: Rel, ctx: &Ctx<'_>) -> QResult<Rel> {
        self.join_spare(other, 0, ctx)
    }

    /// [`join`](Self::join), each output row with room for `spare` more columns.
    pub fn join_spare(self, other: Rel, spare: usize, ctx: &Ctx<'_>) -> QResult<Rel> {
        let slots: Vec<Slot> = other
            .vars
            .iter()
            .enumerate()
            .map(|(j, v)| {
                if let Some(i) = self.col(v) {
                    return Slot::Key(i);
                }
                match other.vars[..j].iter().position(|x| x == v) {
                    Some(k) => Slot::Same(k),
                    None => Slot::New,
                }
            })
            .collect();
        let mut vars = self.vars.clone();
        for (j, s) in slots.iter().enumerate() {
            if matches!(s, Slot::New) {
                vars.push(other.vars[j].clone());
            }
        }
        let rows = hash_join(&self.rows, &other.rows, &slots, spare, ctx)?;
        // Two equal output rows come from the same left row (its columns come first) and
        // from right rows equal in every column (keys and repeats equal left or own
        // columns, the rest are copied): distinct inputs give distinct outputs.
        Ok(Rel {
            vars,
            rows,
            distinct: self.distinct && other.distinct,
        })
    }
}

/// How a column of the right side of a join is used.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// Must equal the left row's column `i` (a join key).
    Key(usize),
    /// Must equal this row's own earlier column `k` (a repeated variable).
    Same(usize),
    /// Must equal the constant.
    Const(Edn),
    /// Appended to the output row (a new variable).
    New,
    /// Ignored (`_`).
    Skip,
}

/// Joins `left` rows with the `right` tuples that pass their `slots`: each output row is the
/// left row followed by the right tuple's `New` columns. The right side is indexed by its
/// key columns in a hash table of row numbers (no key vectors are built); tuples shorter
/// than `slots` never match. Output rows have room for `spare` more columns.
pub fn hash_join(
    left: &[Row],
    right: &[Row],
    slots: &[Slot],
    spare: usize,
    ctx: &Ctx<'_>,
) -> QResult<Vec<Row>> {
    use std::hash::BuildHasher;
    let keys: Vec<(usize, usize)> = slots
        .iter()
        .enumerate()
        .filter_map(|(j, s)| match s {
            Slot::Key(i) => Some((*i, j)),
            _ => None,
        })
        .collect();
    let news: Vec<usize> = (0..slots.len())
        .filter(|&j| slots[j] == Slot::New)
        .collect();
    let limit = ctx.rows_within(left.first().map_or(0, Vec::len) + news.len());
    let passes = |t: &Row| -> bool {
        t.len() >= slots.len()
            && slots.iter().enumerate().all(|(j, s)| match s {
                Slot::Same(k) => t[j] == t[*k],
                Slot::Const(c) => t[j] == *c,
                _ => true,
            })
    };
    let extend = |l: &Row, t: &Row| -> Row {
        let mut row = Vec::with_capacity(l.len() + news.len() + spare);
        row.extend(l.iter().cloned());
        row.extend(news.iter().map(|&j| t[j].clone()));
        row
    };
    if keys.is_empty() {
        // A cross product: no table (every key would hash alike).
        let kept: Vec<&Row> = right.iter().filter(|t| passes(t)).collect();
        let n = left.len().saturating_mul(kept.len());
        if n > limit {
            return Err(too_large(n, limit));
        }
        let mut out = Vec::with_capacity(n);
        for l in left {
            ctx.tick()?;
            out.extend(kept.iter().map(|t| extend(l, t)));
        }
        return Ok(out);
    }
    let hasher = rustc_hash::FxBuildHasher;
    let key_hash = |cells: &mut dyn Iterator<Item = &Edn>| -> u64 {
        let mut h = 0u64;
        for c in cells {
            h = h.rotate_left(5) ^ hasher.hash_one(c);
        }
        h
    };
    let mut table: hashbrown::HashTable<usize> = hashbrown::HashTable::new();
    let mut kept = 0usize;
    for (n, t) in right.iter().enumerate() {
        if passes(t) {
            let h = key_hash(&mut keys.iter().map(|&(_, j)| &t[j]));
            table.insert_unique(h, n, |&m| {
                key_hash(&mut keys.iter().map(|&(_, j)| &right[m][j]))
            });
            kept += 1;
        }
    }
    let mut out = Vec::with_capacity(left.len().max(kept));
    for l in left {
        ctx.tick()?;
        let h = key_hash(&mut keys.iter().map(|&(i, _)| &l[i]));
        for &m in table.iter_hash(h) {
            let t = &right[m];
            if keys.iter().all(|&(i, j)| l[i] == t[j]) {
                if out.len() >= limit {
                    return Err(too_large(out.len() + 1, limit));
                }
                out.push(extend(l, t));
            }
        }
    }
    Ok(out)
}

/// Bytes a row takes besides its values: the vector's header and the allocator's
/// bookkeeping, and the row's slot in its relation.
const ROW_OVERHEAD: usize = 64;

/// The error for an intermediate result of more than `limit` rows.
pub fn too_large(rows: usize, limit: usize) -> QueryError {
    QueryError::new(
        ErrorKind::TooLarge,
        format!(
            "an intermediate result reached {rows} rows, over the limit of {limit} \
             (:max-rows, Registry::max_rows, or as many as fit Registry::max_memory); add \
             clauses that bind fewer rows, or raise the limit"
        ),
    )
}

/// A data source.
pub enum Source<'a> {
    /// A database snapshot.
    Db(&'a Db<'a>),
    /// A collection of tuples.
    Coll(Vec<Row>),
}

/// Rule relations fixed for one evaluation (semi-naive deltas and full relations).
pub type Fixed = HashMap<String, FixedRows>;

/// The rows a rule name stands for in one fixpoint round: `rows[from..]` (a round's delta
/// is the tail its member's list grew by, shared rather than copied).
#[derive(Debug, Clone)]
pub struct FixedRows {
    /// The list.
    pub rows: Rc<Vec<Row>>,
    /// Where the rows meant begin.
    pub from: usize,
}

impl FixedRows {
    /// All of `rows`.
    pub fn all(rows: Rc<Vec<Row>>) -> FixedRows {
        FixedRows { rows, from: 0 }
    }

    /// The rows meant.
    pub fn slice(&self) -> &[Row] {
        &self.rows[self.from..]
    }
}

/// Everything a query's execution needs.
pub struct Ctx<'a> {
    /// Named sources.
    pub sources: HashMap<String, Source<'a>>,
    /// Rules by name.
    pub rules: HashMap<String, Vec<Rule>>,
    /// Recursive rules: name -> its strongly connected component.
    pub sccs: HashMap<String, Vec<String>>,
    /// Recursive rules evaluated for exactly one call (see [`rules::single_use`]): their
    /// rows are handed to that call instead of being kept for others.
    ///
    /// [`rules::single_use`]: crate::rules::single_use
    pub single_use: HashSet<String>,
    /// Functions and aggregates.
    pub reg: &'a Registry,
    /// When to give up, and the timeout in ms.
    pub deadline: Option<(Instant, u64)>,
    /// The most rows any intermediate result may hold (the query's `:max-rows`, else
    /// [`Registry::row_limit`]).
    pub row_limit: usize,
    /// Fixpoints of recursive rules computed so far.
    pub rule_cache: RefCell<HashMap<String, Rc<Vec<Row>>>>,
    /// Steps of the top-level `:where`, for explain.
    pub steps: RefCell<Vec<Step>>,
    /// Scalar inputs (for pull patterns passed as inputs).
    pub scalars: HashMap<Var, Edn>,
    /// Functions passed as inputs ([`crate::Input::Fn`]), by variable.
    pub(crate) input_fns: HashMap<Var, crate::functions::UserFn>,
    /// What the planner knows of the databases' indexes.
    pub(crate) stats: Stats,
    /// How many fixpoints are being computed (nested through rule calls); scans are
    /// kept in `scans` only while one is.
    pub(crate) fixpoint_depth: Cell<u32>,
    /// Rows of patterns read from the unit row during fixpoints (see `ave_pattern`).
    scans: RefCell<HashMap<ScanKey, Rc<Vec<Row>>>>,
    /// Positions in its pending clauses of those the step being applied has applied in
    /// full (see `prefilter`), for `eval_clauses` to drop: it clears this before each
    /// step and takes it right after (`pattern`, the only writer, nests no evaluation).
    applied: RefCell<Vec<usize>>,
    ticks: Cell<u32>,
}

/// A merge scan's bound values as numbers: per entity and variable a range of `arena`, whose
/// entries number `values`. With `one_per_value`, equal numbers of a variable are exactly
/// its equal values; otherwise each number is a value of its own.
#[derive(Clone, Copy)]
struct Numbered<'a> {
    arena: &'a [u32],
    values: &'a [Edn],
    one_per_value: bool,
}

/// What a pattern read from the unit row depends on: its source, attribute, value term
/// and value range.
#[derive(PartialEq, Eq, Hash)]
struct ScanKey {
    src: String,
    attr: u32,
    value: ScanValue,
    range: Option<(Option<Edn>, Option<Edn>)>,
}

/// The value term of a [`ScanKey`]'s pattern.
#[derive(PartialEq, Eq, Hash)]
enum ScanValue {
    Const(Edn),
    /// A variable other than the entity's.
    Var,
    Blank,
}

/// How many variables the `pending` clauses will add to `cur`'s beyond those of `c`: the
/// room worth leaving in the rows `c` builds.
fn later_vars(cur: &Rel, c: &Clause, pending: &[&Clause]) -> usize {
    let mut now: Vec<Var> = vec![];
    c.vars(&mut now);
    let mut later: Vec<Var> = vec![];
    pending.iter().for_each(|c| c.vars(&mut later));
    later.sort_unstable();
    later.dedup();
    later
        .iter()
        .filter(|v| cur.col(v).is_none() && !now.contains(v))
        .count()
}

/// The largest scan kept for a fixpoint's later rounds: a bound on the memory held.
const SCAN_CACHE_ROWS: usize = 1 << 16;

impl<'a> Ctx<'a> {
    /// A context.
    pub fn new(reg: &'a Registry, timeout_ms: Option<u64>) -> Ctx<'a> {
        Ctx {
            sources: HashMap::default(),
            rules: HashMap::default(),
            sccs: HashMap::default(),
            single_use: HashSet::default(),
            reg,
            deadline: timeout_ms.map(|ms| {
                let now = Instant::now();
                let far = now + std::time::Duration::from_secs(100 * 365 * 86_400);
                (
                    now.checked_add(std::time::Duration::from_millis(ms))
                        .unwrap_or(far),
                    ms,
                )
            }),
            row_limit: reg.row_limit(),
            rule_cache: RefCell::new(HashMap::default()),
            steps: RefCell::new(vec![]),
            scalars: HashMap::default(),
            input_fns: HashMap::default(),
            stats: Stats::default(),
            fixpoint_depth: Cell::new(0),
            scans: RefCell::new(HashMap::default()),
            applied: RefCell::new(vec![]),
            ticks: Cell::new(0),
        }
    }

    /// Checks the deadline every so often.
    #[inline]
    pub fn tick(&self) -> QResult<()> {
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if t.is_multiple_of(256) {
            self.check_time()?;
        }
        Ok(())
    }

    /// Fails when a relation of rows `width` values wide being built already holds the
    /// row limit, or rows enough to pass the memory limit (or the deadline has passed:
    /// this runs once per row built).
    #[inline(always)]
    pub fn check_rows(&self, n: usize, width: usize) -> QResult<()> {
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        // A multiplication, not `rows_within`'s division: this runs once per row.
        let per_row = ROW_OVERHEAD + width * std::mem::size_of::<Edn>();
        if t.is_multiple_of(256)
            || n >= self.row_limit
            || n.saturating_mul(per_row) >= self.reg.memory_limit()
        {
            return self.check_rows_slow(t, n, width);
        }
        Ok(())
    }

    /// [`check_rows`](Self::check_rows) once it has found the clock due or a limit reached:
    /// the clock first, as [`tick`](Self::tick) looks at it.
    #[cold]
    #[inline(never)]
    fn check_rows_slow(&self, ticks: u32, n: usize, width: usize) -> QResult<()> {
        if ticks.is_multiple_of(256) {
            self.check_time()?;
        }
        let per_row = ROW_OVERHEAD + width * std::mem::size_of::<Edn>();
        if n >= self.row_limit || n.saturating_mul(per_row) >= self.reg.memory_limit() {
            return Err(too_large(n + 1, self.rows_within(width)));
        }
        Ok(())
    }

    /// The most rows `width` values wide a relation may hold: the row limit, or fewer when
    /// that many would pass the memory limit ([`Registry::max_memory`]).
    pub fn rows_within(&self, width: usize) -> usize {
        let per_row = ROW_OVERHEAD + width * std::mem::size_of::<Edn>();
        self.row_limit.min(self.reg.memory_limit() / per_row)
    }

    /// Checks the deadline now.
    pub fn check_time(&self) -> QResult<()> {
        if let Some((d, ms)) = self.deadline {
            if Instant::now() > d {
                return Err(QueryError::new(
                    ErrorKind::Timeout,
                    format!("query timed out after {ms} ms (:timeout)"),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn source(&self, name: &str, form: &Edn) -> QResult<&Source<'a>> {
        self.sources.get(name).ok_or_else(|| {
            QueryError::at(
                ErrorKind::Input,
                format!("unknown source {name} (is it in :in, and was a database passed?)"),
                form,
            )
        })
    }

    pub(crate) fn db(&self, name: &str, form: &Edn) -> QResult<&'a Db<'a>> {
        match self.source(name, form)? {
            Source::Db(d) => Ok(d),
            Source::Coll(_) => Err(QueryError::at(
                ErrorKind::Input,
                format!("source {name} is a collection, not a database"),
                form,
            )),
        }
    }

    /// Evaluates `clauses` starting from `cur`. `top` records explain steps.
    ///
    /// `keep` names the variables the caller reads from the result; after each step,
    /// variables neither kept nor used by a pending clause are projected away and the rows
    /// deduplicated (every caller treats the result as a set over the kept variables), so a
    /// join through a value does not carry the rows of the entities it came from.
    pub fn eval_clauses(
        &self,
        clauses: &[Clause],
        mut cur: Rel,
        fixed: &Fixed,
        top: bool,
        keep: &[Var],
    ) -> QResult<Rel> {
        let mut pending: Vec<&Clause> = clauses.iter().collect();
        let mut deps = Deps::default();
        // The top-level :where gets a join order by dynamic programming (rule bodies, run
        // once per fixpoint round, are planned greedily from actual sizes).
        let order = if top {
            plan::dp_order(self, &pending, &cur)?
        } else {
            None
        };
        while !pending.is_empty() {
            self.check_time()?;
            if cur.rows.is_empty() {
                // Nothing can come back; still bind the variables so find sees them.
                let mut vs = vec![];
                pending.iter().for_each(|c| c.vars(&mut vs));
                for v in vs {
                    if cur.col(&v).is_none() {
                        cur.vars.push(v);
                    }
                }
                return Ok(cur);
            }
            let choice = plan::choose(self, &pending, &cur, fixed, order.as_deref())?;
            let t0 = Instant::now();
            let Choice {
                index,
                estimate,
                strategy,
            } = choice;
            self.check_rows(cur.rows.len().saturating_sub(1), cur.vars.len())?;
            let clause = pending.remove(index);
            let mut strategy = strategy;
            let before: Vec<Var> = cur.vars.clone();
            let bound_before = |v: &Var| before.contains(v);
            cur = match self.take_entity_group(clause, &mut pending, &cur, order.as_deref()) {
                Some(group) => {
                    if let Some(Source::Db(db)) = self.sources.get(&group[0].0.src) {
                        for (p, _, _) in &group {
                            deps.learn(db, p, bound_before);
                        }
                    }
                    // When the step's projection would drop columns and deduplicate, the
                    // merge scan does both as it builds rows.
                    let mut needed: Vec<Var> = keep.to_vec();
                    pending.iter().for_each(|c| c.vars(&mut needed));
                    let mut out_vars = cur.vars.clone();
                    for (p, _, w) in &group {
                        if let (scan::Want::Bind, Term::Var(v)) = (w, &p.v) {
                            out_vars.push(v.clone());
                        }
                    }
                    let (kept, dropped): (Vec<Var>, Vec<Var>) =
                        out_vars.into_iter().partition(|v| needed.contains(v));
                    // Not when nothing is dropped, when the caller deduplicates (the last
                    // step of a body), or when the rows stay distinct without it.
                    let plain = dropped.is_empty()
                        || (!top && pending.is_empty())
                        || (cur.distinct && deps.fixed_by(&kept, &dropped));
                    let fuse = !plain;
                    let mut later: Vec<Var> = vec![];
                    pending.iter().for_each(|c| c.vars(&mut later));
                    later.sort_unstable();
                    later.dedup();
                    let spare = later
                        .iter()
                        .filter(|v| !bound_by_step(v, &cur, &group))
                        .count();
                    let (rel, how) =
                        self.entity_group(&group, cur, fuse.then_some(&needed[..]), spare)?;
                    strategy = format!(
                        "merge scan per entity ({}): {}",
                        match how {
                            scan::GroupRead::Ave => "each attribute's AVE entries",
                            _ => "each entity's EAV list",
                        },
                        group
                            .iter()
                            .map(|(p, _, _)| pattern_form(p).to_string())
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                    rel
                }
                None => {
                    if let Clause::Pattern(p) = clause {
                        if let Some(Source::Db(db)) = self.sources.get(&p.src) {
                            deps.learn(db, p, bound_before);
                        }
                    }
                    let semi = semi_join(clause, &cur, keep, &pending);
                    let mut needed: Vec<Var> = keep.to_vec();
                    pending.iter().for_each(|c| c.vars(&mut needed));
                    // Indices into `pending` as `apply` sees it; none left by a step
                    // that failed.
                    self.applied.borrow_mut().clear();
                    let rel = self.apply(clause, cur, fixed, &pending, semi, &needed)?;
                    let mut applied = std::mem::take(&mut *self.applied.borrow_mut());
                    applied.sort_unstable();
                    for &i in applied.iter().rev() {
                        strategy.push_str(&format!(
                            "; entities kept only where {} holds (no step of its own)",
                            clause_form(pending[i])
                        ));
                        pending.remove(i);
                    }
                    rel
                }
            };
            let mut needed: Vec<Var> = keep.to_vec();
            pending.iter().for_each(|c| c.vars(&mut needed));
            if cur.vars.iter().any(|v| !needed.contains(v)) {
                let vars: Vec<Var> = cur
                    .vars
                    .iter()
                    .filter(|v| needed.contains(v))
                    .cloned()
                    .collect();
                let dropped: Vec<Var> = cur
                    .vars
                    .iter()
                    .filter(|v| !needed.contains(v))
                    .cloned()
                    .collect();
                cur = if pending.is_empty() && !top {
                    // The last step of a rule body, `not` or `or` branch: its caller
                    // deduplicates what it keeps, so this projection need not.
                    cur.project_only(&vars)
                } else if cur.distinct && deps.fixed_by(&vars, &dropped) {
                    // Rows equal on the kept columns are equal on the dropped ones too:
                    // distinct rows stay distinct.
                    let mut rel = cur.project_only(&vars);
                    rel.distinct = true;
                    rel
                } else {
                    cur.project_distinct(&vars)
                };
            }
            if top {
                self.steps.borrow_mut().push(Step {
                    clause: clause_form(clause),
                    strategy,
                    estimated: estimate,
                    actual: cur.rows.len(),
                    time: t0.elapsed(),
                });
            }
        }
        Ok(cur)
    }

    /// `semi`: the clause is a pattern whose new variables nothing reads afterwards (see
    /// [`semi_join`]). `needed`: the variables read after this step (others may be left
    /// out of the result).
    fn apply(
        &self,
        c: &Clause,
        cur: Rel,
        fixed: &Fixed,
        pending: &[&Clause],
        semi: bool,
        needed: &[Var],
    ) -> QResult<Rel> {
        match c {
            Clause::Pattern(p) => self.pattern(p, cur, pending, semi),
            Clause::Pred { name, args, form } => self.pred(name, args, form, cur),
            Clause::Fn {
                name,
                args,
                binding,
                form,
            } => self.func(name, args, binding, form, cur),
            Clause::Not { vars, body, form } => self.not(vars.as_deref(), body, form, cur, fixed),
            Clause::Or {
                vars,
                branches,
                form,
                ..
            } => self.or(vars.as_deref(), branches, form, cur, fixed),
            Clause::RuleCall { name, args, form } => {
                let spare = later_vars(&cur, c, pending);
                self.rule_call(name, args, form, cur, fixed, spare, needed)
            }
        }
    }

    // ---- patterns ----------------------------------------------------------------------

    /// When `clause` is a pattern on an entity that is already bound (a bound variable or a
    /// constant) with a constant attribute, it and every pending pattern on the same entity
    /// that the merge scan can serve (constant attribute; value a new variable, `_` or a
    /// constant stored as itself) are taken out of `pending` to run as one pass over each
    /// entity's EAV list.
    ///
    /// A member that binds several values per entity multiplies the rows, so it joins the
    /// group only when the join `order` (if any) puts nothing else between `clause` and
    /// it: the clauses the order puts first then run on the fewer rows.
    fn take_entity_group<'c>(
        &self,
        clause: &'c Clause,
        pending: &mut Vec<&'c Clause>,
        cur: &Rel,
        order: Option<&[&Clause]>,
    ) -> Option<Vec<(&'c Pattern, u32, scan::Want)>> {
        let Clause::Pattern(p) = clause else {
            return None;
        };
        let Some(Source::Db(db)) = self.sources.get(&p.src) else {
            return None;
        };
        let entity_bound = match &p.e {
            Term::Var(v) => cur.col(v).is_some(),
            Term::Const(_) => true,
            Term::Blank => false,
        };
        if !entity_bound {
            return None;
        }
        let mut taken: Vec<Var> = vec![];
        let first = member_want(db, p, p, cur, &mut taken)?;
        let mut group = vec![(p, first.0, first.1)];
        let mut members = vec![];
        for (i, c) in pending.iter().enumerate() {
            if let Clause::Pattern(q) = c {
                if fans_out_later(db, (clause, p), (c, q), cur, order, pending) {
                    continue;
                }
                if let Some((aid, want)) = member_want(db, p, q, cur, &mut taken) {
                    group.push((q, aid, want));
                    members.push(i);
                }
            }
        }
        // With reads forced through EAV, a lookup per entity costs about two datoms of a
        // sequential scan plus a hash join (measured with the people benchmark): a lone
        // pattern whose attribute is small next to the rows is then scanned and hash-joined
        // instead (`pattern` picks that). Otherwise the merge scan reads such an attribute
        // through AVE (or few entities through EAV) and extends rows by entity position, with
        // no hashing of values: 3-4x cheaper than the hash join on 50,000 rows (orders data).
        if self.reg.entity_reads == scan::GroupRead::Eav && group.len() == 1 {
            let scanned = db
                .schema()
                .by_id(first.0)
                .and_then(|a| self.stats.attr_count(db, &a.ident).ok())
                .unwrap_or(u64::MAX);
            if (scanned as f64) < 2.0 * cur.rows.len() as f64 {
                return None;
            }
        }
        for i in members.into_iter().rev() {
            pending.remove(i);
        }
        Some(group)
    }

    /// Runs a merge-scan group: for each row, reads its entity's datoms once and extends
    /// the row with every combination of the bound values. With `project`, only the
    /// columns of those variables are kept, and each distinct row once (see
    /// [`project_group`](Self::project_group)).
    fn entity_group(
        &self,
        group: &[(&Pattern, u32, scan::Want)],
        cur: Rel,
        project: Option<&[Var]>,
        spare: usize,
    ) -> QResult<(Rel, scan::GroupRead)> {
        // Each row is extended with combinations of an entity's distinct values.
        let input_distinct = cur.distinct;
        let p = group[0].0;
        let form = pattern_form(p);
        let db = self.db(&p.src, &form)?;
        let wants: Vec<(u32, scan::Want)> = group.iter().map(|(_, a, w)| (*a, w.clone())).collect();
        let binds: Vec<usize> = (0..group.len())
            .filter(|&i| matches!(group[i].2, scan::Want::Bind))
            .collect();
        let mut vars = cur.vars.clone();
        for &i in &binds {
            if let Term::Var(v) = &group[i].0.v {
                vars.push(v.clone());
            }
        }
        let e_col = p.e.var().and_then(|v| cur.col(v));
        // Each distinct entity is read once, all of them in ascending id order with one
        // cursor (rows need not arrive grouped by entity: a value join repeats entities).
        // Bound values go to one arena: `spans` holds (start, count) per bound pattern.
        const NO_MATCH: u32 = u32::MAX;
        let mut row_eids: Vec<Option<u64>> = Vec::with_capacity(cur.rows.len());
        for row in &cur.rows {
            self.tick()?;
            let e = match (e_col, &p.e) {
                (Some(c), _) => &row[c],
                (None, Term::Const(c)) => c,
                _ => &Edn::Nil,
            };
            row_eids.push(entid(db, e)?);
        }
        let eids = scan::sorted_distinct(row_eids.iter().flatten().copied().collect());
        let index = scan::EidIndex::new(&eids);
        // Per entity (by position in `eids`): its entry number, and how many rows still
        // want it; the last of them takes the values out of the arena instead of cloning.
        let mut entries: Vec<u32> = vec![NO_MATCH; eids.len()];
        let mut uses: Vec<u32> = vec![0; eids.len()];
        let row_pos: Vec<Option<u32>> = row_eids
            .iter()
            .map(|e| {
                let i = index.get((*e)?)?;
                uses[i as usize] += 1;
                Some(i)
            })
            .collect();
        let mut spans: Vec<(u32, u32)> = Vec::with_capacity(eids.len() * binds.len());
        if let Some(needed) = project {
            // Rows the projection keeps are told apart by value numbers: a value is cloned
            // only into a row that is kept.
            let mut arena: Vec<u32> = Vec::with_capacity(eids.len() * binds.len());
            let (how, numbered) = db.entities_value_numbers::<QueryError>(
                &eids,
                &wants,
                self.reg.entity_reads,
                |i, numbers| {
                    let entry = (spans.len() / binds.len().max(1)) as u32;
                    for &b in &binds {
                        spans.push((arena.len() as u32, numbers[b].len() as u32));
                        arena.extend_from_slice(&numbers[b]);
                    }
                    entries[i] = entry;
                    Ok(())
                },
            )?;
            let spans_of = |pos: Option<u32>| -> Option<&[(u32, u32)]> {
                let entry = entries[pos? as usize];
                let first = entry as usize * binds.len();
                (entry != NO_MATCH).then(|| &spans[first..first + binds.len()])
            };
            let bind_vars: Vec<Var> = vars[cur.vars.len()..].to_vec();
            let bound = Numbered {
                arena: &arena,
                values: &numbered.values,
                one_per_value: numbered.one_per_value,
            };
            let rows = self.project_group(&cur, &bind_vars, needed, bound, spare, |n| {
                spans_of(row_pos[n])
            })?;
            let vars = vars.into_iter().filter(|v| needed.contains(v)).collect();
            return Ok((
                Rel {
                    vars,
                    rows,
                    distinct: true,
                },
                how,
            ));
        }
        let mut arena: Vec<Edn> = Vec::with_capacity(eids.len() * binds.len());
        let how =
            db.entities_values::<QueryError>(&eids, &wants, self.reg.entity_reads, |i, values| {
                let entry = (spans.len() / binds.len().max(1)) as u32;
                for &b in &binds {
                    spans.push((arena.len() as u32, values[b].len() as u32));
                    arena.append(&mut values[b]);
                }
                entries[i] = entry;
                Ok(())
            })?;
        let mut rows = Vec::with_capacity(cur.rows.len());
        for (row, pos) in cur.rows.into_iter().zip(row_pos) {
            self.tick()?;
            let Some(pos) = pos else {
                continue;
            };
            let entry = entries[pos as usize];
            if entry == NO_MATCH {
                continue;
            }
            uses[pos as usize] -= 1;
            let last_use = uses[pos as usize] == 0;
            let first = entry as usize * binds.len();
            let single = spans[first..first + binds.len()]
                .iter()
                .all(|&(_, n)| n == 1);
            if single {
                let mut row = row;
                row.reserve(binds.len() + spare);
                for &(start, _) in &spans[first..first + binds.len()] {
                    let v = &mut arena[start as usize];
                    row.push(if last_use {
                        std::mem::replace(v, Edn::Nil)
                    } else {
                        v.clone()
                    });
                }
                self.check_rows(rows.len(), row.len())?;
                rows.push(row);
                continue;
            }
            let vals: Vec<&[Edn]> = spans[first..first + binds.len()]
                .iter()
                .map(|&(start, n)| &arena[start as usize..(start + n) as usize])
                .collect();
            let mut partial = vec![row];
            for vs in vals {
                let mut next = Vec::with_capacity(partial.len() * vs.len());
                for r in &partial {
                    for v in vs {
                        let mut row = Vec::with_capacity(r.len() + binds.len() + spare);
                        row.extend_from_slice(r);
                        row.push(v.clone());
                        next.push(row);
                    }
                }
                partial = next;
            }
            self.check_rows(
                rows.len() + partial.len().saturating_sub(1),
                partial.first().map_or(0, Vec::len),
            )?;
            rows.extend(partial);
        }
        Ok((
            Rel {
                vars,
                rows,
                distinct: input_distinct,
            },
            how,
        ))
    }

    /// The distinct rows, over the `needed` columns, of a merge scan's output: each row `n`
    /// of `cur` extended with every combination of its bound values (`spans(n)`: per
    /// variable of `bind_vars`, a (start, count) range of `bound.arena`; `None` when its
    /// entity matched nothing). Candidates are hashed and compared by their input cells and
    /// value numbers, and only a new one is built, so the rows a projection would drop are
    /// never allocated.
    fn project_group<'s>(
        &self,
        cur: &Rel,
        bind_vars: &[Var],
        needed: &[Var],
        bound: Numbered<'_>,
        spare: usize,
        spans: impl Fn(usize) -> Option<&'s [(u32, u32)]>,
    ) -> QResult<Vec<Row>> {
        let cols: Vec<usize> = (0..cur.vars.len())
            .filter(|&c| needed.contains(&cur.vars[c]))
            .collect();
        let kept: Vec<usize> = (0..bind_vars.len())
            .filter(|&b| needed.contains(&bind_vars[b]))
            .collect();
        let width = cols.len() + kept.len();
        // A candidate is its input cells and its bound values' numbers: compared as numbers
        // when those number values one to one, else by the values numbered.
        let value = |n: &u32| &bound.values[*n as usize];
        let hash = |cells: &mut dyn Iterator<Item = &Edn>, numbers: &[u32]| {
            use std::hash::{Hash, Hasher};
            let mut h = rustc_hash::FxHasher::default();
            cells.for_each(|c| c.hash(&mut h));
            if bound.one_per_value {
                numbers.hash(&mut h);
            } else {
                numbers.iter().for_each(|n| value(n).hash(&mut h));
            }
            h.finish()
        };
        let same_numbers = |a: &[u32], b: &[u32]| {
            if bound.one_per_value {
                a == b
            } else {
                a.iter().map(value).eq(b.iter().map(value))
            }
        };
        // Sized for every combination (most are kept): growing the table would rehash
        // every row kept so far.
        let combinations: usize = (0..cur.rows.len())
            .filter_map(&spans)
            .map(|sp| kept.iter().map(|&b| sp[b].1 as usize).product::<usize>())
            .sum();
        let mut table: hashbrown::HashTable<usize> =
            hashbrown::HashTable::with_capacity(combinations);
        let mut out: Vec<Row> = Vec::with_capacity(combinations);
        // The value numbers of each row of `out`, `kept.len()` per row.
        let mut out_numbers: Vec<u32> = Vec::with_capacity(combinations * kept.len());
        let mut numbers: Vec<u32> = Vec::with_capacity(kept.len());
        // Per kept variable, the position within its range of the combination being built.
        let mut at: Vec<u32> = vec![0; kept.len()];
        let k = kept.len();
        for (n, row) in cur.rows.iter().enumerate() {
            self.tick()?;
            let Some(sp) = spans(n) else {
                continue;
            };
            // Every want of a reported entity has a value: each range holds one or more.
            at.iter_mut().for_each(|a| *a = 0);
            loop {
                numbers.clear();
                for (j, &b) in kept.iter().enumerate() {
                    numbers.push(bound.arena[(sp[b].0 + at[j]) as usize]);
                }
                let h = hash(&mut cols.iter().map(|&c| &row[c]), &numbers);
                let seen = table
                    .find(h, |&i| {
                        same_numbers(&out_numbers[i * k..(i + 1) * k], &numbers)
                            && out[i][..cols.len()]
                                .iter()
                                .eq(cols.iter().map(|&c| &row[c]))
                    })
                    .is_some();
                if !seen {
                    self.check_rows(out.len(), width)?;
                    table.insert_unique(h, out.len(), |&i| {
                        hash(
                            &mut out[i][..cols.len()].iter(),
                            &out_numbers[i * k..(i + 1) * k],
                        )
                    });
                    let mut new = Vec::with_capacity(width + spare);
                    new.extend(cols.iter().map(|&c| row[c].clone()));
                    new.extend(numbers.iter().map(|&v| bound.values[v as usize].clone()));
                    out.push(new);
                    out_numbers.extend_from_slice(&numbers);
                }
                // The next combination, the last variable fastest (as the unfused scan).
                let mut j = k;
                let done = loop {
                    if j == 0 {
                        break true;
                    }
                    j -= 1;
                    at[j] += 1;
                    if at[j] < sp[kept[j]].1 {
                        break false;
                    }
                    at[j] = 0;
                };
                if done {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Drops from `each` (per value, the entities a pattern binding the new entity
    /// variable `ev` found) those that a pending pattern `[ev :attr constant]` of the same
    /// source would drop, when that constant's entities are few next to the candidates
    /// (one counted range, then one AVE list read): the rows such a pattern removes are
    /// then never built. Every entity kept satisfies the pattern, which binds nothing, so
    /// it is noted in `applied` and needs no step of its own.
    fn prefilter(
        &self,
        db: &Db,
        p: &Pattern,
        ev: &Var,
        pending: &[&Clause],
        each: &mut [Vec<u64>],
    ) -> QResult<()> {
        let mut candidates: usize = each.iter().map(Vec::len).sum();
        for (i, c) in pending.iter().enumerate() {
            // Below a few hundred rows the pending pattern's own read costs less.
            if candidates < 256 {
                break;
            }
            let Clause::Pattern(q) = c else {
                continue;
            };
            if q.src != p.src || q.e.var() != Some(ev) || q.terms.len() > 3 {
                continue;
            }
            let (Term::Const(Edn::Keyword(k)), Term::Const(v)) = (&q.a, &q.v) else {
                continue;
            };
            let Some(attr) = db.schema().get(k) else {
                continue;
            };
            if !natural(attr.value_type, v) {
                continue;
            }
            let count = db.count_range(&attr.ident, Some(v), Some(v))?;
            if count > 2 * candidates as u64 {
                continue;
            }
            self.tick()?;
            let kept = db.entities_with(attr, v)?;
            let index = scan::EidIndex::new(&kept);
            for ids in each.iter_mut() {
                ids.retain(|&e| index.get(e).is_some());
            }
            candidates = each.iter().map(Vec::len).sum();
            self.applied.borrow_mut().push(i);
        }
        Ok(())
    }

    /// A pattern whose entity is a new variable and whose attribute is a constant, read
    /// straight from AVE: one list for a constant value, a (range) scan otherwise.
    fn ave_pattern(
        &self,
        db: &Db,
        p: &Pattern,
        cur: &Rel,
        range: Option<&(Option<Edn>, Option<Edn>)>,
        spare: usize,
    ) -> QResult<Option<Rel>> {
        let Term::Var(ev) = &p.e else {
            return Ok(None);
        };
        if cur.col(ev).is_some() || p.terms.len() > 3 {
            return Ok(None);
        }
        let Term::Const(Edn::Keyword(k)) = &p.a else {
            return Ok(None);
        };
        let Some(attr) = db.schema().get(k) else {
            return Ok(None);
        };
        let mut new_vars = vec![ev.clone()];
        // With a single input row (the usual case: the unit row, or input scalars), rows
        // are built with it as their prefix straight away.
        let prefix: &[Edn] = match cur.rows.as_slice() {
            [only] => only,
            _ => &[],
        };
        let single = cur.rows.len() == 1;
        let width = prefix.len() + 2 + spare;
        let start = |x: Edn| -> Vec<Edn> {
            let mut r = Vec::with_capacity(width);
            r.extend(prefix.iter().cloned());
            r.push(x);
            r
        };
        // Inside a fixpoint, a pattern read from the unit row gives the same rows in every
        // round (the database does not change during a query): they are kept after the first.
        let value = match &p.v {
            Term::Const(c) => Some(ScanValue::Const(c.clone())),
            Term::Var(x) if x != ev => Some(ScanValue::Var),
            Term::Blank => Some(ScanValue::Blank),
            _ => None,
        };
        let cache_key = value
            .filter(|_| self.fixpoint_depth.get() > 0 && cur.vars.is_empty() && single)
            .map(|value| ScanKey {
                src: p.src.clone(),
                attr: attr.id,
                value,
                range: range.cloned(),
            });
        if let Some(key) = &cache_key {
            if let Some(rows) = self.scans.borrow().get(key) {
                if let Term::Var(x) = &p.v {
                    new_vars.push(x.clone());
                }
                let rows = rows
                    .iter()
                    .map(|r| {
                        let mut row = Vec::with_capacity(width);
                        row.extend(r.iter().cloned());
                        row
                    })
                    .collect();
                return Ok(Some(Rel {
                    vars: new_vars,
                    rows,
                    distinct: true,
                }));
            }
        }
        let mut found: Vec<Vec<Edn>> = vec![];
        match &p.v {
            Term::Const(c) => {
                for e in db.entities_with(attr, c)? {
                    found.push(start(Edn::Long(e as i64)));
                }
            }
            Term::Var(x) if x != ev && cur.col(x).is_none() => {
                new_vars.push(x.clone());
                db.scan_attr::<QueryError>(attr, range, |v, e| {
                    self.tick()?;
                    let mut r = start(Edn::Long(e as i64));
                    r.push(v.clone());
                    found.push(r);
                    Ok(())
                })?;
            }
            Term::Blank => {
                self.tick()?;
                let eids = db.entities_having(attr)?;
                found.extend(eids.into_iter().map(|e| start(Edn::Long(e as i64))));
            }
            _ => return Ok(None),
        }
        if let Some(key) = cache_key {
            if found.len() <= SCAN_CACHE_ROWS {
                self.scans.borrow_mut().insert(key, Rc::new(found.clone()));
            }
        }
        let mut vars = cur.vars.clone();
        vars.extend(new_vars);
        let rows = if single {
            found
        } else {
            // A cross product: refuse it before allocating, as join does (the product of
            // two large relations does not fit in memory, and an allocation failure aborts
            // the whole process).
            let n = cur.rows.len().saturating_mul(found.len());
            let limit = self.row_limit;
            if n > limit {
                return Err(too_large(n, limit));
            }
            let mut rows = Vec::with_capacity(n);
            for r in &cur.rows {
                for f in &found {
                    let mut row = r.clone();
                    row.extend(f.iter().cloned());
                    self.check_rows(rows.len(), row.len())?;
                    rows.push(row);
                }
            }
            rows
        };
        Ok(Some(Rel {
            vars,
            rows,
            distinct: single || cur.distinct,
        }))
    }

    /// Appends to `out`, for each input row `rows[n]` of `ns`, that row extended by each of
    /// `extras` in turn: copies, except that the row itself is moved into its last use.
    /// With `semi`, the row itself, moved, when `extras` is not empty.
    /// Each row gets room for `spare` more columns (those later clauses add), so that
    /// extending it again does not reallocate.
    fn fan_out(
        &self,
        rows: &mut [Row],
        ns: &[usize],
        extras: &[&[Edn]],
        spare: usize,
        semi: bool,
        out: &mut Vec<Row>,
    ) -> QResult<()> {
        if semi {
            // A semi-join: the rows are kept once, as they are, when anything matched.
            if !extras.is_empty() {
                for &n in ns {
                    self.tick()?;
                    self.check_rows(out.len(), rows[n].len())?;
                    out.push(std::mem::take(&mut rows[n]));
                }
            }
            return Ok(());
        }
        for &n in ns {
            self.tick()?;
            for (j, extra) in extras.iter().enumerate() {
                let row = if j + 1 == extras.len() {
                    let mut row = std::mem::take(&mut rows[n]);
                    row.reserve(extra.len() + spare);
                    row.extend_from_slice(extra);
                    row
                } else {
                    let mut row = Vec::with_capacity(rows[n].len() + extra.len() + spare);
                    row.extend_from_slice(&rows[n]);
                    row.extend_from_slice(extra);
                    row
                };
                self.check_rows(out.len(), row.len())?;
                out.push(row);
            }
        }
        Ok(())
    }

    /// With `semi` (the pattern's new variables are read by nothing after it, each occurs
    /// once in it), the lookups per group of rows only test whether a match exists: rows
    /// with a match are kept as they are, unextended, instead of being copied once per
    /// match and projected back afterwards.
    fn pattern(&self, p: &Pattern, mut cur: Rel, pending: &[&Clause], semi: bool) -> QResult<Rel> {
        let form = pattern_form(p);
        match self.source(&p.src, &form)? {
            Source::Coll(rows) => {
                let rel = match_tuples(&p.terms, rows.iter());
                cur.join(rel, self)
            }
            Source::Db(db) => {
                if p.terms.len() > 3 && !matches!(p.terms[3], Term::Blank) {
                    return Err(QueryError::unsupported(format!(
                        "transaction ids in patterns ({form}): Levin keeps no tx in datoms"
                    )));
                }
                if p.terms.len() > 4 {
                    return Err(QueryError::at(
                        ErrorKind::Parse,
                        "a pattern has at most 4 elements",
                        &form,
                    ));
                }
                let range = plan::range_for(self, p, &cur, pending);
                // Room in each new row for the variables later clauses will add, so that
                // extending it does not reallocate.
                let mut later: Vec<Var> = vec![];
                pending.iter().for_each(|c| c.vars(&mut later));
                later.retain(|v| {
                    cur.col(v).is_none() && !p.terms.iter().any(|t| t.var() == Some(v))
                });
                later.dedup();
                if let Some(rel) = self.ave_pattern(db, p, &cur, range.as_ref(), later.len())? {
                    return Ok(rel);
                }
                let terms = [&p.e, &p.a, &p.v];
                // Bound columns of the pattern's variables.
                let bound: Vec<Option<usize>> = terms
                    .iter()
                    .map(|t| t.var().and_then(|v| cur.col(v)))
                    .collect();
                // New variables, in order, first occurrence.
                let mut new_vars: Vec<Var> = vec![];
                for t in terms {
                    if let Term::Var(v) = t {
                        if cur.col(v).is_none() && !new_vars.contains(v) {
                            new_vars.push(v.clone());
                        }
                    }
                }
                let consts: Vec<Option<Edn>> = terms
                    .iter()
                    .map(|t| match t {
                        Term::Const(c) => Some(c.clone()),
                        _ => None,
                    })
                    .collect();
                let mut vars = cur.vars.clone();
                if !semi {
                    vars.extend(new_vars.iter().cloned());
                }
                // Filtering distinct rows keeps them distinct, and so does extending each
                // with distinct tuples: the entities of one value, the values of one
                // entity's attribute, or the new variables' values of distinct datoms
                // (deduplicated below when a `_` hides a position).
                let out_distinct = cur.distinct;
                // Most steps keep about as many rows as they read: sized once, not doubled
                // (and copied) a dozen times.
                let mut out = Vec::with_capacity(cur.rows.len());
                // Group rows by the values of bound pattern variables: per group its
                // (e, a, v) key, copied once, and its rows' numbers, in order of appearance.
                let mut order: Vec<[Option<Edn>; 3]> = vec![];
                let mut members: Vec<Vec<usize>> = vec![];
                {
                    let mut index: HashMap<[Option<&Edn>; 3], usize> =
                        HashMap::with_capacity_and_hasher(cur.rows.len(), Default::default());
                    for (n, r) in cur.rows.iter().enumerate() {
                        let key: [Option<&Edn>; 3] =
                            std::array::from_fn(|i| bound[i].map(|c| &r[c]).or(consts[i].as_ref()));
                        match index.get(&key) {
                            Some(&g) => members[g].push(n),
                            None => {
                                index.insert(key, order.len());
                                order.push(key.map(|k| k.cloned()));
                                members.push(vec![n]);
                            }
                        }
                    }
                }
                // Many distinct lookups against a pattern that is small on its own: scan it
                // once and hash-join instead.
                // Only when bound values compare equal to stored ones as they are (entity
                // ids, not lookup refs; values of the attribute's own type).
                let attr_type = match &p.a {
                    Term::Const(Edn::Keyword(k)) => db.schema().get(k).map(|a| a.value_type),
                    _ => None,
                };
                let plain = order.iter().all(|k| {
                    k[0].as_ref().is_none_or(|e| matches!(e, Edn::Long(_)))
                        && k[2]
                            .as_ref()
                            .is_none_or(|v| natural(attr_type.flatten(), v))
                });
                if order.len() > 1 && plain {
                    if let Some(n) = plan::scan_count(self, db, p, range.as_ref())? {
                        if (n as f64) <= 8.0 * order.len() as f64 {
                            if let Some(all) = self.ave_pattern(db, p, &Rel::unit(), None, 0)? {
                                self.check_time()?;
                                return cur.join_spare(all, later.len(), self);
                            }
                            let datoms = db_match(
                                db,
                                consts[0].as_ref(),
                                consts[1].as_ref(),
                                consts[2].as_ref(),
                                range.as_ref(),
                            )?;
                            let mut all_vars: Vec<Var> = vec![];
                            for t in terms {
                                if let Term::Var(v) = t {
                                    if !all_vars.contains(v) {
                                        all_vars.push(v.clone());
                                    }
                                }
                            }
                            let mut rows = extend_rows(terms, &all_vars, &datoms);
                            let mut seen = HashSet::default();
                            rows.retain(|r| seen.insert(r.clone()));
                            self.check_time()?;
                            return cur.join(
                                Rel {
                                    vars: all_vars,
                                    rows,
                                    distinct: true,
                                },
                                self,
                            );
                        }
                    }
                }
                // Fast path: entity to bind, attribute constant, value known: the entities
                // of each distinct value from AVE.
                if let (Term::Var(ev), Term::Const(Edn::Keyword(k)), Some(_)) =
                    (&p.e, &p.a, bound[2])
                {
                    if let (None, Some(attr)) = (cur.col(ev), db.schema().get(k)) {
                        if p.e != p.v {
                            let mut rows = std::mem::take(&mut cur.rows);
                            // All the values' entities at once, with one cursor (see
                            // `Db::entities_with_each`).
                            let mut each = if semi {
                                vec![]
                            } else {
                                let values: Vec<&Edn> = order
                                    .iter()
                                    .map(|key| key[2].as_ref().unwrap_or(&Edn::Nil))
                                    .collect();
                                let mut each = db.entities_with_each(attr, &values)?;
                                self.prefilter(db, p, ev, pending, &mut each)?;
                                each
                            };
                            for (k, (key, ns)) in order.iter().zip(&members).enumerate() {
                                self.tick()?;
                                let value = key[2].as_ref().unwrap_or(&Edn::Nil);
                                let ids: Vec<Edn>;
                                let extras: Vec<&[Edn]> = if value.is_nil() {
                                    vec![]
                                } else if semi {
                                    // Only whether there is a match matters: one lookup.
                                    match db.has_entity_with(attr, value)? {
                                        true => vec![&[]],
                                        false => vec![],
                                    }
                                } else {
                                    ids = std::mem::take(&mut each[k])
                                        .into_iter()
                                        .map(|e| Edn::Long(e as i64))
                                        .collect();
                                    ids.chunks(1).collect()
                                };
                                self.fan_out(&mut rows, ns, &extras, later.len(), semi, &mut out)?;
                            }
                            return Ok(Rel {
                                vars,
                                rows: out,
                                distinct: out_distinct,
                            });
                        }
                    }
                }
                // Fast path: entity known, attribute constant, value to bind: read that
                // entity's values of the attribute straight from EAV.
                let fast_attr = match (&p.a, &p.v) {
                    (Term::Const(Edn::Keyword(k)), Term::Blank) => db.schema().get(k),
                    (Term::Const(Edn::Keyword(k)), Term::Var(v))
                        if cur.col(v).is_none() && p.e.var() != Some(v) =>
                    {
                        db.schema().get(k)
                    }
                    _ => None,
                };
                if let Some(attr) = fast_attr {
                    if bound[0].is_some() || consts[0].is_some() {
                        let bind_v = matches!(p.v, Term::Var(_));
                        let mut rows = std::mem::take(&mut cur.rows);
                        for (key, ns) in order.iter().zip(&members) {
                            self.tick()?;
                            let Some(eid) = entid(db, key[0].as_ref().unwrap_or(&Edn::Nil))? else {
                                continue;
                            };
                            let mut vals = db.attr_values(eid, attr)?;
                            if !bind_v {
                                vals.truncate(1);
                            }
                            let extras: Vec<&[Edn]> = if bind_v {
                                vals.chunks(1).collect()
                            } else {
                                vals.iter().map(|_| &[][..]).collect()
                            };
                            self.fan_out(&mut rows, ns, &extras, later.len(), semi, &mut out)?;
                        }
                        return Ok(Rel {
                            vars,
                            rows: out,
                            distinct: out_distinct,
                        });
                    }
                }
                let mut rows = std::mem::take(&mut cur.rows);
                for (key, ns) in order.iter().zip(&members) {
                    self.tick()?;
                    let datoms = db_match(
                        db,
                        key[0].as_ref(),
                        key[1].as_ref(),
                        key[2].as_ref(),
                        range.as_ref(),
                    )?;
                    if datoms.is_empty() {
                        continue;
                    }
                    let mut ext = extend_rows(terms, &new_vars, &datoms);
                    if terms.iter().any(|t| matches!(t, Term::Blank)) {
                        // `_` can repeat rows of the other variables.
                        let mut seen = HashSet::default();
                        ext.retain(|r| seen.insert(r.clone()));
                    }
                    let extras: Vec<&[Edn]> = ext.iter().map(|e| e.as_slice()).collect();
                    self.fan_out(&mut rows, ns, &extras, later.len(), semi, &mut out)?;
                }
                Ok(Rel {
                    vars,
                    rows: out,
                    distinct: out_distinct,
                })
            }
        }
    }

    // ---- predicates and functions -------------------------------------------------------

    fn arg_values(&self, args: &[Term], cur: &Rel, row: &Row, form: &Edn) -> QResult<Vec<Edn>> {
        let mut out = Vec::with_capacity(args.len());
        self.arg_values_into(args, cur, row, form, &mut out)?;
        Ok(out)
    }

    /// [`arg_values`](Self::arg_values) into `out` (cleared first), so that one buffer
    /// serves every row of a step.
    fn arg_values_into(
        &self,
        args: &[Term],
        cur: &Rel,
        row: &Row,
        form: &Edn,
        out: &mut Vec<Edn>,
    ) -> QResult<()> {
        out.clear();
        for t in args {
            out.push(match t {
                Term::Var(v) => cur.col(v).map(|c| row[c].clone()).ok_or_else(|| {
                    QueryError::at(ErrorKind::Unbound, format!("unbound variable {v}"), form)
                })?,
                Term::Const(c) => c.clone(),
                Term::Blank => {
                    return Err(QueryError::at(
                        ErrorKind::Parse,
                        "_ is not allowed as a function argument",
                        form,
                    ))
                }
            });
        }
        Ok(())
    }

    /// Calls function `name`.
    pub fn call(&self, name: &str, args: &[Edn], form: &Edn) -> QResult<Edn> {
        let eval_err = |m: FnError| QueryError::at(ErrorKind::Eval, format!("{name}: {m}"), form);
        if let Some(f) = self.reg.fns.get(name) {
            return f(args).map_err(eval_err);
        }
        match name {
            "get-else" | "get-some" | "missing?" => return self.db_fn(name, args, form),
            _ => {}
        }
        if let Some(r) = self.call_in_context(name, args, form) {
            return r;
        }
        match call_builtin(name, Some(args)) {
            Some(r) => r.map_err(eval_err),
            None => Err(unknown_fn(name, form)),
        }
    }

    fn db_fn(&self, name: &str, args: &[Edn], form: &Edn) -> QResult<Edn> {
        /// `:ns/attr` for the reverse attribute `:ns/_attr`.
        fn reverse_of(k: &Keyword) -> Option<Keyword> {
            let n = k.name().strip_prefix('_').filter(|n| !n.is_empty())?;
            Some(Keyword::new(k.namespace(), n))
        }
        let bad = || {
            QueryError::at(
                ErrorKind::Parse,
                format!("{name} takes a source, an entity and attribute(s)"),
                form,
            )
        };
        let src = args.first().and_then(|s| s.as_symbol()).ok_or_else(bad)?;
        let db = self.db(src.name(), form)?;
        let e = args.get(1).ok_or_else(bad)?;
        let Some(eid) = entid(db, e)? else {
            return match name {
                "missing?" => Ok(Edn::Bool(true)),
                "get-else" => Ok(args.get(3).cloned().unwrap_or(Edn::Nil)),
                _ => Ok(Edn::Nil),
            };
        };
        let first = |a: &Edn| -> QResult<Option<Edn>> {
            let Some(k) = a.as_keyword() else {
                return Err(QueryError::at(
                    ErrorKind::Eval,
                    format!("{name}: expected an attribute keyword, got {a}"),
                    form,
                ));
            };
            if let Some(fwd) = reverse_of(k) {
                // `:_attr`: an entity that refers to this one through `:attr`.
                return Ok(db
                    .datoms(Index::Ave, &[Edn::Keyword(fwd), Edn::Long(eid as i64)])?
                    .next()
                    .transpose()?
                    .map(|d| Edn::Long(d.e as i64)));
            }
            Ok(db
                .datoms(
                    Index::Eav,
                    &[Edn::Long(eid as i64), Edn::Keyword(k.clone())],
                )?
                .next()
                .transpose()?
                .map(|d| d.v))
        };
        match name {
            "missing?" => {
                let a = args.get(2).ok_or_else(bad)?;
                Ok(Edn::Bool(first(a)?.is_none()))
            }
            "get-else" => {
                if args.len() != 4 {
                    return Err(bad());
                }
                if args[3].is_nil() {
                    return Err(QueryError::at(
                        ErrorKind::Eval,
                        "get-else: nil default value is not supported",
                        form,
                    ));
                }
                if let Some(k) = args[2].as_keyword() {
                    if reverse_of(k).is_some() {
                        return Err(QueryError::at(
                            ErrorKind::Eval,
                            format!(
                                "get-else: {k} is a reverse attribute (it may have many values)"
                            ),
                            form,
                        ));
                    }
                    if db.schema().get(k).is_some_and(|a| a.is_many()) {
                        return Err(QueryError::at(
                            ErrorKind::Eval,
                            format!("get-else: {k} has cardinality many"),
                            form,
                        ));
                    }
                }
                Ok(first(&args[2])?.unwrap_or_else(|| args[3].clone()))
            }
            _ => {
                for a in &args[2..] {
                    if let Some(v) = first(a)? {
                        return Ok(Edn::Vector(vec![a.clone(), v]));
                    }
                }
                Ok(Edn::Nil)
            }
        }
    }

    fn pred(&self, name: &str, args: &[Term], form: &Edn, mut cur: Rel) -> QResult<Rel> {
        if let Some(test) = comparison(name).filter(|_| !self.reg.fns.contains_key(name)) {
            if let [a, b] = args {
                // Two-argument comparisons compare in place: no argument vector, no clones.
                let side = |t: &Term| -> QResult<Result<usize, Edn>> {
                    match t {
                        Term::Var(v) => cur.col(v).map(Ok).ok_or_else(|| {
                            QueryError::at(
                                ErrorKind::Unbound,
                                format!("unbound variable {v}"),
                                form,
                            )
                        }),
                        Term::Const(c) => Ok(Err(c.clone())),
                        Term::Blank => Err(QueryError::at(
                            ErrorKind::Parse,
                            "_ is not allowed as a function argument",
                            form,
                        )),
                    }
                };
                let (x, y) = (side(a)?, side(b)?);
                cur.rows.retain(|r| {
                    let l = match &x {
                        Ok(c) => &r[*c],
                        Err(v) => v,
                    };
                    let rr = match &y {
                        Ok(c) => &r[*c],
                        Err(v) => v,
                    };
                    test(l, rr)
                });
                self.check_time()?;
                return Ok(cur);
            }
        }
        let mut keep = Vec::with_capacity(cur.rows.len());
        for r in &cur.rows {
            self.tick()?;
            let vals = self.arg_values(args, &cur, r, form)?;
            keep.push(truthy(&self.call(name, &vals, form)?));
        }
        let mut i = 0;
        cur.rows.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        Ok(cur)
    }

    fn func(
        &self,
        name: &str,
        args: &[Term],
        binding: &Binding,
        form: &Edn,
        mut cur: Rel,
    ) -> QResult<Rel> {
        let mut bvars = vec![];
        binding.vars(&mut bvars);
        let old: Vec<Option<usize>> = bvars.iter().map(|v| cur.col(v)).collect();
        let mut vars = cur.vars.clone();
        for (v, o) in bvars.iter().zip(&old) {
            if o.is_none() {
                vars.push(v.clone());
            }
        }
        let mut rows = vec![];
        // A nested call's value is an argument: nil included.
        let keep_nil =
            matches!(binding, Binding::Scalar(v) if v.starts_with(crate::parse::NESTED_PREFIX));
        let input = std::mem::take(&mut cur.rows);
        if let Binding::Scalar(_) = binding {
            // One value per row: the row is extended by it (or, the variable bound
            // already, kept when equal), with no assignment vectors.
            let mut vals = Vec::with_capacity(args.len());
            rows.reserve(input.len());
            // `+`, `-` and `*` of two longs are computed in place; anything else (another
            // type, an overflow) takes the general call, which gives the same answers.
            let bound_already = old.first().copied().flatten().is_some();
            let quick = long_arith(name)
                .filter(|_| !self.reg.fns.contains_key(name) && !bound_already)
                .zip(match args {
                    [a, b] => arg_at(a, &cur).zip(arg_at(b, &cur)),
                    _ => None,
                });
            for mut r in input {
                self.tick()?;
                if let Some((op, (a, b))) = &quick {
                    if let (Edn::Long(x), Edn::Long(y)) = (a.get(&r), b.get(&r)) {
                        if let Some(v) = op(*x, *y) {
                            r.push(Edn::Long(v));
                            self.check_rows(rows.len(), r.len())?;
                            rows.push(r);
                            continue;
                        }
                    }
                }
                self.arg_values_into(args, &cur, &r, form, &mut vals)?;
                let res = self.call(name, &vals, form)?;
                if res.is_nil() && !keep_nil {
                    continue;
                }
                match old.first().copied().flatten() {
                    Some(c) if r[c] != res => continue,
                    Some(_) => {}
                    None => r.push(res),
                }
                self.check_rows(rows.len(), r.len())?;
                rows.push(r);
            }
            return Ok(Rel {
                vars,
                rows,
                distinct: cur.distinct,
            });
        }
        for r in input {
            self.tick()?;
            let vals = self.arg_values(args, &cur, &r, form)?;
            let res = self.call(name, &vals, form)?;
            if res.is_nil() && !keep_nil {
                continue;
            }
            let mut asgs = bind(binding, &res, &bvars, form)?;
            asgs.retain(|asg| {
                !old.iter()
                    .zip(asg)
                    .any(|(o, v)| o.is_some_and(|c| r[c] != *v))
            });
            // The input row is moved into its last extension, copied for the others.
            let mut r = Some(r);
            let n = asgs.len();
            for (i, asg) in asgs.into_iter().enumerate() {
                let mut row = if i + 1 == n {
                    r.take().unwrap_or_default()
                } else {
                    r.clone().unwrap_or_default()
                };
                row.extend(
                    asg.into_iter()
                        .zip(&old)
                        .filter(|(_, o)| o.is_none())
                        .map(|(v, _)| v),
                );
                self.check_rows(rows.len(), row.len())?;
                rows.push(row);
            }
        }
        // A scalar binding extends (or, already bound, keeps) each row at most once:
        // distinct rows stay distinct. Collections and tuples may repeat a value.
        let distinct = cur.distinct && matches!(binding, Binding::Scalar(_));
        Ok(Rel {
            vars,
            rows,
            distinct,
        })
    }

    // ---- not / or -------------------------------------------------------------------------

    fn not(
        &self,
        vars: Option<&[Var]>,
        body: &[Clause],
        form: &Edn,
        mut cur: Rel,
        fixed: &Fixed,
    ) -> QResult<Rel> {
        let join: Vec<Var> = match vars {
            Some(vs) => {
                for v in vs {
                    if cur.col(v).is_none() {
                        return Err(QueryError::at(
                            ErrorKind::Unbound,
                            format!("insufficient bindings: {v} is not bound before not-join"),
                            form,
                        ));
                    }
                }
                vs.to_vec()
            }
            None => {
                let mut vs = vec![];
                body.iter().for_each(|c| c.vars(&mut vs));
                vs.retain(|v| cur.col(v).is_some());
                vs
            }
        };
        let seed = cur.project(&join);
        let res = self.eval_clauses(body, seed, fixed, false, &join)?;
        let res = res.project(&join);
        let set: HashSet<Row> = res.rows.into_iter().collect();
        let cols: Vec<usize> = join.iter().filter_map(|v| cur.col(v)).collect();
        cur.rows
            .retain(|r| !set.contains(&cols.iter().map(|&c| r[c].clone()).collect::<Row>()));
        Ok(cur)
    }

    fn or(
        &self,
        vars: Option<&[Var]>,
        branches: &[Vec<Clause>],
        form: &Edn,
        cur: Rel,
        fixed: &Fixed,
    ) -> QResult<Rel> {
        let join: Vec<Var> = match vars {
            Some(vs) => vs.to_vec(),
            // Every branch's variables: those not in all branches are bound already
            // (the planner waits for them), so each branch still binds every one.
            None => {
                let mut vs = vec![];
                branches.iter().flatten().for_each(|c| c.vars(&mut vs));
                vs
            }
        };
        let bound: Vec<Var> = join
            .iter()
            .filter(|v| cur.col(v).is_some())
            .cloned()
            .collect();
        let seed = cur.project(&bound);
        // Every branch's rows over `join`, deduplicated once at the end without copies.
        let mut union: Vec<Row> = vec![];
        for b in branches {
            let res = self.eval_clauses(b, seed.clone(), fixed, false, &join)?;
            for v in &join {
                if res.col(v).is_none() {
                    return Err(QueryError::at(
                        ErrorKind::Unbound,
                        format!("insufficient bindings: a branch does not bind {v}"),
                        form,
                    ));
                }
            }
            let cols: Vec<usize> = join.iter().filter_map(|v| res.col(v)).collect();
            if cols.iter().copied().eq(0..res.vars.len()) {
                union.extend(res.rows);
            } else {
                union.extend(
                    res.rows
                        .into_iter()
                        .map(|r| cols.iter().map(|&c| r[c].clone()).collect::<Row>()),
                );
            }
            self.check_rows(union.len(), join.len())?;
        }
        let union = Rel {
            vars: join,
            rows: distinct(union),
            distinct: true,
        };
        if cur.vars.is_empty() && cur.rows.len() == 1 {
            // Joining with the unit relation changes nothing.
            return Ok(union);
        }
        cur.join(union, self)
    }

    /// Joins `cur` with rows of a rule relation whose columns are the call's argument
    /// positions. `rows` are a set (every caller passes a fixpoint's list, a round's delta,
    /// deduplicated seeds or deduplicated head rows), so the result is distinct when `cur`
    /// is and no argument is `_` (two rows of a set differ in some column; every column
    /// but a `_` one is kept or must match).
    /// [`join_call`](Self::join_call) with rows the caller owns and knows distinct: a call
    /// that only binds new, distinct variables, made from the unit relation, takes them
    /// as they are.
    pub fn join_call_owned(
        &self,
        args: &[Term],
        rows: Vec<Row>,
        cur: Rel,
        spare: usize,
    ) -> QResult<Rel> {
        let mut vars: Vec<Var> = vec![];
        for a in args {
            match a {
                Term::Var(v) if !vars.contains(v) => vars.push(v.clone()),
                _ => return self.join_call(args, &rows, cur, spare),
            }
        }
        if !(cur.vars.is_empty() && cur.rows.len() == 1) {
            return self.join_call(args, &rows, cur, spare);
        }
        self.check_rows(
            rows.len().saturating_sub(1),
            rows.first().map_or(0, Vec::len),
        )?;
        Ok(Rel {
            vars,
            rows,
            distinct: true,
        })
    }

    /// Output rows have room for `spare` more columns.
    pub fn join_call(&self, args: &[Term], rows: &[Row], cur: Rel, spare: usize) -> QResult<Rel> {
        let mut vars = cur.vars.clone();
        let slots: Vec<Slot> = args
            .iter()
            .enumerate()
            .map(|(j, t)| match t {
                Term::Var(v) => {
                    if let Some(i) = cur.col(v) {
                        Slot::Key(i)
                    } else if let Some(k) = args[..j].iter().position(|a| a == t) {
                        Slot::Same(k)
                    } else {
                        vars.push(v.clone());
                        Slot::New
                    }
                }
                Term::Const(c) => Slot::Const(c.clone()),
                Term::Blank => Slot::Skip,
            })
            .collect();
        let distinct = cur.distinct && !slots.contains(&Slot::Skip);
        let rows = hash_join(&cur.rows, rows, &slots, spare, self)?;
        Ok(Rel {
            vars,
            rows,
            distinct,
        })
    }
}

/// Whether `clause` can run as a semi-join on `cur`: a pattern with new variables, each
/// occurring once in it, none of them kept by the caller (`keep`) or read by a `pending`
/// clause. Such variables would be projected away right after the step, so only whether
/// a row has a match matters (the caller treats the result as a set).
fn semi_join(clause: &Clause, cur: &Rel, keep: &[Var], pending: &[&Clause]) -> bool {
    let Clause::Pattern(p) = clause else {
        return false;
    };
    let mut new: Vec<&Var> = vec![];
    for t in &p.terms {
        if let Term::Var(v) = t {
            if cur.col(v).is_none() {
                if new.contains(&v) {
                    return false;
                }
                new.push(v);
            }
        }
    }
    if new.is_empty() || new.iter().any(|v| keep.contains(v)) {
        return false;
    }
    let mut later: Vec<Var> = vec![];
    pending.iter().for_each(|c| c.vars(&mut later));
    !new.iter().any(|v| later.contains(v))
}

/// Whether `v` is bound by `cur` or by a variable-binding member of the merge-scan `group`
/// (so a later clause mentioning it adds no column).
fn bound_by_step(v: &Var, cur: &Rel, group: &[(&Pattern, u32, scan::Want)]) -> bool {
    cur.col(v).is_some()
        || group
            .iter()
            .any(|(p, _, w)| matches!(w, scan::Want::Bind) && p.v.var() == Some(v))
}

/// The keyword form of a clause for explain.
fn clause_form(c: &Clause) -> String {
    match c {
        Clause::Pattern(p) => pattern_form(p).to_string(),
        Clause::Pred { form, .. }
        | Clause::Fn { form, .. }
        | Clause::Not { form, .. }
        | Clause::Or { form, .. }
        | Clause::RuleCall { form, .. } => form.to_string(),
    }
}

/// A pattern back as EDN.
pub fn pattern_form(p: &Pattern) -> Edn {
    let mut v = vec![];
    if p.src != "$" {
        v.push(Edn::sym(&p.src));
    }
    for t in &p.terms {
        v.push(match t {
            Term::Var(x) => Edn::sym(x),
            Term::Blank => Edn::sym("_"),
            Term::Const(c) => c.clone(),
        });
    }
    Edn::Vector(v)
}

pub(crate) fn unknown_fn(name: &str, form: &Edn) -> QueryError {
    QueryError::at(
        ErrorKind::UnknownFunction,
        format!("unknown function or rule '{name}'"),
        form,
    )
}

/// Rows of `terms`' variables (first occurrences) from tuples matching the constants and
/// repeated variables.
pub fn match_tuples<'r>(terms: &[Term], tuples: impl Iterator<Item = &'r Row>) -> Rel {
    let mut vars: Vec<Var> = vec![];
    let mut slot: Vec<Option<usize>> = vec![];
    for t in terms {
        match t {
            Term::Var(v) => match vars.iter().position(|x| x == v) {
                Some(i) => slot.push(Some(i)),
                None => {
                    vars.push(v.clone());
                    slot.push(Some(vars.len() - 1));
                }
            },
            _ => slot.push(None),
        }
    }
    let mut rows = vec![];
    'outer: for t in tuples {
        if t.len() < terms.len() {
            continue;
        }
        let mut row: Vec<Option<&Edn>> = vec![None; vars.len()];
        for (i, term) in terms.iter().enumerate() {
            match term {
                Term::Const(c) => {
                    if t[i] != *c {
                        continue 'outer;
                    }
                }
                Term::Var(_) => {
                    let s = slot[i].unwrap_or(0);
                    match row[s] {
                        Some(prev) if *prev != t[i] => continue 'outer,
                        _ => row[s] = Some(&t[i]),
                    }
                }
                Term::Blank => {}
            }
        }
        rows.push(
            row.into_iter()
                .map(|x| x.cloned().unwrap_or(Edn::Nil))
                .collect(),
        );
    }
    Rel {
        vars,
        rows,
        distinct: false,
    }
}

/// Values of `new_vars` for each datom (respecting repeated variables).
fn extend_rows(terms: [&Term; 3], new_vars: &[Var], datoms: &[Datom]) -> Vec<Row> {
    let mut out = vec![];
    'outer: for d in datoms {
        let vals = [
            Edn::Long(d.e as i64),
            Edn::Keyword(d.a.clone()),
            d.v.clone(),
        ];
        let mut row: Vec<Option<Edn>> = vec![None; new_vars.len()];
        for (i, t) in terms.iter().enumerate() {
            if let Term::Var(v) = t {
                if let Some(j) = new_vars.iter().position(|x| x == v) {
                    match &row[j] {
                        Some(prev) if *prev != vals[i] => continue 'outer,
                        _ => row[j] = Some(vals[i].clone()),
                    }
                }
            }
        }
        out.push(row.into_iter().map(|x| x.unwrap_or(Edn::Nil)).collect());
    }
    out
}

/// Whether `v` is stored as itself for an attribute of type `t` (so bound values can be
/// compared with decoded ones directly).
fn natural(t: Option<levin_datalog::AttrType>, v: &Edn) -> bool {
    use levin_datalog::AttrType as T;
    match t {
        None => !matches!(v, Edn::Vector(_) | Edn::List(_) | Edn::Map(_) | Edn::Set(_)),
        Some(T::Long) | Some(T::Ref) => matches!(v, Edn::Long(_)),
        Some(T::String) => matches!(v, Edn::String(_)),
        Some(T::Keyword) => matches!(v, Edn::Keyword(_)),
        Some(T::Boolean) => matches!(v, Edn::Bool(_)),
        Some(T::Double) => matches!(v, Edn::Double(_)),
        Some(T::Instant) => matches!(v, Edn::Inst(_)),
        Some(T::Uuid) => matches!(v, Edn::Uuid(_)),
        _ => false,
    }
}

/// Whether `e` can name an entity.
fn entity_like(e: &Edn) -> bool {
    match e {
        Edn::Long(n) => *n > 0,
        Edn::Keyword(_) => true,
        Edn::Vector(v) | Edn::List(v) => v.len() == 2 && v[0].as_keyword().is_some(),
        _ => false,
    }
}

/// Resolves an entity reference; `None` for values that name no entity. Runs once per row
/// of many steps: an entity id (what rows almost always hold) is answered in place.
#[inline]
pub fn entid(db: &Db, e: &Edn) -> QResult<Option<u64>> {
    if let Edn::Long(n) = e {
        return Ok((*n > 0).then_some(*n as u64));
    }
    if !entity_like(e) {
        return Ok(None);
    }
    Ok(db.entid(e)?)
}

/// Datoms matching the known parts (and the value range).
pub fn db_match(
    db: &Db,
    e: Option<&Edn>,
    a: Option<&Edn>,
    v: Option<&Edn>,
    range: Option<&(Option<Edn>, Option<Edn>)>,
) -> QResult<Vec<Datom>> {
    let a: Option<&Keyword> = match a {
        Some(Edn::Keyword(k)) => Some(k),
        Some(_) => return Ok(vec![]),
        None => None,
    };
    let collect = |it: levin_datalog::Datoms<'_>| -> QResult<Vec<Datom>> {
        let mut out = vec![];
        for d in it {
            let d = d?;
            if let Some(v) = v {
                if a.is_none() && d.v != *v {
                    continue;
                }
            }
            out.push(d);
        }
        Ok(out)
    };
    if let Some(e) = e {
        let Some(eid) = entid(db, e)? else {
            return Ok(vec![]);
        };
        let mut c = vec![Edn::Long(eid as i64)];
        if let Some(a) = a {
            c.push(Edn::Keyword(a.clone()));
            if let Some(v) = v {
                c.push(v.clone());
            }
        }
        return collect(db.datoms(Index::Eav, &c)?);
    }
    if let Some(a) = a {
        if let Some(v) = v {
            return collect(db.datoms(Index::Ave, &[Edn::Keyword(a.clone()), v.clone()])?);
        }
        if let Some((lo, hi)) = range {
            return collect(db.index_range(a, lo.as_ref(), hi.as_ref())?);
        }
        return collect(db.datoms(Index::Ave, &[Edn::Keyword(a.clone())])?);
    }
    collect(db.datoms(Index::Eav, &[])?)
}

/// Assignments of `vars` (the binding's variables) from binding `value` to `b`.
pub fn bind(b: &Binding, value: &Edn, vars: &[Var], form: &Edn) -> QResult<Vec<Vec<Edn>>> {
    fn go(b: &Binding, value: &Edn, vars: &[Var], form: &Edn) -> QResult<Vec<Vec<Option<Edn>>>> {
        let bad = |what: &str| {
            QueryError::at(
                ErrorKind::Input,
                format!("cannot bind {value} to {what}"),
                form,
            )
        };
        match b {
            Binding::Blank => Ok(vec![vec![None; vars.len()]]),
            Binding::Scalar(v) => {
                let mut a = vec![None; vars.len()];
                if let Some(i) = vars.iter().position(|x| x == v) {
                    a[i] = Some(value.clone());
                }
                Ok(vec![a])
            }
            Binding::Coll(inner) | Binding::Rel(inner) => {
                let items = match value {
                    Edn::Vector(x) | Edn::List(x) | Edn::Set(x) => x,
                    _ => return Err(bad("a collection binding")),
                };
                let mut out = vec![];
                for it in items {
                    out.extend(go(inner, it, vars, form)?);
                }
                Ok(out)
            }
            Binding::Tuple(bs) => {
                let items = match value {
                    Edn::Vector(x) | Edn::List(x) => x,
                    _ => return Err(bad("a tuple binding")),
                };
                if items.len() < bs.len() {
                    return Err(bad(&format!("a tuple binding of {} elements", bs.len())));
                }
                let mut acc: Vec<Vec<Option<Edn>>> = vec![vec![None; vars.len()]];
                for (bi, it) in bs.iter().zip(items) {
                    let sub = go(bi, it, vars, form)?;
                    let mut next = vec![];
                    for a in &acc {
                        'sub: for s in &sub {
                            let mut m = a.clone();
                            for (i, x) in s.iter().enumerate() {
                                if let Some(x) = x {
                                    match &m[i] {
                                        Some(y) if y != x => continue 'sub,
                                        _ => m[i] = Some(x.clone()),
                                    }
                                }
                            }
                            next.push(m);
                        }
                    }
                    acc = next;
                }
                Ok(acc)
            }
        }
    }
    Ok(go(b, value, vars, form)?
        .into_iter()
        .map(|a| a.into_iter().map(|x| x.unwrap_or(Edn::Nil)).collect())
        .collect())
}

/// Whether pattern `q` (the clause `q_clause`), a candidate member of the merge scan led
/// by `p` (the clause `lead`), binds a new variable through a cardinality-many attribute
/// while the join `order` puts a pending clause that is not on `p`'s entity between the
/// two.
fn fans_out_later(
    db: &Db,
    (lead, p): (&Clause, &Pattern),
    (q_clause, q): (&Clause, &Pattern),
    cur: &Rel,
    order: Option<&[&Clause]>,
    pending: &[&Clause],
) -> bool {
    let Some(order) = order else {
        return false;
    };
    let many = match &q.a {
        Term::Const(Edn::Keyword(k)) => db.schema().get(k).is_some_and(|a| a.is_many()),
        _ => false,
    };
    if !many || !matches!(&q.v, Term::Var(x) if cur.col(x).is_none()) {
        return false;
    }
    let at = |c: &Clause| order.iter().position(|o| std::ptr::eq(*o, c));
    let (Some(first), Some(last)) = (at(lead), at(q_clause)) else {
        return false;
    };
    first < last
        && order[first + 1..last].iter().any(|c| {
            let same_entity = matches!(c, Clause::Pattern(o) if o.src == p.src && o.e == p.e);
            !same_entity && pending.iter().any(|x| std::ptr::eq(*x, *c))
        })
}

/// How the merge scan serves pattern `q` on the entity of `p` (same source and entity term,
/// constant attribute in the schema; value a variable not bound yet and not used by another
/// member, `_`, or a constant stored as itself). Records a bound variable in `taken`.
fn member_want(
    db: &Db,
    p: &Pattern,
    q: &Pattern,
    cur: &Rel,
    taken: &mut Vec<Var>,
) -> Option<(u32, scan::Want)> {
    if q.src != p.src || q.e != p.e || q.terms.len() > 3 {
        return None;
    }
    let Term::Const(Edn::Keyword(k)) = &q.a else {
        return None;
    };
    let attr = db.schema().get(k)?;
    let want = match &q.v {
        Term::Blank => scan::Want::Exists,
        Term::Const(c) if natural(attr.value_type, c) => scan::Want::Equals(c.clone()),
        Term::Var(x) if cur.col(x).is_none() && Some(x) != p.e.var() && !taken.contains(x) => {
            taken.push(x.clone());
            scan::Want::Bind
        }
        _ => return None,
    };
    Some((attr.id, want))
}

/// The hash of a row (FxHash: fast, and the same in every run).
pub fn row_hash(r: &[Edn]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(r)
}

/// The distinct rows of `rows`, first occurrences in order, without cloning any.
pub fn distinct(rows: Vec<Row>) -> Vec<Row> {
    let mut table: hashbrown::HashTable<usize> = hashbrown::HashTable::with_capacity(rows.len());
    let mut out: Vec<Row> = Vec::with_capacity(rows.len());
    for r in rows {
        let h = row_hash(&r);
        if table.find(h, |&i| out[i] == r).is_none() {
            table.insert_unique(h, out.len(), |&i| row_hash(&out[i]));
            out.push(r);
        }
    }
    out
}

/// `+`, `-` and `*` of two longs, `None` on overflow (where the general call answers).
fn long_arith(name: &str) -> Option<fn(i64, i64) -> Option<i64>> {
    Some(match name {
        "+" => i64::checked_add,
        "-" => i64::checked_sub,
        "*" => i64::checked_mul,
        _ => return None,
    })
}

/// Where a function argument's value is: a column of the row, or a constant.
enum ArgAt<'a> {
    Column(usize),
    Const(&'a Edn),
}

impl ArgAt<'_> {
    fn get<'r>(&'r self, row: &'r [Edn]) -> &'r Edn {
        match self {
            ArgAt::Column(c) => &row[*c],
            ArgAt::Const(v) => v,
        }
    }
}

/// Where `t`'s value is in `cur`'s rows (`None` for `_` or an unbound variable, which the
/// general path reports).
fn arg_at<'a>(t: &'a Term, cur: &Rel) -> Option<ArgAt<'a>> {
    match t {
        Term::Var(v) => cur.col(v).map(ArgAt::Column),
        Term::Const(c) => Some(ArgAt::Const(c)),
        Term::Blank => None,
    }
}

/// The built-in two-argument comparisons, as direct tests (the same semantics as
/// `functions::call_builtin`).
fn comparison(name: &str) -> Option<fn(&Edn, &Edn) -> bool> {
    use crate::order::{compare, equal};
    use std::cmp::Ordering::*;
    Some(match name {
        "=" => |a, b| equal(a, b),
        "not=" | "!=" => |a, b| !equal(a, b),
        "==" => |a, b| compare(a, b) == Equal,
        "<" => |a, b| compare(a, b) == Less,
        ">" => |a, b| compare(a, b) == Greater,
        "<=" => |a, b| compare(a, b) != Greater,
        ">=" => |a, b| compare(a, b) != Less,
        _ => return None,
    })
}
