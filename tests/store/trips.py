"""Count a store's round trips from outside it: SQL statements on SQLite, HTTP requests on DynamoDB.

Used by the contract tests and bench/store.py; production code counts nothing.
"""

from __future__ import annotations

import sqlite3

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


class StoreCalls:
    """Counts the primitive calls a store makes while open (a context manager): what a service
    asks of any backend, one round trip each on DynamoDB (SQLite runs a few statements per call)."""

    PRIMITIVES = ("_get", "_write", "_transact", "_read_page")

    def __init__(self, store: Store):
        self.store = store
        self.count = 0

    def __enter__(self) -> "StoreCalls":
        for name in self.PRIMITIVES:
            setattr(self.store, name, self._counted(getattr(self.store, name)))
        return self

    def __exit__(self, *_) -> None:
        for name in self.PRIMITIVES:
            delattr(self.store, name)

    def _counted(self, primitive):
        def call(*args, **kwargs):
            self.count += 1
            return primitive(*args, **kwargs)

        return call
