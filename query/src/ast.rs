//! The parsed, typed form of a query.

use levin_edn::Edn;

/// A variable name, e.g. `?e`.
pub type Var = String;

/// A term in a pattern, call or rule call.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// `?x`
    Var(Var),
    /// `_`
    Blank,
    /// A constant.
    Const(Edn),
}

impl Term {
    /// The variable, if any.
    pub fn var(&self) -> Option<&Var> {
        match self {
            Term::Var(v) => Some(v),
            _ => None,
        }
    }
}

/// How values bind to variables (`:in` and function results).
#[derive(Debug, Clone, PartialEq)]
pub enum Binding {
    /// `?x`
    Scalar(Var),
    /// `_`
    Blank,
    /// `[?a ?b]`
    Tuple(Vec<Binding>),
    /// `[?x ...]`
    Coll(Box<Binding>),
    /// `[[?a ?b]]`
    Rel(Box<Binding>),
}

impl Binding {
    /// Variables bound, in order.
    pub fn vars(&self, out: &mut Vec<Var>) {
        match self {
            Binding::Scalar(v) => {
                if !out.contains(v) {
                    out.push(v.clone())
                }
            }
            Binding::Blank => {}
            Binding::Tuple(bs) => bs.iter().for_each(|b| b.vars(out)),
            Binding::Coll(b) | Binding::Rel(b) => b.vars(out),
        }
    }
}

/// One `:in` element.
#[derive(Debug, Clone, PartialEq)]
pub enum In {
    /// `$` or `$name`.
    Source(String),
    /// `%`
    Rules,
    /// Any other binding.
    Bind(Binding),
}

/// A find element.
#[derive(Debug, Clone, PartialEq)]
pub enum FindElem {
    /// `?x`
    Var(Var),
    /// `(pull $? ?e pattern)`; the pattern is a constant or an input variable.
    Pull {
        /// Source name.
        src: String,
        /// Entity variable.
        var: Var,
        /// The pattern, or the variable holding it.
        pattern: Term,
    },
    /// `(agg args... ?x)`
    Agg {
        /// The aggregate's name.
        name: String,
        /// Constant arguments before the variable (e.g. `n` of `(min n ?x)`).
        args: Vec<Edn>,
        /// The aggregated variable.
        var: Var,
    },
    /// Arithmetic over aggregates, e.g. `(/ (sum ?x) (count ?x))`.
    Expr(FindExpr),
}

/// An argument of a find expression or a `:having` predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprArg {
    /// An aggregate `(name args... ?x)`.
    Agg {
        /// The aggregate's name.
        name: String,
        /// Constant arguments before the variable.
        args: Vec<Edn>,
        /// The aggregated variable.
        var: Var,
    },
    /// A nested arithmetic expression.
    Expr(FindExpr),
    /// A constant.
    Const(Edn),
}

/// `(op args...)` over aggregates and constants; `op` is one of `+ - * / mod rem quot`.
#[derive(Debug, Clone, PartialEq)]
pub struct FindExpr {
    /// The operator.
    pub op: String,
    /// Its arguments.
    pub args: Vec<ExprArg>,
}

impl FindExpr {
    /// The aggregated variables inside, in order.
    pub fn vars(&self, out: &mut Vec<Var>) {
        for a in &self.args {
            match a {
                ExprArg::Agg { var, .. } => {
                    if !out.contains(var) {
                        out.push(var.clone())
                    }
                }
                ExprArg::Expr(e) => e.vars(out),
                ExprArg::Const(_) => {}
            }
        }
    }
}

/// One `:having` predicate `[(pred arg...)]`, each argument an aggregate or find expression
/// that is also in `:find`, or a constant.
#[derive(Debug, Clone, PartialEq)]
pub struct Having {
    /// The predicate's name.
    pub name: String,
    /// Its arguments.
    pub args: Vec<HavingArg>,
    /// The predicate as written.
    pub form: Edn,
}

/// An argument of a `:having` predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum HavingArg {
    /// The value of find element `n` (an aggregate or find expression).
    Find(usize),
    /// A constant.
    Const(Edn),
}

impl FindElem {
    /// The variable this element reads (for a find expression: its first aggregated
    /// variable, if any; see [`FindElem::vars`]).
    pub fn var(&self) -> Option<&Var> {
        match self {
            FindElem::Var(v) => Some(v),
            FindElem::Pull { var, .. } | FindElem::Agg { var, .. } => Some(var),
            FindElem::Expr(e) => e.args.iter().find_map(|a| match a {
                ExprArg::Agg { var, .. } => Some(var),
                _ => None,
            }),
        }
    }

    /// Every variable this element reads.
    pub fn vars(&self, out: &mut Vec<Var>) {
        match self {
            FindElem::Expr(e) => e.vars(out),
            _ => {
                if let Some(v) = self.var() {
                    if !out.contains(v) {
                        out.push(v.clone())
                    }
                }
            }
        }
    }

    /// Whether this element is computed per group (an aggregate or a find expression).
    pub fn is_aggregate(&self) -> bool {
        matches!(self, FindElem::Agg { .. } | FindElem::Expr(_))
    }
}

/// The shape of the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindKind {
    /// A set of tuples.
    Rel,
    /// `?x .`
    Scalar,
    /// `[?x ...]`
    Coll,
    /// `[?a ?b]`
    Tuple,
}

/// `:keys`, `:strs` or `:syms`.
#[derive(Debug, Clone, PartialEq)]
pub enum ReturnMap {
    /// `:keys`
    Keys(Vec<String>),
    /// `:strs`
    Strs(Vec<String>),
    /// `:syms`
    Syms(Vec<String>),
}

/// A data pattern `[$src e a v]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Source.
    pub src: String,
    /// Entity, attribute, value (missing trailing elements are `Blank`).
    pub e: Term,
    /// Attribute.
    pub a: Term,
    /// Value.
    pub v: Term,
    /// For a collection source, all terms (tuples of any length).
    pub terms: Vec<Term>,
}

/// A clause of `:where` or a rule body.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// A data pattern.
    Pattern(Pattern),
    /// `[(pred args...)]`
    Pred {
        /// Function name.
        name: String,
        /// Arguments.
        args: Vec<Term>,
        /// The clause as written.
        form: Edn,
    },
    /// `[(f args...) binding]`
    Fn {
        /// Function name.
        name: String,
        /// Arguments.
        args: Vec<Term>,
        /// Binding of the result.
        binding: Binding,
        /// The clause as written.
        form: Edn,
    },
    /// `(not ...)` / `(not-join [vars] ...)`; `vars` is None for `not`.
    Not {
        /// Join variables (`not-join`), or all the body's variables that are bound outside.
        vars: Option<Vec<Var>>,
        /// Body.
        body: Vec<Clause>,
        /// The clause as written.
        form: Edn,
    },
    /// `(or ...)` / `(or-join [[req] vars] ...)`.
    Or {
        /// Join variables (`or-join`), or None for `or`.
        vars: Option<Vec<Var>>,
        /// Required-bound variables of `or-join`.
        required: Vec<Var>,
        /// Branches (each an implicit `and`).
        branches: Vec<Vec<Clause>>,
        /// The clause as written.
        form: Edn,
    },
    /// `(rule args...)`.
    RuleCall {
        /// Rule name.
        name: String,
        /// Arguments.
        args: Vec<Term>,
        /// The clause as written.
        form: Edn,
    },
}

impl Clause {
    /// Every variable mentioned (for `not-join`/`or-join`: the join variables).
    pub fn vars(&self, out: &mut Vec<Var>) {
        fn add(out: &mut Vec<Var>, t: &Term) {
            if let Term::Var(v) = t {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
        match self {
            Clause::Pattern(p) => p.terms.iter().for_each(|t| add(out, t)),
            Clause::Pred { args, .. } | Clause::RuleCall { args, .. } => {
                args.iter().for_each(|t| add(out, t))
            }
            Clause::Fn { args, binding, .. } => {
                args.iter().for_each(|t| add(out, t));
                binding.vars(out);
            }
            Clause::Not { vars, body, .. } => match vars {
                Some(vs) => vs.iter().for_each(|v| add(out, &Term::Var(v.clone()))),
                None => body.iter().for_each(|c| c.vars(out)),
            },
            Clause::Or { vars, branches, .. } => match vars {
                Some(vs) => vs.iter().for_each(|v| add(out, &Term::Var(v.clone()))),
                None => branches.iter().flatten().for_each(|c| c.vars(out)),
            },
        }
    }
}

/// One rule clause `[(name ?a ?b) body...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Name.
    pub name: String,
    /// Head variables (required-bound `[?a]` groups are flattened).
    pub head: Vec<Var>,
    /// Body.
    pub body: Vec<Clause>,
}

/// `:order-by` key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    /// Index of the find element.
    pub index: usize,
    /// Descending?
    pub desc: bool,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Find elements.
    pub find: Vec<FindElem>,
    /// Result shape.
    pub kind: FindKind,
    /// `:keys`/`:strs`/`:syms`.
    pub ret: Option<ReturnMap>,
    /// `:with` variables.
    pub with: Vec<Var>,
    /// `:in` (defaults to `[$]`).
    pub inputs: Vec<In>,
    /// `:where`.
    pub clauses: Vec<Clause>,
    /// Rules given inline via `%` are added at run time; this holds none.
    pub rules: Vec<Rule>,
    /// `:having`: predicates over the groups' aggregates.
    pub having: Vec<Having>,
    /// `:order-by`.
    pub order_by: Vec<OrderKey>,
    /// `:limit`.
    pub limit: Option<usize>,
    /// `:offset`.
    pub offset: usize,
    /// `:timeout` in milliseconds.
    pub timeout_ms: Option<u64>,
    /// `:max-rows`: the row limit of this query's intermediate results (a Levin
    /// extension; [`crate::Registry::max_rows`] otherwise).
    pub max_rows: Option<usize>,
    /// The query as written.
    pub form: Edn,
}

impl Query {
    /// How many inputs `:in` takes (`$` included; a query without `:in` takes `$`).
    pub fn input_count(&self) -> usize {
        self.inputs.len()
    }

    /// Where `$` (the default database) is in `:in`, if it is there.
    pub fn default_source_position(&self) -> Option<usize> {
        self.inputs
            .iter()
            .position(|i| matches!(i, In::Source(name) if name == "$"))
    }

    /// Whether the query aggregates.
    pub fn has_aggregates(&self) -> bool {
        self.find.iter().any(FindElem::is_aggregate)
    }
}
