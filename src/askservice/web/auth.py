"""API_KEYS: `Authorization: Bearer KEY` checked in constant time; the key names the client."""

from __future__ import annotations

import hashlib
import hmac
from typing import Mapping

from flask import Flask, g, request

from askservice.errors import AuthenticationError

OPEN_ENDPOINTS = {"health.health", "health_api.health"}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def install(app: Flask, api_keys: Mapping[str, str]) -> None:
    """Require a known key on every route but health when `api_keys` is not empty."""
    digests = [(_digest(key), client) for key, client in api_keys.items()]

    @app.before_request
    def authenticate():
        if not digests or request.method == "OPTIONS" or request.endpoint in OPEN_ENDPOINTS:
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(
                "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.", code="missing_api_key"
            )
        presented = _digest(token.strip())
        found = None
        for digest, client in digests:
            if hmac.compare_digest(digest, presented):
                found = client
        if found is None:
            raise AuthenticationError("Incorrect API key provided.")
        g.client_id = found
        return None
