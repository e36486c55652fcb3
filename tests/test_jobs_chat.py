"""Reminders and schedules said in chat, through the real grammar (templates/jobs) and real jobs, in four languages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import time
from typing import Any

import pytest

from claw.assistant.jobs_chat import JobsChat, one_off, repeating
from claw.assistant.plan_words import plan_of_words
from claw.assistant.understanding import RoutineName, Understanding, Understood
from claw.assistant.wildcards import own_words
from claw.core.config import Config
from claw.core.principals import dashboard, job
from claw.core.request import Request
from claw.jobs.agenda import Jobs
from claw.jobs.clock import ManualClock
from claw.jobs.schedule import Place
from claw.jobs.when import next_time, said_clock
from tests.test_jobs_support import LONDON, daemon, london
from tests.test_understanding import demo_vocabulary, entity

OWNER = Request(principal=dashboard("Owner"), channel="local", sender="local", via="dashboard")
SATURDAY = london(2026, 11, 21, 7, 45)
MORNING = RoutineName("Good Morning", ("buenos días", "guten morgen", "bonjour"))


@pytest.fixture(scope="module")
def grammar() -> Understanding:
    vocabulary = demo_vocabulary((MORNING,))
    porch = entity(
        "light.porch",
        "Porch Light",
        "Outside",
        "light",
        aliases=("luz del porche", "Verandalicht", "lumière du porche"),
    )
    entities = tuple(porch if e.id == "light.porch" else e for e in vocabulary.entities)
    return Understanding(
        type(vocabulary)(entities=entities, areas=vocabulary.areas, routines=vocabulary.routines),
        languages=["en", "es", "de", "fr"],
    )


@pytest.fixture
async def chat(make_config: Callable[..., Config], grammar: Understanding) -> AsyncIterator[tuple[JobsChat, Jobs]]:
    async def current() -> Understanding:
        return grammar

    async with daemon(make_config, ManualClock(SATURDAY)) as (_, jobs):
        yield JobsChat(jobs, grammar=current), jobs


async def ask(chat: JobsChat, grammar: Understanding, text: str, request: Request = OWNER) -> str | None:
    """What the jobs answer to text, as the router would dispatch it: the grammar claims, the handler acts."""
    outcome = grammar.understand(text)
    assert isinstance(outcome, Understood), (text, outcome)
    handler = chat.handlers().get(outcome.action)
    assert handler is not None, (text, outcome.action)
    # as HomeUnderstanding hands a feature its words: as the owner typed them, not as the grammar read them
    written = {k: own_words(v, text) if isinstance(v, str) and v else v for k, v in outcome.values.items()}
    return await handler(replace(outcome, said=text, values=written), [], request)


def made(jobs: Jobs) -> list[Any]:
    return [j for j in jobs.jobs.values() if j.source == "chat"]


REMINDERS = [
    ("remind me in 2 minutes to check the oven", "I'll remind you: check the oven", "check the oven", (7, 47)),
    ("remind me to call mum at 6", "I'll remind you: call mum", "call mum", (18, 0)),
    ("Remind me at 7 to take the bins out.", "I'll remind you: take the bins out", "take the bins out", (19, 0)),
    ("remind me tomorrow at 9am to water the plants", "I'll remind you", "water the plants", (9, 0)),
    ("recuérdame en 10 minutos que llame a mamá", "Te lo recordaré: llame a mamá", "llame a mamá", (7, 55)),
    ("erinnere mich in 10 Minuten an den Ofen", "Ich erinnere dich: den Ofen", "den Ofen", (7, 55)),
    ("erinnere mich um 6 daran, Mama anzurufen", "Ich erinnere dich", "Mama anzurufen", (18, 0)),
    ("rappelle-moi dans 10 minutes d'appeler maman", "Je te le rappellerai : appeler maman", "appeler maman", (7, 55)),
    ("rappelle-moi demain à 9h30 de sortir les poubelles", "Je te le rappellerai", "sortir les poubelles", (9, 30)),
]


@pytest.mark.parametrize(("text", "lead", "what", "at"), REMINDERS)
async def test_reminders_in_every_language_make_a_one_off_job(
    chat: tuple[JobsChat, Jobs], grammar: Understanding, text: str, lead: str, what: str, at: tuple[int, int]
) -> None:
    jobs_chat, jobs = chat
    reply = await ask(jobs_chat, grammar, text)
    assert reply is not None and reply.startswith(lead), reply
    (created,) = made(jobs)
    assert created.action.stored == f"say: {what}"
    upcoming = jobs.next_run(created.id)
    assert upcoming is not None and (upcoming.hour, upcoming.minute) == at
    assert SATURDAY < upcoming < london(2026, 11, 22, 12, 0)  # the first such moment, never a day late
    assert created.id in reply


PORCH_ON = ("light.porch", "Porch Light", {"power": True})
SHADES_UP = ("cover.bedroom_shades", "Bedroom Shades", {"power": True})
MORNING_JOB = ("routine", "Good Morning")
# (what was said, the stored schedule, what the job does: (id, name, change) for a plan, or the routine)
SCHEDULES: list[tuple[str, str, tuple[Any, ...]]] = [
    (
        "close the living room shades at sunset",
        "at: 2026-11-21T16:03:23+00:00",
        ("cover.living_shades", "Living Room Shades", {"power": False}),
    ),
    ("tomorrow at 7 open the bedroom shades", "at: 2026-11-22T07:00:00+00:00", SHADES_UP),
    ("mañana a las 8 abre las persianas del dormitorio", "at: 2026-11-22T08:00:00+00:00", SHADES_UP),
    ("every evening at 7 turn on the porch light", "cron: 0 19 * * *", PORCH_ON),
    ("every day at sunset turn on the porch light", "sunset", PORCH_ON),
    ("turn the porch light on 30 minutes before sunset every day", "sunset: -30m", PORCH_ON),
    ("every weekday at 6:30 run good morning", "cron: 30 6 * * mon-fri", MORNING_JOB),
    ("todos los días al atardecer enciende la luz del porche", "sunset", PORCH_ON),
    ("entre semana a las 6 y media ejecuta buenos días", "cron: 30 6 * * mon-fri", MORNING_JOB),
    ("jeden Tag bei Sonnenuntergang schalte das Verandalicht ein", "sunset", PORCH_ON),
    ("werktags um halb sieben starte guten morgen", "cron: 30 6 * * mon-fri", MORNING_JOB),
    ("tous les jours au coucher du soleil allume la lumière du porche", "sunset", PORCH_ON),
    ("en semaine à 6h30 lance bonjour", "cron: 30 6 * * mon-fri", MORNING_JOB),
]
LEADS: dict[str, tuple[str, ...]] = {
    "en": ("I'll ",),
    "es": ("Lo haré: ", "Ejecutaré «"),
    "de": ("Mache ich: ", "Ich starte „"),
    "fr": ("Je le ferai : ", "Je lancerai « "),
}


@pytest.mark.parametrize(("text", "schedule", "does"), SCHEDULES)
async def test_schedules_in_every_language_store_a_typed_plan_or_a_routine(
    chat: tuple[JobsChat, Jobs], grammar: Understanding, text: str, schedule: str, does: tuple[Any, ...]
) -> None:
    jobs_chat, jobs = chat
    reply = await ask(jobs_chat, grammar, text)
    assert reply is not None, text
    (created,) = made(jobs)
    assert created.schedule.text == schedule
    if does[0] == "routine":
        assert (created.action.stored, created.plan) == (f"routine: {does[1]}", None)
    else:  # the grammar's reading, kept as data: exactly those devices, that change
        assert created.action.kind == "device" and created.action.text in text
        assert created.plan == {"ids": [does[0]], "names": [does[1]], "change": does[2]}
    outcome = grammar.understand(text)
    assert isinstance(outcome, Understood) and reply.startswith(LEADS[outcome.language]), reply
    assert created.id in reply and reply.count(".") >= 2  # what, when, which job


async def test_what_is_scheduled_and_cancelling_by_the_words_of_a_job(
    chat: tuple[JobsChat, Jobs], grammar: Understanding
) -> None:
    jobs_chat, jobs = chat
    assert await ask(jobs_chat, grammar, "what's scheduled?") == "Nothing is scheduled."
    await ask(jobs_chat, grammar, "remind me in 2 minutes to check the oven")
    await ask(jobs_chat, grammar, "every day at sunset turn on the porch light")
    await ask(jobs_chat, grammar, "remind me to call mum at 6")
    listing = await ask(jobs_chat, grammar, "what's scheduled?")
    assert listing is not None
    lines = listing.splitlines()
    assert lines[0].startswith("Remind you: check the oven — Once, Sat 21 Nov 07:47 (in 2 minutes)")
    assert any(
        line.startswith("Do: turn on the porch light — Every day at sunset — next: Sat 21 Nov 1") for line in lines
    )
    assert len(lines) == 3  # the heartbeat is Claw's own, not the owner's
    spanish = await ask(jobs_chat, grammar, "¿qué hay programado?")
    assert (
        spanish is not None
        and "Recordarte: check the oven — Una vez, sáb 21 nov 07:47 (dentro de 2 minutos)" in spanish
    )

    cancelled = await ask(jobs_chat, grammar, "cancel the oven reminder")
    assert cancelled is not None and cancelled.startswith("Cancelled: Remind you: check the oven"), cancelled
    assert sorted(j.action.text for j in made(jobs)) == ["call mum", "turn on the porch light"]
    deleted = await ask(jobs_chat, grammar, "delete the porch light schedule")
    assert deleted is not None and deleted.startswith("Cancelled: Do: turn on the porch light")
    assert [j.action.text for j in made(jobs)] == ["call mum"]
    nothing = await ask(jobs_chat, grammar, "cancel the dishwasher reminder")
    assert nothing == "I have no reminder or schedule about 'dishwasher'."
    assert await ask(jobs_chat, grammar, "cancel my reminders") is None  # which ones: the model asks
    assert len(made(jobs)) == 1


async def test_cancelling_one_of_two_alike_asks_which_and_the_id_settles_it(
    chat: tuple[JobsChat, Jobs], grammar: Understanding
) -> None:
    jobs_chat, jobs = chat
    await ask(jobs_chat, grammar, "remind me in 5 minutes to check the oven")
    await ask(jobs_chat, grammar, "remind me in 20 minutes to turn off the oven")
    question = await ask(jobs_chat, grammar, "cancel the oven reminder")
    ids = sorted(j.id for j in made(jobs))
    assert question is not None and question.startswith("Which one:") and all(i in question for i in ids)
    assert len(made(jobs)) == 2  # nothing cancelled on a guess
    answered = await ask(jobs_chat, grammar, f"cancel job {ids[0]}")
    assert answered is not None and answered.startswith("Cancelled:")
    assert [j.id for j in made(jobs)] == ids[1:]
    await ask(jobs_chat, grammar, "erinnere mich in 10 Minuten an den Ofen")
    german = await ask(jobs_chat, grammar, "lösche die Erinnerung an den Ofen")  # "Ofen" is not "oven": one match
    assert german is not None and german.startswith("Gelöscht: Erinnern: den Ofen"), german
    assert [j.id for j in made(jobs)] == ids[1:]


async def test_cancelling_in_the_other_languages(chat: tuple[JobsChat, Jobs], grammar: Understanding) -> None:
    jobs_chat, jobs = chat
    await ask(jobs_chat, grammar, "recuérdame en 10 minutos que mire el horno")
    await ask(jobs_chat, grammar, "rappelle-moi dans 10 minutes de regarder le four")
    spanish = await ask(jobs_chat, grammar, "cancela el recordatorio del horno")
    assert spanish is not None and spanish.startswith("Cancelado: Recordarte: mire el horno"), spanish
    french = await ask(jobs_chat, grammar, "annule le rappel du four")
    assert french is not None and french.startswith("Annulé : Te rappeler : regarder le four"), french
    assert made(jobs) == []


async def test_a_jobs_own_words_never_schedule_another_job(chat: tuple[JobsChat, Jobs], grammar: Understanding) -> None:
    jobs_chat, jobs = chat
    running = Request(principal=job("porch", "Owner"), channel="local", sender="local", via="schedule")
    for text in ("remind me in 2 minutes to check the oven", "every day at sunset turn on the porch light"):
        assert await ask(jobs_chat, grammar, text, running) is None
    assert made(jobs) == []


async def test_what_the_grammar_cannot_make_a_job_of_goes_to_the_model(
    chat: tuple[JobsChat, Jobs], grammar: Understanding
) -> None:
    jobs_chat, jobs = chat
    # understood as a schedule, but "dance a jig" is no command of this home: not the jobs' to answer
    assert await ask(jobs_chat, grammar, "every day at 7 dance a jig") is None
    # "sunset on weekdays" is beyond a schedule: the model may ask
    assert await ask(jobs_chat, grammar, "on weekdays at sunset turn on the porch light") is None
    no_time = Understood(intent="ClawRemind", action="remind", language="en", values={"job_what": "breathe"})
    assert await jobs_chat.remind(no_time, [], OWNER) is None
    assert made(jobs) == []


async def test_a_wildcard_begun_inside_a_word_keeps_only_the_owners_words(
    chat: tuple[JobsChat, Jobs], grammar: Understanding
) -> None:
    jobs_chat, jobs = chat
    said = "recuérdame en 10 minutos revisar el horno"
    for split in ("s revisa el horno", "utos revisa el horno"):  # "minuto|s …", "min|utos …"; "revisar" corrected
        understood = Understood(
            "ClawRemind",
            "remind",
            "es",
            values={"job_count": 10, "job_unit": 60, "job_what": split},
            text="recuérdame en 10 minutos revisa el horno",
            said=said,
        )
        reply = await jobs_chat.remind(understood, [], OWNER)
        assert reply is not None and reply.startswith("Te lo recordaré: revisar el horno."), reply
    # and through the grammar, whichever reading it ranks first
    reply = await ask(jobs_chat, grammar, said)
    assert reply is not None and reply.startswith("Te lo recordaré: revisar el horno."), reply
    assert [j.action.stored for j in made(jobs)] == ["say: revisar el horno"] * 3


def test_plans_come_from_the_grammar(grammar: Understanding) -> None:
    assert plan_of_words(grammar, "turn on the porch light") == {
        "ids": ["light.porch"],
        "names": ["Porch Light"],
        "change": {"power": True},
    }
    dim = plan_of_words(grammar, "set the desk lamp to 30%")
    assert dim == {"ids": ["light.desk_lamp"], "names": ["Desk Lamp"], "change": {"values": {"brightness": 30}}}
    assert plan_of_words(grammar, "apaga la luz del porche", "es") == {
        "ids": ["light.porch"],
        "names": ["Porch Light"],
        "change": {"power": False},
    }
    for not_a_command in ("is the porch light on", "run good morning", "turn on the lights", "dance a jig"):
        assert plan_of_words(grammar, not_a_command) is None, not_a_command


def test_said_times_become_schedules() -> None:
    assert said_clock(7, 0, None) == (time(7, 0), True)
    assert said_clock(11, 0, "night") == (time(23, 0), False)
    assert said_clock(2, 0, "night") == (time(2, 0), False)
    assert said_clock(7, 30, "pm") == (time(19, 30), False)
    assert said_clock(13, 0, "am") is None and said_clock(24, 0, None) is None
    assert next_time(time(7), True, "", SATURDAY, LONDON) == london(2026, 11, 21, 19, 0)
    assert next_time(time(7), True, "mon", SATURDAY, LONDON) == london(2026, 11, 23, 7, 0)
    assert next_time(time(7), False, "today", SATURDAY, LONDON) is None  # already past
    assert one_off({"job_seconds": 1800}, SATURDAY, Place(LONDON)) == "in: 30m"
    house = Place(LONDON, 51.5, -0.12)
    tomorrow_9am = {"job_hour": 9, "job_day": -3, "job_half": 1}
    assert one_off(tomorrow_9am, SATURDAY, house) == "at: 2026-11-22T09:00:00+00:00"
    assert one_off({"job_sun": 2}, SATURDAY, house) == "at: 2026-11-21T16:03:23+00:00"  # once, at today's sunset
    before = one_off({"job_sun": 2, "job_seconds": 1800, "job_side": -1}, SATURDAY, house)
    assert before == "at: 2026-11-21T15:33:23+00:00"
    assert one_off({"job_sun": 1}, SATURDAY, house) == "at: 2026-11-22T07:30:22+00:00"  # today's is past: tomorrow's
    assert repeating({"job_every": 96, "job_hour": 9}) == "cron: 0 9 * * sat,sun"
    assert repeating({"job_every": 1 | 4, "job_hour": 9, "job_minute": 15}) == "cron: 15 9 * * mon,wed"
    assert repeating({"job_every": 127, "job_sun": 1, "job_count": 10, "job_unit": 60, "job_side": 1}) == (
        "sunrise: +10m"
    )
    assert repeating({"job_every": 127, "job_sun": 2, "job_seconds": 1800, "job_side": -1}) == "sunset: -30m"
    assert repeating({"job_interval": 15, "job_unit": 60}) == "every: 15m"
    assert repeating({"job_part": 2, "job_hour": 7}) == "cron: 0 19 * * *"  # "every evening at 7"
    assert repeating({"job_part": 3, "job_hour": 2}) == "cron: 0 2 * * *"  # "every night at 2"
    assert repeating({"job_every": 31}) is None  # days without a time
    assert repeating({"job_every": 31, "job_sun": 2}) is None  # sunset is every day or never


async def test_a_reminder_that_has_gone_off_is_no_longer_scheduled(
    chat: tuple[JobsChat, Jobs], grammar: Understanding
) -> None:
    jobs_chat, jobs = chat
    await ask(jobs_chat, grammar, "remind me in 2 minutes to check the oven")
    clock = jobs.clock
    assert isinstance(clock, ManualClock)
    clock.advance(120)
    await jobs.run_due()
    assert await ask(jobs_chat, grammar, "what's scheduled?") == "Nothing is scheduled."
    assert await ask(jobs_chat, grammar, "was ist geplant?") == "Es ist nichts geplant."


REPEATING_REMINDERS = [
    ("remind me every morning at 8 to take my pills", "cron: 0 8 * * *", "take my pills"),
    ("remind me to water the plants every sunday at 10", "cron: 0 10 * * sun", "water the plants"),
    ("remind me at sunset to close the curtains", "at: 2026-11-21T16:03:23+00:00", "close the curtains"),
    ("recuérdame todos los días a las 9 de la noche que cierre la puerta", "cron: 0 21 * * *", "cierre la puerta"),
    ("erinnere mich jeden Montag um 7 an den Müll", "cron: 0 7 * * mon", "den Müll"),
    ("rappelle-moi tous les jours à 8h de prendre mes médicaments", "cron: 0 8 * * *", "prendre mes médicaments"),
]


@pytest.mark.parametrize(("text", "schedule", "what"), REPEATING_REMINDERS)
async def test_reminders_that_repeat_or_wait_for_the_sun(
    chat: tuple[JobsChat, Jobs], grammar: Understanding, text: str, schedule: str, what: str
) -> None:
    jobs_chat, jobs = chat
    reply = await ask(jobs_chat, grammar, text)
    assert reply is not None and what in reply, reply
    (created,) = made(jobs)
    assert (created.schedule.text, created.action.stored) == (schedule, f"say: {what}")
