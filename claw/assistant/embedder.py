"""Text to vectors through the configured model server: Ollama's /api/embed or OpenAI's /v1/embeddings."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from typing import Protocol

import httpx
import ollama
import openai

from claw.core.config import LLMConfig
from claw.core.errors import ModelUnavailable
from claw.core.secrets import secret

log = logging.getLogger(__name__)
TIMEOUT = 10.0  # seconds for a request, plus PER_TEXT for each text in it (a CPU server takes ~1 s a text)
PER_TEXT = 3.0
BATCH = 16  # texts per request


class Embedder(Protocol):
    """Turns texts into unit vectors; raises ModelUnavailable when the server cannot."""

    model: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def close(self) -> None: ...


def unit(vector: Sequence[float] | Sequence[Sequence[float]]) -> list[float]:
    """The vector scaled to length 1 (cosine distance then compares directions only).

    A server without pooling (llama.cpp's Python server on a chat GGUF) answers one vector per token:
    their mean stands for the text.
    """
    if vector and isinstance(vector[0], Sequence):
        rows = [list(map(float, row)) for row in vector if isinstance(row, Sequence)]
        flat = [sum(column) / len(rows) for column in zip(*rows, strict=True)]
    else:
        flat = [float(v) for v in vector if not isinstance(v, Sequence)]
    norm = math.sqrt(sum(v * v for v in flat)) or 1.0
    return [v / norm for v in flat]


class OllamaEmbedder:
    """Ollama's /api/embed through the real `ollama` client."""

    def __init__(self, config: LLMConfig, model: str) -> None:
        self.model = model
        self._client = ollama.AsyncClient(host=config.host, timeout=TIMEOUT + PER_TEXT * BATCH)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            chunk = list(texts[start : start + BATCH])
            try:
                async with asyncio.timeout(TIMEOUT + PER_TEXT * len(chunk)):
                    answer = await self._client.embed(model=self.model, input=chunk, keep_alive="30m")
            except (httpx.HTTPError, ConnectionError, TimeoutError, ollama.ResponseError) as exc:
                raise ModelUnavailable(f"the embedding model {self.model} did not answer ({_why(exc)})") from exc
            vectors = [unit(v) for v in answer.embeddings]
            if len(vectors) != len(chunk):
                raise ModelUnavailable(f"the embedding model {self.model} gave {len(vectors)} vectors for {len(chunk)}")
            out.extend(vectors)
        return out

    async def close(self) -> None:
        await self._client._client.aclose()


class OpenAIEmbedder:
    """An OpenAI-compatible /v1/embeddings (llama.cpp's server with --embedding, vLLM, LM Studio)."""

    def __init__(self, config: LLMConfig, model: str) -> None:
        self.model = model
        key = secret("llm_api_key", env=config.api_key_env) if config.api_key_env else None
        self._client = openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=key or "none",  # a placeholder: an OPENAI_API_KEY in the environment never leaks to this server
            timeout=TIMEOUT + PER_TEXT * BATCH,
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(),
        )

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            chunk = list(texts[start : start + BATCH])
            try:
                async with asyncio.timeout(TIMEOUT + PER_TEXT * len(chunk)):
                    answer = await self._client.embeddings.create(model=self.model, input=chunk)
            except (openai.APIError, httpx.HTTPError, TimeoutError) as exc:
                raise ModelUnavailable(f"the embedding model {self.model} did not answer ({_why(exc)})") from exc
            ordered = sorted(answer.data, key=lambda d: d.index)
            if len(ordered) != len(chunk):
                raise ModelUnavailable(f"the embedding model {self.model} gave {len(ordered)} vectors for {len(chunk)}")
            out.extend(unit(d.embedding) for d in ordered)  # a list of floats, or one per token
        return out

    async def close(self) -> None:
        await self._client.close()


def embedder_for(config: LLMConfig, model: str) -> Embedder | None:
    """The embedder for `[memory] embed_model` on the `[llm]` server; None when none is configured."""
    if not model:
        return None
    if config.api == "openai":
        return OpenAIEmbedder(config, model)
    return OllamaEmbedder(config, model)


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
    return text or type(exc).__name__
