//! Functions and aggregates passed as inputs (`Input::Fn`, or a symbol naming a registered
//! one), registered aggregates in find expressions and `:having`, and the errors of
//! `:having` that Datalevin answers silently.
mod q_support;

use std::sync::Arc;

use levin_edn::{read, Edn};
use levin_query::{q_with, ErrorKind, Input, Registry};

const TX: &str = r#"[{:db/id 1 :name "Ivan" :dept "a" :sal 10}
                    {:db/id 2 :name "Petr" :dept "a" :sal 20}
                    {:db/id 3 :name "Slava" :dept "b" :sal 30}]"#;

fn run(query: &str, extra: Vec<Input<'_>>, reg: &Registry) -> Result<Edn, levin_query::QueryError> {
    let (_d, conn) = q_support::db_with(None, Some(&read(TX).unwrap()));
    let db = conn.db().unwrap();
    let mut inputs = vec![Input::Db(&db)];
    inputs.extend(extra);
    q_with(query, &inputs, reg).map(|r| r.to_edn())
}

fn double() -> Input<'static> {
    Input::Fn(Arc::new(|a: &[Edn]| match a {
        [Edn::Long(n)] => Ok(Edn::Long(n * 2)),
        _ => Err("double takes one integer".into()),
    }))
}

fn total() -> Input<'static> {
    Input::Fn(Arc::new(|a: &[Edn]| {
        let vals = a.last().and_then(|v| v.as_seq()).unwrap_or(&[]);
        Ok(Edn::Long(vals.iter().filter_map(|v| v.as_long()).sum()))
    }))
}

fn edn(s: &str) -> Edn {
    read(s).unwrap()
}

#[test]
fn a_function_input_is_called_as_a_function_and_a_predicate() {
    let reg = q_support::registry();
    let r = run(
        "[:find ?e ?y :in $ ?f :where [?e :sal ?s] [(?f ?s) ?y]]",
        vec![double()],
        &reg,
    );
    assert_eq!(r.unwrap(), edn("#{[1 20] [2 40] [3 60]}"));
    let big = Input::Fn(Arc::new(|a: &[Edn]| {
        Ok(Edn::Bool(a.first().and_then(Edn::as_long) > Some(15)))
    }));
    let r = run(
        "[:find ?e :in $ ?p :where [?e :sal ?s] [(?p ?s)]]",
        vec![big],
        &reg,
    );
    assert_eq!(r.unwrap(), edn("#{[2] [3]}"));
    let r = run(
        "[:find ?x . :in $ ?f :where [1 :sal ?s] [(vector ?s) ?v] [(apply ?f ?v) ?x]]",
        vec![double()],
        &reg,
    );
    assert_eq!(r.unwrap(), Edn::Long(20));
}

#[test]
fn a_symbol_input_names_a_registered_or_built_in_function() {
    let reg = q_support::registry();
    let r = run(
        "[:find ?y :in $ ?f :where [?e :sal ?s] [(?f ?s) ?y]]",
        vec![Input::Value(Edn::sym("my-inc"))],
        &reg,
    );
    assert_eq!(r.unwrap(), edn("#{[11] [21] [31]}"));
    let r = run(
        "[:find ?y . :in $ ?f :where [1 :sal ?s] [(?f ?s 5) ?y]]",
        vec![Input::Value(Edn::sym("+"))],
        &reg,
    );
    assert_eq!(r.unwrap(), Edn::Long(15));
}

#[test]
fn a_function_input_failing_or_a_non_function_is_an_error() {
    let reg = q_support::registry();
    let e = run(
        "[:find ?y :in $ ?f :where [?e :name ?s] [(?f ?s) ?y]]",
        vec![double()],
        &reg,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Eval);
    assert!(e.to_string().contains("double takes one integer"), "{e}");
    let e = run(
        "[:find ?y :in $ ?f :where [?e :sal ?s] [(?f ?s) ?y]]",
        vec![Input::Value(Edn::Long(1))],
        &reg,
    )
    .unwrap_err();
    assert!(e.to_string().contains("1 is not a function"), "{e}");
    let e = run(
        "[:find ?y :in $ [?f ...] :where [?e :sal ?s] [(?f ?s) ?y]]",
        vec![double()],
        &reg,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Input);
}

#[test]
fn custom_aggregates_from_inputs_and_the_registry() {
    let reg = q_support::registry();
    let r = run(
        "[:find ?d (aggregate ?t ?s) :in $ ?t :where [?e :dept ?d] [?e :sal ?s]]",
        vec![total()],
        &reg,
    );
    assert_eq!(r.unwrap(), edn(r#"#{["a" 30] ["b" 30]}"#));
    let r = run(
        "[:find ?d (aggregate ?t ?s) :in $ ?t :where [?e :dept ?d] [?e :sal ?s]]",
        vec![Input::Value(Edn::sym("my-sum"))],
        &reg,
    );
    assert_eq!(r.unwrap(), edn(r#"#{["a" 30] ["b" 30]}"#));
    // A registered aggregate by name, in a find expression and in :having.
    let r = run(
        "[:find ?d (+ (my-sum ?s) 1) :where [?e :dept ?d] [?e :sal ?s]
          :having [(> (+ (my-sum ?s) 1) 30)]]",
        vec![],
        &reg,
    );
    assert_eq!(r.unwrap(), edn(r#"#{["a" 31] ["b" 31]}"#));
    let e = run(
        "[:find ?d (aggregate ?t ?s) :in $ ?t :where [?e :dept ?d] [?e :sal ?s]]",
        vec![Input::Value(Edn::sym("nope"))],
        &reg,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("?t does not hold an aggregate"),
        "{e}"
    );
}

#[test]
fn having_refuses_what_datalevin_answers_with_nothing() {
    let reg = q_support::registry();
    // Datalevin returns no rows for each of these; Levin says why.
    for (q, msg) in [
        (
            "[:find ?d (count ?e) :where [?e :dept ?d] [?e :sal ?s] :having [(> (sum ?s) 20)]]",
            ":having can only test aggregates that are in :find",
        ),
        (
            "[:find ?d :where [?e :dept ?d] :having [(> (count ?e) 1)]]",
            ":having can only test aggregates that are in :find",
        ),
        (
            "[:find ?d (count ?e) :where [?e :dept ?d] :having [(nope (count ?e))]]",
            "nope",
        ),
        (
            r#"[:find ?d (count ?e) :where [?e :dept ?d] :having [(= ?d "a")]]"#,
            ":having takes predicates",
        ),
        (
            "[:find ?d (count ?e) :where [?e :dept ?d] :having (> (count ?e) 1)]",
            ":having takes predicates",
        ),
        (
            "[:find ?d (+ ?s 1) :where [?e :dept ?d] [?e :sal ?s]]",
            "aggregates, arithmetic over them or constants",
        ),
    ] {
        let e = run(q, vec![], &reg).unwrap_err();
        assert!(e.to_string().contains(msg), "{q}: {e}");
    }
}

#[test]
fn a_symbol_input_naming_a_variable_is_not_a_function() {
    let reg = q_support::registry();
    for q in [
        "[:find ?x :in $ ?g :where [(?g 1) ?x]]",
        "[:find ?x :in $ ?g :where [(apply ?g [1]) ?x]]",
        "[:find ?x :in $ ?g :where [(complement ?g) ?h] [(?h 1) ?x]]",
    ] {
        let e = run(q, vec![Input::Value(Edn::sym("?g"))], &reg).unwrap_err();
        assert!(e.to_string().contains("?g"), "{q}: {e}");
    }
}

/// A `(pull ?e pattern)` in `:find` may name in `:xform` the functions registered with
/// `Registry::pull_fns`; an unregistered name is an error naming it.
#[test]
fn pull_in_find_uses_registered_xform_functions() {
    let mut fns = levin_datalog::PullFns::new();
    fns.register("my/upper", |v| match v {
        Edn::String(s) => Edn::string(s.to_uppercase()),
        v => v.clone(),
    });
    let reg = Registry::new().pull_fns(fns);
    let got = run(
        "[:find (pull ?e [[:name :xform my/upper] :sal]) :where [?e :dept \"a\"]]",
        vec![],
        &reg,
    )
    .unwrap();
    assert_eq!(
        got,
        edn(r#"#{[{:name "IVAN" :sal 10}] [{:name "PETR" :sal 20}]}"#)
    );
    let e = run(
        "[:find (pull ?e [[:name :xform my/none]]) :where [?e :dept \"a\"]]",
        vec![],
        &Registry::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("my/none"), "{e}");
}
