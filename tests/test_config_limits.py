"""Numbers in the config are checked when the file is read; a missing config or extra says what to run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from claw.core.config import missing_extras, parse
from claw.core.errors import ConfigError
from claw.doctor import doctor

CLAW = [sys.executable, "-m", "claw.cli"]


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"private": {"port": 99999}}, "private.port", "between 1 and 65535, got 99999"),
        ({"public": {"port": 0}}, "public.port", "between 1 and 65535, got 0"),
        ({"home": {"ssdp_port": 70000}}, "home.ssdp_port", "between 1 and 65535"),
        ({"llm": {"timeout": -5}}, "llm.timeout", "more than 0, got -5"),
        ({"llm": {"timeout": 0}}, "llm.timeout", "more than 0"),
        ({"llm": {"max_concurrent": 0}}, "llm.max_concurrent", "at least 1"),
        ({"home": {"device_timeout": -1.5}}, "home.device_timeout", "more than 0"),
        ({"home": {"poll_interval": 0}}, "home.poll_interval", "more than 0"),
        ({"whatsapp": {"send_timeout": 0}}, "whatsapp.send_timeout", "more than 0"),
        ({"whatsapp": {"give_up_hours": -1}}, "whatsapp.give_up_hours", "more than 0"),
        ({"alerts": {"describe_timeout": -1}}, "alerts.describe_timeout", "more than 0"),
        ({"scheduler": {"job_timeout": 0}}, "scheduler.job_timeout", "more than 0"),
        ({"heartbeat": {"repeat_hours": -2}}, "heartbeat.repeat_hours", "more than 0"),
        ({"cameras": [{"name": "a", "url": "rtsp://x", "offline_after": 0}]}, "cameras[0].offline_after", "than 0"),
        ({"memory": {"facts_share": 1.5}}, "memory.facts_share", "between 0 and 1"),
    ],
)
def test_out_of_range_numbers_name_the_key(data: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(data, "claw.toml")
    message = str(caught.value)
    assert message.startswith(f"claw.toml: {key} must be "), message
    assert words in message


def test_the_edges_of_each_range_are_accepted() -> None:
    config = parse({"private": {"port": 1}, "public": {"port": 65535}, "llm": {"timeout": 0.5}, "skills": {}})
    assert (config.private.port, config.public.port, config.llm.timeout) == (1, 65535, 0.5)
    assert parse({"skills": {"reload_interval": 0}, "alerts": {"global_cooldown": 0}}).skills.reload_interval == 0


def test_claw_run_with_port_99999_exits_78_with_the_key_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "claw.toml"
    path.write_text('state_dir = "state"\n[private]\nport = 99999\n', encoding="utf-8")
    result = subprocess.run([*CLAW, "run", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 78, result.stderr
    assert "private.port must be between 1 and 65535, got 99999" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_refuses_a_port_it_cannot_use() -> None:
    result = subprocess.run([*CLAW, "demo", "--port", "65535"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "1 to 65534" in result.stderr and "Traceback" not in result.stderr


def test_without_a_config_doctor_and_run_say_to_run_claw_init(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "config.toml"
    doctor_run = subprocess.run([*CLAW, "doctor", "--config", str(missing)], capture_output=True, text=True, timeout=60)
    assert doctor_run.returncode == 78
    assert f"claw init --config {missing}" in doctor_run.stdout and "Traceback" not in doctor_run.stderr
    run = subprocess.run([*CLAW, "run", "--config", str(missing)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 78 and f"claw init --config {missing}" in run.stderr


CAMERA = {"cameras": [{"name": "gate", "url": "rtsp://127.0.0.1:9/live"}]}


def test_a_feature_whose_extra_is_missing_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    assert missing_extras(parse({**CAMERA, "whatsapp": {"enabled": True}})) == []  # ./dev installs every extra
    monkeypatch.setitem(sys.modules, "cv2", None)  # as if opencv-python-headless were not installed
    monkeypatch.setitem(sys.modules, "twilio", None)
    assert missing_extras(parse({})) == []  # nothing asks for them: nothing to say
    problems = [str(p) for p in missing_extras(parse({**CAMERA, "whatsapp": {"enabled": True}}, "claw.toml"))]
    assert problems == [
        "claw.toml: cameras needs the [eyes] extra, which is not installed (no module cv2) — "
        "pip install 'claw-home[eyes]', or remove the [[cameras]]",
        "claw.toml: whatsapp needs the [whatsapp] extra, which is not installed (no module twilio) — "
        "pip install 'claw-home[whatsapp]', or set [whatsapp] enabled = false",
    ]


async def test_doctor_reports_a_missing_extra_instead_of_crashing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "claw.toml"
    path.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[llm]\nhost = "http://127.0.0.1:9"\n'
        '[[cameras]]\nname = "gate"\nurl = "rtsp://127.0.0.1:9/live"\n',
        encoding="utf-8",
    )
    monkeypatch.setitem(sys.modules, "cv2", None)
    assert await doctor(path) == 1
    out = capsys.readouterr().out
    assert "FAIL  " in out and "pip install 'claw-home[eyes]'" in out
    assert "delivers frames" not in out


def test_claw_run_with_cameras_but_no_opencv_says_which_extra(tmp_path: Path) -> None:
    path = tmp_path / "claw.toml"
    path.write_text('state_dir = "state"\n[[cameras]]\nname = "gate"\nurl = "rtsp://127.0.0.1:9/live"\n')
    blocked = "import sys; sys.modules['cv2'] = None; from claw.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", blocked, "run", "--config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 78, result.stderr
    assert "cameras needs the [eyes] extra" in result.stderr and "pip install 'claw-home[eyes]'" in result.stderr
    assert "Traceback" not in result.stderr
