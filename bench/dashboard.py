"""Dashboard benchmarks in headless Chromium against a real daemon on a 200-device simulated home.

    .venv/bin/python bench/dashboard.py                   # figures, one JSON object per line
    .venv/bin/python bench/dashboard.py --screenshots docs  # the README's screenshots instead

The home: SimHome(extra_lights=182), i.e. 200 HTTP-JSON devices on 127.0.x.y, each handed to the
registry as discovery would (identified and read over its HTTP protocol; no mDNS, so no cross-talk).
Needs Debian's chromium at /usr/bin/chromium and Playwright.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.async_api import Browser, Page, async_playwright

from claw.core.bus import Media
from claw.daemon import Daemon
from claw_sim.home import SimHome
from tests.dashboard_home import CHROMIUM_ARGS, base_url, house

DEVICES = 200
EXTRA_LIGHTS = DEVICES - 18  # the demo house has 18 HTTP-JSON devices


def figure(name: str, value: float, unit: str, **extra: Any) -> None:
    print(json.dumps({"figure": name, "value": round(value, 2), "unit": unit, **extra}), flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def first_render(browser: Browser, url: str, runs: int) -> None:
    """Navigation start to the frame after all device cards are in the DOM, each run in a fresh context."""
    rendered: list[float] = []
    for _ in range(runs):
        context = await browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
        page = await context.new_page()
        await page.goto(url)
        await page.wait_for_function(f"window.clawRendered && document.querySelectorAll('.device').length >= {DEVICES}")
        rendered.append(await page.evaluate("window.clawRendered"))
        await context.close()
    figure(f"dashboard_first_render_{DEVICES}_devices_ms", statistics.median(rendered), "ms", runs=runs,
           max=round(max(rendered), 1))  # fmt: skip


WATCH = """() => {
  window.__seen = [];
  new MutationObserver((records) => {
    const t = performance.timeOrigin + performance.now();
    for (const r of records) for (const n of r.addedNodes)
      if (n.classList && n.classList.contains("device"))
        window.__seen.push({id: n.dataset.id, state: n.dataset.state, t});
  }).observe(document.getElementById("rooms"), {childList: true, subtree: true});
}"""


async def live_latency(app: Daemon, sim: SimHome, page: Page, changes: int) -> None:
    """A device changes; the poll reads it; how long until the page shows it (poll interval excluded)."""
    home: Any = app.home  # type: ignore[attr-defined]
    await page.evaluate(WATCH)
    lights = [d for d in sim.devices.values() if d.kind == "light" and d.room.startswith("Wing")]
    samples: list[float] = []
    for i in range(changes):
        sim_device = lights[i % len(lights)]
        on = not sim_device.state["on"]
        sim_device.set_state(on=on)
        t0 = time.time() * 1000
        await home.refresh(home.registry.get(sim_device.device_id))
        want = json.dumps({"id": sim_device.device_id, "on": on})
        seen = await page.wait_for_function(
            f"""() => {{ const w = {want};
                const hit = window.__seen.find(s => s.id === w.id && JSON.parse(s.state).on === w.on);
                return hit ? hit.t : null; }}""",
            polling=5,
        )
        samples.append(await seen.json_value() - t0)
        await page.evaluate("window.__seen = []")
    figure("dashboard_live_update_p50_ms", percentile(samples, 50), "ms", changes=changes)
    figure("dashboard_live_update_p99_ms", percentile(samples, 99), "ms", changes=changes)


async def toggle_latency(sim: SimHome, page: Page, clicks: int) -> None:
    """A tap on a power switch in the page until the simulated device has switched."""
    lights = [d for d in sim.devices.values() if d.kind == "light" and d.room.startswith("Wing")]
    samples: list[float] = []
    for i in range(clicks):
        device = lights[-1 - i % len(lights)]
        before = device.state["on"]
        selector = f'.device[data-id="{device.device_id}"] .dev-head input[role="switch"]'
        t0 = await page.evaluate(
            f"() => {{ const t = performance.timeOrigin + performance.now(); "
            f"document.querySelector('{selector}').click(); return t; }}"
        )
        # the simulated device has no change callback: poll its own state
        while device.state["on"] == before:  # noqa: ASYNC110
            await asyncio.sleep(0.0005)
        samples.append(time.time() * 1000 - t0)
        await asyncio.sleep(0.05)  # let the reply re-render the card before the next tap
    figure("dashboard_toggle_to_device_p50_ms", percentile(samples, 50), "ms", clicks=clicks)


async def benchmark(runs: int, changes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with house(Path(tmp), extra_lights=EXTRA_LIGHTS) as (app, sim), async_playwright() as p:
            assert len(sim.devices) == DEVICES
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            url = f"{base_url(app)}/?token={app.token}"
            await first_render(browser, url, runs)
            page = await (
                await browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
            ).new_page()
            await page.goto(url)
            await page.wait_for_selector("#live.on")
            await page.wait_for_function(f"document.querySelectorAll('.device').length >= {DEVICES}")
            await live_latency(app, sim, page, changes)
            await toggle_latency(sim, page, 20)
            await browser.close()


async def screenshots(out: Path) -> None:
    """The README's pictures, from the real page on the demo house with some life in it."""
    import cv2

    from claw_sim.scene_art import background, draw_truck

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        owners = [{"name": "Alex", "number": "+15551234567"}]
        async with house(Path(tmp), speakers=True, owners=owners) as (app, sim), async_playwright() as p:
            home: Any = app.home  # type: ignore[attr-defined]
            await app.local.ask("turn on the kitchen lights")
            await app.local.ask("set the thermostat to 21.5")
            frame = background((640, 360))
            draw_truck(frame, 0.32, 0.95)
            picture = Path(tmp) / "driveway.jpg"
            cv2.imwrite(str(picture), frame)
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for name, viewport, scale in (("dashboard", (1440, 1100), 1), ("phone", (390, 844), 2)):
                page = await browser.new_page(
                    viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=scale
                )
                await page.goto(f"{base_url(app)}/?token={app.token}")
                await page.wait_for_selector("#live.on")
                if name == "dashboard":
                    url = app.site().media_url(str(picture), "image/jpeg")
                    event = {"id": 1, "camera": "Driveway", "ts": time.time() - 95, "snapshot": url,
                             "description": "A FedEx truck pulled up at the end of the driveway."}  # fmt: skip
                    app.live.publish("event", event)
                    await app.notify("FedEx truck just pulled up.", kind="alert", media=(Media(str(picture)),))
                    door = sim.device("Front Door").device_id
                    await page.locator(f'.device[data-id="{door}"] .cap.switch[data-key="locked"] input').click()
                    await page.wait_for_selector("#pending .banner")
                    await page.wait_for_timeout(4500)  # let the toast fade
                else:
                    await page.wait_for_timeout(500)
                await page.screenshot(path=str(out / f"screenshot-{name}.png"))
                await page.close()
            del home
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="page loads for the first-render figure")
    parser.add_argument("--changes", type=int, default=40, help="device changes for the live-update figures")
    parser.add_argument("--screenshots", type=Path, help="write screenshot-*.png here instead of measuring")
    args = parser.parse_args()
    if not Path("/usr/bin/chromium").exists():
        sys.exit("bench/dashboard.py needs Debian's chromium: apt-get install -y chromium")
    if args.screenshots:
        asyncio.run(screenshots(args.screenshots))
    else:
        asyncio.run(benchmark(args.runs, args.changes))


if __name__ == "__main__":
    main()
