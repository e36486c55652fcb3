"""The public listener serves webhooks and pictures by token, nothing else; long texts split cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from claw.channels.message_parts import split_body, title_of
from claw.doctor import doctor
from tests.whatsapp_support import JPEG, SAM, Daemon

pytest_plugins = ["tests.whatsapp_fixtures"]


async def get(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if data else {}
    async with aiohttp.ClientSession() as http, http.request(method, url, data=data, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def test_media_by_token_then_expired(daemon: Daemon) -> None:
    path = daemon.app.state / "snap.jpg"
    path.write_bytes(JPEG)
    token = daemon.app.media.issue(path, "image/jpeg", ttl=0.3)
    status, headers, body = await get(f"{daemon.base}/media/{token}")
    assert (status, headers["Content-Type"], body) == (200, "image/jpeg", JPEG)
    assert headers["Cache-Control"] == "no-store"
    assert headers["Server"] == "claw"
    assert len(token) >= 32
    await asyncio.sleep(0.35)
    assert (await get(f"{daemon.base}/media/{token}"))[0] == 404


async def test_nothing_else_is_reachable(daemon: Daemon) -> None:
    big = daemon.app.state / "big.jpg"
    big.write_bytes(b"\xff\xd8" + b"\x00" * (5 * 1024 * 1024))
    too_big = daemon.app.media.issue(big, "image/jpeg")
    gone = daemon.app.media.issue(daemon.app.state / "never-written.jpg", "image/jpeg")
    for path in (
        "/",
        "/api/health",
        "/media/",
        "/media/not-a-token",
        f"/media/{too_big}",
        f"/media/{gone}",
        "/media/..%2Fclaw.db",
        "/claw.db",
        "/twilio/whatsapp",
        "/twilio/status",
    ):
        status, headers, _ = await get(daemon.base + path)
        assert status == 404, path
        assert "aiohttp" not in headers.get("Server", "") and "Python" not in headers.get("Server", "")
    assert (await get(f"{daemon.base}/media/x", method="POST"))[0] == 404
    assert (await get(f"{daemon.base}/twilio/whatsapp", method="POST", data=b"Body=" + b"x" * 200_000))[0] == 413


def test_short_text_is_one_part() -> None:
    assert split_body("  hello  ") == ["hello"]
    assert split_body("x" * 1600) == ["x" * 1600]


def test_split_prefers_paragraphs_then_sentences_then_words() -> None:
    paragraphs = ["a" * 900, "b" * 900]
    assert split_body("\n\n".join(paragraphs)) == ["a" * 900 + " (1/2)", "b" * 900 + " (2/2)"]
    sentences = " ".join(["This is one sentence of forty characters."] * 60)
    parts = split_body(sentences)
    assert all(len(p) <= 1600 for p in parts)
    assert all(p.rsplit(" ", 1)[0].endswith(".") for p in parts)
    words = " ".join(["word"] * 700)
    assert all(p.rsplit(" ", 1)[0].endswith("word") for p in split_body(words))
    unbroken = "z" * 4000
    parts = split_body(unbroken)
    assert "".join(p.rsplit(" ", 1)[0] for p in parts) == unbroken


@pytest.mark.parametrize("length", [1601, 3300, 16_500, 40_000])
def test_split_parts_fit_and_are_numbered(length: int) -> None:
    text = " ".join(f"w{i}" for i in range(length))[:length]
    parts = split_body(text)
    n = len(parts)
    assert n > 1
    assert all(len(p) <= 1600 for p in parts)
    assert [p.rsplit(" ", 1)[1] for p in parts] == [f"({i}/{n})" for i in range(1, n + 1)]
    assert " ".join(p.rsplit(" ", 1)[0] for p in parts).split() == text.split()


def test_titles_for_templates() -> None:
    assert title_of("FedEx truck just pulled up. The driver has a parcel.") == "FedEx truck just pulled up."
    assert title_of("whatever", "Garage\nopen") == "Garage open"
    long = title_of("word " * 100)
    assert len(long) <= 100 and long.endswith("…")
    assert title_of("") == "New message"


def config_file(d: Daemon, tmp_path: Path, public_url: str) -> Path:
    """The running daemon's settings as a TOML file, for `claw doctor`."""
    c = d.app.config
    path = tmp_path / "claw.toml"
    path.write_text(
        f"""
state_dir = "{c.state_dir}"
[llm]
host = "{c.llm.host}"
[private]
port = {c.private.port}
[public]
port = {c.public.port}
[whatsapp]
enabled = true
api_base = "{c.whatsapp.api_base}"
public_url = "{public_url}"
sender = "{c.whatsapp.sender}"
template_sid = "{c.whatsapp.template_sid}"
[[owners]]
name = "Sam"
number = "{SAM}"
""",
        encoding="utf-8",
    )
    return path


async def test_doctor_confirms_the_public_listener_and_catches_an_exposed_dashboard(
    daemon: Daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await doctor(config_file(daemon, tmp_path, daemon.base))
    out = capsys.readouterr().out
    assert f"ok    {daemon.base} reaches Claw's public listener (and only it)" in out
    assert "secret twilio_auth_token is set" in out
    assert "no dead-lettered messages" in out
    private = f"http://127.0.0.1:{daemon.app.config.private.port}"
    await doctor(config_file(daemon, tmp_path, private))
    assert f"FAIL  {private} exposes the dashboard API" in capsys.readouterr().out
