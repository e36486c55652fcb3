"""A private Mosquitto broker on a loopback port, for the demo, the tests and the benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path

MOSQUITTO = Path("/usr/sbin/mosquitto")  # Debian's `mosquitto` package


def mosquitto_missing() -> str:
    """Why no broker can be started here, or "" when one can."""
    if not MOSQUITTO.exists():
        return f"{MOSQUITTO} is not installed (apt-get install mosquitto; ./dev test and ./dev demo do it as root)"
    return ""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """`mosquitto -c <generated config>`: anonymous, no persistence, listening on host:port only."""

    def __init__(self, folder: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.folder, self.host = folder, host
        self.port = port or free_port(host)
        self._process: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Start it and wait (up to 10 s) until it accepts connections; OSError if it can't."""
        if problem := mosquitto_missing():
            raise OSError(problem)
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "mosquitto.conf"
        lines = [f"listener {self.port} {self.host}", "allow_anonymous true", "persistence false", "log_dest stderr"]
        lines.append("set_tcp_nodelay true")  # forward each message at once, as a tuned broker does
        if os.geteuid() == 0:
            lines.append("user root")  # as root it would switch to the `mosquitto` user, who can't read this folder
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        log = (self.folder / "mosquitto.log").open("ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                str(MOSQUITTO), "-c", str(conf), stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL
            )
        finally:
            log.close()
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            if self._process.returncode is not None:
                tail = (self.folder / "mosquitto.log").read_text(errors="replace")[-400:]
                raise OSError(f"mosquitto exited ({self._process.returncode}): {tail}")
            try:
                _, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    await self.stop()
                    raise OSError(f"mosquitto did not listen on {self.host}:{self.port} within 10 s") from None
                await asyncio.sleep(0.02)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def restart(self) -> None:
        """Stop and start again on the same port (retained messages are lost: persistence is off)."""
        await self.stop()
        await self.start()
