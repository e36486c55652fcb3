"""Rate limits: per sender at the webhook, per person or agent on device commands, per conversation on codes."""

from __future__ import annotations

import re
from collections.abc import Callable

import aiohttp

from claw.assistant.speech import say_results
from claw.core.config import Config
from claw.core.principals import agent, owner
from claw.core.ratelimit import CommandLimits, RateLimit
from claw.core.request import Request
from claw.core.safety import Guard
from claw.core.store import Store
from claw.core.store.audit import recent
from claw.home.plans import Change
from claw.home.targeting import Target
from tests.fakes.twilio_api import FakeTwilio, inbound_params, signed_webhook
from tests.home_fixtures import HomeOnly
from tests.whatsapp_support import SAM, STRANGER, start_daemon

pytest_plugins = ["tests.whatsapp_fixtures"]


def test_a_window_slides() -> None:
    now = [0.0]
    limit = RateLimit(2, 60.0, clock=lambda: now[0])
    assert limit.allow("sam") and limit.allow("sam") and not limit.allow("sam")
    assert limit.allow("alex")  # per key
    now[0] = 60.5
    assert limit.allow("sam")


async def test_commands_beyond_the_limit_are_refused_and_audited_per_person(home_only: HomeOnly) -> None:
    home = home_only.home
    home.control.limits = CommandLimits(agent=3)  # the mechanism, with a small limit (the real one: 60 a minute)

    def sam() -> Request:  # each call its own turn, as each MCP call or HTTP request is
        return Request(principal=agent("Sam"))

    for on in (True, False, True):
        applied = await home.actions.change(Target(name="desk lamp"), Change(power=on), sam())
        assert "Desk Lamp" in say_results(applied.results, applied.change, "en")
    applied = await home.actions.change(Target(name="desk lamp"), Change(power=False), sam())
    text = say_results(applied.results, applied.change, "en")
    assert [r.status for r in applied.results] == ["limited"] and "try again in a minute" in text
    alex = Request(principal=agent("Alex"))
    assert (await home.actions.change(Target(name="desk lamp"), Change(power=False), alex)).results[0].status == "done"
    denied = [a for a in await home_only.store.run(recent) if a["outcome"] == "denied"]
    assert [a["actor"] for a in denied] == ["Sam (MCP)"]


async def test_a_flooding_owner_gets_429_and_strangers_do_not_fill_the_audit_log(
    wa_config: Callable[..., Config], fake: FakeTwilio
) -> None:
    d = await start_daemon(wa_config(), fake)
    try:
        url = f"{d.base}/twilio/whatsapp"
        statuses = []
        async with aiohttp.ClientSession() as http:
            for i in range(32):
                form, headers = signed_webhook(url, inbound_params(f"whatsapp:{SAM}", f"ping {i}"), fake.auth_token)
                async with http.post(url, data=form, headers=headers) as resp:
                    statuses.append(resp.status)
            for i in range(20):
                form, headers = signed_webhook(url, inbound_params(f"whatsapp:{STRANGER}", f"hi {i}"), fake.auth_token)
                async with http.post(url, data=form, headers=headers) as resp:
                    assert resp.status == 200  # a stranger learns nothing
        assert statuses[:30] == [200] * 30 and statuses[30:] == [429, 429]
        strangers = [a for a in await d.app.store.run(recent, 500) if a["actor"] == f"unknown:{STRANGER}"]
        assert len(strangers) == 5
    finally:
        await d.app.stop()


async def test_only_the_newest_codes_of_a_conversation_stay_live(tmp_path: object) -> None:
    store = Store(f"{tmp_path}/claw.db")
    await store.open()
    try:
        guard = Guard(store)
        sam = Request(principal=owner("Sam", "whatsapp"), conversation="owner:+1")

        async def act() -> str:
            return "done"

        codes = [(await guard.hold(f"unlock door {i}", act, sam)).code for i in range(6)]
        assert "doesn't match" in await guard.confirm(codes[0], sam)  # the oldest gave way to the sixth
        assert await guard.confirm(codes[5], sam) == "done"
        assert all(re.fullmatch(r"[A-Z0-9]{4}", c) for c in codes)
    finally:
        await store.close()
