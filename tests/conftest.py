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
def http(app):
    """Flask's test client for `app` (a module overrides `app` for other settings)."""
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


@pytest.fixture(scope="session")
def second_upstream(tmp_path_factory) -> UpstreamClient:
    """A second scripted upstream, for routing across two upstreams at once."""
    process = UpstreamProcess(tmp_path_factory.mktemp("upstream2"))
    yield process.client
    process.stop()


GATEWAY_KEYS = {"test-key": "client-a", "other-key": "client-b", "tokens-key": "client-tokens"}
UPSTREAMS_TOML = """
[upstreams.alpha]
base_url = "{alpha}"
api_key_env = "ALPHA_KEY"
stream_usage = true

[upstreams.beta]
base_url = "{beta}"

[upstreams.down]      # nothing listens there: every call is a connect error
base_url = "http://127.0.0.1:{dead_port}/v1"

[models.chat-a]
upstream = "alpha"
model = "alpha-chat"
aliases = ["a-latest"]
fallbacks = ["chat-b"]

[models.chat-b]
upstream = "beta"
model = "beta-chat"

[models.embed-a]
upstream = "alpha"
model = "alpha-embed"
fallbacks = ["embed-b"]

[models.embed-b]
upstream = "beta"
model = "beta-embed"

[models.chat-down]
upstream = "down"
model = "down-chat"
fallbacks = ["chat-a", "chat-b"]
"""


@pytest.fixture(scope="session")
def gateway_service(start_session_service, upstream, second_upstream, tmp_path_factory):
    """askservice routing by model across two scripted upstreams (`alpha` = `upstream`, `beta` =
    `second_upstream`) and one that refuses connections, per UPSTREAMS_TOML; keys GATEWAY_KEYS."""
    from tests.servers import free_port

    path = tmp_path_factory.mktemp("gateway") / "upstreams.toml"
    path.write_text(UPSTREAMS_TOML.format(alpha=upstream.base_url, beta=second_upstream.base_url, dead_port=free_port()))
    return start_session_service({
        "UPSTREAMS_FILE": str(path), "ALPHA_KEY": "alpha-secret", "UPSTREAM_TIMEOUT": "1.5",
        "UPSTREAM_MODEL": "chat-b", "EMBEDDING_MODEL": "embed-a", "API_KEYS": keys_env(GATEWAY_KEYS),
    })


def keys_env(keys: dict[str, str]) -> str:
    """Return the API_KEYS setting of a {key: client id} dict."""
    return ",".join(f"{k}:{c}" for k, c in keys.items())


ASK_API_KEYS = {"key-a": "client-a", "key-b": "client-b"}
ASK_SETTINGS = {
    "UPSTREAM_API_KEY": "upstream-secret",
    "UPSTREAM_MODEL": "default-model",
    "UPSTREAM_TIMEOUT": "1.5",
    "SYSTEM_PROMPT": "You answer briefly.",
    "MAX_HISTORY_MESSAGES": "3",
    "API_KEYS": keys_env(ASK_API_KEYS),
    "CORS_ORIGINS": "https://app.example",
}


@pytest.fixture(scope="session")
def ask_service(start_session_service, upstream):
    """askservice relaying to the scripted upstream, with ASK_SETTINGS (keys, CORS, prompt, ...)."""
    return start_session_service({"UPSTREAM_BASE_URL": upstream.base_url, **ASK_SETTINGS})


@pytest.fixture(scope="session")
def bare_service(start_session_service):
    """askservice on the embedded defaults: no upstream, no keys, no CORS (one worker)."""
    return start_session_service({}, workers=1)


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory):
    """DynamoDB Local for the session (tests/aws.py `DynamoLocal`).

    `.client()` is a boto3 client for it, `.new_table()` a fresh table name, and `.env()` the
    environment for a service on it (`start_service(dynamodb_local.env())`: a fresh table,
    created at start)."""
    from tests.aws import DynamoLocal

    server = DynamoLocal(tmp_path_factory.mktemp("dynamodb"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3-compatible server for the session, with `.bucket` (tests/aws.py `S3Server`).

    `.client()` is a boto3 client for it and `.env()` the environment for a service's blobs
    (`BLOB_URL` on a fresh prefix, `AWS_ENDPOINT_URL_S3`)."""
    from tests.aws import S3Server

    server = S3Server(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


BACKENDS = ("sqlite", "dynamodb")  # the store backends; a fixture with params=BACKENDS runs a test on each
CLIENT_KEYS = {"test-key": "client-a", "other-key": "client-b"}  # the two API keys of runs_short_service and assistants_service


def backend_env(request, backend: str, s3_blobs: bool = False) -> dict[str, str]:
    """Return the environment of a service on `backend` (one of BACKENDS): nothing for SQLite (a file
    and a blob folder in its temp dir), a fresh DynamoDB Local table for dynamodb (and, with
    `s3_blobs`, its blobs on a fresh prefix of moto's S3)."""
    if backend == "sqlite":
        return {}
    env = request.getfixturevalue("dynamodb_local").env()
    if s3_blobs:
        env.update(request.getfixturevalue("s3_server").env())
    return env


def backend_services(request, settings_for, monkeypatch, **overrides):
    """Yield every service built in process on the backend of `request.param` (one of BACKENDS),
    with Settings `overrides`, and close them after the test: the body of a fixture, `yield from` it."""
    from askservice.services import build_services

    if request.param == "dynamodb":
        env = request.getfixturevalue("dynamodb_local").env()
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        overrides = {**overrides, "store_url": env["STORE_URL"], "store_create_table": True}
    services = build_services(settings_for(**overrides))
    yield services
    services.sweeper.close()
    services.store.close()


@pytest.fixture(scope="session", params=BACKENDS)
def runs_service(request, start_session_service, upstream):
    """askservice for the run tests, once per store backend, relaying to the scripted upstream."""
    return _runs_env_service(request, start_session_service, {"UPSTREAM_BASE_URL": upstream.base_url})


@pytest.fixture(scope="session")
def web_site():
    """Local web pages and a SearxNG-shaped engine (`/search`) on one loopback server, scripted per test
    (tests/websearch/sites.py)."""
    from tests.websearch.sites import Site

    site = Site()
    yield site
    site.close()


@pytest.fixture(scope="session")
def mcp_server(tmp_path_factory):
    """A real MCP server built on the `mcp` SDK (tests/mcp/server.py), on loopback, for the session."""
    from tests.mcp.process import start_mcp_server

    server = start_mcp_server(tmp_path_factory.mktemp("mcp") / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def runs_short_service(request, start_session_service, upstream, web_site):
    """Like `runs_service`, with short run timers (1.5 s leases, 2 s to submit tool outputs, 1 s
    upstream timeout), two API keys (CLIENT_KEYS), web search on `web_site`'s engine and pages (the
    only non-public address allowed to fetch is 127.0.0.1) and MCP servers allowed on 127.0.0.1."""
    env = {
        "UPSTREAM_BASE_URL": upstream.base_url, "RUN_LEASE_SECONDS": "1.5", "RUN_EXPIRES_SECONDS": "2",
        "UPSTREAM_TIMEOUT": "1", "API_KEYS": keys_env(CLIENT_KEYS),
        "WEB_SEARCH_PROVIDER": "searxng", "WEB_SEARCH_URL": web_site.url(""), "WEB_FETCH_ALLOW": "127.0.0.1/32",
        "WEB_FETCH_TIMEOUT": "2", "MCP_ALLOW": "127.0.0.1/32", "MCP_TIMEOUT": "5",
    }
    return _runs_env_service(request, start_session_service, env)


def _runs_env_service(request, start_session_service, env: dict):
    """Start a service on the backend of `request.param`; its `open_store()` opens the same store."""
    from askservice.blobs import open_blobs
    from askservice.store import open_store
    from askservice.store.dynamodb import DynamoStore

    env = {**env, **backend_env(request, request.param)}
    dynamo = request.getfixturevalue("dynamodb_local") if request.param == "dynamodb" else None
    service = start_session_service(env)
    tmp = service.log_path.parent
    settings = Settings(store_url=env.get("STORE_URL", f"sqlite:///{tmp}/askservice.db"), blob_url=f"file://{tmp}/blobs")

    def open_service_store():
        if dynamo is None:
            return open_store(settings, open_blobs(settings))
        return DynamoStore(settings.store_url.partition("://")[2], open_blobs(settings), client=dynamo.client())

    service.open_store = open_service_store
    return service


@pytest.fixture(scope="session", params=BACKENDS)
def assistants_service(request, start_session_service):
    """askservice for the assistants/threads/messages tests, once per store backend, with two
    API keys (CLIENT_KEYS) and no upstream."""
    return start_session_service({"API_KEYS": keys_env(CLIENT_KEYS), **backend_env(request, request.param)})


@pytest.fixture(scope="session")
def sdk_for(assistants_service):
    """Return `sdk_for(key)`: an official `openai.OpenAI` client of `assistants_service` for an API key
    (tests/web/support.py `sdk_on`)."""
    from tests.web.support import KEY_A, sdk_on

    return lambda key=KEY_A: sdk_on(assistants_service, key)


@pytest.fixture
def fs(settings_for):
    """The file-search services (files, vector stores, batches, ingestor, index, retriever, tool) on a temp
    SQLite store and blob folder, keyword ranking, 200 kB uploads. Nothing ingests on its own: `fs.queued`
    lists what was scheduled, and tests/services/file_search/support.py `ingest_all(fs)` runs it."""
    from askservice.blobs import open_blobs
    from askservice.store import open_store
    from tests.services.file_search.support import worker

    settings = settings_for(max_file_bytes=200_000)
    blobs = open_blobs(settings)
    return worker(settings, open_store(settings, blobs), blobs)
