"""The transport's own rules: headers it refuses, and connections only to the addresses checked."""

import pytest

from askservice.mcp import McpError
from askservice.mcp.transport import PinnedHTTPPool, Transport, check_headers
from askservice.netguard import Allowed


@pytest.mark.parametrize("name", ["Mcp-Session-Id", "mcp-protocol-version", "Accept", "Content-Type", "Host"])
def test_the_transport_headers_cannot_be_given(name):
    with pytest.raises(McpError, match=f"header {name} is set by the transport") as caught:
        check_headers({name: "x"})
    assert caught.value.kind == "headers"


@pytest.mark.parametrize("headers", [{"Bad Name": "x"}, {"X-Key": "a\nb"}, {"X-Key": "caf\u00e9"}, {"X-Key": 7}])
def test_unsendable_headers_are_refused_without_their_value(headers):
    with pytest.raises(McpError) as caught:
        check_headers(headers)
    assert "a\nb" not in str(caught.value) and caught.value.kind == "headers"


def test_connections_go_to_the_checked_addresses_in_order(mcp_server):
    port = int(mcp_server.base.rsplit(":", 1)[1])
    # `mcp.test` resolves nowhere: the pool never looks it up; ::1 has no server: the next address serves
    with PinnedHTTPPool("mcp.test", port, addresses=("::1", "127.0.0.1")) as pool:
        answer = pool.urlopen("GET", "/_requests", retries=False, timeout=5)
    assert answer.status == 200


def test_a_url_with_an_invalid_port_is_refused():
    with pytest.raises(McpError, match="invalid port") as caught:
        Transport("http://mcp.test:99999/mcp", {}, 1.0, Allowed())
    assert caught.value.kind == "blocked"
