//! Permissions, Datalevin's model: an action (view < alter < create < control) on an
//! object (database, user, role, or server, which covers the other three) with an
//! optional target. A held permission grants a request when its action is at least the
//! request's, its object is the request's or `server`, and either it has no target (it
//! covers every target) or the request names the same target; a request without a target
//! needs a held permission without one. [`authorize`] is the one check every operation
//! passes.

use std::fmt;

use levin_edn::{Edn, Keyword};

use crate::error::ServerError;

/// What a permission allows, weakest first; each includes those before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Read.
    View,
    /// Change data.
    Alter,
    /// Create and drop.
    Create,
    /// Everything, including granting.
    Control,
}

/// What a permission is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    /// A database.
    Database,
    /// A user.
    User,
    /// A role.
    Role,
    /// The server: covers databases, users and roles.
    Server,
}

/// A permission: held by a role, or needed by an operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Permission {
    /// The action.
    pub act: Action,
    /// The object.
    pub obj: Object,
    /// The target (a database or user name, a role key as text); `None` for all.
    pub tgt: Option<String>,
}

const NS: &str = "levin.server";

impl Action {
    /// The keyword naming it, e.g. `:levin.server/view`.
    pub fn keyword(self) -> Keyword {
        Keyword::new(Some(NS), self.name())
    }

    fn name(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Alter => "alter",
            Action::Create => "create",
            Action::Control => "control",
        }
    }

    /// From `:view` or `:levin.server/view` (and Datalevin's `:datalevin.server/view`).
    pub fn from_keyword(k: &Keyword) -> Option<Action> {
        if !matches!(k.namespace(), None | Some(NS) | Some("datalevin.server")) {
            return None;
        }
        Some(match k.name() {
            "view" => Action::View,
            "alter" => Action::Alter,
            "create" => Action::Create,
            "control" => Action::Control,
            _ => return None,
        })
    }
}

impl Object {
    /// The keyword naming it, e.g. `:levin.server/database`.
    pub fn keyword(self) -> Keyword {
        Keyword::new(Some(NS), self.name())
    }

    fn name(self) -> &'static str {
        match self {
            Object::Database => "database",
            Object::User => "user",
            Object::Role => "role",
            Object::Server => "server",
        }
    }

    /// From `:database` or `:levin.server/database` (and Datalevin's namespace).
    pub fn from_keyword(k: &Keyword) -> Option<Object> {
        if !matches!(k.namespace(), None | Some(NS) | Some("datalevin.server")) {
            return None;
        }
        Some(match k.name() {
            "database" => Object::Database,
            "user" => Object::User,
            "role" => Object::Role,
            "server" => Object::Server,
            _ => return None,
        })
    }

    fn covers(self, other: Object) -> bool {
        self == other || self == Object::Server
    }
}

impl Permission {
    /// A permission on one target.
    pub fn on(act: Action, obj: Object, tgt: impl Into<String>) -> Permission {
        Permission {
            act,
            obj,
            tgt: Some(tgt.into()),
        }
    }

    /// A permission on every target of `obj`.
    pub fn all(act: Action, obj: Object) -> Permission {
        Permission {
            act,
            obj,
            tgt: None,
        }
    }

    /// Whether holding `self` grants `needed`.
    pub fn grants(&self, needed: &Permission) -> bool {
        self.act >= needed.act
            && self.obj.covers(needed.obj)
            && match (&self.tgt, &needed.tgt) {
                (None, _) => true,
                (Some(held), Some(want)) => held == want,
                (Some(_), None) => false,
            }
    }

    /// `{:act :levin.server/view :obj :levin.server/database :tgt "sales"}`.
    pub fn to_edn(&self) -> Edn {
        let k = |n: &str| Edn::kw("", n);
        Edn::Map(vec![
            (k("act"), Edn::Keyword(self.act.keyword())),
            (k("obj"), Edn::Keyword(self.obj.keyword())),
            (
                k("tgt"),
                self.tgt
                    .as_ref()
                    .map_or(Edn::Nil, |t| Edn::string(t.clone())),
            ),
        ])
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.act.name(), self.obj.name())?;
        match &self.tgt {
            Some(t) => write!(f, " {t:?}"),
            None => write!(f, " (all)"),
        }
    }
}

/// The one authorization check: `held` (the union of the user's roles' permissions)
/// must grant `needed` for `op` to run.
pub fn authorize(op: &str, held: &[Permission], needed: &Permission) -> Result<(), ServerError> {
    if held.iter().any(|p| p.grants(needed)) {
        Ok(())
    } else {
        Err(ServerError::PermissionDenied {
            op: format!(":{op}"),
            needed: needed.to_string(),
        })
    }
}

/// The check of delegation: granting, revoking or assigning permissions, or taking over
/// another user's identity (resetting their password), hands `given` to someone; `held`
/// must grant each of them, so that nobody can give (themselves or anyone) what they lack.
/// `op` needed its own permission too (control on the role, alter on the user), checked by
/// [`authorize`] before.
pub fn authorize_delegation(
    op: &str,
    held: &[Permission],
    given: &[Permission],
) -> Result<(), ServerError> {
    match given.iter().find(|g| !held.iter().any(|p| p.grants(g))) {
        None => Ok(()),
        Some(lacking) => Err(ServerError::PermissionDenied {
            op: format!(":{op}"),
            needed: format!("{lacking}, which it hands on (only what one holds can be handed on)"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Object::*;

    #[test]
    fn the_model_as_datalevin_defines_it() {
        let db = |a, t: &str| Permission::on(a, Database, t);
        // Action order.
        assert!(db(Alter, "s").grants(&db(View, "s")));
        assert!(!db(View, "s").grants(&db(Alter, "s")));
        assert!(db(Control, "s").grants(&db(Create, "s")));
        // Targets: a grant with none covers all; a request with none needs one with none.
        assert!(Permission::all(View, Database).grants(&db(View, "s")));
        assert!(!db(View, "s").grants(&db(View, "t")));
        assert!(!db(View, "s").grants(&Permission::all(View, Database)));
        // Server covers the other objects; not the other way.
        assert!(Permission::all(Control, Server).grants(&Permission::all(Create, User)));
        assert!(Permission::all(Control, Server).grants(&db(Alter, "s")));
        assert!(!Permission::all(Control, Database).grants(&Permission::all(View, Server)));
        assert!(!Permission::all(Control, Role).grants(&Permission::all(View, User)));
        let err = authorize("transact", &[db(View, "s")], &db(Alter, "s")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "permission denied: :transact needs alter on database \"s\""
        );
    }

    #[test]
    fn keywords_in_either_namespace() {
        let k = |s: &str| levin_edn::read(s).unwrap().as_keyword().unwrap().clone();
        assert_eq!(Action::from_keyword(&k(":view")), Some(View));
        assert_eq!(
            Action::from_keyword(&k(":datalevin.server/alter")),
            Some(Alter)
        );
        assert_eq!(
            Object::from_keyword(&k(":levin.server/server")),
            Some(Server)
        );
        assert_eq!(Object::from_keyword(&k(":other/server")), None);
        assert_eq!(Action::from_keyword(&Control.keyword()), Some(Control));
    }
}
