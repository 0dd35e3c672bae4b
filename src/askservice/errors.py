"""The exceptions of askservice, raised by services and the edges, mapped to HTTP once in `web/`.

    ConfigError                     a bad setting; start-up stops with its one line
    ServiceError                    anything a caller should see, in OpenAI's error shape
     ├── InvalidRequestError        400 invalid_request_error (also: the object's state forbids it)
     ├── AuthenticationError        401 invalid_api_key
     ├── NotFoundError              404 unknown, malformed or another client's id
     │    └── ModelNotFoundError    404 model_not_found: no upstream serves that model
     ├── MethodNotAllowedError      405 a known route with a method it does not serve
     ├── ConflictError              409 e.g. a second active run on a thread
     ├── PayloadTooLargeError       413 body or upload past its limit
     ├── UnsupportedMediaTypeError  415 a body that is not JSON where JSON is required
     ├── NotConfiguredError         503 a feature whose setting is missing
     └── UpstreamError              the LLM upstream failed (`retry_elsewhere`: a fallback may answer)
          ├── UpstreamRateLimitError   429, carries the upstream's Retry-After
          ├── UpstreamBadGatewayError  502 5xx, refused, cut or unreadable answer
          └── UpstreamTimeoutError     504 no first byte within UPSTREAM_TIMEOUT
"""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration value that cannot be used."""


class ServiceError(Exception):
    """An error with an HTTP status and OpenAI's error fields."""

    status_code = 500
    error_type = "server_error"
    default_code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code

    def to_dict(self) -> dict:
        """Return OpenAI's error body."""
        return {
            "error": {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}
        }

    def headers(self) -> dict[str, str]:
        """Return extra response headers (e.g. Retry-After)."""
        return {}


class InvalidRequestError(ServiceError):
    """A request that is malformed or that the object's state forbids."""

    status_code = 400
    error_type = "invalid_request_error"


class AuthenticationError(ServiceError):
    """A missing or unknown API key."""

    status_code = 401
    error_type = "invalid_request_error"
    default_code = "invalid_api_key"


class NotFoundError(ServiceError):
    """An unknown route or object (another client's object looks the same)."""

    status_code = 404
    error_type = "invalid_request_error"


class ModelNotFoundError(NotFoundError):
    """A model name that no upstream serves."""

    default_code = "model_not_found"

    def __init__(self, model: str) -> None:
        super().__init__(f"The model `{model}` does not exist or you do not have access to it.", param="model")


class MethodNotAllowedError(ServiceError):
    """A known route asked with a method it does not serve."""

    status_code = 405
    error_type = "invalid_request_error"


class ConflictError(ServiceError):
    """A write that conflicts with the current state of an object."""

    status_code = 409
    error_type = "invalid_request_error"


class PayloadTooLargeError(ServiceError):
    """A body or upload past its configured limit."""

    status_code = 413
    error_type = "invalid_request_error"
    default_code = "request_too_large"


class UnsupportedMediaTypeError(ServiceError):
    """A body sent with a content type the route does not take."""

    status_code = 415
    error_type = "invalid_request_error"
    default_code = "unsupported_media_type"


class NotConfiguredError(ServiceError):
    """A feature whose configuration is missing."""

    status_code = 503
    error_type = "server_error"
    default_code = "not_configured"


class UpstreamError(ServiceError):
    """The LLM upstream failed; `retry_elsewhere` when nothing was answered and another upstream may."""

    status_code = 502
    error_type = "upstream_error"

    def __init__(self, message: str, *, retry_elsewhere: bool = False, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_elsewhere = retry_elsewhere


class UpstreamRateLimitError(UpstreamError):
    """The upstream answered 429."""

    status_code = 429
    error_type = "rate_limit_error"
    default_code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: str | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": self.retry_after} if self.retry_after else {}


class UpstreamBadGatewayError(UpstreamError):
    """The upstream answered 5xx, refused the connection, or cut or garbled its answer."""

    status_code = 502
    default_code = "upstream_error"


class UpstreamTimeoutError(UpstreamError):
    """The upstream sent no first byte (or no next chunk) in time."""

    status_code = 504
    default_code = "upstream_timeout"
