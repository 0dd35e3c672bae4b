"""askservice: an ask relay and the OpenAI Assistants API behind one HTTP server.

Importing the package is cheap on purpose (gunicorn's config reads `askservice.config` in the
master, which must not import ssl, requests or boto3 before the gevent worker patches them).
"""

from __future__ import annotations

__version__ = "0.1.0"


def create_app(settings=None):
    """Build the Flask app from `settings` (read from the environment when omitted)."""
    from flask import Flask

    from askservice import web
    from askservice.config import Settings
    from askservice.services import build_services

    settings = settings if settings is not None else Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    web.register(app, settings, build_services(settings))
    return app
