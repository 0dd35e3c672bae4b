"""Count a store's round trips from outside it: SQL statements on SQLite, HTTP requests on DynamoDB.

Used by the contract tests and bench/store.py; production code counts nothing.
"""

from __future__ import annotations

import sqlite3
import threading

from askservice.store.base import Store


class RoundTrips:
    """Counts what `store` sends while it is open (a context manager); `count` is the total."""

    def __init__(self, store: Store):
        self.store = store
        self.count = 0
        self._connect = None

    def __enter__(self) -> "RoundTrips":
        client = getattr(self.store, "client", None)
        if client is not None:
            client.meta.events.register("before-send.dynamodb", self._sent)
        else:  # SQLite: trace the pool's connections, and those it opens meanwhile
            self._connect = self.store._connect
            self.store._connect = self._traced
            for db in self.store._all:
                db.set_trace_callback(self._statement)
        return self

    def __exit__(self, *_) -> None:
        client = getattr(self.store, "client", None)
        if client is not None:
            client.meta.events.unregister("before-send.dynamodb", self._sent)
        else:
            del self.store._connect
            for db in self.store._all:
                db.set_trace_callback(None)

    def _traced(self) -> sqlite3.Connection:
        db = self._connect()
        db.set_trace_callback(self._statement)
        return db

    def _sent(self, **_) -> None:
        self.count += 1

    def _statement(self, _sql: str) -> None:
        self.count += 1


class Calls:
    """Records the outermost calls of some methods of `target` while open (a context manager):
    `calls` (their names, in order) and `count`. A call made inside a counted one (in the same
    thread or greenlet) is not counted; calls of other threads (a background response) are."""

    def __init__(self, target, methods: tuple[str, ...]):
        self.target = target
        self.methods = methods if target is not None else ()
        self.calls: list[str] = []
        self._local = threading.local()

    @property
    def count(self) -> int:
        return len(self.calls)

    def __enter__(self) -> "Calls":
        for name in self.methods:
            setattr(self.target, name, self._counted(name, getattr(self.target, name)))
        return self

    def __exit__(self, *_) -> None:
        for name in self.methods:
            delattr(self.target, name)

    def _counted(self, name: str, method):
        def call(*args, **kwargs):
            depth = getattr(self._local, "depth", 0)
            if depth == 0:
                self.calls.append(name)
            self._local.depth = depth + 1
            try:
                return method(*args, **kwargs)
            finally:
                self._local.depth = depth

        return call


STORE_METHODS = ("get", "put", "update", "delete", "transact", "query", "query_index", "query_all", "delete_all")
BLOB_METHODS = ("put", "get", "read", "exists", "delete")


def store_calls(store: Store) -> Calls:
    """Count the Store methods a service calls (one round trip each on DynamoDB, a few statements on SQLite)."""
    return Calls(store, STORE_METHODS)


def blob_calls(store: Store) -> Calls:
    """Count the calls of a store's overflow blobs (DynamoDB's; SQLite has no overflow: nothing to count)."""
    return Calls(getattr(getattr(store, "overflow", None), "blobs", None), BLOB_METHODS)
