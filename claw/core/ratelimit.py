"""How often one key (a person, a number) may do something: a sliding window, in memory."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable


class RateLimit:
    """At most `limit` events per `window` seconds for each key; `allow` counts the event when it is allowed."""

    def __init__(self, limit: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[str, collections.deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        events = self._events.setdefault(key, collections.deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        if len(self._events) > 10_000:  # a flood of new keys must not grow this without bound
            self._forget(now)
        return True

    def _forget(self, now: float) -> None:
        for key in [k for k, e in self._events.items() if not e or e[-1] <= now - self.window]:
            del self._events[key]
