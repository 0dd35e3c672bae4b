"""GET /v1/health: a cheap liveness answer, no upstream call, open without a key."""

from flask import Blueprint

import askservice

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    """Answer that the service is up."""
    return {"status": "ok", "version": askservice.__version__}
