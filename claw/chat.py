"""`claw chat`: talk to the running daemon over the private API."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import aiohttp

from claw.core import instance
from claw.core.config import load
from claw.core.errors import ClawError
from claw.core.secrets import secret

DEFAULT_URL = "http://127.0.0.1:8765"


def find(
    url: str, token: str, state_dir: Path | None, config: Path | None, default_config: Path | None = None
) -> tuple[str, str]:
    """The daemon's URL and token: flags, else CLAW_URL/CLAW_TOKEN, else what the running daemon wrote
    into its state dir (its own token with it, never another instance's), else the default address."""
    url = url or os.environ.get("CLAW_URL", "")
    token = token or secret("dashboard_token") or ""
    if url:
        return url, token  # an address given by hand: only a token given by hand goes there
    named = state_dir is not None or config is not None
    if state_dir is not None:
        dirs = [state_dir]
    elif config is not None:
        dirs = [load(config).state_path]
    else:  # nothing named: the default config's daemon, then the demo's here, then `claw init`'s
        known = [load(default_config).state_path] if default_config is not None and default_config.exists() else []
        dirs = known + instance.default_dirs()
    found = instance.find(dirs)
    if found is None:
        if named:
            raise ClawError(
                f"no Claw is running from {dirs[0]} (it writes {instance.FILE} there while it runs): "
                "start it with `claw run` or `claw demo`, or pass --url"
            )
        return DEFAULT_URL, token
    if not token:
        with contextlib.suppress(OSError):
            token = (found.state_dir / "dashboard-token").read_text(encoding="utf-8").strip()
    return found.url, token


async def ask(session: aiohttp.ClientSession, url: str, text: str, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.post(f"{url}/api/chat", json={"text": text}, headers=headers) as response:
        if response.status == 401:
            raise PermissionError("the daemon wants a token: pass --token or set CLAW_TOKEN")
        body = await response.json(content_type=None)
        if response.status != 200:
            raise RuntimeError(body.get("error", f"HTTP {response.status}") if isinstance(body, dict) else body)
        reply = str(body["reply"])
        for link in body.get("media", []):
            reply += f"\n[picture: {url}{link}]"
        return reply


async def chat(text: str, *, url: str, token: str) -> int:
    """One message (print the reply) or, with no text, an interactive session."""
    url = url.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            if text:
                print(await ask(session, url, text, token))
                return 0
            print("Talking to Claw (Ctrl-D to leave).")
            while True:
                try:
                    line = await asyncio.to_thread(input, "you> ")
                except EOFError:
                    print()
                    return 0
                if line.strip():
                    print("claw>", await ask(session, url, line, token))
        except aiohttp.ClientConnectorError:
            print(f"No Claw is answering at {url}. Start one with `claw demo` or `claw run`.", file=sys.stderr)
        except (PermissionError, RuntimeError) as exc:
            print(f"claw chat: {exc}", file=sys.stderr)
        return 1
