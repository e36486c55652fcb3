"""The wheel, installed in a fresh venv outside the repository, runs `claw init`, `claw doctor` and `claw demo`."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.version import Version

from claw.demo import busy_ports
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
# The dev venv's packages the fresh venv may see: all but Claw itself (the editable install) and the extras,
# so what runs is the wheel, and it runs as it would for someone who installed neither [eyes] nor [whatsapp].
HIDDEN = ("claw", "__editable__", "_distutils_hack", "cv2", "opencv", "numpy", "twilio")

pytestmark = pytest.mark.timeout(150)


def run(
    command: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def build_wheel(tmp: Path) -> Path:
    """Build from a copy of the sources, so the build leaves nothing in the repository."""
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "SOUL.md", "config.example.toml"):  # claw/defaults/ links
        shutil.copy2(ROOT / name, source / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("claw", "claw_sim", "skills"):  # claw/builtin_skills is a link to ../skills
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=skip)
    # the dev venv's setuptools builds it when new enough (./dev installs one); else pip fetches one to build with
    flags = ["--no-build-isolation"] if Version(version("setuptools")) >= Version("77") else []
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", *flags, "-w", str(tmp / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("claw_home-*.whl")
    return wheel


def fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A venv with only the wheel installed; the dependencies come from the dev venv, minus HIDDEN."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    deps = tmp / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(HIDDEN) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "claw-test-deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--quiet", wheel],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv


def test_the_wheel_holds_every_file_the_packages_read(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("claw", "claw_sim"):
        for path in (ROOT / package).rglob("*"):  # rglob follows claw/builtin_skills into skills/
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                assert path.relative_to(ROOT).as_posix() in names, f"{path.relative_to(ROOT)} is not in the wheel"
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert not [n for n in names if n.startswith(("tests/", "bench/", "skills/"))]

    venv = fresh_venv(tmp_path, wheel)
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "CLAW_TOKEN": ""}

    where = run([venv / "bin" / "python", "-c", WHERE], work, env)
    assert where.returncode == 0, where.stderr
    claw_file, sim_file, extras = where.stdout.split()
    assert Path(claw_file).is_relative_to(venv) and Path(sim_file).is_relative_to(venv)  # the wheel, not the repo
    assert extras == "no-extras"

    init = run([venv / "bin" / "claw", "init"], work, env)
    assert init.returncode == 0, init.stderr
    config = home / ".config" / "claw" / "config.toml"
    soul = home / ".local" / "share" / "claw" / "SOUL.md"
    assert f"wrote {soul}" in init.stdout and f"wrote {config}" in init.stdout
    assert soul.read_bytes() == (ROOT / "claw" / "defaults" / "SOUL.md").read_bytes()

    doctor = run([venv / "bin" / "claw", "doctor"], work, env)
    assert "config is valid" in doctor.stdout and "is writable" in doctor.stdout, doctor.stdout + doctor.stderr
    assert "model server" in doctor.stdout and "Traceback" not in doctor.stderr
    assert doctor.returncode in (0, 1)

    demo = run([venv / "bin" / "claw", "demo", "--help"], work, env)
    assert demo.returncode == 0 and "--state-dir" in demo.stdout, demo.stderr
    check_the_demo_answers(venv, work, env)

    # Without the extras: the daemon's code still imports, and a config that asks for them says what to install.
    daemon = run([venv / "bin" / "python", "-c", "import claw.daemon, claw.demo"], work, env)
    assert daemon.returncode == 0, daemon.stderr
    camera = work / "camera.toml"
    camera.write_text(
        f'state_dir = "{work / "state"}"\n[llm]\nhost = "http://127.0.0.1:9"\n'
        '[[cameras]]\nname = "gate"\nurl = "rtsp://127.0.0.1:9/live"\n',
        encoding="utf-8",
    )
    refused = run([venv / "bin" / "claw", "run", "--config", camera], work, env)
    assert refused.returncode == 78 and "pip install 'claw-home[eyes]'" in refused.stderr, refused.stderr
    checked = run([venv / "bin" / "claw", "doctor", "--config", camera], work, env)
    assert "FAIL" in checked.stdout and "claw-home[eyes]" in checked.stdout, checked.stdout + checked.stderr
    assert "Traceback" not in refused.stderr + checked.stderr


def check_the_demo_answers(venv: Path, work: Path, env: dict[str, str]) -> None:
    """`claw demo` from the wheel (the simulated home is in it too) comes up, answers, and stops on Ctrl-C."""
    port, subnet = _two_free_ports(), random.randint(201, 250)  # test homes take 60-200; one demo per block
    command = [venv / "bin" / "claw", "demo", "--no-cameras", "--port", str(port), "--subnet", str(subnet)]
    demo = subprocess.Popen(
        [*map(str, command), "--state-dir", str(work / "demo")],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(line.startswith("Ready") for line in lines):
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert any(line.startswith("Ready") for line in lines), "".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as answer:
            assert json.load(answer)["status"] == "ok"
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def _two_free_ports() -> int:
    """A port P with P+1 free too, below the ephemeral range: an outgoing connection elsewhere cannot take it."""
    for _ in range(200):
        port = random.randrange(20000, 30000, 2)
        if not busy_ports(port):
            return port
    return free_port()


WHERE = """
import importlib.util, claw, claw_sim
print(claw.__file__, claw_sim.__file__)
print("no-extras" if not any(importlib.util.find_spec(m) for m in ("cv2", "numpy", "twilio")) else "extras")
"""
