"""Upstream failures as askservice errors: one status table, one place for network exceptions.

    upstream answered 429            -> UpstreamRateLimitError   429, its Retry-After passed on  *
    upstream answered 400/404/413/422-> InvalidRequestError      400, the upstream's message
    upstream answered 5xx            -> UpstreamBadGatewayError  502                              *
    upstream answered anything else  -> UpstreamBadGatewayError  502 (401/403: our key)
    connection refused / unreachable -> UpstreamBadGatewayError  502                              *
    no (next) byte within the timeout-> UpstreamTimeoutError     504
    cut or unreadable answer         -> UpstreamBadGatewayError  502

* `retry_elsewhere`: nothing was answered, so a fallback upstream may take the request.
"""

from __future__ import annotations

import json

from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

from askservice.errors import (
    InvalidRequestError,
    ServiceError,
    UpstreamBadGatewayError,
    UpstreamRateLimitError,
    UpstreamTimeoutError,
)

STATUS_TABLE: dict[int, type[ServiceError]] = {
    400: InvalidRequestError,
    404: InvalidRequestError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    429: UpstreamRateLimitError,
}
ERROR_BODY_LIMIT = 65_536


def _upstream_message(body: bytes) -> str | None:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    return error if isinstance(error, str) else None


def from_status(status: int, body: bytes, retry_after: str | None = None) -> ServiceError:
    """Return the error for an upstream answer with HTTP `status` and (the start of) its `body`."""
    cls = STATUS_TABLE.get(status, UpstreamBadGatewayError)
    detail = _upstream_message(body)
    if cls is UpstreamRateLimitError:
        return UpstreamRateLimitError(
            f"The upstream is rate limiting: {detail or 'retry later'}", retry_after=retry_after, retry_elsewhere=True
        )
    if cls is InvalidRequestError:
        return InvalidRequestError(f"The upstream rejected the request: {detail or f'HTTP {status}'}", code="upstream_rejected")
    hint = " (check UPSTREAM_API_KEY, or the upstream's api_key_env)" if status in (401, 403) else ""
    return UpstreamBadGatewayError(
        f"The upstream answered HTTP {status}{hint}: {detail or 'no details'}", retry_elsewhere=status >= 500
    )


def from_exception(exc: Exception, *, started: bool = False) -> ServiceError:
    """Return the error for a network failure; `started` when part of the answer had arrived."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        exc = exc.reason  # the connect retries ran out: judge the last failure
    if isinstance(exc, ConnectTimeoutError) and not isinstance(exc, NewConnectionError):
        return UpstreamBadGatewayError(
            "The upstream is unreachable (connect timed out).", code="upstream_unreachable", retry_elsewhere=True
        )
    if isinstance(exc, (ReadTimeoutError, TimeoutError)):
        where = "the next chunk" if started else "its first byte"
        return UpstreamTimeoutError(f"The upstream did not send {where} within UPSTREAM_TIMEOUT.")
    if isinstance(exc, (NewConnectionError, HTTPError, OSError)) and not started:
        return UpstreamBadGatewayError(
            "The upstream is unreachable (connection failed).", code="upstream_unreachable", retry_elsewhere=True
        )
    if isinstance(exc, ValueError):
        return UpstreamBadGatewayError("The upstream sent an answer that is not valid JSON.")
    return UpstreamBadGatewayError("The upstream connection broke before the answer was complete.")
