"""The first hour: the demo's start and stop, `claw init` and `--help`, and the tools finding the running daemon."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from claw.core import instance
from claw.core.errors import ClawError
from tests.conftest import free_port

CLAW = [sys.executable, "-m", "claw.cli"]
SUBNET = 252  # the demo's simulated devices on 127.0.252.x: test homes take 60-200, the wheel's demo 201-250


def mosquittos(state_dir: Path) -> list[int]:
    """Process ids of Mosquitto brokers started for `state_dir` (their config lives in it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "mosquitto" in command and str(state_dir) in command:
            found.append(int(proc.name))
    return found


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


def start_demo(state_dir: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    command = [*CLAW, "demo", "--state-dir", str(state_dir), "--port", str(port), "--subnet", str(SUBNET), *extra]
    env = {**os.environ, "OLLAMA_HOST": "http://127.0.0.1:9", "CLAW_URL": "", "CLAW_TOKEN": ""}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def read_until(process: subprocess.Popen[str], words: str) -> list[str]:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        if words in line:
            return lines
    raise AssertionError(f"the demo ended before saying {words!r}: {lines}")


@pytest.mark.skipif(not Path("/usr/sbin/mosquitto").exists(), reason="the demo's MQTT devices need mosquitto")
def test_ctrl_c_while_the_demo_starts_stops_what_it_started(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "demo", two_free_ports())
    try:
        read_until(demo, "starting the simulated home")
        deadline = time.monotonic() + 30
        while not mosquittos(tmp_path / "demo") and time.monotonic() < deadline:  # its broker is up: mid-start
            time.sleep(0.05)
        assert mosquittos(tmp_path / "demo"), "the demo's broker never started"
        demo.send_signal(signal.SIGINT)
        out, _ = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 130 and "Traceback" not in out, out
    assert mosquittos(tmp_path / "demo") == []  # not left running, reparented to PID 1


def test_a_busy_demo_port_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = start_demo(tmp_path / "demo", port - 1 if port > 1 else port)
        out, _ = demo.communicate(timeout=120)
    lines = out.strip().splitlines()
    assert demo.returncode == 78, out
    assert len(lines) == 1 and f"port {port} on 127.0.0.1 is taken" in lines[0] and "--subnet" in lines[0], out
    assert not (tmp_path / "demo" / "sim").exists()  # nothing was started, so nothing needed stopping


def test_the_rendering_line_is_said_only_when_there_is_something_to_render(tmp_path: Path) -> None:
    from claw_sim import driveway

    folder = tmp_path / "camera"
    assert not driveway.is_rendered(folder)
    folder.mkdir()
    key = driveway.cache_key(driveway.DRIVEWAY, driveway.SIZE, driveway.FPS, driveway.GAP_SECONDS, 0)
    (folder / f"driveway-{key}.avi").write_bytes(b"")
    (folder / f"driveway-{key}.avi.json").write_text("{}")
    assert driveway.is_rendered(folder)  # the second run: no "first run only" line (claw_sim/home.py)


def test_init_says_where_it_writes_first_and_a_rerun_says_what_it_kept(tmp_path: Path) -> None:
    config, state = tmp_path / "etc" / "config.toml", tmp_path / "state"
    first = subprocess.run(
        [*CLAW, "init", "--state-dir", str(state), "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    lines = first.stdout.splitlines()
    assert str(config) in lines[0] and str(state) in lines[0]  # before anything is written
    again = subprocess.run(
        [*CLAW, "init", "--state-dir", str(state), "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert f"kept your {config}" in again.stdout and f"kept your {state / 'SOUL.md'}" in again.stdout
    assert "wrote" not in again.stdout


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("init", ["~/.local/share/claw", "config.toml"]),
        ("run", ["config.toml"]),
        ("chat", ["http://127.0.0.1:8765", ".claw-demo"]),
        ("demo", [".claw-demo", "8765", "qwen3:8b"]),
        ("backup", ["config.toml"]),
    ],
)
def test_help_shows_the_defaults(command: str, shown: list[str]) -> None:
    result = subprocess.run(
        [*CLAW, command, "--help"], capture_output=True, text=True, timeout=60, env={**os.environ, "CLAW_TOKEN": "s3"}
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert all(default in text for default in shown), (command, text)
    assert "s3" not in result.stdout.split()  # a token in the environment is never printed


def test_claw_mcp_goes_to_the_port_its_state_dir_names_not_the_default(tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from claw.mcp_stdio import find_daemon

    state = tmp_path / "demo"
    state.mkdir()
    (state / "agent-tokens.json").write_text('{"agent": "the-demos-agent-token"}', encoding="utf-8")
    with pytest.raises(ClawError, match="no Claw is running from"):  # its token never goes to :8765
        find_daemon("", "", state)
    instance.announce(state, "http://127.0.0.1:18765")  # this process stands for the demo on port 18765
    daemon = find_daemon("", "", state)
    assert daemon.url == "http://127.0.0.1:18765" and daemon.token == "the-demos-agent-token"
    (state / instance.FILE).write_text(json.dumps({"url": "http://127.0.0.1:18765", "pid": 999_999_999}))
    with pytest.raises(ClawError, match="no Claw is running from"):  # killed with -9: its file is stale
        find_daemon("", "", state)


def test_claw_run_on_a_busy_port_says_one_line_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "claw.toml"
        config.write_text(
            f'state_dir = "state"\n[llm]\nhost = "http://127.0.0.1:9"\n[private]\nport = {port}\n'
            "[home]\ndiscovery = false\n[backup]\nenabled = false\n",
            encoding="utf-8",
        )
        result = subprocess.run([*CLAW, "run", "--config", str(config)], capture_output=True, text=True, timeout=60)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port} for the private listener" in lines[0]
    assert not (tmp_path / "state" / "claw.db").exists()  # refused before the database was even opened
