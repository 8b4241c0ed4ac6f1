//! EDN -> [`Query`]: the vector and map forms, find specs, bindings, clauses and rules.

use levin_edn::{Edn, Symbol};

use crate::ast::*;
use crate::error::{ErrorKind, QResult, QueryError};

fn err(msg: impl Into<String>, form: &Edn) -> QueryError {
    QueryError::at(ErrorKind::Parse, msg, form)
}

fn sym(e: &Edn) -> Option<&Symbol> {
    e.as_symbol()
}

fn is_var(e: &Edn) -> bool {
    sym(e).is_some_and(|s| s.namespace().is_none() && s.name().starts_with('?'))
}

fn is_src(e: &Edn) -> bool {
    sym(e).is_some_and(|s| s.namespace().is_none() && s.name().starts_with('$'))
}

fn is_blank(e: &Edn) -> bool {
    sym(e).is_some_and(|s| s.namespace().is_none() && s.name() == "_")
}

fn sym_name(s: &Symbol) -> String {
    match s.namespace() {
        Some(ns) => format!("{ns}/{}", s.name()),
        None => s.name().to_owned(),
    }
}

/// A term: variable, `_` or constant (source symbols stay constants).
pub fn term(e: &Edn) -> Term {
    if is_var(e) {
        Term::Var(sym(e).map(|s| s.name().to_owned()).unwrap_or_default())
    } else if is_blank(e) {
        Term::Blank
    } else {
        Term::Const(e.clone())
    }
}

/// Splits the vector form into `keyword -> forms` sections (map form: taken as is).
fn sections(q: &Edn) -> QResult<Vec<(String, Vec<Edn>)>> {
    let mut out: Vec<(String, Vec<Edn>)> = Vec::new();
    match q {
        Edn::Vector(items) | Edn::List(items) => {
            for it in items {
                match it {
                    Edn::Keyword(k) if k.namespace().is_none() => {
                        out.push((k.name().to_owned(), vec![]))
                    }
                    _ => match out.last_mut() {
                        Some((_, v)) => v.push(it.clone()),
                        None => {
                            return Err(err("a query must start with a keyword such as :find", q))
                        }
                    },
                }
            }
        }
        Edn::Map(entries) => {
            for (k, v) in entries {
                let Some(k) = k.as_keyword() else {
                    return Err(err("query map keys must be keywords", q));
                };
                let forms = match (k.name(), v) {
                    ("limit" | "offset" | "timeout" | "max-rows", v) => vec![v.clone()],
                    (_, Edn::Vector(xs) | Edn::List(xs)) => xs.clone(),
                    (_, v) => vec![v.clone()],
                };
                out.push((k.name().to_owned(), forms));
            }
        }
        _ => return Err(err("a query must be a vector or a map", q)),
    }
    Ok(out)
}

/// Parses a query form.
pub fn parse_query(q: &Edn) -> QResult<Query> {
    let mut query = Query {
        find: vec![],
        kind: FindKind::Rel,
        ret: None,
        with: vec![],
        inputs: vec![In::Source("$".into())],
        clauses: vec![],
        rules: vec![],
        having: vec![],
        order_by: vec![],
        limit: None,
        offset: 0,
        timeout_ms: None,
        max_rows: None,
        form: q.clone(),
    };
    let mut find_forms = None;
    let mut ret = None;
    let mut order = None;
    let mut having = None;
    for (k, forms) in sections(q)? {
        match k.as_str() {
            "find" => find_forms = Some(forms),
            "in" => {
                query.inputs = forms.iter().map(parse_in).collect::<QResult<_>>()?;
            }
            "where" => {
                query.clauses = parse_clauses(&forms)?;
            }
            "with" => {
                for f in &forms {
                    if !is_var(f) {
                        return Err(err(":with takes variables", f));
                    }
                    query
                        .with
                        .push(sym(f).map(|s| s.name().to_owned()).unwrap_or_default());
                }
            }
            "keys" | "strs" | "syms" => {
                let names: Vec<String> = forms
                    .iter()
                    .map(|f| match f {
                        Edn::Symbol(s) => Ok(sym_name(s)),
                        Edn::Keyword(k) => Ok(k.to_string().trim_start_matches(':').to_string()),
                        Edn::String(s) => Ok(s.as_str().to_owned()),
                        _ => Err(err(format!(":{k} takes symbols"), f)),
                    })
                    .collect::<QResult<_>>()?;
                ret = Some(match k.as_str() {
                    "keys" => ReturnMap::Keys(names),
                    "strs" => ReturnMap::Strs(names),
                    _ => ReturnMap::Syms(names),
                });
            }
            "order-by" => {
                order = Some(match forms.as_slice() {
                    [Edn::Vector(xs)] => xs.clone(),
                    _ => forms,
                })
            }
            "limit" | "offset" | "timeout" | "max-rows" => {
                let v = match forms.as_slice() {
                    [Edn::Long(n)] if *n >= 0 => Some(*n as u64),
                    [Edn::Nil] => None,
                    _ => return Err(err(format!(":{k} takes one non-negative integer"), q)),
                };
                match k.as_str() {
                    "limit" => query.limit = v.map(|n| n as usize),
                    "offset" => query.offset = v.unwrap_or(0) as usize,
                    "max-rows" => {
                        query.max_rows = v.map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                    }
                    _ => query.timeout_ms = v,
                }
            }
            "having" => having = Some(forms),
            other => return Err(err(format!("unknown query section :{other}"), q)),
        }
    }
    let Some(find) = find_forms else {
        return Err(err("a query needs :find", q));
    };
    parse_find(&find, &mut query, q)?;
    if let Some(r) = ret {
        let n = match &r {
            ReturnMap::Keys(v) | ReturnMap::Strs(v) | ReturnMap::Syms(v) => v.len(),
        };
        if !matches!(query.kind, FindKind::Rel | FindKind::Tuple) {
            return Err(err(":keys/:strs/:syms need a relation or tuple find", q));
        }
        if n != query.find.len() {
            return Err(err(
                format!("{n} return keys for {} find elements", query.find.len()),
                q,
            ));
        }
        query.ret = Some(r);
    }
    if let Some(forms) = order {
        parse_order(&forms, &mut query)?;
    }
    if let Some(forms) = having {
        query.having = forms
            .iter()
            .map(|f| parse_having(f, &query.find))
            .collect::<QResult<_>>()?;
    }
    plain_inputs(&mut query);
    if query.clauses.is_empty()
        && query
            .find
            .iter()
            .any(|f| !matches!(f, FindElem::Agg { .. }))
    {
        // Allowed: variables may all come from :in.
    }
    Ok(query)
}

fn parse_order(forms: &[Edn], query: &mut Query) -> QResult<()> {
    let mut i = 0;
    while i < forms.len() {
        let f = &forms[i];
        let index = if is_var(f) {
            let name = &sym(f).map(|s| s.name().to_owned()).unwrap_or_default();
            query
                .find
                .iter()
                .position(|e| matches!(e, FindElem::Var(v) if v == name))
                .or_else(|| query.find.iter().position(|e| e.var() == Some(name)))
                .ok_or_else(|| err(":order-by variable is not in :find", f))?
        } else if let Edn::Long(n) = f {
            let n = *n as usize;
            if n >= query.find.len() {
                return Err(err(":order-by index out of range", f));
            }
            n
        } else {
            return Err(err(":order-by takes find variables or positions, each optionally followed by :asc or :desc", f));
        };
        let mut desc = false;
        if let Some(Edn::Keyword(k)) = forms.get(i + 1) {
            match k.name() {
                "asc" => {}
                "desc" => desc = true,
                _ => return Err(err("expected :asc or :desc", &forms[i + 1])),
            }
            i += 1;
        }
        query.order_by.push(OrderKey { index, desc });
        i += 1;
    }
    Ok(())
}

fn parse_find(forms: &[Edn], query: &mut Query, q: &Edn) -> QResult<()> {
    if forms.is_empty() {
        return Err(err(":find needs at least one element", q));
    }
    let is_dot = |e: &Edn| sym(e).is_some_and(|s| s.namespace().is_none() && s.name() == ".");
    let is_ellipsis =
        |e: &Edn| sym(e).is_some_and(|s| s.namespace().is_none() && s.name() == "...");
    match forms {
        [x, dot] if is_dot(dot) => {
            query.kind = FindKind::Scalar;
            query.find = vec![parse_find_elem(x)?];
        }
        [Edn::Vector(xs)] if xs.len() == 2 && is_ellipsis(&xs[1]) => {
            query.kind = FindKind::Coll;
            query.find = vec![parse_find_elem(&xs[0])?];
        }
        [Edn::Vector(xs)] => {
            if xs.is_empty() || xs.iter().any(is_ellipsis) {
                return Err(err("bad find spec", &forms[0]));
            }
            query.kind = FindKind::Tuple;
            query.find = xs.iter().map(parse_find_elem).collect::<QResult<_>>()?;
        }
        _ => {
            if forms
                .iter()
                .any(|f| is_dot(f) || is_ellipsis(f) || f.as_vec().is_some())
            {
                return Err(err("bad find spec", &Edn::Vector(forms.to_vec())));
            }
            query.find = forms.iter().map(parse_find_elem).collect::<QResult<_>>()?;
        }
    }
    Ok(())
}

fn var_name(e: &Edn) -> Option<String> {
    if is_var(e) {
        sym(e).map(|s| s.name().to_owned())
    } else {
        None
    }
}

fn parse_find_elem(e: &Edn) -> QResult<FindElem> {
    if let Some(v) = var_name(e) {
        return Ok(FindElem::Var(v));
    }
    let Edn::List(items) = e else {
        return Err(err(
            "bad find element: expected a variable, (pull ...) or an aggregate",
            e,
        ));
    };
    let Some(head) = items.first().and_then(sym) else {
        return Err(err("bad find element", e));
    };
    let name = sym_name(head);
    if name == "pull" {
        let (src, rest) = match items.get(1) {
            Some(s) if is_src(s) => (
                sym(s).map(|s| s.name().to_owned()).unwrap_or_default(),
                &items[2..],
            ),
            _ => ("$".to_string(), &items[1..]),
        };
        let [ev, pat] = rest else {
            return Err(err("pull takes a variable and a pattern", e));
        };
        let Some(var) = var_name(ev) else {
            return Err(err("pull takes a variable", e));
        };
        return Ok(FindElem::Pull {
            src,
            var,
            pattern: term(pat),
        });
    }
    if name == "aggregate" {
        // (aggregate ?f args... ?x): the aggregate an input holds, named by its variable.
        return match (
            items.get(1).and_then(var_name),
            items.last().and_then(var_name),
        ) {
            (Some(f), Some(var)) if items.len() >= 3 => Ok(FindElem::Agg {
                name: f,
                args: items[2..items.len() - 1].to_vec(),
                var,
            }),
            _ => Err(err("a custom aggregate is (aggregate ?f args... ?x)", e)),
        };
    }
    if FIND_OPS.contains(&name.as_str()) {
        return Ok(FindElem::Expr(parse_find_expr(e)?));
    }
    let Some(last) = items.last().and_then(var_name) else {
        return Err(err("an aggregate's last argument must be a variable", e));
    };
    let args = items[1..items.len() - 1].to_vec();
    if items.len() < 2 {
        return Err(err("bad aggregate", e));
    }
    Ok(FindElem::Agg {
        name,
        args,
        var: last,
    })
}

/// The operators of find expressions.
const FIND_OPS: [&str; 7] = ["+", "-", "*", "/", "mod", "rem", "quot"];

/// `(op arg...)` in `:find` or `:having`: each argument an aggregate, a nested expression
/// or a constant.
fn parse_find_expr(e: &Edn) -> QResult<FindExpr> {
    let Some((op, args)) = e
        .as_list()
        .and_then(|xs| Some((sym_name(sym(xs.first()?)?), &xs[1..])))
    else {
        return Err(err("bad find expression", e));
    };
    if args.is_empty() {
        return Err(err(format!("{op} in :find needs arguments"), e));
    }
    let args = args
        .iter()
        .map(|a| match a {
            Edn::List(_) => expr_arg(a),
            Edn::Symbol(_) => Err(err(
                format!(
                    "the arguments of {op} in :find are aggregates, arithmetic over them or constants, not {a}"
                ),
                e,
            )),
            c => Ok(ExprArg::Const(c.clone())),
        })
        .collect::<QResult<_>>()?;
    Ok(FindExpr { op, args })
}

/// An aggregate or an arithmetic expression (a list).
fn expr_arg(a: &Edn) -> QResult<ExprArg> {
    let head = a
        .as_list()
        .and_then(|xs| xs.first())
        .and_then(sym)
        .map(sym_name);
    if head.as_deref().is_some_and(|h| FIND_OPS.contains(&h)) {
        return Ok(ExprArg::Expr(parse_find_expr(a)?));
    }
    match parse_find_elem(a)? {
        FindElem::Agg { name, args, var } => Ok(ExprArg::Agg { name, args, var }),
        _ => Err(err("expected an aggregate", a)),
    }
}

/// One `:having` predicate `[(pred arg...)]`; aggregate and expression arguments must be
/// find elements.
fn parse_having(f: &Edn, find: &[FindElem]) -> QResult<Having> {
    let bad = || {
        err(
            ":having takes predicates [(pred arg...)] whose arguments are aggregates or arithmetic over them (as in :find) or constants",
            f,
        )
    };
    let call = match f {
        Edn::Vector(xs) if xs.len() == 1 => xs[0].as_list().ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    let name = call.first().and_then(sym).map(sym_name).ok_or_else(bad)?;
    let mut args = vec![];
    for a in &call[1..] {
        args.push(match a {
            Edn::List(_) => {
                let want = match expr_arg(a)? {
                    ExprArg::Agg { name, args, var } => FindElem::Agg { name, args, var },
                    ExprArg::Expr(x) => FindElem::Expr(x),
                    ExprArg::Const(_) => return Err(bad()),
                };
                let i = find.iter().position(|x| *x == want).ok_or_else(|| {
                    err(
                        format!(":having can only test aggregates that are in :find; {a} is not"),
                        f,
                    )
                })?;
                HavingArg::Find(i)
            }
            Edn::Symbol(_) => return Err(bad()),
            c => HavingArg::Const(c.clone()),
        });
    }
    Ok(Having {
        name,
        args,
        form: f.clone(),
    })
}

/// Plain symbols in `:in` (`:in $ pattern`) are inputs like `?x` ones: their uses in the
/// query become variables.
fn plain_inputs(query: &mut Query) {
    let names: Vec<String> = query
        .inputs
        .iter()
        .filter_map(|i| match i {
            In::Bind(Binding::Scalar(v)) if !v.starts_with('?') => Some(v.clone()),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        return;
    }
    let fix = |t: &mut Term| {
        if let Term::Const(Edn::Symbol(s)) = t {
            if s.namespace().is_none() && names.iter().any(|n| n == s.name()) {
                *t = Term::Var(s.name().to_owned());
            }
        }
    };
    fn walk(c: &mut Clause, fix: &dyn Fn(&mut Term)) {
        match c {
            Clause::Pattern(p) => {
                p.terms.iter_mut().for_each(fix);
                for t in [&mut p.e, &mut p.a, &mut p.v] {
                    fix(t);
                }
            }
            Clause::Pred { args, .. } | Clause::Fn { args, .. } | Clause::RuleCall { args, .. } => {
                args.iter_mut().for_each(fix)
            }
            Clause::Not { body, .. } => body.iter_mut().for_each(|c| walk(c, fix)),
            Clause::Or { branches, .. } => branches.iter_mut().flatten().for_each(|c| walk(c, fix)),
        }
    }
    query.clauses.iter_mut().for_each(|c| walk(c, &fix));
    for f in &mut query.find {
        if let FindElem::Pull { pattern, .. } = f {
            fix(pattern);
        }
    }
}

fn is_plain(e: &Edn) -> bool {
    sym(e).is_some_and(|s| {
        s.namespace().is_none()
            && !s.name().starts_with(['?', '$', '%'])
            && !matches!(s.name(), "_" | "..." | ".")
    })
}

fn parse_in(e: &Edn) -> QResult<In> {
    if is_src(e) {
        return Ok(In::Source(
            sym(e).map(|s| s.name().to_owned()).unwrap_or_default(),
        ));
    }
    if sym(e).is_some_and(|s| s.namespace().is_none() && s.name() == "%") {
        return Ok(In::Rules);
    }
    if is_plain(e) {
        return Ok(In::Bind(Binding::Scalar(
            sym(e).map(|s| s.name().to_owned()).unwrap_or_default(),
        )));
    }
    Ok(In::Bind(parse_binding(e)?))
}

/// A binding form.
pub fn parse_binding(e: &Edn) -> QResult<Binding> {
    if let Some(v) = var_name(e) {
        return Ok(Binding::Scalar(v));
    }
    if is_blank(e) {
        return Ok(Binding::Blank);
    }
    let Edn::Vector(xs) = e else {
        return Err(err(
            "bad binding form: expected ?var, _, [?a ?b], [?x ...] or [[?a ?b]]",
            e,
        ));
    };
    match xs.as_slice() {
        [] => Err(err("empty binding form", e)),
        [x, dots] if sym(dots).is_some_and(|s| s.name() == "...") => {
            Ok(Binding::Coll(Box::new(parse_binding(x)?)))
        }
        [inner @ Edn::Vector(_)] => Ok(Binding::Rel(Box::new(parse_binding(inner)?))),
        _ => Ok(Binding::Tuple(
            xs.iter().map(parse_binding).collect::<QResult<_>>()?,
        )),
    }
}

fn parse_terms(xs: &[Edn]) -> Vec<Term> {
    xs.iter().map(term).collect()
}

/// `:where` clauses (or a rule's or branch's body). A function call nested as an
/// argument, `[(f (g ?x) ?y)]`, becomes a clause of its own that binds a fresh variable,
/// placed before the clause that uses it.
pub fn parse_clauses(forms: &[Edn]) -> QResult<Vec<Clause>> {
    let mut out = Vec::with_capacity(forms.len());
    for f in forms {
        let c = parse_clause_pre(f, &mut out)?;
        out.push(c);
    }
    Ok(out)
}

/// The prefix of the fresh variables that hold the values of nested calls; a nil result
/// binds them rather than removing the row (see `eval::Ctx::func`).
pub const NESTED_PREFIX: &str = "?__call";

static NESTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The arguments of a function call; nested calls (lists) go to `pre` as clauses of their
/// own, replaced here by their fresh variables.
fn call_args(xs: &[Edn], pre: &mut Vec<Clause>) -> QResult<Vec<Term>> {
    xs.iter()
        .map(|x| match x {
            Edn::List(call) if call.first().and_then(sym).is_some() => {
                let head = call.first().and_then(sym).map(sym_name).unwrap_or_default();
                if head == "quote" {
                    return Ok(Term::Const(call.get(1).cloned().unwrap_or(Edn::Nil)));
                }
                let args = call_args(&call[1..], pre)?;
                let n = NESTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let var = format!("{NESTED_PREFIX}{n}");
                pre.push(Clause::Fn {
                    name: head,
                    args,
                    binding: Binding::Scalar(var.clone()),
                    form: Edn::Vector(vec![x.clone(), Edn::sym(&var)]),
                });
                Ok(Term::Var(var))
            }
            _ => Ok(term(x)),
        })
        .collect()
}

fn parse_clause_pre(e: &Edn, pre: &mut Vec<Clause>) -> QResult<Clause> {
    match e {
        Edn::Vector(xs) => {
            if xs.is_empty() {
                return Err(err("empty clause", e));
            }
            if let Edn::List(call) = &xs[0] {
                let Some(head) = call.first().and_then(sym) else {
                    return Err(err("a function call needs a symbol", e));
                };
                let mut name = sym_name(head);
                let mut args = call_args(&call[1..], pre)?;
                if is_var(&call[0]) {
                    // [(?f args...)] calls the function ?f holds: (apply ?f args... []).
                    args.insert(0, Term::Var(name));
                    args.push(Term::Const(Edn::Vector(vec![])));
                    name = "apply".into();
                }
                return match xs.len() {
                    1 => Ok(Clause::Pred {
                        name,
                        args,
                        form: e.clone(),
                    }),
                    2 => Ok(Clause::Fn {
                        name,
                        args,
                        binding: parse_binding(&xs[1])?,
                        form: e.clone(),
                    }),
                    _ => Err(err(
                        "a function clause is [(f args...)] or [(f args...) binding]",
                        e,
                    )),
                };
            }
            let (src, rest) = if is_src(&xs[0]) {
                (
                    sym(&xs[0]).map(|s| s.name().to_owned()).unwrap_or_default(),
                    &xs[1..],
                )
            } else {
                ("$".to_string(), &xs[..])
            };
            if rest.is_empty() {
                return Err(err("a pattern needs at least one element", e));
            }
            if rest.iter().any(|x| matches!(x, Edn::List(_))) {
                return Err(err("malformed pattern", e));
            }
            let terms = parse_terms(rest);
            let get = |i: usize| terms.get(i).cloned().unwrap_or(Term::Blank);
            Ok(Clause::Pattern(Pattern {
                src,
                e: get(0),
                a: get(1),
                v: get(2),
                terms,
            }))
        }
        Edn::List(xs) => {
            let (xs, src, src_name) = match xs.first() {
                Some(s) if is_src(s) => (
                    &xs[1..],
                    true,
                    sym(s).map(|s| s.name().to_owned()).unwrap_or_default(),
                ),
                _ => (&xs[..], false, String::new()),
            };
            let Some(head) = xs.first().and_then(sym) else {
                return Err(err("malformed clause", e));
            };
            let name = sym_name(head);
            if src && matches!(name.as_str(), "not" | "not-join" | "or" | "or-join") {
                // ($2 not ...): $2 is the default source inside.
                let inner = Edn::List(xs.to_vec());
                let mut c = parse_clause_pre(&inner, pre)?;
                set_default_src(&mut c, &src_name);
                match &mut c {
                    Clause::Not { form, .. } | Clause::Or { form, .. } => *form = e.clone(),
                    _ => {}
                }
                return Ok(c);
            }
            match name.as_str() {
                "not" => {
                    if xs.len() < 2 {
                        return Err(err("not needs at least one clause", e));
                    }
                    Ok(Clause::Not {
                        vars: None,
                        body: parse_clauses(&xs[1..])?,
                        form: e.clone(),
                    })
                }
                "not-join" => {
                    let Some(Edn::Vector(vs)) = xs.get(1) else {
                        return Err(err("not-join needs a vector of variables", e));
                    };
                    let vars = vs
                        .iter()
                        .map(|v| var_name(v).ok_or_else(|| err("not-join takes variables", e)))
                        .collect::<QResult<_>>()?;
                    if xs.len() < 3 {
                        return Err(err("not-join needs at least one clause", e));
                    }
                    Ok(Clause::Not {
                        vars: Some(vars),
                        body: parse_clauses(&xs[2..])?,
                        form: e.clone(),
                    })
                }
                "or" | "or-join" => {
                    let (vars, required, start) = if name == "or-join" {
                        let Some(Edn::Vector(vs)) = xs.get(1) else {
                            return Err(err("or-join needs a vector of variables", e));
                        };
                        let mut vars = vec![];
                        let mut req = vec![];
                        for v in vs {
                            match v {
                                Edn::Vector(rs) => {
                                    for r in rs {
                                        let n = var_name(r)
                                            .ok_or_else(|| err("or-join takes variables", e))?;
                                        req.push(n.clone());
                                        vars.push(n);
                                    }
                                }
                                _ => vars.push(
                                    var_name(v).ok_or_else(|| err("or-join takes variables", e))?,
                                ),
                            }
                        }
                        (Some(vars), req, 2)
                    } else {
                        (None, vec![], 1)
                    };
                    if xs.len() <= start {
                        return Err(err(format!("{name} needs at least one branch"), e));
                    }
                    let mut branches = vec![];
                    for b in &xs[start..] {
                        match b {
                            Edn::List(ys)
                                if ys.first().and_then(sym).is_some_and(|s| {
                                    s.name() == "and" && s.namespace().is_none()
                                }) =>
                            {
                                if ys.len() < 2 {
                                    return Err(err("and needs at least one clause", b));
                                }
                                branches.push(parse_clauses(&ys[1..])?)
                            }
                            _ => branches.push(parse_clauses(std::slice::from_ref(b))?),
                        }
                    }
                    let mut vars = vars;
                    let mut required = required;
                    if vars.is_none() {
                        // A variable missing from some branch must be bound before the
                        // `or` runs (by `:in` or an earlier clause); the planner waits for
                        // it, and refuses the query if nothing binds it. The fresh
                        // variables of nested calls are each branch's own: not joined.
                        let mut fresh = false;
                        let per_branch: Vec<Vec<Var>> = branches
                            .iter()
                            .map(|b| {
                                let mut vs = vec![];
                                b.iter().for_each(|c| c.vars(&mut vs));
                                let n = vs.len();
                                vs.retain(|v| !v.starts_with(NESTED_PREFIX));
                                fresh |= vs.len() != n;
                                vs
                            })
                            .collect();
                        let mut all: Vec<Var> = vec![];
                        for v in per_branch.iter().flatten() {
                            if !all.contains(v) {
                                all.push(v.clone());
                            }
                        }
                        required = all
                            .iter()
                            .filter(|v| !per_branch.iter().all(|vs| vs.contains(v)))
                            .cloned()
                            .collect();
                        if fresh {
                            vars = Some(all);
                        }
                    }
                    Ok(Clause::Or {
                        vars,
                        required,
                        branches,
                        form: e.clone(),
                    })
                }
                "and" => Err(err("and is only allowed inside or", e)),
                _ => {
                    // A source prefix stays in `form`: `rule_sources` in lib.rs reads it.
                    Ok(Clause::RuleCall {
                        name,
                        args: parse_terms(&xs[1..]),
                        form: e.clone(),
                    })
                }
            }
        }
        _ => Err(err("malformed clause: expected a vector or a list", e)),
    }
}

/// Makes `src` the default source (`$`) of `c` and everything inside it.
pub(crate) fn set_default_src(c: &mut Clause, src: &str) {
    match c {
        Clause::Pattern(p) => {
            if p.src == "$" {
                p.src = src.to_string();
            }
        }
        Clause::Pred { args, .. } | Clause::Fn { args, .. } => {
            for a in args {
                if matches!(a, Term::Const(Edn::Symbol(s)) if s.namespace().is_none() && s.name() == "$")
                {
                    *a = Term::Const(Edn::sym(src));
                }
            }
        }
        Clause::Not { body, .. } => body.iter_mut().for_each(|c| set_default_src(c, src)),
        Clause::Or { branches, .. } => branches
            .iter_mut()
            .flatten()
            .for_each(|c| set_default_src(c, src)),
        Clause::RuleCall { .. } => {}
    }
}

/// Parses a rule set `[[(name ?a ?b) clauses...] ...]`.
pub fn parse_rules(e: &Edn) -> QResult<Vec<Rule>> {
    let Some(rs) = e.as_seq() else {
        return Err(err("rules must be a vector of rule clauses", e));
    };
    let mut out = vec![];
    for r in rs {
        let Some(items) = r.as_vec() else {
            return Err(err("a rule is [(name ?vars...) clauses...]", r));
        };
        let Some(Edn::List(head)) = items.first() else {
            return Err(err("a rule is [(name ?vars...) clauses...]", r));
        };
        let Some(name) = head.first().and_then(sym).map(sym_name) else {
            return Err(err("a rule head needs a name", r));
        };
        let mut vars = vec![];
        for h in &head[1..] {
            match h {
                Edn::Vector(req) => {
                    for x in req {
                        vars.push(var_name(x).ok_or_else(|| err("rule head takes variables", r))?);
                    }
                }
                _ => vars.push(var_name(h).ok_or_else(|| err("rule head takes variables", r))?),
            }
        }
        if items.len() < 2 {
            return Err(err("a rule needs a body", r));
        }
        out.push(Rule {
            name,
            head: vars,
            body: parse_clauses(&items[1..])?,
        });
    }
    Ok(out)
}
