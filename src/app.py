"""WSGI entry point: `gunicorn -k gevent --chdir src app:app`; `python app.py` runs a dev server."""

import sys

from askservice import create_app
from askservice.config import Settings
from askservice.errors import ConfigError

try:
    settings = Settings.from_env()
except ConfigError as exc:
    print(f"askservice: configuration error: {exc}", file=sys.stderr)
    sys.exit(2)

app = create_app(settings)

if __name__ == "__main__":
    app.run(host=settings.host, port=settings.port, threaded=True)
