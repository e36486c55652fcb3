"""kill -9 cycles with messages and jobs in flight: lost and duplicated counts (issue 13's figure).

Prints one JSON object: cycles, messages acknowledged, lost, duplicated, job occurrences lost and
duplicated, reminders duplicated, and the time taken. `python bench/crash_cycles.py [cycles]`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.crash_cycles import CrashCycles


async def main(cycles: int) -> None:
    with tempfile.TemporaryDirectory(prefix="claw-crash-") as folder:
        tally = await CrashCycles(Path(folder)).run(cycles=cycles)
    print(json.dumps({"figure": "kill -9 cycles", **tally.figures()}))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
