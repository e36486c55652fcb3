"""Hostile input: malformed, oversized and random requests to the public webhooks and /api/chat are 4xx.

Each answer is refused with one warning line at most: never a 5xx, never a traceback, never an ERROR
record, and nothing reaches the inbox or the model. The webhook reads the raw body within a limit,
refuses anything but a plain form, decodes it itself and checks Twilio's signature before anything
else touches the params. Requests go over raw sockets so that the bytes are exactly the attacker's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from claw.channels.whatsapp.channel import FORM_LIMIT, REFUSALS_PER_MINUTE, form_params
from claw.core.store import messages as log_db
from claw.core.store.audit import recent
from claw.core.untrusted import FORWARDED
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.fakes.twilio_api import inbound_params
from tests.whatsapp_support import JPEG, SAM, STRANGER, Daemon, eventually

pytest_plugins = ["tests.whatsapp_fixtures"]

FORM = "application/x-www-form-urlencoded"
MB = 1024 * 1024


async def raw_request(
    port: int,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    method: str = "POST",
    length: bool = True,
    chunked: bool = False,
) -> tuple[int, bytes]:
    """Send exactly these bytes to 127.0.0.1:port; return the status and body of the answer.

    The answer is read while the body is still being written: a server may answer 413 and stop
    reading long before a 10 MB body is through.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers]
    if chunked:
        head.append("Transfer-Encoding: chunked")
    elif length:
        head.append(f"Content-Length: {len(body)}")
    answer = asyncio.create_task(reader.read())

    async def send() -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            step = 256 * 1024
            for start in range(0, len(body), step):
                piece = body[start : start + step]
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                await writer.drain()
                if answer.done():
                    return
            if chunked:
                writer.write(b"0\r\n\r\n")
            await writer.drain()

    try:
        await asyncio.wait_for(send(), 20)
        raw = await asyncio.wait_for(answer, 20)
    finally:
        answer.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    status_line, _, rest = raw.partition(b"\r\n")
    assert status_line.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")), raw[:200]
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def signature_for(d: Daemon, path: str, params: dict[str, str], token: str | None = None) -> str:
    url = d.base + path
    return str(RequestValidator(token or d.fake.auth_token).compute_signature(url, params))


def port_of(d: Daemon) -> int:
    return d.app.config.public.port


@contextlib.contextmanager
def clean_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Everything logged inside: no ERROR record, no traceback."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="claw"), caplog.at_level(logging.DEBUG, logger="aiohttp"):
        yield
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info or r.exc_text]
    assert not problems, [r.getMessage() for r in problems]
    assert "Traceback" not in caplog.text


async def nothing_accepted(d: Daemon, ollama: ScriptedOllama) -> None:
    await asyncio.sleep(0.1)
    assert await d.app.store.run(log_db.count) == 0
    assert await d.app.store.run(recent) == []  # not even a "denied" audit entry: nothing got that far
    assert ollama.chat_requests == []
    assert d.fake.messages == []


# -- the malformed bodies of the report, signed and unsigned --------------------------------------


def malformed_cases(d: Daemon, path: str) -> list[tuple[str, list[tuple[str, str]], bytes]]:
    """(what, headers, body) for each malformed request; each is signed for the params it pretends to carry."""
    params = inbound_params(f"whatsapp:{SAM}", "unlock the front door")
    form = urlencode(params).encode()
    signed = signature_for(d, path, params)
    boundary = "XyZ"
    multipart = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in params.items()
    )
    multipart_body = (multipart + f"--{boundary}--\r\n").encode()
    cases: list[tuple[str, list[tuple[str, str]], bytes]] = [
        ("multipart without boundary", [("Content-Type", "multipart/form-data")], multipart_body),
        ("multipart with boundary", [("Content-Type", f"multipart/form-data; boundary={boundary}")], multipart_body),
        ("bogus charset", [("Content-Type", f"{FORM}; charset=utf-99")], form),
        ("charset that is no charset", [("Content-Type", f"{FORM}; charset=rot13")], form),
        ("a parameter the header parser chokes on", [("Content-Type", f"{FORM}; charset*")], form),
        ("false gzip", [("Content-Type", FORM), ("Content-Encoding", "gzip")], form),
        ("real gzip", [("Content-Type", FORM), ("Content-Encoding", "gzip")], gzip.compress(form)),
        ("unknown encoding", [("Content-Type", FORM), ("Content-Encoding", "br, zz")], form),
        ("random bytes as a form", [("Content-Type", FORM)], bytes(range(256)) * 4),
        ("random bytes, no type", [], b"\x00\xff\xfe" * 100),
        ("JSON", [("Content-Type", "application/json")], json.dumps(params).encode()),
        ("broken percent-encoding", [("Content-Type", FORM)], form + b"&Body=%ff%fe"),
        ("field without '='", [("Content-Type", FORM)], form + b"&Body"),
        ("empty field", [("Content-Type", FORM)], form + b"&&"),
        ("raw UTF-8 on the wire", [("Content-Type", FORM)], form + "&Note=héllo".encode()),
        ("thousands of fields", [("Content-Type", FORM)], b"&".join([b"a=1"] * 5000)),
    ]
    out = []
    for what, headers, body in cases:
        out.append((f"{what} (unsigned)", headers, body))
        out.append((f"{what} (signed)", [*headers, ("X-Twilio-Signature", signed)], body))
    return out


@pytest.mark.parametrize("path", ["/twilio/whatsapp", "/twilio/status"])
async def test_malformed_bodies_are_4xx_without_a_traceback(
    daemon: Daemon, ollama: ScriptedOllama, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with clean_log(caplog):
        for what, headers, body in malformed_cases(daemon, path):
            status, answer = await raw_request(port_of(daemon), path, headers, body)
            assert status in (400, 403), (what, status, answer[:200])
            assert b"Traceback" not in answer and b"File " not in answer, what
    await nothing_accepted(daemon, ollama)


async def test_oversized_bodies_are_413_before_they_are_read(
    daemon: Daemon, ollama: ScriptedOllama, caplog: pytest.LogCaptureFixture
) -> None:
    port = port_of(daemon)
    params = inbound_params(f"whatsapp:{SAM}", "x")
    signed = signature_for(daemon, "/twilio/whatsapp", params)
    boundary = "B0undary"
    big = (f'--{boundary}\r\nContent-Disposition: form-data; name="Body"\r\n\r\n'.encode() + b"x" * (10 * MB)) + (
        f"\r\n--{boundary}--\r\n".encode()
    )
    form = urlencode({**params, "Body": "x" * (10 * MB)}).encode()
    with clean_log(caplog):
        for signature in ("", signed):
            headers = [("X-Twilio-Signature", signature)] if signature else []
            multipart = [("Content-Type", f"multipart/form-data; boundary={boundary}"), *headers]
            # 10 MB declared by Content-Length: refused from the headers alone.
            assert (await raw_request(port, "/twilio/whatsapp", multipart, big))[0] == 413
            assert (await raw_request(port, "/twilio/whatsapp", [("Content-Type", FORM), *headers], form))[0] == 413
            # No length declared (chunked): refused once the limit is passed while reading.
            chunked = await raw_request(
                port, "/twilio/whatsapp", [("Content-Type", FORM), *headers], form, chunked=True
            )
            assert chunked[0] == 413 if signature else chunked[0] in (403, 413)
            assert (await raw_request(port, "/twilio/status", [("Content-Type", FORM), *headers], form))[0] == 413
        # Just over the limit, signed, chunked: 413 too.
        just_over = urlencode({**params, "Body": "y" * FORM_LIMIT}).encode()
        headers = [("Content-Type", FORM), ("X-Twilio-Signature", signed)]
        assert (await raw_request(port, "/twilio/whatsapp", headers, just_over, chunked=True))[0] == 413
    await nothing_accepted(daemon, ollama)


async def test_garbage_on_the_port_is_one_line_not_a_traceback(
    daemon: Daemon, ollama: ScriptedOllama, caplog: pytest.LogCaptureFixture
) -> None:
    port = port_of(daemon)
    with clean_log(caplog):
        # Headers aiohttp itself can't parse: answered 400 by the server, logged as one warning.
        assert (await raw_request(port, "/twilio/whatsapp", [("Content-Length", "12abc")], b"", length=False))[0] == 400
        assert (await raw_request(port, "/twilio/whatsapp", [("Bad Header", "x")], b""))[0] == 400
        # Not HTTP at all.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(bytes(range(256)) + b"\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert answer == b"" or answer.split(b" ")[1] == b"400"
    await nothing_accepted(daemon, ollama)


async def test_a_flood_of_bad_requests_is_a_bounded_number_of_log_lines(
    daemon: Daemon, caplog: pytest.LogCaptureFixture
) -> None:
    params = inbound_params(f"whatsapp:{STRANGER}", "hi")
    with caplog.at_level(logging.WARNING, logger="claw"):
        for n in range(REFUSALS_PER_MINUTE * 3):
            status, _, _ = await daemon.post({**params, "Body": str(n)}, signature="bm90IGl0")
            assert status == 403
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert REFUSALS_PER_MINUTE <= len(refused) <= REFUSALS_PER_MINUTE + 1
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in refused)


async def test_well_formed_requests_still_pass(daemon: Daemon, ollama: ScriptedOllama) -> None:
    """A declared UTF-8 charset, repeated keys and blank values (a photo with no caption) are Twilio's own forms."""
    ollama.on("héllo", Reply.text("hi Sam"))
    daemon.fake.record_inbound(f"whatsapp:{SAM}")
    params = inbound_params(f"whatsapp:{SAM}", "héllo wörld ✓ 1+1=2 & more")
    body = urlencode(params).encode()
    headers = [
        ("Content-Type", f"{FORM}; charset=UTF-8"),
        ("X-Twilio-Signature", signature_for(daemon, "/twilio/whatsapp", params)),
    ]
    status, answer = await raw_request(port_of(daemon), "/twilio/whatsapp", headers, body)
    assert status == 200 and answer.endswith(b"<Response/>")
    await eventually(lambda: daemon.bodies(SAM), what="the reply")
    assert daemon.bodies(SAM) == ["hi Sam"]
    assert form_params(b"a=1&a=2&Body=&b=x+y%20z").getall("a") == ["1", "2"]
    assert form_params(b"a=1&a=2&Body=&b=x+y%20z")["Body"] == ""
    assert form_params(b"a=1&a=2&Body=&b=x+y%20z")["b"] == "x y z"
    assert list(form_params(b"").items()) == []


# -- random bytes and headers (property-based) ----------------------------------------------------

HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            FORM,
            f"{FORM}; charset=utf-8",
            f"{FORM}; charset=latin-1",
            f"{FORM}; charset=",
            f'{FORM}; charset="utf-8',
            f"{FORM}; charset*",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=x",
            "application/json",
            "text/plain",
            ";;;",
            "",
        ]
    ),
    HEADER_VALUE,
)
ENCODINGS = st.one_of(st.none(), st.sampled_from(["gzip", "deflate", "br", "zstd", "identity", "x"]), HEADER_VALUE)


@st.composite
def hostile_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A request Twilio did not sign: random bytes or a real form, with random headers and signatures."""
    if draw(st.booleans()):
        body = draw(st.binary(max_size=4096))
    else:
        params = draw(st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=12))
        body = urlencode(params).encode()
    headers: list[tuple[str, str]] = []
    if (kind := draw(CONTENT_TYPES)) is not None:
        headers.append(("Content-Type", kind))
    if (encoding := draw(ENCODINGS)) is not None:
        headers.append(("Content-Encoding", encoding))
    signature = draw(st.one_of(st.none(), HEADER_VALUE, st.sampled_from(["", "=", "bm90IGEgc2lnbmF0dXJl"])))
    if signature is not None:
        headers.append(("X-Twilio-Signature", signature))
    extra = draw(
        st.lists(
            st.tuples(st.sampled_from(["X-Forwarded-Proto", "Accept", "User-Agent", "Expect", "X-A"]), HEADER_VALUE),
            max_size=3,
        )
    )
    headers += [(k, v) for k, v in extra if not (k == "Expect" and v.strip().lower() == "100-continue")]
    path = draw(
        st.sampled_from(["/twilio/whatsapp", "/twilio/status", "/twilio/status?row=1", "/twilio/whatsapp?x=%ff"])
    )
    return {"path": path, "headers": headers, "body": body, "chunked": draw(st.booleans())}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=hostile_requests())
async def test_random_requests_get_only_4xx(
    daemon: Daemon, ollama: ScriptedOllama, caplog: pytest.LogCaptureFixture, request: dict[str, Any]
) -> None:
    with clean_log(caplog):
        status, answer = await raw_request(
            port_of(daemon), request["path"], request["headers"], request["body"], chunked=request["chunked"]
        )
    assert 400 <= status < 500, (status, answer[:200])
    assert ollama.chat_requests == []
    assert await daemon.app.store.run(log_db.count) == 0


# -- /api/chat ------------------------------------------------------------------------------------


async def chat(d: Daemon, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{d.app.config.private.port}/api/chat"
    sent = {"Authorization": f"Bearer {d.app.token}", "Content-Type": "application/json", **(headers or {})}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=sent) as resp:
        return resp.status, (await resp.json() if resp.content_type == "application/json" else await resp.text())


async def test_chat_refuses_deep_nesting_and_broken_json_with_a_json_400(
    daemon: Daemon, ollama: ScriptedOllama, caplog: pytest.LogCaptureFixture
) -> None:
    deep = b'{"text": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with clean_log(caplog):
        for what, body, headers in [
            ("deep arrays", b"[" * 100_000 + b"]" * 100_000, {}),
            ("deep objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, {}),
            ("deep inside text", deep, {}),
            ("unclosed nesting", b"[" * 1_000_000, {}),
            ("broken UTF-8", b'{"text": "\xff\xfe"}', {}),
            ("bogus charset", b'{"text": [1]}', {"Content-Type": "application/json; charset=utf-99"}),
            ("a huge number", b'{"text": ' + b"9" * 100_000 + b"}", {}),
            ("not JSON", b"\x00\x01garbage", {}),
        ]:
            status, answer = await chat(daemon, body, headers)
            assert status == 400, (what, status, answer)
            assert isinstance(answer, dict) and "error" in answer, what
    # A false gzip encoding is a JSON 400 too (aiohttp's own drain of the rest is the private app's log).
    status, answer = await chat(daemon, b'{"text": "hi"}', {"Content-Encoding": "gzip"})
    assert status == 400 and "error" in answer
    assert ollama.chat_requests == []


async def test_chat_still_answers_plain_json(daemon: Daemon, ollama: ScriptedOllama) -> None:
    ollama.on("hello", Reply.text("hello back"))
    status, answer = await chat(daemon, json.dumps({"text": "hello there"}).encode())
    assert status == 200 and answer["reply"] == "hello back"
    status, answer = await chat(daemon, b"", {})
    assert status == 400 and "error" in answer


# -- media URLs go to [whatsapp] api_base, never to Twilio's real host ----------------------------


class _LoopbackOnly(AbstractResolver):
    """No name resolves: should a URL still name api.twilio.com, the fetch fails here instead of leaving."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        raise OSError(f"{host} is not to be resolved in tests")

    async def close(self) -> None:
        return None


async def test_twilio_media_urls_are_fetched_from_the_api_base(daemon: Daemon, ollama: ScriptedOllama) -> None:
    resolver = _LoopbackOnly()
    daemon.part.inbox._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver))
    ollama.on(lambda r: bool(r.images), lambda r: Reply.text(f"I see {len(r.images)} picture"))
    local = daemon.fake.add_media(JPEG, "image/jpeg")
    path = local.removeprefix(daemon.fake.url)
    real = "https://api.twilio.com" + path  # what Twilio itself puts in MediaUrl0
    await daemon.say("what is this?", media=[(real, "image/jpeg")])
    await eventually(lambda: daemon.bodies(SAM), what="the reply")
    assert daemon.bodies(SAM) == ["I see 1 picture"]
    assert ("GET", path) in daemon.fake.requests
    assert resolver.asked == []


def test_media_urls_are_rebased_and_only_trusted_hosts_get_credentials(daemon: Daemon) -> None:
    inbox = daemon.part.inbox
    fake = daemon.fake.url
    path = "/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    assert inbox._located("https://api.twilio.com" + path) == fake + path
    assert inbox._located("https://media.us1.twilio.com" + path + "?x=1") == fake + path + "?x=1"
    assert inbox._located("https://evil.example" + path) == "https://evil.example" + path
    assert inbox._trusted(fake + path)
    assert not inbox._trusted("https://api.twilio.com" + path)  # with an api_base, Twilio itself is not asked
    assert not inbox._trusted("https://evil.example" + path)
    assert not inbox._trusted("https://api.twilio.com.evil.example" + path)


def test_without_an_api_base_only_twilio_over_https_is_trusted(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = daemon.part.inbox
    monkeypatch.setattr(inbox, "config", dataclasses.replace(inbox.config, api_base=""))
    path = "/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    assert inbox._located("https://api.twilio.com" + path) == "https://api.twilio.com" + path
    assert inbox._trusted("https://api.twilio.com" + path)
    assert not inbox._trusted("http://api.twilio.com" + path)
    assert not inbox._trusted(daemon.fake.url + path)
    assert not inbox._trusted("https://twilio.com.evil.example" + path)


async def test_a_forwarded_photo_without_a_caption_is_someone_elses_words(
    daemon: Daemon, ollama: ScriptedOllama
) -> None:
    """Forwarded=true with a picture and no Body: the picture's words inform the model, they are not the owner's."""
    ollama.on(lambda r: bool(r.images), lambda r: Reply.text("A picture of a note."))
    media = daemon.fake.add_media(JPEG, "image/jpeg")
    daemon.fake.record_inbound(f"whatsapp:{SAM}")
    params = {**inbound_params(f"whatsapp:{SAM}", "", media=[(media, "image/jpeg")]), "Forwarded": "true"}
    status, _, _ = await daemon.post(params)
    assert status == 200
    await eventually(lambda: daemon.bodies(SAM), what="the reply")
    history = await daemon.app.store.run(log_db.live, f"owner:{SAM}")
    assert history[0].content.startswith(FORWARDED) and "photo" in history[0].content.lower()
