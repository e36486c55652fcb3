"""Camera events: grouping and the best frame, pictures on disk and rows in the store, retention, the kill switch."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import pytest_asyncio

from claw.core.backoff import Backoff
from claw.core.bus import Outbound
from claw.core.config import Config
from claw.core.store import events as history
from claw.core.store.audit import set_setting
from claw.daemon import Daemon, Tuning, build
from claw.eyes.detector import Motion
from claw.eyes.events import Grouper, Sample
from claw.eyes.pictures import pick
from claw.eyes.sight import Eyes
from claw_sim.camera import SimCamera
from claw_sim.scenes import read_labels, write_video
from tests.fakes.ollama_server import Reply, ScriptedOllama

SMALL = (320, 180)
FPS = 50.0
CAR = {"title": "Car pulled into the driveway", "sentence": "A blue car parked.", "alert": True, "what": "vehicle"}
DRIVEWAY_ZONE = [[0.7, 0.5], [1.0, 0.5], [1.0, 0.86], [0.7, 0.86]]
TOP_LEFT = [[0.0, 0.0], [0.2, 0.0], [0.2, 0.2], [0.0, 0.2]]


def sample(
    ts: float, score: float | None, frame_value: int = 0, box: tuple[int, int, int, int] = (0, 5, 4, 4)
) -> Sample:
    """A 32 x 18 frame; by default its change touches the left edge (something coming into view)."""
    frame = np.full((18, 32, 3), frame_value, np.uint8)
    motion = None if score is None else Motion((box,), 0.1, frozenset({"porch"}), score)
    return Sample(ts, frame, frame, motion)


def test_motion_frames_group_into_one_event_with_the_best_frame() -> None:
    grouper = Grouper("drive", quiet=1.0, min_frames=2, settle=0.0, longest=60.0)
    assert grouper.feed(sample(0.0, None, 1)) == []
    assert grouper.feed(sample(0.2, 0.3)) == []  # one changed frame is not yet an event
    [(change, event)] = grouper.feed(sample(0.4, 0.9, 9))
    assert change == "confirmed" and event.motion_frames == 2
    for ts, score in [(0.6, 0.5), (0.8, None), (1.0, 0.2), (1.4, None)]:
        assert grouper.feed(sample(ts, score)) == []
    [(change, ended)] = grouper.feed(sample(2.0, None))  # 1 s after the last change
    assert change == "ended" and ended is event and event.finished.is_set()
    assert (event.start, event.end, event.motion_frames) == (0.2, 1.0, 4)
    assert event.best.ts == 0.4 and event.zones == {"porch"}
    strip = event.strip_frames()
    assert [ts for ts, _ in strip] == [0.0, 0.2, 0.4, 1.0]  # before, first change, best, last
    assert event.strip().shape[:2] == (2 * 18 + 4, 2 * 32 + 4)


def test_a_blip_is_dropped_and_settle_waits_for_a_better_picture() -> None:
    grouper = Grouper("drive", quiet=1.0, min_frames=2, settle=0.5, longest=60.0)
    grouper.feed(sample(0.0, 0.4))
    [(change, _)] = grouper.feed(sample(1.5, None))
    assert change == "dropped"
    grouper.feed(sample(2.0, 0.4))
    assert grouper.feed(sample(2.2, 0.4)) == []  # enough frames, but the settle time is not up
    [(change, event)] = grouper.feed(sample(2.5, None))
    assert change == "confirmed" and grouper.expire(3.1) == []  # the camera went silent after 2.2
    assert grouper.expire(3.2) == [("ended", event)] and event.finished.is_set()


def test_an_object_whole_in_view_is_described_without_waiting() -> None:
    grouper = Grouper("drive", quiet=1.0, min_frames=2, settle=1.5, longest=60.0)
    for ts in (0.0, 0.2, 0.4):  # coming in at the edge: the settle time runs
        assert grouper.feed(sample(ts, 0.3)) == []
    [(change, event)] = grouper.feed(sample(0.6, 0.6, box=(10, 5, 8, 8)))  # now all of it is in the picture
    assert change == "confirmed" and event.best.ts == 0.6 and event.best.whole
    other = Grouper("drive", quiet=1.0, min_frames=2, settle=1.5, longest=60.0)
    other.feed(sample(0.0, 0.3))
    other.feed(sample(1.4, 0.3))
    assert [c for c, _ in other.feed(sample(1.6, 0.3))] == ["confirmed"]  # never whole: after settle_seconds


def test_frames_for_the_strip_are_spread_evenly() -> None:
    assert pick(10, 4) == [0, 3, 6, 9] and pick(3, 4) == [0, 1, 2] and pick(5, 1) == [2] and pick(5, 0) == []
    grouper = Grouper("drive", quiet=1.0, min_frames=1, settle=0.0, longest=60.0)
    grouper.feed(sample(0.0, None))
    for i in range(1, 12):
        grouper.feed(sample(i * 0.1, 0.5 if i != 7 else 0.9))
    assert grouper.current is not None
    assert [round(ts, 1) for ts, _ in grouper.current.strip_frames()] == [0.0, 0.1, 0.7, 1.1]
    assert [round(ts, 1) for ts, _ in grouper.current.strip_frames(5)] == [0.0, 0.1, 0.6, 0.7, 1.1]


def test_a_long_stretch_is_split() -> None:
    grouper = Grouper("drive", quiet=1.0, min_frames=1, settle=0.0, longest=10.0)
    changes = [c for i in range(60) for c, _ in grouper.feed(sample(i * 0.5, 0.5))]
    assert changes.count("ended") == 2 and changes.count("confirmed") == 3


@pytest.fixture(scope="module")
def car(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eyes-events") / "car.avi"
    write_video("car_arrives", path, size=SMALL, fps=5.0, lead_in=4.0)
    return path


@pytest_asyncio.fixture
async def file_camera(
    car: Path, ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> AsyncIterator[tuple[Daemon, Eyes, list[Outbound]]]:
    config = make_config(
        llm_host=ollama.url,
        cameras=[
            {"name": "driveway", "url": str(car), "fps": FPS, "zones": {"drive": DRIVEWAY_ZONE, "corner": TOP_LEFT}}
        ],
        alerts={"event_quiet_seconds": 12 / FPS},  # the clip loops: its car leaves 17 frames after it parks
    )
    app = build(config, parts={"eyes"}, tuning=Tuning(camera_backoff=Backoff(0.05, 0.2)))
    eyes = app.eyes
    heard: list[Outbound] = []

    async def listen(message: Outbound) -> None:
        heard.append(message)

    app.bus.listen(listen)
    ollama.on(lambda r: bool(r.images), Reply.text(json.dumps(CAR)))
    await app.start()
    try:
        yield app, eyes, heard
    finally:
        await app.stop()


async def first_event(app: Daemon, timeout: float = 15.0) -> history.EventRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = await app.store.run(history.recent)
        if rows and rows[-1].end_ts is not None:
            return rows[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("no finished camera event")


async def test_an_event_keeps_its_best_frame_strip_and_row(
    file_camera: tuple[Daemon, Eyes, list[Outbound]], car: Path
) -> None:
    app, _, heard = file_camera
    record = await first_event(app)
    assert (record.camera, record.title, record.description, record.what) == (
        "driveway", CAR["title"], CAR["sentence"], "vehicle")  # fmt: skip
    assert record.alert and record.alerted and record.score > 0
    assert record.end_ts is not None and record.end_ts > record.start_ts
    assert "drive" in record.zones and "corner" not in record.zones
    labels = read_labels(car)
    (first, last), *_ = labels.event_frames
    assert record.end_ts - record.start_ts < (last - first + 10) / FPS  # one event, not the whole clip
    snapshot, strip = Path(record.snapshot), Path(record.clip)
    picture = cv2.imread(str(snapshot))
    assert picture is not None and picture.shape == (SMALL[1], SMALL[0], 3)
    sheet = cv2.imread(str(strip))
    assert sheet is not None and sheet.shape[1] == 2 * SMALL[0] + 4  # 2 x 2 thumbnails
    assert record.bytes == sum(p.stat().st_size for p in snapshot.parent.iterdir())
    assert snapshot.parent.parent == app.state / "events" / "driveway"
    [alert] = [m for m in heard if m.kind == "alert"]
    assert alert.media[0].path == str(snapshot.parent / "snapshot.jpg")  # the picture that was described
    listing = await app.snapshot("events")
    assert listing[0]["id"] == record.id and listing[0]["snapshot"].startswith("/media/")


async def test_the_kill_switch_keeps_events_but_sends_no_alert(
    file_camera: tuple[Daemon, Eyes, list[Outbound]],
) -> None:
    app, _, heard = file_camera
    await app.store.run(set_setting, "automations_paused", "1")
    record = await first_event(app)
    assert record.alert and not record.alerted
    assert [m for m in heard if m.kind == "alert"] == []


async def test_the_main_stream_gives_the_picture_and_the_substream_the_detection(
    car: Path, tmp_path: Path, ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    main = tmp_path / "main.avi"
    write_video("car_arrives", main, size=(640, 360), fps=5.0, lead_in=4.0)
    camera = SimCamera("main", "127.0.62.30", 0, main, fps=FPS)
    await camera.start()
    config = make_config(
        llm_host=ollama.url,
        cameras=[{"name": "driveway", "url": camera.snapshot_url, "detect_url": str(car), "fps": FPS}],
        alerts={"event_quiet_seconds": 12 / FPS},  # the clip loops: its car leaves 17 frames after it parks
    )
    app = build(config, parts={"eyes"}, tuning=Tuning(camera_backoff=Backoff(0.05, 0.2)))
    ollama.on(lambda r: bool(r.images), Reply.text(json.dumps(CAR)))
    await app.start()
    try:
        record = await first_event(app)
    finally:
        await app.stop()
        await camera.stop()
    picture = cv2.imread(record.snapshot)
    assert picture is not None and picture.shape == (360, 640, 3)  # from the main stream, not the 320 x 180 one


async def test_retention_by_age_then_by_size(ollama: ScriptedOllama, make_config: Callable[..., Config]) -> None:
    config = make_config(
        llm_host=ollama.url,
        cameras=[{"name": "porch", "url": "/nowhere/porch.mp4"}],
        alerts={"retention_days": 1.0, "retention_mb": 0.05},  # ~52 kB
    )
    app = build(config, parts={"eyes"}, tuning=Tuning(sweep_every=3600))
    eyes = app.eyes
    await app.start()
    try:
        now = time.time()
        ids = []
        for i, (age_h, size) in enumerate([(30, 1000), (5, 30_000), (3, 20_000), (1, 20_000)]):
            folder = app.state / "events" / "porch" / f"e{i}"
            folder.mkdir(parents=True)
            (folder / "snapshot.jpg").write_bytes(b"x" * size)
            ids.append(
                await app.store.run(
                    history.insert,
                    "porch",
                    now - age_h * 3600,
                    end_ts=now,
                    snapshot=str(folder / "snapshot.jpg"),
                    title="Someone",
                    bytes=size,
                )
            )
        assert await eyes.sweep(now) == 2  # the 30-hour-old one, then the oldest until 40 kB fit in 52 kB
        left = await app.store.run(history.recent)
        assert sorted(r.id for r in left) == ids[2:]
        assert not (app.state / "events" / "porch" / "e0").exists()
        assert not (app.state / "events" / "porch" / "e1").exists()
        assert (app.state / "events" / "porch" / "e2" / "snapshot.jpg").is_file()
    finally:
        await app.stop()
