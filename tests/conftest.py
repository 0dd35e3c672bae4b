"""Shared fixtures: settings and apps for in-process tests, real gunicorn services for end-to-end ones."""

from gevent import monkey

monkey.patch_all()  # as the gevent worker does, before ssl, requests or boto3 are imported

import pytest  # noqa: E402

from askservice import create_app  # noqa: E402
from askservice.config import Settings  # noqa: E402
from tests.servers import Service  # noqa: E402
from tests.upstream import UpstreamClient, UpstreamProcess  # noqa: E402


@pytest.fixture
def settings_for(tmp_path):
    """Return a factory of Settings on a temp store, with overrides as keyword arguments."""

    def make(**overrides) -> Settings:
        base = {"store_url": f"sqlite:///{tmp_path}/askservice.db", "blob_url": f"file://{tmp_path}/blobs"}
        base.update(overrides)
        return Settings(**base)

    return make


@pytest.fixture
def app(settings_for):
    """A fresh app on a fresh temp store."""
    return create_app(settings_for())


@pytest.fixture
def client(app):
    """Flask's test client for `app`."""
    return app.test_client()


def _service_starter(tmp_path_factory):
    started: list[Service] = []

    def start(env: dict[str, str] | None = None, workers: int = 2, extra_args: list[str] | None = None) -> Service:
        service = Service(env or {}, tmp_path_factory.mktemp("svc"), workers=workers, extra_args=extra_args)
        started.append(service)
        return service

    return start, started


@pytest.fixture
def start_service(tmp_path_factory):
    """Return a factory that starts askservice under gunicorn+gevent; each is stopped after the test."""
    start, started = _service_starter(tmp_path_factory)
    yield start
    for service in started:
        service.stop()


@pytest.fixture(scope="session")
def start_session_service(tmp_path_factory):
    """Like `start_service`, but the services live for the whole session (start them once, share them)."""
    start, started = _service_starter(tmp_path_factory)
    yield start
    for service in started:
        service.stop()


@pytest.fixture(scope="session")
def upstream(tmp_path_factory) -> UpstreamClient:
    """The scripted OpenAI-compatible upstream (tests/upstream.py), shared by the session.

    Script it per test with a fresh `upstream.marker()` in `match`; point services at
    `upstream.base_url` (it ends in /v1).
    """
    process = UpstreamProcess(tmp_path_factory.mktemp("upstream"))
    yield process.client
    process.stop()
