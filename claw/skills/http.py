"""HTTP for declarative skills: one session per skill, and requests only ever to the bound device's host:port."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

import aiohttp
from yarl import URL

from claw.core.errors import DeviceError
from claw.core.secrets import secret
from claw.skills.format import Auth, Request, Skill
from claw.skills.templates import render_shape, to_text

MAX_ANSWER = 16 * 1024 * 1024  # a big Home Assistant lists a few MB of states; more is a broken device
TokenLookup = Callable[[], str | None]  # the paired token for the device being called


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request rendered for one device: path and query on its host:port, the body, extra headers."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()

    def same_target(self, other: Prepared) -> bool:
        return (self.method, self.path, self.query) == (other.method, other.path, other.query)


def prepare(req: Request, scope: Mapping[str, Any]) -> Prepared:
    """Render a request; values placed in the path are percent-encoded, so they cannot add a path or a host."""
    rendered = req.path.render(scope, escape=lambda text: quote(text, safe="-._~:"))
    path, _, query_string = rendered.partition("?")
    query = list(parse_qsl(query_string, keep_blank_values=True))
    for key, value in render_shape(dict(req.query), scope).items():
        if value is not None:
            query.append((key, to_text(value)))
    headers = tuple((k, t.render(scope)) for k, t in req.headers.items())
    body = render_shape(req.body, scope)
    return Prepared(req.method, path, tuple(query), body, headers)


def device_url(scheme: str, address: str, prepared: Prepared) -> URL:
    """The URL on the device at `address`; refuses anything that would reach another host or port."""
    host, _, port_text = address.rpartition(":")
    if not host or not port_text.isdigit():
        raise DeviceError(address, "has no usable address")
    if not prepared.path.startswith("/"):
        raise DeviceError(address, "was not called: the skill asked for something that is not a path on it")
    url = URL.build(scheme=scheme, host=host, port=int(port_text), path=prepared.path, encoded=True)
    if prepared.query:
        url = url.with_query(list(prepared.query))
    if url.host != host or url.port != int(port_text) or url.scheme != scheme:
        raise DeviceError(address, "was not called: the skill tried to reach another host")
    return url


class DeviceHttp:
    """Calls the device a skill is bound to; every failure becomes one DeviceError with a reason."""

    def __init__(self, skill: Skill, timeout: float) -> None:
        self.skill = skill
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=4),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(
        self, label: str, address: str, prepared: Prepared, *, token: TokenLookup | None = None, auth: bool = True
    ) -> Any:
        """Send one request to `address`; the answer as JSON (or text), DeviceError if it fails."""
        url = device_url(self.skill.http.scheme, address, prepared)
        headers = dict(prepared.headers)
        if auth:
            url = self._authorise(label, url, headers, token)
        kwargs: dict[str, Any] = {}
        if isinstance(prepared.body, str):
            kwargs["data"] = prepared.body.encode()
            headers.setdefault("Content-Type", "text/plain")
        elif prepared.body is not None:
            kwargs["data"] = json.dumps(prepared.body).encode()
            headers.setdefault("Content-Type", "application/json")
        if self.skill.http.scheme == "https" and not self.skill.http.verify_tls:
            kwargs["ssl"] = False
        try:
            async with self.session().request(
                prepared.method, url, headers=headers, allow_redirects=False, **kwargs
            ) as response:
                raw = await response.content.read(MAX_ANSWER + 1)
                if len(raw) > MAX_ANSWER:
                    raise DeviceError(label, "answered with far too much data")
                doc = _parse(raw)
                if response.status >= 300:
                    raise DeviceError(label, f"refused: {self._problem(doc, response.status)}")
                return doc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeviceError(label, f"didn't answer ({type(exc).__name__})", unreachable=True) from None

    def _problem(self, doc: Any, status: int) -> str:
        for path in self.skill.http.errors:
            found = path.get(doc)
            if isinstance(found, str | int | float) and not isinstance(found, bool) and found != "":
                return str(found)[:200]
        if status in (401, 403):
            return f"not authorised ({status}); check the skill's token or pair again"
        return f"HTTP {status}"

    def _authorise(self, label: str, url: URL, headers: dict[str, str], token: TokenLookup | None) -> URL:
        auth: Auth = self.skill.auth
        if auth.type == "none":
            return url
        if auth.type == "basic":
            user, password = _secret(label, auth.username_env), _secret(label, auth.password_env)
            headers["Authorization"] = aiohttp.BasicAuth(user, password).encode()
            return url
        if auth.token_from == "pairing":
            value = token() if token is not None else None
            if not value:
                raise DeviceError(label, f"is not paired with Claw yet ({self.skill.name}: see the pairing steps)")
        else:
            value = _secret(label, auth.token_env)
        if auth.type == "bearer":
            headers["Authorization"] = f"Bearer {value}"
        elif auth.type == "header":
            headers[auth.header] = value
        elif auth.type == "query":
            url = url.update_query({auth.param: value})
        return url


def _secret(label: str, env: str) -> str:
    value = secret(env.lower(), env)
    if not value:
        raise DeviceError(label, f"needs {env} (an environment variable, or the systemd credential {env.lower()})")
    return value


def _parse(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
