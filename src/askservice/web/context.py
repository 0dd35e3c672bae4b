"""Per-request accessors for the views: the services and the caller's client id."""

from __future__ import annotations

from flask import current_app, g

from askservice.services import Services

DEFAULT_CLIENT = "default"


def services() -> Services:
    """Return the services built for this app."""
    return current_app.extensions["askservice"]


def client_id() -> str:
    """Return the client resolved from the API key (`default` under open access)."""
    return g.get("client_id") or DEFAULT_CLIENT
