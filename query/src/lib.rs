//! The Datalog query engine: queries as EDN data (vector or map form), evaluated over
//! [`Db`] values and collections, with rules, functions, aggregates, pull in `:find`,
//! `:order-by`/`:limit`/`:offset`/`:timeout`, and `explain`.
//!
//! Phases, each with its own types: parse (EDN -> [`Query`], `parse.rs`), normalise
//! (inputs bound, rules collected, functions and rule arities checked, recursive rules
//! found), plan (`plan.rs`: join order by dynamic programming over index counts, predicate
//! range pushdown; it reads statistics through `stats.rs`) and execute (`eval.rs`,
//! `rules.rs`, `magic.rs`), then find (projection, aggregates, pull,
//! `:order-by`/`:offset`/`:limit`).
//!
//! ```
//! use levin_datalog::Conn;
//! use levin_edn::read;
//! use levin_query::{DbQuery, Input};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let conn = Conn::open(dir.path(), "{:name {:db/unique :db.unique/identity}}").unwrap();
//! conn.transact(&read(r#"[{:name "Ivan" :age 30} {:name "Petr" :age 40}]"#).unwrap()).unwrap();
//! let db = conn.db().unwrap();
//! let r = db.q("[:find ?n :in $ ?min :where [?e :name ?n] [?e :age ?a] [(> ?a ?min)]]",
//!              &[Input::Value(35.into())]).unwrap();
//! assert_eq!(r.to_edn(), read(r#"#{["Petr"]}"#).unwrap());
//! ```
#![forbid(unsafe_code)]

mod aggregates;
mod ast;
mod calls;
mod connection;
mod error;
mod eval;
mod explain;
mod fds;
mod functions;
mod idwalk;
mod inline;
mod linear;
mod magic;
mod order;
mod parse;
mod parse_cache;
mod plan;
mod rules;
mod srcrules;
mod stats;
mod strings;

use rustc_hash::FxHashMap as HashMap;
use std::time::Instant;

use levin_datalog::Db;
use levin_edn::{Edn, Keyword, Symbol};

pub use ast::{FindKind, Query};
pub use connection::{
    connect, Connection, DatalogRead, DatalogTransaction, KvConnection, KvPair, KvWrite,
};
pub use error::{Error, ErrorKind, QResult, QueryError};
pub use explain::{Explain, Step};
pub use functions::{FnError, Registry, UserFn, DEFAULT_MAX_MEMORY, DEFAULT_MAX_ROWS};
pub use levin_datalog::scan::GroupRead;
pub use parse::parse_query;

use ast::*;
use eval::{bind, Ctx, Rel, Source};

/// One input of a query, matched in order with `:in`.
#[derive(Clone)]
pub enum Input<'a> {
    /// A database, for `$` or `$name`.
    Db(&'a Db<'a>),
    /// A value: a collection of tuples for a source, a rule set for `%`, or a value for a
    /// binding form.
    Value(Edn),
    /// A function for a scalar binding `?f`, called as `[(?f args...)]` or aggregating
    /// as `(aggregate ?f ?x)` (it then receives the group's values as one vector, after
    /// any constant arguments).
    Fn(UserFn),
}

impl std::fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Db(_) => f.write_str("Input::Db(..)"),
            Input::Value(v) => write!(f, "Input::Value({v})"),
            Input::Fn(_) => f.write_str("Input::Fn(..)"),
        }
    }
}

impl From<Edn> for Input<'_> {
    fn from(e: Edn) -> Self {
        Input::Value(e)
    }
}

impl<'a> From<&'a Db<'a>> for Input<'a> {
    fn from(d: &'a Db<'a>) -> Self {
        Input::Db(d)
    }
}

/// Something that can be a query: EDN text, an EDN form or a parsed [`Query`].
pub trait AsQuery {
    /// The parsed query and, for text, the text (for error positions).
    fn to_query(&self) -> QResult<(Query, Option<&str>)>;
}

impl AsQuery for str {
    fn to_query(&self) -> QResult<(Query, Option<&str>)> {
        parse_cache::parsed(self).map(|q| (q, Some(self)))
    }
}

impl AsQuery for String {
    fn to_query(&self) -> QResult<(Query, Option<&str>)> {
        self.as_str().to_query()
    }
}

impl AsQuery for Edn {
    fn to_query(&self) -> QResult<(Query, Option<&str>)> {
        Ok((parse::parse_query(self)?, None))
    }
}

impl AsQuery for Query {
    fn to_query(&self) -> QResult<(Query, Option<&str>)> {
        Ok((self.clone(), None))
    }
}

/// A query's result: rows of values shaped by the find spec.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The find spec's shape.
    pub kind: FindKind,
    /// Rows, one value per find element. A relation (`[:find ?a ?b]`) without `:with`,
    /// aggregates or `:order-by` comes in no particular order (it is a set: [`to_edn`]
    /// prints it sorted); otherwise, without `:order-by`, rows are sorted by value. With
    /// `:with` they may repeat.
    ///
    /// [`to_edn`]: QueryResult::to_edn
    pub rows: Vec<Vec<Edn>>,
    /// `:keys`/`:strs`/`:syms`.
    pub ret: Option<ReturnMap>,
    /// Whether order or repetition matters (`:with` or `:order-by`): then [`to_edn`]
    /// gives a vector, not a set.
    ///
    /// [`to_edn`]: QueryResult::to_edn
    pub ordered: bool,
}

impl QueryResult {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn row_edn(&self, row: &[Edn]) -> Edn {
        match &self.ret {
            None => Edn::Vector(row.to_vec()),
            Some(r) => {
                let key = |name: &String| -> Edn {
                    match r {
                        ReturnMap::Keys(_) => match name.split_once('/') {
                            Some((ns, n)) if !ns.is_empty() && !n.is_empty() => {
                                Edn::Keyword(Keyword::new(Some(ns), n))
                            }
                            _ => Edn::Keyword(Keyword::new(None, name)),
                        },
                        ReturnMap::Strs(_) => Edn::string(name.clone()),
                        ReturnMap::Syms(_) => Edn::Symbol(Symbol::new(None, name)),
                    }
                };
                let names = match r {
                    ReturnMap::Keys(v) | ReturnMap::Strs(v) | ReturnMap::Syms(v) => v,
                };
                Edn::Map(
                    names
                        .iter()
                        .zip(row)
                        .map(|(n, v)| (key(n), v.clone()))
                        .collect(),
                )
            }
        }
    }

    /// The result as EDN: a set of tuples (a vector when `:with` or `:order-by` is used),
    /// a scalar (or nil), a vector for a collection, a vector (or nil) for a tuple; tuples
    /// are maps with `:keys`/`:strs`/`:syms`.
    pub fn to_edn(&self) -> Edn {
        match self.kind {
            FindKind::Rel => {
                if self.ordered {
                    Edn::Vector(self.rows.iter().map(|r| self.row_edn(r)).collect())
                } else {
                    // A set, printed in value order so output is stable.
                    let mut rows: Vec<&Vec<Edn>> = self.rows.iter().collect();
                    rows.sort();
                    Edn::Set(rows.into_iter().map(|r| self.row_edn(r)).collect())
                }
            }
            FindKind::Coll => Edn::Vector(self.rows.iter().map(|r| r[0].clone()).collect()),
            FindKind::Scalar => self.rows.first().map_or(Edn::Nil, |r| r[0].clone()),
            FindKind::Tuple => self.rows.first().map_or(Edn::Nil, |r| self.row_edn(r)),
        }
    }
}

/// Runs `query` over `inputs` with the built-in functions only.
pub fn q<Q: AsQuery + ?Sized>(query: &Q, inputs: &[Input<'_>]) -> QResult<QueryResult> {
    q_with(query, inputs, &Registry::default())
}

/// Runs `query` over `inputs` with application functions and aggregates from `reg`.
pub fn q_with<Q: AsQuery + ?Sized>(
    query: &Q,
    inputs: &[Input<'_>],
    reg: &Registry,
) -> QResult<QueryResult> {
    let (parsed, src) = query.to_query()?;
    run(&parsed, inputs, reg)
        .map(|(r, _)| r)
        .map_err(|e| match src {
            Some(s) => e.locate(s),
            None => e,
        })
}

/// Runs `query` and returns the plan that ran, with estimated and actual row counts and
/// time per step.
pub fn explain<Q: AsQuery + ?Sized>(
    query: &Q,
    inputs: &[Input<'_>],
    reg: &Registry,
) -> QResult<Explain> {
    let t0 = Instant::now();
    let (parsed, src) = query.to_query()?;
    let parse_time = t0.elapsed();
    let (_, mut ex) = run(&parsed, inputs, reg).map_err(|e| match src {
        Some(s) => e.locate(s),
        None => e,
    })?;
    ex.parse_time = parse_time;
    Ok(ex)
}

/// Queries on a [`Db`]: `db.q(query, inputs)` runs `query` with the database as `$`.
/// Import it (or `levin::prelude::*`) to call these as methods.
pub trait DbQuery {
    /// Runs `query` with this database as `$` (the first `:in` source), followed by
    /// `inputs`.
    fn q<Q: AsQuery + ?Sized>(&self, query: &Q, inputs: &[Input<'_>]) -> QResult<QueryResult>;

    /// [`DbQuery::q`] with application functions.
    fn q_with<Q: AsQuery + ?Sized>(
        &self,
        query: &Q,
        inputs: &[Input<'_>],
        reg: &Registry,
    ) -> QResult<QueryResult>;

    /// [`explain`] with this database as `$`.
    fn explain<Q: AsQuery + ?Sized>(&self, query: &Q, inputs: &[Input<'_>]) -> QResult<Explain>;
}

impl DbQuery for Db<'_> {
    fn q<Q: AsQuery + ?Sized>(&self, query: &Q, inputs: &[Input<'_>]) -> QResult<QueryResult> {
        let mut all = vec![Input::Db(self)];
        all.extend(inputs.iter().cloned());
        q(query, &all)
    }

    fn q_with<Q: AsQuery + ?Sized>(
        &self,
        query: &Q,
        inputs: &[Input<'_>],
        reg: &Registry,
    ) -> QResult<QueryResult> {
        let mut all = vec![Input::Db(self)];
        all.extend(inputs.iter().cloned());
        q_with(query, &all, reg)
    }

    fn explain<Q: AsQuery + ?Sized>(&self, query: &Q, inputs: &[Input<'_>]) -> QResult<Explain> {
        let mut all = vec![Input::Db(self)];
        all.extend(inputs.iter().cloned());
        explain(query, &all, &Registry::default())
    }
}

fn tuples(e: &Edn, form: &Edn) -> QResult<Vec<Vec<Edn>>> {
    let Some(items) = e.as_seq().or_else(|| e.as_set()) else {
        return Err(QueryError::at(
            ErrorKind::Input,
            format!("a source must be a database or a collection of tuples, got {e}"),
            form,
        ));
    };
    items
        .iter()
        .map(|t| match t.as_seq() {
            Some(x) => Ok(x.to_vec()),
            None => Err(QueryError::at(
                ErrorKind::Input,
                format!("a source collection holds tuples, got {t}"),
                form,
            )),
        })
        .collect()
}

/// Checks functions, aggregates and rule calls; collects rules.
fn check_clauses(clauses: &[Clause], ctx: &Ctx<'_>) -> QResult<()> {
    for c in clauses {
        match c {
            Clause::Pred { name, form, .. } | Clause::Fn { name, form, .. } => {
                if !ctx.is_function(name) {
                    if ctx.rules.contains_key(name) {
                        return Err(QueryError::at(
                            ErrorKind::Parse,
                            format!("{name} is a rule: call it as ({name} ...), not in a vector"),
                            form,
                        ));
                    }
                    return Err(eval::unknown_fn(name, form));
                }
            }
            Clause::RuleCall { name, args, form } => {
                let Some(rs) = ctx.rules.get(name) else {
                    if functions::is_builtin(name) || ctx.reg.fns.contains_key(name) {
                        return Err(QueryError::at(
                            ErrorKind::Parse,
                            format!("{name} is a function: call it as [({name} ...)]"),
                            form,
                        ));
                    }
                    return Err(QueryError::at(
                        ErrorKind::Rule,
                        format!("unknown rule '{name}'"),
                        form,
                    ));
                };
                rules::check_rule_arity(name, rs, args.len(), form)?;
            }
            Clause::Not { body, .. } => check_clauses(body, ctx)?,
            Clause::Or { branches, .. } => {
                for b in branches {
                    check_clauses(b, ctx)?;
                }
            }
            Clause::Pattern(_) => {}
        }
    }
    Ok(())
}

/// Checks that the aggregates of a find element exist.
fn check_find_elem(f: &FindElem, ctx: &Ctx<'_>, form: &Edn) -> QResult<()> {
    fn expr(e: &FindExpr, ctx: &Ctx<'_>, form: &Edn) -> QResult<()> {
        for a in &e.args {
            match a {
                ExprArg::Agg { name, .. } => agg(name, ctx, form)?,
                ExprArg::Expr(x) => expr(x, ctx, form)?,
                ExprArg::Const(_) => {}
            }
        }
        Ok(())
    }
    fn agg(name: &str, ctx: &Ctx<'_>, form: &Edn) -> QResult<()> {
        if aggregates::is_aggregate(name, ctx.reg) || ctx.input_aggregate(name).is_some() {
            Ok(())
        } else {
            Err(QueryError::at(
                ErrorKind::UnknownFunction,
                if name.starts_with('?') {
                    format!("{name} does not hold an aggregate (pass a function or the name of a registered aggregate)")
                } else {
                    format!("unknown aggregate '{name}'")
                },
                form,
            ))
        }
    }
    match f {
        FindElem::Agg { name, .. } => agg(name, ctx, form),
        FindElem::Expr(e) => expr(e, ctx, form),
        _ => Ok(()),
    }
}

/// Executes a parsed query.
pub fn run(query: &Query, inputs: &[Input<'_>], reg: &Registry) -> QResult<(QueryResult, Explain)> {
    let t0 = Instant::now();
    let mut ctx = Ctx::new(reg, reg.timeout_for(query.timeout_ms));
    if let Some(n) = query.max_rows {
        ctx.row_limit = n;
    }
    if inputs.len() != query.inputs.len() {
        return Err(QueryError::at(
            ErrorKind::Input,
            format!(
                "the query takes {} input(s) (:in), got {}",
                query.inputs.len(),
                inputs.len()
            ),
            &query.form,
        ));
    }
    let mut seed = Rel::unit();
    let inlined = inline::scalar_inputs(query, inputs);
    for (spec, input) in query.inputs.iter().zip(inputs) {
        match (spec, input) {
            (In::Source(name), Input::Db(db)) => {
                ctx.sources.insert(name.clone(), Source::Db(db));
            }
            (In::Source(name), Input::Value(v)) => {
                ctx.sources
                    .insert(name.clone(), Source::Coll(tuples(v, &query.form)?));
            }
            (In::Rules, Input::Value(v)) => {
                for r in parse::parse_rules(v)? {
                    ctx.rules.entry(r.name.clone()).or_default().push(r);
                }
            }
            (In::Bind(b), Input::Value(v)) => {
                let mut vars = vec![];
                b.vars(&mut vars);
                if let Binding::Scalar(x) = b {
                    ctx.scalars.insert(x.clone(), v.clone());
                    if inlined.iter().any(|(y, _)| y == x) {
                        continue;
                    }
                }
                let rows = bind(b, v, &vars, &query.form)?;
                seed = seed.join(
                    Rel {
                        vars,
                        rows,
                        distinct: false,
                    },
                    &ctx,
                )?;
            }
            (In::Bind(Binding::Scalar(x)), Input::Fn(func)) => {
                // The variable holds its own name: the function value that calls it.
                ctx.input_fns.insert(x.clone(), func.clone());
                ctx.scalars.insert(x.clone(), Edn::sym(x));
                seed = seed.join(
                    Rel {
                        vars: vec![x.clone()],
                        rows: vec![vec![Edn::sym(x)]],
                        distinct: true,
                    },
                    &ctx,
                )?;
            }
            (_, Input::Fn(_)) => {
                return Err(QueryError::at(
                    ErrorKind::Input,
                    "a function was passed for an :in binding other than a scalar ?f",
                    &query.form,
                ));
            }
            (_, Input::Db(_)) => {
                return Err(QueryError::at(
                    ErrorKind::Input,
                    "a database was passed for a non-source :in binding",
                    &query.form,
                ));
            }
        }
    }
    for r in &query.rules {
        ctx.rules.entry(r.name.clone()).or_default().push(r.clone());
    }
    let prefixed = srcrules::resolve(&query.clauses, &mut ctx.rules);
    let clauses = prefixed.as_deref().unwrap_or(&query.clauses);
    let substituted = inline::substitute(clauses, &inlined);
    let clauses = substituted.as_deref().unwrap_or(clauses);
    // Rule bodies and the query's clauses.
    check_clauses(clauses, &ctx)?;
    for rs in ctx.rules.values() {
        for r in rs {
            check_clauses(&r.body, &ctx)?;
        }
    }
    for f in &query.find {
        check_find_elem(f, &ctx, &query.form)?;
    }
    for h in &query.having {
        if !ctx.is_function(&h.name) {
            return Err(eval::unknown_fn(&h.name, &h.form));
        }
    }
    ctx.sccs = rules::sccs(&ctx.rules)?;
    ctx.single_use = rules::single_use(clauses, &ctx.rules, &ctx.sccs);
    let mut keep: Vec<Var> = vec![];
    query.find.iter().for_each(|f| f.vars(&mut keep));
    keep.extend(query.with.iter().cloned());
    let rel = ctx.eval_clauses(clauses, seed, &HashMap::default(), true, &keep)?;
    let result = find(query, &ctx, rel)?;
    let ex = Explain {
        steps: ctx.steps.borrow().clone(),
        parse_time: Default::default(),
        exec_time: t0.elapsed(),
        result_rows: result.rows.len(),
    };
    Ok((result, ex))
}

/// Computes an aggregate (name, constant arguments, variable) over one group.
type AggFn<'f> = dyn Fn(&str, &[Edn], &Var) -> QResult<Edn> + 'f;

/// The value of a find expression over one group; `agg` computes an aggregate over it.
fn find_expr(e: &FindExpr, ctx: &Ctx<'_>, form: &Edn, agg: &AggFn<'_>) -> QResult<Edn> {
    let args = e
        .args
        .iter()
        .map(|a| match a {
            ExprArg::Agg { name, args, var } => agg(name, args, var),
            ExprArg::Expr(x) => find_expr(x, ctx, form, agg),
            ExprArg::Const(c) => Ok(c.clone()),
        })
        .collect::<QResult<Vec<Edn>>>()?;
    ctx.call(&e.op, &args, form)
}

/// Whether an aggregated `row` passes every `:having` predicate: an argument that is nil
/// fails it.
fn having(query: &Query, ctx: &Ctx<'_>, row: &[Edn]) -> QResult<bool> {
    for h in &query.having {
        let mut args = Vec::with_capacity(h.args.len());
        for a in &h.args {
            let v = match a {
                HavingArg::Find(i) => &row[*i],
                HavingArg::Const(c) => c,
            };
            if v.is_nil() {
                return Ok(false);
            }
            args.push(v.clone());
        }
        if !functions::truthy(&ctx.call(&h.name, &args, &h.form)?) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn find(query: &Query, ctx: &Ctx<'_>, rel: Rel) -> QResult<QueryResult> {
    let mut need: Vec<Var> = vec![];
    query.find.iter().for_each(|f| f.vars(&mut need));
    for w in &query.with {
        if !need.contains(w) {
            need.push(w.clone());
        }
    }
    for v in &need {
        if rel.col(v).is_none() {
            return Err(QueryError::at(
                ErrorKind::Unbound,
                format!("find variable {v} is not bound by :where or :in"),
                &query.form,
            ));
        }
    }
    let cols: Vec<usize> = need.iter().filter_map(|v| rel.col(v)).collect();
    // Distinct rows over the find and :with variables: moved out of the relation, then
    // sorted and deduplicated (the result is sorted anyway unless :order-by says otherwise).
    let identity = cols.iter().copied().eq(0..rel.vars.len());
    let (rel_distinct, width) = (rel.distinct, rel.vars.len());
    let repeats = (1..cols.len()).any(|i| cols[..i].contains(&cols[i]));
    let mut kept_all = cols.clone();
    kept_all.sort_unstable();
    let dedup = !(rel_distinct && kept_all.iter().copied().eq(0..width));
    // Column in `full` of each variable of `need`. Rows are rearranged (each in its own
    // allocation, through one scratch buffer) to be deduplicated or returned; aggregates
    // over rows known distinct read them where they are.
    let mut at: Vec<usize> = (0..cols.len()).collect();
    let mut scratch: Vec<Edn> = Vec::with_capacity(cols.len());
    let mut full: Vec<Vec<Edn>> = rel.rows;
    if !identity && query.has_aggregates() && !dedup {
        at = cols.clone();
    } else if !identity {
        for r in &mut full {
            if repeats {
                scratch.extend(cols.iter().map(|&c| r[c].clone()));
            } else {
                scratch.extend(cols.iter().map(|&c| std::mem::replace(&mut r[c], Edn::Nil)));
            }
            r.clear();
            r.append(&mut scratch);
        }
    }
    ctx.check_time()?;
    let sorted = query.kind != FindKind::Rel || query.has_aggregates() || !query.with.is_empty();
    // A set of rows: deduplicated by hash (the output is sorted below where it must be),
    // unless they are known distinct and every column is kept.
    if dedup {
        full = eval::distinct(full);
    }
    let nfind = query.find.len();
    // Column of each find element within `full`.
    let fcol: Vec<usize> = query
        .find
        .iter()
        .map(|f| {
            f.var()
                .and_then(|x| need.iter().position(|v| v == x))
                .unwrap_or(0)
        })
        .collect();
    let mut rows: Vec<Vec<Edn>> = if query.has_aggregates() {
        let keys: Vec<usize> = (0..nfind)
            .filter(|&i| !query.find[i].is_aggregate())
            .collect();
        // Groups by the key columns, in order of first appearance: a table of group
        // numbers hashed by the key values in place (no key is copied).
        let key_hash = |r: &[Edn]| {
            use std::hash::{BuildHasher, Hash, Hasher};
            let mut h = rustc_hash::FxBuildHasher.build_hasher();
            for &i in &keys {
                r[at[fcol[i]]].hash(&mut h);
            }
            h.finish()
        };
        let same_key =
            |a: &[Edn], b: &[Edn]| keys.iter().all(|&i| a[at[fcol[i]]] == b[at[fcol[i]]]);
        let mut table: hashbrown::HashTable<usize> = hashbrown::HashTable::new();
        let mut groups: Vec<Vec<usize>> = vec![];
        for (n, r) in full.iter().enumerate() {
            let h = key_hash(r);
            match table.find(h, |&g| same_key(&full[groups[g][0]], r)) {
                Some(&g) => groups[g].push(n),
                None => {
                    table.insert_unique(h, groups.len(), |&g| key_hash(&full[groups[g][0]]));
                    groups.push(vec![n]);
                }
            }
        }
        let mut out = vec![];
        let agg = |name: &str, args: &[Edn], var: &Var, members: &[usize]| -> QResult<Edn> {
            if name == "count"
                && !ctx.reg.aggs.contains_key(name)
                && ctx.input_aggregate(name).is_none()
            {
                // The group's size: no vector of its values.
                return Ok(Edn::Long(members.len() as i64));
            }
            let c = need.iter().position(|v| v == var).unwrap_or(0);
            let vals: Vec<&Edn> = members.iter().map(|&n| &full[n][at[c]]).collect();
            if let Some(f) = ctx.input_aggregate(name) {
                let mut all = args.to_vec();
                all.push(Edn::Vector(vals.into_iter().cloned().collect()));
                return f(&all).map_err(|m| {
                    QueryError::at(ErrorKind::Eval, format!("{name}: {m}"), &query.form)
                });
            }
            aggregates::aggregate(name, args, &vals, ctx.reg)
                .map_err(|m| QueryError::at(ErrorKind::Eval, format!("{name}: {m}"), &query.form))
        };
        for members in &groups {
            ctx.tick()?;
            let mut row = vec![];
            for (i, f) in query.find.iter().enumerate() {
                match f {
                    FindElem::Agg { name, args, var } => row.push(agg(name, args, var, members)?),
                    FindElem::Expr(e) => row.push(find_expr(e, ctx, &query.form, &|n, a, v| {
                        agg(n, a, v, members)
                    })?),
                    _ => row.push(full[members[0]][at[fcol[i]]].clone()),
                }
            }
            if having(query, ctx, &row)? {
                out.push(row);
            }
        }
        out
    } else if fcol.iter().copied().eq(0..nfind) {
        // The find columns come first: the rows are the result, less any :with columns.
        for r in &mut full {
            r.truncate(nfind);
        }
        full
    } else {
        full.iter()
            .map(|r| fcol.iter().map(|&c| r[c].clone()).collect())
            .collect()
    };
    if query.order_by.is_empty() {
        if sorted {
            rows.sort_unstable();
        }
    } else {
        rows.sort_by(|a, b| {
            for k in &query.order_by {
                let o = order::compare(&a[k.index], &b[k.index]);
                let o = if k.desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let rows: Vec<Vec<Edn>> = rows
        .into_iter()
        .skip(query.offset)
        .take(query.limit.unwrap_or(usize::MAX))
        .collect();
    let mut rows = rows;
    for (i, f) in query.find.iter().enumerate() {
        if let FindElem::Pull { src, pattern, .. } = f {
            let db = ctx.db(src, &query.form)?;
            let pat = match pattern {
                Term::Const(p) => p.clone(),
                Term::Var(v) => ctx.scalars.get(v).cloned().ok_or_else(|| {
                    QueryError::at(
                        ErrorKind::Unbound,
                        format!("pull pattern variable {v} is not a scalar :in input"),
                        &query.form,
                    )
                })?,
                Term::Blank => {
                    return Err(QueryError::at(
                        ErrorKind::Parse,
                        "pull needs a pattern",
                        &query.form,
                    ))
                }
            };
            let deadline = ctx.deadline.map(|(d, _)| d);
            let pat = levin_datalog::PullPattern::parse(&pat, &ctx.reg.pull_fns)?;
            ctx.check_time()?;
            let ids: Vec<Edn> = rows
                .iter_mut()
                .map(|r| std::mem::replace(&mut r[i], Edn::Nil))
                .collect();
            let pulled = pat.pull_many(db, &ids, deadline).map_err(|e| match e {
                levin_datalog::Error::Timeout(_) => ctx
                    .check_time()
                    .err()
                    .unwrap_or_else(|| QueryError::from(e)),
                e => QueryError::from(e),
            })?;
            for (r, v) in rows.iter_mut().zip(pulled) {
                r[i] = v;
            }
        }
    }
    let ordered = !query.with.is_empty() || !query.order_by.is_empty();
    Ok(QueryResult {
        kind: query.kind,
        rows,
        ret: query.ret.clone(),
        ordered,
    })
}
