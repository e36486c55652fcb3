"""A scripted Ollama HTTP API on loopback: the real `ollama` client talks to it as to a real Ollama."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import inspect
import ipaddress
import json
import math
import re
import signal
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes.ollama_script import (
    JSON,
    ChatRequest,
    Matcher,
    Reply,
    Responder,
    Rule,
    default_reply,
    demo_reply,
    sample_for_schema,
)

__all__ = [
    "ChatRequest",
    "Reply",
    "Rule",
    "ScriptedOllama",
    "default_reply",
    "demo_reply",
    "sample_for_schema",
]

OLLAMA_VERSION = "0.12.6"
_FOREVER = datetime(2318, 1, 1, tzinfo=UTC)  # what real Ollama shows for keep_alive < 0


class ScriptedOllama:
    """An Ollama API server on 127.0.0.x whose answers come from rules; records every request."""

    def __init__(self, models: Iterable[str] = ("qwen3:8b", "qwen2.5vl:3b"), *, embed_dim: int = 16) -> None:
        self.models: set[str] = set(models)
        self.embed_dim = embed_dim
        self.model_capabilities: dict[str, list[str]] = {}  # overrides the name-based guess
        self.requests: list[JSON] = []
        self.chat_requests: list[JSON] = []
        self.disconnects = 0  # streamed answers the client closed before their end (the model would stop)
        self.disconnected = asyncio.Event()  # set at each such close (when the server runs on the test's loop)
        self.default: Reply | Responder = default_reply
        self.url = ""
        self._rules: list[Rule] = []
        self._loaded: dict[str, tuple[datetime, int]] = {}  # model -> (expires_at, context length)
        self._host = "127.0.0.1"
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None

    # --- scripting -------------------------------------------------------------------------------

    def on(self, match: Matcher, reply: Reply | Responder, *, times: int | None = None) -> Rule:
        """Add a rule after the existing ones: a regex on the last user text, a predicate, or None (any)."""
        rule = Rule(match, reply, times)
        self._rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        """Forget every rule; the default answers from now on."""
        self._rules.clear()

    @property
    def rules(self) -> list[Rule]:
        """The rules, in the order they are tried."""
        return list(self._rules)

    def capabilities(self, model: str) -> list[str]:
        """What /api/show reports for `model`; tools and thinking are enforced on chat like real Ollama."""
        if model in self.model_capabilities:
            return list(self.model_capabilities[model])
        name = model.lower()
        if "embed" in name:
            return ["embedding"]
        vision = any(k in name for k in ("vl", "vision", "llava", "moondream", "gemma3"))
        caps = ["completion", "vision"] if vision else ["completion"]
        if not vision or "qwen3-vl" in name:
            caps.append("tools")
        if any(k in name for k in ("qwen3", "deepseek-r1", "gpt-oss", "magistral")):
            caps.append("thinking")
        return caps

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (loopback only; 0 = ephemeral) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("ScriptedOllama is already running")
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"ScriptedOllama binds to loopback only, not {host!r}")
        self._host = host
        await self._listen(port)
        return self.url

    async def stop(self) -> None:
        """Stop listening and close every connection; safe to call twice."""
        await self.down()

    async def down(self) -> None:
        """Refuse connections (and drop open ones) but keep the port for `up()`."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def up(self) -> None:
        """Listen again on the port used before `down()`."""
        if self._port is None:
            raise RuntimeError("ScriptedOllama.up() needs a start() first")
        if self._runner is None:
            await self._listen(self._port)

    async def __aenter__(self) -> ScriptedOllama:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Run the server on its own event loop in a daemon thread (for sync callers); return the URL."""
        loop = asyncio.new_event_loop()
        self._thread_loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="scripted-ollama", daemon=True)
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.start(host, port), loop).result(timeout=10)

    def stop_thread(self) -> None:
        """Stop a server started with `start_in_thread` and join its thread."""
        loop, thread = self._thread_loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._thread_loop = self._thread = None

    async def _listen(self, port: int) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)  # images arrive inline as base64
        self._routes(app)
        # a short shutdown timeout so down()/stop() cut delayed answers off instead of waiting for them
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, port, reuse_address=True).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self.url = f"http://{self._host}:{self._port}"

    def _routes(self, app: web.Application) -> None:
        """The API this server speaks (a subclass speaks another over the same scripts)."""
        app.router.add_get("/", self._root)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/ps", self._ps)
        app.router.add_post("/api/show", self._show)
        app.router.add_post("/api/chat", self._chat)
        app.router.add_post("/api/generate", self._generate)
        app.router.add_post("/api/embed", self._embed)
        app.router.add_post("/api/embeddings", self._embeddings)

    # --- handlers --------------------------------------------------------------------------------

    async def _root(self, _: web.Request) -> web.Response:
        return web.Response(text="Ollama is running")

    async def _version(self, _: web.Request) -> web.Response:
        return web.json_response({"version": OLLAMA_VERSION})

    async def _tags(self, _: web.Request) -> web.Response:
        models = [{"name": m, "model": m, **self._model_facts(m)} for m in sorted(self.models)]
        return web.json_response({"models": models})

    async def _ps(self, _: web.Request) -> web.Response:
        now = datetime.now(UTC)
        running = []
        for name, (expires_at, ctx) in sorted(self._loaded.items()):
            if expires_at <= now or name not in self.models:
                continue
            facts = self._model_facts(name)
            running.append(
                {
                    "name": name,
                    "model": name,
                    "size": facts["size"],
                    "digest": facts["digest"],
                    "details": facts["details"],
                    "expires_at": _rfc3339(expires_at),
                    "size_vram": facts["size"],
                    "context_length": ctx,
                }
            )
        return web.json_response({"models": running})

    async def _show(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        name = str(body.get("model") or body.get("name") or "")
        if not name:
            return _error(400, "model is required")
        if self._known(name) is None:
            return _error(404, f"model '{name}' not found")
        facts = self._model_facts(name)
        family = facts["details"]["family"]
        return web.json_response(
            {
                "license": "",
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {name}\n',
                "parameters": "temperature 0.6",
                "template": "{{ .Prompt }}",
                "details": facts["details"],
                "model_info": {
                    "general.architecture": family,
                    "general.parameter_count": facts["size"] * 2,
                    f"{family}.context_length": 40960,
                    f"{family}.embedding_length": self.embed_dim,
                },
                "capabilities": self.capabilities(name),
                "modified_at": facts["modified_at"],
            }
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        self.chat_requests.append(self.requests[-1])
        return await self._complete(request, ChatRequest.from_chat(body), empty=not body.get("messages"))

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        return await self._complete(request, ChatRequest.from_generate(body), empty=not body.get("prompt"))

    async def _embed(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if (failure := self._check_model(str(body.get("model") or ""))) is not None:
            return failure
        raw = body.get("input")
        texts = ([raw] if raw else []) if isinstance(raw, str | None) else raw
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return _error(400, "invalid input type")
        dimensions = int(body.get("dimensions") or 0)
        vectors = [self.embedding(t, dimensions) for t in texts]
        self._touch(str(body["model"]), body)
        tokens = sum(_tokens(t) for t in texts)
        return web.json_response(
            {
                "model": body["model"],
                "embeddings": vectors,
                **_durations(tokens, 0),
                "prompt_eval_count": tokens,
            }
        )

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if (failure := self._check_model(str(body.get("model") or ""))) is not None:
            return failure
        self._touch(str(body["model"]), body)
        prompt = str(body.get("prompt") or "")
        return web.json_response({"embedding": self.embedding(prompt) if prompt else []})

    # --- chat and generate -----------------------------------------------------------------------

    async def _complete(self, request: web.Request, req: ChatRequest, *, empty: bool) -> web.StreamResponse:
        """Validate like Ollama, pick the scripted reply and send it in the endpoint's shape."""
        started = time.monotonic_ns()
        if (failure := self._check_model(req.model)) is not None:
            return failure
        caps = self.capabilities(self._known(req.model) or req.model)
        if req.tools and "tools" not in caps:
            return _error(400, f'"{req.model}" does not support tools')
        if req.think not in (None, False) and "thinking" not in caps:
            return _error(400, f'"{req.model}" does not support thinking')
        unload = _keep_alive_seconds(req.keep_alive) == 0
        self._touch(req.model, req.body)
        if empty:  # Ollama loads (or with keep_alive 0 unloads) the model and answers at once
            return web.json_response(self._shape(req, "", None, [], {}, "unload" if unload else "load"))
        try:
            reply = await self._pick(req)
        except Exception as exc:  # a broken script should fail the caller's request visibly
            return _error(500, f"scripted reply raised {exc!r}")
        if reply.delay > 0:
            await asyncio.sleep(reply.delay)
        if reply.disconnect and not (req.stream and (reply.content or reply.thinking)):
            return _drop(request)
        if reply.status >= 400 or (reply.error is not None and not req.stream):
            return _error(reply.status if reply.status >= 400 else 500, reply.error or "error")
        thinking = None if req.think is False else reply.thinking  # think=false suppresses thinking
        calls = reply.tool_calls if req.path == "/api/chat" else []
        stats = _stats(req, reply, started)
        if not req.stream:
            return web.json_response(self._shape(req, reply.content, thinking, calls, stats, reply.done_reason))
        return await self._stream(request, req, reply, thinking, calls, stats)

    async def _stream(
        self,
        request: web.Request,
        req: ChatRequest,
        reply: Reply,
        thinking: str | None,
        calls: list[tuple[str, dict[str, Any]]],
        stats: JSON,
    ) -> web.StreamResponse:
        """NDJSON like Ollama: thinking pieces, content pieces, tool calls, then a done chunk with stats."""
        chunks = [self._shape(req, "", piece, [], {}, None) for piece in _pieces(thinking or "")]
        chunks += [self._shape(req, piece, None, [], {}, None) for piece in _pieces(reply.content)]
        if calls:
            chunks.append(self._shape(req, "", None, calls, {}, None))
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        for chunk in chunks:
            if not await self._sent(response, request, json.dumps(chunk).encode() + b"\n"):
                return response
            if reply.chunk_delay > 0:
                await asyncio.sleep(reply.chunk_delay)
        if reply.disconnect:
            return _drop(request)
        if reply.error is not None:  # a runner failing mid-stream: Ollama writes an error line
            await response.write(json.dumps({"error": reply.error}).encode() + b"\n")
        else:
            final = self._shape(req, "", None, [], stats, reply.done_reason)
            await response.write(json.dumps(final).encode() + b"\n")
        await response.write_eof()
        return response

    def _shape(
        self,
        req: ChatRequest,
        content: str,
        thinking: str | None,
        calls: list[tuple[str, dict[str, Any]]],
        stats: JSON,
        done_reason: str | None,
    ) -> JSON:
        """One response object in the shape of the endpoint (chat `message` or generate `response`)."""
        out: JSON = {"model": req.model, "created_at": _rfc3339(datetime.now(UTC))}
        if req.path == "/api/chat":
            message: JSON = {"role": "assistant", "content": content}
            if thinking:
                message["thinking"] = thinking
            if calls:
                message["tool_calls"] = [_tool_call(i, name, args) for i, (name, args) in enumerate(calls)]
            out["message"] = message
        else:
            out["response"] = content
            if thinking:
                out["thinking"] = thinking
        out["done"] = done_reason is not None
        if done_reason is not None:
            out["done_reason"] = done_reason
            out.update(stats)
            if req.path == "/api/generate" and "eval_count" in stats:  # the deprecated token context
                out["context"] = list(range(1, min(stats["prompt_eval_count"] + stats["eval_count"], 64) + 1))
        return out

    async def _pick(self, req: ChatRequest) -> Reply:
        """The first matching rule's reply (counted as a hit), else the default."""
        chosen: Reply | Responder = self.default
        for rule in list(self._rules):
            if rule.matches(req):
                rule.hits += 1
                chosen = rule.reply
                break
        if isinstance(chosen, Reply):
            return chosen
        result = chosen(req)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, Reply):
            raise TypeError(f"a reply callable returned {type(result).__name__}, not Reply")
        return result

    # --- helpers ---------------------------------------------------------------------------------

    async def _sent(self, response: web.StreamResponse, request: web.Request, data: bytes) -> bool:
        """Write one streamed chunk; False (and the close counted) once the client has gone away."""
        transport = request.transport
        try:
            if transport is None or transport.is_closing():
                raise ConnectionResetError("the client closed the stream")
            await response.write(data)
        except ConnectionResetError:  # aiohttp's ClientConnectionResetError too
            self.disconnects += 1
            self.disconnected.set()
            return False
        return True

    async def _body(self, request: web.Request) -> JSON | web.Response:
        """The JSON body, recorded with its path; a 400 like Ollama's when it is missing or not an object."""
        raw = await request.read()
        if not raw.strip():
            return _error(400, "missing request body")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return _error(400, f"invalid JSON: {exc}")
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object")
        self.requests.append({**body, "path": request.path})
        return body

    def _known(self, name: str) -> str | None:
        """The installed model `name` refers to (a bare name means `:latest`), or None."""
        wanted = _canonical(name)
        return next((m for m in self.models if _canonical(m) == wanted), None)

    def _check_model(self, name: str) -> web.Response | None:
        if not name:
            return _error(400, "model is required")
        if self._known(name) is None:
            return _error(404, f'model "{name}" not found, try pulling it first')
        return None

    def _touch(self, name: str, body: JSON) -> None:
        """Mark a model loaded until its keep_alive runs out, as /api/ps reports it."""
        model = self._known(name) or name
        seconds = _keep_alive_seconds(body.get("keep_alive"))
        if seconds == 0:
            self._loaded.pop(model, None)
            return
        expires = _FOREVER if seconds is None else datetime.now(UTC) + timedelta(seconds=seconds)
        ctx = int((body.get("options") or {}).get("num_ctx") or 4096)
        self._loaded[model] = (expires, ctx)

    def _model_facts(self, name: str) -> JSON:
        digest = hashlib.sha256(name.encode()).hexdigest()
        base, _, tag = _canonical(name).rpartition("/")[2].partition(":")
        family = re.sub(r"[^a-z0-9]", "", base.lower()) or "llama"
        size_match = re.search(r"(\d+(?:\.\d+)?)b", tag.lower())
        return {
            "modified_at": "2025-06-01T12:00:00.000000000Z",
            "size": 1_000_000_000 + int(digest[:6], 16) * 1000,
            "digest": digest,
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": family,
                "families": [family],
                "parameter_size": f"{size_match.group(1)}B" if size_match else "7.6B",
                "quantization_level": "Q4_K_M",
            },
        }

    def embedding(self, text: str, dimensions: int = 0) -> list[float]:
        """A deterministic unit vector: hashed bag of words, so texts sharing words point alike."""
        size = dimensions if 0 < dimensions < self.embed_dim else self.embed_dim
        vector = [0.0] * size
        for word in re.findall(r"\w+", text.lower()) or [text]:
            digest = hashlib.sha256(word.encode()).digest()
            for k in range(0, 8, 2):  # each word votes in four slots with a sign
                vector[digest[k] % size] += 1.0 if digest[k + 1] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


def _tool_call(index: int, name: str, arguments: dict[str, Any]) -> JSON:
    call_id = "call_" + hashlib.sha256(f"{index}:{name}:{time.time_ns()}".encode()).hexdigest()[:8]
    return {"id": call_id, "function": {"index": index, "name": name, "arguments": arguments}}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _drop(request: web.Request) -> web.Response:
    """Close the connection without (finishing) an answer, as a crashed server would."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)  # never sent: aiohttp sees the closed transport and gives up


def _canonical(name: str) -> str:
    return name if ":" in name.rpartition("/")[2] else f"{name}:latest"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _pieces(text: str) -> list[str]:
    """Split text into word-sized stream chunks that join back exactly."""
    return re.findall(r"\s*\S+\s*|\s+", text) if text else []


def _tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def _message_chars(message: JSON) -> int:
    chars = len(str(message.get("content") or "")) + len(str(message.get("thinking") or ""))
    return chars + sum(len(json.dumps(c)) for c in message.get("tool_calls") or [])


def _stats(req: ChatRequest, reply: Reply, started_ns: int) -> JSON:
    """The done chunk's counters: prompt tokens ~ characters of all messages / 4."""
    prompt = max(1, sum(_message_chars(m) for m in req.messages) // 4)
    answer = _tokens(reply.content + (reply.thinking or "")) + 10 * len(reply.tool_calls)
    elapsed = max(time.monotonic_ns() - started_ns, 1)
    return {**_durations(prompt, answer, elapsed), "prompt_eval_count": prompt, "eval_count": answer}


def _durations(prompt: int, answer: int, elapsed_ns: int = 0) -> JSON:
    load, prompt_ns, eval_ns = 1_000_000, prompt * 100_000, answer * 1_000_000
    total = max(elapsed_ns, load + prompt_ns + eval_ns)
    return {"total_duration": total, "load_duration": load, "prompt_eval_duration": prompt_ns} | (
        {"eval_duration": eval_ns} if answer else {}
    )


def _keep_alive_seconds(value: Any) -> float | None:
    """Ollama's keep_alive in seconds: numbers are seconds, strings are Go durations; None = forever."""
    if value is None or value == "":
        return 300.0
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(value))
        if match is None:
            return 300.0
        seconds = float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
    return None if seconds < 0 else seconds


# --- the CLI: `python -m tests.fakes.ollama_server --port 11434 --script demo` ---------------------


async def _serve(host: str, port: int, script: str, models: list[str]) -> None:
    server = ScriptedOllama(models or ("qwen3:8b", "qwen2.5vl:3b"))
    if script == "demo":
        server.default = demo_reply
    url = await server.start(host, port)
    print(f"scripted Ollama ({script}) on {url} with models: {', '.join(sorted(server.models))}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Run a scripted Ollama in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(description="A scripted stand-in for the Ollama API (loopback only).")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--script", choices=("echo", "demo"), default="echo")
    parser.add_argument("--model", action="append", default=[], help="a model to offer (repeatable)")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port, args.script, args.model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
