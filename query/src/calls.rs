//! Calls that need the query's context: function values (`[(?f ?x)]` with a function
//! passed as an input, `apply`, `complement`), input aggregates (`(aggregate ?f ?x)`) and
//! nested queries (`[(q query $ ?x) binding]`).

use levin_edn::Edn;

use crate::error::{ErrorKind, QResult, QueryError};
use crate::eval::{Ctx, Source};
use crate::functions::{truthy, UserFn};
use crate::{Input, Registry};

impl<'a> Ctx<'a> {
    /// Whether `name` can be called: registered, built in, or an input variable holding a
    /// function ([`Input::Fn`]).
    pub(crate) fn is_function(&self, name: &str) -> bool {
        self.reg.fns.contains_key(name)
            || crate::functions::is_builtin(name)
            || matches!(name, "get-else" | "get-some" | "missing?")
            || self.input_fns.contains_key(name)
    }

    /// The function an input variable (`?f` of `(aggregate ?f ?x)`) holds as an aggregate:
    /// a function passed as [`Input::Fn`], or the name of a registered aggregate.
    pub(crate) fn input_aggregate(&self, name: &str) -> Option<UserFn> {
        if let Some(f) = self.input_fns.get(name) {
            return Some(f.clone());
        }
        match self.scalars.get(name) {
            Some(Edn::Symbol(s)) => self.reg.aggs.get(&s.to_string()).cloned(),
            _ => None,
        }
    }

    /// Calls the built-ins of this module and functions held by input variables; `None`
    /// for any other name.
    pub(crate) fn call_in_context(
        &self,
        name: &str,
        args: &[Edn],
        form: &Edn,
    ) -> Option<QResult<Edn>> {
        let eval_err = |m: String| QueryError::at(ErrorKind::Eval, format!("{name}: {m}"), form);
        if name.starts_with('?') {
            return Some(match self.input_fns.get(name) {
                Some(f) => f(args).map_err(|e| eval_err(e.to_string())),
                None => Err(QueryError::at(
                    ErrorKind::Eval,
                    format!("{name} does not hold a function"),
                    form,
                )),
            });
        }
        match name {
            "apply" => Some(match args {
                [f, rest @ ..] if !rest.is_empty() => {
                    let mut all = rest[..rest.len() - 1].to_vec();
                    match &rest[rest.len() - 1] {
                        Edn::Vector(xs) | Edn::List(xs) | Edn::Set(xs) => {
                            all.extend(xs.iter().cloned())
                        }
                        Edn::Nil => {}
                        other => {
                            return Some(Err(eval_err(format!(
                                "the last argument must be a collection, got {other}"
                            ))))
                        }
                    }
                    self.call_value(f, &all, form)
                }
                _ => Err(eval_err(
                    "takes a function and arguments, the last a collection".into(),
                )),
            }),
            "complement" => Some(match args {
                [f] if self.is_function_value(f) => {
                    Ok(Edn::List(vec![Edn::sym("complement"), f.clone()]))
                }
                _ => Err(eval_err("takes one function".into())),
            }),
            "q" => Some(self.nested_q(args, form)),
            _ => None,
        }
    }

    fn is_function_value(&self, f: &Edn) -> bool {
        match f {
            Edn::Symbol(s) => self.is_function(&s.to_string()),
            Edn::List(xs) => {
                matches!(xs.as_slice(), [Edn::Symbol(c), g] if c.namespace().is_none() && c.name() == "complement" && self.is_function_value(g))
            }
            _ => false,
        }
    }

    /// Calls a function value: a function's name, or `(complement f)`.
    fn call_value(&self, f: &Edn, args: &[Edn], form: &Edn) -> QResult<Edn> {
        match f {
            Edn::Symbol(s) => self.call(&s.to_string(), args, form),
            Edn::List(xs) if self.is_function_value(f) => {
                Ok(Edn::Bool(!truthy(&self.call_value(&xs[1], args, form)?)))
            }
            other => Err(QueryError::at(
                ErrorKind::Eval,
                format!("{other} is not a function"),
                form,
            )),
        }
    }

    /// `(q query inputs...)`: runs `query` with the sources named by `$` symbols and the
    /// other arguments as its inputs; the result as a value.
    fn nested_q(&self, args: &[Edn], form: &Edn) -> QResult<Edn> {
        let Some((query, rest)) = args.split_first() else {
            return Err(QueryError::at(
                ErrorKind::Parse,
                "q takes a query and its inputs",
                form,
            ));
        };
        let parsed = crate::parse::parse_query(query)?;
        let mut inputs: Vec<Input<'_>> = Vec::with_capacity(rest.len());
        for a in rest {
            inputs.push(match a {
                Edn::Symbol(s) if s.namespace().is_none() && s.name().starts_with('$') => {
                    match self.source(s.name(), form)? {
                        Source::Db(db) => Input::Db(db),
                        Source::Coll(rows) => Input::Value(Edn::Vector(
                            rows.iter().map(|r| Edn::Vector(r.clone())).collect(),
                        )),
                    }
                }
                v => Input::Value(v.clone()),
            });
        }
        let reg: &Registry = self.reg;
        let (res, _) = crate::run(&parsed, &inputs, reg)?;
        Ok(res.to_edn())
    }
}
