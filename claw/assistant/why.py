"""Why did that happen: the timeline's entries with their causes, said in the owner's language without a model."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from claw.assistant.understanding import Understood
from claw.core.request import Request
from claw.core.store import Store
from claw.core.store import timeline as timeline_db
from claw.core.store.timeline import Entry
from claw.core.tasks import OwnedTasks
from claw.home.device import Device

LANGUAGES = ("en", "es", "de", "fr")
LOOKBACK = 7 * 86400.0  # "why did the porch light turn on?" looks this far back
AWAY_MAX = 7 * 86400.0
CHANNELS = {"whatsapp": "WhatsApp", "telegram": "Telegram", "local": "chat", "dashboard": "dashboard"}
# (cause kind) -> words per language; {a} actor, {c} channel, {s} the words said, {j} job, {r} routine
CAUSES: dict[str, dict[str, str]] = {
    "said": {
        "en": '{a} on {c} ("{s}")',
        "es": "{a} por {c} («{s}»)",
        "de": "{a} über {c} („{s}“)",
        "fr": "{a} via {c} (« {s} »)",
    },
    "owner": {"en": "{a} on {c}", "es": "{a} por {c}", "de": "{a} über {c}", "fr": "{a} via {c}"},
    "dashboard": {
        "en": "{a} on the dashboard",
        "es": "{a} desde el panel",
        "de": "{a} im Dashboard",
        "fr": "{a} depuis le tableau de bord",
    },
    "model": {
        "en": "me, answering {a} on {c}",
        "es": "yo, respondiendo a {a} por {c}",
        "de": "ich, als Antwort an {a} über {c}",
        "fr": "moi, en réponse à {a} via {c}",
    },
    "job": {"en": "the job '{j}'", "es": "la tarea '{j}'", "de": "der Auftrag '{j}'", "fr": "la tâche '{j}'"},
    "routine": {
        "en": "the routine '{r}', started by {a}",
        "es": "la rutina '{r}', iniciada por {a}",
        "de": "die Routine '{r}', gestartet von {a}",
        "fr": "la routine '{r}', lancée par {a}",
    },
    "agent": {"en": "the agent {a}", "es": "el agente {a}", "de": "der Agent {a}", "fr": "l'agent {a}"},
    "system": {
        "en": "Claw itself ({a})",
        "es": "Claw mismo ({a})",
        "de": "Claw selbst ({a})",
        "fr": "Claw lui-même ({a})",
    },
    "hand": {
        "en": "by hand or by the device itself (nobody asked me)",
        "es": "a mano o el propio dispositivo (nadie me lo pidió)",
        "de": "von Hand oder durch das Gerät selbst (niemand hat mich darum gebeten)",
        "fr": "à la main ou par l'appareil lui-même (personne ne me l'a demandé)",
    },
    "camera": {"en": "the {a} camera", "es": "la cámara {a}", "de": "die Kamera {a}", "fr": "la caméra {a}"},
}
SAY = {
    "line": {
        "en": "{t}: {w} at {h}. Cause: {c}.",
        "es": "{t}: {w} a las {h}. Causa: {c}.",
        "de": "{t}: {w} um {h}. Ursache: {c}.",
        "fr": "{t} : {w} à {h}. Cause : {c}.",
    },
    "none": {
        "en": "I have no record of the {t} changing in the last 7 days.",
        "es": "No tengo registro de cambios en {t} en los últimos 7 días.",
        "de": "Ich habe keine Änderung an {t} in den letzten 7 Tagen verzeichnet.",
        "fr": "Je n'ai aucune trace d'un changement de {t} ces 7 derniers jours.",
    },
    "nobody": {
        "en": "Nobody did that to the {t} today, as far as I know.",
        "es": "Hoy nadie lo hizo con {t}, que yo sepa.",
        "de": "Heute hat das niemand mit {t} getan, soweit ich weiß.",
        "fr": "Personne ne l'a fait avec {t} aujourd'hui, à ma connaissance.",
    },
    "today": {"en": "Today, {t}: {l}", "es": "Hoy, {t}: {l}", "de": "Heute, {t}: {l}", "fr": "Aujourd'hui, {t} : {l}"},
    "who": {"en": "{w} at {h} ({c})", "es": "{w} a las {h} ({c})", "de": "{w} um {h} ({c})", "fr": "{w} à {h} ({c})"},
    "away": {
        "en": "Since {h} ({n} things): {l}",
        "es": "Desde las {h} ({n} cosas): {l}",
        "de": "Seit {h} ({n} Dinge): {l}",
        "fr": "Depuis {h} ({n} choses) : {l}",
    },
    "quiet": {
        "en": "Nothing happened since {h}: I did nothing and nobody changed anything.",
        "es": "No pasó nada desde las {h}: no hice nada y nadie cambió nada.",
        "de": "Seit {h} ist nichts passiert: Ich habe nichts getan und niemand hat etwas geändert.",
        "fr": "Rien ne s'est passé depuis {h} : je n'ai rien fait et personne n'a rien changé.",
    },
    "ran": {"en": "ran ({s})", "es": "se ejecutó ({s})", "de": "lief ({s})", "fr": "exécutée ({s})"},
    "seen": {"en": "saw: {s}", "es": "vio: {s}", "de": "sah: {s}", "fr": "a vu : {s}"},
}
ACTIONS = {  # what the audit log and device changes say, per language
    "turn on": {"es": "encendido", "de": "eingeschaltet", "fr": "allumé", "en": "turned on"},
    "turn off": {"es": "apagado", "de": "ausgeschaltet", "fr": "éteint", "en": "turned off"},
    "on": {"es": "encendido", "de": "eingeschaltet", "fr": "allumé", "en": "turned on"},
    "off": {"es": "apagado", "de": "ausgeschaltet", "fr": "éteint", "en": "turned off"},
    "unlock": {"es": "abierto (cerradura)", "de": "entriegelt", "fr": "déverrouillé", "en": "unlocked"},
    "locked=False": {"es": "abierto (cerradura)", "de": "entriegelt", "fr": "déverrouillé", "en": "unlocked"},
    "unlocked": {"es": "abierto (cerradura)", "de": "entriegelt", "fr": "déverrouillé", "en": "unlocked"},
    "lock": {"es": "cerrado con llave", "de": "verriegelt", "fr": "verrouillé", "en": "locked"},
    "locked=True": {"es": "cerrado con llave", "de": "verriegelt", "fr": "verrouillé", "en": "locked"},
    "locked": {"es": "cerrado con llave", "de": "verriegelt", "fr": "verrouillé", "en": "locked"},
    "open": {"es": "abierto", "de": "geöffnet", "fr": "ouvert", "en": "opened"},
    "close": {"es": "cerrado", "de": "geschlossen", "fr": "fermé", "en": "closed"},
    "closed": {"es": "cerrado", "de": "geschlossen", "fr": "fermé", "en": "closed"},
}
# Which recorded actions a "who <verb>ed the X?" question means.
VERBS = {
    "unlock": re.compile(r"^(unlock|locked=false|unlocked)$", re.I),
    "lock": re.compile(r"^(lock|locked=true|locked)$", re.I),
    "turn_on": re.compile(r"^(turn on|on|brightness=.*)$", re.I),
    "turn_off": re.compile(r"^(turn off|off)$", re.I),
    "open": re.compile(r"^(open|position=100|opened)$", re.I),
    "close": re.compile(r"^(close|position=0|closed)$", re.I),
}
PATHS_MODEL = ("llm",)
PATHS_SYSTEM = ("heartbeat", "system")


@dataclass(frozen=True, slots=True)
class Explained:
    """A timeline entry and its cause in words (for the dashboard and the API)."""

    entry: Entry
    cause: str
    cause_kind: str


class Timeline:
    """Reads the household's timeline and says what caused each thing, in en/es/de/fr, with no model."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def explained(
        self, since: float, until: float, *, targets: Sequence[str] = (), language: str = "en", limit: int = 200
    ) -> list[Explained]:
        """The entries of a period (newest first), each with its cause said in `language`."""
        found = await self.store.run(timeline_db.entries, since, until, targets=targets, limit=limit)
        context = await self.store.run(timeline_db.entries, since - 5, until + 30, limit=limit * 4) if found else []
        return [Explained(e, *self._cause(e, context, language)) for e in found]

    def _cause(self, entry: Entry, context: Sequence[Entry], language: str) -> tuple[str, str]:
        lang = language if language in LANGUAGES else "en"
        channel = CHANNELS.get(entry.channel, entry.channel or "chat")
        kind = _cause_kind(entry)
        if kind in ("said", "owner", "model", "dashboard"):
            routine = _routine_of(entry, context)
            if routine:
                who = CAUSES["said" if entry.said else "owner"][lang].format(
                    a=entry.actor, c=channel, s=_short(entry.said)
                )
                return CAUSES["routine"][lang].format(r=routine, a=who), "routine"
        if kind == "job":
            name = re.sub(r"^the job '(.*)'$", r"\1", entry.actor)
            return CAUSES["job"][lang].format(j=name), "job"
        if kind == "camera":
            return CAUSES["camera"][lang].format(a=entry.target), "camera"
        actor = entry.actor
        if kind == "model":
            actor = re.sub(r"^the model for ", "", actor) or actor
        return CAUSES[kind][lang].format(a=actor, c=channel, s=_short(entry.said)), kind

    async def why(self, names: Sequence[str], language: str, now: float | None = None) -> str:
        """The last change to any of these devices and what caused it."""
        now = time.time() if now is None else now
        lang = language if language in LANGUAGES else "en"
        found = [
            x for x in await self.explained(now - LOOKBACK, now, targets=names, language=lang) if _changed(x.entry)
        ]
        if not found:
            return SAY["none"][lang].format(t=" / ".join(names) or "?")
        last = found[0]
        return SAY["line"][lang].format(
            t=last.entry.target, w=_action(last.entry.what, lang), h=_when(last.entry.ts, now, lang), c=last.cause
        )

    async def who(self, names: Sequence[str], verb: str, language: str, now: float | None = None) -> str:
        """Everyone (or everything) that did `verb` to these devices today, oldest first."""
        now = time.time() if now is None else now
        lang = language if language in LANGUAGES else "en"
        midnight = _midnight(now)
        pattern = VERBS.get(verb)
        found = [
            x
            for x in await self.explained(midnight, now, targets=names, language=lang)
            if _changed(x.entry) and (pattern is None or pattern.match(x.entry.what))
        ]
        target = " / ".join(names) or "?"
        if not found:
            return SAY["nobody"][lang].format(t=target)
        lines = [
            SAY["who"][lang].format(w=_action(x.entry.what, lang), h=_clock(x.entry.ts), c=x.cause)
            for x in reversed(found)
        ]
        return SAY["today"][lang].format(t=found[0].entry.target, l="; ".join(lines[-8:])) + "."

    async def while_away(
        self, conversation: str, message: int, actor: str, language: str, now: float | None = None
    ) -> str:
        """What Claw did, and what else changed, since the owner last wrote (at most a week back)."""
        now = time.time() if now is None else now
        lang = language if language in LANGUAGES else "en"
        last = await self.store.run(timeline_db.last_user_message_before, conversation, message)
        since = max(last, now - AWAY_MAX) if last else now - 86400.0
        found = [
            x
            for x in await self.explained(since, now, language=lang)
            if x.entry.outcome in ("ok", "confirmed", "ran")
            and not (x.entry.actor == actor and x.entry.via in ("fast-path", "llm"))
        ]
        if not found:
            return SAY["quiet"][lang].format(h=_when(since, now, lang))
        lines = [self.line(x, lang) for x in reversed(found)]
        shown = lines[-10:]
        more = len(lines) - len(shown)
        text = "; ".join(shown) + (f" (+{more})" if more else "")
        return SAY["away"][lang].format(h=_when(since, now, lang), n=len(found), l=text) + "."

    def line(self, x: Explained, lang: str) -> str:
        """One entry, short: "16:10 Porch Light turned on (the job 'dusk')"."""
        e = x.entry
        if e.kind == "job":
            return f"{_clock(e.ts)} {x.cause} {SAY['ran'][lang].format(s=e.outcome)}"
        if e.kind == "camera":
            return f"{_clock(e.ts)} {x.cause} {SAY['seen'][lang].format(s=e.what)}"
        return f"{_clock(e.ts)} {e.target or ''} {_action(e.what, lang)} ({x.cause})".replace("  ", " ")


def _cause_kind(entry: Entry) -> str:
    if entry.via == "hand":
        return "hand"
    if entry.via == "camera":
        return "camera"
    if entry.via == "schedule" or entry.actor.startswith("the job "):
        return "job"
    if entry.via == "mcp" or entry.actor.endswith(("(MCP)", "(API)")):
        return "agent"
    if entry.via in PATHS_SYSTEM:
        return "system"
    if entry.via == "dashboard":
        return "dashboard"
    if entry.via in PATHS_MODEL or entry.actor.startswith("the model"):
        return "model"
    return "said" if entry.said else "owner"


def _routine_of(entry: Entry, context: Sequence[Entry]) -> str:
    """The routine this device action was a step of: a "routine X" row by the same actor moments later."""
    for other in context:
        if (
            other.kind == "action"
            and other.what.startswith("routine ")
            and other.actor == entry.actor
            and 0 <= other.ts - entry.ts <= 30
        ):
            return other.what.removeprefix("routine ")
    return ""


def _changed(entry: Entry) -> bool:
    """A change that happened (not one refused, held or failed); routines are not device changes."""
    return (
        entry.kind in ("action", "device")
        and entry.outcome in ("ok", "confirmed")
        and not entry.what.startswith("routine ")
    )


def _action(what: str, lang: str) -> str:
    words = ACTIONS.get(what) or ACTIONS.get(what.lower())
    return words[lang] if words else what


def _short(said: str) -> str:
    said = " ".join(said.split())
    return said if len(said) <= 60 else said[:57] + "…"


def _clock(ts: float) -> str:
    return time.strftime("%H:%M", time.localtime(ts))


def _midnight(now: float) -> float:
    local = time.localtime(now)
    return time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1))


DAYS = {"en": "%a %d %b", "es": "%d/%m", "de": "%d.%m.", "fr": "%d/%m"}


def _when(ts: float, now: float, lang: str) -> str:
    """ "03:12" today, else the day too."""
    if ts >= _midnight(now):
        return _clock(ts)
    return f"{time.strftime(DAYS.get(lang, DAYS['en']), time.localtime(ts))} {_clock(ts)}"


def state_words(state: Mapping[str, Any]) -> dict[str, str]:
    """The parts of a device's state a person would ask "why" about, as words: on/off, locked, open, mode."""
    out: dict[str, str] = {}
    if isinstance(state.get("on"), bool):
        out["on"] = "on" if state["on"] else "off"
    if isinstance(state.get("locked"), bool):
        out["locked"] = "locked" if state["locked"] else "unlocked"
    position = state.get("position")
    if isinstance(position, int | float) and not isinstance(position, bool):
        out["position"] = "closed" if position <= 0 else "open"
    if isinstance(state.get("mode"), str):
        out["mode"] = str(state["mode"])
    return out


class ChangeRecorder:
    """Registry listener: notes each device change worth a "why" (on/off, lock, open, mode) in the timeline.

    A change that follows Claw's own command is linked to that command's audit row; any other was made by
    hand, by the device or by its hub, and the timeline says so.
    """

    def __init__(self, store: Store, *, settle_seconds: float = 2.0) -> None:
        self.store, self.settle_seconds = store, settle_seconds
        self._last: dict[str, dict[str, str]] = {}
        self._tasks = OwnedTasks("timeline")

    def on_device(self, what: str, device: Device) -> None:
        if what != "state":
            return
        now = state_words(device.state)
        before = self._last.get(device.id)
        self._last[device.id] = now
        if before is None:  # the first reading since start-up is not a change
            return
        for key, word in now.items():
            if before.get(key) != word and key in before:
                task = self._record(device.id, device.name, word, time.time())
                self._tasks.start(task, name=f"timeline {device.name}")

    async def _record(self, device: str, name: str, word: str, ts: float) -> None:
        await asyncio.sleep(self.settle_seconds)  # Claw's own command writes its audit row after the fan-out
        await self.store.run(timeline_db.record_change, device, name, word, ts)

    async def settle(self) -> None:
        await self._tasks.settle()

    async def stop(self) -> None:
        await self._tasks.stop()


_VERB_WORDS = (
    ("unlock", r"unlock|desbloque|abri[oó].*(puerta|cerradura)|aufgeschlossen|entriegelt|déverrouill|deverrouill"),
    ("lock", r"\block|bloque[oó]|abgeschlossen|verriegelt|verrouill"),
    ("turn_on", r"turn\w* on|switch\w* on|\bon\b|encend|prend|eingeschaltet|angeschaltet|angemacht|angegangen|allum"),
    ("turn_off", r"turn\w* off|switch\w* off|\boff\b|apag|ausgeschaltet|ausgemacht|ausgegangen|éteint|eteint"),
    ("open", r"open|abri|geöffnet|aufgemacht|ouvert"),
    ("close", r"clos|cerr|geschlossen|zugemacht|ferm"),
)


def verb_in(text: str) -> str:
    """Which change a question asks about ("who turned off ..." -> turn_off); "" for any change."""
    said = text.casefold()
    return next((verb for verb, words in _VERB_WORDS if re.search(words, said)), "")


class TimelineAnswers:
    """The grammar's timeline questions, answered by `Timeline` (registered on the home's understanding)."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    async def why(self, understood: Understood, devices: Sequence[Device], request: Request) -> str:
        return await self.timeline.why([d.name for d in devices], understood.language)

    async def who(self, understood: Understood, devices: Sequence[Device], request: Request) -> str:
        verb = str(understood.values.get("verb") or verb_in(understood.text))
        return await self.timeline.who([d.name for d in devices], verb, understood.language)

    async def while_away(self, understood: Understood, devices: Sequence[Device], request: Request) -> str:
        return await self.timeline.while_away(request.conversation, request.message, request.actor, understood.language)
