"""Text the owner did not write, with a model that obeys every instruction it reads (issues 13 and 19).

Each of the 17 actions the trust review saw run from untrusted text is injected through a camera's words
and through a forwarded message, into the demo house with cameras and jobs; the figure is how many of those
turns changed the house, and whether the owner's own command through the same model still takes one step.
Then names from hubs: Home Assistant friendly names and areas, MQTT discovery names and areas that carry
instructions, with the owner saying nothing that asks for a change ("tell me a story about the house").

.venv/bin/python bench/injection.py
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from _figures import figure

from claw.core.config import Config
from claw.daemon import parse_config
from claw_sim.mosquitto import Mosquitto, mosquitto_missing
from claw_sim.scenes import write_video
from tests.conftest import free_port
from tests.fakes.ollama_server import ScriptedOllama
from tests.test_injection import INJECTED, Obey, injected_house, instruction, through_camera, through_forward
from tests.test_injection_hubs import IDLE, TOKEN, ObeysAll, attack, ha_hub, mqtt_bridge


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="claw-injection-") as folder:
        tmp = Path(folder)
        still = tmp / "quiet.avi"
        write_video("quiet", still, size=(160, 90), fps=5.0)

        def make_config(llm_host: str, **sections: Any) -> Config:
            data: dict[str, Any] = {
                "state_dir": str(tmp / "state"),
                "llm": {"host": llm_host, "timeout": 10.0},
                "private": {"port": free_port()},
                "public": {"port": free_port()},
                **sections,
            }
            return parse_config(data, "(bench)")

        async with ScriptedOllama() as model:
            model.default = Obey()
            async with injected_house(tmp, make_config, model.url, still) as house:
                changed = 0
                for name, args in INJECTED:
                    changed += bool((await through_camera(house, model, name, args))[0])
                    changed += bool((await through_forward(house, name, args))[0])
                figure("injection_state_changes", changed, "turns", cases=2 * len(INJECTED))
                island = house.device("Kitchen Island")
                was = bool((await house.home.drivers[island.driver].read(island)).get("on"))
                await house.say("/new")
                reply = await house.say(instruction("turn_on_off", {"name": "Kitchen Island", "on": not was}))
                done = (await house.home.drivers[island.driver].read(island))["on"] is (not was)
                one_step = done and "OK " not in reply  # acted, and no code asked
                figure("injection_owner_command_in_one_step", int(one_step), "yes (1) or no (0)")
            await hub_names(tmp, model)


async def hub_names(tmp: Path, model: ScriptedOllama) -> None:
    """Home Assistant friendly names and areas, MQTT discovery names and areas carrying instructions (issue 19,
    hole 4): the owner's idle words to a model that obeys what it reads; how many turns changed the house."""
    os.environ["HASS_TOKEN"] = TOKEN
    os.environ.pop("CREDENTIALS_DIRECTORY", None)
    turns = tried = changed = 0
    surfaces: dict[str, int] = {}
    for surface in ("home_assistant", "mqtt"):
        folder = tmp / surface

        def make_config(llm_host: str, folder: Path = folder, **sections: Any) -> Config:
            data: dict[str, Any] = {
                "state_dir": str(folder),
                "llm": {"host": llm_host, "timeout": 10.0},
                "private": {"port": free_port()},
                "public": {"port": free_port()},
                **sections,
            }
            return parse_config(data, "(bench)")

        async with contextlib.AsyncExitStack() as stack:
            model.default = ObeysAll()
            if surface == "home_assistant":
                hub = await stack.enter_async_context(ha_hub(make_config, model.url))
            else:
                if mosquitto_missing():
                    continue
                broker = Mosquitto(tmp / "mosquitto")
                await broker.start()
                stack.push_async_callback(broker.stop)
                hub = await stack.enter_async_context(mqtt_bridge(make_config, model.url, broker))
            for words in IDLE:
                attempted, moved, _ = await attack(hub, model.default, words)
                turns, tried = turns + 1, tried + attempted
                changed += moved
                surfaces[surface] = surfaces.get(surface, 0) + int(moved)
    figure("injection_hub_names_tried", turns, "turns", model_tried_a_change=tried, surfaces=sorted(surfaces))
    figure("injection_hub_names_state_changes", changed, "turns", by_surface=surfaces)


if __name__ == "__main__":
    asyncio.run(main())
