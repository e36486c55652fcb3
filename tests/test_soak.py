"""A short soak: `claw run` under mixed traffic for 20 s leaks no file descriptors and no memory to speak of.

It runs bench/soak.py (the same driver as the longer benchmark): signed WhatsApp webhooks, /api/chat,
the dashboard's reads, live streams opened and dropped, and jobs, against a real `claw run` process
on loopback, sampling /proc/<pid>/status and /proc/<pid>/fd every second. The bounds are generous:
they catch a leak per request (hundreds of requests), not the allocator's noise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 20
FD_GROWTH = 5  # a socket or file left open per request would be hundreds
RSS_GROWTH_MB = 30.0  # after the warm-up; a few kB kept per request would show as far more over a long soak


@pytest.mark.timeout(180)
def test_twenty_seconds_of_traffic_leak_nothing() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--seconds", str(SECONDS), "--warmup", "5"],
        capture_output=True,
        text=True,
        timeout=170,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = {f["figure"]: f for f in map(json.loads, done.stdout.splitlines())}
    value = {name: f["value"] for name, f in figures.items()}

    assert value["soak_duration"] >= SECONDS - 1
    assert value["soak_requests"] >= 200, figures["soak_requests"]  # it really was busy
    assert value["soak_errors"] == 0, figures["soak_errors"]
    assert value["soak_tracebacks"] == 0 and figures["soak_tracebacks"]["errors"] == 0, figures["soak_tracebacks"]
    assert figures["soak_tracebacks"]["exit_code"] == 0  # and it stopped cleanly on SIGTERM
    answered = figures["soak_whatsapp_answered"]
    assert answered["webhooks"] > 0 and answered["value"] >= answered["webhooks"]  # every message had its reply
    assert value["soak_fd_growth"] <= FD_GROWTH, figures
    assert value["soak_rss_growth"] <= RSS_GROWTH_MB, figures
