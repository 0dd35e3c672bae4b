"""The upstreams file (UPSTREAMS_FILE): several upstreams and the public model names they serve.

Standard library only (the gunicorn master reads it with the settings). A bad file raises
`ConfigError` with one line naming the file, the line and the problem:

    [upstreams.NAME]            base_url (required), api_key_env, timeout, stream_usage
    [models."PUBLIC NAME"]      upstream (required), model (the upstream's name; default: the
                                public name), aliases = [...], fallbacks = [public names tried next]
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, NoReturn

from askservice.errors import ConfigError

UPSTREAM_KEYS = {"base_url", "api_key_env", "timeout", "stream_usage"}
MODEL_KEYS = {"upstream", "model", "aliases", "fallbacks"}
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Upstream:
    """One OpenAI-compatible server: where it is, its key (read from `api_key_env`), its timeout."""

    name: str
    base_url: str
    api_key: str | None
    timeout: float
    stream_usage: bool  # it answers `stream_options.include_usage` with a usage chunk


@dataclass(frozen=True)
class Route:
    """A public model name: the upstream and model that serve it, then the routes tried next."""

    public: str
    upstream: str
    model: str
    fallbacks: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpstreamsFile:
    """A parsed upstreams file; `routes` maps every public name and alias to its route."""

    path: str
    upstreams: dict[str, Upstream]
    routes: dict[str, Route]
    listed: tuple[str, ...]  # public names and aliases, in the file's order
    created: int  # the file's modification time: the `created` of its models


def load(path: str, environ: Mapping[str, str], default_timeout: float) -> UpstreamsFile:
    """Read and check the upstreams file at `path`; keys are read from `environ`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"UPSTREAMS_FILE={path!r} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} line 1: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return _Checker(path, text, environ, default_timeout).check(data)


class _Checker:
    def __init__(self, path: str, text: str, environ: Mapping[str, str], default_timeout: float):
        self.path, self.lines, self.environ, self.default_timeout = path, text.splitlines(), environ, default_timeout

    def fail(self, problem: str, table: str | None = None, key: str | None = None) -> NoReturn:
        raise ConfigError(f"{self.path} line {self.line_of(table, key)}: {problem}")

    def line_of(self, table: str | None, key: str | None) -> int:
        """Return the line of `key` inside the table `[kind.name]`, else of the table, else 1."""
        start = 0
        if table is not None:
            kind, _, name = table.partition(".")
            header = re.compile(rf"^\s*\[\s*{kind}\s*\.\s*(\"{re.escape(name)}\"|'{re.escape(name)}'|{re.escape(name)})\s*\]")
            start = next((i for i, line in enumerate(self.lines) if header.match(line)), None)
            if start is None:
                return 1
        if key is not None:
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            for i in range(start + (table is not None), len(self.lines)):
                if self.lines[i].lstrip().startswith("["):
                    break
                if pattern.match(self.lines[i]):
                    return i + 1
        return start + 1

    def check(self, data: dict) -> UpstreamsFile:
        for key in data:
            if key not in ("upstreams", "models"):
                self.fail(f"unknown table {key!r} (use [upstreams.NAME] and [models.NAME])", key=key)
        upstreams = self.tables(data, "upstreams")
        models = self.tables(data, "models")
        if not upstreams:
            self.fail("no upstream: add an [upstreams.NAME] table with base_url")
        if not models:
            self.fail("no model: add a [models.NAME] table with upstream")
        parsed = {name: self.upstream(name, entry) for name, entry in upstreams.items()}
        routes: dict[str, Route] = {}
        listed: list[str] = []
        for public, entry in models.items():
            route = self.route(public, entry, parsed)
            for name in (public, *self.names(public, entry, "aliases")):
                if name in routes:
                    self.fail(f"model name {name!r} is used twice", f"models.{public}", "aliases")
                routes[name] = route
                listed.append(name)
        for route in routes.values():
            for fallback in route.fallbacks:
                if routes.get(fallback, route) is route:
                    problem = "is not a model of this file" if fallback not in routes else "is the model itself"
                    self.fail(f"fallback {fallback!r} {problem}", f"models.{route.public}", "fallbacks")
        return UpstreamsFile(self.path, parsed, routes, tuple(listed), int(os.stat(self.path).st_mtime))

    def tables(self, data: dict, kind: str) -> dict[str, dict]:
        tables = data.get(kind, {})
        if not isinstance(tables, dict):
            self.fail(f"{kind} must be tables: [{kind}.NAME]", key=kind)
        for name, entry in tables.items():
            if not isinstance(entry, dict):
                self.fail(f"{kind}.{name} must be a table: [{kind}.{name}]", key=name)
            unknown = sorted(set(entry) - (UPSTREAM_KEYS if kind == "upstreams" else MODEL_KEYS))
            if unknown:
                self.fail(f"unknown key {unknown[0]!r} in [{kind}.{name}]", f"{kind}.{name}", unknown[0])
        return tables

    def upstream(self, name: str, entry: dict) -> Upstream:
        table = f"upstreams.{name}"
        base_url = entry.get("base_url")
        if not isinstance(base_url, str) or not re.match(r"^https?://[^/\s]+", base_url):
            self.fail(f"[{table}] needs base_url = \"http(s)://host/...\"", table, "base_url")
        key_env = entry.get("api_key_env")
        if key_env is not None and (not isinstance(key_env, str) or not ENV_NAME.fullmatch(key_env)):
            self.fail("api_key_env must name an environment variable", table, "api_key_env")
        timeout = entry.get("timeout", self.default_timeout)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            self.fail("timeout must be a number of seconds greater than 0", table, "timeout")
        stream_usage = entry.get("stream_usage", False)
        if not isinstance(stream_usage, bool):
            self.fail("stream_usage must be true or false", table, "stream_usage")
        api_key = self.environ.get(key_env) if key_env else None
        if key_env and not api_key:
            self.fail(f"api_key_env names {key_env}, which is not set", table, "api_key_env")
        return Upstream(name, base_url.rstrip("/"), api_key, float(timeout), stream_usage)

    def route(self, public: str, entry: dict, upstreams: dict[str, Upstream]) -> Route:
        table = f"models.{public}"
        upstream = entry.get("upstream")
        if upstream not in upstreams:
            self.fail(f"upstream {upstream!r} is not an [upstreams.NAME] of this file", table, "upstream")
        model = entry.get("model", public)
        if not isinstance(model, str) or not model:
            self.fail("model must be a non-empty string", table, "model")
        return Route(public, upstream, model, self.names(public, entry, "fallbacks"))

    def names(self, public: str, entry: dict, key: str) -> tuple[str, ...]:
        names = entry.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            self.fail(f"{key} must be a list of model names", f"models.{public}", key)
        return tuple(names)
