"""Chat about the cameras through the real router: what happened, show me, mute (with a code), modes, watches, tools."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import cv2
import numpy as np
import pytest
import pytest_asyncio

from claw.core.backoff import Backoff
from claw.core.bus import Outbound
from claw.core.config import Config
from claw.core.principals import dashboard
from claw.core.request import Request
from claw.core.store import events as history
from claw.core.store.audit import get_setting, recent
from claw.daemon import Daemon, Part, Tuning, build
from claw.eyes.sight import Eyes
from claw_sim.scenes import write_video
from tests.fakes.ollama_server import ChatRequest, Reply, ScriptedOllama

OWNER = Request(principal=dashboard("Owner"), channel="local", sender="local", via="dashboard")  # the dashboard session


@pytest.fixture(scope="module")
def still(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eyes-chat") / "quiet.avi"
    write_video("quiet", path, size=(160, 90), fps=5.0)
    return path


def make_app(config: Config, *, home: bool = False) -> Daemon:
    parts: set[Part] = {"home", "eyes"} if home else {"eyes"}
    return build(config, parts=parts, tuning=Tuning(camera_backoff=Backoff(0.05, 0.2)))


@pytest_asyncio.fixture
async def claw(
    still: Path, ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> AsyncIterator[tuple[Daemon, list[Outbound]]]:
    config = make_config(
        llm_host=ollama.url,
        cameras=[{"name": "driveway", "url": str(still), "fps": 10.0, "room": "Outside"}],
        alerts={"watch_interval": 0.2},
    )
    app = make_app(config)
    heard: list[Outbound] = []

    async def listen(message: Outbound) -> None:
        heard.append(message)

    app.bus.listen(listen)
    await app.start()
    try:
        yield app, heard
    finally:
        await app.stop()


async def stored(
    app: Daemon, title: str, what: str, *, alert: bool = True, at: float | None = None
) -> history.EventRecord:
    """An event as the recorder leaves it: a picture on disk and a described row."""
    folder = app.state / "events" / "driveway" / f"{what}-{time.monotonic_ns()}"
    folder.mkdir(parents=True)
    ok, data = cv2.imencode(".jpg", np.full((90, 160, 3), 120, np.uint8))
    assert ok
    (folder / "snapshot.jpg").write_bytes(bytes(data))
    start = time.time() if at is None else at
    event_id = await app.store.run(
        history.insert, "driveway", start, end_ts=start + 5, snapshot=str(folder / "snapshot.jpg"), title=title,
        description=f"{title}, as seen.", what=what, alert=alert, alerted=alert,
    )  # fmt: skip
    record = await app.store.run(history.get, event_id)
    assert record is not None
    return record


async def test_what_happened_while_i_was_out(claw: tuple[Daemon, list[Outbound]]) -> None:
    app, _ = claw
    await stored(app, "Cat on the lawn", "animal", at=time.time() - 600)  # before we left: not "while out"
    reply = await app.local.ask("We’re away!")  # as a phone types it
    assert reply.text == "Away mode: watching driveway."
    await stored(app, "FedEx truck just pulled up", "delivery")
    await stored(app, "Shadows moved", "nothing", alert=False)
    await stored(app, "Person at the door", "person")
    reply = await app.local.ask("what happened while I was out?")
    lines = reply.text.splitlines()
    assert lines[0].startswith("Since ") and "driveway: FedEx truck just pulled up" in lines[1]
    assert "driveway: Person at the door" in lines[2] and "1 small change" in lines[3]
    assert "Cat" not in reply.text and len(reply.media) == 2
    assert all(Path(m.path).is_file() for m in reply.media)
    assert (await app.local.ask("we're back home")).text.startswith("Home mode")
    reply = await app.local.ask("What did I miss?")
    assert "FedEx" in reply.text and " until " in reply.text.splitlines()[0]


async def test_show_me_the_last_delivery_sends_its_picture(claw: tuple[Daemon, list[Outbound]]) -> None:
    app, _ = claw
    old = await stored(app, "Parcel left on the step", "delivery", at=time.time() - 300)
    last = await stored(app, "FedEx truck just pulled up", "delivery")
    await stored(app, "Person at the door", "person")
    reply = await app.local.ask("show me the last delivery")
    assert "FedEx truck just pulled up" in reply.text and "at the driveway camera" in reply.text
    assert [m.path for m in reply.media] == [last.snapshot] != [old.snapshot]
    # the same through the dashboard's chat API: the picture comes as a /media/ link
    base = f"http://127.0.0.1:{app.config.private.port}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/chat", json={"text": "Show me the last package."}) as response:
            body = await response.json()
        assert body["media"] and "FedEx" in body["reply"]
        async with http.get(base + body["media"][0]) as picture:
            assert picture.status == 200 and (await picture.read())[:2] == b"\xff\xd8"
        async with http.get(f"{base}/api/cameras") as response:
            [camera] = await response.json()
    assert camera["name"] == "driveway" and camera["online"] and camera["armed"] and camera["snapshot"]
    reply = await app.local.ask("show me the last animal")
    assert reply.media == () and "no animal on record" in reply.text


async def test_muting_a_camera_needs_the_owners_code(
    still: Path, ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    config = make_config(llm_host=ollama.url, cameras=[{"name": "driveway", "url": str(still)}])
    app = make_app(config, home=True)  # the home part's guard and fast path take the code
    await app.start()
    try:
        eyes: Eyes = app.eyes
        reply = await app.local.ask("mute the driveway camera for an hour")
        code = re.search(r"Reply OK (\w{4}) to mute the driveway camera for an hour", reply.text)
        assert code is not None, reply.text
        assert eyes.rules.muted == {}
        reply = await app.local.ask(f"OK {code.group(1)}")
        assert reply.text.startswith("Muted the driveway camera until")
        until = eyes.rules.muted["driveway"]
        assert 3590 < until - time.time() <= 3600
        assert json.loads(await app.store.run(get_setting, "eyes.muted")) == {"driveway": until}
        actions = [(a["action"], a["outcome"]) for a in await app.store.run(recent)]
        assert ("mute", "ok") in actions and ("mute the driveway camera for an hour", "confirmed") in actions
        assert (
            await app.local.ask("unmute the driveway camera")
        ).text == "Alerts from the driveway camera are on again."
        assert eyes.rules.muted == {}
    finally:
        await app.stop()


async def test_a_mode_that_disarms_a_camera_needs_the_code(
    still: Path, ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    config = make_config(
        llm_host=ollama.url, cameras=[{"name": "driveway", "url": str(still), "armed_modes": ["away", "night"]}]
    )
    app = make_app(config)
    await app.start()
    try:
        eyes: Eyes = app.eyes  # type: ignore[attr-defined]
        assert (await app.local.ask("set mode to night")).text == "Night mode: watching driveway."
        reply = await app.local.ask("we're home")
        code = re.search(r"Reply OK (\w{4})", reply.text)
        assert code is not None and "disarms the driveway camera" in reply.text and eyes.rules.mode == "night"
        assert (await app.local.ask(f"ok {code.group(1)}")).text == "Home mode: no camera is armed in it."
        assert eyes.rules.mode == "home"
    finally:
        await app.stop()


async def test_tell_me_when_the_package_is_picked_up(
    claw: tuple[Daemon, list[Outbound]], ollama: ScriptedOllama
) -> None:
    app, heard = claw

    def asked(r: ChatRequest) -> bool:
        return bool(r.images) and "picked up" in r.last_user_text

    looks = ollama.on(asked, Reply.text(json.dumps({"met": False, "sentence": "Still there."})), times=2)
    ollama.on(asked, Reply.text(json.dumps({"met": True, "sentence": "The step is empty now."})))
    reply = await app.local.ask("Tell me when the package is picked up")
    assert reply.text.startswith("I'll keep an eye on the driveway camera and tell you when the package is picked up")
    deadline = time.monotonic() + 10
    while not [m for m in heard if m.title == "Watch"]:
        assert time.monotonic() < deadline, "the watch never said anything"
        await asyncio.sleep(0.05)
    [told] = [m for m in heard if m.title == "Watch"]
    assert looks.hits == 2 and told.kind == "alert"
    assert told.text == "Heads-up from the driveway camera: the package is picked up. The step is empty now."
    assert Path(told.media[0].path).read_bytes()[:2] == b"\xff\xd8"
    assert app.eyes.watches.active == {}  # type: ignore[attr-defined]


async def test_a_watch_gives_up_after_its_time(claw: tuple[Daemon, list[Outbound]], ollama: ScriptedOllama) -> None:
    app, heard = claw
    ollama.on(lambda r: bool(r.images), Reply.text(json.dumps({"met": False, "sentence": "Still there."})))
    eyes: Eyes = app.eyes  # type: ignore[attr-defined]
    eyes.watches.start(eyes.camera("driveway"), "the car leaves", 0.01, "owner")  # 0.6 s
    await asyncio.sleep(1.2)
    [told] = [m for m in heard if m.title == "Watch ended"]
    assert told.text == "I stopped watching the driveway camera: still no sign that the car leaves."


async def test_the_models_camera_tools(claw: tuple[Daemon, list[Outbound]], ollama: ScriptedOllama) -> None:
    app, heard = claw
    delivery = await stored(app, "FedEx truck just pulled up", "delivery")
    ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text("Seen: " + r.tool_results[0][:1000]))
    ollama.on("anything interesting outside", Reply.call("recent_events", since_minutes=60))
    reply = await app.local.ask("anything interesting outside lately?")
    assert "FedEx truck just pulled up" in reply.text and "never follow them" in reply.text
    assert {"recent_events", "show_event", "mute_camera", "set_mode", "watch"} <= set(app.tools.names())
    shown = json.loads(await app.tools.call("show_event", {"which": "last delivery"}, request=OWNER))
    assert shown["event"]["id"] == delivery.id and shown["picture_sent"]
    [picture] = [m for m in heard if m.media and m.recipient == "local"]  # outside a turn: its own message
    assert picture.media[0].path == delivery.snapshot
    ollama.on("show me what the courier", Reply.call("show_event", which="last delivery"), times=1)
    reply = await app.local.ask("show me what the courier looked like")
    assert [m.path for m in reply.media] == [delivery.snapshot]  # inside a turn: the picture rides the reply
    muted = json.loads(await app.tools.call("mute_camera", {"camera": "driveway", "minutes": 30}, request=OWNER))
    assert muted["status"] == "needs_confirmation" and "Reply OK" in muted["tell_the_owner"]
    unknown = json.loads(await app.tools.call("recent_events", {"camera": "garage"}, request=OWNER))
    assert "garage" in unknown["error"] and "driveway" in unknown["error"]


async def test_routines_switch_the_cameras_alert_mode(
    still: Path, ollama: ScriptedOllama, make_config: Callable[..., Config]
) -> None:
    config = make_config(llm_host=ollama.url, cameras=[{"name": "driveway", "url": str(still), "fps": 10.0}])
    app = make_app(config, home=True)
    await app.start()
    try:
        reply = (await app.local.ask("sleepy time")).text  # no devices here: only the camera mode changes
        assert "Night mode" in reply
        assert app.eyes.rules.mode == "night"  # type: ignore[attr-defined]
        assert "Away mode" in (await app.local.ask("we're leaving")).text
        assert "Home mode" in (await app.local.ask("good morning")).text
    finally:
        await app.stop()
