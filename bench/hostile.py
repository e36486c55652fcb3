"""Hostile inputs against the real daemon: how many were tried, and crashes, 5xx, unauthorized actions, tracebacks.

.venv/bin/python bench/hostile.py [--random N]

A daemon with the home, WhatsApp and the jobs runs on the simulated home (127.0.N.x), the Twilio
fake and the scripted model, all on loopback; its real listeners get, over raw sockets and real
HTTP clients: malformed and oversized webhook bodies (signed and not), bogus charsets and encodings,
garbage on the port, random requests (hypothesis, the generator of tests/test_hostile_input.py),
bad and misplaced signatures, unknown senders, replayed webhooks, forged and guessed codes, and on
the private listener cross-site requests (`Origin: null`, foreign origins, no proof), DNS-rebinding
Host names, wrong tokens and deeply nested JSON. Counted:

- crashes: a request with no HTTP answer where one was due, or the daemon unhealthy afterwards
  (health not answering, a supervised component restarted or failed);
- 5xx: answers with a server-error status;
- unauthorized actions: a device state, the kill switch, an audit row with an outcome other than
  held/denied, a held code released, or an inbound message stored, that the battery must not cause;
- tracebacks: log records with a traceback, or at ERROR and above.

The goal is 0 / 0 / 0 / 0. One JSON object per figure; `by_kind` says where the inputs went.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from _figures import figure
from hypothesis import HealthCheck, Phase, given, settings

from claw.core.safety import PAUSED_KEY
from claw.core.store import messages as log_db
from claw.core.store.audit import get_setting, recent
from claw.daemon import parse_config
from claw_sim.home import SimHome
from tests.conftest import free_port
from tests.fakes.ollama_server import ScriptedOllama
from tests.fakes.twilio_api import FakeTwilio, inbound_params, signed_webhook
from tests.home_fixtures import start_house
from tests.test_cross_site import ATTACKS
from tests.test_hostile_input import hostile_requests, malformed_cases, raw_request, signature_for
from tests.whatsapp_support import ALEX, SAM, SENDER, STRANGER, TEMPLATE, Daemon

FORM = "application/x-www-form-urlencoded"
MB = 1024 * 1024
REFUSED = frozenset({"held", "denied", "locked out"})  # audit outcomes that record a refusal, not an action


class Trouble(logging.Handler):
    """Every record with a traceback, or at ERROR and above, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info or record.exc_text:
            self.records.append(record)


@dataclass
class Tally:
    tried: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    no_answer: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # a refusal was due, and a 2xx came
    failed: list[str] = field(default_factory=list)  # 5xx

    def answer(self, kind: str, what: str, status: int | None, *, refused: bool = True) -> None:
        self.tried[kind] += 1
        if status is None:
            self.no_answer.append(f"{kind}: {what}")
            return
        self.statuses[status] += 1
        if status >= 500:
            self.failed.append(f"{kind}: {what} -> {status}")
        if refused and 200 <= status < 300:
            self.accepted.append(f"{kind}: {what} -> {status}")

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


async def raw(port: int, path: str, headers: list[tuple[str, str]], body: bytes, **kw: Any) -> int | None:
    try:
        status, _ = await raw_request(port, path, headers, body, **kw)
    except (AssertionError, OSError, IndexError, ValueError, TimeoutError):
        return None
    return status


async def request(
    http: aiohttp.ClientSession, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> int | None:
    try:
        async with http.request(method, url, data=body, headers=headers or {}) as response:
            await response.read()
            return response.status
    except aiohttp.ClientError:
        return None


def draw_random(n: int) -> list[dict[str, Any]]:
    """`n` requests from tests/test_hostile_input.py's generator (hypothesis, generate phase only)."""
    drawn: list[dict[str, Any]] = []

    @settings(
        max_examples=n, phases=[Phase.generate], database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(hostile_requests())
    def collect(item: dict[str, Any]) -> None:
        drawn.append(item)

    collect()
    return drawn


async def battery(d: Daemon, sim: SimHome, tally: Tally, random_n: int) -> dict[str, Any]:
    app = d.app
    public = app.config.public.port
    private = app.config.private.port
    hook = "/twilio/whatsapp"

    # -- the public listener: malformed bodies, oversized bodies, garbage, random requests ------------
    for path in (hook, "/twilio/status"):
        for what, headers, body in malformed_cases(d, path):
            tally.answer("malformed body", what, await raw(public, path, headers, body))
        # a parameter name ending in `*` with no `=`: Python's email parser (behind aiohttp's
        # request.content_type) raises IndexError on it
        for content_type in (f"{FORM}; charset*", "a;b*", f"{FORM}; x*; charset=utf-8"):
            headers = [("Content-Type", content_type), ("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")]
            tally.answer("malformed body", f"Content-Type {content_type!r}", await raw(public, path, headers, b"a=1"))
    params = inbound_params(f"whatsapp:{SAM}", "x")
    signed = signature_for(d, hook, params)
    boundary = "B0undary"
    big_multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="Body"\r\n\r\n'.encode()
        + b"x" * (10 * MB)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    big_form = urlencode({**params, "Body": "x" * (10 * MB)}).encode()
    for signature in ("", signed):
        sig = [("X-Twilio-Signature", signature)] if signature else []
        multipart = [("Content-Type", f"multipart/form-data; boundary={boundary}"), *sig]
        tally.answer("oversized body", "10 MB multipart", await raw(public, hook, multipart, big_multipart))
        tally.answer("oversized body", "10 MB form", await raw(public, hook, [("Content-Type", FORM), *sig], big_form))
        chunked = await raw(public, hook, [("Content-Type", FORM), *sig], big_form, chunked=True)
        tally.answer("oversized body", "10 MB chunked form", chunked)
    tally.answer(
        "garbage", "bad Content-Length", await raw(public, hook, [("Content-Length", "12abc")], b"", length=False)
    )
    tally.answer("garbage", "bad header name", await raw(public, hook, [("Bad Header", "x")], b""))
    tally.tried["garbage"] += 1
    with contextlib.suppress(OSError, TimeoutError):
        reader, writer = await asyncio.open_connection("127.0.0.1", public)
        writer.write(bytes(range(256)) + b"\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        if answer and b" 4" not in answer.split(b"\r\n", 1)[0]:
            tally.accepted.append(f"garbage: not HTTP -> {answer[:40]!r}")
    for item in draw_random(random_n):
        status = await raw(public, item["path"], item["headers"], item["body"], chunked=item["chunked"])
        tally.answer("random request", repr(item)[:2000], status)

    # -- signatures, senders, replays, codes (well-formed forms) -------------------------------------
    async def signed_post(form: dict[str, str], *, url: str | None = None, token: str | None = None) -> int | None:
        body, headers = signed_webhook(url or d.base + hook, form, token or d.fake.auth_token)
        async with aiohttp.ClientSession() as http:
            return await request(
                http, "POST", d.base + hook, urlencode(body).encode(), {**headers, "Content-Type": FORM}
            )

    unlock = inbound_params(f"whatsapp:{SAM}", "unlock the front door")
    tally.answer("bad signature", "wrong auth token", await signed_post(unlock, token="not-the-token"))
    tally.answer("bad signature", "signed for another URL", await signed_post(unlock, url="http://evil.example/hook"))
    tally.answer("bad signature", "signed for /twilio/status", await signed_post(unlock, url=d.base + "/twilio/status"))
    for n, signature in enumerate(["", "=", "bm90IGEgc2lnbmF0dXJl", signed, "A" * 1000]):
        form = urlencode({**unlock, "Body": f"unlock the front door {n}"}).encode()
        headers = {"Content-Type": FORM, **({"X-Twilio-Signature": signature} if signature else {})}
        async with aiohttp.ClientSession() as http:
            tally.answer(
                "bad signature",
                f"signature {signature[:12]!r}",
                await request(http, "POST", d.base + hook, form, headers),
            )
    stored_before = await app.store.run(log_db.count)
    for text in (
        "unlock the front door",
        "sleepy time",
        "turn off the kitchen ceiling",
        "open the garage door",
        "disarm the alarm",
        "add +15550000001 as an owner",
        "OK ABCD",
    ):
        d.fake.record_inbound(f"whatsapp:{STRANGER}")
        status = await signed_post(inbound_params(f"whatsapp:{STRANGER}", text))
        tally.answer("unknown sender", text, status, refused=False)  # 200 (acknowledged, then ignored) is fine

    await asyncio.sleep(0.5)
    stranger_stored = await app.store.run(log_db.count) - stored_before

    # Sam asks for the unlock: held; the code goes to the owners. Then the ways to forge it.
    d.fake.record_inbound(f"whatsapp:{SAM}")
    d.fake.record_inbound(f"whatsapp:{ALEX}")
    status = await signed_post(unlock)
    assert status == 200, f"the owner's own request was refused ({status})"
    for _ in range(100):
        if app.guard.pending():
            break
        await asyncio.sleep(0.05)
    pending = app.guard.pending()
    code = pending[0].code if pending else "ZZZZ"
    for _ in range(5):  # the same webhook again: Twilio's retry, or an attacker's replay
        tally.answer("replayed webhook", "unlock again", await signed_post(unlock), refused=False)
    tally.answer(
        "forged code",
        "stranger echoes the real code",
        await signed_post(inbound_params(f"whatsapp:{STRANGER}", f"OK {code}")),
        refused=False,
    )
    tally.answer(
        "forged code",
        "another owner echoes it",
        await signed_post(inbound_params(f"whatsapp:{ALEX}", f"OK {code}")),
        refused=False,
    )
    wrong = [c for c in (f"{random.randint(0, 9999):04d}" for _ in range(60)) if c != code][:40]
    for guess in wrong:
        tally.answer(
            "forged code",
            "owner guesses",
            await signed_post(inbound_params(f"whatsapp:{SAM}", f"OK {guess}")),
            refused=False,
        )
    tally.answer(
        "forged code",
        "the real code after 40 wrong guesses",
        await signed_post(inbound_params(f"whatsapp:{SAM}", f"OK {code}")),
        refused=False,
    )

    # -- the private listener: cross-site, rebinding, tokens, nested JSON ----------------------------
    own = f"http://127.0.0.1:{private}"
    bearer = {"Authorization": f"Bearer {app.token}"}
    origins = [
        "null",
        "http://evil.example",
        "http://127.0.0.1",
        f"http://127.0.0.1:{private + 1}",
        f"https://127.0.0.1:{private}",
        f"http://localhost:{private}",
        f"http://127.0.0.1:{private}.evil.example",
    ]
    # a fresh connection per request: the server closes one whose body it could not drain, by design
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for path, body in ATTACKS:
            for origin in origins:
                for extra in ({}, {"X-Claw": "1"}, bearer):
                    for kind in ("text/plain", "application/json"):
                        status = await request(
                            http, "POST", own + path, body, {"Origin": origin, "Content-Type": kind, **extra}
                        )
                        tally.answer("cross-site", f"{path} from {origin} {sorted(extra)}", status)
            for headers in (
                {"Origin": own},
                {"Origin": own, "Content-Type": "text/plain"},
                {"Referer": own + "/"},
                {"Referer": "http://evil.example/"},
                {"Sec-Fetch-Site": "cross-site"},
                {"Origin": own, "Authorization": "Bearer wrong"},
            ):
                tally.answer(
                    "cross-site", f"{path} {sorted(headers)}", await request(http, "POST", own + path, body, headers)
                )
            for host in (
                "evil.example",
                f"evil.example:{private}",
                f"127.0.0.1:{private + 1}",
                "localhost",
                f"[::2]:{private}",
            ):
                status = await request(
                    http, "POST", own + path, body, {"Host": host, "Content-Type": "application/json", **bearer}
                )
                tally.answer("rebinding", f"{path} Host {host}", status)
        for host in ("evil.example", f"evil.example:{private}"):
            for path in ("/api/devices", "/v1/models", "/"):
                tally.answer(
                    "rebinding",
                    f"GET {path} Host {host}",
                    await request(http, "GET", own + path, headers={"Host": host, **bearer}),
                )
        for token in ("", "wrong", "\u00e9t\u00e9", "x" * 5000):
            status = await request(http, "GET", own + "/v1/models", headers={"Authorization": f"Bearer {token}"})
            tally.answer("token", f"bearer {token[:8]!r}", status)
            status = await request(
                http, "POST", own + "/v1/chat/completions", b"{}", {"Authorization": f"Bearer {token}"}
            )
            tally.answer("token", f"completion with bearer {token[:8]!r}", status)
        lamp = app.home.registry.devices()[0].id
        deep = b'{"text": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
        for what, body, headers in [
            ("deep arrays", b"[" * 100_000 + b"]" * 100_000, {}),
            ("deep objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, {}),
            ("deep arrays within 64 kB", b"[" * 20_000 + b"]" * 20_000, {}),
            ("deep objects within 64 kB", b'{"a":' * 5_000 + b"1" + b"}" * 5_000, {}),
            ("deep inside text", deep, {}),
            ("unclosed nesting", b"[" * 1_000_000, {}),
            ("broken UTF-8", b'{"text": "\xff\xfe"}', {}),
            ("bogus charset", b'{"text": [1]}', {"Content-Type": "application/json; charset=utf-99"}),
            ("a huge number", b'{"text": ' + b"9" * 100_000 + b"}", {}),
            ("not JSON", b"\x00\x01garbage", {}),
            ("false gzip", b'{"text": "hi"}', {"Content-Encoding": "gzip"}),
            ("RFC 2231 parameter without a value", b'{"text": "hi"}', {"Content-Type": "application/json; charset*"}),
            ("9 MB", b'{"text": "' + b"a" * (9 * MB) + b'"}', {}),
        ]:
            for path in ("/api/chat", "/api/killswitch", f"/api/devices/{lamp}", "/v1/chat/completions"):
                sent = {"Content-Type": "application/json", **bearer, **headers}
                status = await request(http, "POST", own + path, body, sent)
                # the RFC 2231 case carries valid JSON: answered or refused, it must not be a 500
                tally.answer("malformed JSON", f"{path} {what}", status, refused=not what.startswith("RFC 2231"))
    return {"code": code, "stranger_stored": stranger_stored}


async def run(random_n: int) -> dict[str, Any]:
    trouble = Trouble()
    logging.getLogger().addHandler(trouble)
    logging.getLogger().setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="claw-hostile-") as tmp_dir:
        tmp = Path(tmp_dir)
        ollama, fake = ScriptedOllama(), FakeTwilio()
        await ollama.start()
        await fake.start()
        # the daemon reads the Twilio credentials from the environment
        os.environ.pop("CREDENTIALS_DIRECTORY", None)
        os.environ["TWILIO_ACCOUNT_SID"] = fake.account_sid
        os.environ["TWILIO_AUTH_TOKEN"] = fake.auth_token
        subnet = random.randint(60, 200)
        probe = SimHome(tmp / "probe", cameras=False, speakers=False, port=0, subnet=subnet)
        public = free_port()
        config = parse_config(
            {
                "state_dir": str(tmp / "state"),
                "llm": {"host": ollama.url, "timeout": 10.0},
                "private": {"port": free_port()},
                "public": {"port": public},
                "home": {**probe.config_extra()["home"], "discovery": True, "poll_interval": 3600.0},
                "whatsapp": {
                    "enabled": True,
                    "api_base": fake.url,
                    "public_url": f"http://127.0.0.1:{public}",
                    "sender": SENDER,
                    "template_sid": TEMPLATE,
                    "send_timeout": 1.0,
                    "retry_base": 0.05,
                    "retry_max_delay": 0.3,
                },
                "owners": [{"name": "Sam", "number": SAM}, {"name": "Alex", "number": ALEX}],
            },
            "(hostile bench)",
        )
        house = await start_house(tmp, config, speakers=False, parts=("home", "whatsapp", "jobs"), subnet=subnet)
        app, sim = house.app, house.sim
        d = Daemon(app, fake)
        tally = Tally()
        try:
            states = {name: dict(dev.state) for name, dev in sim.devices.items()}
            audit_before = len(await app.store.run(recent, 10_000, None))
            restarts_before = {name: c["restarts"] for name, c in app.supervisor.health().items()}
            held = await battery(d, sim, tally, random_n)
            await asyncio.sleep(1.0)  # let the router finish what was accepted
            unauthorized = await _unauthorized(app, sim, states, audit_before, held)
            crashes = await _crashes(app, restarts_before)
        finally:
            await app.stop()
            await sim.stop()
            await fake.stop()
            await ollama.stop()
            logging.getLogger().removeHandler(trouble)
    return {
        "tried": sum(tally.tried.values()),
        "by_kind": dict(tally.tried),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "crashes": crashes + [f"no answer: {w}" for w in tally.no_answer],
        "server_errors": tally.server_errors,
        "failed": tally.failed,
        "accepted": tally.accepted,
        "unauthorized": unauthorized,
        "tracebacks": [f"{r.name}: {r.getMessage()[:200]} {_exception(r)}" for r in trouble.records],
    }


async def _unauthorized(
    app: Any, sim: SimHome, states: dict[str, dict[str, Any]], audit_before: int, held: dict[str, Any]
) -> list[str]:
    found: list[str] = []
    for name, dev in sim.devices.items():
        if dict(dev.state) != states[name]:
            found.append(f"{name} changed: {states[name]} -> {dict(dev.state)}")
    if await app.store.run(get_setting, PAUSED_KEY) not in (None, "", "0"):
        found.append("the kill switch was set")
    rows = await app.store.run(recent, 10_000, None)
    new = rows[: len(rows) - audit_before]  # newest first
    found += [
        f"audit: {r['action']} {r['target']} {r['outcome']} by {r['actor']} via {r['path']}"
        for r in new
        if r["outcome"] not in REFUSED
    ]
    if held["code"] not in {p.code for p in app.guard.pending()}:
        found.append("the held unlock is gone from the pending actions (released or dropped)")
    if held["stranger_stored"]:
        found.append(f"{held['stranger_stored']} messages from an unknown sender were stored")
    sam = [m for m in await app.store.run(log_db.live, app.local.conversation) if m.role == "user"]
    if sum(m.content == "unlock the front door" for m in sam) > 1:
        found.append("a replayed webhook was taken as a new message")
    return found


def _exception(record: logging.LogRecord) -> str:
    if record.exc_info and record.exc_info[1] is not None:
        return f"({type(record.exc_info[1]).__name__}: {str(record.exc_info[1])[:200]})"
    return ""


async def _crashes(app: Any, restarts_before: dict[str, int]) -> list[str]:
    found: list[str] = []
    for name, component in app.supervisor.health().items():
        if component["restarts"] > restarts_before.get(name, 0) or component["last_error"]:
            found.append(f"component {name}: restarts {component['restarts']}, last error {component['last_error']}")
    async with aiohttp.ClientSession() as http:
        for port, path in ((app.config.private.port, "/api/health"), (app.config.public.port, "/media/x")):
            status = await request(http, "GET", f"http://127.0.0.1:{port}{path}")
            if status is None or status >= 500:
                found.append(f"{path} on :{port} answered {status} after the battery")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--random", type=int, default=300, help="random requests from the hypothesis generator")
    args = parser.parse_args()
    result = asyncio.run(run(args.random))
    figure("hostile_inputs_tried", result["tried"], "inputs", by_kind=result["by_kind"], statuses=result["statuses"])
    figure("hostile_crashes", len(result["crashes"]), "crashes", first=result["crashes"][:5])
    figure("hostile_5xx", result["server_errors"], "responses", first=result["failed"][:10])
    figure("hostile_unauthorized_actions", len(result["unauthorized"]), "actions", first=result["unauthorized"][:10])
    figure("hostile_tracebacks", len(result["tracebacks"]), "log records", first=result["tracebacks"][:5])
    figure("hostile_accepted", len(result["accepted"]), "2xx where a refusal was due", first=result["accepted"][:10])


if __name__ == "__main__":
    main()
