"""Who may use the private listener: loopback by default, a token otherwise; no DNS rebinding, no cross-site writes.

Three checks, in this order, on every request (docs/api.md, "Who may call it"):

1. **Host** (always, token or not): the name the request was sent to must be the listener's own:
   a loopback address or `localhost`, the local address the connection arrived on, the configured
   host, or (bound beyond loopback) this machine's host name; with the port the connection arrived
   on. A DNS-rebinding page reaches Claw under its own name, so it is refused here.
2. **Cross-site** (every method but GET, HEAD and OPTIONS): an `Origin` (or, without one, a
   `Referer`) that is not this listener's own origin is refused, `Origin: null` included, token or
   not. Then the request needs one of: the token in `Authorization: Bearer` or `?token=` (never
   the cookie: a browser sends that by itself); the `X-Claw` header together with the own origin
   (a custom header forces a CORS preflight, which Claw never grants, so no other page can send
   it); or no browser at all: no `Origin`, `Referer` or `Sec-Fetch-*` header (curl, `claw chat`).
3. **Token**: needed when bound beyond loopback or `token_required`, and always under `/v1/`.
4. **Who speaks** (`request[PRINCIPAL]`): the dashboard token, or no token where none is needed, is the
   owner's dashboard session; an agent's own token (`[mcp] agents`) is that agent on every endpoint; any
   other token offered explicitly is refused. What each may do is `claw/core/authority.py`'s to say.

A refusal is a 403 (401 for a missing token) with a JSON body and one log line; nothing runs.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NoReturn

from aiohttp import web
from aiohttp.typedefs import Middleware
from yarl import URL

from claw.core.principals import Principal, agent, dashboard
from claw.core.secrets import secret

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Agents = Callable[[str], str | None]  # an offered token -> the agent it belongs to, or None
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)
COOKIE = "claw_token"
PROOF = "X-Claw"  # the custom header that proves a same-origin page: send `X-Claw: 1`
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
WILDCARDS = {"", "0.0.0.0", "::", "[::]", "*"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Headers only browsers send (and no page can forge or strip): a request with one came from a page.
BROWSER_HEADERS = ("Origin", "Referer", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest")

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def dashboard_token(state_dir: Path) -> str:
    """CLAW_TOKEN (or the systemd credential), else a random token kept in the state dir (mode 0600)."""
    given = secret("dashboard_token")
    if given:
        return given
    path = state_dir / "dashboard-token"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    token = secrets.token_urlsafe(24)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token, encoding="utf-8")
    return token


def guard(
    *,
    token: str,
    bound_host: str,
    always: bool,
    port: int | None = None,
    owner: str = "owner",
    agents: Agents = lambda offered: None,
) -> Middleware:
    """Middleware: the Host check, the cross-site check on state-changing requests, the token, and who speaks.

    `port` is the listener's port when the connection cannot tell (the socket it arrived on wins). Every
    request that passes carries its principal (`request[PRINCIPAL]`): the dashboard token (or, on loopback
    without `token_required`, no token) is the owner `owner`'s dashboard session; an agent's token (`agents`
    names its agent) is that agent, on every endpoint; any other token offered is refused.
    """
    loopback_only = is_loopback(bound_host)
    need_token = always or not loopback_only
    names = _own_names(bound_host, loopback_only)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        own = _own_host(request, names, port)
        if own is None:
            _refuse(request, "Host", "Claw answers only under its own address: use http://127.0.0.1 and its port")
        unsafe = request.method not in SAFE_METHODS
        if unsafe:
            why = _cross_site(request, own, token, agents)
            if why:
                _refuse(request, "cross-site", why)
        principal = _principal(request, token, agents, owner)
        if principal is None and (need_token or request.path.startswith("/v1/") or _explicit(request)):
            if request.path.startswith(("/api/", "/v1/")) or request.method != "GET":
                raise web.HTTPUnauthorized(
                    text='{"error": "token required: Authorization: Bearer <token>"}',
                    content_type="application/json",
                )
            raise web.HTTPUnauthorized(text="Open the dashboard with the URL Claw printed (it carries ?token=).")
        request[PRINCIPAL] = principal or dashboard(owner)  # loopback without a token: the owner's own machine
        response = await handler(request)
        given = request.query.get("token")
        if given and request.method == "GET" and _matches(given, token):
            response.set_cookie(COOKIE, given, httponly=True, samesite="Strict")
        return response

    return middleware


# -- Host: no DNS rebinding ------------------------------------------------------------------------


def _own_names(bound_host: str, loopback_only: bool) -> frozenset[str]:
    """Host names (not addresses) that mean this listener: localhost, a configured name, the machine's name."""
    names = {"localhost"}
    bound = bound_host.strip("[]").lower()
    if bound not in WILDCARDS and not _is_ip(bound):
        names.add(bound)
    if not loopback_only:
        machine = socket.gethostname().lower()
        if machine:
            short = machine.split(".", 1)[0]
            names |= {machine, short, f"{short}.local"}
    return frozenset(names)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _split_host(value: str) -> tuple[str, int] | None:
    """`name[:port]` or `[v6]:port` → (lower-case name without brackets, port; 80 when absent); None if malformed."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else ""
    else:
        name, _, port_text = value.partition(":")
        if ":" in port_text:
            return None
    if not name:
        return None
    if not port_text:
        return name.lower(), 80
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name.lower(), int(port_text)


def _same_address(a: str, b: str) -> bool:
    try:
        x, y = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return False
    x4 = x.ipv4_mapped if isinstance(x, ipaddress.IPv6Address) else None
    y4 = y.ipv4_mapped if isinstance(y, ipaddress.IPv6Address) else None
    return (x4 or x) == (y4 or y)


def _own_host(request: web.Request, names: frozenset[str], port: int | None) -> tuple[str, int] | None:
    """The request's (host, port) when it names this listener, else None."""
    raw = request.headers.get("Host")
    where = _split_host(raw) if raw else None
    if where is None:
        return None
    name, asked_port = where
    local_address, local_port = "", port
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        local_address, local_port = str(sockname[0]), int(sockname[1])
    if local_port is None or asked_port != local_port:
        return None
    if name in names or is_loopback(name) or _same_address(name, local_address):
        return where
    return None


# -- cross-site: Origin, Referer, the X-Claw header, the token ----------------------------------------


def _same_origin(value: str, request: web.Request, own: tuple[str, int]) -> bool:
    """Whether an Origin or Referer names this listener's own origin (scheme, host and port)."""
    if value == "null":
        return False
    try:
        url = URL(value)
    except ValueError:
        return False
    if not url.absolute or url.scheme != request.scheme or url.host is None:
        return False
    return (url.host.strip("[]").lower(), url.port) == own


def _cross_site(request: web.Request, own: tuple[str, int], token: str, agents: Agents) -> str:
    """Why a state-changing request may not run ("" when it may)."""
    origin = request.headers.get("Origin")
    referer = request.headers.get("Referer")
    if origin is not None:
        if not _same_origin(origin, request, own):
            return f"cross-site request refused (Origin {origin[:100]!r} is not this listener)"
        from_page = True
    elif referer:
        if not _same_origin(referer, request, own):
            return "cross-site request refused (Referer is not this listener)"
        from_page = True
    else:
        from_page = False
    if _bearer_or_query(request, token, agents):
        return ""  # the token itself: no page knows it, and the cookie does not count here
    if from_page:
        if PROOF in request.headers:
            return ""  # a custom header: only a same-origin page can send it (cross-origin needs a preflight)
        return f"a page's request needs the {PROOF}: 1 header (or the token in Authorization: Bearer)"
    if any(name in request.headers for name in BROWSER_HEADERS):
        return "a browser request without an Origin is refused"
    return ""  # no browser involved (curl, claw chat): the token rules below decide


def _bearer_or_query(request: web.Request, token: str, agents: Agents) -> bool:
    offered = _explicit(request)
    return offered is not None and (_matches(offered, token) or agents(offered) is not None)


def _explicit(request: web.Request) -> str | None:
    """The token a client sent on purpose (`Authorization: Bearer` or `?token=`), never the cookie."""
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else request.query.get("token")


def _principal(request: web.Request, token: str, agents: Agents, owner: str) -> Principal | None:
    """Who the offered token says is speaking; None without a (valid) token."""
    offered = _offered(request)
    if offered is None:
        return None
    if _matches(offered, token):
        return dashboard(owner)
    name = agents(offered) if offered == _explicit(request) else None  # an agent's token is never a cookie
    return agent(name, "API") if name is not None else None


def _matches(offered: str, token: str) -> bool:
    """Constant-time, and a header with non-ASCII characters is simply wrong (not a 500)."""
    return bool(offered) and bool(token) and hmac.compare_digest(offered.encode(), token.encode())


def _refuse(request: web.Request, check: str, why: str) -> NoReturn:
    log.warning(
        "refused %s %s (%s check): %s; Host %r, Origin %r",
        request.method,
        request.path[:200],
        check,
        why,
        (request.headers.get("Host") or "")[:100],
        (request.headers.get("Origin") or "")[:100],
    )
    raise web.HTTPForbidden(text=json.dumps({"error": why}), content_type="application/json")


def _offered(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query.get("token") or request.cookies.get(COOKIE)
