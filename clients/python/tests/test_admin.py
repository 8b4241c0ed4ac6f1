"""Users, roles, permissions and logins."""

from __future__ import annotations

import uuid

import pytest

import levin
from levin import Keyword


@pytest.fixture
def admin(server):
    with levin.Client(server.uri()) as c:
        yield c


def _user() -> str:
    return "u" + uuid.uuid4().hex[:10]


def test_wrong_password(server, db_name):
    with pytest.raises(levin.AuthenticationFailed) as e:
        levin.connect(server.uri(db_name, password="wrong"))
    assert e.value.code == ":levin.error/auth-failed"
    with pytest.raises(levin.AuthenticationFailed):
        levin.Client(server.uri(user="nobody", password="x"))


def test_password_from_the_environment(server, db_name, monkeypatch):
    from conftest import ADMIN_PASSWORD

    monkeypatch.setenv("LEVIN_PASSWORD", ADMIN_PASSWORD)
    with levin.connect(server.uri(db_name, password=None)) as conn:
        assert conn.max_eid() == 0
    monkeypatch.delenv("LEVIN_PASSWORD")
    with pytest.raises(levin.InvalidURI, match="LEVIN_PASSWORD"):
        levin.connect(server.uri(db_name, password=None))


def test_permission_denied_without_the_grant(server, admin, db_name):
    user, pw = _user(), "pw-" + uuid.uuid4().hex
    admin.create_user(user, pw)
    with levin.connect(server.uri(db_name)) as conn:  # admin creates the database
        conn.transact([{":name": "secret"}])
    with pytest.raises(levin.PermissionDenied) as e:
        levin.connect(server.uri(db_name, user=user, password=pw))
    assert e.value.code == ":levin.error/permission-denied" and "view" in e.value.message
    role = Keyword(f":{user}-readers")
    admin.create_role(role)
    admin.grant_permission(role, ":view", ":database", db_name)
    admin.assign_role(role, user)
    assert role in admin.list_user_roles(user)
    perms = admin.list_role_permissions(role)
    assert any(p[":tgt"] == db_name for p in perms)
    with levin.connect(server.uri(db_name, user=user, password=pw)) as conn:
        assert conn.q('[:find ?n . :where [_ :name ?n]]') == "secret"
        with pytest.raises(levin.PermissionDenied, match="alter"):
            conn.transact([{":name": "mine"}])
        # Revoking reaches the open session at its next request.
        admin.revoke_permission(role, ":view", ":database", db_name)
        with pytest.raises(levin.PermissionDenied):
            conn.q('[:find ?n . :where [_ :name ?n]]')
    with pytest.raises(levin.PermissionDenied):
        with levin.Client(server.uri(user=user, password=pw)) as c:
            c.create_user(_user(), "x")


def test_user_and_role_administration(server, admin):
    user = _user()
    admin.create_user(user, "first")
    assert user in admin.list_users()
    with pytest.raises(levin.AlreadyExists):
        admin.create_user(user, "again")
    admin.reset_password(user, "second")
    with pytest.raises(levin.AuthenticationFailed):
        levin.Client(server.uri(user=user, password="first"))
    with levin.Client(server.uri(user=user, password="second")) as c:
        assert not c.disconnected()
    assert isinstance(admin.client_id(), int)
    role = Keyword(f":r-{user}")
    admin.create_role(role)
    assert role in admin.list_roles()
    admin.assign_role(role, user)
    admin.withdraw_role(role, user)
    assert role not in admin.list_user_roles(user)
    admin.drop_role(role)
    assert role not in admin.list_roles()
    assert admin.list_user_permissions(user)
    admin.drop_user(user)
    assert user not in admin.list_users()
    with pytest.raises(levin.InterfaceError, match="action"):
        admin.grant_permission(":x", ":read", ":database")


def test_databases_and_system_queries(server, admin):
    name = "adm-" + uuid.uuid4().hex[:8]
    admin.create_database(name, ":key-value")
    assert name in admin.list_databases()
    with pytest.raises(levin.AlreadyExists):
        admin.create_database(name)
    users = admin.query_system('[:find [?u ...] :where [?e :user/name ?u]]')
    assert "admin" in users
    assert any(c[":this?"] for c in admin.show_clients())
    admin.drop_database(name)
    assert name not in admin.list_databases()
    with pytest.raises(levin.NotFound):
        admin.drop_database(name)


def test_disconnect_client(server, admin, db_name):
    conn = levin.connect(server.uri(db_name))
    ids = [c[":client-id"] for c in admin.show_clients() if db_name in c[":databases"]]
    assert len(ids) == 1
    admin.disconnect_client(ids[0])
    with pytest.raises(levin.ConnectionClosed):
        conn.max_eid()
    with pytest.raises(levin.ConnectionClosed, match="closed"):
        conn.max_eid()
