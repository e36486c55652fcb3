"""Turn one hassil match into an outcome: slots (name, area, floor, domain, device class) become entity ids."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from hassil import RecognizeResult

from claw.core.units import CELSIUS, step_to_celsius, to_celsius

from .grammar import NO_AREA
from .outcome import Outcome, Understood, frozen
from .scope import Home, ask_between
from .vocabulary import Entity, LastTouched
from .wording import noun, which_kind

MEDIA = {
    "HassMediaPause": "pause",
    "HassMediaUnpause": "resume",
    "HassMediaNext": "next",
    "HassMediaPrevious": "previous",
    "HassMediaPlayerMute": "mute",
    "HassMediaPlayerUnmute": "unmute",
    "HassSetVolume": "set_volume",
    "HassSetVolumeRelative": "adjust_volume",
}
# Template metadata naming the handler of a feature's intent ("camera_look", "remind"): no Python here per intent.
PASS_THROUGH = "claw_action"
# "Never mind" is a polite end to the conversation ("OK"), never a media cancel.
SIMPLE = {"ClawHelp": "help", "ClawGreeting": "greet", "ClawThanks": "thanks", "HassNevermind": "nevermind"}
# Questions to the household's timeline ("why did the porch light turn on?"): the devices named, for a handler.
TIMELINE = {"ClawWhy": "why", "ClawWhoDid": "who", "ClawWhileAway": "while_away"}
LIGHT_SET = {
    "brightness": ("set_brightness", "brightness"),
    "color": ("set_color", "color"),
    "temperature": ("set_color_temp", "color_temp"),
}
# Words the owner may answer with when a bare "set <room> to 50%" could mean several kinds of device.
_LIGHT_WORDS = "light lamps lamp brightness luces luz lámparas licht lichter lampen lumières lumière lampes"
_SHADE_WORDS = (
    "shade blinds blind curtains covers cover persianas cortinas rollos rollläden jalousien vorhänge volets stores"
)
_SPEAKER_WORDS = "speaker volume music sound altavoces música volumen lautsprecher musik lautstärke enceintes musique"
PERCENT_KINDS = {
    "brightness": ("lights", tuple(_LIGHT_WORDS.split())),
    "position": ("shades", (*_SHADE_WORDS.split(), "rideaux")),
    "volume": ("speakers", tuple(_SPEAKER_WORDS.split())),
}
# "Play X on the TV": a player named at the end of what to play, by name or by these words for its kind.
_ON_PLAYER = re.compile(r"^(.+?)\s+(?:on|in)\s+(?:the\s+|my\s+)?(.+)$")
PLAYER_WORDS = {"tv": {"tv"}, "television": {"tv"}, "telly": {"tv"}, "speaker": {"speaker"}}
# "What's the <aspect> of the desk lamp": the feature that answers it.
DESCRIBED = {
    "brightness": "brightness",
    "volume": "volume",
    "battery": "battery",
    "position": "position",
    "temperature": "target_temp",
}
# Readings a room is asked about ("what's the humidity in the cellar?"): the features or classes that hold them.
READINGS: dict[str, frozenset[str]] = {
    "temperature": frozenset({"temperature", "current_temp"}),
    "humidity": frozenset({"humidity"}),
    "power": frozenset({"power"}),
    "energy": frozenset({"energy"}),
    "illuminance": frozenset({"illuminance"}),
    "battery": frozenset({"battery"}),
}
STEP_INTENTS = {
    "brightness": "HassLightSet",
    "color_temp": "HassLightSet",
    "volume": "HassSetVolumeRelative",
    "temperature": "HassClimateSetTemperature",
    "position": "HassSetPosition",
}
STEPS = {"brightness": 20, "volume": 10, "temperature": 1.0, "color_temp": 500, "position": 25}
SCALE = {"small": 0.5, "large": 2.0}
ACTIONS = {
    "HassSetPosition": "set_position",
    "HassClimateSetTemperature": "set_temperature",
    "HassMediaSearchAndPlay": "play",
    "HassTurnOn": "turn_on",
    "HassTurnOff": "turn_off",
}
POWER_DOMAINS = frozenset({"light", "switch", "fan", "media_player", "climate"})
# A cover whose class was never declared is a "shade": blinds, curtains, shades and shutters are the words
# people use for it; never window, door, garage or gate, which name things that let people in.
SOFT_COVERS = frozenset({"blind", "curtain", "shade", "shutter"})
ALARM_DOMAIN = "alarm_control_panel"
# Alarm modes Claw's templates name; "armed" is arming with the panel's own default (Control: power on),
# "disarmed" is power off (Control asks for the code), any other is a set_mode.
ALARM_POWER = {"armed": "turn_on", "disarmed": "turn_off"}
VERB_DOMAINS = {"power": POWER_DOMAINS, "open": frozenset({"cover", "valve"}), "lock": frozenset({"lock"})}
# "Everything off" means what is safe to switch off unasked: never locks, alarms, covers or cameras.
EVERYTHING_DOMAINS = frozenset({"light", "switch", "fan", "media_player"})
# Heaters are appliances, switched off with everything else; a thermostat (the house's heating) is not.
EVERYTHING_KINDS = frozenset({"heater"})
# Home Assistant answers binary sensors with on/off; a person asks "is the back door open?".
BINARY_STATE_WORDS = {
    "contact": ("open", "closed"),
    "door": ("open", "closed"),
    "window": ("open", "closed"),
    "garage_door": ("open", "closed"),
    "opening": ("open", "closed"),
    "motion": ("detected", "clear"),
    "occupancy": ("detected", "clear"),
    "presence": ("home", "away"),
    "moisture": ("wet", "dry"),
}


def _slots(result: RecognizeResult) -> dict[str, Any]:
    return {name: entity.value for name, entity in result.entities.items()}


def _allowed_domains(result: RecognizeResult) -> set[str] | None:
    """Domains this block of templates may act on, from its requires_context or fixed slots."""
    data = result.intent_data
    wanted = data.requires_context.get("domain", data.slots.get("domain"))
    if wanted is None:
        return None
    return {wanted} if isinstance(wanted, str) else set(wanted)


class Resolver:
    """Maps hassil results to outcomes against one home; never widens what the words named."""

    def __init__(self, home: Home, temperature_unit: str = CELSIUS) -> None:
        self.home = home
        self.unit = temperature_unit  # what the owner's numbers mean; values go out in °C, as devices take them

    def resolve(self, result: RecognizeResult, language: str, text: str, context: LastTouched | None) -> Outcome | None:
        """The outcome this reading leads to, or None when the reading names nothing real."""
        name = result.intent.name
        slots = _slots(result)
        make = _Maker(name, language, text)
        action = (result.intent_metadata or {}).get(PASS_THROUGH)
        if action:  # a feature's own intent (cameras, jobs, memory): its slots are the handler's values
            return self._passed(str(action), slots, result, make)
        if name in SIMPLE:
            return make(SIMPLE[name])
        if name in TIMELINE:
            return self._timeline(name, slots, result, make)
        if name == "ClawRunRoutine":  # a template without {routine} names no routine: not a match
            return make("run_routine", routine=str(slots["routine"])) if "routine" in slots else None
        if name == "ClawAreaPercent":
            return self._area_percent(slots, make)
        if name == "ClawDescribe":
            return self._describe(slots, make)
        if name == "ClawAnythingOn":
            found = self.home.select(
                lambda e: "on" in e.features or e.domain in {"light", "switch"}, area=slots.get("area")
            )
            return make("get_state", found, state="on", query="which") if found else None
        if name == "ClawAdjust":
            return self._adjust(slots, make, context)
        if name == "ClawAlarm":
            return self._alarm(slots, make)
        if name == "ClawClimateMode":
            return self._climate_mode(slots, make)
        if name == "ClawEverythingOff":
            area = slots.get("area")
            found = self.home.select(
                lambda e: e.domain in EVERYTHING_DOMAINS or e.kind in EVERYTHING_KINDS,
                area=area,
                floor=slots.get("floor"),
            )
            return make("turn_off", found, scope="everything") if found else None
        fits = self._fits(name, slots, result)
        if fits is None:
            return None
        if name == "HassGetState":
            return self._question(result, slots, fits, make, state=slots.get("state"), query=result.response)
        if name == "HassClimateGetTemperature":
            return self._question(result, slots, fits, make)
        action = self._action(name, slots)
        values = self._values(name, slots)
        if values is None:
            return None
        if name == "HassMediaSearchAndPlay" and (placed := self._play_on(slots, fits, make, values)) is not None:
            return placed
        return self._target(result, slots, fits, make, action, values, context)

    def _passed(self, action: str, slots: Mapping[str, Any], result: RecognizeResult, make: _Maker) -> Outcome | None:
        """A feature intent: every slot as a value (a wildcard as the words said); {name} also names devices."""
        values = {k: v for k, v in slots.items() if isinstance(v, str | int | float | bool)}
        found: list[Entity] = []
        if "name" in slots:
            found = self.home.named(str(slots["name"]), result.context.get("domain"))
            if not found:
                return None
        free = tuple(name for name, entity in result.entities.items() if entity.is_wildcard)
        return replace(make.build(action, found, values), free=free)

    # -- which entities a reading may touch -------------------------------------------------------

    def _fits(self, intent: str, slots: Mapping[str, Any], result: RecognizeResult) -> Callable[[Entity], bool] | None:
        domains = _allowed_domains(result)
        if "domain" in slots:
            domains = {str(slots["domain"])}
        device_class = slots.get("device_class")
        # a template word may stand for several classes (French "stores": blind or shade)
        # a template word may stand for several classes (French "stores": blind or shade; "doors": door|opening)
        classes = (
            None
            if device_class is None
            else set(device_class)
            if isinstance(device_class, list)
            else set(str(device_class).split("|"))
        )
        feature = {"HassSetPosition": "position", "HassSetVolume": "volume"}.get(intent)
        if intent == "HassLightSet":
            feature = "brightness" if "brightness" in slots else ("color_temp" if "temperature" in slots else "color")
        if intent in MEDIA or intent == "HassMediaSearchAndPlay":
            domains = {"media_player"}
        if intent in {"HassClimateSetTemperature", "HassClimateGetTemperature"}:
            domains = {"climate"}
        if "ref" in slots and "verb" in slots:  # "close it": the verb says which kind "it" may be
            domains = set(VERB_DOMAINS.get(str(slots["verb"]), POWER_DOMAINS))
        kinds = None if "kind" not in slots else set(str(slots["kind"]).split("|"))
        if domains is None:
            domains = set(POWER_DOMAINS)
            if intent == "HassGetState":
                domains |= {"cover", "lock", "binary_sensor", "sensor"}

        def fits(entity: Entity) -> bool:
            if entity.domain not in domains:
                return False
            if kinds is not None and entity.kind not in kinds:
                return False
            soft = entity.cover_class == "shade" and classes is not None and bool(classes & SOFT_COVERS)
            # a sensor's class is its device class ("motion", "window"); a cover's defaults by kind
            cls = entity.cover_class or entity.device_class
            if classes is not None and cls not in classes and not soft:
                return False
            return feature is None or feature in entity.features or not entity.features

        return fits

    def _action(self, intent: str, slots: Mapping[str, Any]) -> str:
        if intent in MEDIA:
            return MEDIA[intent]
        if intent == "HassLightSet":
            return next(action for slot, (action, _) in LIGHT_SET.items() if slot in slots)
        return ACTIONS[intent]

    def _values(self, intent: str, slots: Mapping[str, Any]) -> dict[str, Any] | None:
        if intent == "HassLightSet":
            slot = next(s for s in LIGHT_SET if s in slots)
            value = slots[slot]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return {LIGHT_SET[slot][1]: value}
        if intent == "HassSetPosition":
            return {"position": int(slots["position"])}
        if intent == "HassClimateSetTemperature":
            return {"temperature": to_celsius(float(slots["temperature"]), self.unit)}
        if intent == "HassSetVolume":
            return {"volume": int(slots["volume_level"])}
        if intent == "HassSetVolumeRelative":
            step = slots["volume_step"]
            return {"volume_step": {"up": STEPS["volume"], "down": -STEPS["volume"]}.get(step, step)}
        if intent == "HassMediaSearchAndPlay":
            if "name" not in slots and slots.get("area", NO_AREA) == NO_AREA:
                return None  # "play <anything>" with no speaker named is for the model, not a guess
            return {"search": str(slots["search_query"]).strip(), "media_class": slots.get("media_class")}
        return {}

    # -- turning a reading into targets ----------------------------------------------------------

    def _target(
        self,
        result: RecognizeResult,
        slots: Mapping[str, Any],
        fits: Callable[[Entity], bool],
        make: _Maker,
        action: str,
        values: dict[str, Any],
        context: LastTouched | None,
    ) -> Outcome | None:
        area = slots.get("area")
        # "the fans in here": Claw is in no room, so where "here" is must be asked, even with one fan
        here = area == NO_AREA and not HERE.isdisjoint(make.text.split())
        area = None if area == NO_AREA else area
        floor = slots.get("floor")
        if "ref" in slots:
            verb = slots.get("verb", "power")
            if context is None or not context.ids:  # "turn it off" out of the blue: ask which, never guess
                some = self.home.select(lambda e: fits(e) and _verb_fits(str(verb), e))
                if not some:
                    return None
                return self.home.ask_which(
                    some, lambda ids: make(_domain_action(action, _of(self.home, ids)), ids, **values)
                )
            found = self._referred(context, fits)
            if not found or not all(_verb_fits(verb, e) for e in found):
                return None
            return make(_domain_action(action, found), found, **values)
        if "name" in slots:
            found = [e for e in self.home.named(str(slots["name"]), result.context.get("domain")) if fits(e)]
            found = [e for e in found if area is None or self.home.room_of(e) == area]
            found = [e for e in found if floor is None or self.home.floor_of(e) == floor]
            if not found:
                return None
            if len(found) > 1:
                return self.home.ask(found, "one", lambda ids: make(_domain_action(action, found), ids, **values))
            return make(_domain_action(action, found), found, **values)
        if action in MEDIA.values() and area is None and floor is None and slots.get("scope") != "all":
            # the one playing; Understanding.choose_player asks which when none or several are (a handler's call)
            return make(action, [], target="playing", **values) if self.home.select(fits) else None
        found = self.home.select(fits, area=area, floor=floor)
        if not found and action == "set_temperature" and area is not None:  # the bedroom on central heating
            found = _the_heating(self.home.select(fits), None, None)
            found = found if len(found) == 1 else []
        if not found:
            return None
        found, unsure = _the_lamp(found, make.text)
        if unsure:  # "hallway lamp off" where no hallway light is called a lamp: ask, never all of them
            return self.home.ask(
                found, "lights", lambda ids: make(_domain_action(action, _of(self.home, ids)), ids, **values)
            )
        found = _the_heating(found, area, floor)
        final = _domain_action(action, found)
        scoped = area is not None or floor is not None or slots.get("scope") == "all"
        scoped = scoped or str((result.intent_metadata or {}).get("slot_combination", "")).endswith("_all")
        if not here and (scoped or len({self.home.room_of(e) for e in found}) == 1):
            return make(final, found, **values)
        noun = _noun(found)
        return self.home.ask(found, noun, lambda ids: make(final, ids, **values))

    def _play_on(
        self, slots: Mapping[str, Any], fits: Callable[[Entity], bool], make: _Maker, values: dict[str, Any]
    ) -> Outcome | None:
        """ "Play The Office on the TV in the Kitchen": a player named inside the query plays it, where it is.

        Where the player named is not in the room named, ask which (never play "…on the tv" on the room's speaker).
        None when the query names no player, so the room's player plays all of it.
        """
        said = _ON_PLAYER.match(str(values.get("search") or ""))
        if said is None:
            return None
        what, player = said.group(1), said.group(2)
        named = [e for e in self.home.named(player, "media_player") if fits(e)]
        named = named or [e for e in self.home.select(fits) if e.kind in PLAYER_WORDS.get(player, ())]
        if not named:
            return None
        area = None if slots.get("area") == NO_AREA else slots.get("area")
        wanted = {**values, "search": what}
        here = [e for e in named if area is None or self.home.room_of(e) == area]
        if len(here) == 1:
            return make("play", here, **wanted)
        choices = here or named + [e for e in self.home.select(fits, area=area) if e not in named]
        return self.home.ask_which(choices, lambda ids: make("play", ids, **wanted))

    def _referred(self, context: LastTouched | None, fits: Callable[[Entity], bool] | None = None) -> list[Entity]:
        if context is None:
            return []
        found = [self.home.entities[i] for i in context.ids if i in self.home.entities]
        if fits is not None and not all(fits(e) for e in found):
            return []
        return found

    def _question(
        self,
        result: RecognizeResult,
        slots: Mapping[str, Any],
        fits: Callable[[Entity], bool],
        make: _Maker,
        **values: Any,
    ) -> Outcome | None:
        """Questions read state, so an unscoped one covers the whole house instead of asking back."""
        action = "get_state" if result.intent.name == "HassGetState" else "get_temperature"
        area = None if slots.get("area") == NO_AREA else slots.get("area")
        if "name" in slots:
            found = [e for e in self.home.named(str(slots["name"]), result.context.get("domain")) if fits(e)]
        else:
            found = self.home.select(fits, area=area, floor=slots.get("floor"))
            if action == "get_temperature" and not found:  # the nursery has no thermostat but a thermometer
                found = self.home.select(_reads("temperature"), area=area, floor=slots.get("floor"))
            if action == "get_temperature":
                found = _the_heating(found, area, slots.get("floor"))
        values = {k: v for k, v in values.items() if v is not None}
        if found and values.get("state") in {"on", "off"}:
            values["state"] = _state_word(str(values["state"]), found)
        return make(action, found, **values) if found else None

    def _timeline(self, name: str, slots: Mapping[str, Any], result: RecognizeResult, make: _Maker) -> Outcome | None:
        """ "Why did the porch light turn on?", "who unlocked the door?": the devices asked about (all the locks
        for "the door"); "what did you do while I was away?" names none."""
        domains = _allowed_domains(result)
        if "name" in slots:
            found = self.home.named(str(slots["name"]), None)
        elif domains:
            found = self.home.select(lambda e: e.domain in domains)
        else:
            found = []
        if name != "ClawWhileAway" and not found:
            return None
        return make(TIMELINE[name], found, verb=slots.get("verb"))

    def _describe(self, slots: Mapping[str, Any], make: _Maker) -> Outcome | None:
        """ "How bright is the desk lamp", "what's playing in the kitchen": read the state of what was named."""
        aspect = str(slots.get("aspect", "playing" if "name" not in slots and "kind" not in slots else "state"))
        wanted = DESCRIBED.get(aspect)
        if aspect in READINGS and "name" not in slots and "kind" not in slots:  # "the humidity in the cellar"
            found = self.home.select(_reads(aspect), area=slots.get("area"))
            if aspect == "temperature" and any(e.domain == "climate" for e in found):
                found = [e for e in found if e.domain == "climate"]
            found = _the_heating(found, slots.get("area"), None)
            return make("get_state", found) if found else None
        if "name" in slots:
            found = self.home.named(str(slots["name"]), None)
        else:
            kinds = set(str(slots["kind"]).split("|")) if "kind" in slots else None
            area = slots.get("area")
            if kinds is None and aspect in {"playing", "volume"}:
                kinds = {"speaker", "tv"}
            if kinds is None and wanted is None:
                return None
            found = self.home.select(lambda e: kinds is None or e.kind in kinds, area=area)
            if wanted is not None:
                found = [
                    e for e in found if wanted in e.features or (wanted == "target_temp" and e.domain == "climate")
                ]
            if aspect == "temperature":
                found = _the_heating(found, area, None)
        reads = _reads(aspect) if aspect in READINGS else (lambda e: False)  # "the Nursery Climate temperature"
        if not found or (
            wanted is not None and not all(wanted in e.features or e.domain == "climate" or reads(e) for e in found)
        ):
            return None
        return make("get_state", found)

    def _alarm(self, slots: Mapping[str, Any], make: _Maker) -> Outcome | None:
        """Arm (in a mode), disarm or ask about the alarm panel; more than one panel asks which."""
        mode = str(slots["alarm_mode"])
        if "name" in slots:
            found = list(self.home.named(str(slots["name"]), ALARM_DOMAIN))
        else:
            found = self.home.select(lambda e: e.domain == ALARM_DOMAIN, area=slots.get("area"))
        if not found:
            return None
        if mode == "state":
            return make("get_state", found)
        action = ALARM_POWER.get(mode, "set_mode")
        values = {} if mode in ALARM_POWER else {"mode": mode}
        if len(found) > 1:
            return self.home.ask(found, "devices", lambda ids: make.build(action, ids, values))
        return make.build(action, found, values)

    def _climate_mode(self, slots: Mapping[str, Any], make: _Maker) -> Outcome | None:
        """ "Set the thermostat to cool": a mode, only on climate devices that have modes."""
        area = slots.get("area")
        if "name" in slots:
            found = [e for e in self.home.named(str(slots["name"]), "climate") if "mode" in e.features]
        else:
            found = self.home.select(lambda e: e.domain == "climate" and "mode" in e.features, area=area)
            found = _the_heating(found, area, None)
        if not found:
            return None
        values = {"mode": str(slots["climate_mode"])}
        if len(found) > 1:
            return self.home.ask(found, "thermostats", lambda ids: make.build("set_mode", ids, values))
        return make.build("set_mode", found, values)

    def _area_percent(self, slots: Mapping[str, Any], make: _Maker) -> Outcome | None:
        """ "Set the bedroom to 50%": act only when one kind of device there takes a percentage."""
        area, floor = slots.get("area"), slots.get("floor")
        percent = int(slots["percent"])
        readings: dict[str, Understood] = {}
        for feature, (label, _) in PERCENT_KINDS.items():
            found = self.home.select(_has(feature), area=area, floor=floor)
            if found:
                intent = {"brightness": "HassLightSet", "position": "HassSetPosition", "volume": "HassSetVolume"}
                action = {"brightness": "set_brightness", "position": "set_position", "volume": "set_volume"}
                readings[label] = _Maker(intent[feature], make.language, make.text).build(
                    action[feature], found, {feature: percent}
                )
        if not readings:
            return None
        if len(readings) == 1:
            return next(iter(readings.values()))
        place = str(area or floor)
        aliases = {alias: PERCENT_KINDS[f][0] for f in PERCENT_KINDS for alias in PERCENT_KINDS[f][1]}
        language = make.language
        if language != "en":  # offer the kinds in the message's language; English words still work as replies
            readings = {noun(label, language): reading for label, reading in readings.items()}
            aliases = {alias: noun(label, language) for alias, label in aliases.items()}
            aliases.update({label: noun(label, language) for label, _ in PERCENT_KINDS.values()})
        return ask_between(which_kind(language, place, readings, percent), readings, aliases)

    def _adjust(self, slots: Mapping[str, Any], make: _Maker, context: LastTouched | None) -> Outcome | None:
        """Relative changes: brighter, quieter, warmer, turn it up; targets come from the words or context."""
        aspect, sign = str(slots["aspect"]), (1 if slots["direction"] == "up" else -1)
        wants = {"brightness": {"light"}, "volume": {"media_player"}, "warmth": {"climate", "light"}}
        wants["position"] = {"cover"}
        domains = wants.get(aspect, {"light", "media_player", "climate"})
        area = slots.get("area")
        if "name" in slots:
            found = self.home.named(str(slots["name"]), None)
        elif area is not None:
            found = self.home.select(lambda e: e.domain in domains, area=area)
            if aspect == "warmth" and any(e.domain == "climate" for e in found):
                found = [e for e in found if e.domain == "climate"]
        else:
            found = self._referred(context)
            if not found and "ref" in slots and aspect != "warmth":  # "dim it" out of the blue: ask, never guess
                return self._ask_adjust(domains, aspect, sign, slots, make)
            if not found and aspect == "warmth":  # "make it warmer" out of the blue: "it" is the house
                found = _the_heating(self.home.select(lambda e: e.domain == "climate"), None, None)
                if len(found) > 1:
                    return self.home.ask(
                        found, "thermostats", lambda ids: _step(make, ids, "temperature", sign, slots, self.unit)
                    )
        kinds = {e.domain for e in found}
        if not found or not kinds <= domains or len(kinds) != 1:
            return None
        kind = kinds.pop()
        measure = {
            "light": "color_temp" if aspect == "warmth" else "brightness",
            "media_player": "volume",
            "climate": "temperature",
            "cover": "position",
        }.get(kind)
        needs = {"brightness": "brightness", "color_temp": "color_temp", "volume": "volume", "position": "position"}
        if measure is None or any(needs.get(measure, "target_temp") not in e.features for e in found if e.features):
            return None
        if measure == "color_temp":
            sign = -sign  # warmer light means a lower colour temperature
        return _step(make, tuple(e.id for e in found), measure, sign, slots, self.unit)

    def _ask_adjust(
        self, domains: set[str], aspect: str, sign: int, slots: Mapping[str, Any], make: _Maker
    ) -> Outcome | None:
        measures = {"light": "color_temp" if aspect == "warmth" else "brightness", "media_player": "volume"}
        measures["climate"] = "temperature"
        needs = {
            "brightness": "brightness",
            "color_temp": "color_temp",
            "volume": "volume",
            "temperature": "target_temp",
        }

        def fits(e: Entity) -> bool:
            measure = measures.get(e.domain)
            return e.domain in domains and measure is not None and needs[measure] in e.features

        some = self.home.select(fits)
        if not some:
            return None

        def build(ids: tuple[str, ...]) -> Understood:
            measure = measures[self.home.entities[ids[0]].domain]
            return _step(make, ids, measure, -sign if measure == "color_temp" else sign, slots, self.unit)

        return self.home.ask_which(some, build)


def _step(
    make: _Maker, ids: tuple[str, ...], measure: str, sign: int, slots: Mapping[str, Any], unit: str = CELSIUS
) -> Understood:
    """A relative change of one measure, sized by "a bit" / "a lot", or by the amount said ("by 20%", "by 2°")."""
    size = STEPS[measure] * SCALE.get(str(slots.get("amount")), 1.0)
    if "by" in slots and measure != "color_temp":
        size = float(slots["by"]) if measure != "temperature" else step_to_celsius(float(slots["by"]), unit)
    step: float | int = round(size, 1) if measure == "temperature" else int(size)
    intent = STEP_INTENTS[measure]
    return _Maker(intent, make.language, make.text).build(f"adjust_{measure}", ids, {f"{measure}_step": sign * step})


class _Maker:
    """Builds Understood values for one match, so every branch fills intent, language and text alike."""

    def __init__(self, intent: str, language: str, text: str) -> None:
        self.intent, self.language, self.text = intent, language, text

    def __call__(
        self, action: str, targets: list[Entity] | tuple[str, ...] = (), *, routine: str | None = None, **values: Any
    ) -> Understood:
        return self.build(action, targets, values, routine)

    def build(
        self,
        action: str,
        targets: list[Entity] | tuple[str, ...],
        values: Mapping[str, Any],
        routine: str | None = None,
    ) -> Understood:
        ids = tuple(t.id if isinstance(t, Entity) else t for t in targets)
        return Understood(
            intent=self.intent,
            action=action,
            language=self.language,
            targets=ids,
            values=frozen({k: v for k, v in values.items() if v is not None}),
            routine=routine,
            text=self.text,
        )


def _domain_action(action: str, found: list[Entity]) -> str:
    """Home Assistant turns covers and locks on and off; Claw says open/close and lock/unlock."""
    domains = {e.domain for e in found}
    if action in {"turn_on", "turn_off"} and domains <= {"cover", "valve"}:
        return "open" if action == "turn_on" else "close"
    if action in {"turn_on", "turn_off"} and domains == {"lock"}:
        return "lock" if action == "turn_on" else "unlock"
    return action


# "Here" in the languages Claw understands: a message sent from no room names none.
HERE = frozenset({"here", "aquí", "aqui", "acá", "aca", "hier", "ici"})
# "Lamp" and "lamps" in the languages Claw understands: a lamp is not a ceiling light.
LAMP = frozenset({"lamp", "lámpara", "lampara", "lampe"})
LAMPS = frozenset({"lamps", "lámparas", "lamparas", "lampen", "lampes"})


def _the_lamp(found: list[Entity], text: str) -> tuple[list[Entity], bool]:
    """ "The lounge lamp", "all the lamps": the lights called lamps, not the ceiling lights too.

    Where none is called a lamp, "the lamp" over several lights is unsure (True: ask which); "the lamps" is them all.
    """
    words = set(text.split())
    words |= {tail for w in words for tail in ("lampen", "lampe") if w.endswith(tail)}  # "Flurlampe", "Stehlampen"
    said = "lamps" if words & LAMPS else "lamp" if words & LAMP else ""
    if not said or any(e.domain != "light" for e in found):
        return found, False
    lamps = [e for e in found if any((LAMP | LAMPS) & set(phrase.lower().split()) for phrase in e.phrases)]
    if lamps:
        return lamps, False
    return found, said == "lamp" and len(found) > 1


def _of(home: Home, ids: tuple[str, ...]) -> list[Entity]:
    return [home.entities[i] for i in ids if i in home.entities]


def _the_heating(found: list[Entity], area: str | None, floor: str | None) -> list[Entity]:
    """ "Set the temperature to 20" with no room means the home's one thermostat, not the spa heater too."""
    if area is not None or floor is not None or len(found) < 2 or any(e.domain != "climate" for e in found):
        return found
    thermostats = [e for e in found if e.kind == "thermostat"]
    return thermostats if len(thermostats) == 1 else found


def _reads(aspect: str) -> Callable[[Entity], bool]:
    """Entities that read aspect: a thermostat or a thermometer for temperature, a sensor's reading otherwise."""
    keys = READINGS[aspect]
    return lambda e: (
        (aspect == "temperature" and e.domain == "climate")
        or (e.domain in {"sensor", "binary_sensor"} and (bool(keys & e.features) or e.device_class in keys))
    )


def _has(feature: str) -> Callable[[Entity], bool]:
    return lambda entity: feature in entity.features


def _verb_fits(verb: str, entity: Entity) -> bool:
    """ "Turn it on" suits a lamp, not a lock; "open it" suits a cover; "lock it" suits a lock."""
    return {
        "power": entity.domain in POWER_DOMAINS,
        "open": entity.domain in {"cover", "valve"},
        "lock": entity.domain == "lock",
    }.get(verb, False)


def _state_word(state: str, found: list[Entity]) -> str:
    """A binary sensor's on/off in its class's words (open/closed, detected/clear), when all found share them."""
    if any(e.domain != "binary_sensor" for e in found):
        return state
    pairs = {BINARY_STATE_WORDS.get(e.device_class) for e in found}
    if len(pairs) != 1 or (pair := pairs.pop()) is None:
        return state
    return pair[0] if state == "on" else pair[1]


def _noun(found: list[Entity]) -> str:
    kinds = {e.kind for e in found}
    if len(kinds) == 1:
        kind = kinds.pop()
        return {
            "light": "lights",
            "shade": "shades",
            "lock": "locks",
            "thermostat": "thermostats",
            "speaker": "speakers",
            "switch": "switches",
        }.get(kind, "devices")
    return "devices"
