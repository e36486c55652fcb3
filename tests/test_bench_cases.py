"""The understanding evaluation's case files: valid, about devices the demo house has, and as large as issue 20 asks."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))  # only while the bench's own modules load: bench/telegram.py would shadow the library
try:
    from understanding.cases import CASES_DIR, load
    from understanding.figures import reply_flaws
    from understanding.house import effects_match
finally:
    sys.path.remove(str(BENCH))

from claw_sim.home import DEVICES, HASS_ENTITIES, SPEAKERS  # noqa: E402
from claw_sim.mqtt_devices import TASMOTA, ZIGBEE  # noqa: E402


def demo_names() -> set[str]:
    """Every device the demo house shows in GET /api/devices (HTTP-JSON, Sonos, Home Assistant, MQTT)."""
    names = {spec.name for spec in DEVICES} | set(SPEAKERS)
    names |= {e.entity_id.split(".", 1)[1].replace("_", " ").title() for e in HASS_ENTITIES if e.exposed}
    names |= {d.name for d in ZIGBEE} | {name for name, _, _ in TASMOTA}
    return names


def test_every_case_names_only_devices_of_the_demo_house() -> None:
    cases = load(device_names=demo_names())  # raises on an unknown device in effects or given
    assert len(cases) > 1500


def test_at_least_100_household_phrasings_per_language() -> None:
    per_language = Counter(c.lang for c in load() if c.file.startswith("household_"))
    assert {lang: n >= 100 for lang, n in per_language.items()} == {"en": True, "es": True, "de": True, "fr": True}


def test_home_assistants_sentences_say_where_they_come_from_and_their_licence() -> None:
    for lang in ("en", "es", "de", "fr"):
        head = (CASES_DIR / f"hass_{lang}.yaml").read_text(encoding="utf-8").splitlines()[:3]
        assert "home-assistant/intents@" in head[0] and "CC BY 4.0" in head[1]
    assert any(c.file == "hass_de.yaml" and "Ventilator" in c.text for c in load())


def test_a_lights_level_following_its_power_is_not_an_extra_change() -> None:
    want = {"Landing Light": {"on": True}}
    assert effects_match(want, {"Landing Light": {"on": [False, True], "brightness": [0, 100]}}, {}) == []
    problems = effects_match(want, {"Landing Light": {"on": [False, True], "brightness": [40, 100]}}, {})
    assert problems == ["Landing Light.brightness also changed 40 -> 100"]


def test_a_mixed_language_reply_and_a_code_said_twice_are_flagged() -> None:
    double = "Responde OK AY7N para confirmar (válido 2 min). Reply OK AY7N to unlock the Front Door (valid 2 minutes)."
    assert reply_flaws("es", double, deferred=False) == [
        "English words: reply, the, to, valid",
        "the code AY7N said 2 times",
    ]
    assert reply_flaws("es", "He apagado Kitchen Ceiling y Kitchen Island.", deferred=False) == []
    assert reply_flaws("fr", "On part : j'ai éteint la Desk Lamp.", deferred=False) == []
    two_actions = "Reply OK HVHD to open the Garage Door. Reply OK KWJA to unlock the Front Door."
    assert reply_flaws("en", two_actions, deferred=False) == []  # two codes for two actions: fine
    assert reply_flaws("de", "Hallo! Was kann ich für dich tun?", deferred=False) == []
