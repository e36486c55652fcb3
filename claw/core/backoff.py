"""How long to wait before trying again after failures in a row: doubling, capped, optionally jittered."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """`base`, 2 `base`, 4 `base` ... up to `cap` seconds; with `jitter`, each between half and full."""

    base: float = 1.0
    cap: float = 30.0
    jitter: bool = False

    def delay(self, attempts: int) -> float:
        """The wait after `attempts` failures in a row (1 = the first failure)."""
        full = min(self.cap, self.base * 2.0 ** max(attempts - 1, 0))
        return full / 2 + random.uniform(0, full / 2) if self.jitter else full  # jitter spreads retries; not security


DEFAULT_BACKOFF = Backoff()
