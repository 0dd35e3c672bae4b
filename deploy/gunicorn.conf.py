"""gunicorn settings for askservice: `gunicorn -c deploy/gunicorn.conf.py --chdir src app:app`.

Only tunes the server; the app is complete without it. Binds where HOST/PORT say.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from askservice.config import main as _check_config  # noqa: E402  (light: imports no ssl)

bind = os.environ.get("GUNICORN_BIND") or None
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = 2000
timeout = 120
graceful_timeout = 60
keepalive = 5

if bind is None:
    from askservice.config import Settings  # noqa: E402

    try:
        _settings = Settings.from_env()
    except Exception:  # a bad value: let the checker print its one line and stop
        _check_config()
        raise
    bind = f"{_settings.host}:{_settings.port}"
