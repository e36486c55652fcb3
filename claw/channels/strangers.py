"""Messages from people who are not owners: refused and audited, but a flood is counted, not written."""

from __future__ import annotations

import logging

from claw.core.ratelimit import RateLimit
from claw.core.store import Store
from claw.core.store.audit import AuditEntry, write

log = logging.getLogger(__name__)

PER_SENDER = 5  # audit rows a minute for one unknown sender
IN_ALL = 60  # and for all of them together


class Strangers:
    """Audits a refused message unless this sender (or strangers in all) already filled the minute's share."""

    def __init__(self, store: Store, channel: str) -> None:
        self.store, self.channel = store, channel
        self._each, self._all = RateLimit(PER_SENDER), RateLimit(IN_ALL)
        self._unaudited = 0

    async def refused(self, sender: str, entry: AuditEntry) -> bool:
        """Write `entry` (and one log line); False when the flood is only counted."""
        if not (self._each.allow(sender) and self._all.allow("all")):
            self._unaudited += 1
            if self._unaudited % 100 == 1:
                log.warning(
                    "%s: %d refused messages from strangers not audited (too many)", self.channel, self._unaudited
                )
            return False
        log.warning("%s: message from %s refused: not an owner", self.channel, sender or "an unknown sender")
        await self.store.run(write, entry)
        return True
