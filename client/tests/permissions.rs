//! Every protocol operation, once by a user who lacks the permission it needs (refused,
//! and nothing changes) and once by a user granted exactly that permission (not refused),
//! through the real server over TCP. Also: permissions survive a restart, a dropped user's
//! open connection is refused, and nobody can grant themselves what they lack.

use std::sync::Arc;

use levin_client::{Client, ClientError};
use levin_edn::{read, Edn};
use levin_server::{Config, HashCost, Server};

fn e(s: &str) -> Edn {
    read(s).unwrap_or_else(|err| panic!("{s}: {err}"))
}

fn config(root: &std::path::Path) -> Config {
    let mut c = Config::new(root);
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.admin_password = Some("pw".into());
    c.hash_cost = HashCost::TESTING;
    c.backup_dir = Some(root.join("backups"));
    c
}

fn client(server: &Server, user: &str, pw: &str) -> Arc<Client> {
    Arc::new(Client::connect(&format!("levin://{user}:{pw}@{}/", server.local_addr())).unwrap())
}

fn args(text: &str) -> Vec<Edn> {
    e(text).as_seq().unwrap().to_vec()
}

/// (operation, arguments, the database it needs open first (`:datalog`/`:kv`), the
/// permission it needs as `[action object target?]`).
const TABLE: &[(&str, &str, &str, &str)] = &[
    (
        "transact",
        r#"["sales" [[:db/add -1 :x 1]]]"#,
        "datalog",
        r#"[:alter :database "sales"]"#,
    ),
    (
        "update-schema",
        r#"["sales" {:y {:db/valueType :db.type/long}}]"#,
        "datalog",
        r#"[:alter :database "sales"]"#,
    ),
    (
        "clear",
        r#"["sales"]"#,
        "datalog",
        r#"[:alter :database "sales"]"#,
    ),
    (
        "re-index",
        r#"["sales" {:x {:db/valueType :db.type/long}}]"#,
        "datalog",
        r#"[:alter :database "sales"]"#,
    ),
    (
        "open-transact",
        r#"["sales"]"#,
        "datalog",
        r#"[:alter :database "sales"]"#,
    ),
    (
        "q",
        r#"["sales" [:find ?e :where [?e :x]]]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "explain",
        r#"["sales" [:find ?e :where [?e :x]]]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "pull",
        r#"["sales" [*] 1]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "pull-many",
        r#"["sales" [*] [1]]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "entity",
        r#"["sales" 1]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "entid",
        r#"["sales" 1]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "datoms",
        r#"["sales" :eav]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "seek-datoms",
        r#"["sales" :eav]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "rseek-datoms",
        r#"["sales" :eav]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "index-range",
        r#"["sales" :x nil nil]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "count-datoms",
        r#"["sales" :eav]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "schema",
        r#"["sales"]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "max-eid",
        r#"["sales"]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "db-snapshot",
        r#"["sales"]"#,
        "datalog",
        r#"[:view :database "sales"]"#,
    ),
    (
        "open-dbi",
        r#"["cache" "new"]"#,
        "kv",
        r#"[:alter :database "cache"]"#,
    ),
    (
        "open-list-dbi",
        r#"["cache" "newlist"]"#,
        "kv",
        r#"[:alter :database "cache"]"#,
    ),
    (
        "clear-dbi",
        r#"["cache" "t"]"#,
        "kv",
        r#"[:alter :database "cache"]"#,
    ),
    (
        "drop-dbi",
        r#"["cache" "gone"]"#,
        "kv",
        r#"[:alter :database "cache"]"#,
    ),
    (
        "transact-kv",
        r#"["cache" [[:put "t" "k2" "v"]]]"#,
        "kv",
        r#"[:alter :database "cache"]"#,
    ),
    (
        "sync",
        r#"["cache"]"#,
        "kv",
        r#"[:alter :database "cache"]"#,
    ),
    (
        "open-transact-kv",
        r#"["cache"]"#,
        "kv",
        r#"[:alter :database "cache"]"#,
    ),
    (
        "list-dbis",
        r#"["cache"]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    ("stat", r#"["cache"]"#, "kv", r#"[:view :database "cache"]"#),
    (
        "entries",
        r#"["cache" "t"]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "get-value",
        r#"["cache" "t" "k"]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "get-first",
        r#"["cache" "t" [:all]]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "get-first-n",
        r#"["cache" "t" 2 [:all]]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "get-range",
        r#"["cache" "t" [:all]]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "key-range",
        r#"["cache" "t" [:all]]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "range-count",
        r#"["cache" "t" [:all]]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "key-range-count",
        r#"["cache" "t" [:all]]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "get-rank",
        r#"["cache" "t" "k"]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "get-by-rank",
        r#"["cache" "t" 0]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "sample-kv",
        r#"["cache" "t" 1]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "get-list",
        r#"["cache" "l" "k"]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "list-count",
        r#"["cache" "l" "k"]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "in-list?",
        r#"["cache" "l" "k" "v"]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "list-range",
        r#"["cache" "l" [:all]]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    (
        "list-range-count",
        r#"["cache" "l" [:all]]"#,
        "kv",
        r#"[:view :database "cache"]"#,
    ),
    ("open", r#"["sales"]"#, "", r#"[:view :database "sales"]"#),
    ("open", r#"["brand-new"]"#, "", r#"[:create :database]"#),
    (
        "open",
        r#"["sales" {:z {:db/valueType :db.type/long}}]"#,
        "",
        r#"[:alter :database "sales"]"#,
    ),
    (
        "open",
        r#"["sales" nil {:closed-schema? false}]"#,
        "",
        r#"[:alter :database "sales"]"#,
    ),
    (
        "open-kv",
        r#"["cache"]"#,
        "",
        r#"[:view :database "cache"]"#,
    ),
    (
        "create-database",
        r#"["created" :datalog]"#,
        "",
        r#"[:create :database]"#,
    ),
    (
        "drop-database",
        r#"["sales2"]"#,
        "",
        r#"[:create :database "sales2"]"#,
    ),
    (
        "close-database",
        r#"["sales2"]"#,
        "",
        r#"[:create :database "sales2"]"#,
    ),
    (
        "backup",
        r#"["sales"]"#,
        "datalog",
        r#"[:create :database "sales"]"#,
    ),
    (
        "copy",
        r#"["sales"]"#,
        "datalog",
        r#"[:alter :database "sales"]"#,
    ),
    ("list-databases", "[]", "", "[:view :database]"),
    ("list-databases-in-use", "[]", "", "[:view :server]"),
    ("show-clients", "[]", "", "[:view :server]"),
    (
        "query-system",
        "[[:find ?u :where [_ :user/name ?u]]]",
        "",
        "[:control :server]",
    ),
    ("disconnect-client", "[999999]", "", "[:control :server]"),
    ("create-user", r#"["dave" "pw"]"#, "", "[:create :user]"),
    (
        "drop-user",
        r#"["carol"]"#,
        "",
        r#"[:create :user "carol"]"#,
    ),
    (
        "reset-password",
        r#"["carol" "new"]"#,
        "",
        r#"[:alter :user "carol"]"#,
    ),
    ("list-users", "[]", "", "[:view :user]"),
    (
        "list-user-roles",
        r#"["carol"]"#,
        "",
        r#"[:view :user "carol"]"#,
    ),
    (
        "list-user-permissions",
        r#"["carol"]"#,
        "",
        r#"[:view :user "carol"]"#,
    ),
    ("create-role", "[:made]", "", "[:create :role]"),
    ("drop-role", "[:target]", "", "[:create :role :target]"),
    ("list-roles", "[]", "", "[:view :role]"),
    (
        "list-role-permissions",
        "[:target]",
        "",
        "[:view :role :target]",
    ),
    (
        "assign-role",
        r#"[:target "carol"]"#,
        "",
        "[:control :role :target]",
    ),
    (
        "withdraw-role",
        r#"[:target "carol"]"#,
        "",
        "[:control :role :target]",
    ),
    (
        "grant-permission",
        "[:target :view :role :target]",
        "",
        "[:control :role :target]",
    ),
    (
        "revoke-permission",
        "[:target :view :role :target]",
        "",
        "[:control :role :target]",
    ),
];

/// Everything a denied request might have changed, as the admin sees it.
fn fingerprint(admin: &Client) -> String {
    let mut parts = vec![];
    for (op, a) in [
        ("list-users", "[]"),
        ("list-roles", "[]"),
        ("list-databases", "[]"),
        ("list-role-permissions", "[:target]"),
        ("list-user-roles", r#"["carol"]"#),
        ("count-datoms", r#"["sales" :eav]"#),
        ("schema", r#"["sales"]"#),
        ("list-dbis", r#"["cache"]"#),
        ("get-range", r#"["cache" "t" [:all]]"#),
    ] {
        parts.push(format!(
            "{op}: {:?}",
            admin.call(op, args(a)).map(|v| v.to_string())
        ));
    }
    parts.join("\n")
}

/// Makes sure the objects the table's operations touch exist.
fn setup_targets(admin: &Client) {
    let ignore = |r: Result<Edn, ClientError>| {
        if let Err(e) = r {
            assert!(
                matches!(e.code(), Some("exists") | Some("not-found")),
                "{e}"
            );
        }
    };
    ignore(admin.call("open", args(r#"["sales"]"#)).map(|_| Edn::Nil));
    ignore(admin.call("create-database", args(r#"["sales2"]"#)));
    ignore(admin.call("open-kv", args(r#"["cache"]"#)));
    for dbi in ["t", "gone"] {
        ignore(admin.call("open-dbi", args(&format!(r#"["cache" "{dbi}"]"#))));
    }
    ignore(admin.call("open-list-dbi", args(r#"["cache" "l"]"#)));
    ignore(admin.call(
        "transact-kv",
        args(r#"["cache" [[:put "t" "k" "v"] [:put-list "l" "k" ["v"]]]]"#),
    ));
    ignore(admin.call("create-user", args(r#"["carol" "pw"]"#)));
    ignore(admin.call("create-role", args("[:target]")));
}

#[test]
fn every_operation_is_refused_without_its_permission_and_allowed_with_it() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let admin = client(&server, "admin", "pw");
    for u in ["alice", "bob"] {
        admin
            .call(
                "create-user",
                vec![Edn::String(u.into()), Edn::String("pw".into())],
            )
            .unwrap();
    }
    setup_targets(&admin);
    admin
        .call("transact", args(r#"["sales" [[:db/add -1 :x 1]]]"#))
        .unwrap();
    let bob = client(&server, "bob", "pw");
    for (i, (op, a, open, needed)) in TABLE.iter().enumerate() {
        // Denied: bob holds only his personal role's permissions.
        setup_targets(&admin);
        let before = fingerprint(&admin);
        let err = bob
            .call(op, args(a))
            .expect_err(&format!("{op} {a} was allowed for bob"));
        assert_eq!(err.code(), Some("permission-denied"), "{op} {a}: {err}");
        assert_eq!(
            fingerprint(&admin),
            before,
            "a denied {op} changed something"
        );
        // Allowed: alice gets exactly the permission the table names.
        let role = format!(":r{i}");
        admin
            .call("create-role", args(&format!("[{role}]")))
            .unwrap();
        let mut grant = vec![e(&role)];
        grant.extend(args(needed));
        admin.call("grant-permission", grant).unwrap();
        admin
            .call("assign-role", vec![e(&role), Edn::String("alice".into())])
            .unwrap();
        let alice = client(&server, "alice", "pw");
        let db = args(a).first().cloned().unwrap_or(Edn::Nil);
        match *open {
            "datalog" => {
                alice.call("open", vec![db]).unwrap();
            }
            "kv" => {
                alice.call("open-kv", vec![db]).unwrap();
            }
            _ => {}
        }
        if let Err(err) = alice.call(op, args(a)) {
            assert_ne!(
                err.code(),
                Some("permission-denied"),
                "{op} {a} with {needed}: {err}"
            );
        }
        drop(alice);
        admin.call("drop-role", args(&format!("[{role}]"))).unwrap();
    }
    // The table covers every operation the server authorises.
    let covered: std::collections::BTreeSet<&str> = TABLE.iter().map(|r| r.0).collect();
    for op in [
        "close",
        "close-kv",
        "release-snapshot",
        "close-transact",
        "abort-transact",
    ] {
        assert!(!covered.contains(op), "{op} needs no permission");
    }
    assert_eq!(covered.len(), 70, "operations in the table");
}

#[test]
fn control_of_a_role_hands_on_only_what_one_holds() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let admin = client(&server, "admin", "pw");
    for u in ["lead", "member"] {
        admin
            .call("create-user", args(&format!(r#"["{u}" "pw"]"#)))
            .unwrap();
    }
    admin.call("open", args(r#"["sales"]"#)).unwrap();
    // The team lead administers the role :team, which may write "sales".
    admin.call("create-role", args("[:team]")).unwrap();
    admin
        .call(
            "grant-permission",
            args(r#"[:team :alter :database "sales"]"#),
        )
        .unwrap();
    admin.call("create-role", args("[:leads]")).unwrap();
    admin
        .call("grant-permission", args("[:leads :control :role :team]"))
        .unwrap();
    admin
        .call("assign-role", args(r#"[:leads "lead"]"#))
        .unwrap();
    let before = fingerprint(&admin);
    let lead = client(&server, "lead", "pw");
    // Control of :team does not let the lead put into it what the lead lacks ...
    for a in [
        "[:team :control :server]",
        r#"[:team :create :database "sales"]"#,
        "[:team :create :user]",
    ] {
        let err = lead.call("grant-permission", args(a)).unwrap_err();
        assert_eq!(err.code(), Some("permission-denied"), "{a}: {err}");
    }
    // ... nor give the role (with its write access) to anyone, the lead included ...
    for u in ["lead", "member"] {
        let err = lead
            .call("assign-role", args(&format!(r#"[:team "{u}"]"#)))
            .unwrap_err();
        assert_eq!(err.code(), Some("permission-denied"), "{u}: {err}");
    }
    // ... nor take from a role what the lead could not give.
    let err = lead
        .call(
            "revoke-permission",
            args(r#"[:team :alter :database "sales"]"#),
        )
        .unwrap_err();
    assert_eq!(err.code(), Some("permission-denied"), "{err}");
    assert_eq!(
        fingerprint(&admin),
        before,
        "a refused request changed something"
    );
    let err = lead.call("list-users", args("[]")).unwrap_err();
    assert_eq!(err.code(), Some("permission-denied"), "{err}");
    // Holding what the role holds, the lead may hand it on and manage it.
    admin
        .call(
            "grant-permission",
            args(r#"[:leads :alter :database "sales"]"#),
        )
        .unwrap();
    lead.call("assign-role", args(r#"[:team "member"]"#))
        .unwrap();
    lead.call("grant-permission", args("[:team :view :role :team]"))
        .unwrap();
    lead.call(
        "revoke-permission",
        args(r#"[:team :alter :database "sales"]"#),
    )
    .unwrap();
}

#[test]
fn resetting_another_users_password_needs_what_they_hold() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let admin = client(&server, "admin", "pw");
    for u in ["helpdesk", "carol"] {
        admin
            .call("create-user", args(&format!(r#"["{u}" "pw"]"#)))
            .unwrap();
    }
    // The help desk may set every user's password ...
    admin.call("create-role", args("[:helpdesk]")).unwrap();
    admin
        .call("grant-permission", args("[:helpdesk :alter :user]"))
        .unwrap();
    admin
        .call("assign-role", args(r#"[:helpdesk "helpdesk"]"#))
        .unwrap();
    let desk = client(&server, "helpdesk", "pw");
    // ... of a user holding nothing more than a user's own permissions ...
    desk.call("reset-password", args(r#"["carol" "new"]"#))
        .unwrap();
    client(&server, "carol", "new");
    // ... but not the admin's: that would hand the help desk control of the server.
    let err = desk
        .call("reset-password", args(r#"["admin" "mine"]"#))
        .unwrap_err();
    assert_eq!(err.code(), Some("permission-denied"), "{err}");
    assert!(err.to_string().contains("control on server"), "{err}");
    assert!(Client::connect(&format!("levin://admin:mine@{}/", server.local_addr())).is_err());
    client(&server, "admin", "pw");
    // Nor the password of a user holding a permission the help desk lacks.
    admin.call("open", args(r#"["sales"]"#)).unwrap();
    admin
        .call(
            "grant-permission",
            args(r#"[:levin.role/carol :view :database "sales"]"#),
        )
        .unwrap();
    let err = desk
        .call("reset-password", args(r#"["carol" "again"]"#))
        .unwrap_err();
    assert_eq!(err.code(), Some("permission-denied"), "{err}");
    // Everyone may still set their own.
    desk.call("reset-password", args(r#"["helpdesk" "pw2"]"#))
        .unwrap();
}

#[test]
fn viewing_the_server_does_not_reveal_password_hashes() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let admin = client(&server, "admin", "pw");
    admin.call("create-user", args(r#"["ops" "pw"]"#)).unwrap();
    admin
        .call("grant-permission", args("[:levin.role/ops :view :server]"))
        .unwrap();
    let ops = client(&server, "ops", "pw");
    // Monitoring works ...
    ops.call("show-clients", args("[]")).unwrap();
    ops.call("list-databases-in-use", args("[]")).unwrap();
    // ... but the system database, with the admin's Argon2 hash, stays closed.
    let err = ops
        .call(
            "query-system",
            args(r#"[[:find ?h . :where [?u :user/name "admin"] [?u :user/pw-hash ?h]]]"#),
        )
        .unwrap_err();
    assert_eq!(err.code(), Some("permission-denied"), "{err}");
}

#[test]
fn grants_on_a_dropped_user_or_role_do_not_pass_to_a_new_one_of_the_same_name() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let admin = client(&server, "admin", "pw");
    admin.call("create-user", args(r#"["bob" "pw"]"#)).unwrap();
    admin.call("create-user", args(r#"["eve" "pw"]"#)).unwrap();
    admin.call("create-role", args("[:team]")).unwrap();
    // eve may set bob's password and administer :team.
    for a in [
        r#"[:levin.role/eve :alter :user "bob"]"#,
        "[:levin.role/eve :control :role :team]",
        "[:levin.role/eve :view :role :levin.role/bob]",
    ] {
        admin.call("grant-permission", args(a)).unwrap();
    }
    admin.call("drop-user", args(r#"["bob"]"#)).unwrap();
    admin.call("drop-role", args("[:team]")).unwrap();
    assert_eq!(
        admin
            .call("list-role-permissions", args("[:levin.role/eve]"))
            .unwrap(),
        e(
            r#"[{:act :levin.server/view :obj :levin.server/role :tgt ":levin.role/eve"}
              {:act :levin.server/alter :obj :levin.server/user :tgt "eve"}]"#
        )
    );
    // A new bob (perhaps an administrator) is not eve's to take over.
    admin.call("create-user", args(r#"["bob" "pw"]"#)).unwrap();
    let eve = client(&server, "eve", "pw");
    let err = eve
        .call("reset-password", args(r#"["bob" "mine"]"#))
        .unwrap_err();
    assert_eq!(err.code(), Some("permission-denied"), "{err}");
    // Nobody can make a personal role ahead of its user.
    let err = admin
        .call("create-role", args("[:levin.role/future]"))
        .unwrap_err();
    assert_eq!(err.code(), Some("bad-argument"), "{err}");
}

#[test]
fn a_dropped_users_session_stays_refused_when_the_name_is_reused() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let admin = client(&server, "admin", "pw");
    admin.call("create-user", args(r#"["ann" "pw"]"#)).unwrap();
    let old_ann = client(&server, "ann", "pw");
    admin.call("drop-user", args(r#"["ann"]"#)).unwrap();
    // Another person gets the name, with more rights, before the old session speaks.
    admin
        .call("create-user", args(r#"["ann" "other"]"#))
        .unwrap();
    admin
        .call("grant-permission", args("[:levin.role/ann :view :user]"))
        .unwrap();
    let err = old_ann.call("list-users", args("[]")).unwrap_err();
    assert_eq!(err.code(), Some("auth-failed"), "{err}");
    let new_ann = client(&server, "ann", "other");
    new_ann.call("list-users", args("[]")).unwrap();
}

#[test]
fn a_user_who_may_only_view_cannot_re_index() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let admin = client(&server, "admin", "pw");
    admin.call("create-user", args(r#"["vic" "pw"]"#)).unwrap();
    admin.call("open", args(r#"["sales"]"#)).unwrap();
    admin
        .call("transact", args(r#"["sales" [[:db/add -1 :x 1]]]"#))
        .unwrap();
    admin.call("create-role", args("[:viewer]")).unwrap();
    admin
        .call(
            "grant-permission",
            args(r#"[:viewer :view :database "sales"]"#),
        )
        .unwrap();
    admin
        .call("assign-role", args(r#"[:viewer "vic"]"#))
        .unwrap();
    let vic = client(&server, "vic", "pw");
    vic.call("open", args(r#"["sales"]"#)).unwrap();
    let schema = admin.call("schema", args(r#"["sales"]"#)).unwrap();
    for a in [
        r#"["sales"]"#,
        r#"["sales" {:x {:db/unique :db.unique/identity}}]"#,
    ] {
        let err = vic.call("re-index", args(a)).unwrap_err();
        assert_eq!(err.code(), Some("permission-denied"), "{a}: {err}");
        assert!(
            err.to_string()
                .contains(r#":re-index needs alter on database "sales""#),
            "{err}"
        );
    }
    // Nothing changed, and what vic may do still works.
    assert_eq!(admin.call("schema", args(r#"["sales"]"#)).unwrap(), schema);
    assert_eq!(
        vic.call("q", args(r#"["sales" [:find ?x . :where [_ :x ?x]]]"#))
            .unwrap(),
        Edn::Long(1)
    );
}

#[test]
fn opening_with_a_schema_or_options_needs_alter() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let admin = client(&server, "admin", "pw");
    admin
        .call("create-user", args(r#"["viewer" "pw"]"#))
        .unwrap();
    admin.call("create-role", args("[:viewers]")).unwrap();
    admin
        .call(
            "grant-permission",
            args(r#"[:viewers :view :database "sales"]"#),
        )
        .unwrap();
    admin
        .call("assign-role", args(r#"[:viewers "viewer"]"#))
        .unwrap();
    admin.call("open", args(r#"["sales"]"#)).unwrap();
    let before = fingerprint(&admin);
    let viewer = client(&server, "viewer", "pw");
    let opened = viewer.call("open", args(r#"["sales"]"#)).unwrap();
    assert_eq!(
        opened.get(&e(":opts")),
        Some(&e("{:closed-schema? false :auto-entity-time? false}"))
    );
    for a in [
        r#"["sales" {:z {:db/valueType :db.type/long}}]"#,
        r#"["sales" nil {:closed-schema? true}]"#,
    ] {
        let err = viewer.call("open", args(a)).unwrap_err();
        assert_eq!(err.code(), Some("permission-denied"), "{a}: {err}");
    }
    assert_eq!(
        fingerprint(&admin),
        before,
        "a refused open changed something"
    );
    // With alter, the options are stored in the database: every session (and an
    // embedded open of the same directory) transacts under them.
    let opened = admin
        .call("open", args(r#"["sales" nil {:closed-schema? true}]"#))
        .unwrap();
    assert_eq!(
        opened.get(&e(":opts")),
        Some(&e("{:closed-schema? true :auto-entity-time? false}"))
    );
    let err = admin
        .call("transact", args(r#"["sales" [[:db/add -1 :unknown 1]]]"#))
        .unwrap_err();
    assert!(err.to_string().contains("not in the schema"), "{err}");
    let err = admin
        .call("open", args(r#"["sales" nil {:closed-schema? 1}]"#))
        .unwrap_err();
    assert_eq!(err.code(), Some("bad-argument"), "{err}");
}

#[test]
fn permissions_survive_a_restart_and_changes_reach_open_sessions() {
    let root = tempfile::tempdir().unwrap();
    {
        let server = Server::start(config(root.path())).unwrap();
        let admin = client(&server, "admin", "pw");
        admin.call("create-user", args(r#"["ann" "pw"]"#)).unwrap();
        admin.call("open", args(r#"["sales"]"#)).unwrap();
        admin.call("create-role", args("[:reader]")).unwrap();
        admin
            .call(
                "grant-permission",
                args(r#"[:reader :view :database "sales"]"#),
            )
            .unwrap();
        admin
            .call("assign-role", args(r#"[:reader "ann"]"#))
            .unwrap();
        server.shutdown();
    }
    let server = Server::start(config(root.path())).unwrap();
    let ann = client(&server, "ann", "pw");
    ann.call("open", args(r#"["sales"]"#)).unwrap();
    assert_eq!(
        ann.call("max-eid", args(r#"["sales"]"#)).unwrap(),
        Edn::Long(0)
    );
    // A user cannot grant themselves what they lack, nor assign themselves a role.
    let err = ann
        .call(
            "grant-permission",
            args(r#"[:reader :alter :database "sales"]"#),
        )
        .unwrap_err();
    assert_eq!(err.code(), Some("permission-denied"));
    let err = ann
        .call(
            "grant-permission",
            args(r#"[:levin.role/ann :control :server]"#),
        )
        .unwrap_err();
    assert_eq!(err.code(), Some("permission-denied"));
    // But may change their own password.
    ann.call("reset-password", args(r#"["ann" "pw2"]"#))
        .unwrap();
    // Dropping the user refuses their open connection at its next request.
    let admin = client(&server, "admin", "pw");
    admin.call("drop-user", args(r#"["ann"]"#)).unwrap();
    let err = ann.call("max-eid", args(r#"["sales"]"#)).unwrap_err();
    assert_eq!(err.code(), Some("auth-failed"), "{err}");
    // The admin user cannot be dropped, and a database in use cannot be dropped.
    let err = admin.call("drop-user", args(r#"["admin"]"#)).unwrap_err();
    assert_eq!(err.code(), Some("bad-argument"));
    let other = client(&server, "admin", "pw");
    other.call("open", args(r#"["sales"]"#)).unwrap();
    let err = admin
        .call("drop-database", args(r#"["sales"]"#))
        .unwrap_err();
    assert_eq!(err.code(), Some("in-use"), "{err}");
}

#[test]
fn a_closed_database_is_closed_for_every_session_and_never_deleted_under_one() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let owner = client(&server, "admin", "pw");
    let user = client(&server, "admin", "pw");
    user.call("open", args(r#"["x"]"#)).unwrap();
    user.call("transact", args(r#"["x" [[:db/add -1 :n 1]]]"#))
        .unwrap();
    let snap = user.call("db-snapshot", args(r#"["x"]"#)).unwrap();
    owner.call("close-database", args(r#"["x"]"#)).unwrap();
    // Until its next request the session still holds its handle, so the database is in
    // use and cannot be dropped.
    let err = owner.call("drop-database", args(r#"["x"]"#)).unwrap_err();
    assert_eq!(err.code(), Some("in-use"), "{err}");
    // At its next request the handle is gone, with the snapshot taken through it.
    let err = user.call("max-eid", args(r#"["x"]"#)).unwrap_err();
    assert_eq!(err.code(), Some("not-found"), "{err}");
    let err = user
        .call("release-snapshot", vec![snap.clone()])
        .unwrap_err();
    assert_eq!(err.code(), Some("not-found"), "{err}");
    // Now nobody holds it: it can be dropped and made again, and what is written into
    // the new one is in its directory (not in the deleted file of the old one).
    owner.call("drop-database", args(r#"["x"]"#)).unwrap();
    owner.call("open", args(r#"["x"]"#)).unwrap();
    owner
        .call("transact", args(r#"["x" [[:db/add -1 :m 2]]]"#))
        .unwrap();
    drop(owner);
    drop(user);
    server.shutdown();
    let conn = levin_datalog::Conn::open(root.path().join("x"), ()).unwrap();
    let db = conn.db().unwrap();
    assert_eq!(
        db.datom_count().unwrap(),
        1,
        "the new database's datom is on disk"
    );
}

#[test]
fn a_session_that_missed_a_close_cannot_keep_writing() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let owner = client(&server, "admin", "pw");
    let user = client(&server, "admin", "pw");
    user.call("open", args(r#"["x"]"#)).unwrap();
    user.call("open-transact", args(r#"["x"]"#)).unwrap();
    user.call("transact", args(r#"["x" [[:db/add -1 :n 1]]]"#))
        .unwrap();
    owner.call("close-database", args(r#"["x"]"#)).unwrap();
    // The explicit transaction went with the handle.
    let err = user.call("close-transact", args(r#"["x"]"#)).unwrap_err();
    assert_eq!(err.code(), Some("transaction-state"), "{err}");
    assert!(err.to_string().contains("close-database"), "{err}");
    owner.call("open", args(r#"["x"]"#)).unwrap();
    assert_eq!(
        owner.call("max-eid", args(r#"["x"]"#)).unwrap(),
        Edn::Long(0)
    );
}

#[test]
fn a_copy_of_several_frames_arrives_whole() {
    use sha2::Digest;
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let admin = client(&server, "admin", "pw");
    admin.call("open", args(r#"["big"]"#)).unwrap();
    // About 12 MB of data: more than the 8 one-MiB chunks a frame carries.
    let text = "x".repeat(1000);
    for _ in 0..3 {
        let tx: String = (0..4000)
            .map(|i| format!(r#"{{:n {i} :s "{text}"}}"#))
            .collect();
        admin
            .call(
                "transact",
                vec![Edn::String("big".into()), e(&format!("[{tx}]"))],
            )
            .unwrap();
    }
    let c = admin.call("copy", args(r#"["big"]"#)).unwrap();
    let items = c.get(&e(":items")).and_then(Edn::as_seq).unwrap();
    assert!(items.len() > 8, "{} chunks", items.len());
    let mut bytes = vec![];
    for item in items {
        let (_, hex) = item.as_tagged().expect("a #bytes chunk");
        let hex = hex.as_str().unwrap();
        for i in (0..hex.len()).step_by(2) {
            bytes.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
        }
    }
    assert_eq!(
        Some(bytes.len() as i64),
        c.get(&e(":size")).and_then(Edn::as_long)
    );
    let sha: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        Some(sha.as_str()),
        c.get(&e(":sha-256")).and_then(Edn::as_str)
    );
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("data.levin"), &bytes).unwrap();
    let conn = levin_datalog::Conn::open(out.path(), ()).unwrap();
    assert_eq!(conn.db().unwrap().datom_count().unwrap(), 24_000);
    // The temporary copy is gone from the root.
    let left: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .filter_map(|d| d.ok())
        .filter(|d| d.file_name().to_string_lossy().starts_with(".copy-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn backups_go_to_the_servers_directory_and_open_embedded() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(config(root.path())).unwrap();
    let admin = client(&server, "admin", "pw");
    admin.call("open", args(r#"["sales"]"#)).unwrap();
    // Under write load from another client.
    let writer = client(&server, "admin", "pw");
    writer.call("open", args(r#"["sales"]"#)).unwrap();
    let load = std::thread::spawn(move || {
        for i in 0..200 {
            writer
                .call(
                    "transact",
                    args(&format!(r#"["sales" [[:db/add -1 :n {i}]]]"#)),
                )
                .unwrap();
        }
    });
    let b = admin.call("backup", args(r#"["sales" true]"#)).unwrap();
    load.join().unwrap();
    let rel = b
        .get(&e(":backup"))
        .and_then(Edn::as_str)
        .unwrap()
        .to_string();
    let dir = root.path().join("backups").join(rel);
    let env = levin_engine::Env::open(&dir).unwrap();
    assert!(env.check().unwrap().is_ok());
    levin_datalog::Conn::open(&dir, ()).unwrap();
    // copy streams the file with its digest.
    let c = admin.call("copy", args(r#"["sales"]"#)).unwrap();
    let size = c.get(&e(":size")).and_then(Edn::as_long).unwrap();
    assert!(size > 0);
    assert_eq!(
        c.get(&e(":sha-256")).and_then(Edn::as_str).map(str::len),
        Some(64)
    );
}
