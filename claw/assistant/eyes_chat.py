"""The cameras' chat handlers: "what happened while I was out?", "show me the last delivery", mute, modes, watches.

The grammar (templates/eyes/<lang>.yaml) understands the words; these handlers act and answer in the
message's language. Event titles and descriptions come from the vision model and stay as it wrote them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from claw.assistant.answer import Answer
from claw.assistant.eyes_digest import Bunch, bunches
from claw.assistant.speech.cameras import camera_words, say_camera
from claw.assistant.understanding import Understood
from claw.assistant.wildcards import own_words
from claw.core.request import Request
from claw.core.store.events import EventRecord
from claw.eyes.alerts import OUT_DEFAULT, clock, moment
from claw.home.device import Device

if TYPE_CHECKING:
    from claw.eyes.sight import Eyes

EyesHandler: TypeAlias = Callable[[Understood, Sequence[Device], Request], Awaitable[str | Answer | None]]

PICTURES = 4  # at most this many pictures with "what happened", one per camera and kind
DEFAULT_MINUTES = 60.0  # "mute the driveway camera" and "tell me when …" without a time: an hour
# The kinds of event each word the templates map to stands for ("the last car" may be the delivery van).
KINDS: dict[str, tuple[str, ...]] = {
    "delivery": ("delivery",),
    "person": ("person",),
    "vehicle": ("vehicle", "delivery"),
    "animal": ("animal",),
}
# A watch is only for what a camera can see change; "tell me when you're done" is the model's.
WATCHABLE = re.compile(
    r"\b(?:package|parcel|delivery|car|truck|van|someone|somebody|anyone|person|people|dog|cat|fox|gate|door|"
    r"picked\s+up|arrives?|leaves?|gone|comes?|shows?\s+up|"
    r"paquete|entrega|coche|auto|carro|cami[oó]n|furgoneta|alguien|persona|perro|gato|zorro|puerta|port[oó]n|"
    r"recog\w*|llega\w*|se\s+va|sale|vuelve|"
    r"paket|lieferung|wagen|lkw|transporter|jemand|person|hund|katze|fuchs|tor|t[uü]r|abgeholt|an(?:kommt|gekommen)|"
    r"kommt|kommen|ankommen|wegf[aä]hrt|weg|f[aä]hrt|geht|"
    r"colis|livraison|voiture|camion|camionnette|quelqu'un|personne|chien|chat|renard|portail|porte|"
    r"r[ée]cup[ée]r[ée]e?|arrive|part|parti|vient)\b",
    re.IGNORECASE,
)

# The fixed sentences, per language; {c} is a camera phrase (speech.cameras.camera_words).
AT_CAMERA = {"en": " at {c}", "es": " en {c}", "de": " an der Kamera {n}", "fr": " sur {c}"}
SINCE = {"en": "since {t}", "es": "desde las {t}", "de": "seit {t}", "fr": "depuis {t}"}
UNTIL = {"en": " until {t}", "es": " hasta las {t}", "de": " bis {t}", "fr": " jusqu'à {t}"}
YESTERDAY = {"en": "yesterday", "es": "ayer", "de": "gestern", "fr": "hier"}
SAY: dict[str, dict[str, str]] = {
    "no_outing": {
        "en": "I have no time away on record, so here are the last {hours} hours.",
        "es": "No tengo registrada ninguna ausencia, así que aquí van las últimas {hours} horas.",
        "de": "Ich habe keine Abwesenheit gespeichert, also hier die letzten {hours} Stunden.",
        "fr": "Je n'ai aucune absence enregistrée, alors voici les {hours} dernières heures.",
    },
    "nothing": {
        "en": "Nothing worth telling happened{where} {when}{extra}.",
        "es": "No ha pasado nada digno de contar{where} {when}{extra}.",
        "de": "Nichts Erwähnenswertes{where} {when}{extra}.",
        "fr": "Rien de notable{where} {when}{extra}.",
    },
    "quiet": {
        "en": "{n} small change{s} not worth telling",
        "es": "{n} cambio{s} pequeño{s} sin importancia",
        "de": "{n} kleine Veränderung{en} ohne Belang",
        "fr": "{n} petit{s} changement{s} sans intérêt",
    },
    "and": {"en": "and", "es": "y", "de": "und", "fr": "et"},
    "times": {"en": "{n} times", "es": "{n} veces", "de": "{n}-mal", "fr": "{n} fois"},
    "more": {
        "en": "and {n} more like it",
        "es": "y {n} más parecidos",
        "de": "und {n} weitere ähnliche",
        "fr": "et {n} autres semblables",
    },
    "none": {
        "en": "I have no {what} on record (I keep camera events for {days:g} days).",
        "es": "No hay {what} en el registro (guardo los eventos de las cámaras {days:g} días).",
        "de": "Ich habe {what} gespeichert (Kameraereignisse behalte ich {days:g} Tage).",
        "fr": "Je n'ai {what} en mémoire (je garde les événements des caméras {days:g} jours).",
    },
    "event": {
        "en": "{t} at {c}: {title}.",
        "es": "{t} en {c}: {title}.",
        "de": "{t}, Kamera {n}: {title}.",
        "fr": "{t} sur {c} : {title}.",
    },
    "no_picture": {
        "en": "{C} has sent no picture yet ({why}).",
        "es": "{C} aún no ha enviado ninguna imagen ({why}).",
        "de": "{C} hat noch kein Bild geschickt ({why}).",
        "fr": "{C} n'a encore envoyé aucune image ({why}).",
    },
    "picture": {"en": "{C} at {t}.", "es": "{C} a las {t}.", "de": "{C} um {t}.", "fr": "{C} à {t}."},
    "picture_now": {
        "en": "{C} just now.",
        "es": "{C} ahora mismo.",
        "de": "{C} gerade eben.",
        "fr": "{C} à l'instant.",
    },
}
NO_KIND = {  # "I have no animal on record": the kind, as "no …" says it
    "en": {"delivery": "delivery", "person": "person", "vehicle": "vehicle", "animal": "animal", "event": "event",
           "alert": "alert"},
    "es": {"delivery": "ninguna entrega", "person": "ninguna persona", "vehicle": "ningún vehículo",
           "animal": "ningún animal", "event": "ningún evento", "alert": "ninguna alerta"},
    "de": {"delivery": "keine Lieferung", "person": "keine Person", "vehicle": "kein Fahrzeug", "animal": "kein Tier",
           "event": "kein Ereignis", "alert": "keinen Alarm"},
    "fr": {"delivery": "aucune livraison", "person": "aucune personne", "vehicle": "aucun véhicule",
           "animal": "aucun animal", "event": "aucun événement", "alert": "aucune alerte"},
}  # fmt: skip


def minutes_of(values: Mapping[str, Any], default: float = DEFAULT_MINUTES) -> float:
    """The duration a message named ({minutes} or {hours} from the grammar), or `default` when it named none."""
    if values.get("minutes") is not None:
        return float(values["minutes"])
    if values.get("hours") is not None:
        return float(values["hours"]) * 60.0
    return default


def say(key: str, language: str, **slots: Any) -> str:
    """One fixed sentence in the language (English where a language lacks it)."""
    sentences = SAY[key]
    return sentences.get(language, sentences["en"]).format(**slots)


class EyesChat:
    """One handler per camera action the grammar understands; build once with the eyes, register handlers()."""

    def __init__(self, eyes: Eyes) -> None:
        self.eyes = eyes

    def handlers(self) -> dict[str, EyesHandler]:
        """Each claw_action of templates/eyes with its handler, for `understanding.register`."""
        return {
            "camera_while_out": self.while_out,
            "camera_saw": self.saw,
            "camera_show_last": self.show_last,
            "camera_look": self.look,
            "camera_mute": self.mute,
            "camera_unmute": self.unmute,
            "alert_mode": self.mode,
            "camera_watch": self.watch,
        }

    # --- questions -------------------------------------------------------------------------------

    async def while_out(self, understood: Understood, devices: Sequence[Device], request: Request) -> Answer:
        """ "What happened while I was out?" (the away period) or "what happened today?" (the last 12 hours)."""
        camera = _camera(understood)
        return await self._digest(camera, understood.values.get("since") == "away", understood.language)

    async def saw(self, understood: Understood, devices: Sequence[Device], request: Request) -> Answer:
        """ "What did the driveway camera see?": that camera's last 12 hours."""
        return await self._digest(_camera(understood), False, understood.language)

    async def _digest(self, camera: str | None, away: bool, lang: str) -> Answer:
        eyes = self.eyes
        now = time.time()
        window = eyes.rules.out_window(now) if away else None
        since, until = window or (now - OUT_DEFAULT, None)
        # "while I was out" with no time away on record: the last 12 hours, and the reply says so
        note = say("no_outing", lang, hours=f"{OUT_DEFAULT / 3600:.0f}") if away and window is None else ""
        found = await eyes.recent(camera=camera, since=since, until=until, limit=500)
        notable = [r for r in reversed(found) if r.notable]
        quiet = len(found) - len(notable)
        when = SINCE.get(lang, SINCE["en"]).format(t=self._moment(since, now, lang))
        if until:
            when += UNTIL.get(lang, UNTIL["en"]).format(t=self._moment(until, now, lang))
        where = (
            AT_CAMERA.get(lang, AT_CAMERA["en"]).format(**camera_words(eyes.camera(camera).name, lang))
            if camera
            else ""
        )
        small = say("quiet", lang, n=quiet, s="" if quiet == 1 else "s", en="" if quiet == 1 else "en")
        if not notable:
            nothing = say("nothing", lang, where=where, when=when, extra=f" ({small})" if quiet else "")
            return Answer(f"{note} {nothing}" if note else nothing)
        groups = bunches(notable)  # 18 "something moved" lines are one line with a count
        lines = [note] if note else []
        lines.append(f"{when[:1].upper()}{when[1:]}{where}:")
        lines += [f"- {self._line(g, lang)}" for g in groups]
        if quiet:
            lines.append(f"({say('and', lang)} {small})")
        best = [g.best for g in groups][-PICTURES:]  # the clearest picture of each group; the latest groups if many
        pictures = tuple(eyes.media(r) for r in best if r.snapshot)
        return Answer("\n".join(lines), pictures)

    def _moment(self, ts: float, now: float, lang: str) -> str:
        """ "14:05" today, "yesterday 20:45", else the date, in the language."""
        if lang == "en":
            return moment(ts, self.eyes.tz, now)
        when, today = datetime.fromtimestamp(ts, self.eyes.tz), datetime.fromtimestamp(now, self.eyes.tz).date()
        days = (today - when.date()).days
        if days == 0:
            return when.strftime("%H:%M")
        return f"{YESTERDAY[lang]} {when:%H:%M}" if days == 1 else when.strftime("%d.%m. %H:%M")

    def _line(self, group: Bunch, lang: str) -> str:
        if lang == "en":
            return group.line(self.eyes.tz)
        tz, events, best = self.eyes.tz, group.events, group.best
        if len(events) == 1:
            return f"{clock(events[0].start_ts, tz)} {group.camera}: {best.title}"
        count = (
            say("times", lang, n=len(events))
            if all(e.title == best.title for e in events)
            else say("more", lang, n=len(events) - 1)
        )
        return (
            f"{clock(events[0].start_ts, tz)}–{clock(events[-1].start_ts, tz)} {group.camera}: {best.title} ({count})"
        )

    async def show_last(self, understood: Understood, devices: Sequence[Device], request: Request) -> Answer:
        """ "Show me the last delivery": its line and its picture."""
        eyes, lang = self.eyes, understood.language
        what = str(understood.values.get("what", "event"))
        notable = True if what == "alert" else None
        found = await eyes.recent(camera=_camera(understood), what=KINDS.get(what, ()), notable=notable, limit=1)
        if not found:
            kind = NO_KIND.get(lang, NO_KIND["en"]).get(what, what)
            return Answer(say("none", lang, what=kind, days=eyes.config.alerts.retention_days))
        return Answer(self._say(found[0], lang), (eyes.media(found[0]),) if found[0].snapshot else ())

    def _say(self, record: EventRecord, lang: str) -> str:
        text = say("event", lang, t=clock(record.start_ts, self.eyes.tz), title=record.title,
                   **camera_words(record.camera, lang))  # fmt: skip
        if record.description and record.description.rstrip(".") != record.title.rstrip("."):
            text += f" {record.description}"
        return text

    async def look(self, understood: Understood, devices: Sequence[Device], request: Request) -> Answer:
        """ "Show me the driveway camera": its latest picture."""
        eyes, lang = self.eyes, understood.language
        target = eyes.camera(_camera(understood))
        named = camera_words(target.name, lang)
        picture = await eyes.latest_picture(target)
        if picture is None:
            return Answer(say("no_picture", lang, why=target.problem, **named))
        if target.latest is None:
            return Answer(say("picture_now", lang, **named), (picture,))
        return Answer(say("picture", lang, t=clock(target.latest.ts, eyes.tz), **named), (picture,))

    # --- commands --------------------------------------------------------------------------------

    async def mute(self, understood: Understood, devices: Sequence[Device], request: Request) -> str:
        """ "Mute the driveway camera for an hour": held for the owners' code (the Guard raises NeedsConfirmation)."""
        muted = await self.eyes.mute(_camera(understood), minutes_of(understood.values), request)
        return say_camera(muted, understood.language)

    async def unmute(self, understood: Understood, devices: Sequence[Device], request: Request) -> str:
        return say_camera(await self.eyes.mute(_camera(understood), 0, request), understood.language)

    async def mode(self, understood: Understood, devices: Sequence[Device], request: Request) -> str:
        """ "We're away", "set mode to night": a mode that disarms a camera is held for the code."""
        mode = str(understood.values.get("mode", ""))
        return say_camera(await self.eyes.set_mode(mode, request), understood.language)

    async def watch(self, understood: Understood, devices: Sequence[Device], request: Request) -> str | None:
        """ "Tell me when the package is picked up": None for what no camera can see ("… when you're done")."""
        eyes = self.eyes
        condition = str(understood.values.get("condition", "")).strip(" ,.!?")
        if not WATCHABLE.search(condition):
            return None
        condition = own_words(condition, understood.said)  # "die Kinder" as typed
        camera = _camera(understood)
        if camera is None and len(eyes.cameras) > 1:
            camera = await self._camera_of_last_delivery()
        watching = await eyes.watch(camera, condition, minutes_of(understood.values), request.actor)
        return say_camera(watching, understood.language)

    async def _camera_of_last_delivery(self) -> str | None:
        found = await self.eyes.recent(what=("delivery",), limit=1)
        return found[0].camera if found else None


def _camera(understood: Understood) -> str | None:
    camera = understood.values.get("camera")
    return str(camera) if camera else None
