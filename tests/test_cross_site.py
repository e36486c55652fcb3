"""No web page can drive the house: cross-site writes, DNS rebinding and the token, over real HTTP.

Issue 13, item 2: `Origin: null` with `Content-Type: text/plain` (a sandboxed iframe or a `file:`
page, no preflight) paused everything, ran routines and chatted; a valid token skipped the Host
check. Every request here is a real aiohttp request to a started daemon on the simulated home.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from claw.core.safety import PAUSED_KEY
from claw.core.store import messages as log_db
from claw.core.store.audit import get_setting, recent
from claw.daemon import Daemon
from claw_sim.home import SimHome
from tests.dashboard_home import base_url, house

House = tuple[Daemon, SimHome, aiohttp.ClientSession]
ROUTINE = "/api/routines/sleepy time/run"
# what each endpoint would do, as a page would send it: a JSON text in a text/plain body
ATTACKS = [
    ("/api/killswitch", b'{"paused": true}'),
    (ROUTINE, b""),
    ("/api/chat", b'{"text": "sleepy time"}'),
]


@pytest_asyncio.fixture
async def home(tmp_path: Path) -> AsyncIterator[House]:
    async with house(tmp_path) as (app, sim), aiohttp.ClientSession(base_url(app)) as http:
        yield app, sim, http


@pytest_asyncio.fixture
async def locked(tmp_path: Path) -> AsyncIterator[House]:
    """A daemon that wants the token everywhere (as when bound to the LAN), with a cookie-keeping client."""
    async with (
        house(tmp_path, private={"token_required": True}) as (app, sim),
        aiohttp.ClientSession(base_url(app), cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        yield app, sim, http


def port(app: Daemon) -> int:
    return app.config.private.port


def bearer(app: Daemon) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.token}"}


async def send(
    http: aiohttp.ClientSession, path: str, body: bytes = b"", /, *, method: str = "POST", **headers: str
) -> tuple[int, Any]:
    """One request with exactly these headers (keys with `_` become `-`); the status and the JSON body."""
    wanted = {key.replace("_", "-"): value for key, value in headers.items()}
    async with http.request(method, path, data=body, headers=wanted) as response:
        return response.status, await response.json(content_type=None)


async def untouched(app: Daemon, sim: SimHome, audit_before: int) -> None:
    """Nothing ran: not paused, the routine's lights still on, no audit row, no chat turn."""
    assert await app.store.run(get_setting, PAUSED_KEY) in (None, "", "0")
    assert sim.device("Kitchen Ceiling").state["on"] is True
    assert len(await app.store.run(recent, 1000, None)) == audit_before
    said = await app.store.run(log_db.live, app.local.conversation)
    assert [m for m in said if m.role == "user"] == []


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "claw.web.auth" and r.levelno == logging.WARNING]


# -- the reported hole ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body"), ATTACKS, ids=["killswitch", "routine", "chat"])
async def test_origin_null_text_plain_is_refused_and_nothing_runs(
    home: House, caplog: pytest.LogCaptureFixture, path: str, body: bytes
) -> None:
    app, sim, http = home
    caplog.set_level(logging.WARNING, logger="claw.web.auth")
    before = len(await app.store.run(recent, 1000, None))
    status, answer = await send(http, path, body, Origin="null", Content_Type="text/plain")
    assert status == 403 and "cross-site" in answer["error"]
    await untouched(app, sim, before)
    [line] = refusals(caplog)  # one line, no traceback
    assert "refused POST" in line.getMessage() and line.exc_info is None


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "http://evil.example",
        "http://127.0.0.1",  # another port on this machine is another origin
        "http://127.0.0.1:{other}",
        "https://127.0.0.1:{port}",
        "http://localhost:{port}",  # the request went to 127.0.0.1: a page on localhost is not this origin
        "http://127.0.0.1:{port}.evil.example",
    ],
)
async def test_foreign_origins_are_refused_even_with_the_header_and_the_token(home: House, origin: str) -> None:
    app, sim, http = home
    origin = origin.format(port=port(app), other=port(app) + 1)
    before = len(await app.store.run(recent, 1000, None))
    for path, body in ATTACKS:
        for extra in ({}, {"X-Claw": "1"}, bearer(app)):
            status, answer = await send(http, path, body, Origin=origin, Content_Type="application/json", **extra)
            assert status == 403, (path, extra)
            assert answer["error"]
    await untouched(app, sim, before)


async def test_a_foreign_referer_without_origin_is_refused(home: House) -> None:
    app, sim, http = home
    before = len(await app.store.run(recent, 1000, None))
    status, _ = await send(http, "/api/killswitch", b'{"paused": true}', Referer="http://evil.example/x", X_Claw="1")
    assert status == 403
    # a browser that left out Origin (Sec-Fetch-* cannot be forged or dropped by a page) is a page too
    status, _ = await send(http, "/api/killswitch", b'{"paused": true}', Sec_Fetch_Site="cross-site")
    assert status == 403
    await untouched(app, sim, before)


# -- a same-origin page: the X-Claw header ----------------------------------------------------------------


async def test_same_origin_without_the_header_is_refused(home: House) -> None:
    app, sim, http = home
    before = len(await app.store.run(recent, 1000, None))
    for path, body in ATTACKS:
        for content_type in ("text/plain", "application/json"):
            status, answer = await send(http, path, body, Origin=base_url(app), Content_Type=content_type)
            assert status == 403 and "X-Claw" in answer["error"], (path, content_type)
    status, _ = await send(http, "/api/killswitch", b'{"paused": true}', Referer=f"{base_url(app)}/")
    assert status == 403
    await untouched(app, sim, before)


async def test_same_origin_with_the_header_is_allowed(home: House) -> None:
    app, sim, http = home
    own = {"Origin": base_url(app), "X-Claw": "1", "Content-Type": "application/json"}
    status, answer = await send(http, "/api/killswitch", b'{"paused": true}', **own)
    assert status == 200 and answer == {"paused": True}
    assert await app.store.run(get_setting, PAUSED_KEY) == "1"
    status, _ = await send(http, "/api/killswitch", b'{"paused": false}', **own)
    assert status == 200
    status, answer = await send(http, ROUTINE, **own)
    assert status == 200 and answer["status"] == "done"
    assert sim.device("Kitchen Ceiling").state["on"] is False
    status, answer = await send(http, "/api/chat", b'{"text": "is the garage open"}', **own)
    assert status == 200 and "Garage" in answer["reply"]
    # Referer stands in for a missing Origin; localhost is as good as 127.0.0.1 when the page uses it
    status, _ = await send(http, "/api/killswitch", b'{"paused": false}', Referer=f"{base_url(app)}/", X_Claw="1")
    assert status == 200
    local = f"localhost:{port(app)}"
    status, _ = await send(
        http, "/api/killswitch", b'{"paused": false}', Host=local, Origin=f"http://{local}", X_Claw="1"
    )
    assert status == 200


async def test_the_dashboard_script_sends_the_header(home: House) -> None:
    _, _, http = home
    async with http.get("/static/app.js") as response:
        script = await response.text()
    helper = script.split("async function api(", 1)[1].split("fetch(path, init)", 1)[0]
    assert '"X-Claw": "1"' in helper  # test_dashboard_browser drives every POST through it


# -- the token, and clients that are not browsers ---------------------------------------------------------


async def test_the_token_alone_allows_a_write(home: House) -> None:
    app, _, http = home
    # claw chat with CLAW_TOKEN: Authorization, no Origin; a text body is fine from a non-browser
    status, answer = await send(
        http, "/api/chat", b'{"text": "is the garage open"}', Content_Type="text/plain", **bearer(app)
    )
    assert status == 200 and "Garage" in answer["reply"]
    status, _ = await send(http, "/api/killswitch", b'{"paused": true}', Origin=base_url(app), **bearer(app))
    assert status == 200
    status, _ = await send(
        http, "/api/killswitch", b'{"paused": false}', Origin=base_url(app), Authorization="Bearer x"
    )
    assert status == 403  # a wrong token is no token: a page still needs X-Claw


async def test_clients_without_a_browser_need_nothing_on_loopback(home: House) -> None:
    app, _, http = home
    async with http.post("/api/killswitch", json={"paused": True}) as response:  # curl, claw chat, scripts
        assert response.status == 200
    assert await app.store.run(get_setting, PAUSED_KEY) == "1"


async def test_the_cookie_alone_does_not_let_a_page_write(locked: House) -> None:
    app, _, http = locked
    async with http.get(f"/?token={app.token}") as response:  # the printed URL: sets the HttpOnly cookie
        assert response.status == 200
    status, _ = await send(http, "/api/killswitch", b'{"paused": true}', Origin=base_url(app))
    assert status == 403  # the browser attaches the cookie by itself: not a proof
    assert await app.store.run(get_setting, PAUSED_KEY) in (None, "", "0")
    status, _ = await send(http, "/api/killswitch", b'{"paused": true}', Origin=base_url(app), X_Claw="1")
    assert status == 200  # the dashboard: cookie + X-Claw + its own Origin
    status, _ = await send(http, "/api/killswitch", b'{"paused": false}', Origin="null", X_Claw="1", **bearer(app))
    assert status == 403
    status, _ = await send(http, "/api/killswitch", b'{"paused": false}', Authorization="Bearer \u00e9t\u00e9")
    assert status == 401  # a non-ASCII token is wrong, not a 500


# -- Host: DNS rebinding, token or not --------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "evil.example", "127.0.0.1:{other}", "localhost", "[::2]:{port}"]
)
async def test_a_valid_token_does_not_skip_the_host_check(home: House, host: str) -> None:
    app, sim, http = home
    host = host.format(port=port(app), other=port(app) + 1)
    before = len(await app.store.run(recent, 1000, None))
    for method, path in (("GET", "/api/devices"), ("GET", "/v1/models"), ("GET", "/")):
        status, answer = await send(http, path, method=method, Host=host, **bearer(app))
        assert status == 403 and answer["error"], (method, path)
    for path, body in ATTACKS:
        status, _ = await send(http, path, body, Host=host, Content_Type="application/json", **bearer(app))
        assert status == 403, path
    await untouched(app, sim, before)


async def test_host_check_when_the_token_is_required(locked: House) -> None:
    app, _, http = locked
    status, _ = await send(http, "/api/devices", method="GET", Host=f"evil.example:{port(app)}", **bearer(app))
    assert status == 403  # was skipped whenever the token was required
    status, _ = await send(http, "/api/devices", method="GET", **bearer(app))
    assert status == 200
    status, _ = await send(http, "/api/devices", method="GET", Host=f"localhost:{port(app)}", **bearer(app))
    assert status == 200


# -- reads are unaffected ------------------------------------------------------------------------------------


async def test_gets_need_no_header_and_ignore_origin(home: House) -> None:
    app, _, http = home
    for origin in ("null", "http://evil.example", base_url(app)):
        for path in ("/api/killswitch", "/api/devices", "/api/audit", "/api/health", "/"):
            async with http.get(path, headers={"Origin": origin}) as response:
                assert response.status == 200, (origin, path)
    async with http.head("/api/health", headers={"Origin": "null"}) as response:
        assert response.status == 200
