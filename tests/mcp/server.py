"""A real MCP server for the tests, built with the `mcp` SDK (MCPServer, streamable HTTP, uvicorn).

Run it: `python -m tests.mcp.server --port N --token T`. One process serves three endpoints of
the same tools (`add` quick, `slow` sleeps, `fail` raises, `big` answers `size` bytes, `refuse`
answers a JSON-RPC error, `chatty` sends log notifications first), and a fourth that pages its
tool list:

    /sse/mcp      answers requests with an event stream (the SDK's default)
    /json/mcp     answers requests with one JSON message (`json_response=True`)
    /secure/mcp   like /sse/mcp, but every request needs `Authorization: Bearer T` (401 otherwise)
    /paged/mcp    a low-level server listing five tools two a page (`nextCursor`)

`GET /_requests` is the record of every MCP request (method, path, JSON-RPC method, session id,
protocol version, whether the Authorization header was right); `POST /_reset` clears it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import anyio
import mcp_types as types
import uvicorn
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

RECORD: list[dict] = []


def tools_server(name: str) -> MCPServer:
    """An MCP server with the three test tools."""
    server = MCPServer(name, log_level="WARNING")

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> str:
        return str(a + b)

    @server.tool(description="Sleep for `seconds`, then say so.")
    async def slow(seconds: float) -> str:
        await anyio.sleep(seconds)
        return f"slept {seconds}"

    @server.tool(description="Answer `size` bytes of text.")
    def big(size: int) -> str:
        return "x" * size

    @server.tool(description="Logs three messages to the client while it works.")
    async def chatty(ctx: Context) -> str:
        for n in range(3):
            await ctx.info(f"step {n}")
        return "done"

    @server.tool(description="Refuses the call with a JSON-RPC error.")
    def refuse() -> str:
        raise MCPError(-32602, "refused by the server")

    @server.tool(description="Always fails.")
    def fail(reason: str) -> str:
        raise ToolError(f"the tool failed: {reason}")

    return server


PAGED_TOOLS = [f"tool{n}" for n in range(5)]


def paged_server() -> Server:
    """A low-level server that lists PAGED_TOOLS two a page (`nextCursor` is the next index)."""

    async def list_tools(_ctx, params):
        start = int(params.cursor) if params and params.cursor else 0
        page = [types.Tool(name=name, input_schema={"type": "object"}) for name in PAGED_TOOLS[start:start + 2]]
        more = start + 2 < len(PAGED_TOOLS)
        return types.ListToolsResult(tools=page, next_cursor=str(start + 2) if more else None)

    return Server("paged", on_list_tools=list_tools)


def recorded(app, token: str | None, require: bool):
    """Wrap an ASGI app: record each request; with `require`, answer 401 without the bearer token."""

    async def wrapper(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        authorized = headers.get("authorization") == f"Bearer {token}"
        body, receive = await read_body(receive)
        RECORD.append({
            "method": scope["method"], "path": scope["path"], "at": time.time(), "rpc": rpc_method(body),
            "session": headers.get("mcp-session-id"), "protocol": headers.get("mcp-protocol-version"),
            "authorized": authorized,
        })
        if require and not authorized:
            response = JSONResponse({"error": "unauthorized"}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        return await app(scope, receive, send)

    return wrapper


async def read_body(receive):
    """Read a request's whole body; return it and a `receive` that hands it on to the app."""
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body, given = b"".join(chunks), False

    async def replay():
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def rpc_method(body: bytes) -> str | None:
    """The JSON-RPC method of a request body (None for an answer, an empty body or a batch)."""
    try:
        message = json.loads(body) if body else None
    except ValueError:
        return None
    return message.get("method") if isinstance(message, dict) else None


def build(token: str) -> Starlette:
    """The three endpoints, their session managers run by one lifespan, and the record's routes."""
    servers = {"sse": tools_server("sse"), "json": tools_server("json"), "secure": tools_server("secure"),
               "paged": paged_server()}
    apps = {name: server.streamable_http_app(json_response=name == "json") for name, server in servers.items()}

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async with contextlib.AsyncExitStack() as stack:
            for server in servers.values():
                await stack.enter_async_context(server.session_manager.run())
            yield

    async def requests_route(_request: Request) -> JSONResponse:
        return JSONResponse(RECORD)

    async def reset_route(_request: Request) -> JSONResponse:
        RECORD.clear()
        return JSONResponse({})

    routes = [Route("/_requests", requests_route), Route("/_reset", reset_route, methods=["POST"])]
    routes += [Mount(f"/{name}", app=recorded(app, token, require=name == "secure")) for name, app in apps.items()]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description="MCP test server (three endpoints of the same tools).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    uvicorn.run(build(args.token), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
