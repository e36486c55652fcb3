"""Principals, the one authority table and the one identity map of owners (issue 19: the trust model, hole 5).

Every request says who speaks; a request that does not cannot act. Owners are one map for every channel:
an owner removed by chat on one channel is no owner on Telegram either (the real daemon, the Bot API fake).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from claw.core import authority
from claw.core.agent_tokens import AgentTokens
from claw.core.config import Config, Owner
from claw.core.errors import ClawError
from claw.core.owners import Owners
from claw.core.principals import NOBODY, agent, dashboard, job, model_for, owner, skill, system
from claw.core.request import Request
from claw.core.store import Store
from claw.core.store.audit import recent
from claw.core.store.messages import live
from claw.daemon import Daemon, build
from claw_sim.home import SimHome
from tests.dashboard_home import house
from tests.fakes.ollama_server import ScriptedOllama
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.whatsapp_support import eventually

CODE = re.compile(r"\bOK ([A-Z0-9]{4})\b")
SAM, ALEX, KIM = 4242, 4343, 4444
SAM_NUMBER = "+15551234567"
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


# -- the authority table --------------------------------------------------------------------------------


def test_only_an_owners_channel_confirms_or_sees_a_code() -> None:
    speakers = [owner("Sam", "whatsapp"), dashboard("Sam"), agent("Claude Desktop"), job("night check", "Sam")]
    speakers += [system("discovery"), skill("hue"), model_for(owner("Sam", "telegram")), NOBODY]
    confirming = [p.kind for p in speakers if authority.may(p, "confirm")]
    seeing = [p.kind for p in speakers if authority.sees_codes(p)]
    assert confirming == seeing == ["owner", "dashboard"]
    for who in (agent("x"), model_for(dashboard("Sam")), job("x")):
        assert authority.decide(who, "manage") == "code"  # management by anyone but an owner waits for a code
    assert all(authority.decide(NOBODY, power) == "no" for power in ("read", "act", "manage", "confirm"))


def test_every_code_prompt_names_who_asked() -> None:
    assert agent("Claude Desktop").label == "Claude Desktop (MCP)"
    assert job("night check", "Sam").label == "the job 'night check'"
    assert model_for(owner("Sam", "whatsapp")).label == "the model for Sam"


def test_a_request_that_does_not_say_who_asked_is_nobodys() -> None:
    request = Request()
    assert request.principal is NOBODY and not request.owner
    assert not authority.may(request.principal, "act")


# -- no default request: outside a turn, a tool call changes nothing ---------------------------------------


@pytest_asyncio.fixture
async def home(tmp_path: Path) -> AsyncIterator[tuple[Daemon, SimHome]]:
    async with house(tmp_path, owners=[{"name": "Alice", "number": "+15550001111"}]) as (app, sim):
        yield app, sim


async def test_a_tool_called_without_a_request_changes_nothing(home: tuple[Daemon, SimHome]) -> None:
    app, sim = home
    assert sim.device("Kitchen Ceiling").state["on"] is True
    said = json.loads(await app.tools.call("turn_on_off", {"on": False, "name": "Kitchen Ceiling"}))
    assert "does not say who asked" in said["error"]
    assert sim.device("Kitchen Ceiling").state["on"] is True  # once it ran as "the owner on the terminal"
    alice = Request(principal=dashboard("Alice"), conversation="owner:+15550001111", via="dashboard")
    await app.tools.call("turn_on_off", {"on": False, "name": "Kitchen Ceiling"}, request=alice)
    assert sim.device("Kitchen Ceiling").state["on"] is False


# -- one identity map: removed anywhere, removed on Telegram ----------------------------------------------


@pytest_asyncio.fixture
async def bot_api() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def tg_config(
    make_config: Callable[..., Config], ollama: ScriptedOllama, bot_api: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Config]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)

    def make(**sections: Any) -> Config:
        telegram = {"enabled": True, "api_base": bot_api.url, "poll_timeout": 5, "send_timeout": 2.0}
        owners = [{"name": "Sam", "number": SAM_NUMBER, "telegram": SAM}, {"name": "Alex", "telegram": ALEX}]
        return make_config(llm_host=ollama.url, telegram=telegram, owners=owners, **sections)

    return make


async def replies(bot_api: FakeTelegram, chat: int, count: int = 1) -> list[str]:
    return list(await eventually(lambda: len(bot_api.texts(chat)) >= count and bot_api.texts(chat), 10.0, "replies"))


async def test_an_owner_removed_by_chat_is_no_owner_on_telegram(
    tg_config: Callable[..., Config], bot_api: FakeTelegram
) -> None:
    config = tg_config()
    app = build(config, parts={"telegram"})
    await app.start()
    try:
        bot_api.message(SAM, "/help")
        assert "Commands" in (await replies(bot_api, SAM))[0]  # Sam is an owner on Telegram
        alex = Request(principal=owner("Alex", "telegram"), conversation=f"owner:telegram:{ALEX}", channel="telegram")
        held = json.loads(await app.tools.call("remove_owner", {"who": "Sam"}, request=alex, by_model=True))
        assert held["status"] == "needs_confirmation"
        code = CODE.search(held["tell_the_owner"]).group(1)  # type: ignore[union-attr]
        bot_api.message(ALEX, f"OK {code}", first_name="Alex")  # Alex confirms on Telegram
        assert "no longer an owner" in (await replies(bot_api, ALEX))[0]
        bot_api.message(SAM, "unlock the front door")

        async def refused() -> bool:  # Sam is a stranger on Telegram now: refused and audited, not answered
            rows = await app.store.run(recent, 100)
            return any(r["outcome"] == "denied" and r["target"] == str(SAM) for r in rows)

        await eventually(refused, 10.0, "Sam refused on Telegram")
        assert not any("unlock" in m.content for m in await app.store.run(live, f"owner:{SAM_NUMBER}"))
        # and added by chat: Kim, on Telegram only, may talk at once
        held = json.loads(
            await app.tools.call("add_owner", {"name": "Kim", "telegram": KIM}, request=alex, by_model=True)
        )
        code = CODE.search(held["tell_the_owner"]).group(1)  # type: ignore[union-attr]
        bot_api.message(ALEX, f"OK {code}", first_name="Alex")
        assert "can message me on Telegram" in (await replies(bot_api, ALEX, 2))[1]
        bot_api.message(KIM, "/help", first_name="Kim")
        assert "Commands" in (await replies(bot_api, KIM))[0]
    finally:
        await app.stop()
    app = build(config, parts={"telegram"})  # and after a restart: the map is kept in the store
    await app.start()
    try:
        assert app.owners.by_telegram(SAM) is None and app.owners.by_telegram(ALEX) is not None
        assert app.owners.by_telegram(KIM) is not None
    finally:
        await app.stop()


async def test_the_map_is_one_for_every_channel(tmp_path: Path) -> None:
    store = Store(tmp_path / "claw.db")
    await store.open()
    try:
        sam = Owner("Sam", SAM_NUMBER, SAM)
        owners = Owners((sam, Owner("Alex", "", ALEX)), store)
        await owners.load()
        assert owners.find("whatsapp:+1 555 123-4567") == sam and owners.by_telegram(SAM) == sam
        await owners.remove(sam)
        assert owners.find(SAM_NUMBER) is None and owners.by_telegram(SAM) is None
        again = Owners((sam, Owner("Alex", "", ALEX)), store)
        await again.load()
        assert again.by_telegram(SAM) is None and [o.name for o in again.all()] == ["Alex"]
    finally:
        await store.close()


def test_an_agent_dropped_from_the_config_is_shut_out_and_tokens_are_private(tmp_path: Path) -> None:
    tokens = AgentTokens(tmp_path, ("claude-desktop", "home-llm"))
    tokens.ensure()
    desktop, llm = tokens.token("claude-desktop"), tokens.token("home-llm")
    assert tokens.who(desktop) == "claude-desktop" and tokens.who(llm) == "home-llm" and desktop != llm
    assert (tmp_path / "agent-tokens.json").stat().st_mode & 0o077 == 0  # readable by Claw's user only
    assert AgentTokens(tmp_path, ("claude-desktop",)).who(llm) is None  # no longer in [mcp] agents
    assert tokens.who("") is None and tokens.who(desktop + "x") is None
    with pytest.raises(ClawError, match="no agent called"):
        tokens.token("stranger")


async def test_why_an_owner_change_cannot_work_is_told_only_in_an_owners_turn(
    make_config: Callable[..., Config],
) -> None:
    app = build(make_config(owners=[{"name": "Sam", "number": "+15550001111"}]), parts=())
    await app.start()
    try:
        sam = Request(principal=owner("Sam", "whatsapp"), conversation="owner:+15550001111", channel="whatsapp")
        told = json.loads(await app.tools.call("remove_owner", {"who": "Desk Lamp"}, request=sam, by_model=True))
        assert "not an owner" in told["error"] and app.guard.pending() == []  # no code for the impossible
        stranger = Request(principal=agent("probe"), conversation="agent:probe", channel="mcp")
        held = await app.tools.call("remove_owner", {"who": "Desk Lamp"}, request=stranger)
        assert "+15550001111" not in held and "Sam" not in held and "needs_confirmation" in held  # the list stays in
    finally:
        await app.stop()
