"""Point the real `twilio` SDK at any base URL, with one timeout, no retries, and failures classified.

Errors a caller of `client.messages.create_async(...)` etc. sees, and what `classify` makes of them:

- `twilio.base.exceptions.TwilioRestException` (`.status` = HTTP status, `.code` = Twilio error code):
  Twilio answered with an error. 429/20429 -> "retry"; 5xx -> "unknown"; other 4xx -> "permanent"
  (63016 = outside the 24 h window: send a template instead, see `needs_template`).
- `TwilioException("Unable to fetch page", response)`: a list page answered non-200; classified by
  the status of the response it carries.
- `aiohttp.ClientConnectorError` (refused, DNS) and `aiohttp.ConnectionTimeoutError`: no connection,
  so nothing was sent -> "retry".
- `TimeoutError` (`asyncio.TimeoutError`, aiohttp's socket/total timeouts) and other `aiohttp.ClientError`
  (server disconnected, payload errors): the request may have reached Twilio -> "unknown": look the
  message up (`list_async(to=..., date_sent_after=...)`) before sending it again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Literal, TypeAlias
from urllib.parse import urlencode, urlsplit

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

log = logging.getLogger(__name__)

SendOutcome: TypeAlias = Literal["retry", "unknown", "permanent"]

# Twilio error codes after which resending the same message can never succeed.
PERMANENT_CODES = frozenset(
    {
        21610,  # recipient unsubscribed (replied STOP)
        21614,  # not a mobile number
        21617,  # body over 1600 characters
        21619,  # no body, media or template
        63014,  # recipient blocked the sender / channel
        63016,  # outside the 24 h window: needs a template
        63021,  # channel rejected the content
    }
)
TEMPLATE_CODES = frozenset({63016})
RETRY_CODES = frozenset({20429})
# Failures before the request left (nothing to duplicate) and after it may have reached Twilio.
_NOT_SENT = (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError, ConnectionRefusedError)
_MAYBE_SENT = (TimeoutError, aiohttp.ClientError, OSError, asyncio.CancelledError)


class RebasedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """An async Twilio HTTP client that sends `*.twilio.com` requests to `api_base` (None: real Twilio).

    Never retries (a retried POST can send a message twice); every request is bounded by `timeout`.
    Use the client's `*_async` methods only, and `await close()` when done.
    """

    def __init__(self, api_base: str | None, *, timeout: float = 10.0) -> None:
        # pool_connections=False: the parent would open an aiohttp session outside a running loop.
        super().__init__(pool_connections=False, timeout=timeout, max_retries=None)
        self.api_base = _check_base(api_base)
        self.session: aiohttp.ClientSession | None = None

    def rebase(self, url: str) -> str:
        """Return `url` with a twilio.com scheme and host replaced by `api_base`; other URLs unchanged."""
        if self.api_base is None:
            return url
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host != "twilio.com" and not host.endswith(".twilio.com"):
            return url
        return self.api_base + parts.path + (f"?{parts.query}" if parts.query else "")

    async def request(  # the SDK calls it with this positional signature
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request, once; raise aiohttp/timeout errors as they are (see the module docstring)."""
        limit = timeout if timeout is not None else self.timeout
        if limit is not None and limit <= 0:
            raise ValueError(f"timeout must be positive, not {limit}")
        target = self.rebase(url)
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = basic_auth_header(*auth)
        body: bytes | None = None
        if data:
            if headers.get("Content-Type", "").startswith("application/json"):
                body = json.dumps(data).encode()
            else:
                body = urlencode(list(_pairs(data)), doseq=False).encode()
        session = self._session()
        log.debug("twilio %s %s", method.upper(), target)
        async with session.request(
            method.upper(),
            target,
            params=list(_pairs(params)) if params else None,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=limit),
            allow_redirects=allow_redirects,
        ) as resp:
            text = await resp.text()
        log.debug("twilio %s %s -> %d", method.upper(), target, resp.status)
        return Response(resp.status, text, resp.headers)

    async def close(self) -> None:
        """Close the connection pool; the client opens a new one if used again."""
        if self.session is not None:
            await self.session.close()
            self.session = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession()
        return self.session


def make_client(account_sid: str, auth_token: str, api_base: str | None, *, timeout: float = 10.0) -> Client:
    """Return a `twilio.rest.Client` that talks through a `RebasedHttpClient` (use its `*_async` calls).

    Close it with `await client.http_client.close()`.
    """
    http = RebasedHttpClient(api_base, timeout=timeout)
    return Client(account_sid, auth_token, http_client=http)


def basic_auth_header(login: str, password: str) -> str:
    """Return an HTTP Basic `Authorization` value (for the API and for fetching inbound media)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


def classify(exc: BaseException) -> SendOutcome:
    """Say what to do after a failed send: "retry" (not sent), "unknown" (check first) or "permanent"."""
    status, code = _status_and_code(exc)
    if status is not None:
        if status == 429 or code in RETRY_CODES:
            return "retry"
        if code in PERMANENT_CODES:
            return "permanent"
        if status >= 500:
            return "unknown"
        return "permanent"
    # Order matters: ConnectionTimeoutError is a TimeoutError, but fires before anything was sent.
    if isinstance(exc, _NOT_SENT):
        return "retry"
    if isinstance(exc, _MAYBE_SENT):
        return "unknown"
    if isinstance(exc, json.JSONDecodeError):
        return "unknown"  # a 2xx with a garbled body: Twilio probably accepted it
    return "permanent"


def needs_template(exc: BaseException) -> bool:
    """Tell whether Twilio refused a free-form message because the 24 h window is closed."""
    return _status_and_code(exc)[1] in TEMPLATE_CODES


def _status_and_code(exc: BaseException) -> tuple[int | None, int | None]:
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        return int(exc.status), (int(exc.code) if exc.code is not None else None)
    if isinstance(exc, TwilioException) and len(exc.args) > 1 and isinstance(exc.args[1], Response):
        status = int(exc.args[1].status_code)
        try:
            code = json.loads(exc.args[1].text).get("code")
        except (ValueError, AttributeError):
            code = None
        return status, (int(code) if isinstance(code, int) else None)
    return None, None


def _pairs(values: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    """Flatten form/query values the way Twilio expects: lists become repeated keys."""
    for key, value in values.items():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if item is not None:
                yield key, str(item)


def _check_base(api_base: str | None) -> str | None:
    if api_base is None:
        return None
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"api_base must look like http://127.0.0.1:8999, not {api_base!r}")
    return api_base.rstrip("/")
