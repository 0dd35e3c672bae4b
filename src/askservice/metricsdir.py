"""The folder prometheus_client's multiprocess mode shares between gunicorn workers.

Light on purpose (standard library only): `deploy/gunicorn.conf.py` calls `reset()` in the
gunicorn master, which must stay free of the app's heavy imports.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile

ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "askservice-metrics-"


def prepare() -> str | None:
    """Return the folder this process shares with its sibling workers, or None outside gunicorn.

    An explicit `PROMETHEUS_MULTIPROC_DIR` wins. In a gunicorn worker without it, the folder is
    keyed on the master (pid and start time), so workers of one master share it and a new master
    starts from zero.
    """
    given = os.environ.get(ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        return given
    if "gunicorn.arbiter" not in sys.modules:  # not forked from a gunicorn master
        return None
    path = _master_dir(os.getppid())
    os.environ[ENV] = path
    return path


def reset(master_pid: int) -> str:
    """In the gunicorn master before workers start: empty (or make) the folder, export it, return it."""
    path = os.environ.get(ENV) or _master_dir(master_pid)
    os.makedirs(path, exist_ok=True)
    for name in glob.glob(os.path.join(path, "*.db")):
        os.remove(name)
    os.environ[ENV] = path
    return path


def dead_pids(path: str) -> set[int]:
    """Return the pids that left live-gauge files in `path` and no longer run."""
    pids = set()
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = _pid_of(name)
        if pid is not None and not _alive(pid):
            pids.add(pid)
    return pids


def _master_dir(master_pid: int) -> str:
    path = os.path.join(tempfile.gettempdir(), f"{PREFIX}{master_pid}-{_start_time(master_pid)}")
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o700, exist_ok=True)
        _remove_dirs_of_dead_masters()
    return path


def _remove_dirs_of_dead_masters() -> None:
    for old in glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*")):
        pid = old[len(os.path.join(tempfile.gettempdir(), PREFIX)):].partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[19]  # field 22: start time in clock ticks
    except (OSError, IndexError):
        return "0"


def _pid_of(filename: str) -> int | None:
    tail = os.path.basename(filename)[: -len(".db")].rpartition("_")[2]
    return int(tail) if tail.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
