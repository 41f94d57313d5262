"""Shared fixtures: a workspace on disk, the CLI in-process and as a real subprocess.

Tests never touch the network or a real keychain: the keyring backend is chosen here, and
every server a test talks to is started by the suite on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from outreach.cli import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No OUTREACH_* from the developer's shell, no real keychain, no colours."""
    for name in list(os.environ):
        if name.startswith("OUTREACH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """An empty workspace folder, made the current directory, with a sender configured."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".env").write_text("OUTREACH_FROM=Asha Rao <asha.rao@example.org>\n", encoding="utf-8")
    monkeypatch.chdir(ws)
    return ws


@pytest.fixture
def invoke():
    """Run the CLI in-process: ``invoke("check", "t.txt", "c.csv")`` -> click Result."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


@pytest.fixture
def run_cli():
    """Run the CLI as a real subprocess of this checkout (not whatever is installed)."""

    def run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 60,
            input: bytes | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        return subprocess.run([sys.executable, "-m", "outreach", *map(str, args)], cwd=cwd,
                              env=full_env, capture_output=True, text=True, timeout=timeout,
                              input=input)

    return run


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    """(cert.pem, key.pem) of a self-signed CA made for this test session."""
    from tests.tls import make_certificate

    return make_certificate(tmp_path_factory.mktemp("tls"))
