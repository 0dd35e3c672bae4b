"""Settings from the environment: defaults, `.env`, and one clear line for each bad value."""

import ipaddress
import subprocess
import sys

import pytest

from askservice.config import REPO_ROOT, Settings, resolve_path
from askservice.errors import ConfigError
from askservice.netguard import Allowed


def test_defaults_match_the_design():
    s = Settings.from_env({}, dotenv_path="/nonexistent")
    assert (s.host, s.port, s.upstream_timeout, s.max_history_messages) == ("127.0.0.1", 5001, 60.0, 10)
    assert s.store_url == "sqlite:///data/askservice.db" and s.blob_url == "file://data/blobs"
    assert (s.max_body_bytes, s.max_file_bytes) == (1048576, 536870912)
    assert s.upstream_base_url is None and dict(s.api_keys) == {}


def test_environment_wins_over_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("PORT=6000\nUPSTREAM_MODEL=from-dotenv\nSYSTEM_PROMPT=be brief\n")
    s = Settings.from_env({"PORT": "7000"}, dotenv_path=dotenv)
    assert s.port == 7000 and s.upstream_model == "from-dotenv" and s.system_prompt == "be brief"


def test_api_keys_and_cors_are_parsed():
    s = Settings.from_env({"API_KEYS": "k1:client-a, k2:client-b", "CORS_ORIGINS": "https://a.example, https://b.example"}, dotenv_path="/nonexistent")
    assert dict(s.api_keys) == {"k1": "client-a", "k2": "client-b"}
    assert s.cors_origins == ("https://a.example", "https://b.example")


def test_mcp_servers_allowed_by_name_and_network():
    s = Settings.from_env({"MCP_ALLOW": "mcp.corp, *.tools.internal, 10.1.2.0/24", "MCP_TIMEOUT": "5"}, dotenv_path="/nonexistent")
    assert s.mcp_allow.host("mcp.corp") and s.mcp_allow.host("a.tools.internal") and not s.mcp_allow.host("other")
    assert s.mcp_allow.address(ipaddress.ip_address("10.1.2.7")) and s.mcp_timeout == 5.0
    default = Settings.from_env({}, dotenv_path="/nonexistent")
    assert default.mcp_allow.hosts == frozenset() and default.mcp_allow.networks == () and default.mcp_timeout == 60.0


@pytest.mark.parametrize(
    "env, names",
    [
        ({"PORT": "abc"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"UPSTREAM_TIMEOUT": "soon"}, "UPSTREAM_TIMEOUT"),
        ({"MAX_BODY_BYTES": "-1"}, "MAX_BODY_BYTES"),
        ({"STORE_URL": "postgres://x"}, "STORE_URL"),
        ({"BLOB_URL": "ftp://x"}, "BLOB_URL"),
        ({"API_KEYS": "nocolon"}, "API_KEYS"),
        ({"ALLOW_OPEN_ACCESS": "maybe"}, "ALLOW_OPEN_ACCESS"),
        ({"HOST": "0.0.0.0"}, "API_KEYS"),
        ({"WEB_SEARCH_PROVIDER": "google"}, "WEB_SEARCH_PROVIDER"),
        ({"WEB_SEARCH_PROVIDER": "searxng"}, "WEB_SEARCH_URL"),
        ({"WEB_SEARCH_PROVIDER": "brave"}, "WEB_SEARCH_API_KEY"),
        ({"WEB_SEARCH_PROVIDER": "searxng", "WEB_SEARCH_URL": "searx:8080"}, "WEB_SEARCH_URL"),
        ({"WEB_SEARCH_TIMEOUT": "0"}, "WEB_SEARCH_TIMEOUT"),
        ({"WEB_FETCH_TIMEOUT": "later"}, "WEB_FETCH_TIMEOUT"),
        ({"WEB_FETCH_MAX_BYTES": "10"}, "WEB_FETCH_MAX_BYTES"),
        ({"WEB_FETCH_MAX_PAGES": "21"}, "WEB_FETCH_MAX_PAGES"),
        ({"MCP_TIMEOUT": "0"}, "MCP_TIMEOUT"),
    ],
)
def test_bad_values_name_the_variable(env, names):
    with pytest.raises(ConfigError, match=names):
        Settings.from_env(env, dotenv_path="/nonexistent")


def test_web_search_settings_are_read_and_the_key_is_not_shown():
    s = Settings.from_env({}, dotenv_path="/nonexistent")
    assert (s.web_search_provider, s.web_search_url, s.web_fetch_allow) == ("none", None, Allowed())
    assert (s.web_search_timeout, s.web_fetch_timeout, s.web_fetch_max_bytes, s.web_fetch_max_pages) == (20.0, 8.0, 2097152, 8)
    s = Settings.from_env({"WEB_SEARCH_PROVIDER": " Brave ", "WEB_SEARCH_API_KEY": "bsk-secret", "WEB_FETCH_ALLOW": "searx.internal,10.1.0.0/16",
                           "WEB_FETCH_MAX_PAGES": "4", "WEB_SEARCH_TIMEOUT": "12.5"}, dotenv_path="/nonexistent")
    assert (s.web_search_provider, s.web_search_api_key) == ("brave", "bsk-secret")
    assert s.web_fetch_allow == Allowed.parse("searx.internal,10.1.0.0/16")
    assert (s.web_fetch_max_pages, s.web_search_timeout) == (4, 12.5) and "bsk-secret" not in repr(s)
    s = Settings.from_env({"WEB_SEARCH_PROVIDER": "searxng", "WEB_SEARCH_URL": "http://searx.internal:8080/"}, dotenv_path="/nonexistent")
    assert s.web_search_url == "http://searx.internal:8080"


def test_open_access_on_a_public_address_needs_explicit_consent():
    assert Settings.from_env({"HOST": "0.0.0.0", "ALLOW_OPEN_ACCESS": "1"}, dotenv_path="/nonexistent").host == "0.0.0.0"
    assert Settings.from_env({"HOST": "0.0.0.0", "API_KEYS": "k:c"}, dotenv_path="/nonexistent").host == "0.0.0.0"
    assert Settings.from_env({"HOST": "::1"}, dotenv_path="/nonexistent").host == "::1"


def test_relative_paths_resolve_against_the_repository():
    assert resolve_path("data/x.db") == REPO_ROOT / "data/x.db"
    assert str(resolve_path("/abs/x.db")) == "/abs/x.db"


def test_the_checker_prints_one_line_and_fails():
    result = subprocess.run(
        [sys.executable, "-m", "askservice.config"],
        env={"PORT": "abc", "PYTHONPATH": str(REPO_ROOT / "src")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["askservice: configuration error: PORT='abc' is not an integer"]
