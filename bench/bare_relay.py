"""The R3 baseline of bench/ask_relay.py: a bare Flask + requests relay of /v1/ask.

No validation, auth, logging or metrics; run under the same gunicorn as askservice:
`UPSTREAM_BASE_URL=... gunicorn -k gevent -w 2 --chdir bench bare_relay:app`.
"""

import os

import requests
from flask import Flask, Response, request

UPSTREAM = os.environ["UPSTREAM_BASE_URL"]
MODEL = os.environ.get("UPSTREAM_MODEL", "default")
app = Flask(__name__)
http = requests.Session()


@app.post("/v1/ask")
def ask():
    body = request.get_json()
    messages = body.get("history", []) + [{"role": "user", "content": body["question"]}]
    payload = {"model": body.get("model") or MODEL, "messages": messages}
    upstream = http.post(f"{UPSTREAM}/chat/completions", json=payload, timeout=60)
    return Response(upstream.content, status=upstream.status_code, content_type="application/json")
