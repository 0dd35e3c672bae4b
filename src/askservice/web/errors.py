"""Map every exception to OpenAI's error shape, once: `{"error": {message, type, param, code}}`."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from askservice.errors import (
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    ServiceError,
    UnsupportedMediaTypeError,
)

log = logging.getLogger("askservice.errors")


def error_response(exc: ServiceError):
    """Return the JSON response (with status and headers) for a service error."""
    response = jsonify(exc.to_dict())
    response.status_code = exc.status_code
    response.headers.update(exc.headers())
    return response


def _from_http(exc: HTTPException) -> ServiceError:
    if exc.code == 404:
        return NotFoundError("Unknown request URL. Please check the URL and method.", code="unknown_url")
    if exc.code == 405:
        return MethodNotAllowedError("Method not allowed for this URL.", code="method_not_allowed")
    if exc.code == 413:
        return PayloadTooLargeError("Request body is too large.")
    if exc.code == 415:
        return UnsupportedMediaTypeError("Content-Type must be application/json.")
    error = InvalidRequestError(exc.description or exc.name)
    error.status_code = exc.code or 400
    return error


def install(app: Flask) -> None:
    """Register the handlers that turn exceptions into OpenAI-shaped errors."""

    @app.errorhandler(ServiceError)
    def handle_service_error(exc: ServiceError):
        return error_response(exc)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        response = error_response(_from_http(exc))
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        log.exception("unhandled error")
        error = ServiceError("The server had an error while processing your request.")
        return error_response(error)
