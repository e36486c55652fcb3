"""`claw demo` as a subprocess, reached only through the contract: the CLI and the private HTTP API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def free_port(host: str = "127.0.0.1") -> int:
    """A port with this one and the next (the demo's public listener) both free."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        with socket.socket() as s2:
            try:
                s2.bind((host, port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair on 127.0.0.1")


def claw_command(claw_root: Path | None) -> list[str]:
    """The `claw` entry point of this interpreter's environment (works for an editable install too)."""
    exe = Path(sys.executable).with_name("claw")
    if exe.exists():
        return [sys.executable, str(exe)]
    return [sys.executable, "-c", "import sys; from claw.cli import main; sys.exit(main())"]


class Daemon:
    """Starts `claw demo --state-dir D --port P --subnet N --llm-host URL` (or `--llm-base-url URL`, an
    OpenAI-compatible server, when llm_base_url is given), stops it (and its group) for sure."""

    def __init__(
        self,
        state_dir: Path,
        *,
        llm_host: str,
        subnet: int,
        llm_base_url: str = "",
        port: int | None = None,
        claw_root: Path | None = None,
        log_path: Path | None = None,
        cameras: bool = False,
    ) -> None:
        self.state_dir = state_dir
        self.cameras = cameras  # the driveway camera: only for cases that need it (CPU)
        self.llm_host = llm_host
        self.llm_base_url = llm_base_url
        self.subnet = subnet
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.claw_root = claw_root
        self.log_path = log_path or state_dir.parent / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""
        self._log: Any = None

    def start(self, timeout: float = 90.0) -> None:
        cmd = [*claw_command(self.claw_root), "demo", "--state-dir", str(self.state_dir), "--port", str(self.port)]
        cmd += ["--subnet", str(self.subnet)]
        cmd += ["--llm-base-url", self.llm_base_url] if self.llm_base_url else ["--llm-host", self.llm_host]
        if not self.cameras and self._supports("--no-cameras"):  # cameras add model calls and CPU
            cmd.append("--no-cameras")
        env = dict(os.environ)
        env.pop("CLAW_TOKEN", None)
        if self.claw_root is not None:
            env["PYTHONPATH"] = str(self.claw_root) + os.pathsep + env.get("PYTHONPATH", "")
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            cwd=str(self.claw_root or Path.cwd()),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() takes everything it started
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"claw demo exited with {self.proc.returncode}; see {self.log_path}")
            try:
                health = self.get("/api/health", timeout=2)
                if isinstance(health, dict) and health.get("ready", True):
                    break
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.25)
        else:
            raise RuntimeError(f"claw demo did not answer /api/health within {timeout:.0f} s; see {self.log_path}")
        token_file = self.state_dir / "dashboard-token"  # where `claw demo` keeps it (README: secrets)
        if token_file.exists():
            self.token = token_file.read_text(encoding="utf-8").strip()

    def _supports(self, flag: str) -> bool:
        env = dict(os.environ)
        if self.claw_root is not None:
            env["PYTHONPATH"] = str(self.claw_root) + os.pathsep + env.get("PYTHONPATH", "")
        with contextlib.suppress(Exception):
            out = subprocess.run(
                [*claw_command(self.claw_root), "demo", "--help"],
                capture_output=True,
                timeout=30,
                env=env,
                cwd=str(self.claw_root or Path.cwd()),
                check=False,
            )
            return flag in out.stdout.decode(errors="replace")
        return False

    def wait_devices(self, expected: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The devices once `expected` are known and stable (same count twice), bounded."""
        deadline = time.monotonic() + timeout
        last: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            last = self.get("/api/devices")
            if len(last) >= expected and all(d.get("available", True) and d.get("state") for d in last):
                return last
            time.sleep(0.5)
        return last

    def wait_named(self, names: set[str], timeout: float = 60.0) -> list[dict[str, Any]]:
        """The devices once every one of `names` is known, answering and has a state (bounded)."""
        deadline = time.monotonic() + timeout
        last: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            last = self.get("/api/devices")
            ready = {d["name"] for d in last if d.get("available", True) and d.get("state")}
            if names <= ready:
                return last
            time.sleep(0.5)
        return last

    # --- HTTP (the private API; loopback only) -------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str, timeout: float = 30.0) -> Any:
        status, body = self.request("GET", path, timeout=timeout)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}: {body}")
        return body

    def chat(self, text: str, timeout: float = 60.0) -> tuple[int, str]:
        status, body = self.request("POST", "/api/chat", {"text": text}, timeout=timeout)
        if isinstance(body, dict):
            return status, str(body.get("reply", body.get("error", "")))
        return status, str(body)

    # --- stop ------------------------------------------------------------------------------------

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None
