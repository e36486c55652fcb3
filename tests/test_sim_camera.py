"""Scene videos and the simulated MJPEG camera, read back through OpenCV's real capture path."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import cv2
import numpy as np
import pytest

from claw_sim.camera import SimCamera, avi_jpeg_chunks
from claw_sim.scenes import playlist, read_labels, read_playlist, render, write_playlist, write_video

SMALL = (320, 180)
TIMEOUTS = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("scenes")
    made = {}
    for name, file in [
        ("quiet", "quiet.avi"),
        ("car_arrives", "car.avi"),
        ("ir_switch", "ir.avi"),
        ("quiet", "quiet.mp4"),
    ]:
        path = root / file
        write_video(name, path, size=SMALL, fps=10.0)
        made[file] = path
    return made


def read_all(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_written_video_reads_back_with_every_frame_and_its_labels(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"car{suffix}"
    scene = write_video("car_arrives", path, size=SMALL, fps=5.0, seed=3, lead_in=1.0)
    frames = read_all(path)
    assert len(frames) == scene.frame_count == 60 + 5
    assert frames[0].shape == (SMALL[1], SMALL[0], 3)
    assert read_labels(path) == scene
    assert json.loads(path.with_name(path.name + ".json").read_text())["label"] == "vehicle"
    assert scene.event_frames and scene.event_frames[0][0] >= scene.lead_in_frames


def test_unsupported_video_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.mp4"):
        write_video("quiet", tmp_path / "x.webm", size=SMALL)


def test_scenes_are_deterministic_per_seed() -> None:
    def frames(seed: int) -> list[np.ndarray]:
        return list(render("person_walks_up", size=SMALL, seed=seed)[1])

    a, b, c = frames(1), frames(1), frames(2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_unknown_scene_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="car_arrives"):
        render("spaceship_lands")


def test_playlist_labels_line_up_with_its_frames(tmp_path: Path) -> None:
    labels, frames = playlist(["car_arrives", "rain"], size=SMALL, fps=5.0, gap_seconds=1.0)
    names = [it.scene.name for it in labels.items]
    assert names == ["car_arrives", "car_leaves", "rain"]
    assert sum(1 for _ in frames) == labels.frame_count
    (a0, a1, arrive), (l0, l1, leave) = labels.events()
    assert arrive == leave == "vehicle" and a0 < a1 < l0 < l1 < labels.items[2].start
    written = write_playlist(tmp_path / "day.avi", ["person_walks_up"], size=SMALL, fps=5.0, gap_seconds=1.0)
    assert read_playlist(tmp_path / "day.avi") == written
    assert len(read_all(tmp_path / "day.avi")) == written.frame_count


def test_avi_frames_are_found_without_opencv(videos: dict[str, Path]) -> None:
    chunks = avi_jpeg_chunks(videos["car.avi"])
    assert len(chunks) == read_labels(videos["car.avi"]).frame_count
    with videos["car.avi"].open("rb") as f:
        f.seek(chunks[5][0])
        jpeg = f.read(chunks[5][1])
    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert frame is not None and frame.shape == (SMALL[1], SMALL[0], 3)


def capture(url: str, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, TIMEOUTS)
    try:
        if not cap.isOpened():
            return []
        frames = []
        for _ in range(count):
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
        return frames
    finally:
        cap.release()


@pytest.mark.parametrize("source", ["car.avi", "quiet.mp4"])
async def test_opencv_reads_the_mjpeg_stream(videos: dict[str, Path], source: str) -> None:
    camera = SimCamera("driveway", "127.0.61.10", 0, videos[source])
    await camera.start()
    try:
        assert camera.fps == 10.0 and camera.port > 0
        frames = await asyncio.wait_for(asyncio.to_thread(capture, camera.stream_url, 8), 20)
        assert len(frames) == 8
        assert all(f.shape == (SMALL[1], SMALL[0], 3) for f in frames)
        assert not all(np.array_equal(frames[0], f) for f in frames[1:])  # it plays, not a still
        assert camera.frames_served >= 8 and camera.frames_played >= 8
    finally:
        await camera.stop()


async def test_snapshot_is_a_jpeg_of_the_current_frame(videos: dict[str, Path]) -> None:
    camera = SimCamera("porch", "127.0.61.11", 0, videos["quiet.mp4"], fps=20.0)
    await camera.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(camera.snapshot_url) as response:
            assert response.status == 200
            assert response.content_type == "image/jpeg"
            body = await response.read()
        assert body[:2] == b"\xff\xd8"
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (SMALL[1], SMALL[0], 3)
    finally:
        await camera.stop()


async def test_dead_camera_refuses_then_comes_back(videos: dict[str, Path]) -> None:
    camera = SimCamera("garden", "127.0.61.12", 0, videos["quiet.avi"], fps=20.0)
    await camera.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(camera.stream_url) as stream:
                await stream.content.readuntil(b"--frame")
                camera.dead = True
                rest = await asyncio.wait_for(stream.content.read(), 5)  # the open stream ends
                assert len(rest) < 200_000
            async with http.get(camera.snapshot_url) as response:
                assert response.status == 503
            assert await asyncio.wait_for(asyncio.to_thread(capture, camera.stream_url, 1), 20) == []
            camera.dead = False
            async with http.get(camera.snapshot_url) as response:
                assert response.status == 200
    finally:
        await camera.stop()


async def test_a_list_of_files_plays_in_order_and_loops(videos: dict[str, Path]) -> None:
    camera = SimCamera("loop", "127.0.61.13", 0, [videos["quiet.avi"], videos["ir.avi"]], fps=200.0)
    await camera.start()
    try:
        total = read_labels(videos["quiet.avi"]).frame_count + read_labels(videos["ir.avi"]).frame_count
        brightness = []
        async with aiohttp.ClientSession() as http:
            while camera.frames_played < total + 20:
                async with http.get(camera.snapshot_url) as response:
                    image = cv2.imdecode(np.frombuffer(await response.read(), np.uint8), cv2.IMREAD_GRAYSCALE)
                brightness.append(float(image.mean()))
                await asyncio.sleep(0.01)
        # Day-lit quiet driveway, then the dark dusk of the IR scene, then the daylight again.
        day = brightness[0]
        assert min(brightness) < 0.6 * day
        assert abs(brightness[-1] - day) < 0.1 * day
    finally:
        await camera.stop()


def test_cameras_only_listen_on_loopback(videos: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimCamera("bad", "0.0.0.0", 0, videos["quiet.avi"])
    with pytest.raises(ValueError, match="no video files"):
        SimCamera("empty", "127.0.61.14", 0, [])
