"""The time and the date from the house's own clock, without the model (en/es/de/fr).

A model sees the time only to the quarter hour (memory.quarter_hour: a clock to the minute would change the
prompt every minute and empty a server's prompt cache), so "what time is it?" is answered here, exactly.
The grammar (templates/clock/<lang>.yaml) understands the words; these handlers answer in the message's language.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from claw.assistant.understanding import Understood
from claw.core.request import Request
from claw.home.device import Device

DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
MONTHS = {
    "en": "January February March April May June July August September October November December",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
}
SAY = {
    "time": {"en": "It's {t}.", "es": "Son las {t}.", "de": "Es ist {t} Uhr.", "fr": "Il est {t}."},
    "date": {
        "en": "Today is {w}, {d} {m} {y}.",
        "es": "Hoy es {w}, {d} de {m} de {y}.",
        "de": "Heute ist {w}, der {d}. {m} {y}.",
        "fr": "Nous sommes le {w} {d} {m} {y}.",
    },
}


class ClockChat:
    """Answers "what time is it?" and "what's the date?" from the clock."""

    def handlers(self) -> dict[str, Callable[[Understood, Sequence[Device], Request], Awaitable[str]]]:
        """Each claw_action of templates/clock with its handler, for `understanding.register`."""
        return {"clock_time": self.time, "clock_date": self.date}

    async def time(self, understood: Understood, devices: Sequence[Device], turn: Request) -> str:
        at = time.localtime()
        return SAY["time"][_lang(understood)].format(t=time.strftime("%H:%M", at))

    async def date(self, understood: Understood, devices: Sequence[Device], turn: Request) -> str:
        lang = _lang(understood)
        at = time.localtime()
        month = MONTHS[lang].split()[at.tm_mon - 1]
        return SAY["date"][lang].format(w=DAYS[lang][at.tm_wday], d=at.tm_mday, m=month, y=at.tm_year)


def _lang(understood: Understood) -> str:
    return understood.language if understood.language in DAYS else "en"
