"""The model server behind one facade: Ollama's API or an OpenAI-compatible one; their failures become ours."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

import httpx
import ollama

from claw.assistant.runaway import Watch
from claw.core.config import LLMConfig
from claw.core.errors import ModelError, ModelMissing, ModelOffline

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_AFTER = 15.0  # seconds an offline model server is taken at its word before the next message tries it again
Format = str | Mapping[str, Any] | None  # "json", a JSON schema, or free text
# What an answer is for: its output limit follows (LLMConfig.output_tokens)
Purpose = Literal["reply", "decision", "summary", "describe"]
# How the model proposes actions: a JSON schema of the home's actions, native tool calls, or calls in text
Mode = Literal["structured", "tools", "text"]
# Why an answer ended: the model stopped; it hit its output limit; it repeated itself; its time ran out
Finish = Literal["stop", "length", "repetition", "time"]


@dataclass(frozen=True, slots=True)
class Bounds:
    """What one answer may take: output tokens (sent to the server) and wall-clock seconds (kept here)."""

    tokens: int
    seconds: float


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Answer:
    """What the model said: text and/or tool calls, and how big the prompt was by its own count."""

    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 0
    output_tokens: int = 0
    raw_tool_calls: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    finish: Finish = "stop"

    @property
    def cut(self) -> bool:
        """The answer did not end by itself: it was cut at its limit, for repeating, or for time."""
        return self.finish != "stop"


class Backend(Protocol):
    """One model-server API; every failure is raised as ModelOffline, ModelMissing or ModelError."""

    address: str

    async def chat(
        self,
        name: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]],
        format: Format,
        images: Sequence[bytes],
        bounds: Bounds,
    ) -> Answer: ...

    async def models(self) -> list[str]: ...

    def takes(self, kind: str) -> bool | None:
        """Whether the server takes this response_format type: False once refused, None until asked."""

    async def warm(self, model: str) -> None: ...

    async def close(self) -> None: ...


class Model:
    """Chat and vision calls with a global concurrency limit; errors become ModelUnavailable kinds."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._backend = _backend(config)
        self._slots = asyncio.Semaphore(config.max_concurrent)
        self.online: bool | None = None  # None until the first call tells us
        self._offline_at = 0.0  # monotonic time a call last found the server offline
        self._fallen: Mode | None = None  # with decisions = "auto": the mode the server's refusals left us in
        self._streaming = 0  # chat calls in flight

    @property
    def decision_mode(self) -> Mode:
        """How the model proposes actions now: [llm] decisions, or with "auto" the best way this server has
        not refused — "structured" (JSON schema), then "tools" (native tool calls), then "text"."""
        if self.config.decisions != "auto":
            return self.config.decisions
        if self._fallen is not None:
            return self._fallen
        # llama-cpp-python refuses json_schema but enforces a schema sent with json_object: still structured
        if self._backend.takes("json_schema") is False and self._backend.takes("json_object") is False:
            return "tools"
        return "structured"

    def fall_back(self, refused: Mode) -> bool:
        """The server refused `refused` (with decisions = "auto"): use the next mode; False when there is none."""
        if self.config.decisions != "auto" or refused == "text":
            return False
        self._fallen = "tools" if refused == "structured" else "text"
        log.warning("model server at %s: %s decisions refused, using %s", self.address, refused, self._fallen)
        return True

    @property
    def address(self) -> str:
        """The model server's URL, as the owner configured it."""
        return self._backend.address

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]] = (),
        model: str | None = None,
        format: Format = None,
        images: Sequence[bytes] = (),
        purpose: Purpose = "reply",
        seconds: float | None = None,
    ) -> Answer:
        """One streamed chat call, bounded in output tokens (by `purpose`) and time (`seconds`, at most the
        configured timeout); think off, since tool turns want action, not essays. Cancelling it closes the
        stream, which makes Ollama and llama.cpp stop generating."""
        name = model or self.config.model
        budget = min(self.config.timeout, seconds) if seconds is not None else self.config.timeout
        started = time.monotonic()
        async with self._slots:
            # time spent waiting for a slot is part of the budget: the owner waits either way
            left = max(budget - (time.monotonic() - started), 0.5)
            bounds = Bounds(self.config.output_tokens(purpose), left)
            call = self._backend.chat(name, messages, tools=tools, format=format, images=images, bounds=bounds)
            self._streaming += 1
            try:
                return await self._watched(call)
            finally:
                self._streaming -= 1

    @property
    def busy(self) -> bool:
        """A chat call is streaming: the server is answering. A health probe now would compete with it (on
        llama-cpp-python's server any other request, /v1/models too, ends the running answer at once)."""
        return self._streaming > 0

    async def models(self) -> list[str]:
        """Names of the models the server has; raises ModelOffline when it does not answer."""
        return await self._watched(self._backend.models())

    async def warm(self, model: str) -> None:
        """Load a model into memory ahead of need (cold loads take tens of seconds)."""
        async with self._slots:
            await self._watched(self._backend.warm(model))

    async def close(self) -> None:
        """Close the connections to the model server (the Model is unusable afterwards)."""
        await self._backend.close()

    async def _watched(self, call: Awaitable[T]) -> T:
        """Await a backend call, keeping `online` (and its log lines) in step with what happened."""
        try:
            result = await call
        except ModelOffline:
            self._mark(online=False)
            raise
        except ModelMissing:
            self._mark(online=True)
            raise
        self._mark(online=True)
        return result

    @property
    def known_offline(self) -> bool:
        """Offline, as a call found out within the last RETRY_AFTER seconds: answer without asking it again.
        After that the next message tries the server again, so a server that comes back is used at once."""
        return self.online is False and time.monotonic() - self._offline_at < RETRY_AFTER

    def _mark(self, *, online: bool) -> None:
        if not online:
            self._offline_at = time.monotonic()
        if self.online is not online:
            if online and self.online is False:
                log.info("model server at %s is back", self.address)
            elif not online:
                log.warning("model server at %s is offline", self.address)
            self.online = online


def _backend(config: LLMConfig) -> Backend:
    if config.api == "openai":
        # the OpenAI backend imports this module's values; importing it here keeps that one-way at load time
        from claw.assistant.llm_openai import OpenAIBackend  # noqa: PLC0415

        return OpenAIBackend(config)
    return OllamaBackend(config)


class OllamaBackend:
    """Ollama's own API through the real `ollama` client."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.address = config.host
        self._client = ollama.AsyncClient(host=config.host, timeout=config.timeout)

    def takes(self, kind: str) -> bool | None:
        """Ollama takes a JSON schema as `format` (since 0.5); an older one's refusal shows as a ModelError."""
        return True

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
        msgs = [dict(m) for m in messages]
        if images and msgs:
            msgs[-1]["images"] = list(images)
        watch = Watch(bounds.tokens)
        calls: list[ToolCall] = []
        finish: Finish = "stop"
        prompt = output = 0
        stream: AsyncIterator[Any] | None = None
        try:
            async with asyncio.timeout(bounds.seconds):
                shape: Any = dict(format) if isinstance(format, Mapping) else format
                stream = await self._client.chat(
                    model=name,
                    messages=msgs,
                    tools=list(tools) or None,
                    format=shape,
                    think=False,
                    options={"num_ctx": self.config.num_ctx, "temperature": 0.2, "num_predict": bounds.tokens},
                    keep_alive=self.config.keep_alive,
                    stream=True,
                )
                async for part in stream:
                    message = part.message
                    for c in message.tool_calls or []:
                        calls.append(ToolCall(c.function.name, dict(c.function.arguments or {})))
                    if part.done:
                        prompt, output = part.prompt_eval_count or 0, part.eval_count or 0
                        finish = "length" if part.done_reason == "length" else "stop"
                    stop = watch.add(message.content or "")
                    if stop == "written":  # a call written as text is complete: what follows is noise
                        break
                    if stop:
                        finish = "length" if stop == "length" else "repetition"
                        break
        except TimeoutError:
            if not watch.size and not calls:
                raise ModelError(f"the model server did not answer within {bounds.seconds:.0f} s") from None
            finish = "time"
        except BaseException as exc:
            raise self._translate(exc, name) from None
        finally:
            if stream is not None:  # closing the stream ends the generation on the server, too
                await _closed(stream)
        if finish != "stop":
            log.info("answer of %s cut (%s) after %d characters", name, finish, watch.size)
        return Answer(
            content=watch.content(),
            tool_calls=tuple(calls),
            prompt_tokens=prompt,
            output_tokens=output or (watch.size // 4),
            raw_tool_calls=tuple({"function": {"name": c.name, "arguments": dict(c.arguments)}} for c in calls),
            finish=finish,
        )

    async def models(self) -> list[str]:
        try:
            listing = await self._client.list()
        except BaseException as exc:
            raise self._translate(exc, "") from None
        return [m.model or "" for m in listing.models]

    async def warm(self, model: str) -> None:
        try:
            await self._client.generate(model=model, prompt="", keep_alive=self.config.keep_alive)
        except BaseException as exc:
            raise self._translate(exc, model) from None

    async def close(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]

    def _translate(self, exc: BaseException, name: str) -> BaseException:
        if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit | ModelError):
            return exc
        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404:
                return ModelMissing(
                    f"the model server has no model '{name}': run `ollama pull {name}` or change [llm] model"
                )
            return ModelError(f"the model server answered with an error ({exc.status_code}): {exc.error[:200]}")
        if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.RemoteProtocolError | OSError):
            return ModelOffline(f"my model server at {self.config.host} is offline")
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            return ModelError(f"the model server did not answer within {self.config.timeout:.0f} s")
        log.warning("unexpected model failure: %r", exc)
        return ModelError(f"the model's answer could not be read ({type(exc).__name__})")


async def _closed(stream: AsyncIterator[Any]) -> None:
    """Close a response stream (an async generator) without letting a failure to close hide the answer."""
    close = getattr(stream, "aclose", None) or getattr(stream, "close", None)
    if close is not None:
        try:
            await close()
        except Exception as exc:  # the connection is gone either way
            log.debug("closing a model stream: %r", exc)
