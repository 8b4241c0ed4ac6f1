//! The options stored with a Datalog database (Datalevin's `:closed-schema?` and
//! `:auto-entity-time?`): kept in its meta, so every connection to it, in any process and
//! in every mode (embedded, served, pod), transacts under the same ones.

use crate::error::{Error, Result};
use levin_edn::{Edn, Keyword};

/// The options a Datalog database is transacted under. Both are off in a new database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Asserting an attribute the schema lacks fails with [`Error::ClosedSchema`] instead
    /// of adding it untyped (retracting one is still a no-op).
    pub closed_schema: bool,
    /// Every transaction sets `:db/updated-at` on each entity it changes and
    /// `:db/created-at` on each that lacks it, as milliseconds since the epoch.
    pub auto_entity_time: bool,
}

/// The option keys, as Datalevin names them in an opts map.
const CLOSED_SCHEMA: &str = "closed-schema?";
const AUTO_ENTITY_TIME: &str = "auto-entity-time?";

impl StoreOptions {
    /// These options with a Datalevin opts map laid over them: `:closed-schema?` and
    /// `:auto-entity-time?` (booleans) replace the current values; Datalevin's other keys
    /// (`:kv-opts`, `:validate-data?`, `:search-opts`, ...) concern what Levin does
    /// differently or not at all and are ignored. `nil` changes nothing; anything else
    /// than a map, or a non-boolean value for one of the two keys, is
    /// [`Error::Option`].
    pub fn with_edn(mut self, opts: &Edn) -> Result<StoreOptions> {
        let pairs = match opts {
            Edn::Nil => return Ok(self),
            Edn::Map(pairs) => pairs,
            other => {
                return Err(Error::Option {
                    key: "opts".into(),
                    reason: format!("expected a map of options, got {other}"),
                })
            }
        };
        for (k, v) in pairs {
            let Edn::Keyword(kw) = k else { continue };
            if kw.namespace().is_some() {
                continue;
            }
            let slot = match kw.name() {
                CLOSED_SCHEMA => &mut self.closed_schema,
                AUTO_ENTITY_TIME => &mut self.auto_entity_time,
                _ => continue,
            };
            *slot = match v {
                Edn::Bool(b) => *b,
                Edn::Nil => false,
                other => {
                    return Err(Error::Option {
                        key: format!(":{}", kw.name()),
                        reason: format!("expected true or false, got {other}"),
                    })
                }
            };
        }
        Ok(self)
    }

    /// The options as a Datalevin opts map: `{:closed-schema? b :auto-entity-time? b}`.
    pub fn to_edn(&self) -> Edn {
        Edn::Map(vec![
            (
                Edn::Keyword(Keyword::new(None, CLOSED_SCHEMA)),
                Edn::Bool(self.closed_schema),
            ),
            (
                Edn::Keyword(Keyword::new(None, AUTO_ENTITY_TIME)),
                Edn::Bool(self.auto_entity_time),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str) -> Edn {
        levin_edn::read(text).unwrap()
    }

    #[test]
    fn an_opts_map_sets_the_keys_it_names_and_ignores_the_others() {
        let base = StoreOptions::default();
        let o = base
            .with_edn(&opts(
                "{:closed-schema? true :validate-data? true :kv-opts {}}",
            ))
            .unwrap();
        assert!(o.closed_schema && !o.auto_entity_time);
        let o = o.with_edn(&opts("{:auto-entity-time? true}")).unwrap();
        assert!(o.closed_schema && o.auto_entity_time);
        let o = o.with_edn(&opts("{:closed-schema? false}")).unwrap();
        assert!(!o.closed_schema && o.auto_entity_time);
        assert_eq!(o.with_edn(&Edn::Nil).unwrap(), o);
        assert_eq!(
            StoreOptions::default().with_edn(&o.to_edn()).unwrap(),
            o,
            "to_edn reads back"
        );
    }

    #[test]
    fn a_bad_opts_value_names_the_key() {
        let e = StoreOptions::default()
            .with_edn(&opts("{:closed-schema? \"yes\"}"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid option :closed-schema?: expected true or false, got \"yes\""
        );
        let e = StoreOptions::default().with_edn(&opts("[1]")).unwrap_err();
        assert!(e.to_string().contains("expected a map of options"), "{e}");
    }
}
