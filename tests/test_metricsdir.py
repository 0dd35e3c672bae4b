"""The folder the gunicorn workers share for metrics: chosen, emptied, and freed of dead workers' gauges."""

from __future__ import annotations

import os
import subprocess

from askservice import metricsdir


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_an_explicit_folder_wins_and_reset_empties_it(tmp_path, monkeypatch):
    folder = tmp_path / "metrics"
    monkeypatch.setenv(metricsdir.ENV, str(folder))
    assert metricsdir.prepare() == str(folder) and folder.is_dir()
    (folder / "counter_123.db").write_bytes(b"old")
    (folder / "notes.txt").write_text("kept")
    assert metricsdir.reset(os.getpid()) == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_outside_gunicorn_there_is_no_folder(monkeypatch):
    monkeypatch.setenv(metricsdir.ENV, "")  # unset, and restored after the test
    assert metricsdir.prepare() is None


def test_a_master_gets_its_own_folder_and_dead_masters_lose_theirs(tmp_path, monkeypatch):
    monkeypatch.setenv(metricsdir.ENV, "")  # reset() exports the folder: undone after the test
    monkeypatch.setattr(metricsdir.tempfile, "gettempdir", lambda: str(tmp_path))
    stale = tmp_path / f"{metricsdir.PREFIX}{dead_pid()}-1"
    stale.mkdir()
    path = metricsdir.reset(os.getpid())
    assert os.path.dirname(path) == str(tmp_path) and f"{metricsdir.PREFIX}{os.getpid()}-" in path
    assert os.environ[metricsdir.ENV] == path
    assert not stale.exists()


def test_dead_pids_are_read_from_live_gauge_files_only(tmp_path):
    gone, alive = dead_pid(), os.getpid()
    for name in (f"gauge_livesum_{gone}.db", f"gauge_livesum_{alive}.db", f"counter_{dead_pid()}.db"):
        (tmp_path / name).write_bytes(b"")
    assert metricsdir.dead_pids(str(tmp_path)) == {gone}
