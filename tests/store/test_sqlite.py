"""SQLite specifics: WAL on disk, and conditions that hold across processes (gunicorn's workers)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from askservice.store.sqlite import SqliteStore
from tests.servers import REPO

INCREMENTS = """
import sys
from askservice.store.base import ConditionFailed
from askservice.store.sqlite import SqliteStore

store, done = SqliteStore(sys.argv[1]), 0
while done < int(sys.argv[2]):
    item = store.get("counter", "meta")
    try:
        store.update("counter", "meta", set={"n": item["n"] + 1}, expected_version=item["version"])
        done += 1
    except ConditionFailed:
        pass
"""


def test_store_creates_its_schema_in_wal_mode(tmp_path):
    store = SqliteStore(tmp_path / "new" / "store.db")
    store.put({"pk": "a", "sk": "b"})
    store.close()
    db = sqlite3.connect(tmp_path / "new" / "store.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert {row[0] for row in db.execute("SELECT name FROM sqlite_master")} >= {"items", "items_gsi1"}
    db.close()


def test_optimistic_increments_from_four_processes_lose_nothing(tmp_path):
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    store.put({"pk": "counter", "sk": "meta", "n": 0})
    env = {"PYTHONPATH": str(REPO / "src")}
    workers = [
        subprocess.Popen([sys.executable, "-c", INCREMENTS, str(path), "100"], env=env, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()
    assert store.get("counter", "meta") == {"pk": "counter", "sk": "meta", "n": 400, "version": 401}
