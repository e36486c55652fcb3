"""A scripted OpenAI-compatible API on loopback (llama.cpp / vLLM / LM Studio style), driven by the Ollama fake's rules.

The same `Reply`/`Rule` scripts drive both fakes: each request is shown to the rules as the Ollama-shaped
`ChatRequest` (tool results, pictures as base64, `format` from `response_format`), so one scripted
conversation runs against either backend.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import signal
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from aiohttp import web

from tests.fakes.ollama_script import JSON, ChatRequest, Reply, demo_reply
from tests.fakes.ollama_server import ScriptedOllama

__all__ = ["ScriptedOpenAI", "Verbatim", "broken_call"]

RESPONSE_FORMATS = ("text", "json_object", "json_schema")
ROLES = ("system", "developer", "user", "assistant", "tool")


class Verbatim(dict[str, Any]):
    """Tool-call arguments sent as this exact text (broken JSON, Python-style dicts), not as JSON of a dict."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


def broken_call(tool_name: str, arguments: str) -> Reply:
    """One tool call whose `arguments` string is `arguments` verbatim, as a sloppy model writes it."""
    return Reply(tool_calls=[(tool_name, Verbatim(arguments))])


class ScriptedOpenAI(ScriptedOllama):
    """/v1/chat/completions and /v1/models on 127.0.0.x; answers come from the same rules as ScriptedOllama."""

    def __init__(
        self,
        models: Iterable[str] = ("qwen3:8b", "qwen2.5vl:3b"),
        *,
        api_key: str | None = None,
        formats: Iterable[str] = RESPONSE_FORMATS,
        any_model: bool = False,
    ) -> None:
        super().__init__(models)
        self.api_key = api_key  # when set, every /v1 request needs "Authorization: Bearer <api_key>"
        self.formats = set(formats)  # response_format types accepted (LM Studio: no json_object)
        self.any_model = any_model  # llama.cpp: one loaded model answers to any name
        self.authorizations: list[str | None] = []  # the Authorization header of every /v1 request, in order

    @property
    def base_url(self) -> str:
        """What [llm] base_url should be: the URL with /v1."""
        return f"{self.url}/v1"

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/v1/models/{model:.+}", self._model)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/v1/embeddings", self._embeddings_v1)

    # --- handlers --------------------------------------------------------------------------------

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _models(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        self.requests.append({"path": request.path})
        return web.json_response({"object": "list", "data": [_model_card(m) for m in sorted(self.models)]})

    async def _model(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        name = request.match_info["model"]
        if name not in self.models:
            return _missing(name)
        return web.json_response(_model_card(name))

    async def _embeddings_v1(self, request: web.Request) -> web.Response:
        """OpenAI's /v1/embeddings (llama.cpp's server with --embedding answers the same shape)."""
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            body = json.loads(await request.read())
        except ValueError as exc:
            return _error(400, f"invalid JSON body: {exc}")
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object")
        self.requests.append({**body, "path": request.path})
        model = str(body.get("model") or "")
        if model not in self.models and not self.any_model:
            return _missing(model)
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return _error(400, "input must be a string or a non-empty list of strings", param="input")
        data = [{"object": "embedding", "index": i, "embedding": self.embedding(t)} for i, t in enumerate(texts)]
        used = sum(len(t.split()) for t in texts)
        return web.json_response(
            {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": used, "total_tokens": used}}
        )

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            body = json.loads(await request.read())
        except ValueError as exc:
            return _error(400, f"invalid JSON body: {exc}")
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object")
        self.requests.append({**body, "path": request.path})
        self.chat_requests.append(self.requests[-1])
        started = time.monotonic_ns()
        model = str(body.get("model") or "")
        if not model:
            return _error(400, "model is required", param="model")
        if model not in self.models and not self.any_model:
            return _missing(model)
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(400, "messages must be a non-empty list", param="messages")
        shape = (body.get("response_format") or {}).get("type", "text")
        if shape not in self.formats:
            allowed = " or ".join(f"'{f}'" for f in sorted(self.formats))
            return _error(400, f"'response_format.type' must be {allowed}", param="response_format")
        try:
            view = request_view(body)
        except ValueError as exc:
            return _error(400, str(exc), param="messages")
        try:
            reply = await self._pick(view)
        except Exception as exc:  # a broken script should fail the caller's request visibly
            return _error(500, f"scripted reply raised {exc!r}")
        if reply.delay > 0:
            await asyncio.sleep(reply.delay)
        if reply.disconnect and not (view.stream and reply.content):
            return _drop(request)
        if reply.status >= 400 or (reply.error is not None and not view.stream):
            return _error(reply.status if reply.status >= 400 else 500, reply.error or "error", kind="server_error")
        thinking = None if view.think is False else reply.thinking
        usage = _usage(view, reply)
        ident = "chatcmpl-" + hashlib.sha256(f"{started}:{model}".encode()).hexdigest()[:24]
        if not view.stream:
            return web.json_response(_completion(ident, model, reply, thinking, usage))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return await self._stream(request, ident, model, reply, thinking, usage if include_usage else None)

    async def _stream(
        self, request: web.Request, ident: str, model: str, reply: Reply, thinking: str | None, usage: JSON | None
    ) -> web.StreamResponse:
        """Server-sent events like the OpenAI API: role, reasoning, content, tool calls, finish, usage, [DONE]."""
        created = int(time.time())

        def chunk(delta: JSON, finish: str | None = None) -> JSON:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [choice]}  # fmt: skip

        chunks = [chunk({"role": "assistant", "content": ""})]
        chunks += [chunk({"reasoning_content": piece}) for piece in _pieces(thinking or "")]
        chunks += [chunk({"content": piece}) for piece in _pieces(reply.content)]
        for index, (name, arguments) in enumerate(reply.tool_calls):
            opening = {"index": index, "id": _call_id(index, name), "type": "function"}
            chunks.append(chunk({"tool_calls": [{**opening, "function": {"name": name, "arguments": ""}}]}))
            text = _arguments_text(arguments)
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": text}}]}))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for item in chunks:
            if not await self._sent(response, request, _event(item)):
                return response
            if reply.chunk_delay > 0:
                await asyncio.sleep(reply.chunk_delay)
        if reply.disconnect:
            return _drop(request)
        if reply.error is not None:  # a failure mid-stream: the API sends an error event
            await response.write(_event({"error": {"message": reply.error, "type": "server_error", "code": 500}}))
        elif reply.done_reason:  # "": the stream ends with no finish_reason (llama-cpp-python, interrupted)
            await response.write(_event(chunk({}, _finish(reply))))
            if usage is not None:
                await response.write(_event({**chunk({}), "choices": [], "usage": usage}))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    def _denied(self, request: web.Request) -> web.Response | None:
        self.authorizations.append(request.headers.get("Authorization"))
        if self.api_key is None or request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        return _error(401, "Invalid API Key", kind="authentication_error")


def request_view(body: JSON) -> ChatRequest:
    """The OpenAI request as the rules see an Ollama one; raises ValueError where a real server answers 400."""
    messages: list[JSON] = []
    names: dict[str, str] = {}  # tool_call_id -> tool name, from the assistant turns so far
    for number, message in enumerate(body["messages"]):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ValueError(f"messages[{number}]: role must be system, user, assistant or tool")
        text, images = _content(message.get("content"), number)
        shaped: JSON = {"role": message["role"], "content": text}
        if images:
            shaped["images"] = images
        if message.get("tool_calls"):
            shaped["tool_calls"] = [_call_view(call, number, names) for call in message["tool_calls"]]
        if message["role"] == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in names:
                raise ValueError(f"messages[{number}]: tool_call_id {call_id!r} answers no earlier tool call")
            shaped["tool_name"] = names[call_id]
        messages.append(shaped)
    response_format = body.get("response_format") or {}
    format: str | JSON | None = None
    if response_format.get("type") == "json_object":
        format = "json"
    elif response_format.get("type") == "json_schema":
        format = (response_format.get("json_schema") or {}).get("schema") or {"type": "object"}
    template = body.get("chat_template_kwargs") or {}
    options = {k: body[k] for k in ("temperature", "top_p", "max_tokens", "seed") if body.get(k) is not None}
    shaped_body = {
        "model": body.get("model"),
        "messages": messages,
        "tools": body.get("tools") or [],
        "options": options,
        "format": format,
        "think": template.get("enable_thinking"),
        "stream": bool(body.get("stream")),
    }
    return replace(ChatRequest.from_chat(shaped_body, "/v1/chat/completions"), body=body)


def _content(content: Any, number: int) -> tuple[str, list[str]]:
    """Text and base64 pictures from a message's content (a string, null or a list of parts)."""
    if content is None or isinstance(content, str):
        return content or "", []
    if not isinstance(content, list):
        raise ValueError(f"messages[{number}].content must be a string or a list of parts")
    texts: list[str] = []
    images: list[str] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            texts.append(str(part.get("text") or ""))
        elif kind == "image_url":
            url = str((part.get("image_url") or {}).get("url") or "")
            if not url.startswith("data:image/") or ";base64," not in url:
                raise ValueError(f"messages[{number}]: image_url must be a data:image/...;base64 URL here")
            images.append(url.partition(";base64,")[2])
        else:
            raise ValueError(f"messages[{number}]: unknown content part type {kind!r}")
    return "\n".join(texts), images


def _call_view(call: Any, number: int, names: dict[str, str]) -> JSON:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not call.get("id") or not function.get("name"):
        raise ValueError(f"messages[{number}].tool_calls: each needs an id and a function name")
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        raise ValueError(f"messages[{number}].tool_calls: function.arguments must be a JSON string")
    names[str(call["id"])] = str(function["name"])
    try:
        parsed: Any = json.loads(arguments)
    except ValueError:
        parsed = arguments
    return {"function": {"name": function["name"], "arguments": parsed}}


def _completion(ident: str, model: str, reply: Reply, thinking: str | None, usage: JSON) -> JSON:
    message: JSON = {"role": "assistant", "content": reply.content if reply.content or not reply.tool_calls else None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(i, name),
                "type": "function",
                "function": {"name": name, "arguments": _arguments_text(args)},
            }
            for i, (name, args) in enumerate(reply.tool_calls)
        ]
    if thinking:
        message["reasoning_content"] = thinking  # where llama.cpp and vLLM put it
    return {
        "id": ident,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "scripted",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(reply)}],
        "usage": usage,
    }


def _usage(view: ChatRequest, reply: Reply) -> JSON:
    """Token counts: characters of every message / 4, like the Ollama fake's."""
    calls = [json.dumps(m["tool_calls"]) for m in view.messages if m.get("tool_calls")]
    chars = sum(len(str(m.get("content") or "")) for m in view.messages) + sum(map(len, calls))
    prompt = max(1, chars // 4)
    answer = (max(1, len(reply.content) // 4) if reply.content else 0) + 10 * len(reply.tool_calls)
    return {"prompt_tokens": prompt, "completion_tokens": answer, "total_tokens": prompt + answer}


def _finish(reply: Reply) -> str:
    if reply.tool_calls:
        return "tool_calls"
    return "length" if reply.done_reason == "length" else "stop"


def _arguments_text(arguments: dict[str, Any]) -> str:
    return arguments.text if isinstance(arguments, Verbatim) else json.dumps(arguments, ensure_ascii=False)


def _call_id(index: int, name: str) -> str:
    return "call_" + hashlib.sha256(f"{index}:{name}:{time.time_ns()}".encode()).hexdigest()[:12]


def _model_card(name: str) -> JSON:
    return {"id": name, "object": "model", "created": 1_717_000_000, "owned_by": "scripted"}


def _missing(name: str) -> web.Response:
    """vLLM's answer for a model it does not serve."""
    return _error(404, f"The model `{name}` does not exist.", kind="NotFoundError", param="model")


def _error(status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": kind, "param": param, "code": status}}, status=status
    )


def _event(data: JSON) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _drop(request: web.Request) -> web.Response:
    """Close the connection without (finishing) an answer, as a crashed server would."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)  # never sent: aiohttp sees the closed transport and gives up


def _pieces(text: str) -> list[str]:
    """Split text into word-sized stream chunks that join back exactly."""
    return re.findall(r"\s*\S+\s*|\s+", text) if text else []


# --- the CLI: `python -m tests.fakes.openai_server --port 8080 --script demo` ---------------------


async def _serve(host: str, port: int, script: str, models: list[str], any_model: bool) -> None:
    server = ScriptedOpenAI(models or ("qwen3:8b", "qwen2.5vl:3b"), any_model=any_model)
    if script == "demo":
        server.default = demo_reply
    await server.start(host, port)
    print(f"scripted OpenAI-compatible API ({script}) at {server.base_url}: {', '.join(sorted(server.models))}")
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Run a scripted OpenAI-compatible server in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(description="A scripted stand-in for an OpenAI-compatible API (loopback only).")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--script", choices=("echo", "demo"), default="echo")
    parser.add_argument("--model", action="append", default=[], help="a model to offer (repeatable)")
    parser.add_argument("--any-model", action="store_true", help="answer to any model name, like llama.cpp")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port, args.script, args.model, args.any_model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
