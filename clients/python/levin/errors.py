"""The errors the client raises. Every one is a `levin.Error`; those the server sent carry
its error code (``":levin.error/permission-denied"``), message and data
(docs/PROTOCOL.md, "Errors")."""

from __future__ import annotations

from typing import Any, Optional

__all__ = [
    "Error",
    "DatalevinError",
    "InterfaceError",
    "InvalidURI",
    "ConnectionClosed",
    "ConnectionTimeout",
    "TLSError",
    "ProtocolError",
    "AuthenticationFailed",
    "PermissionDenied",
    "UnknownOperation",
    "BadArgument",
    "NotFound",
    "AlreadyExists",
    "InUse",
    "ParseError",
    "QueryError",
    "Timeout",
    "TooLarge",
    "SchemaError",
    "TransactionError",
    "UniqueConflict",
    "CasFailed",
    "LookupRefError",
    "TransactionStateError",
    "WriterBusy",
    "CorruptionError",
    "StorageError",
    "Unsupported",
    "Busy",
    "error_from_reply",
]


class Error(Exception):
    """Base class of every error of the Levin client.

    ``code`` is the server's error code as a string (``":levin.error/parse"``), or ``None``
    for errors found by the client; ``message`` the message; ``data`` the server's
    ``:err-data`` map (a dict, with keyword keys that also index as strings).
    """

    def __init__(self, message: str, *, code: Optional[str] = None, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = data if data is not None else {}

    def __str__(self) -> str:
        return self.message if self.code is None else f"{self.message} [{self.code}]"


#: Datalevin's name for its base class, so ``except DatalevinError`` keeps working.
DatalevinError = Error


class InterfaceError(Error, ValueError):
    """The client was given an argument it cannot send (wrong type or shape); nothing was
    sent to the server."""


class InvalidURI(InterfaceError):
    """A ``levin://`` URI that does not parse."""


class ConnectionClosed(Error, ConnectionError):
    """The connection is closed: the server went away, or closed it after an error, or
    ``close()`` was called. Further calls on it raise this too."""


class ConnectionTimeout(ConnectionClosed):
    """No reply came within the connection's timeout (``?timeout-ms=N``); the connection
    is closed, since a late reply would be read as the answer to the next request."""


class TLSError(ConnectionClosed):
    """The TLS handshake failed (untrusted certificate, wrong host name, not a TLS
    server)."""


class ProtocolError(Error):
    """A malformed frame or message (``:levin.error/protocol``); the connection closes."""


class AuthenticationFailed(Error):
    """Wrong user name or password, or the user was dropped."""


class PermissionDenied(Error):
    """The user lacks the permission the operation needs; the message names it."""


class UnknownOperation(Error):
    """The server has no such operation."""


class BadArgument(InterfaceError):
    """An argument of the wrong shape or type, found by the server or by the client."""


class NotFound(Error):
    """No such database, user, role, snapshot or transaction."""


class AlreadyExists(Error):
    """Creating something that exists."""


class InUse(Error):
    """Dropping a database that other sessions have open."""


class ParseError(Error):
    """EDN text that does not read, or a malformed query. ``data`` may hold ``:line`` and
    ``:column``."""


class QueryError(Error):
    """The query failed (unknown function, unbound variable, ...)."""


class Timeout(Error):
    """The query ran past its ``:timeout`` or the server's deadline."""


class TooLarge(Error):
    """An intermediate result passed the server's row limit."""


class SchemaError(Error):
    """An invalid schema, or a change the data forbids."""


class TransactionError(Error):
    """A malformed or invalid transaction."""


class UniqueConflict(TransactionError):
    """A datom would break ``:db/unique``."""


class CasFailed(TransactionError):
    """``:db/cas`` found another value."""


class LookupRefError(TransactionError):
    """A lookup ref that names no entity."""


class TransactionStateError(Error):
    """No explicit transaction open, one already open, or one the server aborted."""


class WriterBusy(Error):
    """Another session's transaction held the writer too long; nothing changed, retry."""


class CorruptionError(Error):
    """The database file is damaged."""


class StorageError(Error):
    """An I/O or engine failure on the server."""


class Unsupported(Error):
    """Not offered by the server or by this client (the message says what)."""


class Busy(Error):
    """A server limit: connections, snapshots per session."""


_BY_CODE = {
    "protocol": ProtocolError,
    "auth-failed": AuthenticationFailed,
    "permission-denied": PermissionDenied,
    "unknown-op": UnknownOperation,
    "bad-argument": BadArgument,
    "not-found": NotFound,
    "exists": AlreadyExists,
    "in-use": InUse,
    "parse": ParseError,
    "query": QueryError,
    "timeout": Timeout,
    "too-large": TooLarge,
    "schema": SchemaError,
    "transaction": TransactionError,
    "unique": UniqueConflict,
    "cas": CasFailed,
    "lookup-ref": LookupRefError,
    "transaction-state": TransactionStateError,
    "writer-busy": WriterBusy,
    "corruption": CorruptionError,
    "storage": StorageError,
    "unsupported": Unsupported,
    "busy": Busy,
}


def error_from_reply(message: Any, data: Any) -> Error:
    """The `Error` subclass for an ``:error-response`` with this message and ``:err-data``."""
    if not isinstance(data, dict):
        data = {}
    code = data.get(":code")
    code_text = str(code) if code is not None else ":levin.error/unknown"
    name = code_text.rsplit("/", 1)[-1]
    cls = _BY_CODE.get(name, Error)
    if not isinstance(message, str) or not message:
        message = "the server sent an error without a message"
    return cls(message, code=code_text, data=data)
