"""An OpenAI-compatible /v1/embeddings server on a real GGUF, mean-pooled: one vector per input.

llama-cpp-python's own server cannot choose the pooling, and a chat model's GGUF (Qwen2.5) names none, so
its /v1/embeddings answers one vector per *token*. This serves the same model through llama_cpp.Llama with
mean pooling instead: `python -m tests.embedding_server --model FILE --alias NAME --port N`.
`app()` is the API alone, for any encoder (tests/use_server.py serves a sentence encoder with it).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

Encode = Callable[[list[str]], list[list[float]]]  # texts -> one vector per text, in order
Count = Callable[[list[str]], int]  # texts -> the usage's prompt tokens


def app(encode: Encode, count: Count, alias: str) -> web.Application:
    """GET /v1/models and POST /v1/embeddings, one model, one batch at a time (llama.cpp is not reentrant, and
    an encoder's threads are the machine's): `encode` runs in a worker thread, `count` fills in the usage."""
    lock = asyncio.Lock()

    async def models(_request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": alias, "object": "model", "owned_by": "me"}]})

    async def embeddings(request: web.Request) -> web.Response:
        body: Any = await request.json()
        raw = body.get("input") if isinstance(body, dict) else None
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return web.json_response({"error": {"message": "input must be a string or a list of strings"}}, status=400)
        async with lock:
            vectors = await asyncio.to_thread(encode, texts)
        tokens = count(texts)
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return web.json_response({"object": "list", "data": data, "model": alias, "usage": usage})

    application = web.Application()
    application.router.add_get("/v1/models", models)
    application.router.add_post("/v1/embeddings", embeddings)
    return application


def main() -> None:
    import llama_cpp  # here, not at the top: tests/use_server.py imports app() without llama.cpp

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--alias", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--n_ctx", type=int, default=512)
    p.add_argument("--n_threads", type=int, default=2)
    args = p.parse_args()
    model = llama_cpp.Llama(
        model_path=args.model,
        embedding=True,
        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
        n_ctx=args.n_ctx,
        n_threads=args.n_threads,
        n_threads_batch=args.n_threads,
        verbose=False,
    )

    def encode(texts: list[str]) -> list[list[float]]:
        return [model.embed(t) for t in texts]  # a str in: one pooled vector out

    def count(texts: list[str]) -> int:
        return sum(len(model.tokenize(t.encode())) for t in texts)

    web.run_app(app(encode, count, args.alias), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
