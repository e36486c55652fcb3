"""Fifty kill -9 cycles with messages and jobs in flight: nothing acknowledged is lost, nothing is doubled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.crash_cycles import CrashCycles


@pytest.mark.timeout(900)  # fifty real process starts: about two minutes on two cores
async def test_fifty_kill_9_cycles_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    tally = await CrashCycles(tmp_path).run(cycles=50)
    print(json.dumps(tally.figures()))  # the counts, for the log (bench/crash_cycles.py prints the same)
    assert tally.acknowledged >= 100 and tally.in_flight_at_kill >= 50  # the kills really came mid-flight
    assert (tally.lost, tally.duplicated) == (0, 0), tally.missing
    assert tally.answered_once == tally.acknowledged
    assert tally.job_occurrences >= 20
    assert (tally.job_lost, tally.job_duplicated, tally.reminders_duplicated) == (0, 0, 0)
