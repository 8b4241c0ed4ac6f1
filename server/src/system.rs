//! The system database (`ROOT/system`, an ordinary Levin Datalog database): users with
//! their Argon2id hashes, roles, permissions and the registered databases, and every
//! change to them. A generation number, bumped by each change, lets sessions refresh their
//! cached permissions at their next request.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use levin_datalog::Conn;
use levin_edn::{Edn, Keyword};
use levin_query::DbQuery;

use crate::auth::HashPool;
use crate::authz::{Action, Object, Permission};
use crate::error::ServerError;

/// The schema of the system database.
const SCHEMA: &str = "{:user/name {:db/unique :db.unique/identity :db/valueType :db.type/string}
  :user/pw-hash {:db/valueType :db.type/string}
  :user/roles {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
  :role/key {:db/unique :db.unique/identity :db/valueType :db.type/keyword}
  :role/perms {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many
               :db/isComponent true}
  :perm/act {:db/valueType :db.type/keyword}
  :perm/obj {:db/valueType :db.type/keyword}
  :perm/tgt {:db/valueType :db.type/string}
  :database/name {:db/unique :db.unique/identity :db/valueType :db.type/string}
  :database/type {:db/valueType :db.type/keyword}}";

/// The name of the first user, who holds control on the server.
pub const ADMIN: &str = "admin";

/// The kind of a registered database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbType {
    /// A Datalog database.
    Datalog,
    /// A key-value environment.
    KeyValue,
}

impl DbType {
    /// `:datalog` or `:key-value`.
    pub fn keyword(self) -> Keyword {
        Keyword::new(
            None,
            match self {
                DbType::Datalog => "datalog",
                DbType::KeyValue => "key-value",
            },
        )
    }

    /// From `:datalog`/`:key-value` (or `:kv`).
    pub fn from_keyword(k: &Keyword) -> Option<DbType> {
        match k.name() {
            "datalog" => Some(DbType::Datalog),
            "key-value" | "kv" => Some(DbType::KeyValue),
            _ => None,
        }
    }
}

/// The personal role of `user`.
pub fn personal_role(user: &str) -> Keyword {
    Keyword::new(Some("levin.role"), user)
}

/// A role key as a permission target.
pub fn role_target(role: &Keyword) -> String {
    role.to_string()
}

/// The system database.
pub struct System {
    conn: Conn,
    generation: AtomicU64,
}

fn s(v: &str) -> Edn {
    Edn::string(v)
}

fn perm_map(p: &Permission) -> Edn {
    let mut m = vec![
        (Edn::kw("perm", "act"), Edn::Keyword(p.act.keyword())),
        (Edn::kw("perm", "obj"), Edn::Keyword(p.obj.keyword())),
    ];
    if let Some(t) = &p.tgt {
        m.push((Edn::kw("perm", "tgt"), s(t)));
    }
    Edn::Map(m)
}

impl System {
    /// Opens (creating) the system database under `root`. When it has no admin user yet,
    /// creates one with `admin_password`, or with a random password that is returned so
    /// the caller can show it once.
    pub fn open(
        root: &Path,
        admin_password: Option<&str>,
        hashes: &HashPool,
    ) -> Result<(System, Option<String>), ServerError> {
        let conn = Conn::open(root.join("system"), SCHEMA)?;
        let sys = System {
            conn,
            generation: AtomicU64::new(1),
        };
        if sys.user_exists(ADMIN)? {
            return Ok((sys, None));
        }
        let (password, generated) = match admin_password {
            Some(p) => (p.to_string(), None),
            None => {
                let p = random_password();
                (p.clone(), Some(p))
            }
        };
        sys.create_user(ADMIN, &password, hashes)?;
        sys.grant(
            &personal_role(ADMIN),
            &Permission::all(Action::Control, Object::Server),
        )?;
        Ok((sys, generated))
    }

    /// Bumped by every change of users, roles or permissions.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn transact(&self, tx: Vec<Edn>) -> Result<(), ServerError> {
        self.conn.transact(&Edn::Vector(tx))?;
        self.changed();
        Ok(())
    }

    fn q(&self, query: &str, inputs: Vec<Edn>) -> Result<Edn, ServerError> {
        let db = self.conn.db()?;
        let inputs: Vec<levin_query::Input<'_>> =
            inputs.into_iter().map(levin_query::Input::Value).collect();
        Ok(db.q(query, &inputs)?.to_edn())
    }

    /// A read-only query on the system database, `$` bound to it, under `reg` (which
    /// carries the server's query deadline).
    pub fn query(
        &self,
        query: &Edn,
        inputs: &[Edn],
        reg: &levin_query::Registry,
    ) -> Result<Edn, ServerError> {
        let db = self.conn.db()?;
        let inputs: Vec<levin_query::Input<'_>> = inputs
            .iter()
            .cloned()
            .map(levin_query::Input::Value)
            .collect();
        Ok(db.q_with(query, &inputs, reg)?.to_edn())
    }

    fn user_exists(&self, user: &str) -> Result<bool, ServerError> {
        Ok(self.user_id(user)?.is_some())
    }

    /// The entity id of `user`, which tells one user from another of the same name
    /// created after it was dropped (entity ids of the system database are never reused:
    /// it is never cleared, and new entities get ids above the largest ever given).
    pub fn user_id(&self, user: &str) -> Result<Option<u64>, ServerError> {
        Ok(self
            .conn
            .db()?
            .entid(&Edn::Vector(vec![Edn::kw("user", "name"), s(user)]))?)
    }

    /// Retractions of every permission on `obj` that targets `tgt` (in any role): when
    /// a user, role or database goes, grants on it must not pass to a later one of the
    /// same name.
    fn grants_on(&self, obj: Object, tgt: &str) -> Result<Vec<Edn>, ServerError> {
        let perms = self.q(
            "[:find [?p ...] :in $ ?o ?n :where [?p :perm/obj ?o] [?p :perm/tgt ?n]]",
            vec![Edn::Keyword(obj.keyword()), s(tgt)],
        )?;
        Ok(perms
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .map(|p| Edn::Vector(vec![Edn::kw("db", "retractEntity"), p.clone()]))
            .collect())
    }

    fn role_exists(&self, role: &Keyword) -> Result<bool, ServerError> {
        Ok(self
            .conn
            .db()?
            .entid(&Edn::Vector(vec![
                Edn::kw("role", "key"),
                Edn::Keyword(role.clone()),
            ]))?
            .is_some())
    }

    /// The stored hash of `user`, if the user exists.
    pub fn password_hash(&self, user: &str) -> Result<Option<String>, ServerError> {
        let r = self.q(
            "[:find ?h . :in $ ?u :where [?e :user/name ?u] [?e :user/pw-hash ?h]]",
            vec![s(user)],
        )?;
        Ok(r.as_str().map(str::to_string))
    }

    /// Every permission `user` holds through its roles.
    pub fn permissions_of(&self, user: &str) -> Result<Vec<Permission>, ServerError> {
        let r = self.q(
            "[:find ?act ?obj ?tgt :in $ ?u :where [?e :user/name ?u] [?e :user/roles ?r]
              [?r :role/perms ?p] [?p :perm/act ?act] [?p :perm/obj ?obj]
              [(get-else $ ?p :perm/tgt \"\") ?tgt]]",
            vec![s(user)],
        )?;
        Ok(perms_of_rows(&r))
    }

    /// Creates a user with a personal role holding alter on itself and view on the role.
    pub fn create_user(
        &self,
        user: &str,
        password: &str,
        hashes: &HashPool,
    ) -> Result<(), ServerError> {
        validate_name("user", user)?;
        if password.is_empty() {
            return Err(ServerError::BadArgument(
                "a password cannot be empty".into(),
            ));
        }
        if self.user_exists(user)? {
            return Err(ServerError::Exists(format!("user {user:?} exists already")));
        }
        let role = personal_role(user);
        let hash = hashes.hash(password);
        self.transact(vec![
            Edn::Map(vec![
                (Edn::kw("db", "id"), s("role")),
                (Edn::kw("role", "key"), Edn::Keyword(role.clone())),
                (
                    Edn::kw("role", "perms"),
                    Edn::Vector(vec![
                        perm_map(&Permission::on(Action::Alter, Object::User, user)),
                        perm_map(&Permission::on(
                            Action::View,
                            Object::Role,
                            role_target(&role),
                        )),
                    ]),
                ),
            ]),
            Edn::Map(vec![
                (Edn::kw("user", "name"), s(user)),
                (Edn::kw("user", "pw-hash"), s(&hash)),
                (Edn::kw("user", "roles"), s("role")),
            ]),
        ])
    }

    /// Sets `user`'s password.
    pub fn reset_password(
        &self,
        user: &str,
        password: &str,
        hashes: &HashPool,
    ) -> Result<(), ServerError> {
        if password.is_empty() {
            return Err(ServerError::BadArgument(
                "a password cannot be empty".into(),
            ));
        }
        if !self.user_exists(user)? {
            return Err(ServerError::NotFound(format!("no user {user:?}")));
        }
        let hash = hashes.hash(password);
        self.transact(vec![Edn::Map(vec![
            (Edn::kw("user", "name"), s(user)),
            (Edn::kw("user", "pw-hash"), s(&hash)),
        ])])
    }

    /// Drops a user and its personal role (never the admin user).
    pub fn drop_user(&self, user: &str) -> Result<(), ServerError> {
        if user == ADMIN {
            return Err(ServerError::BadArgument(
                "the admin user cannot be dropped".into(),
            ));
        }
        if !self.user_exists(user)? {
            return Err(ServerError::NotFound(format!("no user {user:?}")));
        }
        let mut tx = self.grants_on(Object::User, user)?;
        tx.extend(self.grants_on(Object::Role, &role_target(&personal_role(user)))?);
        tx.push(Edn::Vector(vec![
            Edn::kw("db", "retractEntity"),
            Edn::Vector(vec![
                Edn::kw("role", "key"),
                Edn::Keyword(personal_role(user)),
            ]),
        ]));
        tx.push(Edn::Vector(vec![
            Edn::kw("db", "retractEntity"),
            Edn::Vector(vec![Edn::kw("user", "name"), s(user)]),
        ]));
        self.transact(tx)
    }

    /// The user names.
    pub fn list_users(&self) -> Result<Vec<String>, ServerError> {
        let r = self.q("[:find [?u ...] :where [_ :user/name ?u]]", vec![])?;
        let mut v: Vec<String> = r
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect();
        v.sort();
        Ok(v)
    }

    /// Creates a role that can view itself (never a personal one: those come with their
    /// user, and one made beforehand would pass what it was given to that future user).
    pub fn create_role(&self, role: &Keyword) -> Result<(), ServerError> {
        if role.namespace() == Some("levin.role") {
            return Err(ServerError::BadArgument(format!(
                "{role} would be a user's personal role; those are made with the user"
            )));
        }
        if self.role_exists(role)? {
            return Err(ServerError::Exists(format!("role {role} exists already")));
        }
        self.transact(vec![Edn::Map(vec![
            (Edn::kw("role", "key"), Edn::Keyword(role.clone())),
            (
                Edn::kw("role", "perms"),
                Edn::Vector(vec![perm_map(&Permission::on(
                    Action::View,
                    Object::Role,
                    role_target(role),
                ))]),
            ),
        ])])
    }

    /// Drops a role (never a personal one).
    pub fn drop_role(&self, role: &Keyword) -> Result<(), ServerError> {
        if role.namespace() == Some("levin.role") {
            return Err(ServerError::BadArgument(format!(
                "{role} is a user's personal role; drop the user instead"
            )));
        }
        if !self.role_exists(role)? {
            return Err(ServerError::NotFound(format!("no role {role}")));
        }
        let mut tx = self.grants_on(Object::Role, &role_target(role))?;
        tx.push(Edn::Vector(vec![
            Edn::kw("db", "retractEntity"),
            Edn::Vector(vec![Edn::kw("role", "key"), Edn::Keyword(role.clone())]),
        ]));
        self.transact(tx)
    }

    /// The role keys.
    pub fn list_roles(&self) -> Result<Vec<Keyword>, ServerError> {
        let r = self.q("[:find [?k ...] :where [_ :role/key ?k]]", vec![])?;
        let mut v: Vec<Keyword> = r
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .filter_map(|x| x.as_keyword().cloned())
            .collect();
        v.sort();
        Ok(v)
    }

    /// Gives `user` the role `role`.
    pub fn assign_role(&self, role: &Keyword, user: &str) -> Result<(), ServerError> {
        self.require_user_and_role(user, role)?;
        self.transact(vec![Edn::Vector(vec![
            Edn::kw("db", "add"),
            Edn::Vector(vec![Edn::kw("user", "name"), s(user)]),
            Edn::kw("user", "roles"),
            Edn::Vector(vec![Edn::kw("role", "key"), Edn::Keyword(role.clone())]),
        ])])
    }

    /// Takes the role `role` from `user` (never its personal role).
    pub fn withdraw_role(&self, role: &Keyword, user: &str) -> Result<(), ServerError> {
        if *role == personal_role(user) {
            return Err(ServerError::BadArgument(format!(
                "{role} is {user}'s personal role and cannot be withdrawn"
            )));
        }
        self.require_user_and_role(user, role)?;
        self.transact(vec![Edn::Vector(vec![
            Edn::kw("db", "retract"),
            Edn::Vector(vec![Edn::kw("user", "name"), s(user)]),
            Edn::kw("user", "roles"),
            Edn::Vector(vec![Edn::kw("role", "key"), Edn::Keyword(role.clone())]),
        ])])
    }

    fn require_user_and_role(&self, user: &str, role: &Keyword) -> Result<(), ServerError> {
        if !self.user_exists(user)? {
            return Err(ServerError::NotFound(format!("no user {user:?}")));
        }
        if !self.role_exists(role)? {
            return Err(ServerError::NotFound(format!("no role {role}")));
        }
        Ok(())
    }

    /// The roles of `user`.
    pub fn user_roles(&self, user: &str) -> Result<Vec<Keyword>, ServerError> {
        if !self.user_exists(user)? {
            return Err(ServerError::NotFound(format!("no user {user:?}")));
        }
        let r = self.q(
            "[:find [?k ...] :in $ ?u :where [?e :user/name ?u] [?e :user/roles ?r] [?r :role/key ?k]]",
            vec![s(user)],
        )?;
        let mut v: Vec<Keyword> = r
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .filter_map(|x| x.as_keyword().cloned())
            .collect();
        v.sort();
        Ok(v)
    }

    /// Adds a permission to a role (nothing if it holds it already).
    pub fn grant(&self, role: &Keyword, p: &Permission) -> Result<(), ServerError> {
        if !self.role_exists(role)? {
            return Err(ServerError::NotFound(format!("no role {role}")));
        }
        if self.role_permissions(role)?.contains(p) {
            return Ok(());
        }
        self.transact(vec![Edn::Map(vec![
            (Edn::kw("role", "key"), Edn::Keyword(role.clone())),
            (Edn::kw("role", "perms"), Edn::Vector(vec![perm_map(p)])),
        ])])
    }

    /// Removes a permission from a role.
    pub fn revoke(&self, role: &Keyword, p: &Permission) -> Result<(), ServerError> {
        if !self.role_exists(role)? {
            return Err(ServerError::NotFound(format!("no role {role}")));
        }
        let r = self.q(
            "[:find [?p ...] :in $ ?k ?act ?obj ?tgt :where [?r :role/key ?k] [?r :role/perms ?p]
              [?p :perm/act ?act] [?p :perm/obj ?obj] [(get-else $ ?p :perm/tgt \"\") ?tgt]]",
            vec![
                Edn::Keyword(role.clone()),
                Edn::Keyword(p.act.keyword()),
                Edn::Keyword(p.obj.keyword()),
                s(p.tgt.as_deref().unwrap_or("")),
            ],
        )?;
        let ids = r.as_seq().unwrap_or(&[]).to_vec();
        if ids.is_empty() {
            return Err(ServerError::NotFound(format!(
                "role {role} does not hold {p}"
            )));
        }
        self.transact(
            ids.into_iter()
                .map(|e| Edn::Vector(vec![Edn::kw("db", "retractEntity"), e]))
                .collect(),
        )
    }

    /// The permissions of a role.
    pub fn role_permissions(&self, role: &Keyword) -> Result<Vec<Permission>, ServerError> {
        if !self.role_exists(role)? {
            return Err(ServerError::NotFound(format!("no role {role}")));
        }
        let r = self.q(
            "[:find ?act ?obj ?tgt :in $ ?k :where [?r :role/key ?k] [?r :role/perms ?p]
              [?p :perm/act ?act] [?p :perm/obj ?obj] [(get-else $ ?p :perm/tgt \"\") ?tgt]]",
            vec![Edn::Keyword(role.clone())],
        )?;
        Ok(perms_of_rows(&r))
    }

    /// Registers a database (and gives its creator's personal role create on it).
    pub fn register_database(
        &self,
        name: &str,
        ty: DbType,
        creator: &str,
    ) -> Result<(), ServerError> {
        self.transact(vec![Edn::Map(vec![
            (Edn::kw("database", "name"), s(name)),
            (Edn::kw("database", "type"), Edn::Keyword(ty.keyword())),
        ])])?;
        self.grant(
            &personal_role(creator),
            &Permission::on(Action::Create, Object::Database, name),
        )
    }

    /// Forgets a database (and every permission that targets it).
    pub fn unregister_database(&self, name: &str) -> Result<(), ServerError> {
        let mut tx = self.grants_on(Object::Database, name)?;
        tx.push(Edn::Vector(vec![
            Edn::kw("db", "retractEntity"),
            Edn::Vector(vec![Edn::kw("database", "name"), s(name)]),
        ]));
        self.transact(tx)
    }

    /// The type of a registered database.
    pub fn database_type(&self, name: &str) -> Result<Option<DbType>, ServerError> {
        let r = self.q(
            "[:find ?t . :in $ ?n :where [?e :database/name ?n] [?e :database/type ?t]]",
            vec![s(name)],
        )?;
        Ok(r.as_keyword().and_then(DbType::from_keyword))
    }

    /// The registered databases and their types, by name.
    pub fn list_databases(&self) -> Result<Vec<(String, DbType)>, ServerError> {
        let r = self.q(
            "[:find ?n ?t :where [?e :database/name ?n] [?e :database/type ?t]]",
            vec![],
        )?;
        let mut v: Vec<(String, DbType)> = r
            .as_set()
            .or_else(|| r.as_seq())
            .unwrap_or(&[])
            .iter()
            .filter_map(|row| {
                let row = row.as_seq()?;
                Some((
                    row.first()?.as_str()?.to_string(),
                    DbType::from_keyword(row.get(1)?.as_keyword()?)?,
                ))
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    }
}

fn perms_of_rows(r: &Edn) -> Vec<Permission> {
    let mut out: Vec<Permission> = r
        .as_set()
        .or_else(|| r.as_seq())
        .unwrap_or(&[])
        .iter()
        .filter_map(|row| {
            let row = row.as_seq()?;
            let act = Action::from_keyword(row.first()?.as_keyword()?)?;
            let obj = Object::from_keyword(row.get(1)?.as_keyword()?)?;
            let tgt = row.get(2)?.as_str()?;
            Some(Permission {
                act,
                obj,
                tgt: (!tgt.is_empty()).then(|| tgt.to_string()),
            })
        })
        .collect();
    out.sort_by_key(|p| (p.act, p.tgt.clone()));
    out.dedup();
    out
}

/// Checks a user or database name: 1 to 64 characters of letters, digits, `.`, `_`, `-`,
/// not starting with `.` or `-`, and for a database not `system` in any case.
pub fn validate_name(what: &str, name: &str) -> Result<(), ServerError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let bad = if name.is_empty() || name.len() > 64 {
        Some("it must be 1 to 64 characters long")
    } else if !name.chars().all(ok_char) {
        Some("only letters, digits, '.', '_' and '-' are allowed")
    } else if name.starts_with(['.', '-']) {
        Some("it cannot start with '.' or '-'")
    } else if what == "database" && name.eq_ignore_ascii_case("system") {
        // In any case: on a case-insensitive file system (macOS, Windows) `ROOT/SYSTEM` is
        // the system database's directory, and opening it as an ordinary database would
        // let its opener write users and permissions.
        Some("'system' is reserved for the server's users and permissions")
    } else {
        None
    };
    match bad {
        Some(why) => Err(ServerError::BadArgument(format!(
            "invalid {what} name {name:?}: {why}"
        ))),
        None => Ok(()),
    }
}

/// A random password of 24 characters from the OS's random source.
fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..24)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::HashCost;

    #[test]
    fn names_are_validated() {
        for bad in [
            "", "a/b", "..", "../x", "x\n", "system", "SYSTEM", "System", "-x", ".hidden", "é",
        ] {
            assert!(validate_name("database", bad).is_err(), "{bad:?}");
        }
        for good in ["sales", "sales-2026", "a.b_c", "X9"] {
            validate_name("database", good).unwrap();
        }
        validate_name("user", "system").unwrap();
    }

    #[test]
    fn users_roles_and_permissions() {
        let d = tempfile::tempdir().unwrap();
        let hashes = HashPool::new(1, HashCost::TESTING);
        let (sys, generated) = System::open(d.path(), None, &hashes).unwrap();
        let pw = generated.expect("a random admin password");
        assert_eq!(pw.len(), 24);
        assert!(hashes.verify(&pw, &sys.password_hash(ADMIN).unwrap().unwrap()));
        assert!(sys
            .permissions_of(ADMIN)
            .unwrap()
            .contains(&Permission::all(Action::Control, Object::Server)));
        // Reopening keeps the admin and makes no new password.
        drop(sys);
        let (sys, again) = System::open(d.path(), None, &hashes).unwrap();
        assert!(again.is_none());
        sys.create_user("ann", "pw", &hashes).unwrap();
        assert!(matches!(
            sys.create_user("ann", "pw", &hashes),
            Err(ServerError::Exists(_))
        ));
        assert_eq!(sys.list_users().unwrap(), ["admin", "ann"]);
        let reader = Keyword::new(None, "reader");
        sys.create_role(&reader).unwrap();
        let view_sales = Permission::on(Action::View, Object::Database, "sales");
        sys.grant(&reader, &view_sales).unwrap();
        let g = sys.generation();
        sys.assign_role(&reader, "ann").unwrap();
        assert!(sys.generation() > g);
        assert!(sys.permissions_of("ann").unwrap().contains(&view_sales));
        assert_eq!(
            sys.user_roles("ann").unwrap(),
            [reader.clone(), personal_role("ann")]
        );
        sys.revoke(&reader, &view_sales).unwrap();
        assert!(!sys.permissions_of("ann").unwrap().contains(&view_sales));
        assert!(sys.withdraw_role(&personal_role("ann"), "ann").is_err());
        assert!(sys.drop_role(&personal_role("ann")).is_err());
        assert!(sys.drop_user(ADMIN).is_err());
        sys.drop_user("ann").unwrap();
        assert_eq!(sys.list_users().unwrap(), ["admin"]);
        assert!(!sys.list_roles().unwrap().contains(&personal_role("ann")));
        sys.register_database("sales", DbType::Datalog, ADMIN)
            .unwrap();
        assert_eq!(sys.database_type("sales").unwrap(), Some(DbType::Datalog));
        assert_eq!(
            sys.list_databases().unwrap(),
            [("sales".to_string(), DbType::Datalog)]
        );
        sys.unregister_database("sales").unwrap();
        assert!(sys.list_databases().unwrap().is_empty());
    }
}
