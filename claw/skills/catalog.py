"""Skills in a running home: their drivers, matchers and routines registered, and reloaded when a file changes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from claw.core.config import Config
from claw.core.tasks import OwnedTasks
from claw.core.untrusted import clean_untrusted
from claw.home.builtin import BUILTIN_MATCHERS
from claw.home.device import Driver, Found
from claw.home.discovery import Matcher
from claw.home.house import Home
from claw.home.routines import RoutineBook
from claw.skills import identity
from claw.skills.declarative import DeclarativeDriver, MissingDriver
from claw.skills.loader import Entry, Loader, effective, skill_dirs
from claw.skills.pairing import TokenStore
from claw.skills.python_driver import DriverContext, make_python_driver

log = logging.getLogger(__name__)
BUILTIN_DRIVERS = frozenset({"sonos", "httpjson"})
# Older names of skill drivers, so devices stored (or fed in) under them keep working.
ALIASES = {"http-json": ("httpjson",)}


class Skills:
    """Owns the loader; applies what it loads to the Home (drivers, matchers, routines) without a restart."""

    def __init__(self, home: Home, config: Config, *, notify: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.home, self.config = home, config
        self.loader = Loader(
            skill_dirs(config), builtin=1, allow_python=config.skills.allow_python, reserved=BUILTIN_DRIVERS
        )
        self.tokens = TokenStore(config.state_path / "skills-data")
        self.entries: list[Entry] = []
        self.active: dict[str, Entry] = {}
        self.notify = notify
        self._good: dict[str, Entry] = {}  # str(path) -> last valid entry of that file
        self._drivers: dict[str, Driver] = {}
        self._tasks = OwnedTasks("skills")
        self._static: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------- loading
    def load(self) -> set[str]:
        """Load every skill now and apply the result; returns the names whose skill changed."""
        return self.apply(self.loader.load())

    async def reload_if_changed(self) -> set[str]:
        if not await asyncio.to_thread(self.loader.changed):
            return set()
        entries = await asyncio.to_thread(self.loader.load)
        before = {str(e.path): e for e in self.entries}
        changed = self.apply(entries)
        fresh = [e for e in entries if before.get(str(e.path)) is not e]
        for entry in fresh:
            self._report(entry, live=True)
        if changed:
            log.info("skills reloaded: %s", ", ".join(sorted(changed)))
        await self._after_change(changed)
        return changed

    def apply(self, entries: list[Entry]) -> set[str]:
        """Make `entries` the skills in force: swap drivers, rebuild matchers and routines, bump the version."""
        chosen = effective(entries)
        for entry in entries:
            if entry.skill is not None:
                self._good[str(entry.path)] = entry
                continue
            last = self._good.get(str(entry.path))
            # an edit broke a skill that worked: keep running its last good version, say so in the listing
            if last is not None and (chosen.get(last.name) is None or chosen[last.name].builtin):
                chosen[last.name] = last
        active = {name: e for name, e in chosen.items() if e.available}
        changed = {n for n in active.keys() | self.active.keys() if active.get(n) is not self.active.get(n)}
        self.entries, self.active = entries, active
        for name in changed:
            self._swap_driver(name, active.get(name))
        self.home.matchers[:] = [*self._matchers(), *BUILTIN_MATCHERS]
        self.home.routines.replace(self._routines().all())
        self.home.version += 1
        if changed:
            self._refit_devices(changed)
        return changed

    def _swap_driver(self, name: str, entry: Entry | None) -> None:
        old = self._drivers.pop(name, None)
        driver: Driver | None = None
        if entry is not None and entry.skill is not None and entry.skill.drives_devices:
            try:
                driver = self._make_driver(entry)
            except Exception as exc:  # a Python driver's factory is owner code: report, do not crash
                log.warning("skill %s: its driver could not be made: %s", name, exc)
                driver = MissingDriver(name, f"can't be used: the {name} skill's driver failed to start ({exc})")
        elif old is not None:
            gone = next((e for e in self.entries if e.name == name), None)
            why = gone.reason if gone is not None and gone.reason else "was removed or has errors"
            driver = MissingDriver(name, f"can't be used: the {name} skill {why}")
        if driver is not None:
            self._drivers[name] = driver
            for key in (name, *ALIASES.get(name, ())):
                self.home.drivers[key] = driver
        if old is not None:
            self._spawn(_close(old))

    def _make_driver(self, entry: Entry) -> Driver:
        assert entry.skill is not None
        timeout = self.config.home.device_timeout
        if entry.skill.driver == "python":
            assert entry.factory is not None
            context = DriverContext(timeout, self.tokens.folder / entry.name, self.tokens, self._notify)
            return make_python_driver(entry.skill, entry.factory, context)
        return DeclarativeDriver(entry.skill, timeout=timeout, tokens=self.tokens, notify=self._notify)

    async def _notify(self, text: str) -> None:
        if self.notify is not None:
            await self.notify(text)

    def _matchers(self) -> list[Matcher]:
        """The owner's skills' matchers first, then the built-in skills' (the first to accept wins)."""
        out: list[Matcher] = []
        for entry in sorted(self.active.values(), key=lambda e: e.builtin):
            skill = entry.skill
            assert skill is not None
            for m in skill.matchers:
                if m.static:
                    continue
                out.append(
                    Matcher(
                        skill.name,
                        functools.partial(identity.to_found, skill),
                        mdns_type=m.mdns,
                        name_glob=m.name,
                        ssdp_st=m.ssdp,
                        ssdp_headers=dict(m.headers),
                        source=str(skill.path),
                    )
                )
        return out

    def _routines(self) -> RoutineBook:
        book = RoutineBook()
        for entry in sorted(self.active.values(), key=lambda e: not e.builtin):  # the owner's win by name
            assert entry.skill is not None
            for routine in entry.skill.routines:
                book.add(routine)
        return book

    def sentences(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Every active skill's extra sentence templates, by language and intent (the grammar adds them)."""
        out: dict[str, dict[str, tuple[str, ...]]] = {}
        for entry in sorted(self.active.values(), key=lambda e: e.name):
            assert entry.skill is not None
            for language, intents in entry.skill.sentences.items():
                for intent, templates in intents.items():
                    have = out.setdefault(language, {}).get(intent, ())
                    out[language][intent] = (*have, *templates)
        return out

    def _refit_devices(self, changed: set[str]) -> None:
        """Known devices of a changed skill take the new skill's capabilities."""
        registry = getattr(self.home, "registry", None)
        if registry is None:
            return
        for device in registry.devices(include_ignored=True):
            driver = self.home.drivers.get(device.driver)
            # a removed skill's devices keep what they could do, so using them says why they can't now
            if device.driver in changed and driver is not None and not isinstance(driver, MissingDriver):
                found = Found(
                    device.id, device.name, device.kind, device.driver, device.address, device.room, device.info
                )
                device.capabilities = driver.capabilities(found)

    # ----------------------------------------------------------------- in the running daemon
    def report_loaded(self) -> None:
        """Log what the first load found (problems, unavailable skills); later loads report as they happen."""
        for entry in self.entries:
            self._report(entry, live=False)

    async def watch(self) -> None:
        """Poll the skill folders and reload what changed; offer static hosts now and then."""
        interval = self.config.skills.reload_interval
        static_every = max(self.config.home.ssdp_interval, 5.0)
        next_static = 0.0
        loop = asyncio.get_running_loop()
        try:
            while True:
                if loop.time() >= next_static and (self._static is None or self._static.done()):
                    # in its own task: a static Hue bridge waiting for its button must not hold up reloads
                    self._static = self._tasks.start(self._periodic(), name="skills: static hosts")
                    next_static = loop.time() + static_every
                if interval > 0:
                    try:
                        await self.reload_if_changed()
                    except Exception:  # a reload must never stop the watcher
                        log.exception("reloading skills failed")
                await asyncio.sleep(interval if interval > 0 else static_every)
        finally:
            await self.stop()

    async def stop(self) -> None:
        await self._tasks.stop()

    async def _after_change(self, changed: set[str]) -> None:
        if not changed:
            return
        discovery = self.home.discovery
        if discovery is not None:
            discovery.refresh()
            self._spawn(self._reoffer(changed))
            ssdp = any(m.ssdp for n in changed if (e := self.active.get(n)) and e.skill for m in e.skill.matchers)
            if ssdp and self.config.home.discovery:
                self._spawn(_quietly(discovery.search_ssdp()))  # a new search target: search now, not in 5 minutes
        self._spawn(self.offer_static(changed))

    async def _reoffer(self, changed: set[str]) -> None:
        """Announcements already seen get a second look from the matchers of skills that just changed."""
        for a in list(self.home.discovery.seen.values()):
            matcher = next((m for m in self.home.matchers if m.accepts(a)), None)
            if matcher is not None and matcher.driver in changed:
                found = matcher.to_found(a)
                if found is not None:
                    await self._offer(found)

    async def _periodic(self) -> None:
        """Static hosts, and devices still waiting to be paired (the owner may press the button later)."""
        jobs = [self.offer_static(set(self.active))]
        for a in list(self.home.discovery.seen.values()):
            matcher = next((m for m in self.home.matchers if m.accepts(a)), None)
            entry = self.active.get(matcher.driver) if matcher is not None else None
            if matcher is None or entry is None or entry.skill is None or entry.skill.auth.token_from != "pairing":
                continue
            found = matcher.to_found(a)
            if found is not None and self.tokens.get(entry.name, found.id) is None:
                jobs.append(self._offer(found))
        await asyncio.gather(*jobs)

    async def offer_static(self, names: set[str]) -> None:
        """Hosts in [[home.static]] for these skills go through identify like discovered ones."""
        jobs = []
        for entry in self.config.home.static:
            active = self.active.get(entry.skill)
            if entry.skill in names and active is not None and active.skill is not None:
                if any(m.static for m in active.skill.matchers):
                    jobs.append(self._offer(identity.static_found(active.skill, entry)))
                else:
                    log.warning(
                        "[[home.static]] %s names skill %s, which has no static matcher", entry.host, entry.skill
                    )
        await asyncio.gather(*jobs)

    async def _offer(self, found: Found) -> None:
        try:
            await self.home.on_found(found)
        except Exception as exc:  # one odd device must not stop the others
            log.warning("could not add %s at %s (%s): %s", found.name, found.address, found.driver, exc)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # loaded before the daemon runs: nothing was opened that needs closing
            coro.close()
            return
        self._tasks.start(coro)

    def _report(self, entry: Entry, *, live: bool) -> None:
        for problem in entry.problems:
            log.warning("skill %s: %s", entry.name, problem)
        if entry.reason:
            log.info("skill %s is unavailable: %s", entry.name, entry.reason)
        if live and entry.problems and not entry.builtin:
            text = "; ".join(str(p) for p in entry.problems[:3])
            if entry.skill is not None:  # only some sentence templates are wrong: the rest of it is in use
                kept = " (I use the rest of it)"
            else:
                kept = " (I keep using its last good version)" if self.active.get(entry.name) is not None else ""
            self._spawn(self._notify(f"The skill {entry.name} has a problem{kept}: {text}"))

    # ----------------------------------------------------------------- what others read
    async def snapshot(self) -> list[dict[str, Any]]:
        out = []
        for entry in self.entries:
            data = entry.describe()
            running = self.active.get(entry.name)
            data["active"] = running is not None and running.path == entry.path
            data["running_last_good"] = entry.skill is None and data["active"]
            driver = self._drivers.get(entry.name) if data["active"] else None
            pairer = driver.pairer if isinstance(driver, DeclarativeDriver) else None
            # the steps are the skill's; they matter only once one of its devices is seen and not yet paired
            data["waiting_for_pairing"] = sorted(pairer.waiting.values()) if pairer is not None else []
            out.append(data)
        return out

    async def guide(self, name: str) -> str:
        entry = self._find(name)
        if entry is None or entry.skill is None:
            known = ", ".join(sorted(self.active)) or "none"
            return f"No skill called '{name}'. Skills: {known}."
        skill = entry.skill
        parts = [f"# {skill.name}", skill.description]
        if skill.pairing is not None:
            parts.append("Pairing: " + " ".join(skill.pairing.steps))
        if entry.reason:
            parts.append(f"Unavailable here: {entry.reason}.")
        # an installed skill is trusted like code the owner installed; its text is still cleaned of
        # chat-template tokens and framed as a guide, not as the owner's words
        parts.append(clean_untrusted(skill.body) if skill.body else "(This skill has no guide.)")
        return "\n\n".join(parts) + "\n\n(End of the skill's guide.)"

    def _find(self, name: str) -> Entry | None:
        key = name.strip().lower().replace(" ", "-")
        return self.active.get(key) or next((e for e in self.entries if e.name == key and e.skill), None)

    def overview(self) -> str:
        """One line per relevant skill: routine skills, and device skills with devices in this home."""
        registry = getattr(self.home, "registry", None)
        used = {d.driver for d in registry.devices()} if registry is not None else set()
        lines = []
        for name, entry in sorted(self.active.items()):
            skill = entry.skill
            assert skill is not None
            if skill.body and (name in used or not skill.drives_devices):
                lines.append(f"{name} ({skill.description})")
        return "## Skills (skill_guide gives a skill's guide)\n" + "; ".join(lines) if lines else ""


async def _quietly(job: Awaitable[Any]) -> None:
    try:
        await job
    except Exception as exc:  # the periodic search will try again
        log.warning("SSDP search after a skill change failed: %s", exc)


async def _close(driver: Any) -> None:
    close = getattr(driver, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()
