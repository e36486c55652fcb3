"""Offline proxy for the end-to-end understanding evaluation: the grammar alone, on the demo home, no daemon.

Builds the demo home's Vocabulary as `claw.assistant.home_words.vocabulary()` does (devices from
`claw_sim.home.DEVICES`, the three Sonos speakers, the Living Room's aliases, the shipped skills'
routines), runs `Understanding.understand()` on every `grammar: true` case (its `before:` messages
first, their targets becoming the context for "it"), and prints per theme how many were Understood,
Ambiguous, Compound or NotUnderstood, a rough verdict per case (ok / wrong / deferred), and the list of
grammar cases still NotUnderstood. The end-to-end run also tries the old regex matcher on what the
grammar leaves, so a NotUnderstood here may still be handled there.

    .venv/bin/python bench/understanding_offline.py [--json out.json] [--only substring] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from understanding.cases import Case, load  # noqa: E402

from claw.assistant.home_words import vocabulary  # noqa: E402
from claw.assistant.understanding import (  # noqa: E402
    Ambiguous,
    Compound,
    LastTouched,
    NotUnderstood,
    Outcome,
    Understanding,
    Understood,
    Vocabulary,
)
from claw.core.config import RoomConfig  # noqa: E402
from claw.home import capabilities as caps  # noqa: E402
from claw.home.capabilities import Capability  # noqa: E402
from claw.home.device import Device  # noqa: E402
from claw.home.hass import entities as hass_entities  # noqa: E402
from claw.home.routines import Routine  # noqa: E402
from claw_sim.devices import make_device  # noqa: E402
from claw_sim.home import DEVICES, HASS_ENTITIES, HASS_FLOORS, SPEAKERS  # noqa: E402

LANGUAGES = ("en", "es", "de", "fr")
SENSITIVE_KINDS = {"garage_door", "lock", "alarm"}
SETTING_KEYS = {"brightness": "brightness", "position": "position", "volume": "volume", "target_temp": "temperature"}


def demo_devices() -> list[Device]:
    """The demo home's devices as the registry holds them (ids are the names, for readable output)."""
    devices: list[Device] = []
    for i, spec in enumerate(DEVICES):
        sim = make_device(spec.kind, spec.name, spec.room, f"127.0.0.{20 + i}", **dict(spec.options))
        capabilities = tuple(
            Capability(name, "sensor" if not field.writable else "number", writable=field.writable)
            for name, field in sim.fields.items()
        )
        devices.append(
            Device(
                id=spec.name,
                name=spec.name,
                kind=spec.kind,
                driver="http-json",
                address=f"127.0.0.{20 + i}:80",
                room=spec.room,
                capabilities=capabilities,
                state=dict(sim.state),
            )
        )
    for i, room in enumerate(SPEAKERS):
        devices.append(
            Device(
                id=room,
                name=room,
                kind="speaker",
                driver="sonos",
                address=f"127.0.0.{2 + i}:1400",
                room=room,
                capabilities=(caps.VOLUME, caps.PLAYBACK, caps.MEDIA),
                state={"volume": 20, "playback": "stopped", "title": "", "artist": "", "uri": "", "group": room},
            )
        )
    return devices + hass_devices() + mqtt_devices()


def hass_devices() -> list[Device]:
    """The demo's Home Assistant entities (exposed ones), as the link maps them."""
    out: list[Device] = []
    for spec in HASS_ENTITIES:
        if not spec.exposed:
            continue
        name = spec.entity_id.split(".", 1)[1].replace("_", " ").title()
        attributes = {"friendly_name": name, **spec.attributes}
        info = hass_entities.facts(spec.entity_id, attributes)
        if info is None:
            continue
        state = hass_entities.state_of(info, {"state": spec.state, "attributes": attributes})
        room = spec.area or ""
        out.append(
            Device(
                id=name,
                name=name,
                kind=hass_entities.kind_of(info),
                driver="hass",
                address="",
                room=room,
                floor=HASS_FLOORS.get(room, ""),
                capabilities=hass_entities.capabilities(info),
                state=state,
                info=info,
            )
        )
    return out


_DIMMABLE = (caps.POWER, caps.BRIGHTNESS)
# The demo's Zigbee2MQTT and Tasmota devices (claw_sim.mqtt_devices), as the MQTT discovery maps them.
MQTT: tuple[tuple[str, str, str, tuple[Capability, ...], dict[str, Any]], ...] = (
    ("Hallway Pendant", "light", "Hallway", _DIMMABLE, {"on": False, "brightness": 100}),
    ("Dining Lamp", "light", "Dining Room", _DIMMABLE, {"on": True, "brightness": 71}),
    ("Kettle Plug", "switch", "Kitchen", (caps.POWER,), {"on": False}),
    ("Back Door Lock", "lock", "Kitchen", (caps.LOCK,), {"locked": True}),
    (
        "Patio Door",
        "sensor",
        "Dining Room",
        (Capability("contact", "choice", "contact", options=("open", "closed"), writable=False),),
        {"contact": "closed"},
    ),
    (
        "Nursery Climate",
        "sensor",
        "Nursery",
        (caps.TEMPERATURE, Capability("humidity", "sensor", "humidity", "%")),
        {"current_temp": 21.5, "humidity": 48},
    ),
    ("Coffee Machine", "switch", "Kitchen", (caps.POWER,), {"on": False}),
    ("Garden Lights", "light", "Garden", _DIMMABLE, {"on": False, "brightness": 100}),
)


def mqtt_devices() -> list[Device]:
    return [
        Device(
            id=name,
            name=name,
            kind=kind,
            driver="mqtt",
            address="",
            room=room,
            capabilities=capabilities,
            state=dict(state),
        )
        for name, kind, room, capabilities, state in MQTT
    ]


def shipped_routines() -> list[Routine]:
    """The routines of the skills shipped in skills/ (names and triggers are all the grammar needs)."""
    routines: list[Routine] = []
    for path in sorted((HERE.parent / "skills").glob("*/SKILL.md")):
        text = path.read_text(encoding="utf-8")
        if not text.startswith("---"):
            continue
        front = yaml.safe_load(text.split("---", 2)[1]) or {}
        for raw in (front.get("claw") or {}).get("routines") or []:
            triggers = tuple(str(t) for t in raw.get("triggers") or ())
            routines.append(Routine(name=str(raw["name"]), description="", triggers=triggers, steps=()))
    return routines


def demo_vocabulary() -> Vocabulary:
    rooms = [RoomConfig(name="Living Room", aliases=("lounge", "front room"))]
    return vocabulary(demo_devices(), shipped_routines(), rooms)


def _parts(outcome: Outcome) -> tuple[Understood, ...]:
    if isinstance(outcome, Compound):
        return outcome.parts
    if isinstance(outcome, Understood):
        return (outcome,)
    return ()


def describe(outcome: Outcome) -> str:
    if isinstance(outcome, NotUnderstood):
        return f"NotUnderstood({outcome.reason})"
    if isinstance(outcome, Ambiguous):
        return f"Ambiguous({outcome.question!r})"
    shown = []
    for part in _parts(outcome):
        what = part.routine if part.action == "run_routine" else ",".join(part.targets)
        shown.append(f"{part.action}[{what}]{dict(part.values) if part.values else ''}")
    return " + ".join(shown)


ALREADY: dict[str, Callable[[dict[str, Any]], bool]] = {  # an extra target already as the command wants it
    "turn_off": lambda s: s.get("on") is False or s.get("playback") in ("stopped", "paused"),
    "turn_on": lambda s: s.get("on") is True,
    "close": lambda s: s.get("position") == 0 or s.get("state") == "closed",
    "open": lambda s: s.get("position") == 100 or s.get("state") == "open",
    "lock": lambda s: s.get("locked") is True,
    "pause": lambda s: s.get("playback") in ("stopped", "paused"),
}


# Feature intents (pass-through, `claw_action`) whose handler answers or schedules: offline, claiming is the check.
SCHEDULING = {"remind", "schedule", "schedule_command", "delay"}
ANSWERING = {
    "nevermind",
    "list_jobs",
    "cancel_job",
    "alert_mode",
    "camera_while_out",
    "camera_show",
    "camera_seen",
    "camera_mute",
    "camera_watch",
    "camera_look",
}


def _never(_: dict[str, Any]) -> bool:
    return False


def verdict(case: Case, outcome: Outcome, kinds: dict[str, str], states: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """(ok|wrong|deferred|asked|claimed, why): a rough stand-in for the end-to-end classifier."""
    parts = _parts(outcome)
    state = {name: {**values, **case.given.get(name, {})} for name, values in states.items()}
    if isinstance(outcome, NotUnderstood):
        return ("ok", "") if case.expect == "defer" else ("deferred", "")
    if isinstance(outcome, Ambiguous):
        return ("ok", "") if case.expect == "ask" or "asked" in case.also else ("asked", outcome.question)
    if case.expect == "defer":
        return "claimed", "a defer case was claimed"
    if case.expect == "ask":
        if all(p.values.get("target") == "playing" for p in parts):
            return "ok", "the speaker playing, else asks (not checked)"
        return "wrong", "acted where it should ask"
    scheduled = all("delay_s" in p.values or "at" in p.values or p.action in SCHEDULING for p in parts)
    if case.expect == "schedule":
        return ("ok", "") if scheduled else ("wrong", "not scheduled")
    if any("delay_s" in p.values or "at" in p.values for p in parts):
        return "wrong", "scheduled where it should act now"
    if case.expect == "answer":
        if all(p.action in {"get_state", "get_temperature", "help", "greet", "thanks"} for p in parts):
            return "ok", ""
        if all(not p.targets and p.action in ANSWERING for p in parts):
            return "ok", "claimed by a feature intent (its handler's answer not checked)"
        if all(p.targets and all(ALREADY.get(p.action, _never)(state[t]) for t in p.targets) for p in parts):
            return "ok", "already as asked: the reply says so"
        if all(p.action.startswith("set_") for p in parts):
            return "ok", "the device answers (out of range, not dimmable): check"
        return "wrong", "acted on a question"
    if all(p.action == "get_state" and p.values.get("query") == "all" for p in parts) and not case.text.endswith("?"):
        return "ok", "an order read as 'are all ...' (the daemon turns it into one)"
    if any(p.action == "run_routine" for p in parts):
        return "ok", "routine (effects not checked)"
    targets = {t for p in parts for t in p.targets}
    if case.expect == "code":
        sensitive = any(kinds.get(t) in SENSITIVE_KINDS for t in targets)
        return ("ok", "") if sensitive else ("wrong", "no sensitive device targeted")
    wanted = set(case.effects)
    if any(p.values.get("target") == "playing" for p in parts):
        return "ok", "the speaker playing (not checked)"
    extra = {
        t
        for p in parts
        for t in p.targets
        if t not in wanted
        and not ALREADY.get(p.action, _never)(state[t])
        and not (kinds.get(t) in SENSITIVE_KINDS and p.action in {"unlock", "open", "turn_off"})  # a code is asked
    }
    if not wanted <= targets or extra:
        return "wrong", f"targets {sorted(targets)} != {sorted(wanted)}"
    for name, effects in case.effects.items():
        for key, spec in effects.items():
            if key in SETTING_KEYS and isinstance(spec, int | float) and not isinstance(spec, bool):
                said = [p.values.get(SETTING_KEYS[key]) for p in parts if name in p.targets]
                set_to = [v for v in said if v is not None]
                if set_to and not any(abs(float(v) - float(spec)) < 0.01 for v in set_to):
                    return "wrong", f"{name}.{key} set to {set_to} (wanted {spec})"
            if key == "mode" and spec not in ("!=", "any") and not any(p.action in ALREADY for p in parts):
                modes = [p.values.get("mode") for p in parts if name in p.targets]
                if modes and spec not in modes:
                    return "wrong", f"{name}.mode {modes} (wanted {spec})"
    return "ok", ""


def run(understanding: Understanding, case: Case) -> Outcome:
    context: LastTouched | None = None
    for before in case.before:
        prior = understanding.understand(before, context=context, language=case.lang)
        if parts := _parts(prior):
            context = LastTouched(tuple(t for p in parts for t in p.targets))
    return understanding.understand(case.text, context=context, language=case.lang)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write every grammar case's outcome here")
    parser.add_argument("--only", default="", help="only cases whose id or text contains this")
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args()

    words = demo_vocabulary()
    kinds = {e.id: e.kind for e in words.entities}
    states = {d.name: dict(d.state) for d in demo_devices()}
    started = time.perf_counter()
    understanding = Understanding(words, LANGUAGES)
    built = time.perf_counter() - started
    cases = [c for c in load() if c.grammar and (args.only in c.id or args.only in c.text)]
    by_theme: dict[str, Counter[str]] = defaultdict(Counter)
    verdicts: dict[str, Counter[str]] = defaultdict(Counter)
    rows: list[dict[str, Any]] = []
    for case in cases:
        outcome = run(understanding, case)
        kind = type(outcome).__name__
        judged, why = verdict(case, outcome, kinds, states)
        group = case.file.removesuffix(".yaml")  # one line per case file (its theme and language)
        by_theme[group][kind] += 1
        verdicts[group][judged] += 1
        rows.append(
            {
                "id": case.id,
                "theme": case.theme,
                "lang": case.lang,
                "text": case.text,
                "expect": case.expect,
                "outcome": kind,
                "verdict": judged,
                "why": why,
                "got": describe(outcome),
            }
        )
        if args.verbose:
            print(f"{case.id:18} {case.expect:8} {judged:8} {case.text!r} -> {describe(outcome)} {why}")

    kinds_order = ("Understood", "Compound", "Ambiguous", "NotUnderstood")
    judged_order = ("ok", "deferred", "asked", "claimed", "wrong")
    print(f"built in {built:.2f} s; {len(cases)} grammar cases\n")
    print(f"{'file':16}" + "".join(f"{k:>14}" for k in kinds_order) + "".join(f"{k:>10}" for k in judged_order))
    totals: Counter[str] = Counter()
    judged_totals: Counter[str] = Counter()
    for theme in sorted(by_theme):
        totals.update(by_theme[theme])
        judged_totals.update(verdicts[theme])
        print(
            f"{theme:16}"
            + "".join(f"{by_theme[theme][k]:>14}" for k in kinds_order)
            + "".join(f"{verdicts[theme][k]:>10}" for k in judged_order)
        )
    print(
        f"{'total':16}"
        + "".join(f"{totals[k]:>14}" for k in kinds_order)
        + "".join(f"{judged_totals[k]:>10}" for k in judged_order)
    )
    ok = judged_totals["ok"]
    print(f"\nok {ok}/{len(cases)} = {100 * ok / max(1, len(cases)):.1f} %  (wrong: {judged_totals['wrong']})")

    print("\nNotUnderstood grammar cases:")
    for row in rows:
        if row["outcome"] == "NotUnderstood" and row["expect"] != "defer":
            print(f"  {row['id']:18} {row['expect']:8} {row['text']!r}")
    print("\nWrong or claimed (check these first):")
    for row in rows:
        if row["verdict"] in {"wrong", "claimed"}:
            print(f"  {row['id']:18} {row['expect']:8} {row['text']!r} -> {row['got']}  [{row['why']}]")
    print("\nAsked where it should act:")
    for row in rows:
        if row["verdict"] == "asked":
            print(f"  {row['id']:18} {row['expect']:8} {row['text']!r} -> {row['got']}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
