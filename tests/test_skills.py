"""The skill format and loader: precise errors, overrides, requirements, Python gating, reloads, and safety."""

from __future__ import annotations

import argparse
import os
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from claw.core.errors import DeviceError, ToolError
from claw.home.device import Device, Found
from claw.skills.convert import decode, encode
from claw.skills.declarative import DeclarativeDriver
from claw.skills.format import Action, Reading, Request
from claw.skills.http import Prepared, device_url, prepare
from claw.skills.identity import identified
from claw.skills.loader import BUILTIN_SKILLS, Loader, effective
from claw.skills.parse import SkillInvalid, read_skill
from claw.skills.paths import MISSING, parse_path
from claw.skills.python_driver import NOT_ALLOWED
from claw.skills.templates import compile_template, literal
from claw.skills_cli import TEMPLATE, skills_command

GOOD = """---
name: {name}
description: A test plug.
claw:
  matchers:
    - {{mdns: _testplug._tcp}}
  device:
    id: "{{txt.id}}"
    kind: switch
    capabilities: [{{use: power}}]
    state:
      request: {{path: /state}}
      values: {{on: $.on}}
    actions:
      on: {{method: POST, path: /state, body: {{on: "{{value}}"}}}}
---
Guide for {name}.
"""


def skill_file(root: Path, name: str, text: str) -> Path:
    path = root / name / "SKILL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(SkillInvalid) as caught:
        read_skill(path)
    return [(p.line, p.field, p.message) for p in caught.value.problems]


# --------------------------------------------------------------------------- precise errors


def test_errors_carry_file_line_and_field(tmp_path: Path) -> None:
    path = skill_file(
        tmp_path,
        "bad",
        """---
name: bad
description: Broken in several places.
claw:
  matchers:
    - {mdns: _bad._tcp}
  device:
    id: "{txt.id}"
    kind: lihgt
    capabilities:
      - {use: power}
      - {key: level, type: number, min: 10, max: 5, writable: false}
    state:
      request: {path: /state}
      values: {on: $.on, nope: $.x}
    actions:
      on: {methdo: POST, path: "/x/{vaule}"}
  routines:
    - name: oops
      actions: [{kind: toaster, power: on}]
---
""",
    )
    found = problems_of(path)
    assert (9, "claw.device.kind") in [(line, field) for line, field, _ in found]
    by_field = {field: (line, message) for line, field, message in found}
    assert by_field["claw.device.capabilities[1].max"][0] == 12
    assert by_field["claw.device.state.values.nope"][0] == 15
    assert by_field["claw.device.actions.on.methdo"] == (17, "unknown key 'methdo'; did you mean 'method'?")
    assert "vaule" in by_field["claw.device.actions.on.path"][1] and by_field["claw.device.actions.on.path"][0] == 17
    assert by_field["claw.routines[0].actions[0].kind"] == (20, "unknown kind 'toaster'")
    with pytest.raises(SkillInvalid) as caught:
        read_skill(path)
    assert all(str(p).startswith(f"{path}:") for p in caught.value.problems)


def test_yaml_mistakes_and_missing_frontmatter_name_their_line(tmp_path: Path) -> None:
    yaml_error = skill_file(tmp_path, "a", "---\nname: a\ndescription: x\nclaw:\n  routines: [\n---\n")
    ((line, field, message),) = problems_of(yaml_error)
    assert line in (6, 7) and "YAML" in message and field == ""
    no_front = skill_file(tmp_path, "b", "# just markdown\n")
    assert problems_of(no_front)[0][0] == 1
    unclosed = skill_file(tmp_path, "c", "---\nname: c\ndescription: x\n")
    assert "closing" in problems_of(unclosed)[0][2]


def test_name_description_and_folder(tmp_path: Path) -> None:
    path = skill_file(tmp_path, "right-name", "---\nname: Wrong_Name\n---\n")
    found = {field: message for _, field, message in problems_of(path)}
    assert "lower case" in found["name"] and found["description"] == "is required"
    other = skill_file(tmp_path, "folder", GOOD.format(name="plug"))
    assert problems_of(other)[0][1:] == ("name", "'plug' must match its folder's name 'folder'")


def test_yaml_12_booleans_keep_on_and_off_as_text(tmp_path: Path) -> None:
    skill = read_skill(skill_file(tmp_path, "plug", GOOD.format(name="plug")))
    assert skill.device is not None and skill.device.profile is not None
    assert set(skill.device.profile.actions) == {"on"}


def test_the_template_written_by_skills_new_is_valid(tmp_path: Path) -> None:
    skill = read_skill(skill_file(tmp_path, "my-thing", TEMPLATE.format(name="my-thing")))
    assert skill.name == "my-thing" and skill.device is not None


def test_the_example_in_the_docs_is_valid(tmp_path: Path) -> None:
    docs = (Path(__file__).parent.parent / "docs" / "skills.md").read_text(encoding="utf-8")
    example = docs.split("```markdown\n", 1)[1].split("```", 1)[0]
    skill = read_skill(skill_file(tmp_path, "acme-plug", example))
    assert skill.device is not None and [r.name for r in skill.routines] == ["dehumidify"]


def test_every_shipped_skill_is_valid() -> None:
    entries = Loader([BUILTIN_SKILLS], builtin=1).load()
    assert {e.name for e in entries} >= {
        "http-json",
        "shelly",
        "wled",
        "elgato",
        "hue",
        "home-assistant",
        "sleepy-time",
        "good-morning",
        "away",
    }
    assert [p for e in entries for p in e.problems] == []


# --------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    ("request_yaml", "field"),
    [
        ('{path: "http://evil.example/steal"}', "claw.device.state.request.path"),
        ('{path: "//evil.example/steal"}', "claw.device.state.request.path"),
        ('{path: "{txt.url}"}', "claw.device.state.request.path"),
        ('{path: "evil.example/steal"}', "claw.device.state.request.path"),
        ('{path: "/x@evil.example"}', "claw.device.state.request.path"),
        ('{path: "/\\\\\\\\evil\\\\x"}', "claw.device.state.request.path"),
        ('{url: "http://evil.example/", path: /state}', "claw.device.state.request.url"),
        ("{path: /state, headers: {Host: evil.example}}", "claw.device.state.request.headers.Host"),
    ],
)
def test_a_template_aiming_at_another_host_is_rejected_at_load_time(
    tmp_path: Path, request_yaml: str, field: str
) -> None:
    text = GOOD.format(name="sneaky").replace("request: {path: /state}", f"request: {request_yaml}")
    found = {f: (line, message) for line, f, message in problems_of(skill_file(tmp_path, "sneaky", text))}
    assert field in found, found
    assert found[field][0] == 12


def test_values_placed_in_a_path_cannot_leave_the_device() -> None:
    req = Request("GET", compile_template("/api/{value}"))
    prepared = prepare(req, {"value": "../@evil.example:80/x?steal=1#frag"})
    assert prepared.path == "/api/..%2F%40evil.example:80%2Fx%3Fsteal%3D1%23frag" and prepared.query == ()
    url = device_url("http", "127.0.0.9:8080", prepared)
    assert (url.host, url.port) == ("127.0.0.9", 8080)
    with pytest.raises(DeviceError):
        device_url("http", "127.0.0.9:8080", Prepared("GET", "@evil.example/x"))


@pytest.fixture
async def thief() -> AsyncIterator[list[str]]:
    """Another host on the LAN that a redirect would send the device's requests to."""
    hits: list[str] = []

    async def steal(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"on": True})

    app = web.Application()
    app.router.add_get("/{tail:.*}", steal)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hits.append(f"127.0.0.1:{runner.addresses[0][1]}")
    yield hits
    await runner.cleanup()


async def test_a_device_redirecting_elsewhere_is_not_followed(tmp_path: Path, thief: list[str]) -> None:
    elsewhere = thief.pop()

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://{elsewhere}/steal")

    app = web.Application()
    app.router.add_get("/state", redirect)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    ip = f"127.0.0.{random.randint(100, 149)}"
    await web.TCPSite(runner, ip, 0).start()
    driver = DeclarativeDriver(read_skill(skill_file(tmp_path, "plug", GOOD.format(name="plug"))), timeout=2.0)
    device = Device(
        "p1",
        "Plug",
        "switch",
        "plug",
        f"{ip}:{runner.addresses[0][1]}",
        capabilities=driver.capabilities(Found("p1", "Plug", "switch", "plug", "x:1")),
    )
    try:
        with pytest.raises(DeviceError, match="refused"):
            await driver.read(device)
        assert thief == []
    finally:
        await driver.close()
        await runner.cleanup()


def test_a_skill_cannot_take_the_safety_floor_away(tmp_path: Path) -> None:
    text = (
        GOOD.format(name="lockish")
        .replace("kind: switch", "kind: lock")
        .replace("[{use: power}]", "[{key: locked, type: switch}]")
        .replace("values: {on: $.on}", "values: {locked: $.l}")
    )
    text = text.replace("on: {method: POST, path: /state, body: {on:", "locked: {method: POST, path: /state, body: {l:")
    skill = read_skill(skill_file(tmp_path, "lockish", text))
    driver = DeclarativeDriver(skill, timeout=1.0)
    (locked,) = driver.capabilities(Found("l", "Door", "lock", "lockish", "127.0.0.1:1", info={}))
    assert locked.key == "locked" and locked.sensitive == (False,)


async def test_sensitive_named_actions_need_the_owners_code(tmp_path: Path) -> None:
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"on": False})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    text = GOOD.format(name="door").replace(
        'on: {method: POST, path: /state, body: {on: "{value}"}}',
        'on: {method: POST, path: /state, body: {on: "{value}"}}\n'
        "      unlock_door: {method: POST, path: /unlock}\n"
        "      chime: {method: POST, path: /chime, sensitive: true}\n"
        "      blink: {method: POST, path: /blink}",
    )
    driver = DeclarativeDriver(read_skill(skill_file(tmp_path, "door", text)), timeout=2.0)
    found = Found("d1", "Door", "switch", "door", f"127.0.0.1:{runner.addresses[0][1]}")
    caps = {c.key: c for c in driver.capabilities(found)}
    assert caps["unlock_door"].sensitive == ("unlock_door",) and caps["chime"].sensitive == ("chime",)
    assert caps["blink"].sensitive == ()
    device = Device("d1", "Door", "switch", "door", found.address, capabilities=tuple(caps.values()))
    try:
        for action in ("unlock_door", "chime"):
            with pytest.raises(ToolError, match="confirmation"):
                await driver.act(device, action, {})
        await driver.act(device, "blink", {})
        assert hits == ["/blink", "/state"]
        await driver.act(device, "unlock_door", {}, cleared=True)  # Control passes this only after the owner's code
        assert "/unlock" in hits
    finally:
        await driver.close()
        await runner.cleanup()


# --------------------------------------------------------------------------- the loader


def test_one_broken_skill_does_not_stop_the_others(tmp_path: Path) -> None:
    skill_file(tmp_path, "good", GOOD.format(name="good"))
    skill_file(tmp_path, "broken", GOOD.format(name="broken").replace("kind: switch", "kind: [1]"))
    entries = {e.name: e for e in Loader([tmp_path], builtin=0).load()}
    assert entries["good"].available and entries["good"].problems == ()
    assert not entries["broken"].available and entries["broken"].problems[0].field == "claw.device.kind"


def test_the_owners_skill_overrides_a_built_in_of_the_same_name(tmp_path: Path) -> None:
    builtin, owned = tmp_path / "builtin", tmp_path / "owned"
    ours = skill_file(builtin, "plug", GOOD.format(name="plug"))
    theirs = skill_file(owned, "plug", GOOD.format(name="plug").replace("A test plug.", "The owner's plug."))
    entries = Loader([builtin, owned], builtin=1).load()
    chosen = effective(entries)["plug"]
    assert chosen.path == theirs and not chosen.builtin and chosen.overrides == str(ours)
    assert chosen.skill is not None and chosen.skill.description == "The owner's plug."


def test_missing_requirements_make_a_skill_unavailable_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLUG_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    text = GOOD.format(name="plug").replace(
        "description: A test plug.", "description: A test plug.\nrequires: {env: [PLUG_TOKEN]}"
    )
    skill_file(tmp_path, "plug", text)
    skill_file(
        tmp_path,
        "tool",
        GOOD.format(name="tool").replace(
            "description: A test plug.", "description: x\nrequires: {bins: [no-such-program-claw]}"
        ),
    )
    skill_file(
        tmp_path,
        "lib",
        GOOD.format(name="lib").replace(
            "description: A test plug.",
            "description: x\nmetadata: {openclaw: {requires: {python: [no_such_module_claw]}}}",
        ),
    )
    entries = {e.name: e for e in Loader([tmp_path], builtin=0).load()}
    assert entries["plug"].reason == "needs PLUG_TOKEN (an environment variable, or the systemd credential plug_token)"
    assert entries["tool"].reason == "needs the program 'no-such-program-claw' on PATH"
    assert entries["lib"].reason == "needs the Python package 'no_such_module_claw'"
    assert not any(e.available for e in entries.values())
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "plug_token").write_text("secret")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert {e.name: e for e in Loader([tmp_path], builtin=0).load()}["plug"].available


def test_python_drivers_are_gated_by_name(tmp_path: Path) -> None:
    text = """---
name: coded
description: Needs code.
claw:
  driver: python
  module: driver.py
  matchers: [{static: true}]
  device: {id: "c-{host}", kind: switch}
---
"""
    path = skill_file(tmp_path, "coded", text)
    (path.parent / "driver.py").write_text("def create_driver(skill, context):\n    return object()\n")
    off = Loader([tmp_path], builtin=0).load()[0]
    assert off.reason == NOT_ALLOWED and off.factory is None and not off.available
    on = Loader([tmp_path], builtin=0, allow_python=["coded"]).load()[0]
    assert on.available and callable(on.factory)
    (path.parent / "driver.py").write_text("x = 1\ndef create_driver(skill, context)\n    return 1\n")
    broken = Loader([tmp_path], builtin=0, allow_python=["coded"]).load()[0]
    assert not broken.available and broken.problems[0].file.endswith("driver.py") and broken.problems[0].line == 2


def test_reload_rereads_only_the_changed_skill(tmp_path: Path) -> None:
    for name in ("one", "two", "three"):
        skill_file(tmp_path, name, GOOD.format(name=name))
    loader = Loader([tmp_path], builtin=0)
    first = {e.name: e for e in loader.load()}
    assert not loader.changed()
    path = tmp_path / "two" / "SKILL.md"
    path.write_text(GOOD.format(name="two").replace("A test plug.", "Edited."))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert loader.changed()
    second = {e.name: e for e in loader.load()}
    assert second["one"] is first["one"] and second["three"] is first["three"]
    assert second["two"] is not first["two"] and second["two"].skill.description == "Edited."  # type: ignore[union-attr]
    (tmp_path / "three" / "SKILL.md").unlink()
    assert loader.changed() and {e.name for e in loader.load()} == {"one", "two"}


# --------------------------------------------------------------------------- templates, paths, values


def test_templates() -> None:
    scope: dict[str, Any] = {
        "txt": {"id": "A1", "name": ""},
        "info": {"name": "Lamp", "n": 3, "on": True},
        "item": {"owner": {"rid": "r1"}},
        "rooms": {"r1": "Den"},
        "list": [10, 20],
    }
    assert compile_template("{txt.name|info.name}").render(scope) == "Lamp"
    assert compile_template("{txt.kind|'switch'}").render(scope) == "switch"
    assert compile_template("id-{txt.id}-{info.n}").render(scope) == "id-A1-3"
    assert compile_template("{info.on}").value(scope) is True and compile_template("{info.n}").value(scope) == 3
    assert compile_template("{rooms[item.owner.rid]}").render(scope) == "Den"
    assert compile_template("{list[1]}").value(scope) == 20 and compile_template("{missing.x}").value(scope) is None
    jinja = "{% set ns = namespace(m={}) %}{{ ns.m | tojson }} {**{s.entity_id: 1}}"
    assert compile_template(jinja).is_literal and literal("x").render({}) == "x"


def test_json_paths() -> None:
    doc = {"lights": [{"on": 1}], "switch:0": {"output": True}, "data": [{"c": [{"rid": "a"}, {"rid": "b"}]}]}
    assert parse_path("$.lights[0].on").get(doc) == 1
    assert parse_path("$['switch:0'].output").get(doc) is True
    assert parse_path("$.data[*].c[*].rid").get(doc) == ["a", "b"]
    assert parse_path("$.nope[3]").get(doc) is MISSING and parse_path("$").get(doc) is doc
    assert parse_path("$.a[1].b").put(None, 5) == {"a": [None, {"b": 5}]}


def test_value_maps_and_scales_round_trip() -> None:
    from claw.home.capabilities import BRIGHTNESS, POWER

    bri = Reading(parse_path("$.bri"), scale=(0, 255))
    assert decode(bri, 255, BRIGHTNESS) == 100 and decode(bri, 128, BRIGHTNESS) == 50
    action = Action("brightness", Request("POST", literal("/")), scale=(0, 255))
    assert encode(action, 50, BRIGHTNESS) == 128 and encode(action, 100, BRIGHTNESS) == 255
    on = Reading(parse_path("$.on"), map={1: True, 0: False})
    assert decode(on, 1, POWER) is True and decode(on, 0, POWER) is False
    assert encode(Action("on", Request("PUT", literal("/")), values={True: "ON", False: "OFF"}), False, POWER) == "OFF"
    assert decode(Reading(parse_path("$.t"), as_type="number"), "12.5", None) == 12.5


# --------------------------------------------------------------------------- the command line


def test_cli_validate_new_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def run(**kw: Any) -> int:
        return skills_command(argparse.Namespace(**kw))

    assert run(skills_command="new", name="acme-plug", dir=tmp_path) == 0
    assert (tmp_path / "acme-plug" / "SKILL.md").is_file()
    assert run(skills_command="new", name="acme-plug", dir=tmp_path) == 1  # never overwrites
    assert run(skills_command="new", name="Bad Name", dir=tmp_path) == 1
    assert run(skills_command="validate", path=tmp_path / "acme-plug") == 0
    assert "ok  " in capsys.readouterr().out
    broken = skill_file(tmp_path, "broken", GOOD.format(name="broken").replace("kind: switch", "kind: toaster"))
    assert run(skills_command="validate", path=tmp_path) == 1
    out = capsys.readouterr().out
    assert f"{broken}:9: claw.device.kind: unknown kind 'toaster'" in out and "1 of 2 skills are valid" in out
    assert run(skills_command="validate", path=tmp_path / "nowhere") == 1
    config = tmp_path / "claw.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[skills]\ndirs = ["{tmp_path}"]\n')
    assert run(skills_command="list", config=config) == 0
    out = capsys.readouterr().out
    assert "http-json" in out and "acme-plug" in out and "error" in out and "unknown kind 'toaster'" in out


SSDP_SKILL = """---
name: ssdp-lamp
description: Lamps found by SSDP.
claw:
  matchers:
    - {ssdp: "urn:acme:device:lamp:1", headers: {server: "*AcmeLamp/*"}}
  device:
    id: "{header.usn}"
    name: "{info.name|'Acme lamp'}"
    kind: light
    capabilities: [{use: power}]
    write: {method: POST, path: /state, body: "{changes}"}
---
"""


def test_ssdp_matchers_bind_by_search_target_and_header_globs(make_config: Any) -> None:
    from claw.daemon import build
    from claw.home.discovery import Announcement

    config = make_config()
    skill_file(config.state_path / "skills", "ssdp-lamp", SSDP_SKILL)
    house = build(config, parts={"home"})
    home = house.home
    assert home is not None
    house.skills.load()
    headers = {"st": "urn:acme:device:lamp:1", "server": "Linux UPnP/1.0 AcmeLamp/2.1", "usn": "uuid:lamp-77"}
    lamp = Announcement("ssdp", "127.0.0.5", 49152, headers=headers)
    matcher = next(m for m in home.matchers if m.accepts(lamp))
    assert matcher.driver == "ssdp-lamp" and matcher.source.endswith("ssdp-lamp/SKILL.md")
    found = matcher.to_found(lamp)
    assert found is not None and (found.id, found.kind, found.address) == ("uuid:lamp-77", "light", "127.0.0.5:49152")
    other = Announcement("ssdp", "127.0.0.6", 80, headers={**headers, "server": "Linux UPnP/1.0 Other/1.0"})
    assert [m.driver for m in home.matchers if m.accepts(other)] == []
    assert "ssdp-lamp" in home.drivers


def test_a_device_whose_own_answer_names_another_id_is_not_trusted() -> None:
    skill = read_skill(BUILTIN_SKILLS / "shelly" / "SKILL.md")
    announced = Found(
        "shellyplus1-aabbcc",
        "Front Door",
        "switch",
        "shelly",
        "127.0.0.9:80",
        info={"announce": {"txt": {"id": "shellyplus1-aabbcc"}}},
    )
    assert identified(skill, announced, {"id": "shellyplus1-aabbcc"}).id == "shellyplus1-aabbcc"
    assert identified(skill, announced, {"id": "ShellyPlus1-AABBCC"}).id == "shellyplus1-aabbcc"  # case, as Hue
    with pytest.raises(DeviceError, match="not trusted"):
        identified(skill, announced, {"id": "shellyplus1-ddeeff"})  # an impostor repeating another's id
