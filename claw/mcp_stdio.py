"""`claw mcp`: an MCP server on stdin/stdout that hands every call to the running daemon's `/mcp` endpoint.

Desktop agents (Claude Desktop, OpenClaw) start MCP servers as subprocesses. This one holds no house of its
own: it finds the daemon as `claw chat` does, reads an agent's token from the state dir, and forwards
`tools/list` and `tools/call` over streamable HTTP under the agent's own name, so the daemon's one Guard,
audit log and kill switch apply exactly as they do over HTTP; nothing is decided here.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import httpx2
from anyio.abc import TaskGroup, TaskStatus
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from claw import __version__
from claw.core import instance
from claw.core.agent_tokens import FILE, AgentTokens
from claw.core.config import load
from claw.core.errors import ClawError
from claw.core.secrets import secret

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8765"
STATE_DIRS = (Path(".claw-demo"), Path("~/.local/share/claw"))  # `claw demo`'s and `claw init`'s defaults
WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


@dataclass(frozen=True, slots=True)
class Daemon:
    """Where the daemon's MCP endpoint is and the token it wants."""

    url: str  # the listener's base URL
    token: str

    @property
    def endpoint(self) -> str:
        return f"{self.url.rstrip('/')}/mcp"


def find_daemon(
    url: str = "", token: str = "", state_dir: Path | None = None, config: Path | None = None, agent: str = ""
) -> Daemon:
    """The daemon from flags, else CLAW_URL/CLAW_TOKEN, else the config file, else the default state dirs."""
    cfg = load(config) if config is not None and config.exists() else None
    if not url:
        url = os.environ.get("CLAW_URL", "")
    dirs = [state_dir] if state_dir else ([cfg.state_path] if cfg is not None else [p.expanduser() for p in STATE_DIRS])
    running = None if url else instance.find(dirs)
    if running is not None:  # where the daemon on that state dir said it listens; only its own token goes there
        url, dirs = running.url, [running.state_dir]
    if not url and cfg is not None and state_dir is None:
        host = cfg.private.host if cfg.private.host not in WILDCARDS else "127.0.0.1"
        url = f"http://{host}:{cfg.private.port}"
    given = bool(token or secret("mcp_token"))
    # an agent's own token, never the dashboard's: the daemon refuses that on /mcp
    token = token or secret("mcp_token") or ""
    for folder in dirs:
        if token:
            break
        token = AgentTokens.stored(folder, agent or (cfg.mcp.agents[0] if cfg is not None and cfg.mcp.agents else ""))
    if not token:
        where = ", ".join(str(d / FILE) for d in dirs)
        raise ClawError(
            f"no agent token (looked in {where}): run `claw mcp token` where the daemon runs and pass --token, "
            "set CLAW_MCP_TOKEN, or --state-dir DIR (the daemon's state dir)"
        )
    if not url and not given:  # a state dir's token never goes to a default port another Claw may hold
        raise ClawError(
            f"no Claw is running from {', '.join(str(d) for d in dirs)} (it writes {instance.FILE} there while it "
            "runs): start it with `claw run` or `claw demo`, or pass --url"
        )
    return Daemon(url or DEFAULT_URL, token)


async def check(daemon: Daemon) -> str:
    """Why the daemon's MCP endpoint can't be used ("" when it can), in words for the agent's user."""
    headers = {"Authorization": f"Bearer {daemon.token}", "Accept": "application/json, text/event-stream"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.get(daemon.endpoint, headers=headers) as response,
        ):
            status = response.status
    except (aiohttp.ClientError, TimeoutError):
        return f"No Claw is answering at {daemon.url}: start it with `claw run` (or `claw demo`)."
    if status == 401:
        return "Claw refused the token: pass --token, set CLAW_TOKEN, or point --state-dir at the daemon's state dir."
    if status == 404:
        return f"The Claw at {daemon.url} has no MCP server: install claw-home[mcp] where it runs and restart it."
    return ""


class Upstream:
    """One streamable-HTTP session to the daemon, opened at the first call under the agent's name."""

    def __init__(self, daemon: Daemon, tasks: TaskGroup) -> None:
        self.daemon, self.tasks = daemon, tasks
        self._session: ClientSession | None = None
        self._lock = anyio.Lock()

    async def session(self, ctx: ServerRequestContext[Any]) -> ClientSession:
        async with self._lock:
            if self._session is None:
                problem = await check(self.daemon)
                if problem:
                    raise MCPError(types.INTERNAL_ERROR, problem)
                client = ctx.session.client_params
                info = client.client_info if client is not None else types.Implementation(name="", version="")
                try:
                    self._session = await self.tasks.start(self._connect, info)
                except Exception as exc:  # the daemon went away between the check and the handshake
                    log.warning("claw mcp: connecting to %s failed: %s", self.daemon.endpoint, exc)
                    raise MCPError(types.INTERNAL_ERROR, f"Could not reach Claw at {self.daemon.url}.") from None
            return self._session

    async def _connect(
        self, info: types.Implementation, *, task_status: TaskStatus[ClientSession] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Held open in the serving task group (anyio wants a session entered and left in one task)."""
        headers = {"Authorization": f"Bearer {self.daemon.token}"}
        opened: ClientSession | None = None
        try:
            async with (
                httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as http,
                streamable_http_client(self.daemon.endpoint, http_client=http) as (read, write),
                ClientSession(read, write, client_info=info) as opened,
            ):
                await opened.initialize()
                task_status.started(opened)
                await anyio.sleep_forever()
        except Exception as exc:  # the daemon stopped or restarted: the next call connects afresh
            log.warning("claw mcp: the connection to %s ended (%s)", self.daemon.endpoint, _first(exc))
        finally:
            self.forget(opened)

    def forget(self, session: ClientSession | None) -> None:
        """Drop a session that failed, so the next call opens a new one."""
        if session is not None and self._session is session:
            self._session = None

    async def call(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        """One tool call on the daemon; any failure to reach it is the agent's to read, not a crash."""
        try:
            session = await self.session(ctx)
        except MCPError as exc:
            return _failed(exc.message)
        try:
            return await session.call_tool(params.name, params.arguments)
        except Exception as exc:
            log.warning("claw mcp: %s failed on the way to the daemon (%s)", params.name, _first(exc))
            self.forget(session)
            return _failed(f"Lost the connection to Claw at {self.daemon.url} (did it restart?): try again.")


def _failed(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def _first(exc: BaseException) -> str:
    """The first real error inside an exception group, in one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


async def serve(daemon: Daemon) -> None:
    """Serve MCP on stdin/stdout until the agent closes it."""
    problem = await check(daemon)
    if problem:  # say it at once in the agent's log; calls will tell the agent too
        log.warning("claw mcp: %s", problem)
    async with anyio.create_task_group() as tasks:
        upstream = Upstream(daemon, tasks)

        async def list_tools(
            ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
        ) -> types.ListToolsResult:
            page = types.PaginatedRequestParams(cursor=params.cursor) if params is not None and params.cursor else None
            listed = await (await upstream.session(ctx)).list_tools(params=page)
            return types.ListToolsResult(tools=listed.tools, next_cursor=listed.next_cursor)

        server: Server[Any] = Server(
            "claw", version=__version__, title="Claw", on_list_tools=list_tools, on_call_tool=upstream.call
        )
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
        tasks.cancel_scope.cancel()


def main(url: str, token: str, state_dir: Path | None, config: Path | None, agent: str = "") -> int:
    try:
        daemon = find_daemon(url, token, state_dir, config, agent)
    except ClawError as exc:
        print(f"claw mcp: {exc}", file=sys.stderr)
        return 1
    anyio.run(serve, daemon)
    return 0
