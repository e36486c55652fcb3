"""Contract tests generated from every declarative skill in skills/: a fake device built from the skill's own
declarations answers its state reads; every action runs with valid values (one request, to that device, with
the value in it) and invalid ones (refused before any request)."""

from __future__ import annotations

import random
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from claw.core.errors import ToolError
from claw.home.device import Device, Found
from claw.skills.convert import encode
from claw.skills.declarative import DeclarativeDriver
from claw.skills.format import Profile, Skill
from claw.skills.loader import BUILTIN_SKILLS
from claw.skills.pairing import TokenStore
from claw.skills.parse import read_skill
from claw_sim.contract import (
    FIELDS_SAMPLE,
    TOKEN,
    FakeDevice,
    appears,
    invalid_params,
    invalid_values,
    sample_params,
    valid_values,
)
from tests.fakes.tls import self_signed

SKILLS = [read_skill(p) for p in sorted(BUILTIN_SKILLS.glob("*/SKILL.md"))]
CASES = [
    pytest.param((skill, index), id=f"{skill.name}:{profile.kind.text if profile.kind.is_literal else 'any'}")
    for skill in SKILLS
    if skill.device is not None and skill.driver == "declarative"
    for index, profile in enumerate(skill.profiles())
]


def test_every_shipped_device_skill_has_a_contract() -> None:
    names = {case.values[0][0].name for case in CASES}  # type: ignore[index]
    # home-assistant is a guide only: its entities come over the WebSocket link (tests/test_hass.py)
    assert names == {"http-json", "shelly", "wled", "elgato", "hue"}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A self-signed certificate, as a Hue bridge has (the skill does not verify it)."""
    return self_signed(tmp_path_factory.mktemp("tls"), "contract")


@dataclass
class Rig:
    skill: Skill
    profile: Profile
    driver: DeclarativeDriver
    fake: FakeDevice
    device: Device


@pytest.fixture
async def rig(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    skill, index = request.param
    profile = skill.profiles()[index]
    for name in (skill.auth.token_env, skill.auth.username_env, skill.auth.password_env):
        if name:
            monkeypatch.setenv(name, TOKEN)
    tokens = TokenStore(tmp_path / "skills-data")
    info: dict[str, Any] = {"skill": skill.name}
    key = "contract-device"
    if skill.device is not None and skill.device.expand is not None:
        info.update({"variant": index, "bridge": "contract-bridge"})
        info.update({name: f"contract.{name}" for name in skill.device.expand.keep})
        key = "contract-bridge"
    if profile.fields_at is not None:
        info["fields"] = dict(FIELDS_SAMPLE)
    if skill.auth.token_from == "pairing":
        await tokens.put(skill.name, key, TOKEN)
    driver = DeclarativeDriver(skill, timeout=2.0, tokens=tokens)
    kind = profile.kind.render({}) or "switch"
    found = Found("contract-device", "Contract Thing", kind, skill.name, "127.0.0.1:1", "", info)
    device = Device(
        "contract-device",
        "Contract Thing",
        kind,
        skill.name,
        "127.0.0.1:1",
        info=info,
        capabilities=driver.capabilities(found),
    )
    context = request.getfixturevalue("tls") if skill.http.scheme == "https" else None
    fake = FakeDevice(skill, profile, device, ip=f"127.0.0.{random.randint(100, 149)}", ssl_context=context)
    await fake.start()
    try:
        yield Rig(skill, profile, driver, fake, device)
    finally:
        await driver.close()
        await fake.stop()


def settable(rig: Rig) -> list[Any]:
    return [
        c
        for c in rig.device.capabilities
        if c.writable
        and c.type not in ("sensor", "action")
        and (c.key in rig.profile.actions or rig.profile.write is not None)
    ]


@pytest.mark.parametrize("rig", CASES, indirect=True)
async def test_state_reads_back_what_the_device_says(rig: Rig) -> None:
    keys = {k for block in rig.profile.state for k in block.values} or {c.key for c in rig.device.capabilities}
    caps = {c.key: c for c in rig.device.capabilities if c.key in keys}
    sample = {k: (valid_values(c) or [21.5])[0] for k, c in caps.items()}
    rig.fake.state = sample
    state = await rig.driver.read(rig.device)
    assert {k: state.get(k) for k in sample} == sample
    assert rig.fake.requests and all(rig.fake.auth_ok(r, TOKEN) for r in rig.fake.requests)


@pytest.mark.parametrize("rig", CASES, indirect=True)
async def test_every_capability_action_with_valid_values(rig: Rig) -> None:
    caps = settable(rig)
    assert caps or not rig.profile.actions
    for cap in caps:
        action = rig.profile.actions.get(cap.key) or rig.profile.write
        assert action is not None
        for value in valid_values(cap):
            rig.fake.requests.clear()
            state = await rig.driver.write(rig.device, {cap.key: value})
            sent = rig.fake.actions_seen()
            assert len(sent) == 1, (cap.key, value, sent)
            assert sent[0].method == action.request.method
            assert rig.fake.auth_ok(sent[0], TOKEN)
            encoded = encode(action, cap.validate(value), cap)
            assert appears(encoded, sent[0]) or appears({cap.key: encoded}, sent[0]), (cap.key, encoded, sent[0])
            assert isinstance(state, dict)


@pytest.mark.parametrize("rig", CASES, indirect=True)
async def test_invalid_values_are_refused_before_any_request(rig: Rig) -> None:
    for cap in settable(rig):
        for value in invalid_values(cap):
            rig.fake.requests.clear()
            with pytest.raises(ToolError):
                await rig.driver.write(rig.device, {cap.key: value})
            assert rig.fake.requests == [], (cap.key, value)
    rig.fake.requests.clear()
    with pytest.raises(ToolError):
        await rig.driver.write(rig.device, {"no_such_setting": 1})
    read_only = [c for c in rig.device.capabilities if c.type == "sensor"]
    for cap in read_only:
        with pytest.raises(ToolError):
            await rig.driver.write(rig.device, {cap.key: 1})
    assert rig.fake.requests == []


@pytest.mark.parametrize("rig", CASES, indirect=True)
async def test_every_named_action_with_valid_and_invalid_params(rig: Rig) -> None:
    named = {
        k: a
        for k, a in rig.profile.actions.items()
        if rig.device.capability(k) is None or rig.device.capability(k).type == "action"
    }  # type: ignore[union-attr]
    # a sensitive action is released by the owner's code: Control then passes cleared=True
    for name, action in named.items():
        for params in invalid_params(action):
            rig.fake.requests.clear()
            with pytest.raises(ToolError):
                await rig.driver.act(rig.device, name, params, cleared=True)
            assert rig.fake.requests == [], (name, params)
        rig.fake.requests.clear()
        await rig.driver.act(rig.device, name, sample_params(action), cleared=True)
        sent = rig.fake.actions_seen()
        assert len(sent) == 1 and sent[0].method == action.request.method
        assert rig.fake.auth_ok(sent[0], TOKEN)
        for value in sample_params(action).values():
            assert appears(value, sent[0]), (name, value, sent[0])
    with pytest.raises(ToolError):
        await rig.driver.act(rig.device, "no_such_action", {})
