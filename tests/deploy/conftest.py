"""Fixtures for the deployment files: the system tools they need, and supervisord running the set."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.servers import REPO, VENV_BIN, Process, free_port, wait_until

UNAVAILABLE = REPO / ".cache" / "unavailable"  # markers left by `make system-tools`
SERVICE_ENV_PREFIXES = ("UPSTREAM_", "API_KEYS", "STORE_", "BLOB_", "PROMETHEUS_", "ASKSERVICE_", "WEB_CONCURRENCY")


def system_tool(name: str) -> str:
    """Return the path of a distribution tool; skip loudly if `make` could not install it, else fail."""
    path = shutil.which(name)
    if path:
        return path
    if (UNAVAILABLE / name).exists():
        pytest.skip(f"*** {name} could not be installed on this machine (apt-get install -y {name}) ***")
    pytest.fail(f"{name} is missing: run `make system-tools` (or apt-get install -y {name})")


def clean_env(**extra: str) -> dict[str, str]:
    """Return this environment without the service's settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SERVICE_ENV_PREFIXES)}
    env.update(extra)
    return env


@dataclass
class Supervised:
    """supervisord running supervisord.conf with its folders and the service's port in a temp dir."""

    process: Process
    env: dict[str, str]
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


@pytest.fixture(scope="module")
def supervised(tmp_path_factory, upstream):
    """Start `supervisord -c supervisord.conf` on a free port with every path in a temp dir."""
    tmp = tmp_path_factory.mktemp("supervisor")
    port = free_port()
    env = clean_env(
        ASKSERVICE_LOG_DIR=str(tmp),
        ASKSERVICE_RUN_DIR=str(tmp),
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
    supervised = Supervised(process, env, tmp, f"http://127.0.0.1:{port}")
    try:
        wait_until(supervised.healthy, timeout=30, what="askservice under supervisord")
    except TimeoutError:
        process.stop()
        logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp.glob("*.log"))
        raise RuntimeError(f"supervisord did not bring askservice up:\n{process.log_text()[-3000:]}\n{logs}") from None
    yield supervised
    process.stop(timeout=60)
