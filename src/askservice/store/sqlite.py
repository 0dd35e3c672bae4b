"""The Store on one SQLite table: WAL, `synchronous=NORMAL`, conditions checked inside the write.

Every write runs in a `BEGIN IMMEDIATE` transaction, so it holds the database's write lock from
its first read to its commit: conditions cannot race, across greenlets, threads or processes.
Connections come from a small pool (a queue, which gevent's monkey-patching makes cooperative);
a statement never yields, so a greenlet holds a connection only for the length of its statements.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Union

from askservice.store import rules
from askservice.store.base import (
    ABSENT, Check, ConditionFailed, Delete, Item, Operation, Order, Page, Put, Store, StoreUnavailable, Update,
)

BUSY_TIMEOUT_S = 10.0
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS items (
        pk TEXT NOT NULL, sk TEXT NOT NULL, gsi1pk TEXT, gsi1sk TEXT,
        version INTEGER NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (pk, sk)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk)",
)


class SqliteStore(Store):
    """Items in one SQLite table at `path` (created with its folder if missing)."""

    def __init__(self, path: Union[str, Path], pool_size: int = 8):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool_size = pool_size
        self.statements = 0
        """How many SQL statements ran (the benchmark counts round trips with it)."""
        with self._connection() as db:
            db.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                db.execute(statement)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=NORMAL")
        db.set_trace_callback(self._count)
        return db

    def _count(self, _statement: str) -> None:
        self.statements += 1

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

    def get(self, pk: str, sk: str) -> Item | None:
        with self._connection() as db:
            row = db.execute("SELECT version, data FROM items WHERE pk = ? AND sk = ?", (pk, sk)).fetchone()
        return _item(row) if row else None

    def put(self, item: Item, condition: Union[None, str, int] = None) -> Item:
        op = Put(item, condition)
        rules.check_transaction([op])
        with self._transaction() as db:
            return self._put(db, op)

    def update(
        self, pk: str, sk: str, set: Item | None = None, remove: Iterable[str] = (), expected_version: int | None = None
    ) -> Item:
        op = Update(pk, sk, *rules.check_update(set, remove), expected_version=expected_version)
        with self._transaction() as db:
            return self._update(db, op)

    def delete(self, pk: str, sk: str, expected_version: int | None = None) -> bool:
        with self._transaction() as db:
            return self._delete(db, Delete(pk, sk, expected_version))

    def transact(self, operations: list[Operation]) -> None:
        rules.check_transaction(operations)
        apply = {Put: self._put, Update: self._update, Delete: self._delete, Check: self._check}
        with self._transaction() as db:
            for op in operations:
                apply[type(op)](db, op)

    def _put(self, db: sqlite3.Connection, op: Put) -> Item:
        item = rules.stored({k: v for k, v in op.item.items() if k != "version"}, rules.new_version(op.condition))
        row = _row(item)
        if op.condition is None:
            db.execute(
                "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, version, data) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (pk, sk) DO UPDATE SET gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk, "
                "version = excluded.version, data = excluded.data",
                row,
            )
        elif op.condition == ABSENT:
            cursor = db.execute(
                "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, version, data) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (pk, sk) DO NOTHING",
                row,
            )
            _require(cursor.rowcount == 1, item)
        else:
            cursor = db.execute(
                "UPDATE items SET gsi1pk = ?, gsi1sk = ?, version = ?, data = ? WHERE pk = ? AND sk = ? AND version = ?",
                (*row[2:], row[0], row[1], op.condition),
            )
            _require(cursor.rowcount == 1, item)
        return item

    def _update(self, db: sqlite3.Connection, op: Update) -> Item:
        row = db.execute("SELECT version, data FROM items WHERE pk = ? AND sk = ?", (op.pk, op.sk)).fetchone()
        _require(row is not None and op.expected_version in (None, row[0]), op)
        item = rules.apply_update(_item(row), op.set, op.remove)
        rules.check_item(item)
        db.execute(
            "UPDATE items SET gsi1pk = ?, gsi1sk = ?, version = ?, data = ? WHERE pk = ? AND sk = ?",
            (*_row(item)[2:], op.pk, op.sk),
        )
        return item

    def _delete(self, db: sqlite3.Connection, op: Delete) -> bool:
        if op.expected_version is None:
            return db.execute("DELETE FROM items WHERE pk = ? AND sk = ?", (op.pk, op.sk)).rowcount == 1
        cursor = db.execute(
            "DELETE FROM items WHERE pk = ? AND sk = ? AND version = ?", (op.pk, op.sk, op.expected_version)
        )
        _require(cursor.rowcount == 1, op)
        return True

    def _check(self, db: sqlite3.Connection, op: Check) -> None:
        row = db.execute("SELECT version FROM items WHERE pk = ? AND sk = ?", (op.pk, op.sk)).fetchone()
        _require(row is not None and op.expected_version in (None, row[0]), op)

    def query(
        self,
        pk: str,
        sk_prefix: str = "",
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "asc",
        where: Item | None = None,
    ) -> Page:
        walk = rules.plan(sk_prefix, after, before, limit, order)
        return self._page("pk", "sk", pk, walk, where)

    def query_index(
        self,
        gsi1pk: str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "asc",
        where: Item | None = None,
    ) -> Page:
        walk = rules.plan("", after, before, limit, order)
        return self._page("gsi1pk", "gsi1sk", gsi1pk, walk, where)

    def _page(self, key: str, sort: str, value: str, walk: rules.Walk, where: Item | None) -> Page:
        rules.check_where(where)
        sql = [f"SELECT version, data FROM items WHERE {key} = ?"]
        args: list = [value]
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
        for name, expected in (where or {}).items():
            sql.append(f"AND json_extract(data, '$.{name}') IS json_extract(?, '$')")
            args.append(json.dumps(expected))
        direction = "ASC" if walk.ascending else "DESC"
        sql.append(f"ORDER BY {sort} {direction}, pk {direction}, sk {direction} LIMIT ?")
        args.append(walk.limit + 1)
        with self._connection() as db:
            rows = db.execute(" ".join(sql), args).fetchall()
        return rules.finish([_item(row) for row in rows], walk)

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()


def _row(item: Item) -> tuple:
    data = json.dumps({k: v for k, v in item.items() if k != "version"}, separators=(",", ":"))
    return item["pk"], item["sk"], item.get("gsi1pk"), item.get("gsi1sk"), item["version"], data


def _item(row: tuple) -> Item:
    return rules.stored(json.loads(row[1]), row[0])


def _require(holds: bool, what) -> None:
    if not holds:
        raise ConditionFailed(f"condition failed on {what!r}"[:300])
