//! `explain`: the executed plan, with estimated and actual row counts and time per step.

use std::fmt;
use std::time::Duration;

use levin_edn::{Edn, Keyword};

/// One executed step of the top-level `:where`.
#[derive(Debug, Clone)]
pub struct Step {
    /// The clause, as EDN.
    pub clause: String,
    /// How it ran: `scan AVE :a = v`, `lookup EAV per ?e`, `filter`, `hash join`, ...
    pub strategy: String,
    /// Rows the planner expected after the step.
    pub estimated: f64,
    /// Rows after the step.
    pub actual: usize,
    /// Time spent in the step.
    pub time: Duration,
}

/// The plan that ran and the result size.
#[derive(Debug, Clone, Default)]
pub struct Explain {
    /// Steps in execution order.
    pub steps: Vec<Step>,
    /// Time to parse and normalise.
    pub parse_time: Duration,
    /// Total execution time (where + find).
    pub exec_time: Duration,
    /// Rows in the result.
    pub result_rows: usize,
}

impl Explain {
    /// As EDN: `{:steps [{:clause .. :strategy .. :estimated .. :actual .. :ms ..}] ...}`.
    pub fn to_edn(&self) -> Edn {
        let k = |n: &str| Edn::Keyword(Keyword::new(None, n));
        let steps = self
            .steps
            .iter()
            .map(|s| {
                Edn::Map(vec![
                    (k("clause"), Edn::string(s.clause.clone())),
                    (k("strategy"), Edn::string(s.strategy.clone())),
                    (
                        k("estimated"),
                        Edn::Long(s.estimated.min(i64::MAX as f64) as i64),
                    ),
                    (k("actual"), Edn::Long(s.actual as i64)),
                    (k("ms"), Edn::Double(s.time.as_secs_f64() * 1000.0)),
                ])
            })
            .collect();
        Edn::Map(vec![
            (k("steps"), Edn::Vector(steps)),
            (
                k("parse-ms"),
                Edn::Double(self.parse_time.as_secs_f64() * 1000.0),
            ),
            (
                k("exec-ms"),
                Edn::Double(self.exec_time.as_secs_f64() * 1000.0),
            ),
            (k("result-rows"), Edn::Long(self.result_rows as i64)),
        ])
    }
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>3}  {:>10} {:>10} {:>9}  clause / strategy",
            "#", "est", "actual", "ms"
        )?;
        for (i, s) in self.steps.iter().enumerate() {
            writeln!(
                f,
                "{:>3}  {:>10.0} {:>10} {:>9.3}  {}\n{:>39}{}",
                i + 1,
                s.estimated,
                s.actual,
                s.time.as_secs_f64() * 1000.0,
                s.clause,
                "",
                s.strategy
            )?;
        }
        write!(
            f,
            "parse {:.3} ms, execute {:.3} ms, {} result rows",
            self.parse_time.as_secs_f64() * 1000.0,
            self.exec_time.as_secs_f64() * 1000.0,
            self.result_rows
        )
    }
}
