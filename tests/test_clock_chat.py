"""The time and the date from the clock, without the model, in four languages; the model sees the quarter hour."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from claw.assistant.clock_chat import DAYS, MONTHS
from claw.assistant.memory import quarter_hour
from claw.core.config import Config
from claw.daemon import Daemon, build
from tests.fakes.ollama_server import ScriptedOllama

TIME = {  # several ways each language asks, as households type them
    "en": ["what time is it", "What's the time?", "do you have the time", "tell me the time please"],
    "es": ["¿qué hora es?", "que hora es ahora", "dime la hora"],
    "de": ["Wie spät ist es?", "wie viel Uhr ist es", "wieviel uhr ist es jetzt"],
    "fr": ["Quelle heure est-il ?", "il est quelle heure", "tu as l'heure ?"],
}
DATE = {
    "en": ["what day is it today", "what's the date?", "What's today's date"],
    "es": ["¿qué día es hoy?", "a qué fecha estamos", "cuál es la fecha de hoy"],
    "de": ["Welcher Tag ist heute?", "der wievielte ist heute", "welches Datum haben wir heute"],
    "fr": ["Quel jour sommes-nous ?", "on est quel jour", "quelle est la date d'aujourd'hui"],
}


@pytest_asyncio.fixture
async def app(ollama: ScriptedOllama, make_config: Callable[..., Config]) -> AsyncIterator[Daemon]:
    daemon = build(make_config(llm_host=ollama.url, assistant={"languages": list(TIME)}), parts=())
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()


@pytest.mark.parametrize("lang", list(TIME))
async def test_the_time_is_read_from_the_clock_not_the_model(app: Daemon, ollama: ScriptedOllama, lang: str) -> None:
    for text in TIME[lang]:
        before = time.strftime("%H:%M")
        reply = (await app.local.ask(text)).text
        after = time.strftime("%H:%M")
        assert before in reply or after in reply, (text, reply)
    assert ollama.chat_requests == []


@pytest.mark.parametrize("lang", list(DATE))
async def test_the_date_is_read_from_the_clock_in_the_asking_language(
    app: Daemon, ollama: ScriptedOllama, lang: str
) -> None:
    for text in DATE[lang]:
        reply = (await app.local.ask(text)).text
        now = time.localtime()
        assert DAYS[lang][now.tm_wday] in reply and MONTHS[lang].split()[now.tm_mon - 1] in reply, (text, reply)
        assert str(now.tm_year) in reply and f" {now.tm_mday}" in reply, (text, reply)
    assert ollama.chat_requests == []


def test_the_prompt_holds_the_quarter_hour_so_its_prefix_stays_the_same_for_fifteen_minutes() -> None:
    start = time.mktime((2026, 12, 8, 14, 0, 0, 0, 0, -1))
    assert quarter_hour(start) == quarter_hour(start + 14 * 60 + 59)
    assert quarter_hour(start + 15 * 60) != quarter_hour(start)
    assert quarter_hour(start + 7 * 60).endswith(time.strftime("between 14:00 and 14:15 %Z", time.localtime(start)))
    assert quarter_hour(start).startswith("Tuesday 2026-12-08")
