"""What the listeners' handlers may use, typed and built once by the daemon: no handler sees the daemon."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from claw.assistant.llm import Model
from claw.assistant.recollection import Recollection
from claw.assistant.toolbox import Tools
from claw.assistant.why import Timeline
from claw.channels.local import LocalChannel
from claw.core.agent_tokens import AgentTokens
from claw.core.bus import Bus
from claw.core.config import Config
from claw.core.media import MediaTokens
from claw.core.safety import Guard, KillSwitch
from claw.core.store import Store
from claw.core.supervisor import Supervisor
from claw.home.house import Home
from claw.web.stream import Live

Snapshot = Callable[[], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Site:
    """The services behind the private listener (the dashboard, the JSON API, the OpenAI front door)."""

    config: Config
    token: str
    started: float
    ready: asyncio.Event
    model: Model
    supervisor: Supervisor
    store: Store
    bus: Bus
    local: LocalChannel
    media: MediaTokens
    live: Live
    guard: Guard
    killswitch: KillSwitch
    notify: Callable[[str], Awaitable[None]]
    home: Home | None
    snapshots: Mapping[str, Snapshot]
    tools: Tools | None = None  # the assistant's tools: the MCP server offers a chosen few
    memory: Recollection | None = None  # what Claw believes: /api/memory
    timeline: Timeline | None = None  # what happened and why: /api/timeline
    agents: AgentTokens | None = None  # the agents' own tokens ([mcp] agents): they act as agents, never as an owner

    async def snapshot(self, kind: str) -> Any:
        source = self.snapshots.get(kind)
        return await source() if source else []

    def agent_named(self, offered: str) -> str | None:
        """The agent an offered token belongs to (None: not an agent's token)."""
        return self.agents.who(offered) if self.agents is not None else None

    def media_url(self, path: str, content_type: str) -> str:
        return f"/media/{self.media.issue(path, content_type)}"


SITE: web.AppKey[Site] = web.AppKey("site", Site)
