"""The done-when in miniature: a simulated driveway over real MJPEG gives one alert with a picture per real event."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from claw.core.backoff import Backoff
from claw.core.bus import Outbound
from claw.core.config import Config
from claw.core.store import events as history
from claw.daemon import Daemon, Tuning, build
from claw_sim.camera import SimCamera
from claw_sim.driveway import DRIVEWAY, ZONES, cache_key, render_driveway
from claw_sim.scenes import DISTRACTOR_SCENES, Playlist, write_playlist
from tests.conftest import free_port
from tests.fakes.ollama_server import Reply, ScriptedOllama

# Two real events (a person walks up, then away) around distractors that must raise nothing.
MINI = ("quiet", "person_walks_up", "noise", "dusk_fade", "ir_switch")
FPS = 100.0  # the scenes are labelled in frames; played fast, they keep their frames and take seconds
SIZE = (320, 180)
SEEN = {"title": "Person walking up to the door", "sentence": "Someone in a red shirt came up the path.",
        "alert": True, "what": "person"}  # fmt: skip


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Playlist]:
    path = tmp_path_factory.mktemp("driveway") / "day.avi"
    return path, write_playlist(path, MINI, size=SIZE, fps=5.0, gap_seconds=5.0)


@pytest_asyncio.fixture
async def driveway(
    day: tuple[Path, Playlist], ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> AsyncIterator[tuple[Daemon, SimCamera, Playlist, list[tuple[int, Outbound]]]]:
    path, labels = day
    ip, port = "127.0.62.10", free_port("127.0.62.10")
    camera = SimCamera("driveway", ip, port, path, fps=FPS)
    config = make_config(
        llm_host=ollama.url,
        cameras=[{"name": "driveway", "url": camera.stream_url, "fps": FPS, "cooldown": 0.0, "room": "Outside"}],
        # the [alerts] times of a 5 fps camera, scaled to the frames of this fast one
        alerts={"global_cooldown": 0.0, "event_quiet_seconds": 30 / FPS, "settle_seconds": 7.5 / FPS},
    )
    app = build(config, parts={"eyes"}, tuning=Tuning(camera_backoff=Backoff(0.05, 0.2)))
    heard: list[tuple[int, Outbound]] = []

    async def listen(message: Outbound) -> None:
        heard.append((camera.frames_played, message))

    app.bus.listen(listen)
    await app.start()  # the camera is not up yet: the reader retries until it is, like a camera booting
    await camera.start()
    try:
        yield app, camera, labels, heard
    finally:
        await app.stop()
        await camera.stop()


async def play_once(app: Daemon, camera: SimCamera, labels: Playlist, *, whole: bool = True) -> None:
    """Until the day has played (or just its real events and their quiet time) and every event is handled."""
    end = labels.frame_count if whole else labels.events()[-1][1] + 60
    while camera.frames_played < end:
        await asyncio.sleep(0.05)
    await asyncio.wait_for(app.eyes.recorder.settle(), 10)  # type: ignore[attr-defined]


async def test_one_alert_with_picture_per_real_event_and_none_for_distractors(
    driveway: tuple[Daemon, SimCamera, Playlist, list[tuple[int, Outbound]]], ollama: ScriptedOllama
) -> None:
    app, camera, labels, heard = driveway
    ollama.on(lambda r: bool(r.images), Reply.text(json.dumps(SEEN)))
    with app.live.subscribe() as feed:
        await play_once(app, camera, labels)
        published = [feed.queue.get_nowait() for _ in range(feed.queue.qsize())]
    alerts = [(frame, m) for frame, m in heard if m.kind == "alert"]
    events = labels.events()
    assert len(events) == 2 and {it.scene.name for it in labels.items} >= {"noise", "dusk_fade", "ir_switch"}
    assert len(alerts) == len(events), [(f, m.text) for f, m in alerts]
    for (first, last, _), (frame, message) in zip(events, alerts, strict=True):
        assert first <= frame <= last + 40, f"alert at frame {frame} is not during the event {first}..{last}"
        assert message.title == SEEN["title"] and SEEN["sentence"] in message.text
        assert message.recipient is None and len(message.media) == 1
        picture = Path(message.media[0].path)
        assert picture.read_bytes()[:2] == b"\xff\xd8" and picture.stat().st_size > 2000
    vision = [r for r in ollama.chat_requests if r["model"] == app.config.llm.vision_model]
    assert len(vision) == len(events)  # one call per event; the distractors never reached the model
    assert all(not r.get("tools") and r["messages"][-1]["images"] and r["format"]["type"] == "object" for r in vision)
    rows = await app.store.run(history.recent)
    assert [r.alerted for r in rows] == [True, True] and all(r.end_ts and r.what == "person" for r in rows)
    shown = [e.data for e in published if e is not None and e.kind == "event"]
    assert len(shown) == 2 and all(e["snapshot"].startswith("/media/") and e["notable"] for e in shown)


async def test_model_down_still_alerts_with_the_picture_and_a_plain_line(
    driveway: tuple[Daemon, SimCamera, Playlist, list[tuple[int, Outbound]]], ollama: ScriptedOllama
) -> None:
    app, camera, labels, heard = driveway
    await ollama.down()
    await play_once(app, camera, labels, whole=False)
    alerts = [m for _, m in heard if m.kind == "alert"]
    assert [m.text for m in alerts] == ["Something moved at the driveway camera."] * 2
    assert all(Path(m.media[0].path).is_file() for m in alerts)


async def test_nothing_notable_is_kept_but_not_sent(
    driveway: tuple[Daemon, SimCamera, Playlist, list[tuple[int, Outbound]]], ollama: ScriptedOllama
) -> None:
    app, camera, labels, heard = driveway
    calm = {"title": "Shadow moved on the path", "sentence": "Only light changed.", "alert": False, "what": "nothing"}
    ollama.on(lambda r: bool(r.images), Reply.text(json.dumps(calm)))
    await play_once(app, camera, labels, whole=False)
    assert [m for _, m in heard if m.kind == "alert"] == []
    rows = await app.store.run(history.recent)
    assert len(rows) == 2 and not any(r.alerted or r.notable for r in rows)
    listing: list[dict[str, Any]] = await app.snapshot("events")
    assert [e["notable"] for e in listing] == [False, False] and listing[0]["title"] == calm["title"]


def test_demo_camera_config_and_cache_key() -> None:
    # The demo's day holds every kind of real event and the distractors the done-when names.
    assert {"car_arrives", "person_walks_up", "package_left", "truck_arrives"} <= set(DRIVEWAY)
    assert {"noise", "ir_switch", "dusk_fade"} <= set(DRIVEWAY) & set(DISTRACTOR_SCENES)
    assert cache_key(DRIVEWAY, (640, 360), 5.0, 25.0, 0) != cache_key(DRIVEWAY[:-1], (640, 360), 5.0, 25.0, 0)
    assert all(len(p) >= 3 for p in ZONES.values())


def test_render_is_cached_by_content(tmp_path: Path) -> None:
    first, labels = render_driveway(tmp_path, ("quiet", "car_arrives"), size=(160, 90), gap_seconds=1.0)
    stamp = first.stat().st_mtime_ns
    again, same = render_driveway(tmp_path, ("quiet", "car_arrives"), size=(160, 90), gap_seconds=1.0)
    assert again == first and again.stat().st_mtime_ns == stamp and same == labels
    other, _ = render_driveway(tmp_path, ("quiet",), size=(160, 90), gap_seconds=1.0)
    assert other != first and not first.exists()  # the old rendering is replaced, not piled up
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
