"""Sonos through soco: blocking calls in threads, music commands to the group coordinator."""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import soco
import soco.config
from soco.exceptions import SoCoException, SoCoUPnPException

from claw.core.errors import DeviceError, NothingSaved
from claw.home import capabilities as caps
from claw.home.capabilities import Capability
from claw.home.device import Device, Found

T = TypeVar("T")
log = logging.getLogger(__name__)
# UPnP's error codes in the owner's words (soco passes them on from the speaker).
UPNP_WORDS = {"701": "has nothing to skip to (or nothing is playing)", "711": "can't do that with this music"}
# Words around what to play, in the languages Claw understands: "some music", "música", "de la musique".
FILLER = frozenset(
    {"some", "any", "a", "the", "please", "something", "play", "on", "to", "me", "for", "music", "songs"}
    | {"música", "musica", "algo", "de", "la", "el", "musik", "etwas", "die", "musique", "du", "le"}
)
PLAYBACK = {"PLAYING": "playing", "PAUSED_PLAYBACK": "paused", "STOPPED": "stopped", "TRANSITIONING": "playing"}


class SonosDriver:
    name = "sonos"

    def __init__(self, timeout: float = 3.0, peers: Callable[[], list[Device]] = list) -> None:
        soco.config.REQUEST_TIMEOUT = timeout  # soco's default of 20 s would stall a whole routine
        self.peers = peers  # the other speakers, for grouping by name

    async def _run(self, name: str, fn: Callable[[], T]) -> T:
        """Run a blocking soco call in a thread; its failures become what they mean to the owner."""
        speaker = name if "speaker" in name.lower() else f"{name} speaker"
        try:
            return await asyncio.to_thread(fn)
        except DeviceError:
            raise
        except SoCoUPnPException as exc:  # it answered: a refusal, never "unavailable"
            raise DeviceError(speaker, UPNP_WORDS.get(str(exc.error_code), "refused that just now")) from None
        except OSError as exc:  # requests' connection errors and time-outs are OSErrors
            raise DeviceError(speaker, f"didn't answer ({type(exc).__name__})", unreachable=True) from None
        except (SoCoException, ValueError) as exc:
            log.info("sonos %s: %s", name, exc)
            raise DeviceError(speaker, "couldn't do that just now") from None
        except Exception:  # a bug here, not a speaker that is gone
            log.exception("sonos %s failed", name)
            raise DeviceError(speaker, "couldn't do that (it is in my log)") from None

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
        """Play what the owner named from the favourites, then the Sonos playlists, then the radio stations."""
        library = coordinator.music_library
        wanted = [w for w in query.lower().split() if w not in FILLER]
        seen: list[str] = []
        for source in ("favourites", "playlists", "radio"):
            try:
                if source == "favourites":
                    items = list(library.get_sonos_favorites())
                elif source == "playlists":
                    items = list(coordinator.get_sonos_playlists())
                else:
                    items = list(library.get_favorite_radio_stations())
            except SoCoException:  # not every speaker or account has every list
                continue
            seen += [str(i.title) for i in items]
            match = next((i for i in items if _names(wanted, str(i.title))), None)
            if match is None:
                continue
            if source == "playlists":
                coordinator.clear_queue()
                coordinator.add_to_queue(match)
                coordinator.play_from_queue(0)
            else:
                coordinator.play_uri(match.reference.get_uri(), match.resource_meta_data, title=match.title)
            return
        speaker = name if "speaker" in name.lower() else f"{name} speaker"
        raise NothingSaved(speaker, query, seen)

    def _peer(self, name: str, own: str) -> soco.SoCo:
        key = name.lower().strip()
        for peer in self.peers():
            if peer.kind == "speaker" and key in (peer.name.lower(), peer.room.lower()):
                return soco.SoCo(peer.host)
        raise DeviceError(own, f"can't find a speaker called '{name}' to group with")

    async def close(self) -> None:
        return None


def _names(wanted: list[str], title: str) -> bool:
    """Every word asked for is in the title, allowing a slip ("jazz classes" finds "Jazz Classics")."""
    words = title.lower().split()
    return all(w in title.lower() or difflib.get_close_matches(w, words, 1, 0.75) for w in wanted)
