"""The one resolver: every call names a public model; the router sends it to the upstream serving it.

Without an upstreams file there is one upstream (UPSTREAM_BASE_URL) and it serves every model name
as given. With one (UPSTREAMS_FILE, see `askservice/upstreams.py`) a name or alias resolves to its
upstream and that upstream's model name; any other name is a 404 `model_not_found`. A call that
fails with nothing answered (connect error, 5xx, 429: `UpstreamError.retry_elsewhere`) is sent to
the entry's fallbacks in order, each once; every hop is logged and counted. Once an answer has
begun (a stream returned), its failures are the caller's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, TypeVar

from askservice import metrics
from askservice.errors import ModelNotFoundError, UpstreamError
from askservice.llm.client import ChatStream, Completion, LLMClient
from askservice.upstreams import UpstreamsFile

log = logging.getLogger("askservice.routing")
T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """Where one attempt goes: the upstream's name and client, the model name it knows."""

    upstream: str
    client: LLMClient
    model: str
    stream_usage: bool


class Router:
    """What services hold as `llm`: the calls of `LLMClient`, each routed by its model."""

    def __init__(self, clients: dict[str, LLMClient], upstreams: UpstreamsFile | None = None):
        self._clients = clients
        self._file = upstreams

    @classmethod
    def single(cls, client: LLMClient) -> "Router":
        """Route every model name, unchanged, to `client`."""
        return cls({"default": client})

    @classmethod
    def from_file(cls, upstreams: UpstreamsFile) -> "Router":
        """Route by the models of an upstreams file."""
        clients = {u.name: LLMClient(u.base_url, u.api_key, u.timeout) for u in upstreams.upstreams.values()}
        return cls(clients, upstreams)

    def targets(self, model) -> list[Target]:
        """Return where a call for `model` goes, in order: its entry, then its fallbacks."""
        if self._file is None:
            return [Target("default", self._clients["default"], model, False)]
        route = self._file.routes.get(model) if isinstance(model, str) else None
        if route is None:
            raise ModelNotFoundError(str(model))
        chain = [route, *(self._file.routes[name] for name in route.fallbacks)]
        return [
            Target(r.upstream, self._clients[r.upstream], r.model, self._file.upstreams[r.upstream].stream_usage)
            for r in chain
        ]

    def _first(self, model, call: Callable[[Target], T]) -> T:
        """Return `call` on the first target that answers; fall back only on `retry_elsewhere`."""
        targets = self.targets(model)
        for target, following in zip(targets, targets[1:]):
            try:
                return call(target)
            except UpstreamError as exc:
                if not exc.retry_elsewhere:
                    raise
                log.warning("model %s: upstream %s failed (%s); trying %s", model, target.upstream, exc.message,
                            following.upstream)
                metrics.upstream_fallback(target.upstream, following.upstream)
        return call(targets[-1])

    def chat(self, body: dict) -> Completion:
        """A chat completion (JSON) from the upstream serving `body["model"]`."""
        return self._first(body.get("model"), lambda t: t.client.chat({**body, "model": t.model}))

    def stream_chat(self, body: dict, *, count_usage: bool = False) -> ChatStream:
        """A streamed chat completion; `count_usage` asks for a usage chunk where the upstream
        reports one (the stream's `usage_added` then says the caller did not ask for it)."""

        def call(t: Target) -> ChatStream:
            options = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
            added = count_usage and t.stream_usage and not options.get("include_usage")
            sent = {**body, "model": t.model}
            if added:
                sent["stream_options"] = {**options, "include_usage": True}
            stream = t.client.stream_chat(sent)
            stream.usage_added = added
            return stream

        return self._first(body.get("model"), call)

    def embeddings(self, body: dict) -> Completion:
        """An embeddings answer, as received, from the upstream serving `body["model"]`."""
        return self._first(body.get("model"), lambda t: t.client.embeddings({**body, "model": t.model}))

    def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        return self._first(model, lambda t: t.client.embed(t.model, texts))

    def models(self) -> list[dict]:
        """The models served, as OpenAI's model objects: the file's names and aliases (owned by
        their upstream), or without a file the upstream's own list."""
        if self._file is None:
            return self._clients["default"].models()
        return [
            {"id": name, "object": "model", "created": self._file.created, "owned_by": self._file.routes[name].upstream}
            for name in self._file.listed
        ]

    def model(self, model_id: str) -> dict:
        """One model object, or the 404 `model_not_found`."""
        for model in self.models():
            if model["id"] == model_id:
                return model
        raise ModelNotFoundError(model_id)
