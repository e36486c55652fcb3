"""Builds the components, supervises them, and owns start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from claw.assistant.llm import Model
from claw.assistant.loop import Brain
from claw.assistant.memory import Memory
from claw.assistant.memory_tools import add_memory_tools
from claw.assistant.router import Router
from claw.assistant.soul import Soul
from claw.assistant.toolbox import Tools
from claw.channels.local import LocalChannel
from claw.core.bus import Bus, Media, Outbound, OutKind
from claw.core.config import Config
from claw.core.errors import ClawError, ModelUnavailable
from claw.core.store import Store
from claw.core.supervisor import Supervisor
from claw.core.systemd import feed_watchdog, notify, watchdog_interval
from claw.web import private
from claw.web.auth import dashboard_token
from claw.web.live import Live
from claw.web.media import MediaTokens

if TYPE_CHECKING:
    from claw.core.safety import Guard
    from claw.eyes.part import Eyes
    from claw.home.part import Home

log = logging.getLogger(__name__)


class Part(Protocol):
    """A capability plugged into the daemon (home, eyes, WhatsApp, jobs): started after the spine."""

    async def start(self, app: App) -> None: ...

    async def stop(self) -> None: ...


def owner_conversation(number: str) -> str:
    return f"owner:{number}"


class App:
    """The daemon: one store, one bus, one brain, the channels and whatever parts are plugged in."""

    def __init__(self, config: Config, *, parts: list[Part] | None = None) -> None:
        self.config = config
        self.started = time.time()
        self.ready = asyncio.Event()
        self.state = config.state_path
        self.store = Store(self.state / "claw.db")
        self.bus = Bus()
        self.supervisor = Supervisor()
        self.model = Model(config.llm)
        self.tools = Tools(result_chars=config.llm.tool_result_chars)
        self.soul = Soul(config.soul_path)
        self.memory = Memory(self.store, self.model, config.memory, self.soul)
        self.overview_parts: list[Callable[[], str]] = []
        self.checks: list[Callable[[], Awaitable[list[Any]]]] = []  # heartbeat providers (claw.jobs.heartbeat)
        self.brain = Brain(
            model=self.model,
            tools=self.tools,
            memory=self.memory,
            store=self.store,
            config=config.llm,
            overview=self.overview,
        )
        self.router = Router(self.bus, self.brain, self.store)
        first = config.owners[0] if config.owners else None
        self.local = LocalChannel(
            self.bus,
            self.store,
            actor=first.name if first else "owner",
            conversation=owner_conversation(first.number if first else "local"),
        )
        self.bus.add_channel(self.local)
        self.media = MediaTokens(ttl=config.whatsapp.media_ttl)
        self.token = ""
        self.parts: list[Part] = list(parts or [])
        self.private_routes: list[Callable[[web.Application], None]] = []
        self.public_routes: list[Callable[[web.Application], None]] = []
        self.snapshots: dict[str, Callable[[], Awaitable[Any]]] = {}
        self.live = Live()  # the dashboard's live feed: parts publish("event", {...}) for camera events
        # Set by the parts that provide them; None when that part does not run.
        self.home: Home | None = None
        self.eyes: Eyes | None = None
        self.guard: Guard | None = None
        self._runners: list[web.AppRunner] = []
        self._stop = asyncio.Event()

    def overview(self) -> str:
        """The compact picture of the home that every prompt carries."""
        return "\n\n".join(text for text in (part() for part in self.overview_parts) if text)

    async def snapshot(self, kind: str) -> Any:
        source = self.snapshots.get(kind)
        return await source() if source else []

    async def notify(
        self, text: str, *, kind: OutKind = "notice", media: tuple[Media, ...] = (), title: str = ""
    ) -> None:
        """Tell every owner on every channel (alerts, job results, discoveries)."""
        await self.bus.send(Outbound(channel=None, recipient=None, text=text, kind=kind, media=media, title=title))

    def media_url(self, media: Media) -> str:
        return f"/media/{self.media.issue(media.path, media.content_type)}"

    async def start(self) -> None:
        """Open the store, start the parts and listeners; raise ClawError with a fix when it can't."""
        self.state.mkdir(parents=True, exist_ok=True)
        self.token = dashboard_token(self.state)
        await self.store.open()
        add_memory_tools(self.tools, self.store)
        for part in self.parts:
            await part.start(self)
        await self._listen("private", private.build(self), self.config.private.host, self.config.private.port)
        if self.public_routes:
            from claw.web import public

            await self._listen("public", public.build(self), self.config.public.host, self.config.public.port)
        self.supervisor.start("router", self.router.run)
        self.supervisor.start("model monitor", self._watch_model)
        interval = watchdog_interval()
        if interval:
            self.supervisor.start("watchdog", lambda: feed_watchdog(interval))
        self.ready.set()
        notify("READY=1")
        log.info("ready in %.2f s", time.time() - self.started)

    async def _listen(self, name: str, app: web.Application, host: str, port: int) -> None:
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=1024)  # a burst of webhooks must not be refused
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ClawError(
                f"cannot listen on {host}:{port} for the {name} listener ({exc.strerror}): "
                f"is another Claw running? Stop it or change [{name}] port"
            ) from None
        self._runners.append(runner)
        log.info("%s listener on http://%s:%d", name, host, port)

    async def _watch_model(self) -> None:
        """Ask the model server now and then, so its state is known and logged once per change."""
        while True:
            with contextlib.suppress(ModelUnavailable):
                names = await self.model.models()
                wanted = self.config.llm.model
                if wanted not in names and f"{wanted}:latest" not in names:
                    log.warning("model server has no %s (has: %s)", wanted, ", ".join(names) or "none")
            await asyncio.sleep(30 if self.model.online else 10)

    async def stop(self) -> None:
        """Stop everything within ~5 s: listeners (no new work), components, parts, then the store."""
        notify("STOPPING=1")
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        await self.supervisor.stop(timeout=2.0)
        for part in reversed(self.parts):
            try:
                await asyncio.wait_for(part.stop(), timeout=2.0)
            except Exception:
                log.exception("stopping %s failed", type(part).__name__)
        await self.memory.close()
        await self.store.close()
        log.info("stopped")

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Start, wait for SIGTERM/SIGINT, stop."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.start()
            await self._stop.wait()
        finally:
            await self.stop()
