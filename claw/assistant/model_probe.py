"""What a model server says about the model it serves: its context size, and a measured one-token round trip.

Server-agnostic: each server tells its context size its own way (llama.cpp's `llama-server` at /props,
vLLM's `max_model_len` and LM Studio's in /v1/models, Ollama's `show`); llama-cpp-python's server says
nothing, and then the size is unknown rather than guessed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from claw.core.config import LLMConfig
from claw.core.errors import ModelError, ModelOffline
from claw.core.secrets import secret


@dataclass(frozen=True, slots=True)
class ContextSize:
    """Tokens the server holds per request by its own word (None: it does not say), and where it said so."""

    tokens: int | None
    source: str = ""


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One chat call asking for a single token: wall-clock seconds and the server's own token counts."""

    seconds: float
    prompt_tokens: int
    output_tokens: int


async def context_size(config: LLMConfig, model: str, *, timeout: float = 10.0) -> ContextSize:
    """Ask the server how many tokens it holds; ContextSize(None) when it does not say or does not answer."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout), headers=_auth(config)) as http:
            if config.api == "openai":
                return await _openai_context(http, config.base_url.rstrip("/"), model)
            return await _ollama_context(http, config.host.rstrip("/"), model)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return ContextSize(None)


async def round_trip(config: LLMConfig, model: str, *, timeout: float = 60.0) -> RoundTrip:
    """Time one chat call for one token; raises ModelOffline or ModelError (with the server's status)."""
    prompt = [{"role": "user", "content": "Say OK."}]
    if config.api == "openai":
        url = f"{config.base_url.rstrip('/')}/chat/completions"
        body: dict[str, Any] = {"model": model, "messages": prompt, "max_tokens": 1, "temperature": 0}
    else:
        url = f"{config.host.rstrip('/')}/api/chat"
        options = {"num_predict": 1, "num_ctx": config.num_ctx, "temperature": 0}
        body = {"model": model, "messages": prompt, "stream": False, "think": False, "options": options}
    started = time.monotonic()
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout), headers=_auth(config)) as http,
            http.post(url, json=body) as response,
        ):
            if response.status != 200:
                raise ModelError(f"the model server answered {response.status} to a one-token chat")
            answer = await response.json(content_type=None)
    except aiohttp.ClientConnectionError:
        raise ModelOffline(f"my model server at {config.address} is offline") from None
    except TimeoutError:
        raise ModelError(f"no one-token answer within {timeout:.0f} s") from None
    except (aiohttp.ClientError, ValueError) as exc:
        raise ModelError(f"the one-token answer could not be read ({type(exc).__name__})") from None
    seconds = time.monotonic() - started
    if not isinstance(answer, Mapping):
        raise ModelError("the one-token answer was not a JSON object")
    if config.api == "openai":
        usage = answer.get("usage") or {}
        return RoundTrip(seconds, _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))
    return RoundTrip(seconds, _int(answer.get("prompt_eval_count")), _int(answer.get("eval_count")))


async def _openai_context(http: aiohttp.ClientSession, base: str, model: str) -> ContextSize:
    root = base.removesuffix("/v1")
    async with http.get(f"{root}/props") as response:  # llama.cpp's llama-server: the size it was started with
        props = await response.json(content_type=None) if response.status == 200 else None
    if isinstance(props, Mapping):
        settings = props.get("default_generation_settings")
        n_ctx = _int(props.get("n_ctx")) or (_int(settings.get("n_ctx")) if isinstance(settings, Mapping) else 0)
        if n_ctx:
            return ContextSize(n_ctx, "llama.cpp /props")
    async with http.get(f"{base}/models") as response:
        listing = await response.json(content_type=None) if response.status == 200 else None
    data = listing.get("data") if isinstance(listing, Mapping) else None
    cards = [c for c in data if isinstance(c, Mapping)] if isinstance(data, list) else []
    for card in cards:
        if card.get("id") != model and len(cards) > 1:  # a server of one model answers to any name
            continue
        meta = card.get("meta")
        meta = meta if isinstance(meta, Mapping) else {}
        for key, source in (
            ("max_model_len", "vLLM /v1/models"),
            ("loaded_context_length", "LM Studio /v1/models"),
            ("max_context_length", "LM Studio /v1/models"),
        ):
            if tokens := _int(card.get(key)):
                return ContextSize(tokens, source)
        if tokens := _int(meta.get("n_ctx")):
            return ContextSize(tokens, "/v1/models meta")
        if tokens := _int(meta.get("n_ctx_train")):
            return ContextSize(tokens, "/v1/models meta (the size it was trained with)")
    return ContextSize(None)


async def _ollama_context(http: aiohttp.ClientSession, host: str, model: str) -> ContextSize:
    async with http.post(f"{host}/api/show", json={"model": model}) as response:
        shown = await response.json(content_type=None) if response.status == 200 else None
    info = shown.get("model_info") if isinstance(shown, Mapping) else None
    if isinstance(info, Mapping):
        for key, value in info.items():
            if str(key).endswith(".context_length") and (tokens := _int(value)):
                return ContextSize(tokens, "Ollama show (the size it was trained with)")
    return ContextSize(None)


def _auth(config: LLMConfig) -> dict[str, str]:
    key = secret("llm_api_key", env=config.api_key_env) if config.api == "openai" and config.api_key_env else None
    return {"Authorization": f"Bearer {key}"} if key else {}


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
