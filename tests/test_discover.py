"""`claw discover`: only the configured subnets, one line per device and address, names safe to print."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import pytest

from claw.core.config import parse
from claw.discover import discover, in_subnets, listed, shown, table
from claw.home.device import Found
from claw_sim.home import SimHome


def found(name: str, address: str, id_: str = "claw-1", kind: str = "light") -> Found:
    return Found(id=id_, name=name, kind=kind, driver="http-json", address=address, via="mdns")


def test_subnets_decide_which_devices_are_listed() -> None:
    assert in_subnets("127.0.7.20:80", ["127.0.7.0/24"])
    assert not in_subnets("127.0.8.20:80", ["127.0.7.0/24"])
    assert in_subnets("192.168.20.5:80", ["10.0.0.0/8", "192.168.20.0/24"])
    assert in_subnets("127.0.8.20:80", [])  # no subnets set: every network, as the daemon does
    assert not in_subnets("not-an-ip:80", ["127.0.7.0/24"])


def test_the_same_id_on_two_hosts_is_two_devices_and_the_identified_answer_wins() -> None:
    devices = listed(
        [
            found("Desk Lamp", "127.0.7.20:80"),
            found("Desk Lamp", "127.0.8.20:80"),  # another home's lamp with the same (default) id
            found("lamp-1f2e", "127.0.7.21:80", "claw-2"),
            found("Hall Lamp", "127.0.7.21:80", "claw-2"),  # the same device, after it told its own name
        ]
    )
    assert [(d.name, d.address) for d in devices] == [
        ("Desk Lamp", "127.0.7.20:80"),
        ("Desk Lamp", "127.0.8.20:80"),
        ("Hall Lamp", "127.0.7.21:80"),
    ]


def test_names_with_newlines_or_control_characters_keep_the_table_one_line_per_device() -> None:
    evil = "Lamp\nFAKE  lock  127.0.0.9:80 -> add and control\x1b[31m\r\x07\u202e"
    devices = [found(evil, "127.0.7.20:80"), found("Kitchen", "127.0.7.21:80", "claw-2")]
    lines = table(devices, parse({}))
    assert len(lines) == 2
    assert all(line.isprintable() for line in lines)
    assert "\x1b" not in lines[0] and "\u202e" not in lines[0]
    assert lines[0].index("127.0.7.20:80") == lines[1].index("127.0.7.21:80")  # the columns line up
    assert shown("a\tb\nc", 8) == "a b c   "
    assert shown("x" * 40, 10) == "x" * 9 + "…"
    assert table([], parse({}))[0].startswith("Nothing Claw knows how to control answered")


async def test_claw_discover_lists_only_this_homes_devices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ours, theirs = random.sample(range(60, 200), 2)  # other tests and demos on this machine use other blocks
    home = SimHome(tmp_path / "ours", cameras=False, speakers=False, port=0, subnet=ours)
    other = SimHome(tmp_path / "theirs", cameras=False, speakers=False, port=0, subnet=theirs)
    config = tmp_path / "claw.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[home]\ninterfaces = ["127.0.0.1"]\nsubnets = ["127.0.{ours}.0/24"]\n',
        encoding="utf-8",
    )
    await home.start()
    await other.start()
    try:
        await discover(argparse.Namespace(config=config, interface=None, seconds=4.0))
    finally:
        await other.stop()
        await home.stop()
    out = capsys.readouterr().out
    for device in home.devices.values():
        line = next((line for line in out.splitlines() if f"{device.ip}:{device.port}" in line), "")
        assert device.name in line, f"{device.name} at {device.ip}:{device.port} missing from:\n{out}"
    lock = home.device("Front Door")
    assert "wait for the owner's yes" in next(line for line in out.splitlines() if lock.ip in line)
    assert f"127.0.{theirs}." not in out
