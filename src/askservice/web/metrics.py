"""GET /metrics in Prometheus' text format, and the request hook that counts every response.

The route sits at the root (where Prometheus looks) and is guarded by API_KEYS like every route
but health. Latency is the time to the response's start: a stream's length is not its latency.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, g, request

from askservice import metrics

bp = Blueprint("metrics", __name__)
UNMATCHED = "<unmatched>"


@bp.get("/metrics")
def serve():
    """Answer with every counter, summed over all workers."""
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


def install(app: Flask) -> None:
    """Count each request by route template (not raw path, to bound the series) and status."""

    @app.before_request
    def start_clock():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count(response):
        started = g.get("metrics_started")
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        args = (route, request.method, response.status_code, time.perf_counter() - started if started else 0.0)
        # recorded when the response is done, so a stream's first chunk never waits on the counters
        response.call_on_close(lambda: metrics.observe_request(*args))
        return response

    app.register_blueprint(bp)
