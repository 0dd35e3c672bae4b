"""HTTP in: blueprints that parse, call a service and shape the answer; nothing below services."""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

from askservice.config import Settings
from askservice.services import Services
from askservice.web import (
    ask,
    assistants,
    auth,
    chat,
    conversations,
    embeddings,
    errors,
    files,
    health,
    messages,
    metrics,
    models,
    requestlog,
    responses,
    responses_ws,
    runs,
    threads,
    vector_store_files,
    vector_stores,
)

PREFIXES = ("/v1", "/api/v1")
BLUEPRINTS = (
    health.bp, ask.bp, chat.bp, embeddings.bp, models.bp, files.bp, vector_stores.bp, vector_store_files.bp,
    assistants.bp, threads.bp, messages.bp, runs.bp, responses.bp, responses_ws.bp, conversations.bp,
)


def register(app: Flask, settings: Settings, services: Services) -> None:
    """Install middleware, error mapping and every blueprint under both prefixes."""
    app.extensions["askservice"] = services
    app.before_request(services.sweeper.ensure)  # each worker's sweeper starts with its first request
    requestlog.install(app)
    metrics.install(app)  # before auth, so refused requests are counted too
    auth.install(app, settings.api_keys)
    errors.install(app)
    if settings.cors_origins:
        CORS(app, origins=list(settings.cors_origins), expose_headers=["X-Request-Id"])
    for bp in BLUEPRINTS:
        for prefix in PREFIXES:
            name = bp.name if prefix == PREFIXES[0] else f"{bp.name}_api"
            app.register_blueprint(bp, url_prefix=prefix, name=name)
