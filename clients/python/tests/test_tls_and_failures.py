"""TLS with a certificate made here, and servers that go away or never answer."""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

import levin
from conftest import Server, openssl


def make_certificates(d: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 / localhost signed by it (openssl CLI)."""
    tool = openssl()
    if tool is None:
        pytest.skip("the openssl command is not installed: cannot make a test certificate")

    def run(*args: str) -> None:
        subprocess.run([tool, *args], cwd=d, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", "-new", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Levin test CA")
    run("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return d / "ca.pem", d / "server.pem", d / "server.key"


def test_tls(tmp_path):
    ca, cert, key = make_certificates(tmp_path)
    s = Server(tmp_path / "root", ["--tls-cert", str(cert), "--tls-key", str(key)])
    try:
        with levin.connect(s.uri("tlsdb", query=f"?ca={ca}"), schema={":a": {":db/valueType": ":db.type/long"}}) as conn:
            conn.transact([{":a": 1}])
            assert conn.q('[:find ?a . :where [_ :a ?a]]') == 1
        # A CA that did not sign the server's certificate.
        other = tmp_path / "other"
        other.mkdir()
        other_ca, _, _ = make_certificates(other)
        with pytest.raises(levin.TLSError, match="not trusted"):
            levin.connect(s.uri("tlsdb", query=f"?ca={other_ca}"))
        # Plain TCP to a TLS server: no reply that makes sense, a clear error, no hang.
        with pytest.raises(levin.Error):
            levin.connect(s.uri("tlsdb", query="?timeout-ms=3000"))
        with pytest.raises(levin.TLSError, match="CA certificate"):
            levin.connect(s.uri("tlsdb", query=f"?ca={tmp_path / 'missing.pem'}"))
    finally:
        s.stop()


def test_server_killed_mid_call(fresh_server):
    conn = levin.connect(fresh_server.uri("slow"), schema={":n": {":db/valueType": ":db.type/long"}})
    conn.transact([{":n": i} for i in range(3000)])
    result: dict = {}

    def slow() -> None:
        t = time.monotonic()
        try:
            conn.q('[:find (count ?a) . :where [?a :n ?x] [?b :n ?y] [(< ?x ?y)]]')
            result["outcome"] = "answered"
        except levin.Error as e:
            result["outcome"] = e
        result["seconds"] = time.monotonic() - t

    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.5)
    fresh_server.kill()
    th.join(30)
    assert not th.is_alive(), "the call hung after the server died"
    assert isinstance(result["outcome"], levin.ConnectionClosed), result
    assert "closed the connection" in str(result["outcome"]) or "went away" in str(result["outcome"])
    with pytest.raises(levin.ConnectionClosed):
        conn.max_eid()
    with pytest.raises(levin.ConnectionClosed, match="cannot connect"):
        levin.connect(fresh_server.uri("slow"))


class FakeServer:
    """Answers the handshake, then misbehaves on the first request: `mode` is "cut" (half a
    reply, then close), "silent" (never answers) or "garbage" (a frame that is not transit)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def frame(text: str) -> bytes:
        data = text.encode()
        return struct.pack(">BI", 1, len(data)) + data

    def read_frame(self, c: socket.socket) -> bytes:
        head = b""
        while len(head) < 5:
            head += c.recv(5 - len(head))
        n = struct.unpack(">BI", head)[1]
        body = b""
        while len(body) < n:
            body += c.recv(n - len(body))
        return body

    def serve(self) -> None:
        c, _ = self.sock.accept()
        self.read_frame(c)
        c.sendall(self.frame('["^ ","~:type","~:hello-ok","~:id",0,"~:protocol",1]'))
        self.read_frame(c)
        c.sendall(self.frame('["^ ","~:type","~:command-complete","~:id",0,"~:result",null]'))
        self.read_frame(c)  # :open
        c.sendall(self.frame('["^ ","~:type","~:command-complete","~:id",1,"~:result",null]'))
        self.read_frame(c)  # the request that goes wrong
        if self.mode == "cut":
            whole = self.frame('["^ ","~:type","~:command-complete","~:id",2,"~:result",42]')
            c.sendall(whole[:12])
            c.close()
        elif self.mode == "garbage":
            c.sendall(self.frame("{not json"))
            time.sleep(5)
        else:
            time.sleep(5)
        c.close()

    def uri(self, query: str = "") -> str:
        return f"levin://u:p@127.0.0.1:{self.port}/db{query}"


def test_a_reply_cut_short():
    fake = FakeServer("cut")
    conn = levin.connect(fake.uri())
    with pytest.raises(levin.ConnectionClosed, match="middle of a reply"):
        conn.max_eid()
    assert conn.closed()


def test_a_server_that_never_answers_times_out():
    fake = FakeServer("silent")
    conn = levin.connect(fake.uri("?timeout-ms=400"))
    t = time.monotonic()
    with pytest.raises(levin.ConnectionTimeout, match="within 400 ms"):
        conn.max_eid()
    assert time.monotonic() - t < 3
    with pytest.raises(levin.ConnectionClosed):
        conn.max_eid()


def test_a_reply_that_is_not_transit():
    fake = FakeServer("garbage")
    conn = levin.connect(fake.uri())
    with pytest.raises(levin.ProtocolError, match="not valid JSON"):
        conn.max_eid()
    with pytest.raises(levin.ConnectionClosed):
        conn.max_eid()


def test_nothing_listening():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(levin.ConnectionClosed, match="cannot connect"):
        levin.connect(f"levin://u:p@127.0.0.1:{port}/db")


def test_a_transaction_the_server_aborts_commits_nothing(tmp_path):
    """`levin serve --txn-idle-timeout-s 1`: a transaction idle longer is aborted, and the
    writes the client makes after it, still inside `with_transaction`, are refused rather
    than committed one by one."""
    s = Server(tmp_path / "root", ["--txn-idle-timeout-s", "1"])
    try:
        conn = levin.connect(s.uri("t"))

        def work(c):
            c.transact([{":name": "first"}])
            time.sleep(1.8)
            c.transact([{":name": "second"}])

        with pytest.raises(levin.TransactionStateError, match="idle"):
            conn.with_transaction(work)
        assert conn.q("[:find (count ?e) . :where [?e :name]]") is None
        conn.transact([{":name": "after"}])  # the database serves again
        assert conn.q("[:find (count ?e) . :where [?e :name]]") == 1
        conn.close()
    finally:
        s.stop()
