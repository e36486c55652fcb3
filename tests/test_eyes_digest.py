"""'What happened while I was out?' as a digest: one line per camera and kind, a count, the best picture of each."""

from __future__ import annotations

import re
import time

from claw.core.bus import Outbound
from claw.core.store import events as history
from claw.daemon import Daemon
from tests.fakes.ollama_server import Reply, ScriptedOllama
from tests.test_eyes_chat import claw, still, stored  # noqa: F401  (the camera daemon and its stored events)


async def test_eighteen_alike_events_are_one_line_with_a_count_and_their_best_picture(
    claw: tuple[Daemon, list[Outbound]],  # noqa: F811
) -> None:
    app, _ = claw
    assert (await app.local.ask("we're away")).text.startswith("Away mode")
    moved = [await stored(app, "Something moved at the driveway camera", "unknown") for _ in range(18)]
    clearest = moved[7]
    await app.store.run(history.update, clearest.id, score=0.9)
    await stored(app, "FedEx truck just pulled up", "delivery")
    reply = await app.local.ask("what happened while I was out?")
    lines = reply.text.splitlines()
    assert len(lines) == 3, reply.text  # the heading, the 18 alike events, the delivery
    assert re.fullmatch(
        r"- \d\d:\d\d–\d\d:\d\d driveway: Something moved at the driveway camera \(18 times\)", lines[1]
    )
    assert lines[2].endswith("driveway: FedEx truck just pulled up")
    assert [m.path for m in reply.media][:1] == [clearest.snapshot] and len(reply.media) == 2


async def test_the_models_recent_events_are_dated_and_digested(
    claw: tuple[Daemon, list[Outbound]],  # noqa: F811
    ollama: ScriptedOllama,
) -> None:
    app, _ = claw
    for _ in range(5):
        await stored(app, "Something moved at the driveway camera", "unknown", at=time.time() - 60)
    ollama.on(lambda r: bool(r.tool_results), lambda r: Reply.text(f"Read: {r.tool_results[0]}"))
    ollama.on("anything outside", Reply.call("recent_events", since_minutes=120))
    seen = (await app.local.ask("anything outside lately?")).text  # the tool's answer as the model read it
    assert re.search(r'"since": "\d{4}-\d\d-\d\d \d\d:\d\d"', seen), seen  # a bare "20:46" could be any day
    assert re.search(r'"digest": \[\{"camera": "driveway", "what": "unknown", "count": 5, ', seen), seen
    assert re.search(r'"time": "\d{4}-\d\d-\d\d \d\d:\d\d"', seen), seen


async def test_a_mode_already_set_names_the_cameras(claw: tuple[Daemon, list[Outbound]]) -> None:  # noqa: F811
    app, _ = claw
    await app.local.ask("set mode to away")
    # beside "Armed the Alarm Panel (night mode)." in a routine, a bare "Already in night mode." said nothing of whom
    assert (await app.local.ask("set mode to away")).text == "The cameras were already in away mode."
