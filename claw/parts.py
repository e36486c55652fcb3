"""Which capabilities a configured daemon runs, in start-up order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from claw.core.config import Config

if TYPE_CHECKING:
    from claw.daemon import Part


def standard_parts(config: Config) -> list[Part]:
    """The parts for `claw run`: each one reads its own section of the config."""
    from claw.home.part import Home

    parts: list[Part] = [Home(config)]
    if config.whatsapp.enabled:
        from claw.channels.whatsapp.channel import WhatsApp

        parts.append(WhatsApp(config))
    if config.cameras:
        from claw.eyes.part import Eyes

        parts.append(Eyes(config))
    from claw.jobs.part import Jobs

    parts.append(Jobs(config))  # last: its start-up catch-up may run routines through the others' fast paths
    return parts
