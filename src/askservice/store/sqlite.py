"""The Store on one SQLite table: WAL, `synchronous=NORMAL`, conditions checked inside the write.

Every write runs in a `BEGIN IMMEDIATE` transaction, so it holds the database's write lock from
its first read to its commit: conditions cannot race, across greenlets, threads or processes.
Connections come from a small pool (a queue, which gevent's monkey-patching makes cooperative);
a statement never yields, so a greenlet holds a connection only for the length of its statements.
"""

from __future__ import annotations

import json
import queue
import random
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

from askservice.store import rules
from askservice.store.base import ConditionFailed, Delete, Expect, Item, Operation, Put, Store, StoreUnavailable, Update
from askservice.store.rules import Walk

BUSY_TIMEOUT_S = 10.0
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS items (
        pk TEXT NOT NULL, sk TEXT NOT NULL, gsi1pk TEXT, gsi1sk TEXT,
        version INTEGER NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (pk, sk)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk)",
)
COLUMNS = "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, version, data) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pk, sk) DO "


class SqliteStore(Store):
    """Items in one SQLite table at `path` (created with its folder if missing)."""

    def __init__(self, path: Union[str, Path], pool_size: int = 8):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool_size = pool_size
        with self._connection() as db:
            self._set_wal(db)
            for statement in SCHEMA:
                db.execute(statement)

    @staticmethod
    def _set_wal(db: sqlite3.Connection) -> None:
        """Switch the file to WAL; workers opening one new file together may find it locked, so retry."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = len(self._all) < self._pool_size
                if grow:
                    db = self._connect()
                    self._all.append(db)
            if not grow:
                db = self._idle.get()
        try:
            yield db
        except sqlite3.OperationalError as exc:  # locked past the busy timeout, disk full, ...
            raise StoreUnavailable(f"SQLite failed: {exc}") from exc
        finally:
            self._idle.put(db)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _get(self, pk: str, sk: str) -> Item | None:
        with self._connection() as db:
            return _read(db, pk, sk)

    def _write(self, op: Operation, expect: Expect) -> Item | bool:
        with self._transaction() as db:
            return _apply(db, op, expect)

    def _transact(self, checked: list[tuple[Operation, Expect]]) -> None:
        with self._transaction() as db:
            for op, expect in checked:
                _apply(db, op, expect)

    def _read_page(self, index: bool, partition: str, walk: Walk, where: Item) -> list[Item]:
        key, sort = ("gsi1pk", "gsi1sk") if index else ("pk", "sk")
        sql = [f"SELECT version, data FROM items WHERE {key} = ?"]
        args: list = [partition]
        if walk.prefix:
            sql.append(f"AND {sort} >= ? AND {sort} < ?")
            args += [walk.prefix, rules.prefix_end(walk.prefix)]
        forward, backward = (">", "<") if walk.ascending else ("<", ">")
        if walk.start is not None:
            sql.append(f"AND {sort} {forward} ?")
            args.append(walk.start)
        if walk.end is not None:
            sql.append(f"AND {sort} {backward} ?")
            args.append(walk.end)
        for name, expected in where.items():
            condition, values = _equals(name, expected)
            sql.append(f"AND {condition}")
            args += values
        direction = "ASC" if walk.ascending else "DESC"
        sql.append(f"ORDER BY {sort} {direction}, pk {direction}, sk {direction} LIMIT ?")
        args.append(walk.limit + 1)
        with self._connection() as db:
            return [_item(row) for row in db.execute(" ".join(sql), args).fetchall()]

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()


def _apply(db: sqlite3.Connection, op: Operation, expect: Expect) -> Item | bool | None:
    """Apply one checked operation inside the caller's transaction (see `Store._write`)."""
    if isinstance(op, Put):
        row = _row(op.item)
        if expect.exists is None:
            db.execute(COLUMNS + "UPDATE SET gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk, "
                       "version = excluded.version, data = excluded.data", row)
        elif expect.exists is False:
            _require(db.execute(COLUMNS + "NOTHING", row).rowcount == 1, op)
        else:
            sql = "UPDATE items SET gsi1pk = ?, gsi1sk = ?, version = ?, data = ? WHERE pk = ? AND sk = ? AND version = ?"
            _require(db.execute(sql, (*row[2:], row[0], row[1], expect.version)).rowcount == 1, op)
        return op.item
    if isinstance(op, Delete):
        sql, args = "DELETE FROM items WHERE pk = ? AND sk = ?", [op.pk, op.sk]
        if expect.version is not None:
            sql, args = sql + " AND version = ?", args + [expect.version]
        deleted = db.execute(sql, args).rowcount == 1
        _require(deleted or not expect.exists, op)
        return deleted
    current = _read(db, op.pk, op.sk)
    _require(expect.holds(current), op)
    if isinstance(op, Update):
        item = rules.apply_update(current, op.set, op.remove)
        db.execute(
            "UPDATE items SET gsi1pk = ?, gsi1sk = ?, version = ?, data = ? WHERE pk = ? AND sk = ?",
            (*_row(item)[2:], op.pk, op.sk),
        )
        return item
    return None


def _equals(name: str, expected) -> tuple[str, list]:
    """Return the SQL test of `where` {name: expected}: the same JSON type and value (None: null or missing)."""
    if name == "version":  # kept in its column, not in `data`
        number = isinstance(expected, (int, float)) and not isinstance(expected, bool) and abs(expected) < 2**63
        return ("version = ?", [expected]) if number else ("0", [])
    kind = f"json_type(data, '$.{name}')"
    if expected is None:
        return f"coalesce({kind}, 'null') = 'null'", []
    if isinstance(expected, bool):
        return f"{kind} = '{str(expected).lower()}'", []
    if isinstance(expected, str):
        return f"{kind} = 'text' AND json_extract(data, '$.{name}') = ?", [expected]
    return f"{kind} IN ('integer', 'real') AND json_extract(data, '$.{name}') = json_extract(?, '$')", [json.dumps(expected)]


def _read(db: sqlite3.Connection, pk: str, sk: str) -> Item | None:
    row = db.execute("SELECT version, data FROM items WHERE pk = ? AND sk = ?", (pk, sk)).fetchone()
    return _item(row) if row else None


def _row(item: Item) -> tuple:
    data = json.dumps({k: v for k, v in item.items() if k != "version"}, separators=(",", ":"))
    return item["pk"], item["sk"], item.get("gsi1pk"), item.get("gsi1sk"), item["version"], data


def _item(row: tuple) -> Item:
    item = json.loads(row[1])
    item["version"] = row[0]
    return item


def _require(holds: bool, what) -> None:
    if not holds:
        raise ConditionFailed(f"condition failed on {what!r}"[:300])
