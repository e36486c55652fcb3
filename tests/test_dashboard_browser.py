"""The dashboard in a real browser: headless Chromium (Debian's package) driven by Playwright.

A real daemon runs on a simulated home; the page is loaded from the URL `claw demo` prints.
Skipped, saying why, where /usr/bin/chromium or Playwright is missing (`apt-get install chromium`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from claw.core.bus import Media
from claw.daemon import Daemon
from claw_sim.home import SimHome
from tests.dashboard_home import CHROMIUM_ARGS, base_url, house

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip(
    "playwright.async_api", reason="browser tests need playwright (pip install playwright)"
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
EXPECTED = "status of 409"  # a refused routine (kill switch) is a 409, which Chromium logs as a console error
expect = playwright_api.expect


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class Session:
    app: Daemon
    sim: SimHome
    page: Any
    errors: list[str] = field(default_factory=list)

    def id(self, name: str) -> str:
        return self.sim.device(name).device_id

    def card(self, name: str) -> Any:
        return self.page.locator(f'.device[data-id="{self.id(name)}"]')

    async def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.02)


@pytest_asyncio.fixture(loop_scope="module")
async def dash(browser: Any, tmp_path: Path) -> AsyncIterator[Session]:
    """A daemon on the simulated home and a fresh browser page on its dashboard, opened with the token."""
    async with house(tmp_path, owners=[{"name": "Alex", "number": "+15551234567"}]) as (app, sim):
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(5000)
        page = await context.new_page()
        session = Session(app, sim, page)
        page.on("pageerror", lambda exc: session.errors.append(str(exc)))
        page.on(
            "console", lambda m: session.errors.append(m.text) if m.type == "error" and EXPECTED not in m.text else None
        )
        await page.goto(f"{base_url(app)}/?token={app.token}")
        await expect(page.locator("#live")).to_have_text("live")
        try:
            yield session
        finally:
            await context.close()
        assert session.errors == [], session.errors


async def test_page_shows_the_simulated_rooms_and_devices(dash: Session) -> None:
    page = dash.page
    rooms = page.locator(".room")
    await expect(rooms.first).to_be_visible()
    names = await rooms.evaluate_all("rooms => rooms.map(r => r.querySelector('h3').firstChild.textContent)")
    assert names == sorted({d.room for d in dash.sim.devices.values()})
    await expect(page.locator(".device")).to_have_count(len(dash.sim.devices))
    assert "token=" not in page.url  # the token moved into an HttpOnly cookie
    # controls are derived from capabilities: a dimmer has a power switch and a brightness slider,
    # the thermostat a setpoint slider, a mode select and a read-only temperature
    lamp = dash.card("Living Room Lamp")
    await expect(lamp.locator('.dev-head input[role="switch"]')).to_be_checked()
    await expect(lamp.locator('.cap.number[data-key="brightness"] input[type="range"]')).to_have_value("60")
    thermostat = dash.card("Thermostat")
    await expect(thermostat.locator('.cap.number[data-key="target_temp"] input')).to_have_attribute("max", "30")
    await expect(thermostat.locator('.cap.choice[data-key="mode"] select')).to_have_value("heat")
    await expect(thermostat.locator('.cap.sensor[data-key="current_temp"]')).to_contain_text("20.5 °C")
    await expect(dash.card("Front Door").locator(".lock")).to_have_text("needs OK")  # unlocking is sensitive
    await expect(page.locator("#routines .routine")).to_have_count(3)
    # a section shows exactly when the part behind it runs
    for kind in ("jobs", "skills", "outbox"):
        section = page.locator(f"#{kind}-section")
        await (expect(section).to_be_visible() if kind in dash.app.snapshots else expect(section).to_be_hidden())
    if "events" not in dash.app.snapshots and "cameras" not in dash.app.snapshots:
        await expect(page.locator("#cameras-section")).to_be_hidden()


async def test_a_toggle_changes_the_device_and_device_changes_show_live(dash: Session) -> None:
    island = dash.card("Kitchen Island")
    await island.locator('.dev-head input[role="switch"]').check()
    await dash.until(lambda: dash.sim.device("Kitchen Island").state["on"] is True)
    await island.locator('.cap.number[data-key="brightness"] input').fill("35")
    await dash.until(lambda: dash.sim.device("Kitchen Island").state["brightness"] == 35)
    # someone presses the wall switch: the next poll sees it, and the page follows without a reload
    dash.sim.device("Hallway Light").set_state(on=True, brightness=70)
    home: Any = dash.app.home  # type: ignore[attr-defined]
    await home.refresh(home.registry.get(dash.id("Hallway Light")))
    hallway = dash.card("Hallway Light")
    await expect(hallway.locator('.dev-head input[role="switch"]')).to_be_checked()
    await expect(hallway.locator('.cap.number[data-key="brightness"] output')).to_have_text("70%")
    await expect(dash.page.locator("#audit tr").first).to_contain_text("brightness=35")


async def test_a_sensitive_change_waits_for_the_owners_ok(dash: Session) -> None:
    # click, not uncheck(): the switch springs back to "locked" at once, as the door did not move
    await dash.card("Front Door").locator('.cap.switch[data-key="locked"] input').click()
    banner = dash.page.locator("#pending .banner")
    await expect(banner).to_contain_text("Waiting for OK")
    await expect(banner).to_contain_text("unlock the Front Door")
    [pending] = dash.app.guard.pending()
    await expect(banner).to_have_attribute("data-code", pending.code)
    assert dash.sim.device("Front Door").state["locked"] is True
    await expect(dash.card("Front Door").locator('.cap.switch[data-key="locked"] input')).to_be_checked()
    await expect(dash.page.locator("#feed .note.kind-confirm")).to_contain_text(f"OK {pending.code}")


def driveway_picture(path: Path) -> Path:
    """A frame of the simulated driveway with a delivery truck, as the camera would snap it."""
    import cv2

    from claw_sim.scene_art import background, draw_truck

    frame = background((640, 360))
    draw_truck(frame, 0.35, 0.95)
    cv2.imwrite(str(path), frame)
    return path


async def test_a_camera_event_appears_with_its_picture(dash: Session, tmp_path: Path) -> None:
    picture = driveway_picture(tmp_path / "truck.jpg")
    url = dash.app.site().media_url(str(picture), "image/jpeg")
    dash.app.live.publish(
        "event",
        {
            "id": "ev-1",
            "camera": "Driveway",
            "ts": time.time(),
            "description": "A FedEx truck pulled up.",
            "snapshot": url,
        },
    )
    event = dash.page.locator("#events li.event").first
    await expect(event).to_contain_text("A FedEx truck pulled up.")
    await expect(dash.page.locator('#cameras .tile[data-camera="Driveway"] img')).to_have_attribute("src", url)
    loaded = await event.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)")
    assert loaded == 640
    # an alert with a picture, as the cameras part sends it to the owners, shows in the feed too
    await dash.app.notify("Someone is at the door.", kind="alert", media=(Media(str(picture)),))
    note = dash.page.locator("#feed .note.kind-alert").first
    await expect(note).to_contain_text("Someone is at the door.")
    assert await note.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)") == 640


async def test_the_chat_panel_answers(dash: Session) -> None:
    await dash.page.locator("#chat-input").fill("sleepy time")
    await dash.page.locator("#chat-form button").click()
    reply = dash.page.locator("#chat-log .msg.claw:not(.waiting)").last
    await expect(reply).to_contain_text("Sleepy time:")
    assert dash.sim.device("Kitchen Ceiling").state["on"] is False


async def test_the_kill_switch_stops_a_routine_from_running(dash: Session) -> None:
    page = dash.page
    await page.locator("#kill").click()
    await expect(page.locator("#paused-banner")).to_be_visible()
    await expect(page.locator("#kill")).to_have_attribute("aria-pressed", "true")
    await page.locator('#routines .routine[data-routine="sleepy time"]').click()
    await expect(page.locator("#toast")).to_contain_text("paused")
    await expect(page.locator("#audit tr.outcome-denied").first).to_contain_text("routine sleepy time")
    assert dash.sim.device("Kitchen Ceiling").state["on"] is True
    await page.locator("#resume").click()
    await expect(page.locator("#paused-banner")).to_be_hidden()
    await page.locator('#routines .routine[data-routine="sleepy time"]').click()
    await dash.until(lambda: dash.sim.device("Kitchen Ceiling").state["on"] is False)


async def test_ignore_and_unignore_from_the_page(dash: Session) -> None:
    pump = dash.card("Pool Pump")
    await pump.locator(".dev-head .icon").click()
    await pump.locator(".more-panel button").click()
    ignored = dash.page.locator(f'#ignored li[data-id="{dash.id("Pool Pump")}"]')
    await expect(ignored).to_be_visible()
    await expect(dash.card("Pool Pump")).to_have_count(0)
    await ignored.locator("button").click()
    await expect(dash.card("Pool Pump")).to_have_count(1)
    await expect(dash.page.locator("#ignored-section")).to_be_hidden()


async def test_readable_on_a_phone(dash: Session) -> None:
    page = dash.page
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(page.locator(".device").first).to_be_visible()
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    columns = await page.evaluate("getComputedStyle(document.querySelector('.rooms')).gridTemplateColumns")
    assert len(columns.split()) == 1  # one room per row
