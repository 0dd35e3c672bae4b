import time

import pytest

from askservice.netguard import Allowed, Blocked
from askservice.websearch.fetch import Fetcher, Refused

LOOPBACK = Allowed.parse("127.0.0.1")  # the tests' pages live there; nothing else is let through


def fetcher(allowed=LOOPBACK, **kw):
    return Fetcher(allowed, **{"max_bytes": 100_000, "timeout": 5.0, **kw})


def test_a_page_is_read_from_the_checked_address_with_the_urls_host(site):
    url = site.page("/a", "<p>hello</p>")
    page = fetcher().fetch(url)
    assert (page.url, page.content_type, page.charset, page.body, page.truncated) == (
        url, "text/html", "utf-8", b"<p>hello</p>", False)
    headers = site.seen[0].headers
    assert headers["host"] == f"127.0.0.1:{site.port}" and headers["accept-encoding"] == "identity"


def test_a_name_allowed_by_name_is_reached_at_its_checked_addresses_with_its_host_header(site):
    # localhost resolves to ::1 and 127.0.0.1; the site listens on the latter only, so the next
    # checked address is tried; the request names the host, not the address.
    page = fetcher(Allowed.parse("localhost")).fetch(site.page("/n", "<p>x</p>").replace("127.0.0.1", "localhost"))
    assert page.body == b"<p>x</p>"
    assert site.seen[0].headers["host"] == f"localhost:{site.port}"


def test_https_connects_to_the_checked_address_and_verifies_the_names_certificate(tls_site, certificate):
    # The pool is opened on 127.0.0.1, yet SNI and the certificate check use the URL's name.
    url = tls_site.page("/s", "<p>secure</p>").replace("127.0.0.1", "localhost")
    page = fetcher(Allowed.parse("localhost"), ca_certs=certificate[0]).fetch(url)
    assert page.body == b"<p>secure</p>" and tls_site.seen[0].headers["host"] == f"localhost:{tls_site.port}"
    with pytest.raises(Refused, match="SSLError"):  # the address's certificate does not name 127.0.0.1
        fetcher(ca_certs=certificate[0]).fetch(tls_site.url("/s"))
    with pytest.raises(Refused, match="SSLError"):  # nor is it trusted without its CA
        fetcher(Allowed.parse("localhost")).fetch(url)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_loopback_is_refused_unless_allowed_and_nothing_is_sent(site, host):
    with pytest.raises(Blocked):
        fetcher(Allowed()).fetch(site.page("/secret", "admin", ).replace("127.0.0.1", host))
    assert site.seen == []


def test_no_cookie_is_ever_sent(site):
    back = site.page("/back", "<p>back</p>")
    start = site.redirect("/set", back, {"Set-Cookie": "session=abc; Path=/"})
    page = fetcher().fetch(start)
    assert page.url == back and page.body == b"<p>back</p>"
    assert site.paths() == ["/set", "/back"]
    assert all("cookie" not in seen.headers for seen in site.seen)


def test_relative_redirects_are_followed_and_each_is_a_get(site):
    site.page("/end", "<p>end</p>")
    site.redirect("/start", "/end")
    assert fetcher().fetch(site.url("/start")).url == site.url("/end")


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:{port}/admin",
    "http://127.0.0.2:{port}/admin", "file:///etc/passwd",
])
def test_a_redirect_to_a_refused_address_is_refused_at_the_hop(site, target):
    site.page("/admin", "secret")
    start = site.redirect("/go", target.format(port=site.port))
    with pytest.raises(Blocked):
        fetcher().fetch(start)
    assert site.paths() == ["/go"]


def test_redirects_are_limited(site):
    site.redirect("/loop", "/loop")
    with pytest.raises(Refused, match="more than 3 redirects"):
        fetcher(max_redirects=3).fetch(site.url("/loop"))
    assert len(site.seen) == 4


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png", "application/json", "text/javascript", "", "nonsense"])
def test_only_web_pages_and_text_are_read(site, content_type):
    with pytest.raises(Refused, match="not a web page"):
        fetcher().fetch(site.page("/f", b"%PDF-1.7", content_type))


@pytest.mark.parametrize("content_type", ["text/plain", "application/xhtml+xml; charset=iso-8859-1", "TEXT/HTML"])
def test_text_types_are_read(site, content_type):
    assert fetcher().fetch(site.page("/t", "text", content_type)).body == b"text"


def test_an_error_status_is_refused(site):
    with pytest.raises(Refused, match="HTTP 404"):
        fetcher().fetch(site.url("/missing"))


def test_the_size_cap_stops_an_endless_page(site):
    url = site.page("/big", b"x" * 65536, endless=True)
    started = time.monotonic()
    page = fetcher(max_bytes=200_000).fetch(url)
    assert page.truncated and len(page.body) == 200_000
    assert time.monotonic() - started < 2


def test_a_page_that_never_answers_ends_at_the_page_time_cap(site):
    url = site.page("/slow", "late", delay=5)
    started = time.monotonic()
    with pytest.raises(Refused):
        fetcher(timeout=0.5).fetch(url)
    assert time.monotonic() - started < 1.5


def test_a_dripping_page_ends_at_the_time_cap_too(site):
    url = site.page("/drip", b"<p>more</p>", drip=0.1)
    started = time.monotonic()
    with pytest.raises(Refused, match="longer than the time allowed"):
        fetcher(timeout=0.8).fetch(url)
    assert time.monotonic() - started < 1.5


def test_the_callers_deadline_wins_when_earlier(site):
    url = site.page("/slow", "late", delay=5)
    started = time.monotonic()
    with pytest.raises(Refused):
        fetcher(timeout=10).fetch(url, deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 1.5
