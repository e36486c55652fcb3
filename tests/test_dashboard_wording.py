"""The dashboard's words in a real browser (issue 22): times, units, labels and notes a household can read.

Headless Chromium (Debian's package) through Playwright, on a real daemon with the simulated home and speakers.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from claw.daemon import Daemon
from claw_sim.home import SimHome
from tests.dashboard_home import CHROMIUM_ARGS, base_url, house

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.async_api", reason="browser tests need playwright")
expect = playwright_api.expect
NBSP = "\u00a0"
# Whether each input's placeholder fits inside it, measured in its own font.
FITS = """inputs => inputs.map(i => {
  const style = getComputedStyle(i), ctx = document.createElement("canvas").getContext("2d");
  ctx.font = style.font;
  const room = i.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return ctx.measureText(i.placeholder).width <= room;
})"""


@pytest_asyncio.fixture
async def page(tmp_path: Path) -> AsyncIterator[tuple[Daemon, SimHome, Any]]:
    async with (
        house(tmp_path, speakers=True) as (app, sim),
        playwright_api.async_playwright() as p,
    ):
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(5000)
            tab = await context.new_page()
            await tab.goto(f"{base_url(app)}/?token={app.token}")
            await expect(tab.locator("#live")).to_have_text("live")
            yield app, sim, tab
        finally:
            await browser.close()


async def test_times_units_labels_and_notes_read_as_people_say_them(page: tuple[Daemon, SimHome, Any]) -> None:
    app, _, tab = page
    # a live camera picture is "just now", never "in 0 s"; units never break from their number
    assert await tab.evaluate("relative(Date.now())") == "just now"
    assert await tab.evaluate("relative(Date.now() - 5 * 60 * 1000)") == f"5{NBSP}min{NBSP}ago"
    # one time format, 24-hour, the date as Claw writes it in messages ("Mon 7 Dec 06:30")
    afternoon = time.mktime((*time.localtime()[:3], 15, 4, 0, 0, 0, -1))
    assert await tab.evaluate(f"clock({afternoon})") == "15:04"
    earlier = time.localtime(afternoon - 3 * 86400)
    assert await tab.evaluate(f"clock({afternoon - 3 * 86400})") == time.strftime(
        f"%a {earlier.tm_mday} %b 15:04", earlier
    )
    # colour temperature in kelvin, as printed on bulbs
    assert await tab.evaluate('valueText({key: "color_temp", type: "number", unit: "mired"}, 370)') == f"2700{NBSP}K"
    # a speaker's fields say what goes in them
    speaker = tab.locator(".device.kind-speaker").first
    placeholders = await speaker.locator(".params input").evaluate_all("inputs => inputs.map(i => i.placeholder)")
    assert placeholders == ["favourite", "URL", "group with"]
    fits = await speaker.locator(".params input").evaluate_all(FITS)
    assert all(fits), "a field's label is cut off"
    # with no Hue bridge on the network, no skill says it waits for pairing
    await expect(tab.locator('#skills li[data-skill="hue"]')).to_be_visible()
    assert "pairing" not in (await tab.locator("#skills").inner_text()).lower()
    # the audit's Path column keeps "fast-path" on one line
    await app.local.ask("turn on the porch light")
    cell = tab.locator("#audit tr td.path").first
    await expect(cell).to_have_text("fast-path")
    assert await cell.evaluate("td => getComputedStyle(td).whiteSpace") == "nowrap"
