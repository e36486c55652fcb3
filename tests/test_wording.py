"""What the household reads (issue 22): one sentence per outcome, verbs that say what happened, no nonsense hints."""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path

import pytest

from claw.assistant.llm import Model
from claw.assistant.router import offline_reply
from claw.assistant.speech import say_results, say_state
from claw.assistant.understanding import Understanding
from claw.assistant.vision import VisionDescriber
from claw.cli import setup_logging
from claw.core.config import LLMConfig
from claw.core.store import facts as facts_db
from claw.eyes.description import fallback
from claw.home.capabilities import SETPOINT, TEMPERATURE
from claw.home.control import Change, Result
from claw.home.device import Device
from claw.skills.parse import read_skill
from claw.skills_cli import validate
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.home_fixtures import House
from tests.test_daemon import CLAW
from tests.test_understanding import demo_vocabulary

README = Path(__file__).resolve().parent.parent / "README.md"
# The skill example as the README showed it before issue 22: a ClawRunRoutine template that names no routine.
OLD_SLANG = """---
name: house-slang
description: How this household talks.
claw:
  sentences:
    en:
      HassTurnOff: ["nix [the] {name}", "lights out in [the] {area}"]
      ClawRunRoutine: ["night night house"]   # {routine} names come from the routine skills
---
"""


def readme_slang() -> str:
    """The README's own house-slang example, exactly as a reader copies it."""
    block = re.search(r"```yaml\n(---\nname: house-slang\n.*?---\n)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None, "the README lost its house-slang example"
    return block.group(1)


def state(house: House, name: str) -> dict[str, object]:
    return dict(house.sim.device(name).state)


async def test_arming_an_armed_alarm_keeps_its_mode_and_says_so(house: House) -> None:
    assert await house.say("arm the alarm for the night") == "Armed the Alarm Panel (night mode)."
    assert await house.say("arm the alarm") == "The Alarm Panel was already armed for the night."
    assert state(house, "Alarm Panel")["mode"] == "night"  # never silently night → away
    assert await house.say("what is the alarm") == "The Alarm Panel is armed for the night."


async def test_arming_a_disarmed_alarm_says_armed_not_turned_on(house: House) -> None:
    house.sim.device("Alarm Panel").set_state(mode="disarmed")
    await house.home.refresh(house.device("Alarm Panel"))
    assert await house.say("arm the alarm") == "Armed the Alarm Panel (away mode)."
    assert state(house, "Alarm Panel")["mode"] == "away"


async def test_a_setpoint_already_there_is_said_in_its_own_words(house: House) -> None:
    target = state(house, "Thermostat")["target_temp"]
    assert isinstance(target, int | float)
    reply = await house.say(f"set the thermostat to {target:g}")
    assert reply == f"The Thermostat was already set to {target:g}°C."
    await house.say("set the desk lamp brightness to 30%")
    assert await house.say("set the desk lamp brightness to 30%") == "The Desk Lamp was already at 30%."


async def test_the_thermostat_is_said_once_without_trailing_zeros(house: House) -> None:
    house.sim.device("Thermostat").set_state(current_temp=20.5, target_temp=21.0, mode="heat")
    await house.home.refresh(house.device("Thermostat"))
    assert await house.say("what is the thermostat") == "The Thermostat reads 20.5°C and heats to 21°C."


async def test_which_question_with_no_match_is_not_answered_no(house: House) -> None:
    house.sim.device("Front Door").set_state(locked=True)
    await house.home.refresh(house.device("Front Door"))
    assert await house.say("which doors are unlocked?") == "The Front Door is locked."
    assert await house.say("is any door unlocked?") == "No, the Front Door is locked."
    await house.say("switch off all the lights in the house")
    assert await house.say("which lights are on?") == "None of the 9 is on."


def test_offline_hints_are_only_names_that_are_genuinely_close() -> None:
    understanding = Understanding(demo_vocabulary())
    for nonsense in ("tell me a joke", "are any lights red?", "what is the weather", "turn off the attic lights"):
        assert understanding.closest(nonsense) == (), nonsense
    assert understanding.closest("kill the desk lamp") == ("Desk Lamp",)
    assert understanding.closest("unlock the frnt door") == ("Front Door",)
    assert understanding.closest("turn on the porch lite") == ("Porch Light",)
    assert understanding.closest("lock kitchen door")[0] == "Front Door"  # the verb says a lock is meant


async def test_the_offline_reply_is_worded_the_same_every_time(house: House) -> None:
    house.app.model.online = None  # as right after start-up: the first message finds out through the model
    first = await house.say("tell me a joke")
    second = await house.say("tell me a joke")
    assert first == second == offline_reply()
    assert "Did you mean" not in await house.say("turn off the tv")
    assert (await house.say("nix the desk lamp")).startswith(offline_reply(["Desk Lamp"]).split(" Routines")[0])


async def test_the_readme_skill_example_validates_and_every_sentence_works(house: House) -> None:
    skill = house.app.config.state_path / "skills" / "house-slang" / "SKILL.md"
    skill.parent.mkdir(parents=True, exist_ok=True)
    skill.write_text(readme_slang(), encoding="utf-8")
    assert read_skill(skill).warnings == ()
    assert validate(skill.parent) == 0
    assert "house-slang" in await house.app.skills.reload_if_changed()
    house.sim.device("Desk Lamp").set_state(on=True)
    await house.home.refresh(house.device("Desk Lamp"))
    assert "Turned off the Desk Lamp" in await house.say("nix the desk lamp")
    assert (await house.say("start the sleepy time routine")).startswith("Sleepy time:")


async def test_a_routine_template_without_a_routine_is_reported_and_the_rest_works(
    house: House, capsys: pytest.CaptureFixture[str]
) -> None:
    skill = house.app.config.state_path / "skills" / "house-slang" / "SKILL.md"
    skill.parent.mkdir(parents=True, exist_ok=True)
    skill.write_text(OLD_SLANG.replace('{area}"]', '{area}", "zap {room}"]'), encoding="utf-8")
    parsed = read_skill(skill)
    assert [(p.line, p.field) for p in parsed.warnings] == [(8, "claw.sentences.en.ClawRunRoutine[0]")]
    assert validate(skill.parent) == 1
    said = capsys.readouterr().out
    assert ":8: claw.sentences.en.ClawRunRoutine[0]: needs {routine}" in said
    assert ":7: claw.sentences.en.HassTurnOff: names {room}" in said and "the rest of it works" in said
    assert "house-slang" in await house.app.skills.reload_if_changed()
    listing = {s["name"]: s for s in await house.app.snapshot("skills")}
    assert listing["house-slang"]["active"] and listing["house-slang"]["errors"]
    reply = await house.say("night night house")  # once a KeyError that crashed the turn
    assert "went wrong" not in reply
    house.sim.device("Desk Lamp").set_state(on=True)
    await house.home.refresh(house.device("Desk Lamp"))
    assert "Turned off the Desk Lamp" in await house.say("nix the desk lamp")
    assert "went wrong" not in await house.say("zap kitchen")  # an unknown {list} would fail every message


def test_model_requests_are_not_logged_at_info() -> None:
    setup_logging("INFO")
    for library in ("httpx", "httpx2", "openai"):
        assert not logging.getLogger(library).isEnabledFor(logging.INFO), library
        assert logging.getLogger(library).isEnabledFor(logging.WARNING), library  # their trouble still shows


async def test_a_vision_model_going_away_is_logged_once_and_its_return_once(
    ollama: ScriptedOllama, caplog: pytest.LogCaptureFixture
) -> None:
    eyes = VisionDescriber(Model(LLMConfig(host=ollama.url, timeout=5.0)), "qwen2.5vl:3b", timeout=5.0)
    caplog.set_level(logging.INFO, logger="claw.assistant.vision")
    await ollama.down()
    for _ in range(5):
        assert await eyes.describe("driveway", b"\xff\xd8picture", None) == fallback("driveway")
    await ollama.up()
    ollama.on(None, Reply.text('{"title": "A cat", "sentence": "A cat.", "alert": false, "what": "cat"}'))
    for _ in range(3):
        assert (await eyes.describe("driveway", b"\xff\xd8picture", None)).title == "A cat"
    said = [r.getMessage() for r in caplog.records if r.name == "claw.assistant.vision" and r.levelno >= logging.INFO]
    assert len([s for s in said if "vision model unavailable" in s]) == 1, said
    assert len([s for s in said if s.startswith("the vision model qwen2.5vl:3b answers again")]) == 1, said


def test_doctor_prints_its_fail_line_and_nothing_on_stderr(tmp_path: Path) -> None:
    config, state = tmp_path / "config.toml", tmp_path / "state"
    init = subprocess.run(
        [*CLAW, "init", "--state-dir", str(state), "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert init.returncode == 0, init.stderr
    dead = f"http://127.0.0.1:{free_port()}"
    config.write_text(config.read_text(encoding="utf-8").replace("http://127.0.0.1:11434", dead), encoding="utf-8")
    doctor = subprocess.run(
        [*CLAW, "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CLAW_TOKEN": ""},
    )
    assert f"FAIL  model server: my model server at {dead} is offline" in doctor.stdout
    assert doctor.stderr == ""


def test_every_readme_table_is_one_block_with_its_header() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if not line.startswith("|") or (n > 0 and lines[n - 1].startswith("|")):
            continue
        # a table starts here: the next line must be its header's separator, or the row is an orphan
        assert n + 1 < len(lines) and re.match(r"\|\s*-", lines[n + 1]), f"README.md:{n + 1}: orphan row {line[:60]}"


async def test_help_lists_every_command_and_status_shows_the_facts_new_promises(house_with_jobs: House) -> None:
    house = house_with_jobs
    said = await house.say("/help")
    for command in house.app.router.commands:
        assert command in said, command
    assert "/jobs" in said
    assert "I remember no facts yet" in await house.say("/status")
    await house.app.store.run(
        facts_db.remember, "The bins go out on Tuesday", scope=facts_db.HOUSEHOLD, author="Sam", source="chat"
    )
    assert "/status shows them" in await house.say("/new")
    assert "I remember 1 fact: The bins go out on Tuesday" in await house.say("/status")


def _thermostat() -> Device:
    return Device(
        "t", "Thermostat", "thermostat", "x", "a", capabilities=(SETPOINT, TEMPERATURE),
        state={"current_temp": 20.5, "target_temp": 21, "mode": "heat"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "The Thermostat was already set to 21°C."),
        ("es", "Thermostat ya estaba a 21 °C."),
        ("de", "Thermostat war schon auf 21 °C."),
        ("fr", "Thermostat était déjà à 21 °C."),
    ],
)
def test_the_new_sentences_come_in_the_language_of_the_message(language: str, said: str) -> None:
    thermostat = _thermostat()
    assert say_results([Result(thermostat, "already")], Change(values={"target_temp": 21}), language) == said


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "The Thermostat reads 20.5°C and heats to 21°C."),
        ("es", "Thermostat marca 20,5 °C y calienta a 21 °C."),
        ("de", "Thermostat zeigt 20,5 °C und heizt auf 21 °C."),
        ("fr", "Thermostat indique 20,5 °C et chauffe à 21 °C."),
    ],
)
def test_a_thermostat_is_read_in_the_language_of_the_message(language: str, said: str) -> None:
    assert say_state(_thermostat(), language) == said
