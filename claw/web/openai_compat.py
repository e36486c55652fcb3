"""An OpenAI-compatible front door: `POST /v1/chat/completions` and `GET /v1/models`, token only."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from claw.assistant import tokens
from claw.channels.local import LocalChannel
from claw.core.bus import Outbound
from claw.core.principals import agent_conversation
from claw.web.auth import PRINCIPAL
from claw.web.site import SITE, Site

MODEL = "claw"
KEEPALIVE_S = 10.0  # a streamed answer that waits on the model sends SSE comments meanwhile
MAX_TEXT = 8000
MAX_IMAGE_BYTES = 8 * 1024 * 1024
_DATA_URL = re.compile(r"^data:image/[\w.+-]+;base64,(.*)$", re.S)
_USER = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")  # ASCII letters: \w would differ between Python and ECMA regexes
CHANNEL: web.AppKey[LocalChannel] = web.AppKey("openai channel", LocalChannel)


class BadRequest(web.HTTPBadRequest):
    """400 in OpenAI's error shape, naming the parameter."""

    def __init__(self, param: str, message: str) -> None:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}
        super().__init__(text=json.dumps(body), content_type="application/json")


def conversation_for(channel: LocalChannel, user: str | None) -> str:
    """The owner's own conversation, or `openai:<user>` when the client names a user."""
    return f"openai:{user}" if user else channel.conversation


def install(app: web.Application, claw: Site) -> None:
    """Register the OpenAI channel on the bus and the /v1 routes (the auth middleware demands the token)."""
    channel = LocalChannel(
        claw.bus,
        claw.store,
        actor=claw.local.actor,
        conversation=claw.local.conversation,
        name="openai",
        keeps_notices=False,
    )
    claw.bus.add_channel(channel)
    app[CHANNEL] = channel
    app.router.add_get("/v1/models", models)
    app.router.add_get("/v1/models/{model}", model)
    app.router.add_post("/v1/chat/completions", completions)


def _model_card(claw: Site) -> dict[str, Any]:
    return {"id": MODEL, "object": "model", "created": int(claw.started), "owned_by": "claw"}


async def models(request: web.Request) -> web.Response:
    return web.json_response({"object": "list", "data": [_model_card(request.app[SITE])]})


async def model(request: web.Request) -> web.Response:
    if request.match_info["model"] != MODEL:
        body = {"error": {"message": "no such model; there is one: claw", "type": "invalid_request_error",
                          "param": "model", "code": "model_not_found"}}  # fmt: skip
        return web.json_response(body, status=404)
    return web.json_response(_model_card(request.app[SITE]))


def last_user_message(messages: Any) -> tuple[str, tuple[bytes, ...]]:
    """The text (and inline images) of the last user message; Claw keeps its own history and memory."""
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages", "messages must be a non-empty array")
    roles = [m.get("role") if isinstance(m, Mapping) else None for m in messages]
    last = len(roles) - 1 - roles[::-1].index("user") if "user" in roles else -1
    for i, item in enumerate(messages):
        if not isinstance(item, Mapping) or not isinstance(item.get("role"), str):
            raise BadRequest(f"messages[{i}]", "each message needs a role and content")
        content = item.get("content")
        if content is not None and not isinstance(content, (str, list)):  # null: an assistant's tool call
            raise BadRequest(f"messages[{i}].content", "content must be a string or an array of content parts")
        if isinstance(content, list) and i != last:
            _parts(content, f"messages[{i}].content")  # only checked: Claw reads the last user message alone
    users = [m for m in messages if m["role"] == "user"]
    if not users:
        raise BadRequest("messages", "there is no message with role 'user'")
    content = users[-1].get("content")
    index = len(messages) - 1 - messages[::-1].index(users[-1])
    where = f"messages[{index}].content"
    images: tuple[bytes, ...] = ()
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text, images = _parts(content, where)
    else:
        raise BadRequest(where, "content must be a string or an array of content parts")
    if not text.strip():
        raise BadRequest(where, "the last user message is empty")
    if len(text) > MAX_TEXT:
        raise BadRequest(where, f"the last user message is over {MAX_TEXT} characters")
    return text, images


def _parts(parts: list[Any], where: str) -> tuple[str, tuple[bytes, ...]]:
    texts: list[str] = []
    images: list[bytes] = []
    for j, part in enumerate(parts):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            url = part.get("image_url", {})
            url = url.get("url", "") if isinstance(url, Mapping) else url
            match = _DATA_URL.match(url) if isinstance(url, str) else None
            if match is None:
                # fetching a URL would make Claw talk to the internet on a client's word: refuse
                raise BadRequest(f"{where}[{j}]", "images must be inline data: URLs (base64)")
            try:
                data = base64.b64decode(match.group(1), validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest(f"{where}[{j}]", "the image is not valid base64") from None
            if len(data) > MAX_IMAGE_BYTES:
                raise BadRequest(f"{where}[{j}]", "the image is over 8 MB")
            images.append(data)
        else:
            raise BadRequest(f"{where}[{j}]", "content parts must be {type: text} or {type: image_url}")
    return "\n".join(texts), tuple(images)


async def completions(request: web.Request) -> web.StreamResponse:
    """OpenAI's chat completion: the last user message goes through the router (fast path, then the brain)."""
    # The raw bytes, decoded here (json.loads finds UTF-8/16/32 itself): a bogus charset, a false
    # Content-Encoding or JSON nested too deep for the parser is a 400, never a 500 with a traceback.
    try:
        body = json.loads(await request.read())
    except (ValueError, RecursionError, RequestPayloadError):  # UnicodeDecodeError is a ValueError
        raise BadRequest("", "the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("", "the body must be a JSON object")
    text, images = last_user_message(body.get("messages"))
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("stream", "stream must be true or false")
    user = body.get("user")
    if user is not None and (not isinstance(user, str) or not _USER.match(user)):
        raise BadRequest("user", "user must be 1-64 letters, digits or . _ - + @")
    model_name = body.get("model")
    if model_name is not None and not isinstance(model_name, str):
        raise BadRequest("model", "model must be a string (any name: the answer comes from claw)")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, Mapping):
        raise BadRequest("stream_options", "stream_options must be an object")
    usage = (options or {}).get("include_usage", False)
    if not isinstance(usage, bool):
        raise BadRequest("stream_options.include_usage", "include_usage must be true or false")
    channel, who = request.app[CHANNEL], request[PRINCIPAL]
    if who.speaks_for_owner:
        conversation = conversation_for(channel, user or None)
    else:  # an agent's token: the agent speaks, in a conversation of its own, and is shown no code
        conversation = agent_conversation(who) + (f":{user}" if user else "")
    sender = user or ("owner" if who.speaks_for_owner else who.name)
    reply = channel.ask(text, images=images, conversation=conversation, sender=sender, principal=who)
    ident = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    if not stream:
        answer = await reply
        return web.json_response(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": _usage(text, answer.text),
            }
        )
    return await _stream(request, reply, ident, created, text, usage)


async def _stream(
    request: web.Request, reply: Any, ident: str, created: int, asked: str, usage: bool
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

    await response.write(chunk({"role": "assistant", "content": ""}))
    task = asyncio.ensure_future(reply)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=KEEPALIVE_S)
            if done:
                break
            await response.write(b": claw is thinking\n\n")  # SSE comment: clients ignore it, proxies see life
        answer: Outbound = task.result()
    finally:
        if not task.done():  # the client left: stop waiting (the turn itself still completes and is remembered)
            task.cancel()
    for piece in _pieces(answer.text):
        await response.write(chunk({"content": piece}))
    await response.write(chunk({}, "stop"))
    if usage:
        data = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": MODEL,
                "choices": [], "usage": _usage(asked, answer.text)}  # fmt: skip
        await response.write(f"data: {json.dumps(data)}\n\n".encode())
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def _pieces(text: str, size: int = 48) -> list[str]:
    """The reply in word-aligned pieces, as a model would stream it; joined they are the text exactly."""
    words = re.findall(r"\S+\s*|\s+", text)
    out: list[str] = []
    for word in words:
        if out and len(out[-1]) + len(word) <= size:
            out[-1] += word
        else:
            out.append(word)
    return out or [""]


def _usage(asked: str, answered: str) -> dict[str, int]:
    prompt, completion = tokens.count(asked), tokens.count(answered)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
