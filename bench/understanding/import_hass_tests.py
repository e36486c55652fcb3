"""Home Assistant's own intent test sentences as bench cases against the demo house (issue 20).

Reads tests/<lang>/<domain>_<Intent>.yaml of the public repository home-assistant/intents (its sentences,
© the Home Assistant authors, licensed CC BY 4.0: https://creativecommons.org/licenses/by/4.0/ — see the
repository's LICENSE.md) for the domains Claw supports: HassGetState of sensors, binary sensors and locks,
HassTurnOn/Off of fans, locks, scenes and valves, HassClimateSetTemperature / GetTemperature.

HA's tests name the entities of HA's test fixture ("Ceiling Fan" in the "Living Room"). A sentence is kept
only where the demo house has a device of the same kind: the fixture's name or area, as it is written in
the sentence, is replaced by the demo's (English) name — the phrasing stays HA's. Everything else is listed
under `skipped:` with the reason (no such device in the demo, a name inflected in the sentence, °F in a
metric house), never turned into a case that cannot be scored honestly.

    git --git-dir=<mirror> ...   # the repo, e.g. fetched to /work/.mirror/home-assistant+intents/repo
    .venv/bin/python bench/understanding/import_hass_tests.py [--repo GIT_DIR] [--langs en,es,de,fr]

Writes bench/understanding/cases/hass_<lang>.yaml (generated: edit this script, not those files).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
DEFAULT_REPO = Path("/work/.mirror/home-assistant+intents/repo")
LANGS = ("en", "es", "de", "fr")
FILES = (
    "fan_HassTurnOn",
    "fan_HassTurnOff",
    "lock_HassTurnOn",
    "lock_HassTurnOff",
    "lock_HassGetState",
    "scene_HassTurnOn",
    "valve_HassTurnOn",
    "valve_HassTurnOff",
    "valve_HassSetPosition",
    "climate_HassClimateSetTemperature",
    "climate_HassClimateGetTemperature",
    "sensor_HassGetState",
    "binary_sensor_HassGetState",
)

# "in here": HA's tests give the satellite's area as context; a chat message has none, so ask (or the model).
HERE_WORDS = {
    "en": r"\b(here|this room)\b",
    "es": r"\b(aqu[ií]|ac[aá]|esta habitaci[oó]n)\b",
    "de": r"\b(hier|diesem raum|diesem zimmer)\b",
    "fr": r"\b(ici|cette pi[eè]ce)\b",
}

YES_NO = {"en": r"(yes|no)\b", "es": r"(s[ií]|no)\b", "de": r"(ja|nein)\b", "fr": r"(oui|non)\b"}
# The demo house (claw_sim.home): what each HA test target can honestly stand for.
FAN = "Bedroom Fan"  # the demo's only fan (Home Assistant, in the Bedroom)
FAN_ROOM = "Bedroom"
THERMOSTAT = "Thermostat"  # the demo's only thermostat (Hallway), °C, reads 20.5
THERMOSTAT_ROOM = "Hallway"
SETPOINT_RANGE = (5.0, 30.0)  # the demo thermostat's limits: anything outside is a °F value or a refusal
LOCKS = {"Front Door": "Hallway", "Back Door Lock": "Kitchen", "Side Door": "Utility Room"}
# Lock names and areas of HA's fixtures, per language, and the demo lock(s) they stand for.
LOCK_NAMES = {
    "en": {"front door": "Front Door"},
    "es": {"puerta principal": "Front Door"},
    "de": {"haustür": "Front Door", "wohnungstür": "Front Door"},
    "fr": {"porte d'entrée": "Front Door"},
}
LOCK_AREAS = {  # fixture area -> demo room with a lock
    "en": {"kitchen": "Kitchen", "entrance": "Hallway"},
    "es": {"cocina": "Kitchen"},
    "de": {"flur": "Hallway", "eingang": "Hallway", "küche": "Kitchen"},
    "fr": {"cuisine": "Kitchen"},
}
# Sensors by device class: (demo device, what the answer must contain).
SENSORS = {
    "humidity": ("Cellar Humidity", "61"),
    "temperature": ("Nursery Climate", "21"),
    "battery": ("Back Door Sensor", "87"),
}
# Binary sensors by device class: the demo device that has that reading.
BINARY = {"door": "Patio Door", "opening": "Patio Door", "battery": "Back Door Sensor"}  # no window sensor in the demo
SENSOR_ROOMS = {"Patio Door": "Dining Room", "Back Door Sensor": "Kitchen", "Cellar Humidity": "Cellar"}
SENSOR_ROOMS |= {"Nursery Climate": "Nursery"}
SCENE = "sleepy time"  # the demo's scene-like routine (skills/sleepy-time): what "activate <scene>" can run
NIGHT = {
    "Alarm Panel": {"mode": "night"},
    "Kitchen Ceiling": {"on": False},
    "Living Room Lamp": {"on": False},
    "Bedroom Lamp": {"on": False},
    "Desk Lamp": {"on": False},
    "Dining Lamp": {"on": False},
    "Living Room Shades": {"position": 0},
    "Bedroom Shades": {"position": 0},
    "Study": {"playback": "any"},
    "Living Room": {"playback": "any"},
    "Kitchen": {"playback": "any"},
}


@dataclass
class Out:
    cases: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)

    def skip(self, source: str, text: str, reason: str) -> None:
        self.skipped.append({"source": source, "text": text, "reason": reason})
        self.reasons[reason] += 1


def git_show(repo: Path, path: str) -> str | None:
    done = subprocess.run(
        ["git", f"--git-dir={repo}", "show", f"HEAD:{path}"], capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else None


def commit_of(repo: Path) -> str:
    done = subprocess.run(["git", f"--git-dir={repo}", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def replace_words(sentence: str, said: str, demo: str) -> str | None:
    """The sentence with `said` (case-insensitive, as whole words) replaced by `demo`; None if not there."""
    pattern = re.compile(rf"(?<!\w){re.escape(said)}(?!\w)", re.IGNORECASE)
    if not pattern.search(sentence):
        return None
    return pattern.sub(demo, sentence, count=1)


def number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def convert(lang: str, stem: str, test: dict[str, Any], sentence: str, out: Out) -> None:
    """One HA test sentence -> a case (or a skip with its reason)."""
    source = f"tests/{lang}/{stem}.yaml"
    domain, intent = stem.split("_Hass", 1)
    intent = "Hass" + intent
    slots = dict((test.get("intent") or {}).get("slots") or {})
    context = dict((test.get("intent") or {}).get("context") or {})
    name = slots.get("name")
    name = None if name in (None, "all") else str(name)
    area = str(slots["area"]) if slots.get("area") else None
    here = bool(re.search(HERE_WORDS[lang], sentence, re.IGNORECASE))
    text = sentence
    note = f"HA {source}: {sentence!r}"

    def case(**fields: Any) -> None:
        out.cases.append({"text": text, **fields, "note": note})

    if domain == "valve":
        out.skip(source, sentence, "the demo house has no valve")
        return
    if slots.get("floor"):
        out.skip(source, sentence, "names a floor of HA's fixture (the demo's floors differ)")
        return
    area_in_text = area is not None and replace_words(text, area, "x") is not None
    if area is not None and not area_in_text and not here and area != context.get("area"):
        out.skip(source, sentence, "the area is inflected in the sentence")
        return

    if domain == "fan":
        if name is not None:
            swapped = replace_words(text, name, FAN)
            if swapped is None:
                out.skip(source, sentence, "the fan's name is inflected in the sentence")
                return
            text = swapped
        if area_in_text and area is not None:
            text = replace_words(text, area, FAN_ROOM) or text
        on = intent == "HassTurnOn"
        if here and not area_in_text:
            case(expect="ask", also=["defer"], given={FAN: {"on": not on}})
            return
        case(expect="act", given={FAN: {"on": not on}}, effects={FAN: {"on": on}})
        return

    if domain == "lock":
        targets: list[str] = []
        if name is not None:
            demo = LOCK_NAMES[lang].get(name.lower())
            swapped = replace_words(text, name, demo) if demo else None
            if demo is None or swapped is None:
                reason = "no demo lock stands for this fixture lock" if demo is None else "inflected lock name"
                out.skip(source, sentence, reason)
                return
            text, targets = swapped, [demo]
        elif area_in_text and area is not None:
            room = LOCK_AREAS[lang].get(area.lower())
            if room is None:
                out.skip(source, sentence, "no demo lock in a room like this fixture area")
                return
            text = replace_words(text, area, room) or text
            targets = [lock for lock, where in LOCKS.items() if where == room]
        if intent == "HassGetState":
            response = str(test.get("response", ""))
            if targets:
                case(expect="answer", contains=targets)
            elif response.strip().isdigit():
                case(expect="answer", contains=[str(len(LOCKS))])  # every demo lock is locked at the start
            elif re.match(YES_NO[lang], response.strip(), re.IGNORECASE):
                case(expect="answer")  # yes/no: every demo lock is locked; the reply's wording is not checked
            elif "," in response or " and " in response or " y " in response or " und " in response:
                case(expect="answer", contains=sorted(LOCKS))
            else:
                case(expect="answer")
            return
        if not targets:
            if here:
                case(expect="ask", also=["defer"])
                return
            targets = sorted(LOCKS)
        if intent == "HassTurnOn":  # HA: turn on a lock = lock it
            case(
                expect="act",
                given={t: {"locked": False} for t in targets},
                effects={t: {"locked": True} for t in targets},
            )
        else:  # unlocking waits for the owner's code
            case(expect="code", contains=targets if len(targets) == 1 else [])
        return

    if domain == "scene":
        if area is not None:
            out.skip(source, sentence, "an area's scene: the demo's routines have no area")
            return
        swapped = replace_words(text, name or "", SCENE) if name else None
        if swapped is None:
            out.skip(source, sentence, "the scene's name is inflected in the sentence")
            return
        text = swapped
        case(expect="act", effects=NIGHT)
        return

    if domain == "climate":
        if name is not None:
            swapped = replace_words(text, name, THERMOSTAT)
            if swapped is None:
                out.skip(source, sentence, "the thermostat's name is inflected in the sentence")
                return
            text = swapped
        if area_in_text and area is not None:
            text = replace_words(text, area, THERMOSTAT_ROOM) or text
        if intent == "HassClimateGetTemperature":
            fields: dict[str, Any] = {"expect": "answer", "contains": ["20"]}  # 20.5 / 20,5
            if here:
                fields["also"] = ["ask"]
            case(**fields)
            return
        value = number(slots.get("temperature"))
        if value is None:
            out.skip(source, sentence, "no temperature in the test")
            return
        if not SETPOINT_RANGE[0] <= value <= SETPOINT_RANGE[1]:
            reason = "°F value in a metric (°C) demo house" if value > SETPOINT_RANGE[1] else "below the demo's range"
            out.skip(source, sentence, reason)
            return
        given = {THERMOSTAT: {"target_temp": 24 if value != 24 else 18}}
        case(expect="act", given=given, effects={THERMOSTAT: {"target_temp": value}})
        return

    if domain in ("sensor", "binary_sensor"):
        device_class = str(slots.get("device_class") or "")
        table: dict[str, Any] = SENSORS if domain == "sensor" else BINARY
        if device_class not in table:
            out.skip(source, sentence, f"no demo {domain} with device_class {device_class or '(none)'}")
            return
        demo, value = table[device_class] if domain == "sensor" else (table[device_class], None)
        if name is not None:
            swapped = replace_words(text, name, demo)
            if swapped is None:
                out.skip(source, sentence, f"the {domain}'s name is inflected in the sentence")
                return
            text = swapped
            if area_in_text and area is not None:  # the fixture's room beside the name: the demo device's room
                text = replace_words(text, area, SENSOR_ROOMS[demo]) or text
        elif area_in_text:
            out.skip(source, sentence, f"a {domain} by fixture area (no demo room to stand for it)")
            return
        contains = [value] if value else ([demo] if name is not None else [])
        case(expect="answer", contains=contains)
        return

    out.skip(source, sentence, f"domain {domain} not imported")


def import_language(repo: Path, lang: str) -> Out:
    out = Out()
    for stem in FILES:
        raw = git_show(repo, f"tests/{lang}/{stem}.yaml")
        if raw is None:
            out.skip(f"tests/{lang}/{stem}.yaml", "", "no such test file in this language")
            continue
        doc = yaml.safe_load(raw) or {}
        for test in doc.get("tests") or []:
            for sentence in test.get("sentences") or []:
                convert(lang, stem, test, str(sentence), out)
    seen: set[str] = set()  # the same sentence in two tests: keep the first
    unique = []
    for c in out.cases:
        if c["text"].lower() not in seen:
            seen.add(c["text"].lower())
            unique.append(c)
    out.cases = unique
    return out


HEADER = """\
# GENERATED by bench/understanding/import_hass_tests.py from home-assistant/intents@{commit} — do not edit.
# Sentences © the Home Assistant authors, CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/; the
# repository's LICENSE.md). Changed: the fixture's entity and area names are replaced by the demo house's
# (English) names where the demo has a device of that kind; everything else is under `skipped:`, with why.
# {kept} cases kept, {skipped} sentences skipped ({reasons}).
"""


def write(lang: str, out: Out, commit: str) -> Path:
    path = CASES / f"hass_{lang}.yaml"
    reasons = ", ".join(f"{n} {r}" for r, n in out.reasons.most_common())
    doc = {"lang": lang, "theme": "hass_tests", "cases": out.cases, "skipped": out.skipped}
    body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=200, default_flow_style=None)
    header = HEADER.format(commit=commit[:12], kept=len(out.cases), skipped=len(out.skipped), reasons=reasons)
    path.write_text(header + body, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=DEFAULT_REPO, help="git dir of home-assistant/intents")
    parser.add_argument("--langs", default=",".join(LANGS))
    args = parser.parse_args(argv)
    if git_show(args.repo, "LICENSE.md") is None:
        print(f"no home-assistant/intents repository at {args.repo}", file=sys.stderr)
        return 2
    commit = commit_of(args.repo)
    for lang in args.langs.split(","):
        out = import_language(args.repo, lang)
        path = write(lang, out, commit)
        print(f"{lang}: {len(out.cases)} cases, {len(out.skipped)} skipped -> {path.relative_to(HERE.parent.parent)}")
        for reason, n in out.reasons.most_common():
            print(f"    {n:4} {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
