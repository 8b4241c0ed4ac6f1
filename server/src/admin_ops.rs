//! Administration: users, roles, permissions, the system database, connected clients,
//! and server-side backups (into the server's `--backup-dir`, never a client's path) and
//! copies streamed to the client with their SHA-256.

use levin_edn::{Edn, Keyword};
use sha2::{Digest, Sha256};

use crate::authz::{authorize_delegation, Action, Object, Permission};
use crate::error::ServerError;
use crate::message::Request;
use crate::session::{Reply, Session};
use crate::system::{personal_role, role_target};

fn strings(v: Vec<String>) -> Edn {
    Edn::Vector(v.into_iter().map(Edn::string).collect())
}

fn keywords(v: Vec<Keyword>) -> Edn {
    Edn::Vector(v.into_iter().map(Edn::Keyword).collect())
}

fn perms_edn(v: Vec<Permission>) -> Edn {
    Edn::Vector(v.iter().map(Permission::to_edn).collect())
}

/// `[role act obj tgt?]` from arguments: the permission (the target is a database or user
/// name, or a role key).
fn permission_args(req: &Request) -> Result<Permission, ServerError> {
    let act_kw = req.kw_arg(1, "the action (:view, :alter, :create or :control)")?;
    let act = Action::from_keyword(act_kw).ok_or_else(|| {
        ServerError::BadArgument(format!(
            "unknown action {act_kw}: use :view, :alter, :create or :control"
        ))
    })?;
    let obj_kw = req.kw_arg(2, "the object (:database, :user, :role or :server)")?;
    let obj = Object::from_keyword(obj_kw).ok_or_else(|| {
        ServerError::BadArgument(format!(
            "unknown object {obj_kw}: use :database, :user, :role or :server"
        ))
    })?;
    let tgt = match req.opt_arg(3) {
        None => None,
        Some(Edn::String(s)) => Some(s.as_str().to_owned()),
        Some(Edn::Keyword(k)) => Some(role_target(k)),
        Some(v) => {
            return Err(ServerError::BadArgument(format!(
                "a permission's target is a database or user name (a string) or a role key, got {v}"
            )))
        }
    };
    if obj == Object::Server && tgt.is_some() {
        return Err(ServerError::BadArgument(
            "a permission on :server has no target".into(),
        ));
    }
    Ok(Permission { act, obj, tgt })
}

/// The personal role of `user` as a permission target.
fn personal_role_target(user: &str) -> String {
    role_target(&personal_role(user))
}

/// Handles the administrative operations; `None` for any other.
pub(crate) fn handle(s: &mut Session<'_>, req: &Request) -> Option<Result<Edn, ServerError>> {
    let known = matches!(
        req.op.as_str(),
        "create-user"
            | "drop-user"
            | "reset-password"
            | "list-users"
            | "create-role"
            | "drop-role"
            | "list-roles"
            | "assign-role"
            | "withdraw-role"
            | "list-user-roles"
            | "grant-permission"
            | "revoke-permission"
            | "list-role-permissions"
            | "list-user-permissions"
            | "query-system"
            | "show-clients"
            | "disconnect-client"
            | "backup"
    );
    known.then(|| run(s, req))
}

fn run(s: &mut Session<'_>, req: &Request) -> Result<Edn, ServerError> {
    let sys = &s.shared.system;
    let hashes = &s.shared.hashes;
    let user = |i: usize| req.str_arg(i, "the user name");
    let role = |i: usize| req.kw_arg(i, "the role key");
    let done = Ok(Edn::Bool(true));
    match req.op.as_str() {
        "create-user" => {
            sys.create_user(user(0)?, req.str_arg(1, "the password")?, hashes)?;
            done
        }
        "drop-user" => {
            sys.drop_user(user(0)?)?;
            done
        }
        "reset-password" => {
            let target = user(0)?;
            if s.user.as_deref() != Some(target) {
                // Setting another user's password takes over their identity, so it hands on
                // everything they hold: the caller must hold it too (else alter on users
                // would reach the admin's password). What concerns only the target itself
                // (alter on that user, view on its personal role) is left out: every user
                // holds it, and the caller already has alter on the user.
                let own = personal_role_target(target);
                let given: Vec<Permission> = sys
                    .permissions_of(target)?
                    .into_iter()
                    .filter(|p| match (p.obj, p.tgt.as_deref()) {
                        (Object::User, Some(t)) => t != target,
                        (Object::Role, Some(t)) => t != own,
                        _ => true,
                    })
                    .collect();
                authorize_delegation(&req.op, s.perms(), &given)?;
            }
            sys.reset_password(target, req.str_arg(1, "the new password")?, hashes)?;
            done
        }
        "list-users" => Ok(strings(sys.list_users()?)),
        "create-role" => {
            sys.create_role(role(0)?)?;
            done
        }
        "drop-role" => {
            sys.drop_role(role(0)?)?;
            done
        }
        "list-roles" => Ok(keywords(sys.list_roles()?)),
        "assign-role" => {
            // Control of a role administers it; giving it to someone (the caller included)
            // hands on its permissions, which the caller must hold.
            let given = sys.role_permissions(role(0)?)?;
            authorize_delegation(&req.op, s.perms(), &given)?;
            sys.assign_role(role(0)?, user(1)?)?;
            done
        }
        "withdraw-role" => {
            sys.withdraw_role(role(0)?, user(1)?)?;
            done
        }
        "list-user-roles" => Ok(keywords(sys.user_roles(user(0)?)?)),
        // Control of the role is not enough to put any permission into it (then assign it
        // to oneself): the caller must hold the permission granted. Revoking takes the same
        // (else control of the admin's role, or of all roles, could strip the admin's).
        "grant-permission" => {
            let p = permission_args(req)?;
            authorize_delegation(&req.op, s.perms(), std::slice::from_ref(&p))?;
            sys.grant(role(0)?, &p)?;
            done
        }
        "revoke-permission" => {
            let p = permission_args(req)?;
            authorize_delegation(&req.op, s.perms(), std::slice::from_ref(&p))?;
            sys.revoke(role(0)?, &p)?;
            done
        }
        "list-role-permissions" => Ok(perms_edn(sys.role_permissions(role(0)?)?)),
        "list-user-permissions" => {
            let u = user(0)?;
            if sys.password_hash(u)?.is_none() {
                return Err(ServerError::NotFound(format!("no user {u:?}")));
            }
            Ok(perms_edn(sys.permissions_of(u)?))
        }
        "query-system" => {
            let query = match req.arg(0, "the query")? {
                Edn::String(t) => levin_edn::read(t)?,
                q => q.clone(),
            };
            let inputs = req
                .opt_arg(1)
                .and_then(Edn::as_seq)
                .map(<[Edn]>::to_vec)
                .unwrap_or_default();
            sys.query(&query, &inputs, &crate::datalog_ops::registry(s))
        }
        "show-clients" => {
            let clients = s.shared.clients.lock().unwrap_or_else(|e| e.into_inner());
            let k = |n: &str| Edn::kw("", n);
            Ok(Edn::Vector(
                clients
                    .iter()
                    .map(|(id, c)| {
                        Edn::Map(vec![
                            (k("client-id"), Edn::Long(*id as i64)),
                            (k("peer"), Edn::string(c.peer.to_string())),
                            (k("user"), c.user.clone().map_or(Edn::Nil, Edn::string)),
                            (k("databases"), strings(c.databases.clone())),
                            (k("this?"), Edn::Bool(*id == s.client_id)),
                        ])
                    })
                    .collect(),
            ))
        }
        "disconnect-client" => {
            let id = req.count_arg(0, "the client id")?.unwrap_or(0);
            let clients = s.shared.clients.lock().unwrap_or_else(|e| e.into_inner());
            let c = clients
                .get(&id)
                .ok_or_else(|| ServerError::NotFound(format!("no client {id}")))?;
            c.kicked.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
            done
        }
        "backup" => {
            let name = req.str_arg(0, "the database name")?.to_string();
            let compact = matches!(req.opt_arg(1), Some(Edn::Bool(true)));
            let Some(dir) = s.shared.config.backup_dir.clone() else {
                return Err(ServerError::Unsupported(
                    "backups need the server started with --backup-dir".into(),
                ));
            };
            let store = s.store(&name)?.clone();
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let rel = format!("{name}/{stamp}");
            store.env().copy_to(dir.join(&rel), compact)?;
            Ok(Edn::Map(vec![
                (Edn::kw("", "backup"), Edn::string(rel)),
                (Edn::kw("", "compact?"), Edn::Bool(compact)),
            ]))
        }
        other => Err(ServerError::UnknownOp(other.to_string())),
    }
}

/// Bytes of each chunk of a `:copy`, and chunks per frame (8 MiB of data, about 11 MiB as
/// base64, well under the default frame limit).
const COPY_CHUNK: usize = 1 << 20;
const COPY_CHUNKS_PER_FRAME: usize = 8;

/// `:copy [db compact?]`: a hot copy of the database's data file, streamed to the client
/// in chunks, with its size and SHA-256 in the stream's `:meta`. The copy is read twice
/// (once for the digest, once as it is sent), never held in memory whole.
pub(crate) fn copy(s: &mut Session<'_>, req: &Request) -> Result<Reply, ServerError> {
    let name = req.str_arg(0, "the database name")?.to_string();
    let compact = matches!(req.opt_arg(1), Some(Edn::Bool(true)));
    let store = s.store(&name)?.clone();
    let tmp = tempdir_in(&s.shared.config.root)?;
    let path = tmp.join("data.levin");
    let digest = store
        .env()
        .copy_to(&tmp, compact)
        .map_err(ServerError::from)
        .and_then(|()| {
            sha256_of(&path).map_err(|e| {
                ServerError::Engine(levin_engine::Error::Io {
                    op: "reading the copy".into(),
                    source: e,
                })
            })
        });
    let (sha, size) = match digest {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let meta = Edn::Map(vec![
        (Edn::kw("", "sha-256"), Edn::string(sha)),
        (
            Edn::kw("", "size"),
            Edn::Long(i64::try_from(size).unwrap_or(i64::MAX)),
        ),
        (Edn::kw("", "compact?"), Edn::Bool(compact)),
    ]);
    Ok(Reply::File {
        meta,
        path,
        size,
        chunk: COPY_CHUNK,
        batch: COPY_CHUNKS_PER_FRAME,
        remove: tmp,
    })
}

/// The SHA-256 (in hex) and the length of the file at `path`, read in pieces.
fn sha256_of(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, size))
}

/// A fresh directory under the server's root for a temporary copy.
fn tempdir_in(root: &std::path::Path) -> Result<std::path::PathBuf, ServerError> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = root.join(format!(".copy-{stamp}-{}", std::process::id()));
    Ok(dir)
}
