"""State that survives, in numbers: backup size and time at 100k messages, restore, recovery from a damaged
database, the start-up integrity check; and the demo's start and stop times.

Run: .venv/bin/python bench/state.py [--messages 100000] [--no-demo]
Prints one JSON object per figure: {"figure", "value", "unit", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from bench._figures import ROOT, figure
from claw.core.store import Store
from claw.core.store import backup as copies
from claw.core.store import messages as log_db
from tests.conftest import free_port

SENTENCE = "turn on the porch light please and tell me whether the garage door is closed before we go to bed"


async def fill(path: Path, messages: int) -> None:
    """`messages` stored turns of ordinary length, in conversations of a few owners (FTS index included)."""
    store = Store(path)
    await store.open()
    batch = 1000
    for start in range(0, messages, batch):
        rows = [
            log_db.Message("user" if i % 2 == 0 else "assistant", f"{SENTENCE[i % 40 :]} {i}")
            for i in range(start, min(start + batch, messages))
        ]
        await store.run(log_db.append, f"owner:+155500000{start // batch % 4}", rows)
    await store.close()


def scribble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for page in range(1, len(data) // 4096, 97):  # every 97th page: the b-trees themselves
        data[page * 4096 + 64 : page * 4096 + 512] = os.urandom(448)
    path.write_bytes(bytes(data))


async def state_figures(messages: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db_path = folder / "claw.db"
        await fill(db_path, messages)
        size_mb = db_path.stat().st_size / 1e6
        started = time.perf_counter()
        found = copies.problem(db_path)
        figure("integrity_check_at_start", time.perf_counter() - started, "s", messages=messages, ok=not found)
        store = Store(db_path)
        await store.open()
        started = time.perf_counter()
        taken = await store.backup(keep=7)  # online: the store stays open, as in the nightly run
        took = time.perf_counter() - started
        await store.close()
        figure("backup_duration", took, "s", messages=messages, database_mb=round(size_mb, 1))
        figure("backup_size", taken.stat().st_size / 1e6, "MB", messages=messages)
        started = time.perf_counter()
        copies.restore(db_path, taken)
        figure("restore_duration", time.perf_counter() - started, "s", messages=messages)
        scribble(db_path)
        started = time.perf_counter()
        damaged = Store(db_path)
        await damaged.open()  # check, move aside, restore the newest good backup, open
        figure("recovery_from_damaged_database", time.perf_counter() - started, "s", messages=messages)
        assert damaged.recovered is not None and await damaged.run(lambda d: d["messages"].count) == messages
        await damaged.close()


def two_free_ports() -> int:
    """A port whose next one is free too (the demo's public listener takes port+1)."""
    while True:
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def demo_figures(runs: int) -> None:
    """Start to "Ready" and Ctrl-C to exit, for a first run (the camera renders) and later runs."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "demo"
        for run in range(runs):
            port = two_free_ports()
            env = {**os.environ, "OLLAMA_HOST": "http://127.0.0.1:9"}
            command = [sys.executable, "-m", "claw.cli", "demo", "--state-dir", str(state), "--port", str(port)]
            started = time.monotonic()
            demo = subprocess.Popen(
                [*command, "--subnet", "253"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
            )
            assert demo.stdout is not None
            ready, said = None, ""
            for line in demo.stdout:
                said = line.strip() or said
                if line.startswith("Ready in"):
                    ready = time.monotonic() - started
                if "Stop with Ctrl-C" in line:
                    break
            asked = time.monotonic()
            demo.send_signal(signal.SIGINT)
            demo.communicate(timeout=60)
            stop = time.monotonic() - asked
            kind = "first run" if run == 0 else "later run"
            if ready is None:
                figure("demo_start", float("nan"), "s", run=kind, failed=said)
                continue
            figure("demo_start", ready, "s", run=kind, to="Ready line")
            figure("demo_stop", stop, "s", run=kind, to="process exit after Ctrl-C", exit_code=demo.returncode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--demo-runs", type=int, default=3)
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    os.chdir(ROOT)
    asyncio.run(state_figures(args.messages))
    if not args.no_demo:
        demo_figures(args.demo_runs)


if __name__ == "__main__":
    main()
