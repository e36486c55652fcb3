"""The dashboard's pairing note (issue 22): only once a bridge is seen and not paired, and gone once it is."""

from __future__ import annotations

import ssl
from typing import Any

from claw_sim.devices import HueBridge, HueLightSpec
from tests.test_skills_shipped import daemon, ip, mac, sims, tag, tls, zc  # noqa: F401  (the shipped-skill daemon)


async def waiting(d: Any) -> list[str]:
    [hue] = [s for s in await d.app.snapshot("skills") if s["name"] == "hue"]
    return list(hue["waiting_for_pairing"])


async def test_a_skill_waits_for_pairing_only_while_a_seen_bridge_is_unpaired(
    daemon: Any,  # noqa: F811
    sims: Any,  # noqa: F811
    tls: ssl.SSLContext,  # noqa: F811
) -> None:
    d = await daemon()
    assert await waiting(d) == []  # no bridge on the network: nothing to pair, nothing said
    t = tag()
    lights = (HueLightSpec(f"Sofa {t}", "Den"),)
    bridge = await sims(HueBridge(ip=ip(), port=0, mac="001788" + mac()[6:], ssl_context=tls, lights=lights))
    await d.wait_for(lambda: any("link button" in n.text for n in d.app.local.notifications), "the pairing request")
    assert len(await waiting(d)) == 1
    bridge.press_link_button()
    await d.found("hue-" + bridge.light_named(f"Sofa {t}")["id"])
    assert await waiting(d) == []
