"""Who may use the private listener: loopback by default, a token otherwise, and no DNS rebinding."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from claw.core.secrets import secret

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COOKIE = "claw_token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


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


def guard(*, token: str, bound_host: str, always: bool) -> Middleware:
    """Middleware: a token when bound beyond loopback (and always for /v1), Host and Origin checks."""
    need_token = always or not is_loopback(bound_host)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = (request.host or "").rsplit(":", 1)[0] if not (request.host or "").startswith("[") else "[::1]"
        if not need_token and not is_loopback(host):
            # Bound to loopback but asked under another name: a DNS-rebinding page in a browser.
            raise web.HTTPForbidden(text="Claw answers on localhost only; use http://127.0.0.1")
        origin = request.headers.get("Origin")
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
        if unsafe and origin and origin != "null" and origin.split("://", 1)[-1].rsplit(":", 1)[0] != host:
            raise web.HTTPForbidden(text="cross-site request refused")
        if need_token or request.path.startswith("/v1/"):
            offered = _offered(request)
            if offered is None or not hmac.compare_digest(offered, token):
                if request.path.startswith(("/api/", "/v1/")) or request.method != "GET":
                    raise web.HTTPUnauthorized(
                        text='{"error": "token required: Authorization: Bearer <token>"}',
                        content_type="application/json",
                    )
                raise web.HTTPUnauthorized(text="Open the dashboard with the URL Claw printed (it carries ?token=).")
        response = await handler(request)
        if request.query.get("token") and request.method == "GET":
            response.set_cookie(COOKIE, request.query["token"], httponly=True, samesite="Strict")
        return response

    return middleware


def _offered(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query.get("token") or request.cookies.get(COOKIE)
