"""One frozen settings object, read from the environment and an optional `.env` file.

The environment wins over `.env`. A bad value raises `ConfigError` with one line that names the
variable; `python -m askservice.config` checks the configuration and prints where to bind.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values

from askservice.errors import ConfigError
from askservice.netguard import Allowed
from askservice.upstreams import UpstreamsFile, load as load_upstreams

REPO_ROOT = Path(__file__).resolve().parents[2]
STORE_SCHEMES = ("sqlite", "dynamodb")
BLOB_SCHEMES = ("file", "s3")
WEB_SEARCH_PROVIDERS = ("none", "searxng", "brave")


@dataclass(frozen=True)
class Settings:
    """Every setting of the service; see docs/ARCHITECTURE.md "Configuration" for meanings and defaults."""

    host: str = "127.0.0.1"
    port: int = 5001
    upstream_base_url: str | None = None
    upstream_api_key: str | None = None
    upstream_model: str | None = None
    upstream_timeout: float = 60.0
    upstreams: UpstreamsFile | None = None  # UPSTREAMS_FILE, parsed: several upstreams, routed by model
    system_prompt: str | None = None
    max_history_messages: int = 10
    store_url: str = "sqlite:///data/askservice.db"
    blob_url: str = "file://data/blobs"
    api_keys: Mapping[str, str] = field(default_factory=dict)
    allow_open_access: bool = False
    store_create_table: bool = False
    embedding_model: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1_048_576
    max_file_bytes: int = 536_870_912
    run_lease_seconds: float = 30.0
    run_expires_seconds: int = 600
    model_context_tokens: int = 128_000
    web_search_provider: str = "none"
    web_search_url: str | None = None
    web_search_api_key: str | None = field(default=None, repr=False)  # never logged
    web_fetch_allow: Allowed = field(default_factory=Allowed)  # WEB_FETCH_ALLOW: non-public pages allowed
    web_search_timeout: float = 20.0
    web_fetch_timeout: float = 8.0
    web_fetch_max_bytes: int = 2_097_152
    web_fetch_max_pages: int = 8
    mcp_allow: Allowed = field(default_factory=Allowed)  # MCP_ALLOW: non-public MCP servers allowed
    mcp_timeout: float = 60.0

    def __post_init__(self) -> None:
        _scheme("STORE_URL", self.store_url, STORE_SCHEMES)
        _scheme("BLOB_URL", self.blob_url, BLOB_SCHEMES)
        if self.upstreams is not None:
            _routed_only(self)
        _web_search(self)
        if not self.api_keys and not self.allow_open_access and not _is_loopback(self.host):
            raise ConfigError(
                f"HOST={self.host} is not loopback and API_KEYS is unset: set API_KEYS "
                "(key:client,...) or ALLOW_OPEN_ACCESS=1"
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv_path: str | os.PathLike | None = None
    ) -> "Settings":
        """Build settings from `.env` (if present) overlaid by the environment."""
        env = _merged_env(os.environ if environ is None else environ, dotenv_path)
        get = env.get
        upstream_timeout = _float("UPSTREAM_TIMEOUT", get("UPSTREAM_TIMEOUT"), cls.upstream_timeout)
        upstreams_path = get("UPSTREAMS_FILE")
        return cls(
            host=get("HOST") or cls.host,
            port=_int("PORT", get("PORT"), cls.port, low=1, high=65535),
            upstream_base_url=(get("UPSTREAM_BASE_URL") or "").rstrip("/") or None,
            upstream_api_key=get("UPSTREAM_API_KEY") or None,
            upstream_model=get("UPSTREAM_MODEL") or None,
            upstream_timeout=upstream_timeout,
            upstreams=load_upstreams(str(resolve_path(upstreams_path)), env, upstream_timeout) if upstreams_path else None,
            system_prompt=get("SYSTEM_PROMPT") or None,
            max_history_messages=_int(
                "MAX_HISTORY_MESSAGES", get("MAX_HISTORY_MESSAGES"), cls.max_history_messages, low=0
            ),
            store_url=get("STORE_URL") or cls.store_url,
            blob_url=get("BLOB_URL") or cls.blob_url,
            api_keys=_api_keys(get("API_KEYS")),
            allow_open_access=_bool("ALLOW_OPEN_ACCESS", get("ALLOW_OPEN_ACCESS")),
            store_create_table=_bool("STORE_CREATE_TABLE", get("STORE_CREATE_TABLE")),
            embedding_model=get("EMBEDDING_MODEL") or None,
            cors_origins=tuple(o.strip() for o in (get("CORS_ORIGINS") or "").split(",") if o.strip()),
            max_body_bytes=_int("MAX_BODY_BYTES", get("MAX_BODY_BYTES"), cls.max_body_bytes, low=1),
            max_file_bytes=_int("MAX_FILE_BYTES", get("MAX_FILE_BYTES"), cls.max_file_bytes, low=1),
            run_lease_seconds=_float("RUN_LEASE_SECONDS", get("RUN_LEASE_SECONDS"), cls.run_lease_seconds),
            run_expires_seconds=_int("RUN_EXPIRES_SECONDS", get("RUN_EXPIRES_SECONDS"), cls.run_expires_seconds, low=1),
            model_context_tokens=_int(
                "MODEL_CONTEXT_TOKENS", get("MODEL_CONTEXT_TOKENS"), cls.model_context_tokens, low=256
            ),
            web_search_provider=(get("WEB_SEARCH_PROVIDER") or cls.web_search_provider).strip().lower(),
            web_search_url=(get("WEB_SEARCH_URL") or "").rstrip("/") or None,
            web_search_api_key=get("WEB_SEARCH_API_KEY") or None,
            web_fetch_allow=Allowed.parse(get("WEB_FETCH_ALLOW")),
            web_search_timeout=_float("WEB_SEARCH_TIMEOUT", get("WEB_SEARCH_TIMEOUT"), cls.web_search_timeout),
            web_fetch_timeout=_float("WEB_FETCH_TIMEOUT", get("WEB_FETCH_TIMEOUT"), cls.web_fetch_timeout),
            web_fetch_max_bytes=_int("WEB_FETCH_MAX_BYTES", get("WEB_FETCH_MAX_BYTES"), cls.web_fetch_max_bytes, low=1024),
            web_fetch_max_pages=_int("WEB_FETCH_MAX_PAGES", get("WEB_FETCH_MAX_PAGES"), cls.web_fetch_max_pages, low=1, high=20),
            mcp_allow=Allowed.parse(get("MCP_ALLOW")),
            mcp_timeout=_float("MCP_TIMEOUT", get("MCP_TIMEOUT"), cls.mcp_timeout),
        )


def resolve_path(path: str) -> Path:
    """Resolve a path from a URL against the repository root unless it is absolute."""
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


def _routed_only(settings: Settings) -> None:
    """With an upstreams file, the file alone routes: the one-upstream variables must not compete."""
    path = settings.upstreams.path
    if settings.upstream_base_url:
        raise ConfigError(f"UPSTREAMS_FILE ({path}) and UPSTREAM_BASE_URL are both set: declare that upstream in the file")
    for name, model in (("UPSTREAM_MODEL", settings.upstream_model), ("EMBEDDING_MODEL", settings.embedding_model)):
        if model and model not in settings.upstreams.routes:
            raise ConfigError(f"{name}={model!r} is not a model of {path}")


def _web_search(settings: Settings) -> None:
    """The provider must be known and have what it needs: SearxNG an instance URL, Brave a key."""
    provider, url = settings.web_search_provider, settings.web_search_url
    if provider not in WEB_SEARCH_PROVIDERS:
        raise ConfigError(f"WEB_SEARCH_PROVIDER={provider!r} is not valid: use one of {', '.join(WEB_SEARCH_PROVIDERS)}")
    if provider == "searxng" and not url:
        raise ConfigError("WEB_SEARCH_PROVIDER=searxng needs WEB_SEARCH_URL (the instance, e.g. http://searx.internal:8080)")
    if provider == "brave" and not settings.web_search_api_key:
        raise ConfigError("WEB_SEARCH_PROVIDER=brave needs WEB_SEARCH_API_KEY")
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"WEB_SEARCH_URL={url!r} is not valid: use http://... or https://...")


def _merged_env(environ: Mapping[str, str], dotenv_path) -> dict[str, str]:
    path = Path(dotenv_path) if dotenv_path else REPO_ROOT / ".env"
    values = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}
    values.update(environ)
    return values


def _scheme(name: str, url: str, allowed: tuple[str, ...]) -> None:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in allowed or not rest:
        raise ConfigError(f"{name}={url!r} is not valid: use one of {', '.join(s + '://...' for s in allowed)}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _int(name: str, raw: str | None, default: int, low: int | None = None, high: int | None = None) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{name}={raw!r} is out of range ({low}..{high if high is not None else ''})")
    return value


def _float(name: str, raw: str | None, default: float) -> float:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not value > 0:
        raise ConfigError(f"{name}={raw!r} must be greater than 0")
    return value


def _bool(name: str, raw: str | None) -> bool:
    if raw is None or raw.strip() == "":
        return False
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1 or 0)")


def _api_keys(raw: str | None) -> dict[str, str]:
    keys: dict[str, str] = {}
    for entry in (raw or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        key, sep, client = entry.partition(":")
        if not sep or not key.strip() or not client.strip():
            raise ConfigError("API_KEYS has an entry that is not key:client")
        keys[key.strip()] = client.strip()
    return keys


def main() -> None:
    """Check the configuration; print `HOST:PORT` or the one-line error and exit 2."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"askservice: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"{settings.host}:{settings.port}")


if __name__ == "__main__":
    main()
