"""Camera sources through OpenCV's real capture path: files, MJPEG and snapshots over HTTP, reconnects, probes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from claw.core.backoff import Backoff
from claw.core.bus import Outbound
from claw.core.config import Config
from claw.daemon import Tuning, build
from claw.eyes.probe import probe_camera
from claw.eyes.reader import Frame, Handoff, Reader, kind_of, redact, with_password
from claw_sim.camera import SimCamera
from claw_sim.scenes import write_video
from tests.conftest import free_port

SMALL = (160, 90)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eyes-source")
    made = {}
    for name, file in [("car_arrives", "car.avi"), ("quiet", "quiet.mp4")]:
        write_video(name, root / file, size=SMALL, fps=10.0)
        made[file] = root / file
    return made


def collect(reader_url: str, fps: float, count: int, timeout: float = 10.0) -> tuple[Reader, list[tuple[float, Frame]]]:
    got: list[tuple[float, Frame]] = []
    done = threading.Event()

    def on_frame(ts: float, frame: Frame) -> None:
        got.append((ts, frame))
        if len(got) >= count:
            done.set()

    reader = Reader("test", reader_url, fps, on_frame, backoff=Backoff(0.05, 0.2))
    reader.start()
    try:
        done.wait(timeout)
    finally:
        assert reader.stop(2.0)
    return reader, got


def test_url_kinds_and_redaction() -> None:
    assert kind_of("rtsp://cam.local:554/main") == "rtsp"
    assert kind_of("http://cam.local/video.mjpg") == "mjpeg"
    assert kind_of("http://cam.local/cgi-bin/snapshot.cgi") == "snapshot"
    assert kind_of("https://cam.local/still.jpg") == "snapshot"
    assert kind_of("http://cam.local/cgi-bin/api.cgi?cmd=Snap&channel=0") == "snapshot"
    assert kind_of("http://cam.local/ISAPI/Streaming/channels/101/picture") == "snapshot"
    assert kind_of("http://cam.local/axis-cgi/mjpg/video.cgi") == "mjpeg"
    assert kind_of("/var/videos/day.mp4") == "file" and kind_of("usb:0") == "usb"
    assert redact("rtsp://admin:hunter2@cam.local:554/x") == "rtsp://admin:***@cam.local:554/x"
    assert redact("http://cam.local/x") == "http://cam.local/x"


def test_a_camera_password_comes_from_a_secret_never_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("CLAW_CAMERA_FRONT_DOOR_PASSWORD", "p@ss/word")
    assert with_password("rtsp://admin@cam.local:554/x", "Front Door") == "rtsp://admin:p%40ss%2Fword@cam.local:554/x"
    assert with_password("rtsp://admin:given@cam.local/x", "Front Door") == "rtsp://admin:given@cam.local/x"
    assert with_password("rtsp://cam.local/x", "Front Door") == "rtsp://cam.local/x"
    assert with_password("rtsp://admin@cam.local/x", "Garage") == "rtsp://admin@cam.local/x"  # no secret for it


async def test_a_file_plays_at_the_sampling_rate_and_loops(videos: dict[str, Path]) -> None:
    # 10 fps of video sampled at 40 a second: paced like a camera, every frame, then round again
    reader, got = await asyncio.to_thread(collect, str(videos["car.avi"]), 40.0, 70)
    assert len(got) >= 70 > 60  # the clip has 60 frames: it looped
    span = got[69][0] - got[0][0]
    assert 69 / 40 * 0.8 < span < 69 / 40 * 1.6, span
    assert got[0][1].shape == (SMALL[1], SMALL[0], 3) and reader.connects == 1
    assert not np.array_equal(got[0][1], got[30][1])


async def test_mjpeg_stream_frames_cross_into_the_loop(videos: dict[str, Path]) -> None:
    camera = SimCamera("drive", "127.0.62.20", 0, videos["car.avi"], fps=25.0)
    await camera.start()
    handoff: Handoff[tuple[float, Frame]] = Handoff(asyncio.get_running_loop(), 4)
    reader = Reader("drive", camera.stream_url, 25.0, lambda ts, f: handoff.put((ts, f)), backoff=Backoff(0.05, 0.2))
    reader.start()
    try:
        frames = [await asyncio.wait_for(handoff.get(), 10) for _ in range(10)]
    finally:
        await asyncio.to_thread(reader.stop, 2.0)
        await camera.stop()
    assert all(f.shape == (SMALL[1], SMALL[0], 3) for _, f in frames)
    assert [ts for ts, _ in frames] == sorted(ts for ts, _ in frames)
    assert not all(np.array_equal(frames[0][1], f) for _, f in frames[1:])


async def test_a_snapshot_url_is_polled(videos: dict[str, Path]) -> None:
    camera = SimCamera("porch", "127.0.62.21", 0, videos["quiet.mp4"], fps=20.0)
    await camera.start()
    try:
        _, got = await asyncio.to_thread(collect, camera.snapshot_url, 20.0, 5)
    finally:
        await camera.stop()
    assert len(got) >= 5 and got[0][1].shape == (SMALL[1], SMALL[0], 3)
    assert camera.frames_served >= 5


async def test_handoff_keeps_the_newest_and_never_blocks() -> None:
    handoff: Handoff[int] = Handoff(asyncio.get_running_loop(), 3)
    thread = threading.Thread(target=lambda: [handoff.put(i) for i in range(10)])
    thread.start()
    thread.join()
    await asyncio.sleep(0.05)  # let the loop run the queued puts
    assert handoff.qsize() == 3 and handoff.dropped == 7
    assert [await handoff.get() for _ in range(3)] == [7, 8, 9]


async def test_a_camera_that_dies_is_reported_once_and_once_again_when_back(
    videos: dict[str, Path], make_config: Callable[..., Config]
) -> None:
    camera = SimCamera("garden", "127.0.62.22", 0, videos["quiet.mp4"], fps=25.0)
    await camera.start()
    config = make_config(cameras=[{"name": "garden", "url": camera.stream_url, "fps": 25.0, "offline_after": 0.6}])
    app = build(config, parts={"eyes"}, tuning=Tuning(camera_backoff=Backoff(0.05, 0.2)))
    eyes = app.eyes
    heard: list[Outbound] = []

    async def listen(message: Outbound) -> None:
        heard.append(message)

    app.bus.listen(listen)
    await app.start()
    try:
        cam = eyes.cameras["garden"]

        async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
            deadline = time.monotonic() + timeout
            while not check():
                assert time.monotonic() < deadline, "timed out"
                await asyncio.sleep(0.05)

        await until(lambda: cam.online is True)
        assert await eyes.offline_findings() == []
        camera.dead = True
        await until(lambda: cam.online is False)
        await asyncio.sleep(1.5)  # a dead camera stays dead for several monitor rounds and reconnect attempts
        findings = await eyes.offline_findings()
        assert [f.key for f in findings] == ["camera:garden:offline"] and "garden" in findings[0].text
        listing = await app.snapshot("cameras")
        assert listing[0]["status"] == "offline" and listing[0]["online"] is False
        camera.dead = False
        await until(lambda: cam.online is True)
        await asyncio.sleep(0.5)
        assert await eyes.offline_findings() == []
        assert cam.detect.connects >= 2
    finally:
        await app.stop()
        await camera.stop()
    titles = [m.title for m in heard if m.kind == "notice"]
    assert titles == ["Camera offline", "Camera back"]
    assert "stopped sending pictures" in heard[0].text and heard[1].text == "The garden camera is back."


async def test_probe_says_what_is_wrong_in_plain_words(videos: dict[str, Path], tmp_path: Path) -> None:
    camera = SimCamera("probe", "127.0.62.23", 0, videos["quiet.mp4"], fps=20.0)
    await camera.start()
    try:
        assert await asyncio.to_thread(probe_camera, camera.stream_url, 5.0) is None
        assert await asyncio.to_thread(probe_camera, camera.snapshot_url, 5.0) is None
        camera.dead = True
        problem = await asyncio.to_thread(probe_camera, camera.stream_url, 5.0)
        assert problem is not None and "503" in problem
    finally:
        await camera.stop()
    closed = f"http://127.0.62.23:{free_port('127.0.62.23')}/stream.mjpg"
    problem = await asyncio.to_thread(probe_camera, closed, 2.0)
    assert problem is not None and "cannot connect" in problem
    assert await asyncio.to_thread(probe_camera, str(videos["car.avi"]), 5.0) is None
    assert "no video file" in (probe_camera(str(tmp_path / "none.mp4"), 1.0) or "")
    assert "USB" in (probe_camera("usb:97", 1.0) or "")
