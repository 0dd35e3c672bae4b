"""Start and stop the real processes the tests talk to: free loopback ports, readiness, teardown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    """Call `check` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # the thing is not up yet
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout}s (last error: {last_exc!r})")


def worker_pids(master: int) -> list[int]:
    """Return the pids of the child processes of `master` (gunicorn's workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
    return pids


class Process:
    """A child process in its own process group, logged to a file, stopped by PID."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None, log: Path | None = None):
        self.args = args
        self.log_path = log
        self._log = open(log, "wb") if log else subprocess.DEVNULL
        self.popen = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_text(self) -> str:
        """Return what the process wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Signal the whole process group, then kill it if it lingers."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self._log is not subprocess.DEVNULL:
            self._log.close()


class Service(Process):
    """askservice under gunicorn with gevent workers on a free loopback port."""

    def __init__(self, env: dict[str, str], tmp: Path, workers: int = 2, extra_args: list[str] | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("UPSTREAM_", "API_KEYS", "STORE_", "BLOB_", "PROMETHEUS_MULTIPROC_DIR"))}
        full_env.update(
            {
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "STORE_URL": f"sqlite:///{tmp}/askservice.db",
                "BLOB_URL": f"file://{tmp}/blobs",
                "PYTHONUNBUFFERED": "1",
            }
        )
        full_env.update(env)
        args = [
            str(VENV_BIN / "gunicorn"),
            "-k", "gevent",
            "-w", str(workers),
            "--worker-connections", "2000",
            "-b", f"127.0.0.1:{self.port}",
            "--chdir", str(REPO / "src"),
            "--graceful-timeout", "10",
            *(extra_args or []),
            "app:app",
        ]
        super().__init__(args, env=full_env, cwd=REPO, log=tmp / f"gunicorn-{self.port}.log")
        try:
            wait_until(self._healthy, timeout=30, what=f"gunicorn on {self.port}")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"gunicorn did not start:\n{self.log_text()[-4000:]}") from None

    def _healthy(self) -> bool:
        if self.popen.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {self.popen.returncode}:\n{self.log_text()[-4000:]}")
        return requests.get(self.base_url + "/v1/health", timeout=1).status_code == 200

    def url(self, path: str) -> str:
        """Return the absolute URL of `path` on this service."""
        return self.base_url + path
