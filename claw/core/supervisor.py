"""Owns every long-running component: restarts a crashed one with backoff, stops them all on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Component:
    name: str
    factory: Callable[[], Awaitable[None]]
    restarts: int = 0
    last_error: str = ""
    started: float = field(default_factory=time.time)
    task: asyncio.Task[None] | None = None


class Supervisor:
    """A crash is logged and the component restarted (1 s, 2 s, 4 s … 60 s); the daemon stays up."""

    def __init__(self, max_backoff: float = 60.0) -> None:
        self.components: dict[str, Component] = {}
        self.max_backoff = max_backoff
        self._stopping = False

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> Component:
        component = Component(name, factory)
        component.task = asyncio.create_task(self._keep(component), name=name)
        self.components[name] = component
        return component

    async def _keep(self, component: Component) -> None:
        backoff = 1.0
        while not self._stopping:
            component.started = time.time()
            try:
                await component.factory()
                if self._stopping:
                    return
                log.warning("%s stopped by itself; restarting", component.name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                component.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("%s crashed; restarting in %.0f s", component.name, backoff)
            component.restarts += 1
            if time.time() - component.started > 300:  # it ran well for a while: start the backoff over
                backoff = 1.0
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def stop(self, timeout: float = 4.0) -> None:
        """Cancel every component and wait for them (bounded, so SIGTERM ends within systemd's patience)."""
        self._stopping = True
        tasks = [c.task for c in self.components.values() if c.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                log.warning("%s did not stop within %.0f s", task.get_name(), timeout)
            for task in done:
                with contextlib.suppress(asyncio.CancelledError):
                    exc = task.exception()
                    if exc is not None:
                        log.warning("%s ended with %r", task.get_name(), exc)

    async def cancel(self, components: list[Component]) -> None:
        """Stop some components (a part stopping on its own) and forget them."""
        tasks = [c.task for c in components if c.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for component in components:
            if self.components.get(component.name) is component:
                del self.components[component.name]

    def health(self) -> dict[str, dict[str, object]]:
        return {
            c.name: {
                "running": bool(c.task and not c.task.done()),
                "restarts": c.restarts,
                "last_error": c.last_error,
            }
            for c in self.components.values()
        }
