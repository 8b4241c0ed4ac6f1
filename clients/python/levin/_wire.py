"""One connection to `levin serve`: the URI, TCP or TLS, frames, the handshake, and
request/reply exchange with streamed results reassembled (docs/PROTOCOL.md)."""

from __future__ import annotations

import os
import socket
import ssl
import struct
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from . import _transit
from ._types import Keyword
from .errors import (
    ConnectionClosed,
    ConnectionTimeout,
    Error,
    InvalidURI,
    ProtocolError,
    TLSError,
    error_from_reply,
)

__all__ = ["Target", "Wire", "parse_uri", "DEFAULT_PORT", "DEFAULT_TIMEOUT_MS"]

#: The default port of `levin serve`.
DEFAULT_PORT = 8898
#: How long a reply may take by default (as the Rust client: 300 s).
DEFAULT_TIMEOUT_MS = 300_000
#: The largest reply frame the client accepts.
MAX_REPLY_FRAME = 1 << 30
PROTOCOL_VERSION = 1
FORMAT_TRANSIT_JSON = 0x01

_K = Keyword


@dataclass
class Target:
    """A parsed ``levin://USER[:PASSWORD]@HOST[:PORT][/DB][?tls=true&ca=PATH&timeout-ms=N]``."""

    user: str
    password: str
    host: str
    port: int
    db: Optional[str]
    tls: bool = False
    ca: Optional[str] = None
    timeout_ms: Optional[int] = DEFAULT_TIMEOUT_MS

    def display(self) -> str:
        """The URI without the password."""
        db = f"/{self.db}" if self.db else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"levin://{self.user}@{host}:{self.port}{db}"


def parse_uri(uri: str) -> Target:
    """Parses a ``levin://`` URI as the Rust client does (client/src/uri.rs). A missing
    password comes from the ``LEVIN_PASSWORD`` environment variable."""
    if not isinstance(uri, str):
        raise InvalidURI(f"a server URI is a string, got {type(uri).__name__}")
    if not uri.startswith("levin://"):
        raise InvalidURI(
            f"{uri!r} does not start with levin:// (Levin's Python client talks to a "
            "server: levin://USER:PASSWORD@HOST:PORT/DATABASE)"
        )
    rest = uri[len("levin://") :]
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        raise InvalidURI(f"{uri!r} names no user: levin://USER@HOST")
    userinfo, hostport = authority.rsplit("@", 1)

    def dec(s: str) -> str:
        if "%" in s and not all(
            len(p) >= 2 and all(c in "0123456789abcdefABCDEF" for c in p[:2])
            for p in s.split("%")[1:]
        ):
            raise InvalidURI(f"bad %-escape in {s!r}")
        try:
            return urllib.parse.unquote(s, errors="strict")
        except UnicodeDecodeError:
            raise InvalidURI(f"{s!r} is not UTF-8 once decoded") from None

    if ":" in userinfo:
        u, p = userinfo.split(":", 1)
        user, password = dec(u), dec(p)
    else:
        user, password = dec(userinfo), None
    if not user:
        raise InvalidURI(f"{uri!r} names no user")
    if password is None:
        password = os.environ.get("LEVIN_PASSWORD")
        if password is None:
            raise InvalidURI(
                f"{uri!r} has no password: give levin://USER:PASSWORD@HOST or set LEVIN_PASSWORD"
            )
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise InvalidURI(f"unclosed [ in {uri!r}")
        host, after = hostport[1:end], hostport[end + 1 :]
        if after and not after.startswith(":"):
            raise InvalidURI(f"bad host {hostport!r} in {uri!r}")
        port_text = after[1:] if after else None
    elif ":" in hostport:
        host, port_text = hostport.rsplit(":", 1)
    else:
        host, port_text = hostport, None
    if not host:
        raise InvalidURI(f"{uri!r} names no host")
    if port_text is None:
        port = DEFAULT_PORT
    else:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InvalidURI(f"bad port {port_text!r} in {uri!r}")
        port = int(port_text)
    db = dec(path) if slash and path else None
    t = Target(user=user, password=password, host=host, port=port, db=db)
    for pair in filter(None, query.split("&")):
        key, eq, value = pair.partition("=")
        if not eq:
            value = "true"
        if key == "tls":
            t.tls = value in ("true", "1")
        elif key == "ca":
            t.ca = dec(value)
            t.tls = True
        elif key == "timeout-ms":
            if not value.isdigit():
                raise InvalidURI(f"bad timeout-ms {value!r} in {uri!r}")
            ms = int(value)
            t.timeout_ms = ms if ms > 0 else None
        else:
            raise InvalidURI(f"unknown URI option {key!r} in {uri!r} (tls, ca, timeout-ms)")
    return t


class Wire:
    """An authenticated connection. `call` is safe to use from several threads: requests
    are sent one at a time, as the server answers them in order."""

    def __init__(self, target: Target, client_name: str) -> None:
        self.target = target
        self._lock = threading.RLock()
        self._next_id = 0
        self._closed: Optional[str] = None
        self._sock = self._open_socket()
        try:
            self._exchange(
                {
                    _K("type"): _K("hello"),
                    _K("id"): 0,
                    _K("protocol"): PROTOCOL_VERSION,
                    _K("client"): client_name,
                },
                0,
            )
            self._exchange(
                {
                    _K("type"): _K("authenticate"),
                    _K("id"): 0,
                    _K("username"): target.user,
                    _K("password"): target.password,
                },
                0,
            )
        except BaseException:
            self.close("the handshake failed")
            raise

    # ---------------------------------------------------------------- socket

    def _where(self) -> str:
        return f"{self.target.host}:{self.target.port}"

    def _open_socket(self) -> socket.socket:
        t = self.target
        timeout = None if t.timeout_ms is None else t.timeout_ms / 1000.0
        try:
            sock = socket.create_connection((t.host, t.port), timeout=timeout or 30.0)
        except socket.timeout:
            raise ConnectionTimeout(f"connecting to {self._where()} timed out") from None
        except OSError as e:
            raise ConnectionClosed(f"cannot connect to {self._where()}: {e.strerror or e}") from None
        sock.settimeout(timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if not t.tls:
            return sock
        try:
            ctx = ssl.create_default_context(cafile=t.ca) if t.ca else ssl.create_default_context()
        except (OSError, ssl.SSLError) as e:
            sock.close()
            raise TLSError(f"cannot load the CA certificate {t.ca!r}: {e}") from None
        try:
            return ctx.wrap_socket(sock, server_hostname=t.host)
        except ssl.SSLCertVerificationError as e:
            sock.close()
            raise TLSError(
                f"the server {self._where()} presented a certificate that is not trusted: "
                f"{e.verify_message or e}"
            ) from None
        except (ssl.SSLError, OSError) as e:
            sock.close()
            raise TLSError(f"the TLS handshake with {self._where()} failed: {e}") from None

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def close(self, why: str = "the connection was closed") -> None:
        with self._lock:
            if self._closed is None:
                self._closed = why
            try:
                self._sock.close()
            except OSError:
                pass

    def _broken(self, exc: Error) -> Error:
        self.close(str(exc))
        return exc

    def _send(self, message: Dict[Any, Any]) -> None:
        payload = _transit.dumps(message, "the request").encode("utf-8")
        frame = struct.pack(">BI", FORMAT_TRANSIT_JSON, len(payload)) + payload
        try:
            self._sock.sendall(frame)
        except socket.timeout:
            raise self._broken(
                ConnectionTimeout(f"sending a request to {self._where()} timed out")
            ) from None
        except OSError as e:
            raise self._broken(
                ConnectionClosed(f"the server {self._where()} went away while sending: {e}")
            ) from None

    def _read_exact(self, n: int) -> bytes:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            try:
                k = self._sock.recv_into(view[got:], n - got)
            except socket.timeout:
                ms = self.target.timeout_ms
                raise self._broken(
                    ConnectionTimeout(
                        f"no reply from {self._where()} within {ms} ms (the timeout-ms of the "
                        "URI); the connection is closed"
                    )
                ) from None
            except OSError as e:
                raise self._broken(
                    ConnectionClosed(f"the server {self._where()} went away: {e}")
                ) from None
            if k == 0:
                what = "between replies" if got == 0 and n == 5 else "in the middle of a reply"
                raise self._broken(
                    ConnectionClosed(f"the server {self._where()} closed the connection {what}")
                )
            got += k
        return bytes(buf)

    def _receive(self) -> Any:
        head = self._read_exact(5)
        fmt, n = struct.unpack(">BI", head)
        if fmt != FORMAT_TRANSIT_JSON:
            raise self._broken(ProtocolError(f"a reply frame has format byte {fmt}, not 1"))
        if n > MAX_REPLY_FRAME:
            raise self._broken(ProtocolError(f"a reply frame of {n} bytes is too large"))
        payload = self._read_exact(n)
        try:
            msg = _transit.loads(payload.decode("utf-8"))
        except UnicodeDecodeError:
            raise self._broken(ProtocolError("a reply is not UTF-8")) from None
        except ProtocolError as e:
            raise self._broken(e) from None
        if not isinstance(msg, dict) or not isinstance(msg.get(":type"), Keyword):
            raise self._broken(ProtocolError(f"a reply without :type: {msg!r:.200}"))
        return msg

    def _check_id(self, msg: Dict[Any, Any], rid: int) -> None:
        got = msg.get(":id")
        if got != rid and got != 0:
            raise self._broken(ProtocolError(f"a reply to request {rid} carries id {got!r}"))

    def _error(self, msg: Dict[Any, Any]) -> Error:
        err = error_from_reply(msg.get(":message"), msg.get(":err-data"))
        if err.code == ":levin.error/protocol" or msg.get(":id") == 0 and self._next_id > 0:
            self.close(str(err))
        return err

    def _exchange(self, message: Dict[Any, Any], rid: int) -> Any:
        self._send(message)
        reply = self._receive()
        self._check_id(reply, rid)
        kind = reply[":type"].name
        if kind == "error-response":
            raise self._error(reply)
        if kind == "copy-out-response":
            return self._collect(rid, reply)
        if kind in ("command-complete", "hello-ok"):
            return reply.get(":result")
        raise self._broken(ProtocolError(f"unexpected reply type :{kind}"))

    def _collect(self, rid: int, head: Dict[Any, Any]) -> Any:
        kind = head.get(":kind")
        items: List[Any] = []
        while True:
            m = self._receive()
            self._check_id(m, rid)
            t = m[":type"].name
            if t == "copy-batch":
                batch = m.get(":items")
                if not isinstance(batch, list):
                    raise self._broken(ProtocolError(":copy-batch without a vector of :items"))
                items.extend(batch)
            elif t == "copy-done":
                break
            elif t == "error-response":
                raise self._error(m)
            else:
                raise self._broken(ProtocolError(f"unexpected :{t} inside a streamed result"))
        expected = head.get(":count")
        if isinstance(expected, int) and expected != len(items):
            raise self._broken(
                ProtocolError(f"a streamed result announced {expected} items and sent {len(items)}")
            )
        name = kind.name if isinstance(kind, Keyword) else "vector"
        if name == "set":
            try:
                return frozenset(items)
            except TypeError:
                return items
        if name == "list":
            from ._types import EdnList

            return EdnList(items)
        return items

    # ---------------------------------------------------------------- requests

    def call(self, op: str, args: List[Any], **named: Any) -> Any:
        """Sends ``{:type op :id n :args args ...named}`` and returns the result."""
        with self._lock:
            if self._closed is not None:
                raise ConnectionClosed(f"the connection is closed ({self._closed})")
            self._next_id += 1
            rid = self._next_id
            msg: Dict[Any, Any] = {_K("type"): _K(op), _K("id"): rid, _K("args"): list(args)}
            for k, v in named.items():
                if v is not None:
                    msg[_K(k.replace("_", "-"))] = v
            return self._exchange(msg, rid)
