"""Starts real `levin serve` processes for the tests: each on a free port of 127.0.0.1,
with a temporary root and LEVIN_ADMIN_PASSWORD set, read from its `listening on` line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import List, Optional

import pytest

REPO = Path(__file__).resolve().parents[3]
ADMIN_PASSWORD = "admin-secret-for-tests"


def levin_bin() -> Path:
    path = Path(os.environ.get("LEVIN_BIN", REPO / "target" / "release" / "levin"))
    if not path.exists():
        pytest.fail(f"the levin binary {path} is missing: build it (cargo build --release -p levin-cli) or set LEVIN_BIN")
    return path


class Server:
    """One `levin serve`."""

    def __init__(self, root: Path, extra: Optional[List[str]] = None) -> None:
        self.root = root
        env = dict(os.environ, LEVIN_ADMIN_PASSWORD=ADMIN_PASSWORD)
        env.pop("LEVIN_PASSWORD", None)
        self.proc = subprocess.Popen(
            [str(levin_bin()), "serve", "--root", str(root), "--listen", "127.0.0.1:0", *(extra or [])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        line: List[str] = []

        def read() -> None:
            line.append(self.proc.stdout.readline())

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(30)
        if not line or not line[0].startswith("listening on "):
            self.stop()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            pytest.fail(f"levin serve did not start: stdout {line!r}, stderr {err!r}")
        self.addr = line[0].strip().split("listening on ", 1)[1]
        self.host, port = self.addr.rsplit(":", 1)
        self.port = int(port)

    def uri(self, db: str = "", user: str = "admin", password: Optional[str] = ADMIN_PASSWORD,
            query: str = "") -> str:
        auth = user if password is None else f"{user}:{password}"
        path = f"/{db}" if db else ""
        return f"levin://{auth}@{self.host}:{self.port}{path}{query}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    s = Server(tmp_path_factory.mktemp("levin-root"))
    yield s
    s.stop()


@pytest.fixture
def fresh_server(tmp_path: Path):
    """A server of the test's own (for tests that kill it)."""
    s = Server(tmp_path / "root")
    yield s
    s.kill()


@pytest.fixture
def db_name() -> str:
    return "t-" + uuid.uuid4().hex[:12]


@pytest.fixture
def db_uri(server: Server, db_name: str) -> str:
    return server.uri(db_name)


SCHEMA = {
    ":name": {":db/valueType": ":db.type/string", ":db/unique": ":db.unique/identity"},
    ":age": {":db/valueType": ":db.type/long"},
    ":friend": {":db/valueType": ":db.type/ref", ":db/cardinality": ":db.cardinality/many"},
    ":tags": {":db/valueType": ":db.type/keyword", ":db/cardinality": ":db.cardinality/many"},
}


@pytest.fixture
def people(db_uri: str):
    """A connection to a fresh database with Ada (36), Bob (20, friend of Ada), Cy (5)."""
    import levin

    conn = levin.connect(db_uri, schema=SCHEMA)
    conn.transact(
        [
            {":db/id": -1, ":name": "Ada", ":age": 36, ":tags": {levin.Keyword(":math")}},
            {":db/id": -2, ":name": "Bob", ":age": 20, ":friend": [-1]},
            {":db/id": -3, ":name": "Cy", ":age": 5, ":friend": [-1, -2]},
        ]
    )
    yield conn
    conn.close()


def openssl() -> Optional[str]:
    return shutil.which("openssl")


_ = (sys, time)
