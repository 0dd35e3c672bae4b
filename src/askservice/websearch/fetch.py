"""Fetch one web page for the model, the way a hostile URL cannot abuse.

- Every hop (the first URL and each redirect, at most `max_redirects`) is checked by netguard
  after DNS resolution, and the connection goes to the address netguard checked: the pool is
  opened on that IP, with the `Host` header, TLS SNI and certificate hostname set to the URL's
  name. A second DNS answer (rebinding) can therefore not swap in an address that was not checked,
  while HTTPS still verifies the certificate of the name.
- Redirects are followed here, not by urllib3, so that each one is checked; every request is a GET.
- No cookies: urllib3 keeps no cookie jar and no `Cookie` header is ever sent, so a page cannot
  set one and have it returned on a redirect or on another page.
- Only `text/html`, `application/xhtml+xml` and `text/plain` are read; other types are refused
  before their body is read. The body is streamed and reading stops at `max_bytes` (the page is
  then `truncated`). `Accept-Encoding: identity` asks for no compression (no decompression bombs).
- Time: every connect and read is bounded by what is left of the page's deadline (`timeout`,
  or the caller's earlier deadline); the socket's time-out is shortened before each read.
"""

from __future__ import annotations

import math
import socket
import time
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urljoin, urlsplit

import urllib3
from requests.utils import requote_uri
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from askservice.netguard import Allowed, check_url

TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
CHUNK = 65536
HEADERS = {
    "User-Agent": "askservice-websearch/1.0 (reads pages named by a web search)",
    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9",
    "Accept-Encoding": "identity",
}


class Refused(Exception):
    """The page was not fetched: its address, type, status, redirects or time; the message says which."""


@dataclass(frozen=True)
class Page:
    """A fetched page: the URL it was read from (after redirects), its type and (capped) body."""

    url: str
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool


class Fetcher:
    """Fetches pages under netguard's policy (`allowed` lets named non-public hosts through);
    HTTPS certificates are checked against the system's CAs, or `ca_certs` (a PEM bundle) if given."""

    def __init__(
        self, allowed: Allowed, *, max_bytes: int, timeout: float, max_redirects: int = MAX_REDIRECTS,
        ca_certs: str | None = None,
    ):
        self._allowed = allowed
        self._ca_certs = ca_certs
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._max_redirects = max_redirects

    def fetch(self, url: str, deadline: float = math.inf) -> Page:
        """Return the page at `url`; raise netguard.Blocked or Refused. `deadline` is time.monotonic()."""
        deadline = min(deadline, time.monotonic() + self._timeout)
        for _ in range(self._max_redirects + 1):
            response, pool = self._open(url, deadline)
            try:
                location = response.headers.get("Location")
                if response.status in REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                if response.status != 200:
                    raise Refused(f"{url} answered HTTP {response.status}")
                header = Message()  # for its parameter parsing (charset); the type is read as sent
                header["Content-Type"] = response.headers.get("Content-Type", "")
                content_type = header["Content-Type"].split(";")[0].strip().lower()
                if content_type not in TEXT_TYPES:
                    raise Refused(f"{url} is {content_type or 'of no declared type'}, not a web page or text")
                body, truncated = self._read(url, response, deadline)
                return Page(url, content_type, header.get_param("charset"), body, truncated)
            finally:
                response.close()
                pool.close()
        raise Refused(f"more than {self._max_redirects} redirects")

    def _open(self, url: str, deadline: float) -> tuple[urllib3.BaseHTTPResponse, urllib3.HTTPConnectionPool]:
        """Send the GET to the first checked address of the URL's host that accepts a connection."""
        host, port, addresses = check_url(url, self._allowed)
        parts = urlsplit(url)
        target = requote_uri((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        failure = "no address"
        for ip in addresses:
            remaining = _left(url, deadline)
            if parts.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    str(ip), port, maxsize=1, cert_reqs="CERT_REQUIRED", ca_certs=self._ca_certs,
                    server_hostname=host, assert_hostname=host,
                )
            else:
                pool = urllib3.HTTPConnectionPool(str(ip), port, maxsize=1)
            try:
                response = pool.urlopen(
                    "GET", target, headers={**HEADERS, "Host": parts.netloc}, redirect=False, retries=False,
                    preload_content=False, assert_same_host=False, timeout=urllib3.Timeout(remaining, remaining),
                )
                return response, pool
            except (NewConnectionError, ConnectTimeoutError) as exc:
                failure = type(exc).__name__
                pool.close()
            except HTTPError as exc:
                pool.close()
                raise _failure(url, exc) from None
        raise Refused(f"{url} unreachable ({failure})")

    def _read(self, url: str, response: urllib3.BaseHTTPResponse, deadline: float) -> tuple[bytes, bool]:
        """Stream the body until its end, `max_bytes` (then truncated) or the deadline (Refused)."""
        chunks, size = [], 0
        while size <= self._max_bytes:
            remaining = _left(url, deadline)
            sock = _socket(response)
            if sock is not None:
                sock.settimeout(remaining)
            try:
                data = response.read1(min(CHUNK, self._max_bytes + 1 - size))  # what has come, not a full CHUNK
            except HTTPError as exc:
                raise _failure(url, exc) from None
            if not data:
                break
            chunks.append(data)
            size += len(data)
        body = b"".join(chunks)
        return body[: self._max_bytes], size > self._max_bytes


def _socket(response: urllib3.BaseHTTPResponse) -> socket.socket | None:
    """The response's socket, to shorten its time-out: once a response says it closes the
    connection, http.client keeps the socket only behind the body's file. Without it, each read
    is still bounded by the read time-out set when the request was sent."""
    body = getattr(getattr(response, "_fp", None), "fp", None)
    return getattr(getattr(body, "raw", None), "_sock", None)


def _failure(url: str, exc: HTTPError) -> Refused:
    """Refused for a failed request or read, time-outs named as such."""
    if isinstance(exc, ReadTimeoutError):
        return Refused(f"{url} took longer than the time allowed")
    return Refused(f"{url} failed: {type(exc).__name__}")


def _left(url: str, deadline: float) -> float:
    """Seconds left before `deadline`; Refused when none are."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Refused(f"{url} took longer than the time allowed")
    return remaining
