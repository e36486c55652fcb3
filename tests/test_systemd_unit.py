"""The service unit: valid for systemd, and hardened (`systemd-analyze security` exposure at most 2.0)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "claw.service"
ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed here")


def analyze(*args: str) -> str:
    assert ANALYZE is not None
    done = subprocess.run([ANALYZE, *args, str(UNIT)], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def test_the_unit_verifies() -> None:
    problems = [
        line
        for line in analyze("verify").splitlines()
        if line.strip() and "is not executable" not in line  # /opt/claw is where an install puts the venv
    ]
    assert problems == []


def test_the_unit_is_hardened() -> None:
    said = analyze("security", "--offline=true")
    match = re.search(r"Overall exposure level for claw\.service: ([\d.]+)", said)
    assert match is not None, said[-500:]
    assert float(match.group(1)) <= 2.0, said
