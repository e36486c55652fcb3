"""`claw chat`: talk to the running daemon over the private API."""

from __future__ import annotations

import asyncio
import sys

import aiohttp


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
