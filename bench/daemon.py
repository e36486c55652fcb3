"""Daemon start to ready and idle resident memory (issue 2), for `claw run` with every standard part.

.venv/bin/python bench/daemon.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _figures import figure, median

from tests.conftest import free_port


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def once(tmp: Path) -> tuple[float, float]:
    port = free_port()
    config = tmp / "claw.toml"
    config.write_text(
        f'state_dir = "state"\n[llm]\nhost = "http://127.0.0.1:9"\n[private]\nport = {port}\n'
        f'[public]\nport = {free_port()}\n[home]\ninterfaces = ["127.0.0.1"]\nsubnets = ["127.0.250.0/24"]\n',
        encoding="utf-8",
    )
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "claw.cli", "run", "--config", str(config)], stderr=subprocess.DEVNULL
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as r:
                    if json.load(r).get("ready"):
                        break
            except OSError:
                time.sleep(0.02)
            if time.perf_counter() - started > 30:
                raise RuntimeError("the daemon did not become ready in 30 s")
        ready = time.perf_counter() - started
        time.sleep(5)  # idle: discovery browsing, the model monitor, the scheduler
        return ready, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    readies, rss = [], []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            ready, mb = once(Path(tmp))
            readies.append(ready)
            rss.append(mb)
    figure("daemon_start_to_ready", median(readies), "s", includes="python start-up and imports")
    figure("daemon_idle_rss", median(rss), "MB")


if __name__ == "__main__":
    main()
