"""What the jobs say back in chat, in the message's language: "I'll remind you: …", when a job runs, which one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from claw.jobs import words
from claw.jobs.job import Job
from claw.jobs.when import duration

_UNITS = (86400, 3600, 60, 1)


@dataclass(frozen=True, slots=True)
class Words:
    """One language's fixed sentences ({}-templates) and the words a schedule is said with."""

    reminder: str  # a reminder's title: "Reminder: check the oven"
    reminded: str
    will_run: str
    will_do: str
    created: str
    failed: str
    nothing_scheduled: str
    no_such_job: str
    which_job: str
    from_config: str
    cancelled: str
    kinds: dict[str, str]  # how a job's action is said, by its kind
    once: str
    next: str
    within: str  # "in 5 minutes"
    every: str
    at: str  # "at 06:30"
    days: dict[str, str]  # cron day fields: "*", "mon-fri", "sat,sun", and each day for "every <day>"
    weekdays: tuple[str, ...]
    months: tuple[str, ...]
    units: tuple[tuple[str, str], ...]  # (one, many) for days, hours, minutes, seconds
    sun: dict[str, str]  # "sunset" -> "every day at sunset"
    sun_offset: dict[str, str]  # "-sunset" -> "every day {span} before sunset"
    joiner: str  # between the last two choices of a question


_EN = Words(
    reminder="Reminder",
    reminded="I'll remind you: {what}",
    will_run="I'll run '{name}'",
    will_do="I'll {command}",
    created="{lead}. {when}. (Job {id}.)",
    failed="I couldn't schedule that: {why}",
    nothing_scheduled="Nothing is scheduled.",
    no_such_job="I have no reminder or schedule about '{ref}'.",
    which_job="Which one: {choices}? Say 'cancel job' and its name.",
    from_config="'{what}' comes from the config file: pause it on the dashboard, or remove it there.",
    cancelled="Cancelled: {what} ({when}).",
    kinds={
        "say": "Remind you: {text}",
        "routine": "Run the routine '{text}'",
        "device": "Do: {text}",
        "ask": "Look into: {text}",
    },
    once="Once, {moment} ({within})",
    next="{schedule} — next: {moment}",
    within="in {span}",
    every="Every {span}",
    at="at",
    days={},
    weekdays=(),
    months=(),
    units=(("day", "days"), ("hour", "hours"), ("minute", "minutes"), ("second", "seconds")),
    sun={},
    sun_offset={},
    joiner="or",
)
_ES = Words(
    reminder="Recordatorio",
    reminded="Te lo recordaré: {what}",
    will_run="Ejecutaré «{name}»",
    will_do="Lo haré: {command}",
    created="{lead}. {when}. (Tarea {id}.)",
    failed="No he podido programarlo: {why}",
    nothing_scheduled="No hay nada programado.",
    no_such_job="No tengo ningún recordatorio ni programación sobre «{ref}».",
    which_job="¿Cuál: {choices}? Di «cancela la tarea» y su nombre.",
    from_config="«{what}» viene del archivo de configuración: páusala en el panel o quítala de allí.",
    cancelled="Cancelado: {what} ({when}).",
    kinds={
        "say": "Recordarte: {text}",
        "routine": "Ejecutar la rutina «{text}»",
        "device": "Hacer: {text}",
        "ask": "Revisar: {text}",
    },
    once="Una vez, {moment} ({within})",
    next="{schedule}; la próxima: {moment}",
    within="dentro de {span}",
    every="Cada {span}",
    at="a las",
    days={
        "*": "Todos los días",
        "mon-fri": "De lunes a viernes",
        "sat,sun": "Los fines de semana",
        "mon": "Los lunes",
        "tue": "Los martes",
        "wed": "Los miércoles",
        "thu": "Los jueves",
        "fri": "Los viernes",
        "sat": "Los sábados",
        "sun": "Los domingos",
    },
    weekdays=("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
    months=("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
    units=(("día", "días"), ("hora", "horas"), ("minuto", "minutos"), ("segundo", "segundos")),
    sun={"sunset": "Todos los días al atardecer", "sunrise": "Todos los días al amanecer"},
    sun_offset={
        "-sunset": "Todos los días {span} antes del atardecer",
        "+sunset": "Todos los días {span} después del atardecer",
        "-sunrise": "Todos los días {span} antes del amanecer",
        "+sunrise": "Todos los días {span} después del amanecer",
    },
    joiner="o",
)
_DE = Words(
    reminder="Erinnerung",
    reminded="Ich erinnere dich: {what}",
    will_run="Ich starte „{name}“",
    will_do="Mache ich: {command}",
    created="{lead}. {when}. (Auftrag {id}.)",
    failed="Das konnte ich nicht einplanen: {why}",
    nothing_scheduled="Es ist nichts geplant.",
    no_such_job="Ich habe keine Erinnerung und keinen Zeitplan zu „{ref}“.",
    which_job="Welche: {choices}? Sag „lösche den Auftrag“ und seinen Namen.",
    from_config="„{what}“ steht in der Konfigurationsdatei: pausiere es im Dashboard oder entferne es dort.",
    cancelled="Gelöscht: {what} ({when}).",
    kinds={
        "say": "Erinnern: {text}",
        "routine": "Routine „{text}“ starten",
        "device": "Ausführen: {text}",
        "ask": "Nachsehen: {text}",
    },
    once="Einmal, {moment} ({within})",
    next="{schedule}; nächstes Mal: {moment}",
    within="in {span}",
    every="Alle {span}",
    at="um",
    days={
        "*": "Jeden Tag",
        "mon-fri": "Werktags",
        "sat,sun": "Am Wochenende",
        "mon": "Montags",
        "tue": "Dienstags",
        "wed": "Mittwochs",
        "thu": "Donnerstags",
        "fri": "Freitags",
        "sat": "Samstags",
        "sun": "Sonntags",
    },
    weekdays=("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
    months=("Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"),
    units=(("Tag", "Tagen"), ("Stunde", "Stunden"), ("Minute", "Minuten"), ("Sekunde", "Sekunden")),
    sun={"sunset": "Jeden Tag bei Sonnenuntergang", "sunrise": "Jeden Tag bei Sonnenaufgang"},
    sun_offset={
        "-sunset": "Jeden Tag {span} vor Sonnenuntergang",
        "+sunset": "Jeden Tag {span} nach Sonnenuntergang",
        "-sunrise": "Jeden Tag {span} vor Sonnenaufgang",
        "+sunrise": "Jeden Tag {span} nach Sonnenaufgang",
    },
    joiner="oder",
)
_FR = Words(
    reminder="Rappel",
    reminded="Je te le rappellerai : {what}",
    will_run="Je lancerai « {name} »",
    will_do="Je le ferai : {command}",
    created="{lead}. {when}. (Tâche {id}.)",
    failed="Je n'ai pas pu le programmer : {why}",
    nothing_scheduled="Rien n'est prévu.",
    no_such_job="Je n'ai aucun rappel ni programmation pour « {ref} ».",
    which_job="Laquelle : {choices} ? Dis « annule la tâche » et son nom.",
    from_config="« {what} » vient du fichier de configuration : mets-la en pause dans le tableau de bord ou retire-la.",
    cancelled="Annulé : {what} ({when}).",
    kinds={
        "say": "Te rappeler : {text}",
        "routine": "Lancer la routine « {text} »",
        "device": "Faire : {text}",
        "ask": "Vérifier : {text}",
    },
    once="Une fois, {moment} ({within})",
    next="{schedule} ; prochaine fois : {moment}",
    within="dans {span}",
    every="Toutes les {span}",
    at="à",
    days={
        "*": "Tous les jours",
        "mon-fri": "Du lundi au vendredi",
        "sat,sun": "Le week-end",
        "mon": "Le lundi",
        "tue": "Le mardi",
        "wed": "Le mercredi",
        "thu": "Le jeudi",
        "fri": "Le vendredi",
        "sat": "Le samedi",
        "sun": "Le dimanche",
    },
    weekdays=("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
    months=("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
    units=(("jour", "jours"), ("heure", "heures"), ("minute", "minutes"), ("seconde", "secondes")),
    sun={"sunset": "Tous les jours au coucher du soleil", "sunrise": "Tous les jours au lever du soleil"},
    sun_offset={
        "-sunset": "Tous les jours {span} avant le coucher du soleil",
        "+sunset": "Tous les jours {span} après le coucher du soleil",
        "-sunrise": "Tous les jours {span} avant le lever du soleil",
        "+sunrise": "Tous les jours {span} après le lever du soleil",
    },
    joiner="ou",
)
LANGUAGES: dict[str, Words] = {"en": _EN, "es": _ES, "de": _DE, "fr": _FR}


class Speech:
    """The jobs' replies in one language (English where a language has no words for something)."""

    def __init__(self, language: str, tz: ZoneInfo) -> None:
        self.language = language if language in LANGUAGES else "en"
        self.words = LANGUAGES[self.language]
        self.tz = tz

    @property
    def reminder(self) -> str:
        return self.words.reminder

    @property
    def nothing_scheduled(self) -> str:
        return self.words.nothing_scheduled

    def reminded(self, what: str) -> str:
        return self.words.reminded.format(what=what)

    def will_run(self, name: str) -> str:
        return self.words.will_run.format(name=name)

    def will_do(self, command: str) -> str:
        return self.words.will_do.format(command=command)

    def created(self, lead: str, when: str, job_id: str) -> str:
        return self.words.created.format(lead=lead, when=when, id=job_id)

    def failed(self, why: str) -> str:
        return self.words.failed.format(why=why)

    def no_such_job(self, ref: str) -> str:
        return self.words.no_such_job.format(ref=ref)

    def which_job(self, choices: list[tuple[str, str]]) -> str:
        said = [f"{what} ({job_id})" for job_id, what in choices]
        listed = ", ".join(said[:-1]) + f" {self.words.joiner} {said[-1]}" if len(said) > 1 else said[0]
        return self.words.which_job.format(choices=listed)

    def from_config(self, what: str) -> str:
        return self.words.from_config.format(what=what)

    def cancelled(self, what: str, when: str) -> str:
        return self.words.cancelled.format(what=what, when=when)

    def what(self, job: Job) -> str:
        """What the job does: "Remind you: check the oven", "Hacer: enciende la luz del porche"."""
        template = self.words.kinds.get(job.action.kind)
        return template.format(text=job.action.text) if template else job.action.words()

    def when(self, job: Job, upcoming: datetime | None, now: datetime) -> str:
        """ "Once, Sat 21 Nov 07:50 (in 5 minutes)", "Todos los días al atardecer; la próxima: lun 23 nov 16:01"."""
        if job.schedule.once and upcoming is not None:
            return self.words.once.format(moment=self.moment(upcoming), within=self.within(upcoming, now))
        schedule = self.schedule(job)
        if upcoming is None:
            return schedule
        return self.words.next.format(schedule=schedule, moment=self.moment(upcoming))

    def schedule(self, job: Job) -> str:
        """How often a job runs, in this language (English words where a cron line is unusual)."""
        s, w = job.schedule, self.words
        if self.language == "en":
            return words.schedule(s, self.tz)
        if s.kind == "every":
            return w.every.format(span=self.span(duration(s.spec)))
        if s.kind in ("sunset", "sunrise"):
            if not s.spec:
                return w.sun[s.kind]
            offset = duration(s.spec.lstrip("+-"))
            side = "-" if s.spec.startswith("-") else "+"
            return w.sun_offset[side + s.kind].format(span=self.span(offset))
        if s.kind == "cron":
            parts = s.spec.split()
            if re.fullmatch(r"\d+", parts[0]) and re.fullmatch(r"\d+", parts[1]) and parts[2:4] == ["*", "*"]:
                days = w.days.get(parts[4])
                if days is not None:
                    return f"{days} {w.at} {int(parts[1]):02d}:{int(parts[0]):02d}"
        return words.schedule(s, self.tz)

    def moment(self, when: datetime) -> str:
        """ "Sat 21 Nov 07:50", "sáb 21 nov 07:50", "Sa 21. Nov 07:50", "sam. 21 nov. 07:50"."""
        if self.language == "en":
            return words.moment(when, self.tz)
        local = when.astimezone(self.tz)
        day = f"{local.day}." if self.language == "de" else str(local.day)
        return f"{self.words.weekdays[local.weekday()]} {day} {self.words.months[local.month - 1]} {local:%H:%M}"

    def within(self, when: datetime, now: datetime) -> str:
        """ "in 5 minutes", rounded to the minute beyond one minute."""
        seconds = max(0, round((when - now).total_seconds()))
        if seconds >= 60:
            seconds = round(seconds / 60) * 60
        return self.words.within.format(span=self.span(timedelta(seconds=seconds)))

    def span(self, delta: timedelta) -> str:
        """ "1 hour 30 minutes", "1 hora 30 minutos"."""
        seconds = int(abs(delta.total_seconds()))
        parts: list[str] = []
        for size, (one, many) in zip(_UNITS, self.words.units, strict=True):
            if seconds >= size:
                count, seconds = divmod(seconds, size)
                parts.append(f"{count} {one if count == 1 else many}")
        return " ".join(parts) or f"0 {self.words.units[-1][1]}"
