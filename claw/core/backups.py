"""The nightly backup: a copy of the database at `[backup] at`, and one at start-up when the last is a day old."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import zoneinfo
from collections.abc import Awaitable, Callable

from claw.core.config import BackupConfig
from claw.core.errors import ClawError
from claw.core.store import Store
from claw.core.store import backup as copies

log = logging.getLogger(__name__)
DAY = 86400.0


def next_run(now: float, at: str, timezone: str) -> float:
    """The next moment after `now` (epoch seconds) when the clock in `timezone` reads `at` ("03:30")."""
    zone = zoneinfo.ZoneInfo(timezone)
    hour, minute = (int(part) for part in at.split(":"))
    local = dt.datetime.fromtimestamp(now, zone)
    moment = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if moment.timestamp() <= now:
        moment = (local + dt.timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return moment.timestamp()


class NightlyBackup:
    """Copies the database every night; a failed copy is logged and told to the owners once, never fatal."""

    def __init__(
        self,
        store: Store,
        config: BackupConfig,
        timezone: str,
        *,
        notify: Callable[[str], Awaitable[None]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.config, self.timezone = store, config, timezone
        self.notify, self.clock = notify, clock
        self.failing = False

    def last_taken(self) -> float | None:
        """When the newest backup was taken; None when there is none."""
        found = copies.backups(copies.folder_for(self.store.path))
        return copies.taken_at(found[-1]) if found else None

    async def take(self) -> None:
        """One copy now; the owners hear once when copies start failing, and once when they work again."""
        try:
            path = await self.store.backup(self.config.keep)
        except (OSError, ClawError, Exception) as exc:  # the driver's own errors too: a backup never stops Claw
            log.error("backup of %s failed: %s", self.store.path, exc)
            if not self.failing:
                self.failing = True
                await self.notify(f"Tonight's backup of my database failed ({exc}); I try again tomorrow night.")
            return
        log.info("backup: %s (%d kB)", path, path.stat().st_size // 1024)
        if self.failing:
            self.failing = False
            await self.notify(f"My database backups work again: the latest is {path.name}.")

    async def run(self) -> None:
        """Forever: a copy at start-up when none is from the last day, then one each night at `at`."""
        last = await asyncio.to_thread(self.last_taken)
        if last is None or self.clock() - last > DAY:
            await self.take()
        while True:
            due = next_run(self.clock(), self.config.at, self.timezone)
            # at most an hour at a time: a clock changed by hand (or by daylight saving) is noticed soon
            await asyncio.sleep(min(max(due - self.clock(), 0.0), 3600.0))
            if self.clock() >= due:
                await self.take()
