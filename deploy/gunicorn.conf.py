"""gunicorn settings for askservice: `gunicorn -c deploy/gunicorn.conf.py --chdir src app:app`.

Only tunes the server; the app is complete without it. Binds where HOST/PORT say. Knobs, from
the environment or `.env`: WEB_CONCURRENCY (workers; default one per core), WORKER_CONNECTIONS
(open requests and SSE streams per worker; default 2000), GRACEFUL_TIMEOUT (seconds SIGTERM or
HUP lets in-flight asks and streams finish; default 90; keep it under supervisord's stopwaitsecs).

Runs in the gunicorn master, so it stays light: no Flask, requests, boto3 or prometheus_client
here (the gevent worker must patch ssl and sockets before those are imported).
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from gunicorn.glogging import Logger  # noqa: E402

from askservice import metricsdir  # noqa: E402  (standard library only)
from askservice.config import Settings, _merged_env  # noqa: E402  (light: imports no ssl)
from askservice.config import main as _check_config  # noqa: E402

_env = _merged_env(os.environ, None)


def _positive(name: str, default: int) -> int:
    raw = _env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        sys.exit(f"askservice: configuration error: {name}={raw!r} is not a positive integer")
    return int(raw)


worker_class = "gevent"
workers = _positive("WEB_CONCURRENCY", len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)
# One slot per open request: a long SSE stream holds one for its whole life (and two file
# descriptors: client and upstream), so size this for streams, not for requests per second.
worker_connections = _positive("WORKER_CONNECTIONS", 2000)
# The gevent worker sends its heartbeat from its own greenlet: `timeout` only kills a worker whose
# event loop is blocked, never a healthy long stream.
timeout = 60
graceful_timeout = _positive("GRACEFUL_TIMEOUT", 90)
# An idle keep-alive connection holds a slot until this runs out, also during a graceful stop; the
# Caddyfile closes its idle upstream connections sooner (4 s), so a reused one is never half-closed.
keepalive = 5
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # heartbeat file off the disk
control_socket_disable = True  # operators use supervisorctl; one shared default path would clash
accesslog = "-"
errorlog = "-"


class JsonAccessLogger(Logger):
    """Access lines as JSON with the keys of the app's request log, written when the body is done."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        status = str(atoms.get("s", ""))
        line = {
            "log": "access",
            "method": atoms.get("m"),
            "path": atoms.get("U"),
            "status": int(status) if status.isdigit() else status,
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "request_id": atoms.get("{x-request-id}o") or None,
            "bytes": atoms.get("B"),
            "remote": atoms.get("h"),
        }
        self.access_log.info(json.dumps(line))


logger_class = JsonAccessLogger


def on_starting(server):
    """Give this master's workers an empty metrics folder, so counters start from zero."""
    metricsdir.reset(os.getpid())


bind = _env.get("GUNICORN_BIND") or None
if bind is None:
    try:
        _settings = Settings.from_env()
    except Exception:  # a bad value: let the checker print its one line and stop
        _check_config()
        raise
    bind = f"{_settings.host}:{_settings.port}"

# Workers fork from this master: forget the askservice modules read here, so that after a HUP
# (new code on disk) new workers import every module afresh instead of inheriting old ones.
for _name in [m for m in sys.modules if m == "askservice" or m.startswith("askservice.")]:
    del sys.modules[_name]
