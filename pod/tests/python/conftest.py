"""Fixtures for driving the built `levin` binary as a Babashka pod through python-pods, an
independent pod client (a port of babashka's), over both transports."""

import os
import pathlib

import pytest
import python_pods as pods
from transit.transit_types import Keyword

NS = "pod.huahaiy.datalevin"
ROOT = pathlib.Path(__file__).resolve().parents[3]
LEVIN = os.environ.get("LEVIN_BIN", str(ROOT / "target" / "release" / "levin"))


class Pod:
    """One running pod: `call("transact!", conn, tx)` invokes pod.huahaiy.datalevin/transact!."""

    def __init__(self, transport, workdir):
        opts = {"transport": "socket"} if transport == "socket" else {}
        self.transport = transport
        self.workdir = workdir
        self.pod = pods.load_pod([LEVIN], opts)
        self.pod_id = self.pod["pod_id"]

    def call(self, var, *args):
        return pods.invoke_public(self.pod_id, f"{NS}/{var}", list(args))

    def process(self):
        return self.pod["process"]

    def unload(self):
        pods.unload_pod(self.pod_id)


def kw(name):
    return Keyword(name)


@pytest.fixture(params=["stdio", "socket"])
def pod(request, tmp_path, monkeypatch):
    # The socket transport writes its port file in the working directory.
    monkeypatch.chdir(tmp_path)
    p = Pod(request.param, tmp_path)
    yield p
    if p.pod_id in pods.pods:
        p.unload()
