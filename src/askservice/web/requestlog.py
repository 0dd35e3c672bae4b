"""Request ids and access logs: one JSON line per request, never a key or a body.

`duration_ms` is the time to the response's start; the line is written once the response is done.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request

log = logging.getLogger("askservice.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _configure_logger() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def install(app: Flask) -> None:
    """Give every response an X-Request-Id (the caller's if well-formed) and log it as JSON."""
    _configure_logger()

    @app.before_request
    def start():
        g.started = time.perf_counter()
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex

    @app.after_request
    def finish(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-Id"] = request_id
        started = g.get("started")
        record = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "request_id": request_id,
            "client_id": g.get("client_id"),
        }
        # written when the response is done, so a stream's first chunk never waits on the log
        response.call_on_close(lambda: log.info(json.dumps(record)))
        return response
