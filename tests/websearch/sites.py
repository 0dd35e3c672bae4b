"""Local web sites for the websearch tests: scripted pages and search engines on 127.0.0.1.

A `Site` is a threaded http.server (greenlets under the tests' gevent patching) that answers each
path as scripted with `page(...)` and records every request it received (path, query, headers).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Script:
    """How one path answers: status, headers, body; `delay` before the headers, `drip` seconds
    between the body's chunks (sent again and again), `endless` for a body that never ends."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    drip: float = 0.0
    endless: bool = False


@dataclass
class Seen:
    """One request a Site received."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class Site:
    """A scripted HTTP server on a free loopback port."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        """`tls`: (certificate, key) PEM files to serve HTTPS instead of HTTP."""
        self.scripts: dict[str, Script] = {}
        self.seen: list[Seen] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                site.seen.append(Seen(parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}))
                site._answer(self, site.scripts.get(parts.path, Script(404, body=b"not here")))

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def page(self, path: str, body: bytes | str = b"", content_type: str = "text/html; charset=utf-8", **kw) -> str:
        """Script `path`; return its URL."""
        headers = {"Content-Type": content_type, **kw.pop("headers", {})}
        self.scripts[path] = Script(body=body.encode() if isinstance(body, str) else body, headers=headers, **kw)
        return self.url(path)

    def redirect(self, path: str, location: str, headers: dict[str, str] | None = None) -> str:
        """Script `path` as a 302 to `location`; return its URL."""
        self.scripts[path] = Script(302, {"Location": location, **(headers or {})})
        return self.url(path)

    def json(self, path: str, data: object, status: int = 200) -> None:
        """Script `path` to answer `data` as JSON."""
        self.scripts[path] = Script(status, {"Content-Type": "application/json"}, json.dumps(data).encode())

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler, script: Script) -> None:
        time.sleep(script.delay)
        try:
            handler.send_response(script.status)
            for name, value in script.headers.items():
                handler.send_header(name, value)
            if not (script.endless or script.drip):
                handler.send_header("Content-Length", str(len(script.body)))
            handler.end_headers()
            handler.wfile.write(script.body)
            sent = len(script.body)
            while (script.endless or script.drip) and sent < 64 * 1024 * 1024:
                time.sleep(script.drip)
                handler.wfile.write(script.body)
                handler.wfile.flush()
                sent += len(script.body)
        except (BrokenPipeError, ConnectionResetError):
            pass
