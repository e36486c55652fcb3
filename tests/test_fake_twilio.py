"""The real twilio SDK, through make_client, against the loopback Twilio fake."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator

from claw.channels.whatsapp.twilio_http import (
    RebasedHttpClient,
    basic_auth_header,
    classify,
    make_client,
    needs_template,
)
from tests.fakes.twilio_api import FakeTwilio, inbound_params, signed_webhook

OWNER = "whatsapp:+15551234567"
SANDBOX = "whatsapp:+14155238886"
TEMPLATE = "HX" + "a" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120


class Receiver:
    """A tiny site standing in for Claw's public app: serves a picture, takes status callbacks."""

    def __init__(self) -> None:
        self.url = ""
        self.posts: list[tuple[str, dict[str, str], str]] = []  # (url Twilio called, form, signature)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/snap.png", self._picture)
        app.router.add_post("/twilio/status", self._status)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _picture(self, request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def _status(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.posts.append((str(request.url), form, request.headers.get("X-Twilio-Signature", "")))
        return web.Response(status=204)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    twilio = FakeTwilio()
    await twilio.start()
    yield twilio
    await twilio.stop()


@pytest.fixture
async def client(fake: FakeTwilio) -> AsyncIterator[Any]:
    c = make_client(fake.account_sid, fake.auth_token, fake.url, timeout=2.0)
    yield c
    await c.http_client.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def send(client: Any, body: str = "hello", **kwargs: Any) -> Any:
    return await client.messages.create_async(to=OWNER, from_=SANDBOX, body=body, **kwargs)


def test_rebase_rewrites_only_twilio_hosts() -> None:
    http = RebasedHttpClient("http://127.0.0.1:8999/")
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=x&DateSent%3E=2024-01-01"
    assert http.rebase(url) == "http://127.0.0.1:8999/2010-04-01/Accounts/AC1/Messages.json?To=x&DateSent%3E=2024-01-01"
    assert http.rebase("https://api.dublin.ie1.twilio.com/v1/x") == "http://127.0.0.1:8999/v1/x"
    assert http.rebase("https://eviltwilio.com/x") == "https://eviltwilio.com/x"
    assert RebasedHttpClient(None).rebase(url) == url
    with pytest.raises(ValueError):
        RebasedHttpClient("127.0.0.1:8999")


async def test_create_fetch_list_round_trip(fake: FakeTwilio, client: Any, receiver: Receiver) -> None:
    fake.record_inbound(OWNER)
    before = datetime.now(UTC) - timedelta(seconds=1)
    created = await send(
        client,
        "the porch light is on",
        media_url=[f"{receiver.url}/snap.png"],
        status_callback=f"{receiver.url}/twilio/status",
    )
    assert re.fullmatch(r"SM[0-9a-f]{32}", created.sid)
    assert (created.status, created.to, created.from_, created.body, created.num_media) == (
        "queued",
        OWNER,
        SANDBOX,
        "the porch light is on",
        "1",
    )
    recorded = fake.messages[0]
    assert recorded["media_url"] == [f"{receiver.url}/snap.png"]
    assert recorded["status_callback"] == f"{receiver.url}/twilio/status"
    assert recorded["content_sid"] is None

    await fake.settle()
    fetched = await client.messages(created.sid).fetch_async()
    assert (fetched.sid, fetched.status, fetched.error_code) == (created.sid, "delivered", None)
    assert fetched.date_sent is not None
    assert recorded["media_fetched"] == [(200, "image/png", len(PNG))]

    for i in range(4):
        await send(client, f"more {i}")
    await client.messages.create_async(to="whatsapp:+15550000000", from_=SANDBOX, content_sid=TEMPLATE)
    listed = await client.messages.list_async(to=OWNER, date_sent_after=before, page_size=2)
    assert [m.body for m in listed] == ["more 3", "more 2", "more 1", "more 0", "the porch light is on"]
    assert len([r for r in fake.requests if r[0] == "GET" and r[1].endswith("Messages.json")]) == 3
    later = await client.messages.list_async(to=OWNER, date_sent_after=datetime.now(UTC) + timedelta(hours=1))
    assert later == []
    with pytest.raises(TwilioRestException) as missing:
        await client.messages("SM" + "f" * 32).fetch_async()
    assert (missing.value.status, missing.value.code) == (404, 20404)


async def test_wrong_credentials_are_refused(fake: FakeTwilio) -> None:
    bad = make_client(fake.account_sid, "not-the-token", fake.url, timeout=2.0)
    try:
        with pytest.raises(TwilioRestException) as info:
            await send(bad)
    finally:
        await bad.http_client.close()
    assert (info.value.status, info.value.code) == (401, 20003)
    assert classify(info.value) == "permanent"
    assert fake.messages == []


async def test_body_limits_and_empty_messages(fake: FakeTwilio, client: Any) -> None:
    fake.record_inbound(OWNER)
    await send(client, "x" * 1600)
    with pytest.raises(TwilioRestException) as long:
        await send(client, "x" * 1601)
    assert (long.value.status, long.value.code) == (400, 21617)
    with pytest.raises(TwilioRestException) as empty:
        await client.messages.create_async(to=OWNER, from_=SANDBOX)
    assert (empty.value.status, empty.value.code) == (400, 21619)
    assert len(fake.messages) == 1


async def test_429_is_retry_and_the_sdk_does_not_retry(fake: FakeTwilio, client: Any) -> None:
    fake.record_inbound(OWNER)
    fake.fail_next(1, status=429, code=20429)
    with pytest.raises(TwilioRestException) as info:
        await send(client)
    assert (info.value.status, info.value.code, classify(info.value)) == (429, 20429, "retry")
    assert fake.messages == []
    fake.fail_next(1, status=503, code=20503)
    with pytest.raises(TwilioRestException) as down:
        await send(client)
    assert classify(down.value) == "unknown"
    assert [m for m, _ in fake.requests] == ["POST", "POST"]  # one attempt each: no hidden retries
    await send(client)
    assert len(fake.delivered(OWNER)) == 1


async def test_hang_surfaces_as_timeout_not_http_error(fake: FakeTwilio) -> None:
    fake.record_inbound(OWNER)
    quick = make_client(fake.account_sid, fake.auth_token, fake.url, timeout=0.3)
    fake.fail_next(1, hang=5)
    try:
        with pytest.raises(TimeoutError) as info:
            await send(quick)
    finally:
        await quick.http_client.close()
    assert not isinstance(info.value, TwilioRestException)
    assert classify(info.value) == "unknown"
    assert fake.messages == []


async def test_after_accept_failure_is_found_before_resending(fake: FakeTwilio, client: Any) -> None:
    fake.record_inbound(OWNER)
    before = datetime.now(UTC) - timedelta(seconds=1)
    fake.fail_next(1, status=500, code=20500, after_accept=True)
    with pytest.raises(TwilioRestException) as info:
        await send(client, "garage closed")
    assert classify(info.value) == "unknown"
    # What a careful outbox does with "unknown": look before sending again.
    found = await client.messages.list_async(to=OWNER, date_sent_after=before)
    assert [m.body for m in found] == ["garage closed"]

    quick = make_client(fake.account_sid, fake.auth_token, fake.url, timeout=0.3)
    fake.fail_next(1, hang=5, after_accept=True)
    try:
        with pytest.raises(TimeoutError):
            await send(quick, "second")
    finally:
        await quick.http_client.close()
    assert [m["body"] for m in fake.messages] == ["garage closed", "second"]


async def test_refused_connection_is_retry() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before use: nothing listens there
    dead = make_client("AC" + "0" * 32, "t", f"http://127.0.0.1:{port}", timeout=2.0)
    try:
        with pytest.raises(aiohttp.ClientConnectorError) as info:
            await send(dead)
    finally:
        await dead.http_client.close()
    assert classify(info.value) == "retry"


async def test_outage_window_then_recovery(fake: FakeTwilio, client: Any) -> None:
    fake.record_inbound(OWNER)
    fake.fail_for(0.3)
    with pytest.raises(TwilioRestException) as info:
        await send(client)
    assert (info.value.status, classify(info.value)) == (503, "unknown")
    with pytest.raises(TwilioException) as listing:  # the SDK's pager raises the plain kind
        await client.messages.list_async(to=OWNER)
    assert classify(listing.value) == "unknown"
    await asyncio.sleep(0.35)
    assert (await send(client)).status == "queued"


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (TwilioRestException(429, "u", code=20429), "retry"),
        (TwilioRestException(400, "u", code=21610), "permanent"),
        (TwilioRestException(400, "u", code=63014), "permanent"),
        (TwilioRestException(400, "u", code=63021), "permanent"),
        (TwilioRestException(400, "u", code=63016), "permanent"),
        (TwilioRestException(502, "u", code=20500), "unknown"),
        (aiohttp.ConnectionTimeoutError(), "retry"),
        (aiohttp.ServerDisconnectedError(), "unknown"),
        (TimeoutError(), "unknown"),
        (ValueError("bad argument"), "permanent"),
    ],
)
def test_classify(exc: BaseException, outcome: str) -> None:
    assert classify(exc) == outcome
    assert needs_template(exc) == (getattr(exc, "code", None) == 63016)


async def test_24h_window_and_templates(fake: FakeTwilio, client: Any) -> None:
    now = [1_700_000_000.0]
    fake.clock = lambda: now[0]
    fake.record_inbound(OWNER, when=now[0] - 25 * 3600)
    with pytest.raises(TwilioRestException) as info:
        await send(client, "free-form")
    assert (info.value.status, info.value.code, needs_template(info.value)) == (400, 63016, True)

    fake.templates[TEMPLATE] = "Something happened at {{1}}: reply to see it"
    sent = await client.messages.create_async(
        to=OWNER, from_=SANDBOX, content_sid=TEMPLATE, content_variables=json.dumps({"1": "the door"})
    )
    assert sent.body == "Something happened at the door: reply to see it"
    assert fake.messages[-1]["content_variables"] == '{"1": "the door"}'

    fake.record_inbound(OWNER)  # the owner replied: window open
    await send(client, "here is the picture")
    now[0] += 24 * 3600 + 1
    with pytest.raises(TwilioRestException):
        await send(client, "too late")
    assert [m["body"] for m in fake.delivered(OWNER)] == [sent.body, "here is the picture"]


async def test_window_failure_reported_by_callback(fake: FakeTwilio, client: Any, receiver: Receiver) -> None:
    fake.window_failure = "callback"
    created = await send(client, "outside", status_callback=f"{receiver.url}/twilio/status")
    assert created.status == "queued"
    await fake.settle()
    assert [(p["MessageStatus"], p.get("ErrorCode")) for _, p, _ in receiver.posts] == [
        ("queued", None),
        ("failed", "63016"),
    ]
    assert fake.delivered() == []


async def test_inbound_media_needs_basic_auth(fake: FakeTwilio) -> None:
    url = fake.add_media(b"\xff\xd8jpeg", "image/jpeg")
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as anonymous:
            assert anonymous.status == 401
            assert (await anonymous.json())["code"] == 20003
        async with http.get(url, headers={"Authorization": basic_auth_header(fake.account_sid, "wrong")}) as wrong:
            assert wrong.status == 401
        async with http.get(url, headers={"Authorization": basic_auth_header(fake.account_sid, fake.auth_token)}) as ok:
            assert (ok.status, ok.content_type, await ok.read()) == (200, "image/jpeg", b"\xff\xd8jpeg")


async def test_unfetchable_media_fails_the_message(fake: FakeTwilio, client: Any, receiver: Receiver) -> None:
    fake.record_inbound(OWNER)
    await send(client, "pic", media_url=[f"{receiver.url}/gone.png"], status_callback=f"{receiver.url}/twilio/status")
    await fake.settle()
    message = fake.messages[0]
    assert message["media_fetched"][0][0] == 404
    assert (message["status"], message["error_code"]) == ("failed", 63019)
    assert receiver.posts[-1][1]["ErrorCode"] == "63019"


async def test_status_callbacks_are_signed(fake: FakeTwilio, client: Any, receiver: Receiver) -> None:
    fake.record_inbound(OWNER)
    callback = f"{receiver.url}/twilio/status?channel=wa"
    created = await send(client, status_callback=callback)
    await fake.settle()
    assert [p["MessageStatus"] for _, p, _ in receiver.posts] == ["queued", "sent", "delivered"]
    validator = RequestValidator(fake.auth_token)
    for url, form, signature in receiver.posts:
        assert url == callback
        assert form["MessageSid"] == created.sid
        assert validator.validate(url, form, signature)
        assert not RequestValidator("other-token").validate(url, form, signature)
    assert [c["status"] for c in fake.callbacks] == [204, 204, 204]


def test_signed_webhook_validates_and_tampering_does_not() -> None:
    url = "https://claw.example.net/twilio/whatsapp"
    params = inbound_params(OWNER, "sleepy time", media=[("https://api.twilio.com/m/ME1", "image/jpeg")])
    assert (params["WaId"], params["NumMedia"], params["MediaContentType0"]) == (
        "15551234567",
        "1",
        "image/jpeg",
    )
    assert params["MessageSid"] == params["SmsMessageSid"]
    assert re.fullmatch(r"MM[0-9a-f]{32}", params["MessageSid"])
    form, headers = signed_webhook(url, params, "secret")
    validator = RequestValidator("secret")
    assert validator.validate(url, form, headers["X-Twilio-Signature"])
    assert not validator.validate(url, {**form, "Body": "unlock the door"}, headers["X-Twilio-Signature"])
    assert not validator.validate(url + "?x=1", form, headers["X-Twilio-Signature"])
