"""The one place that builds the parts of the house, wires them together, and owns start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from claw.assistant import jobs_tools, skill_tools
from claw.assistant.clock_chat import ClockChat
from claw.assistant.embedder import embedder_for
from claw.assistant.eyes_chat import EyesChat
from claw.assistant.eyes_tools import add_eyes_tools
from claw.assistant.home_tools import add_home_tools
from claw.assistant.home_understanding import HomeUnderstanding, IntentHandler
from claw.assistant.jobs_chat import JobsChat
from claw.assistant.llm import Model
from claw.assistant.loop import Brain
from claw.assistant.memory import Memory
from claw.assistant.memory_chat import MemoryChat
from claw.assistant.memory_tools import add_memory_tools
from claw.assistant.overview import overview as home_overview
from claw.assistant.owner_tools import owner_tools
from claw.assistant.plan_words import grammar_plans
from claw.assistant.recollection import Recollection
from claw.assistant.router import Router
from claw.assistant.soul import Soul
from claw.assistant.speech import say_no_jobs, say_outcome, say_scheduled, use_units
from claw.assistant.toolbox import Tools
from claw.assistant.vision import VisionDescriber
from claw.assistant.why import ChangeRecorder, Timeline, TimelineAnswers
from claw.channels.local import LocalChannel
from claw.core import config as config_file
from claw.core import instance, principals
from claw.core.agent_tokens import AgentTokens
from claw.core.backoff import DEFAULT_BACKOFF, Backoff
from claw.core.backups import NightlyBackup
from claw.core.bus import Bus, Media, Outbound, OutKind
from claw.core.config import Config
from claw.core.errors import ClawError, ModelUnavailable
from claw.core.findings import Check
from claw.core.media import MediaTokens
from claw.core.owners import OwnerChanges, Owners
from claw.core.request import Request, owner_conversation
from claw.core.safety import Guard, KillSwitch
from claw.core.store import Store
from claw.core.store.db import make_state_dir
from claw.core.supervisor import Supervisor
from claw.core.systemd import feed_watchdog, notify, watchdog_interval
from claw.core.tasks import quiet_cancellations
from claw.core.units import temperature_unit
from claw.home.hass.link import HomeAssistantLink, link_for
from claw.home.house import Home
from claw.home.mqtt.driver import MqttDriver
from claw.jobs.agenda import Jobs
from claw.jobs.clock import Clock
from claw.jobs.job import check_config
from claw.skills.catalog import Skills
from claw.web import private, public
from claw.web.auth import dashboard_token
from claw.web.site import Site
from claw.web.stream import Live

log = logging.getLogger(__name__)

Part = Literal["home", "eyes", "whatsapp", "telegram", "jobs"]


def parse_config(data: dict[str, Any], source: str = "(inline)") -> Config:
    """Validate a config table, the domains' own grammars (job schedules and actions) included."""
    config = config_file.parse(data, source)
    check_config(config.scheduler, config.source)
    return config


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; ConfigError names the key and the fix."""
    config = config_file.load(path)
    check_config(config.scheduler, config.source)
    return config


@dataclass(frozen=True, slots=True)
class Tuning:
    """Knobs for tests and benchmarks: a hand-driven clock, faster camera retries, a busier sweeper."""

    clock: Clock | None = None
    camera_backoff: Backoff = DEFAULT_BACKOFF
    sweep_every: float = 600.0


def standard_parts(config: Config) -> set[Part]:
    """What `claw run` starts: the home and jobs always, the cameras and WhatsApp when configured."""
    parts: set[Part] = {"home", "jobs"}
    if config.cameras or config.frigate.enabled:
        parts.add("eyes")
    if config.whatsapp.enabled:
        parts.add("whatsapp")
    if config.telegram.enabled:
        parts.add("telegram")
    return parts


class Daemon:
    """The house, wired: one store, one bus, one guard, the assistant, and the parts the config asks for."""

    def __init__(self, config: Config, *, parts: Collection[Part] | None = None, tuning: Tuning = Tuning()) -> None:
        chosen = standard_parts(config) if parts is None else set(parts)
        self.config = config
        self.language = config.assistant.languages[0]  # what the house says unprompted (jobs, alerts) is in this
        use_units(config.location.units)  # temperatures are said in the home's unit (°C or °F)
        self.started = time.time()
        self.ready = asyncio.Event()
        self.state = config.state_path
        self.store = Store(self.state / "claw.db")
        self.bus = Bus()
        self.supervisor = Supervisor()
        self.guard = Guard(self.store, notify=lambda text: self.notify(text, kind="confirm"), speak=say_outcome)
        self.killswitch = KillSwitch(self.store)
        self.media = MediaTokens(ttl=config.whatsapp.media_ttl)
        self.live = Live()  # the dashboard's live feed
        self.token = ""
        self._stop = asyncio.Event()
        self._runners: list[web.AppRunner] = []

        # the assistant: the model, the tools, memory and the router
        self.model = Model(config.llm)
        self.tools = Tools(result_chars=config.llm.tool_result_chars, guard=self.guard)
        self.soul = Soul(config.soul_path)
        # memory found by words and meaning; the household's timeline answers "why did that happen?"
        self.recollection = Recollection(self.store, embedder_for(config.llm, config.memory.embed_model))
        self.memory = Memory(self.store, self.model, config.memory, self.soul, self.recollection)
        self.timeline = Timeline(self.store)
        self.changes = ChangeRecorder(self.store)
        self.overview_parts: list[Callable[[], str]] = []
        self.brain = Brain(
            model=self.model,
            tools=self.tools,
            memory=self.memory,
            store=self.store,
            config=config.llm,
            overview=self.overview,
        )
        self.router = Router(self.bus, self.brain, self.store, self.guard)
        first = config.owners[0] if config.owners else None
        self.local = LocalChannel(
            self.bus,
            self.store,
            actor=first.name if first else "owner",
            conversation=owner_conversation(first.key if first else "local"),
            principal=principals.dashboard(first.name if first else "owner"),  # the owner's dashboard session
        )
        self.bus.add_channel(self.local)
        # the one identity map of owners, for every channel; changed by chat only with an owner's code
        self.owners = Owners(config.owners, self.store)
        self.agents = AgentTokens(self.state, config.mcp.agents)  # agents' own tokens, never the dashboard's
        changes = OwnerChanges(self.owners, self.guard, self.store)
        for tool in owner_tools(changes.add, changes.remove, changes.unremovable):
            self.tools.add(tool)
        add_memory_tools(self.tools, self.store, self.recollection)
        # the actions each part answers without the model, by name: the grammar claims, these handlers act
        self.handlers: dict[str, IntentHandler] = dict(MemoryChat(self.store, self.recollection).handlers())
        self.handlers.update(ClockChat().handlers())
        timeline = TimelineAnswers(self.timeline)
        self.handlers.update(why=timeline.why, who=timeline.who, while_away=timeline.while_away)
        self.snapshots: dict[str, Any] = {}
        self.checks: list[Check] = []
        self.public_routes: list[Callable[[web.Application], None]] = []

        self.hass: HomeAssistantLink | None = None  # set by _home when Home Assistant is configured
        self.mqtt: MqttDriver | None = None  # the MQTT bridge, when [mqtt] is on (built with the home)
        self.home = self._home() if "home" in chosen else None
        self.eyes = self._eyes(tuning) if "eyes" in chosen else None
        if self.eyes is not None and self.eyes.frigate is not None and self.mqtt is not None:
            self.mqtt.follow(self.eyes.frigate.topic, self.eyes.frigate.on_message)  # Frigate's reviews -> the eyes
        if self.home is not None and self.eyes is not None:
            self.home.actions.on_mode = self.eyes.set_mode  # routines switch the cameras' alert mode
        self.whatsapp = self._whatsapp() if "whatsapp" in chosen else None
        self.telegram = self._telegram() if "telegram" in chosen else None
        self.jobs = self._jobs(tuning) if "jobs" in chosen else None
        self.understanding = self._understanding()

    # --- wiring each part --------------------------------------------------------------------------

    def _home(self) -> Home:
        home = Home(
            self.config,
            store=self.store,
            guard=self.guard,
            killswitch=self.killswitch,
            supervisor=self.supervisor,
            notify=lambda text: self.notify(text),
        )
        self.hass = link_for(self.config, home.registry, notify=lambda text: self.notify(text), guard=self.guard)
        if self.hass is not None:  # Home Assistant's exposed entities, pushed over its WebSocket API
            home.drivers[self.hass.name] = self.hass
            home.bridges["home assistant"] = self.hass.run
        if self.config.mqtt.enabled:  # Zigbee2MQTT, Tasmota, ESPHome: Home Assistant MQTT discovery on the broker
            mqtt = MqttDriver(
                self.config.mqtt,
                home.registry,
                lambda text: self.notify(text),
                guard=self.guard,  # announcements that would move or redirect a device wait for the owners' code
                timeout=self.config.home.device_timeout,
            )
            home.drivers[mqtt.name] = mqtt
            home.bridges["mqtt"] = mqtt.run
            self.mqtt = mqtt
        self.skills = Skills(home, self.config, notify=lambda text: self.notify(text))
        home.registry.listeners.append(self.changes.on_device)
        add_home_tools(self.tools, home)
        # the brain grounds the model's proposals in the owner's words and builds its decision schema from these
        self.brain.devices, self.brain.routines = home.registry.devices, home.routines.all
        self.brain.rooms = self.config.home.rooms
        self.tools.add(skill_tools.skill_guide(self.skills.guide))
        self.overview_parts.append(lambda: home_overview(home.registry.devices(), home.routines.all()))
        self.overview_parts.append(self.skills.overview)
        self.checks.append(home.checks())
        self.snapshots["devices"] = home.snapshot
        self.snapshots["routines"] = home.routines_snapshot
        self.snapshots["skills"] = self.skills.snapshot
        return home

    def _eyes(self, tuning: Tuning) -> Any:
        # OpenCV (the [eyes] extra) loads only in a house with cameras
        from claw.eyes.sight import Eyes  # noqa: PLC0415

        describer = VisionDescriber(
            self.model, self.config.llm.vision_model, timeout=self.config.alerts.describe_timeout
        )

        async def warm() -> None:
            with contextlib.suppress(ModelUnavailable):
                await self.model.warm(self.config.llm.vision_model)

        eyes = Eyes(
            self.config,
            store=self.store,
            guard=self.guard,
            killswitch=self.killswitch,
            supervisor=self.supervisor,
            describer=describer,
            alert=lambda text, media, title, key: self.notify(text, kind="alert", media=media, title=title, key=key),
            notice=lambda text, title: self.notify(text, kind="notice", title=title),
            publish=self.live.publish,
            media=self.media,
            warm=warm,
            backoff=tuning.camera_backoff,
            sweep_every=tuning.sweep_every,
        )
        self.handlers.update(EyesChat(eyes).handlers())
        add_eyes_tools(self.tools, eyes, self.bus)
        self.overview_parts.append(eyes.overview)
        self.checks.append(eyes.offline_findings)
        self.snapshots["events"] = eyes.events_snapshot
        self.snapshots["cameras"] = eyes.cameras_snapshot
        return eyes

    def _whatsapp(self) -> Any:
        # twilio (the [whatsapp] extra) loads only when WhatsApp is on
        from claw.channels.whatsapp.channel import WhatsApp  # noqa: PLC0415

        whatsapp = WhatsApp(
            self.config,
            store=self.store,
            bus=self.bus,
            media=self.media,
            supervisor=self.supervisor,
            owners=self.owners,
        )
        self.bus.add_channel(whatsapp)
        self.public_routes.append(whatsapp.routes)
        self.router.status_lines.append(whatsapp.status_line)
        self.snapshots["outbox"] = whatsapp.snapshot
        return whatsapp

    def _telegram(self) -> Any:
        # python-telegram-bot (the [telegram] extra) loads only when Telegram is on
        from claw.channels.telegram.channel import Telegram  # noqa: PLC0415

        telegram = Telegram(self.config, store=self.store, bus=self.bus, supervisor=self.supervisor, owners=self.owners)
        self.bus.add_channel(telegram)
        self.router.status_lines.append(telegram.status_line)
        self.snapshots.setdefault("outbox", telegram.snapshot)  # WhatsApp's panel lists every channel's rows
        return telegram

    def _jobs(self, tuning: Tuning) -> Jobs:
        home = self.home

        async def think(instruction: str, system: str, format: Any, request: Request) -> str:
            use_tools = format is not None  # a check may look things up; phrasing findings needs no tools
            answer = await self.brain.fresh(
                instruction, request=request, system=system, format=format, use_tools=use_tools
            )
            return answer.content

        async def run_routine(name: str, request: Request) -> str:
            if home is None:
                raise ClawError(f"there is no routine called '{name}' (the home is not running here)")
            return say_outcome(await home.actions.run_routine_named(name, request), self.language)

        async def run_plan(plan: Any, request: Request) -> str:
            if home is None:
                raise ClawError("the home is not running here")
            return say_outcome(await home.actions.run_plan(plan, request), self.language)

        jobs = Jobs(
            self.config,
            store=self.store,
            killswitch=self.killswitch,
            notify=lambda text, kind, title, key: self.notify(text, kind=kind, title=title, key=key),
            think=think,
            run_routine=run_routine,
            interpret=grammar_plans(lambda: self.understanding.grammar()),
            run_plan=run_plan,
            checks=self.checks,
            clock=tuning.clock,
        )
        jobs_tools.add_job_tools(self.tools, jobs)
        self.handlers.update(JobsChat(jobs, grammar=lambda: self.understanding.grammar()).handlers())
        self.router.commands["/jobs"] = lambda inbound: jobs_tools.jobs_command(jobs, inbound.text)
        self.router.status_lines.append(jobs.status_line)
        self.snapshots["jobs"] = jobs.snapshot
        return jobs

    def _understanding(self) -> HomeUnderstanding:
        """The one understanding path: the grammar over the home's and the cameras' names, every part's handlers."""
        home, eyes = self.home, self.eyes
        understanding = HomeUnderstanding(
            home.actions if home is not None else None,
            home.routines if home is not None else None,
            self.config.home.rooms,
            (lambda: home.version) if home is not None else (lambda: 0),
            languages=self.config.assistant.languages,
            model_online=self._model_online,
            later=self._later,
            later_routine=self._later_routine,
            sentences=self.skills.sentences if home is not None else dict,
            cameras=(lambda: tuple(eyes.cameras)) if eyes is not None else tuple,
            temperature_unit=temperature_unit(self.config.location.units),
        )
        for action, handler in self.handlers.items():
            understanding.register(action, handler)
        self.router.understanding = understanding
        self.router.session_listeners.append(understanding.forget)
        return understanding

    def _model_online(self) -> bool | None:
        """False only while a call has just found the model server down; then each message tries it again."""
        if self.model.known_offline:
            return False
        return None if self.model.online is False else self.model.online

    async def _later(self, plan: Any, when: str, text: str, request: Request) -> str:
        """A command with a delay or a time ("in 10 minutes", "at 11pm") becomes a one-shot job, said back."""
        if self.jobs is None:
            return say_no_jobs(request.receipt.language)
        job = await self.jobs.create(self._sooner(when), f"device: {text}", owner=request.actor, plan=plan)
        return say_scheduled(self.jobs.scheduled(job), request.receipt.language)

    def _sooner(self, when: str) -> str:
        """ "at: 07:00 or 19:00" (the owner said "at 7"): whichever comes next in the home's time zone."""
        if self.jobs is None or " or " not in when:
            return when
        now = self.jobs.clock.now().astimezone(self.jobs.place.tz)
        choices = [t.strip() for t in when.removeprefix("at:").split(" or ")]
        later = [t for t in choices if t > now.strftime("%H:%M")]
        return f"at: {(later or choices)[0]}"

    async def _later_routine(self, name: str, when: str, request: Request) -> str:
        if self.jobs is None:
            return say_no_jobs(request.receipt.language)
        job = await self.jobs.create(self._sooner(when), f"routine: {name}", owner=request.actor)
        return say_scheduled(self.jobs.scheduled(job), request.receipt.language)

    # --- what every part may call ------------------------------------------------------------------

    def overview(self) -> str:
        """The compact picture of the home that every prompt carries."""
        return "\n\n".join(text for text in (part() for part in self.overview_parts) if text)

    async def snapshot(self, kind: str) -> Any:
        source = self.snapshots.get(kind)
        return await source() if source else []

    async def notify(
        self, text: str, *, kind: OutKind = "notice", media: tuple[Media, ...] = (), title: str = "", key: str = ""
    ) -> None:
        """Tell every owner on every channel (alerts, job results, discoveries); a `key` (one event, one job
        occurrence) makes telling twice impossible: the outbox keeps one message per key and owner."""
        message = Outbound(channel=None, recipient=None, text=text, kind=kind, media=media, title=title)
        await self.bus.send(replace(message, id=key) if key else message)

    def site(self) -> Site:
        """What the private listener's handlers may use."""
        return Site(
            config=self.config,
            token=self.token,
            started=self.started,
            ready=self.ready,
            model=self.model,
            supervisor=self.supervisor,
            store=self.store,
            bus=self.bus,
            local=self.local,
            media=self.media,
            live=self.live,
            guard=self.guard,
            killswitch=self.killswitch,
            notify=lambda text: self.notify(text),
            home=self.home,
            snapshots=self.snapshots,
            tools=self.tools,
            agents=self.agents,
            memory=self.recollection,
            timeline=self.timeline,
        )

    # --- lifetime ----------------------------------------------------------------------------------

    def _parts(self) -> list[Any]:
        """The started parts in start-up order: jobs last (its catch-up may run routines through the home)."""
        return [p for p in (self.home, self.eyes, self.whatsapp, self.telegram, self.jobs) if p is not None]

    async def start(self) -> None:
        """Open the store, start the parts and listeners; raise ClawError with a fix when it can't."""
        make_state_dir(self.state)  # StateError: one line naming the folder and the fix
        self._check_ports()  # before any part starts: a busy port is one line, with nothing to stop
        self.token = dashboard_token(self.state)
        await self.store.open()  # a damaged database is moved aside and the newest good backup restored
        await self.owners.load()
        await asyncio.to_thread(self.agents.ensure)
        if self.home is not None:
            await asyncio.to_thread(self.skills.loader.load)  # parse off the loop; apply below reuses the cache
            self.skills.load()
        self.understanding.warm()  # the grammar builds while the rest starts, not when the first message waits
        for part in self._parts():
            await part.start()
        if self.recollection.embedder is not None:
            if self.store.vectors_missing:
                log.error("VECTOR SEARCH OFF although [memory] embed_model is set: %s", self.store.vectors_missing)
            self.supervisor.start("memory vectors", self._embed_missing)
        if self.home is not None:
            self.skills.report_loaded()
            self.supervisor.start("skills", self.skills.watch)
        await self._listen("private", private.build(self.site()), self.config.private.host, self.config.private.port)
        host = self.config.private.host
        reach = "127.0.0.1" if host.strip("[]") in ("", "0.0.0.0", "::", "*") else host
        reach = f"[{reach.strip('[]')}]" if ":" in reach else reach  # an IPv6 address, as a URL writes it
        instance.announce(self.state, f"http://{reach}:{self.config.private.port}")  # `claw chat` finds us here
        if self.public_routes:
            app = public.build(self.media, self.public_routes)
            await self._listen("public", app, self.config.public.host, self.config.public.port)
        self.supervisor.start("router", self.router.run)
        self.supervisor.start("model monitor", self._watch_model)
        if self.config.backup.enabled:
            backups = NightlyBackup(
                self.store, self.config.backup, self.config.location.timezone, notify=lambda text: self.notify(text)
            )
            self.supervisor.start("backup", backups.run)
        if (recovered := self.store.recovered) is not None:  # the owners hear it once, in words
            taken = time.strftime("%d %b %H:%M", time.localtime(recovered.taken))
            await self.notify(
                f"I found my database damaged at start-up and restored the backup from {taken}; "
                f"what changed after that is lost. The damaged copy is kept as {recovered.damaged}."
            )
        interval = watchdog_interval()
        if interval:
            self.supervisor.start("watchdog", lambda: feed_watchdog(interval))
        self.ready.set()
        notify("READY=1")
        log.info("ready in %.2f s", time.time() - self.started)

    def _check_ports(self) -> None:
        """ClawError (the same words as `_listen`) when a listener's port is already taken."""
        wanted = [("private", self.config.private.host, self.config.private.port)]
        if self.public_routes:
            wanted.append(("public", self.config.public.host, self.config.public.port))
        for name, host, port in wanted:
            try:
                infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            except OSError:
                continue  # a name that does not resolve: `_listen` says so
            for family, kind, proto, _, address in infos:
                with socket.socket(family, kind, proto) as probe:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
                    try:
                        probe.bind(address)
                    except OSError as exc:
                        raise ClawError(
                            f"cannot listen on {host}:{port} for the {name} listener ({exc.strerror}): "
                            f"is another Claw running? Stop it or change [{name}] port"
                        ) from None

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

    async def _embed_missing(self) -> None:
        """Embed facts written while the embedding model was away (or before it was configured), now and then."""
        while True:
            with contextlib.suppress(ModelUnavailable):
                while await self.recollection.backfill() > 0:
                    pass
            await asyncio.sleep(300.0)

    async def _watch_model(self) -> None:
        """Ask the model server now and then, so its state is known and logged once per change."""
        while True:
            # not while a turn streams: the server is evidently there, and llama-cpp-python's ends that answer
            with contextlib.suppress(ModelUnavailable):
                names = None if self.model.busy else await self.model.models()
                wanted = self.config.llm.model
                if names is not None and wanted not in names and f"{wanted}:latest" not in names:
                    log.warning("model server has no %s (has: %s)", wanted, ", ".join(names) or "none")
            # every 30 s while it answers; once a call finds it gone, every 10 s, so its return is noticed soon
            for second in range(30):
                await asyncio.sleep(1.0)
                if second >= 9 and self.model.online is not True:
                    break

    async def stop(self) -> None:
        """Stop everything within ~5 s: listeners (no new work), components, parts, then the store."""
        notify("STOPPING=1")
        instance.withdraw(self.state)
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        await self.supervisor.stop(timeout=2.0)
        await self.understanding.settle()  # a grammar still building at start-up: finished, not left pending
        if self.home is not None:
            await self.skills.stop()
        for part in reversed(self._parts()):
            try:
                await asyncio.wait_for(part.stop(), timeout=2.0)
            except Exception:
                log.exception("stopping %s failed", type(part).__name__)
        await self.memory.close()
        await self.changes.stop()
        await self.recollection.close()
        await self.model.close()
        await self.store.close()
        if self.ready.is_set():  # a start that failed says so in one line (cli), not with "stopped" beside it
            log.info("stopped")

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Start, wait for SIGTERM/SIGINT, stop."""
        loop = asyncio.get_running_loop()
        quiet_cancellations(loop)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.start()
            await self._stop.wait()
        finally:
            await self.stop()


def build(config: Config, *, parts: Collection[Part] | None = None, tuning: Tuning = Tuning()) -> Daemon:
    """The daemon for `config`: every part it asks for (or just `parts`), wired and ready to start."""
    return Daemon(config, parts=parts, tuning=tuning)
