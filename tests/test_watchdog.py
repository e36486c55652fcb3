"""The systemd watchdog is fed from the event loop: block the loop and the pings stop, so systemd would restart us.

The daemon runs in this process with `NOTIFY_SOCKET` pointing at a datagram socket the test owns
(what systemd hands a `Type=notify` unit) and a small `WATCHDOG_USEC`. A thread of the test reads
the socket and stamps each message as it arrives, so it keeps listening while the loop is blocked.
The loop is blocked by a plain `time.sleep` scheduled on it, as a blocking call in a handler would.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from claw.core.config import Config
from claw.daemon import build

WATCHDOG_USEC = 200_000  # WatchdogSec=0.2 s: the daemon pings every 0.1 s
BLOCK_S = 2.0  # ten times what systemd would allow


class Systemd:
    """The manager's end of NOTIFY_SOCKET: every datagram with the monotonic time it arrived."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.heard: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._listen, name="fake systemd", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while self._running:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            with self._lock:
                self.heard.append((time.monotonic(), data.decode()))

    def pings(self, after: float = 0.0, before: float = float("inf")) -> list[float]:
        with self._lock:
            return [t for t, said in self.heard if said == "WATCHDOG=1" and after < t < before]

    def said(self) -> list[str]:
        with self._lock:
            return [said for _, said in self.heard]

    def close(self) -> None:
        self._running = False
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Systemd]:
    manager = Systemd(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    try:
        yield manager
    finally:
        manager.close()


async def until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_pings_stop_while_the_loop_is_blocked_and_resume_after(
    systemd: Systemd, make_config: Callable[..., Config]
) -> None:
    app = build(make_config(), parts=())
    await app.start()
    try:
        await until(lambda: "READY=1" in systemd.said(), "READY=1")  # the listening thread stamps it a moment later
        await until(lambda: len(systemd.pings()) >= 5, "the first pings")
        assert app.supervisor.health()["watchdog"]["running"]

        blocked: list[float] = []

        def block() -> None:  # what any blocking call on the loop does: nothing else runs meanwhile
            blocked.append(time.monotonic())
            time.sleep(BLOCK_S)
            blocked.append(time.monotonic())

        asyncio.get_running_loop().call_soon(block)
        await asyncio.sleep(0)  # the loop runs `block` here and comes back only when it is over
        start, end = blocked
        await until(lambda: len(systemd.pings(after=end)) >= 5, "the pings to resume")
    finally:
        await app.stop()

    before = systemd.pings(before=start)
    during = systemd.pings(after=start + 0.5, before=end)  # a datagram already in flight may land just after start
    assert len(before) >= 5
    assert during == []  # systemd hears nothing while the loop is stuck ...
    pings = systemd.pings()
    silence = max(later - earlier for earlier, later in itertools.pairwise(pings))
    assert silence > 5 * WATCHDOG_USEC / 1e6  # ... far longer than WatchdogSec: systemd would restart us
    deadline = time.monotonic() + 5
    while "STOPPING=1" not in systemd.said() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "STOPPING=1" in systemd.said()


async def test_no_watchdog_task_without_watchdog_usec(
    make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    app = build(make_config(), parts=())
    await app.start()
    try:
        assert "watchdog" not in app.supervisor.health()
    finally:
        await app.stop()
