"""An OpenAI-compatible model server (llama.cpp, vLLM, LM Studio, LocalAI) through the real `openai` client."""

from __future__ import annotations

import ast
import asyncio
import base64
import contextlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from claw.assistant.llm import Answer, Bounds, Finish, Format, ToolCall
from claw.assistant.runaway import Watch
from claw.core.config import LLMConfig
from claw.core.errors import ModelError, ModelMissing, ModelOffline
from claw.core.secrets import secret

log = logging.getLogger(__name__)

# How each server makes a model answer to a name; said when the configured one is missing.
HOW_TO_SERVE = (
    "llama.cpp: llama-server --alias NAME; vLLM: --served-model-name NAME; "
    "LM Studio: lms load MODEL --identifier NAME; LocalAI: name: NAME in its model YAML"
)
HOW_TO_ENABLE_TOOLS = (
    "start it with tool calling on (llama.cpp: --jinja; vLLM: --enable-auto-tool-choice --tool-call-parser hermes)"
)
_TOOLS_OFF = re.compile(r"tool.?choice|tool.?call|\btools?\b.{0,40}(not supported|unsupported)", re.IGNORECASE)
_MISSING = re.compile(
    r"model\b.{0,120}?(not found|does not exist|not loaded|no such|unknown|not available)"
    r"|no models? (is )?loaded|(could not|failed to|unable to) load model|model_not_found",
    re.IGNORECASE | re.DOTALL,
)
_FORMAT_REFUSED = re.compile(r"response_format|json_schema|json_object", re.IGNORECASE)
_THINKING = re.compile(r"^\s*(<think>.*?</think>|.*?</think>)\s*", re.DOTALL)  # reasoning a server left in
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class OpenAIBackend:
    """Chat (tools, JSON, pictures), listing and warming through /v1/chat/completions and /v1/models."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.address = config.base_url
        key = secret("llm_api_key", env=config.api_key_env) if config.api_key_env else None
        if config.api_key_env and key is None:
            log.warning("[llm] api_key_env names %s, which is not set: sending no API key", config.api_key_env)
        self._client = openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=key or "none",  # a placeholder: an OPENAI_API_KEY in the environment never leaks to this server
            timeout=config.timeout,
            max_retries=0,  # like the Ollama path: the router falls back at once instead of waiting out retries
            http_client=openai.DefaultAsyncHttpxClient(),  # the default one schedules its own close at GC, too late
        )
        self._refused: set[str] = set()  # response_format types this server turned down; not offered again

    async def chat(
        self,
        name: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]],
        format: Format,
        images: Sequence[bytes],
        bounds: Bounds,
    ) -> Answer:
        converted = openai_messages(messages, images)
        started = asyncio.get_running_loop().time()
        for kind in [k for k in _format_order(format) if k not in self._refused]:
            request: dict[str, Any] = {
                "model": name,
                "messages": _with_schema_note(converted, format) if kind == "prompt" else converted,
                "temperature": 0.2,
                "max_tokens": bounds.tokens,
                # Qwen-style templates think unless told not to; servers without the knob ignore it
                "chat_template_kwargs": {"enable_thinking": False},
                "stream": True,  # so that closing the stream stops the generation on the server
                "stream_options": {"include_usage": True},
            }
            if tools:
                request["tools"] = [dict(t) for t in tools]
            if kind in ("json_schema", "json_object"):
                request["response_format"] = _response_format(kind, format)
            left = max(bounds.seconds - (asyncio.get_running_loop().time() - started), 0.5)
            try:
                return await self._streamed(request, Bounds(bounds.tokens, left), name)
            except openai.APIStatusError as exc:
                if kind != "prompt" and exc.status_code in (400, 422, 500) and _FORMAT_REFUSED.search(_said(exc)):
                    log.info("model server at %s refuses response_format %s; trying the next way", self.address, kind)
                    self._refused.add(kind)
                    continue
                raise await self._failure(exc, name) from None
            except (ModelError, asyncio.CancelledError):
                raise
            except Exception as exc:
                raise await self._failure(exc, name) from None
        raise ModelError("the model server refused every way of asking for JSON")  # unreachable: "prompt" is last

    def takes(self, kind: str) -> bool | None:
        """Whether the server takes this response_format type: False once refused, None until asked."""
        return False if kind in self._refused else None

    async def _streamed(self, request: dict[str, Any], bounds: Bounds, name: str) -> Answer:
        """Post one streamed request and gather its answer, cut at the bounds; the stream is always closed."""
        watch = Watch(bounds.tokens)
        calls: dict[int, dict[str, str]] = {}
        finish: Finish = "stop"
        ended = False  # the server said why the answer ended (finish_reason)
        prompt = output = 0
        stream: openai.AsyncStream[ChatCompletionChunk] | None = None
        try:
            async with asyncio.timeout(bounds.seconds):
                # the client's plain POST: `chat.completions.create` re-walks every message against its
                # TypedDicts, ~50 ms for a full prompt (bench/llm_backends.py); the answer is parsed the same
                stream = await self._client.post(
                    "/chat/completions",
                    body=request,
                    cast_to=ChatCompletion,
                    stream=True,
                    stream_cls=openai.AsyncStream[ChatCompletionChunk],
                )
                async for chunk in stream:
                    if chunk.usage is not None:
                        prompt, output = chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    for call in choice.delta.tool_calls or []:
                        held = calls.setdefault(call.index, {"name": "", "arguments": ""})
                        if call.function is not None:
                            held["name"] += call.function.name or ""
                            held["arguments"] += call.function.arguments or ""
                    if choice.finish_reason == "length":
                        finish = "length"
                    ended = ended or choice.finish_reason is not None
                    stop = watch.add(choice.delta.content or "")
                    if stop == "written":  # a call written as text is complete: what follows is noise
                        ended = True
                        break
                    if stop:
                        finish = "length" if stop == "length" else "repetition"
                        break
        except TimeoutError:
            if not watch.size and not calls:
                raise ModelError(f"the model server did not answer within {bounds.seconds:.0f} s") from None
            finish = "time"
        finally:
            if stream is not None:  # closing the stream ends the generation on the server, too
                with contextlib.suppress(Exception):
                    await stream.close()
        if finish == "stop" and not ended and (watch.size or calls):
            finish = "length"  # the server ended it unfinished (llama-cpp-python does when another request comes)
        if finish != "stop":
            log.info("answer of %s cut (%s) after %d characters", name, finish, watch.size)
        found = [ToolCall(c["name"], parse_arguments(c["arguments"])) for _, c in sorted(calls.items()) if c["name"]]
        content = watch.content()
        if "</think>" in content:
            content = _THINKING.sub("", content, count=1)
        return Answer(
            content=content,
            tool_calls=tuple(found),
            prompt_tokens=prompt,
            output_tokens=output or (watch.size // 4),
            raw_tool_calls=tuple({"function": {"name": c.name, "arguments": dict(c.arguments)}} for c in found),
            finish=finish,
        )

    async def models(self) -> list[str]:
        try:
            page = await self._client.models.list()
        except Exception as exc:
            raise self._translate(exc, "") from None
        return [m.id for m in page.data]

    async def warm(self, model: str) -> None:
        """A one-token call: servers that load models on demand (LM Studio, LocalAI) load it now."""
        try:
            await self._client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=1
            )
        except Exception as exc:
            raise await self._failure(exc, model) from None

    async def close(self) -> None:
        await self._client.close()

    async def _failure(self, exc: Exception, name: str) -> Exception:
        """The error to raise; a missing model's message lists what the server does serve."""
        error = self._translate(exc, name)
        if isinstance(error, ModelMissing):
            served: list[str] = []
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    served = await self.models()
            error = self._missing(name, served)
        return error

    def _missing(self, name: str, served: Sequence[str] = ()) -> ModelMissing:
        key = "vision_model" if name == self.config.vision_model != self.config.model else "model"
        listing = f" (it serves: {', '.join(served[:8])})" if served else ""
        return ModelMissing(
            f"the model server at {self.address} has no model '{name}'{listing}: set [llm] {key} to a model it "
            f"serves, or serve it under that name ({HOW_TO_SERVE})"
        )

    def _translate(self, exc: Exception, name: str) -> Exception:
        where = self.address
        if isinstance(exc, openai.APITimeoutError):
            return ModelError(f"the model server did not answer within {self.config.timeout:.0f} s")
        if isinstance(exc, openai.APIConnectionError):
            return ModelOffline(f"my model server at {where} is offline")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            fix = (
                f"check the key in ${self.config.api_key_env}"
                if self.config.api_key_env
                else "set [llm] api_key_env to the environment variable that holds its key"
            )
            return ModelError(f"the model server at {where} refused the API key ({exc.status_code}): {fix}")
        if isinstance(exc, openai.APIStatusError):
            said = _said(exc)
            if name and (_MISSING.search(said) or (exc.status_code == 404 and "model" in said.lower())):
                return self._missing(name)
            if exc.status_code == 404:
                return ModelError(
                    f"the model server at {where} has no chat API there (404): [llm] base_url usually ends in /v1"
                )
            if exc.status_code == 400 and _TOOLS_OFF.search(said):
                return ModelError(f"the model server refuses tool calls ({said[:160]}): {HOW_TO_ENABLE_TOOLS}")
            return ModelError(f"the model server answered with an error ({exc.status_code}): {said[:200]}")
        log.warning("unexpected model failure: %r", exc)
        return ModelError(f"the model's answer could not be read ({type(exc).__name__})")


def openai_messages(messages: Sequence[Mapping[str, Any]], images: Sequence[bytes] = ()) -> list[dict[str, Any]]:
    """Claw's history (Ollama's chat shape) in OpenAI's: call ids pair tool results, pictures become data URLs."""
    out: list[dict[str, Any]] = []
    waiting: list[str] = []  # ids of the latest tool calls whose results have not come yet
    count = 0
    for m in messages:
        role, content = str(m.get("role") or "user"), str(m.get("content") or "")
        if role == "assistant" and m.get("tool_calls"):
            calls: list[dict[str, Any]] = []
            for call in m["tool_calls"]:
                function = call.get("function") or {}
                count += 1
                arguments = function.get("arguments")
                text = arguments if isinstance(arguments, str) else json.dumps(arguments or {}, ensure_ascii=False)
                named = {"name": str(function.get("name") or ""), "arguments": text}
                calls.append({"id": str(call.get("id") or f"call_{count}"), "type": "function", "function": named})
            waiting = [c["id"] for c in calls]
            # "" not null: llama-cpp-python answers the next request with a 500 when a call's content is null
            out.append({"role": "assistant", "content": content or "", "tool_calls": calls})
        elif role == "tool":
            if not waiting:  # its call fell out of the history: restate it, since servers want each result paired
                count += 1
                waiting = [f"call_{count}"]
                restated = {"name": str(m.get("tool_name") or "tool"), "arguments": "{}"}
                out.append(
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [{"id": waiting[0], "type": "function", "function": restated}],
                    }
                )
            out.append({"role": "tool", "tool_call_id": waiting.pop(0), "content": content})
        else:
            pictures = [*m.get("images", ())]
            out.append({"role": role, "content": _with_pictures(content, pictures) if pictures else content})
    if images and out:
        last = out[-1]
        out[-1] = {**last, "content": _with_pictures(str(last.get("content") or ""), list(images))}
    return out


def parse_arguments(arguments: object) -> dict[str, Any]:
    """A tool call's arguments as a dict, however the model wrote them; {} when nothing can be read."""
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    text = arguments.strip()
    fenced = _FENCE.match(text)
    text = fenced.group(1) if fenced else text
    for candidate in _candidates(text):
        with contextlib.suppress(ValueError, SyntaxError, RecursionError, MemoryError):
            value = json.loads(candidate)
            if isinstance(value, str):  # JSON inside a JSON string
                value = json.loads(value)
            if isinstance(value, dict):
                return value
        with contextlib.suppress(ValueError, SyntaxError, RecursionError, MemoryError, TypeError):
            value = ast.literal_eval(candidate)  # Python's spelling: single quotes, True, None
            if isinstance(value, dict):
                return {str(k): v for k, v in value.items()}
    log.warning("tool call arguments are not JSON, passing none: %r", arguments[:200])
    return {}


def _candidates(text: str) -> list[str]:
    """The text, its outermost {...}, and that with trailing commas dropped and open brackets closed."""
    start, end = text.find("{"), text.rfind("}")
    inner = text[start : end + 1] if 0 <= start < end else text[start:] if start >= 0 else text
    tidy = re.sub(r",\s*([}\]])", r"\1", inner)
    return [text, inner, tidy, _closed(tidy.rstrip().rstrip(","))]


def _closed(text: str) -> str:
    """Close the strings, lists and objects a cut-off answer left open."""
    stack: list[str] = []
    quoted, escaped = False, False
    for char in text:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
    return text + ('"' if quoted else "") + "".join(reversed(stack))


def _format_order(format: Format) -> list[str]:
    """The response_format types to try, best first; "prompt" (asking in words) always works."""
    if format is None:
        return ["none"]
    if isinstance(format, Mapping):
        return ["json_schema", "json_object", "prompt"]
    return ["json_object", "json_schema", "prompt"]  # "json": any object


def _response_format(kind: str, format: Format) -> dict[str, Any]:
    if kind == "json_object":
        # llama-cpp-python refuses json_schema but enforces a schema given here (as a grammar); others ignore it
        return (
            {"type": "json_object", "schema": dict(format)} if isinstance(format, Mapping) else {"type": "json_object"}
        )
    schema = dict(format) if isinstance(format, Mapping) else {"type": "object"}
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


def _with_schema_note(messages: list[dict[str, Any]], format: Format) -> list[dict[str, Any]]:
    """The request in words, for a server that takes no response_format."""
    shape = json.dumps(format) if isinstance(format, Mapping) else "a JSON object"
    note = {"role": "system", "content": f"Answer with JSON only, no other text, matching: {shape}"}
    return [*messages, note]


def _with_pictures(text: str, pictures: Sequence[bytes | str]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": _data_url(p)}} for p in pictures]
    return parts


def _data_url(picture: bytes | str) -> str:
    """A data: URL; strings are taken as base64 already (Ollama's spelling of an image)."""
    raw = picture if isinstance(picture, bytes) else base64.b64decode(picture)
    kind = "jpeg"
    if raw.startswith(b"\x89PNG"):
        kind = "png"
    elif raw[:6] in (b"GIF87a", b"GIF89a"):
        kind = "gif"
    elif raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        kind = "webp"
    return f"data:image/{kind};base64,{base64.b64encode(raw).decode('ascii')}"


def _said(exc: openai.APIStatusError) -> str:
    """The server's own words from an error body, in whichever shape it used."""
    body = exc.body
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, Mapping):
                value = value.get("message")
            if value:
                return str(value)
    if isinstance(body, str) and body:
        return body
    return exc.message
