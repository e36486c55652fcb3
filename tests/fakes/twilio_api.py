"""A Twilio REST API fake on loopback (Messages, media, status callbacks) and signed-webhook helpers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import logging
import math
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from ipaddress import ip_address
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
API_VERSION = "2010-04-01"
WINDOW_S = 24 * 3600.0
BODY_LIMIT = 1600
MEDIA_LIMIT = 5 * 1024 * 1024
MEDIA_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "audio/ogg", "video/mp4", "application/pdf"})
FAILED = frozenset({"failed", "undelivered"})

_TEXT = {
    20001: "Invalid parameter",
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21619: "A text message body or media urls must be specified.",
    21655: "The ContentSid is Invalid.",
    21656: "The ContentVariables Parameter is invalid.",
    63016: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
    63019: "Media failed to download.",
}


def new_sid(prefix: str) -> str:
    """Return a SID shaped like Twilio's: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    code: int
    hang: float | None
    after_accept: bool


class FakeTwilio:
    """Twilio's Messages API, inbound media and status callbacks, with injectable failures."""

    def __init__(self, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = "test-token") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.url = ""
        self.messages: list[dict[str, Any]] = []  # every accepted message, in order
        self.callbacks: list[dict[str, Any]] = []  # every status callback posted: url, params, status
        self.requests: list[tuple[str, str]] = []  # (method, path) of every API request received
        self.media: dict[str, tuple[bytes, str]] = {}  # inbound media by media SID
        self.templates: dict[str, str] = {}  # ContentSid -> text with {{1}}-style placeholders
        self.window_enforced = True
        # "reject": 400/63016 at create (as the brief asks); "callback": accepted, then failed with
        # ErrorCode 63016 in the status callback, which is how Twilio reports it for WhatsApp.
        self.window_failure: Literal["reject", "callback"] = "reject"
        self.fetch_media = True
        self.send_status_callbacks = True
        self.clock: Callable[[], float] = time.time
        self._inbound: dict[str, float] = {}
        self._media_owner: dict[str, str] = {}
        self._undeliverable: dict[str, int] = {}
        self._failures: deque[_Failure] = deque()
        self._outage: tuple[float, int] = (0.0, 503)
        self._queue: asyncio.Queue[tuple[dict[str, Any], int | None]] = asyncio.Queue()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on a loopback address; return the base URL to give `make_client`."""
        if not ip_address(host).is_loopback:
            raise ValueError(f"FakeTwilio listens on loopback only, not {host}")
        api = f"/{API_VERSION}/Accounts/{{account}}"
        app = web.Application()
        app.router.add_post(f"{api}/Messages.json", self._create)
        app.router.add_get(f"{api}/Messages.json", self._list)
        app.router.add_get(f"{api}/Messages/{{sid}}.json", self._fetch)
        app.router.add_get(f"{api}/Messages/{{msid}}/Media/{{mid}}", self._media)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        self._session = aiohttp.ClientSession()
        self._closing = asyncio.Event()
        self._worker = asyncio.create_task(self._deliver_all(), name="fake-twilio-delivery")
        return self.url

    async def stop(self) -> None:
        """End hanging answers, stop delivering, close the listener and the client session."""
        self._closing.set()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def settle(self) -> None:
        """Wait until every accepted message has had its media fetched and its callbacks posted."""
        await self._queue.join()

    # -- knobs -------------------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        *,
        status: int = 500,
        code: int = 20500,
        hang: float | None = None,
        after_accept: bool = False,
    ) -> None:
        """Fail the next n creates with status/code, answering after `hang` s; after_accept: record them."""
        self._failures.extend(_Failure(status, code, hang, after_accept) for _ in range(n))

    def fail_for(self, seconds: float, status: int = 503) -> None:
        """Answer every Messages API call with `status` for the next `seconds` (real time)."""
        self._outage = (time.monotonic() + seconds, status)

    def fail_delivery(self, to: str, code: int = 63024) -> None:
        """Accept messages to `to`, then report them undelivered with `code` in the status callback."""
        self._undeliverable[_number(to)] = code

    def record_inbound(self, number: str, when: float | None = None) -> None:
        """Note the owner's last message (opens the 24 h window); `when` defaults to `clock()`."""
        self._inbound[_number(number)] = self.clock() if when is None else when

    def add_media(self, data: bytes, content_type: str, *, message_sid: str | None = None) -> str:
        """Store inbound media; return the URL Twilio would put in MediaUrl0 (basic auth needed)."""
        if not self.url:
            raise RuntimeError("start() the fake before adding media")
        msid, mid = message_sid or new_sid("MM"), new_sid("ME")
        self.media[mid] = (data, content_type)
        self._media_owner[mid] = msid
        return f"{self.url}/{API_VERSION}/Accounts/{self.account_sid}/Messages/{msid}/Media/{mid}"

    def delivered(self, to: str | None = None) -> list[dict[str, Any]]:
        """Accepted messages (to `to`, if given) that have not failed; `settle()` first to see failures."""
        return [m for m in self.messages if m["status"] not in FAILED and (to is None or m["to"] == to)]

    # -- handlers ----------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        form = await request.post()
        failure = self._failures.popleft() if self._failures else None
        if failure is not None and not failure.after_accept:
            return await self._fail(failure)
        accepted = self._accept({k: str(v) for k, v in form.items()}, [str(u) for u in form.getall("MediaUrl", [])])
        if isinstance(accepted, web.Response):
            return accepted
        if failure is not None:
            return await self._fail(failure)
        return web.json_response(self._resource(accepted), status=201)

    async def _fetch(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        for message in self.messages:
            if message["sid"] == request.match_info["sid"]:
                return web.json_response(self._resource(message))
        return self._error(404, 20404, f"The requested resource {request.path} was not found")

    async def _list(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        q = request.query
        try:
            size = max(1, min(int(q.get("PageSize", "50")), 1000))
            page = max(0, int(q.get("Page", "0")))
            low, high = _date_range(q)
        except ValueError as exc:
            return self._error(400, 20001, f"Invalid parameter: {exc}")
        found = [
            (i, m)
            for i, m in enumerate(self.messages)
            if q.get("To", m["to"]) == m["to"]
            and q.get("From", m["from"]) == m["from"]
            and low <= math.floor(m["date_sent"] or m["date_created"]) <= high
        ]
        # Newest first, as Twilio lists them.
        found.sort(key=lambda im: (im[1]["date_sent"] or im[1]["date_created"], im[0]), reverse=True)
        items = [m for _, m in found]
        start = page * size
        token = q.get("PageToken", "")
        sids = [m["sid"] for m in items]
        if token.startswith("PA") and token[2:] in sids:
            start = sids.index(token[2:]) + 1
        chunk = items[start : start + size]
        kept = {k: v for k, v in q.items() if k not in ("Page", "PageSize", "PageToken")}

        def uri(number: int, page_token: str | None = None) -> str:
            query = {**kept, "PageSize": str(size), "Page": str(number)}
            if page_token:
                query["PageToken"] = page_token
            return f"{request.path}?{urlencode(query)}"

        more = bool(chunk) and start + len(chunk) < len(items)
        return web.json_response(
            {
                "end": start + max(len(chunk) - 1, 0),
                "first_page_uri": uri(0),
                "messages": [self._resource(m) for m in chunk],
                "next_page_uri": uri(page + 1, "PA" + chunk[-1]["sid"]) if more else None,
                "page": page,
                "page_size": size,
                "previous_page_uri": uri(page - 1) if page > 0 else None,
                "start": start,
                "uri": uri(page, token or None),
            }
        )

    async def _media(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return self._error(401, 20003)
        mid, msid = request.match_info["mid"], request.match_info["msid"]
        if mid not in self.media or self._media_owner.get(mid) != msid:
            return self._error(404, 20404, f"The requested resource {request.path} was not found")
        data, content_type = self.media[mid]
        return web.Response(body=data, content_type=content_type)

    # -- create, step by step ----------------------------------------------------------------

    def _gate(self, request: web.Request) -> web.Response | None:
        """Log the call, then refuse it for bad credentials or during an outage."""
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return self._error(401, 20003)
        until, status = self._outage
        if time.monotonic() < until:
            return self._error(status, 20000 + status)
        return None

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            login, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            return False
        return (
            scheme.lower() == "basic"
            and hmac.compare_digest(login, self.account_sid)
            and hmac.compare_digest(password, self.auth_token)
            and request.match_info["account"] == self.account_sid
        )

    def _accept(self, form: Mapping[str, str], media_urls: list[str]) -> dict[str, Any] | web.Response:
        """Validate a create form like Twilio does; record and queue the message, or say why not."""
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        content_sid, variables = form.get("ContentSid"), form.get("ContentVariables")
        if not to:
            return self._error(400, 21604)
        if not sender:
            return self._error(400, 21603)
        if len(body) > BODY_LIMIT:
            return self._error(400, 21617)
        if not body and not media_urls and not content_sid:
            return self._error(400, 21619)
        if content_sid is not None and not re.fullmatch(r"HX[0-9a-fA-F]{32}", content_sid):
            return self._error(400, 21655)
        try:
            values = json.loads(variables) if variables else {}
        except ValueError:
            values = None
        if not isinstance(values, dict):
            return self._error(400, 21656)
        closed = (
            self.window_enforced and to.startswith("whatsapp:") and content_sid is None and not self._window_open(to)
        )
        if closed and self.window_failure == "reject":
            return self._error(400, 63016)
        if content_sid in self.templates:
            body = re.sub(r"\{\{(\w+)\}\}", lambda m: str(values.get(m[1], m[0])), self.templates[content_sid])
        now = self.clock()
        message: dict[str, Any] = {
            "sid": new_sid("SM"),
            "to": to,
            "from": sender,
            "body": body,
            "media_url": media_urls,
            "content_sid": content_sid,
            "content_variables": variables,
            "status": "queued",
            "status_callback": form.get("StatusCallback"),
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "media_fetched": [],
        }
        self.messages.append(message)
        self._queue.put_nowait((message, 63016 if closed else None))
        return message

    def _window_open(self, to: str) -> bool:
        last = self._inbound.get(_number(to))
        return last is not None and self.clock() - last <= WINDOW_S

    async def _fail(self, failure: _Failure) -> web.Response:
        if failure.hang is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), failure.hang)
        return self._error(failure.status, failure.code)

    def _error(self, status: int, code: int, message: str | None = None) -> web.Response:
        payload = {
            "code": code,
            "message": message or _TEXT.get(code, f"Error {code}"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return web.json_response(payload, status=status)

    def _resource(self, m: dict[str, Any]) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{m['sid']}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": m["body"],
            "date_created": _rfc2822(m["date_created"]),
            "date_sent": _rfc2822(m["date_sent"]),
            "date_updated": _rfc2822(m["date_updated"]),
            "direction": "outbound-api",
            "error_code": m["error_code"],
            "error_message": m["error_message"],
            "from": m["from"],
            "messaging_service_sid": None,
            "num_media": str(len(m["media_url"])),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": m["sid"],
            "status": m["status"],
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": m["to"],
            "uri": f"{uri}.json",
        }

    # -- delivery: media fetch, status progression, callbacks --------------------------------

    async def _deliver_all(self) -> None:
        while True:
            message, error = await self._queue.get()
            try:
                await self._deliver(message, error)
            except Exception:
                log.exception("fake twilio: delivering %s failed", message["sid"])
            finally:
                self._queue.task_done()

    async def _deliver(self, message: dict[str, Any], error: int | None) -> None:
        await self._callback(message)
        if error is None and self.fetch_media and message["media_url"]:
            error = await self._fetch_media(message)
        if error is not None:
            self._set(message, "failed", error)
            await self._callback(message)
            return
        self._set(message, "sent")
        message["date_sent"] = message["date_updated"]
        await self._callback(message)
        code = self._undeliverable.get(_number(message["to"]))
        self._set(message, "undelivered" if code else "delivered", code)
        await self._callback(message)

    def _set(self, message: dict[str, Any], status: str, code: int | None = None) -> None:
        message.update(status=status, date_updated=self.clock())
        if code is not None:
            message.update(error_code=code, error_message=_TEXT.get(code, f"Error {code}"))

    async def _fetch_media(self, message: dict[str, Any]) -> int | None:
        """GET every media URL like Twilio does; return 63019 if any is unusable."""
        assert self._session is not None
        fetched: list[tuple[int, str, int]] = []
        for url in message["media_url"]:
            status, content_type, size = 0, "", 0
            if _is_loopback(url):  # never reach beyond loopback, whatever a test passes in
                try:
                    async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                        data = await resp.read()
                    status, content_type, size = resp.status, resp.content_type, len(data)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    log.info("fake twilio: media %s unreachable: %s", url, exc)
            fetched.append((status, content_type, size))
        message["media_fetched"] = fetched
        ok = all(s == 200 and t in MEDIA_TYPES and 0 < n <= MEDIA_LIMIT for s, t, n in fetched)
        return None if ok else 63019

    async def _callback(self, message: dict[str, Any]) -> None:
        url = message["status_callback"]
        if not url or not self.send_status_callbacks:
            return
        assert self._session is not None
        params = {
            "MessageSid": message["sid"],
            "SmsSid": message["sid"],
            "MessageStatus": message["status"],
            "SmsStatus": message["status"],
            "AccountSid": self.account_sid,
            "From": message["from"],
            "To": message["to"],
            "ApiVersion": API_VERSION,
        }
        if message["to"].startswith("whatsapp:"):
            params["ChannelPrefix"] = "whatsapp"
        if message["status"] in FAILED and message["error_code"] is not None:
            params["ErrorCode"] = str(message["error_code"])
        _, headers = signed_webhook(url, params, self.auth_token)
        status = 0
        if _is_loopback(url):
            try:
                async with self._session.post(
                    url, data=params, headers=headers, timeout=aiohttp.ClientTimeout(total=5)
                ) as resp:
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("fake twilio: status callback %s failed: %s", url, exc)
        self.callbacks.append({"url": url, "params": params, "status": status})


def signed_webhook(url: str, params: Mapping[str, str], auth_token: str) -> tuple[dict[str, str], dict[str, str]]:
    """Return (form, headers) for a POST to `url` signed as Twilio signs it with `auth_token`."""
    form = dict(params)
    signature = RequestValidator(auth_token).compute_signature(url, form)
    return form, {"X-Twilio-Signature": signature}


def inbound_params(
    from_: str,
    body: str,
    *,
    to: str = "whatsapp:+14155238886",
    sid: str | None = None,
    media: Iterable[tuple[str, str]] = (),
    profile_name: str = "Owner",
    account_sid: str = DEFAULT_ACCOUNT_SID,
) -> dict[str, str]:
    """Return the form Twilio posts to the WhatsApp webhook for one inbound message."""
    items = list(media)
    sid = sid or new_sid("MM" if items else "SM")
    kind = items[0][1].split("/")[0] if items else "text"
    params = {
        "SmsMessageSid": sid,
        "NumMedia": str(len(items)),
        "ProfileName": profile_name,
        "MessageType": "document" if kind == "application" else kind,
        "SmsSid": sid,
        "WaId": from_.removeprefix("whatsapp:").lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    for i, (url, content_type) in enumerate(items):
        params[f"MediaUrl{i}"] = url
        params[f"MediaContentType{i}"] = content_type
    return params


def _number(address: str) -> str:
    return address.removeprefix("whatsapp:")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _rfc2822(t: float | None) -> str | None:
    return None if t is None else format_datetime(datetime.fromtimestamp(int(t), UTC))


def _date_range(q: Mapping[str, str]) -> tuple[float, float]:
    """Turn DateSent / DateSent< / DateSent> (date or ISO time, inclusive) into epoch bounds."""
    low, high = -math.inf, math.inf
    if "DateSent" in q:
        low, high = _instant(q["DateSent"], end=False), _instant(q["DateSent"], end=True)
    if "DateSent>" in q:
        low = max(low, _instant(q["DateSent>"], end=False))
    if "DateSent<" in q:
        high = min(high, _instant(q["DateSent<"], end=True))
    return low, high


def _instant(value: str, *, end: bool) -> float:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
        return day + 86399 if end else day
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
