"""The model server behind one facade: Ollama's API or an OpenAI-compatible one; their failures become ours."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx
import ollama

from claw.core.config import LLMConfig
from claw.core.errors import ModelError, ModelMissing, ModelOffline

log = logging.getLogger(__name__)

T = TypeVar("T")
Format = str | Mapping[str, Any] | None  # "json", a JSON schema, or free text


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
    ) -> Answer: ...

    async def models(self) -> list[str]: ...

    async def warm(self, model: str) -> None: ...

    async def close(self) -> None: ...


class Model:
    """Chat and vision calls with a global concurrency limit; errors become ModelUnavailable kinds."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._backend = _backend(config)
        self._slots = asyncio.Semaphore(config.max_concurrent)
        self.online: bool | None = None  # None until the first call tells us

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
    ) -> Answer:
        """One non-streaming chat call; think off, since tool turns want action, not essays."""
        name = model or self.config.model
        async with self._slots:
            return await self._watched(self._backend.chat(name, messages, tools=tools, format=format, images=images))

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

    def _mark(self, *, online: bool) -> None:
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

    async def chat(
        self,
        name: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]],
        format: Format,
        images: Sequence[bytes],
    ) -> Answer:
        msgs = [dict(m) for m in messages]
        if images and msgs:
            msgs[-1]["images"] = list(images)
        try:
            response = await self._client.chat(
                model=name,
                messages=msgs,
                tools=list(tools) or None,
                format=format,  # type: ignore[arg-type]
                think=False,
                options={"num_ctx": self.config.num_ctx, "temperature": 0.2},
                keep_alive=self.config.keep_alive,
            )
        except BaseException as exc:
            raise self._translate(exc, name) from None
        message = response.message
        calls = tuple(ToolCall(c.function.name, dict(c.function.arguments or {})) for c in (message.tool_calls or []))
        return Answer(
            content=message.content or "",
            tool_calls=calls,
            prompt_tokens=response.prompt_eval_count or 0,
            output_tokens=response.eval_count or 0,
            raw_tool_calls=tuple({"function": {"name": c.name, "arguments": dict(c.arguments)}} for c in calls),
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
        if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
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
