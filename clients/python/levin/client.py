"""`Client`: administration of a Levin server (users, roles, permissions, databases,
sessions), with the methods of Datalevin's Python ``Client``."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import _convert as cv
from ._types import Keyword
from ._wire import Wire, parse_uri
from .connection import _opts_target
from .errors import InterfaceError

__all__ = ["Client", "new_client"]

_ACTIONS = ("view", "alter", "create", "control")
_OBJECTS = ("database", "user", "role", "server")


def _perm_kw(value: Any, allowed: tuple, what: str) -> Keyword:
    if isinstance(value, str):
        k = Keyword(value)
        if k.local_name in allowed and (k.namespace in (None, "levin.server", "datalevin.server")):
            return k
    raise InterfaceError(f"{what} is one of {', '.join(':' + a for a in allowed)}, got {value!r}")


def _role(role: Any) -> Keyword:
    if isinstance(role, str) and role:
        return Keyword(role)
    raise InterfaceError(f"a role is a keyword such as ':reader', got {role!r}")


def _user(user: Any) -> str:
    if isinstance(user, str) and user and not isinstance(user, Keyword):
        return user
    raise InterfaceError(f"a user name is a non-empty string, got {user!r}")


def _db(name: Any) -> str:
    if isinstance(name, str) and name and not isinstance(name, Keyword):
        return name
    raise InterfaceError(f"a database name is a non-empty string, got {name!r}")


class Client:
    """An administrative session: ``Client("levin://admin:secret@localhost:8898")``."""

    def __init__(self, uri: str, opts: Optional[Dict[str, Any]] = None) -> None:
        target = parse_uri(uri)
        name = _opts_target(target, opts)
        self._target = target
        self._wire = Wire(target, name)

    def _call(self, op: str, *args: Any, **named: Any) -> Any:
        return self._wire.call(op, list(args), **named)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<levin.Client {self._target.display()}>"

    def close(self) -> None:
        self._wire.close()

    disconnect = close

    def disconnected(self) -> bool:
        return self._wire.closed

    def call(self, op: str, *args: Any, **named: Any) -> Any:
        """Sends any operation of docs/PROTOCOL.md with EDN-valued arguments."""
        return self._call(op, *args, **named)

    # ------------------------------------------------------------------ databases

    def create_database(self, name: str, db_type: Any = ":datalog") -> None:
        """Creates a database; db_type is ``":datalog"`` or ``":key-value"``."""
        t = Keyword(db_type) if isinstance(db_type, str) else db_type
        if t not in (":datalog", ":key-value"):
            raise InterfaceError(f"a database type is ':datalog' or ':key-value', got {db_type!r}")
        self._call("create-database", _db(name), t)

    def drop_database(self, name: str) -> None:
        self._call("drop-database", _db(name))

    def close_database(self, name: str) -> None:
        self._call("close-database", _db(name))

    def list_databases(self) -> List[str]:
        return self._call("list-databases")

    def list_databases_in_use(self) -> List[str]:
        return self._call("list-databases-in-use")

    # ------------------------------------------------------------------ users and roles

    def create_user(self, username: str, password: str) -> None:
        if not isinstance(password, str) or not password:
            raise InterfaceError("a password is a non-empty string")
        self._call("create-user", _user(username), password)

    def drop_user(self, username: str) -> None:
        self._call("drop-user", _user(username))

    def reset_password(self, username: str, password: str) -> None:
        if not isinstance(password, str) or not password:
            raise InterfaceError("a password is a non-empty string")
        self._call("reset-password", _user(username), password)

    def list_users(self) -> List[str]:
        return self._call("list-users")

    def create_role(self, role: Any) -> None:
        self._call("create-role", _role(role))

    def drop_role(self, role: Any) -> None:
        self._call("drop-role", _role(role))

    def list_roles(self) -> List[Keyword]:
        return self._call("list-roles")

    def assign_role(self, role: Any, username: str) -> None:
        self._call("assign-role", _role(role), _user(username))

    def withdraw_role(self, role: Any, username: str) -> None:
        self._call("withdraw-role", _role(role), _user(username))

    def list_user_roles(self, username: str) -> List[Keyword]:
        return self._call("list-user-roles", _user(username))

    def _perm_args(self, role: Any, act: Any, obj: Any, tgt: Any) -> List[Any]:
        o = _perm_kw(obj, _OBJECTS, "a permission's object")
        args: List[Any] = [_role(role), _perm_kw(act, _ACTIONS, "a permission's action"), o]
        if tgt is not None:
            args.append(_role(tgt) if o.local_name == "role" else tgt)
        return args

    def grant_permission(self, role: Any, act: Any, obj: Any, tgt: Any = None) -> None:
        """Grants ``act`` (``:view`` < ``:alter`` < ``:create`` < ``:control``) on ``obj``
        (``:database``, ``:user``, ``:role``, ``:server``), for one target (a database or
        user name, a role keyword) or all (None)."""
        self._call("grant-permission", *self._perm_args(role, act, obj, tgt))

    def revoke_permission(self, role: Any, act: Any, obj: Any, tgt: Any = None) -> None:
        self._call("revoke-permission", *self._perm_args(role, act, obj, tgt))

    def list_role_permissions(self, role: Any) -> List[Dict[Any, Any]]:
        return self._call("list-role-permissions", _role(role))

    def list_user_permissions(self, username: str) -> List[Dict[Any, Any]]:
        return self._call("list-user-permissions", _user(username))

    # ------------------------------------------------------------------ server

    def query_system(self, query: Any, *args: Any) -> Any:
        """A read-only query on the system database (users, roles, databases)."""
        typed = cv.is_form(query)
        q = cv.query(query)
        call_args: List[Any] = [q]
        if args:
            call_args.append(cv.inputs(q, args, typed))
        return self._call("query-system", *call_args)

    def show_clients(self) -> List[Dict[Any, Any]]:
        """The connected sessions: ``[{":client-id", ":peer", ":user", ":databases",
        ":this?"}]``."""
        return self._call("show-clients")

    def client_id(self) -> Any:
        """This session's client id."""
        for c in self.show_clients():
            if c.get(":this?"):
                return c.get(":client-id")
        return None

    def disconnect_client(self, client_id: Any) -> None:
        self._call("disconnect-client", client_id)


def new_client(uri: str, opts: Optional[Dict[str, Any]] = None) -> Client:
    """An administrative `Client` for the server at uri."""
    return Client(uri, opts=opts)
