"""Prometheus counters for askservice: record with the small functions here, serve with `render()`.

Under gunicorn every worker writes its samples to files in one shared folder (prometheus_client's
multiprocess mode) and `render()` adds them up, so `/metrics` answers for the whole server
whichever worker serves it. The folder is `PROMETHEUS_MULTIPROC_DIR` when set (empty it before
the server starts; `deploy/gunicorn.conf.py` does), otherwise one made per gunicorn master under
the temp folder, so plain `gunicorn -k gevent --chdir src app:app` counts across workers too.
Outside gunicorn (dev server, in-process tests) samples live in this process's memory.

Nothing here imports Flask; services, llm and web may all record.
"""

from __future__ import annotations

from askservice import metricsdir

MULTIPROC_DIR = metricsdir.prepare()  # before prometheus_client picks how it stores values

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MAX_CLIENT_IDS = 1000  # label values per process; later ones count as "other"
_REGISTRY = CollectorRegistry()
_seen_clients: set[str] = set()

REQUESTS = Counter(
    "askservice_http_requests", "HTTP requests answered, by route, method and status.",
    ["route", "method", "status"], registry=_REGISTRY,
)
LATENCY = Histogram(
    "askservice_http_request_duration_seconds", "Time to the response's start (headers), by route.",
    ["route", "method"], registry=_REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UPSTREAM_CALLS = Counter(
    "askservice_upstream_requests", "Requests sent to the LLM upstream, by kind.", ["kind"], registry=_REGISTRY
)
UPSTREAM_ERRORS = Counter(
    "askservice_upstream_errors", "Failed upstream requests, by kind and error.", ["kind", "error"], registry=_REGISTRY
)
UPSTREAM_FALLBACKS = Counter(
    "askservice_upstream_fallbacks", "Calls sent to a fallback upstream after one failed before answering.",
    ["from_upstream", "to_upstream"], registry=_REGISTRY,
)
STREAMS_OPEN = Gauge(
    "askservice_sse_streams_open", "Server-sent event streams open now.", registry=_REGISTRY,
    multiprocess_mode="livesum",
)
STREAMS = Counter("askservice_sse_streams", "Server-sent event streams opened.", registry=_REGISTRY)
RUNS = Counter("askservice_runs", "Runs that reached a status, by status.", ["status"], registry=_REGISTRY)
RESPONSES = Counter(
    "askservice_responses", "Responses that ended, by status (completed, incomplete, failed).", ["status"],
    registry=_REGISTRY,
)
PROMPT_TOKENS = Counter(
    "askservice_prompt_tokens", "Prompt tokens the upstream reported, by client.", ["client_id"], registry=_REGISTRY
)
COMPLETION_TOKENS = Counter(
    "askservice_completion_tokens", "Completion tokens the upstream reported, by client.", ["client_id"],
    registry=_REGISTRY,
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered HTTP request and its time to the response's start."""
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def upstream_call(kind: str) -> None:
    """Count one request sent upstream (`kind`: chat, chat_stream, embeddings, ...)."""
    UPSTREAM_CALLS.labels(kind).inc()


def upstream_error(kind: str, error: str) -> None:
    """Count one failed upstream request (`error`: timeout, rate_limit, bad_gateway, ...)."""
    UPSTREAM_ERRORS.labels(kind, error).inc()


def upstream_fallback(failed: str, next_upstream: str) -> None:
    """Count one call passed from the upstream that `failed` to `next_upstream`."""
    UPSTREAM_FALLBACKS.labels(failed, next_upstream).inc()


def stream_opened() -> None:
    """Count an SSE stream that starts; pair with `stream_closed()` in a `finally`."""
    STREAMS.inc()
    STREAMS_OPEN.inc()


def stream_closed() -> None:
    """Count an SSE stream that ended, whether it finished or the client left."""
    STREAMS_OPEN.dec()


def run_status(status: str) -> None:
    """Count a run that reached `status` (queued, in_progress, completed, failed, ...)."""
    RUNS.labels(status).inc()


def response_status(status: str) -> None:
    """Count a response that ended in `status`."""
    RESPONSES.labels(status).inc()


def tokens(client_id: str | None, prompt: int | None, completion: int | None) -> None:
    """Add the usage the upstream reported to the caller's totals."""
    label = _client_label(client_id)
    if prompt:
        PROMPT_TOKENS.labels(label).inc(prompt)
    if completion:
        COMPLETION_TOKENS.labels(label).inc(completion)


def render() -> tuple[bytes, str]:
    """Return every metric, summed over all workers, in Prometheus' text format and its type."""
    if MULTIPROC_DIR is None:
        return generate_latest(_REGISTRY), CONTENT_TYPE_LATEST
    for pid in metricsdir.dead_pids(MULTIPROC_DIR):
        multiprocess.mark_process_dead(pid, MULTIPROC_DIR)  # open streams of a dead worker are gone
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def _client_label(client_id: str | None) -> str:
    # client_id comes from request bodies: bound its length and the number of series it makes
    label = (client_id or "default")[:64]
    if label not in _seen_clients:
        if len(_seen_clients) >= MAX_CLIENT_IDS:
            return "other"
        _seen_clients.add(label)
    return label
