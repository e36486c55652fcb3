"""Sonos through soco: blocking calls in threads, music commands to the group coordinator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import soco
import soco.config
from soco.exceptions import SoCoException

from claw.core.errors import DeviceError
from claw.home import capabilities as caps
from claw.home.capabilities import Capability
from claw.home.device import Device, Found

T = TypeVar("T")
PLAYBACK = {"PLAYING": "playing", "PAUSED_PLAYBACK": "paused", "STOPPED": "stopped", "TRANSITIONING": "playing"}


class SonosDriver:
    name = "sonos"

    def __init__(self, timeout: float = 3.0, peers: Callable[[], list[Device]] = list) -> None:
        soco.config.REQUEST_TIMEOUT = timeout  # soco's default of 20 s would stall a whole routine
        self.peers = peers  # the other speakers, for grouping by name

    async def _run(self, name: str, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except (SoCoException, OSError, ValueError) as exc:
            raise DeviceError(name, f"didn't do it ({type(exc).__name__}: {str(exc)[:80]})") from None
        except Exception as exc:  # requests' exceptions and soco's XML parsing errors
            raise DeviceError(name, f"didn't answer ({type(exc).__name__})", unreachable=True) from None

    async def identify(self, found: Found) -> Found:
        def ask() -> dict[str, Any]:
            info: dict[str, Any] = soco.SoCo(found.address.rsplit(":", 1)[0]).get_speaker_info(refresh=True)
            return info

        info = await self._run(found.name, ask)
        zone = str(info.get("zone_name") or found.name)
        return replace(
            found,
            id=str(info.get("uid") or found.id),
            name=zone,
            room=found.room or zone,
            info={**found.info, "model": info.get("model_name", "Sonos")},
        )

    def capabilities(self, found: Found) -> tuple[Capability, ...]:
        return (caps.VOLUME, replace(caps.PLAYBACK, writable=False), caps.MEDIA)

    def _speaker(self, device: Device) -> soco.SoCo:
        return soco.SoCo(device.host)

    async def read(self, device: Device) -> dict[str, Any]:
        def ask() -> dict[str, Any]:
            speaker = self._speaker(device)
            coordinator = speaker.group.coordinator if speaker.group else speaker
            transport = coordinator.get_current_transport_info()
            track = coordinator.get_current_track_info()
            return {
                "volume": speaker.volume,
                "playback": PLAYBACK.get(transport.get("current_transport_state", ""), "stopped"),
                "title": track.get("title", ""),
                "artist": track.get("artist", ""),
                "uri": track.get("uri", ""),
                "group": coordinator.player_name,
            }

        return await self._run(device.name, ask)

    async def write(self, device: Device, changes: Mapping[str, Any]) -> dict[str, Any]:
        if "volume" in changes:
            volume = int(changes["volume"])
            await self._run(device.name, lambda: setattr(self._speaker(device), "volume", volume))
        return await self.read(device)

    async def act(
        self, device: Device, action: str, params: Mapping[str, Any], *, cleared: bool = False
    ) -> dict[str, Any]:
        def do() -> None:
            speaker = self._speaker(device)
            coordinator = speaker.group.coordinator if speaker.group else speaker
            if action == "play":
                coordinator.play()
            elif action == "pause":
                if coordinator.get_current_transport_info().get("current_transport_state") == "PLAYING":
                    coordinator.pause()
            elif action == "next":
                coordinator.next()
            elif action == "previous":
                coordinator.previous()
            elif action == "play_uri":
                coordinator.play_uri(str(params.get("uri", "")), title=str(params.get("title", "")))
            elif action == "play_favorite":
                self._play_favorite(coordinator, str(params.get("query", "")), device.name)
            elif action == "join":
                master = self._peer(str(params.get("with", "")), device.name)
                speaker.join(master)
            elif action == "unjoin":
                speaker.unjoin()
            else:
                raise DeviceError(device.name, f"has no '{action}' action")

        await self._run(device.name, do)
        return await self.read(device)

    def _play_favorite(self, coordinator: soco.SoCo, query: str, name: str) -> None:
        favorites = coordinator.music_library.get_sonos_favorites()
        wanted = query.lower().strip()
        match = next((f for f in favorites if wanted and wanted in f.title.lower()), None)
        if match is None:
            titles = ", ".join(f.title for f in favorites[:6]) or "none"
            raise DeviceError(name, f"has no favourite like '{query}' (favourites: {titles})")
        coordinator.play_uri(match.reference.get_uri(), match.resource_meta_data, title=match.title)

    def _peer(self, name: str, own: str) -> soco.SoCo:
        key = name.lower().strip()
        for peer in self.peers():
            if peer.kind == "speaker" and key in (peer.name.lower(), peer.room.lower()):
                return soco.SoCo(peer.host)
        raise DeviceError(own, f"can't find a speaker called '{name}' to group with")

    async def close(self) -> None:
        return None
