"""The baseline of bench/ask_relay.py: a bare Flask + requests relay of /v1/ask and /v1/chat/completions.

No validation, auth, routing, logging or metrics; JSON relayed whole, SSE relayed as it comes.
Run under the same gunicorn as askservice:
`UPSTREAM_BASE_URL=... gunicorn -k gevent -w 2 --chdir bench bare_relay:app`.
"""

import os

import requests
from flask import Flask, Response, request

UPSTREAM = os.environ["UPSTREAM_BASE_URL"]
MODEL = os.environ.get("UPSTREAM_MODEL", "default")
app = Flask(__name__)
http = requests.Session()


def _relay(payload: dict) -> Response:
    stream = bool(payload.get("stream"))
    upstream = http.post(f"{UPSTREAM}/chat/completions", json=payload, timeout=60, stream=stream)
    if stream:
        return Response(upstream.iter_content(chunk_size=None), status=upstream.status_code,
                        content_type="text/event-stream")
    return Response(upstream.content, status=upstream.status_code, content_type="application/json")


@app.post("/v1/ask")
def ask():
    body = request.get_json()
    messages = body.get("history", []) + [{"role": "user", "content": body["question"]}]
    return _relay({"model": body.get("model") or MODEL, "messages": messages, "stream": bool(body.get("stream"))})


@app.post("/v1/chat/completions")
def chat():
    return _relay(request.get_json())
