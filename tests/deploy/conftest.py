"""Fixtures for the deployment files: the system tools they need, and supervisord running the set."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.servers import REPO, VENV_BIN, Process, free_port, wait_until

UNAVAILABLE = REPO / ".cache" / "unavailable"  # markers left by `make system-tools`
VAR = REPO / "var"  # supervisord.conf's socket, pid file and logs when nothing overrides them
HOST_CONF = Path("/etc/askservice/supervisord.conf")  # a host's paths, included by supervisord.conf
SERVICE_ENV_PREFIXES = ("UPSTREAM_", "API_KEYS", "STORE_", "BLOB_", "PROMETHEUS_", "ASKSERVICE_", "WEB_CONCURRENCY")


def system_tool(name: str) -> str:
    """Return the path of a distribution tool; fail if it is missing, saying how to install it."""
    path = shutil.which(name)
    if path:
        return path
    if (UNAVAILABLE / name).exists():
        pytest.fail(f"*** {name} could not be installed on this machine (apt-get install -y {name}) ***")
    pytest.fail(f"{name} is missing: run `make system-tools` (or apt-get install -y {name})")


def clean_env(**extra: str) -> dict[str, str]:
    """Return this environment without the service's settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SERVICE_ENV_PREFIXES)}
    env.update(extra)
    return env


@dataclass
class Supervised:
    """supervisord running supervisord.conf as written: socket, pid and logs in `var`, data in `tmp`."""

    process: Process
    env: dict[str, str]
    var: Path
    tmp: Path
    base_url: str

    def ctl(self, *args: str, check: bool = True) -> str:
        """Run supervisorctl against this supervisord and return its output."""
        done = subprocess.run(
            [str(VENV_BIN / "supervisorctl"), "-c", str(REPO / "supervisord.conf"), *args],
            env=self.env, capture_output=True, text=True, timeout=130,
        )
        if check and done.returncode not in (0,):
            raise AssertionError(f"supervisorctl {' '.join(args)} -> {done.returncode}: {done.stdout}{done.stderr}")
        return done.stdout

    def master_pid(self) -> int:
        """Return the pid of the gunicorn master that supervisord runs now."""
        return int(self.ctl("pid", "askservice").strip())

    def healthy(self) -> bool:
        """Answer whether the service answers its health check."""
        return requests.get(self.base_url + "/v1/health", timeout=2).status_code == 200


def _answers(sock: Path) -> bool:
    """Answer whether something listens on the unix socket `sock`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        try:
            s.connect(str(sock))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def supervised(tmp_path_factory, upstream):
    """Start `supervisord -c supervisord.conf` as an operator does: nothing exported, state in REPO/var.

    Data and the service's settings (a free port) are in a temp dir; the files the run adds to
    REPO/var are removed afterwards.
    """
    if HOST_CONF.exists():
        pytest.fail(f"{HOST_CONF} exists on this machine: supervisord.conf includes it, so its paths would win over {VAR}")
    if _answers(VAR / "supervisor.sock"):
        pytest.fail(f"a supervisord already answers on {VAR / 'supervisor.sock'} (a `make supervise`?): stop it first")
    tmp = tmp_path_factory.mktemp("supervisor")
    before = set(VAR.iterdir())
    port = free_port()
    env = clean_env(
        HOST="127.0.0.1",
        PORT=str(port),
        STORE_URL=f"sqlite:///{tmp}/askservice.db",
        BLOB_URL=f"file://{tmp}/blobs",
        UPSTREAM_BASE_URL=upstream.base_url,
        UPSTREAM_MODEL="scripted-model",
        WEB_CONCURRENCY="2",
        GRACEFUL_TIMEOUT="20",
        RUN_LEASE_SECONDS="2",  # a run left by a stopped worker is recovered within seconds
    )
    process = Process(
        [str(VENV_BIN / "supervisord"), "-c", str(REPO / "supervisord.conf")],
        env=env, cwd=tmp, log=tmp / "supervisord.out",
    )
    supervised = Supervised(process, env, VAR, tmp, f"http://127.0.0.1:{port}")
    try:
        try:
            wait_until(supervised.healthy, timeout=30, what="askservice under supervisord")
        except TimeoutError:
            process.stop()
            logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in VAR.glob("*.log"))
            raise RuntimeError(f"supervisord did not bring askservice up:\n{process.log_text()[-3000:]}\n{logs}") from None
        yield supervised
    finally:
        process.stop(timeout=60)
        # the logs this run started (not an earlier `make supervise`'s), its socket and pid file
        for left in (set(VAR.iterdir()) - before) | {VAR / "supervisor.sock", VAR / "supervisord.pid"}:
            left.unlink(missing_ok=True)
