"""What a simulated Sonos speaker does for each SOAP action, following real speakers' group rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from claw_sim import sonos_didl as didl
from claw_sim.sonos_transport import TRANSPORT_HANDLERS
from claw_sim.sonos_upnp import DISPLAY_VERSION, SOFTWARE_VERSION, Service, UpnpError

if TYPE_CHECKING:
    from claw_sim.sonos import SimSonos, SonosSystem


@dataclass(frozen=True, slots=True)
class Call:
    """One SOAP action received by `speaker`, with its arguments."""

    system: SonosSystem
    speaker: SimSonos
    args: Mapping[str, str]

    @property
    def coordinator(self) -> SimSonos:
        """The coordinator of the receiving speaker's group; transport actions act on it."""
        return self.system.groups.coordinator_of(self.speaker)

    @property
    def is_member(self) -> bool:
        """True when the receiving speaker follows another speaker's group."""
        return self.coordinator is not self.speaker

    def text(self, name: str) -> str:
        """An argument's value, or fault 402 when it is missing."""
        if name not in self.args:
            raise UpnpError(402, "Invalid Args")
        return self.args[name]

    def number(self, name: str, low: int, high: int) -> int:
        """An integer argument within [low, high]: fault 402 if not a number, 601 if out of range."""
        try:
            value = int(self.text(name))
        except ValueError as err:
            raise UpnpError(402, "Invalid Args") from err
        if not low <= value <= high:
            raise UpnpError(601, "Argument Value Out of Range")
        return value

    def flag(self, name: str) -> bool:
        """A UPnP boolean argument ("1"/"0"/"true"/"false")."""
        value = self.text(name).strip().lower()
        if value not in ("1", "0", "true", "false", "yes", "no"):
            raise UpnpError(402, "Invalid Args")
        return value in ("1", "true", "yes")

    def channel(self) -> str:
        """The rendering channel, one of Master, LF, RF."""
        channel = self.text("Channel")
        if channel not in ("Master", "LF", "RF"):
            raise UpnpError(402, "Invalid Args")
        return channel


Result = dict[str, str]
_Handler = Callable[[Call], Result]


def handle(system: SonosSystem, speaker: SimSonos, service: Service, action: str, args: Mapping[str, str]) -> Result:
    """Run one SOAP action on `speaker` and return its out arguments, or raise UpnpError."""
    spec = service.action(action)
    call = Call(system, speaker, args)
    for name in spec.inputs:
        call.text(name)
    return _HANDLERS[service.name, action](call)


# --- DeviceProperties and ZoneGroupTopology --------------------------------------------------


def _household(call: Call) -> Result:
    return {"CurrentHouseholdID": call.system.household_id}


def _zone_attributes(call: Call) -> Result:
    speaker = call.speaker
    return {
        "CurrentZoneName": speaker.name,
        "CurrentIcon": speaker.icon,
        "CurrentConfiguration": "1",
        "CurrentTargetRoomName": speaker.name,
    }


def _set_zone_attributes(call: Call) -> Result:
    name = call.text("DesiredZoneName").strip()
    if name:
        if any(s.name == name and s is not call.speaker for s in call.system.speakers):
            raise UpnpError(402, "Invalid Args")
        call.speaker.name = name
    return {}


def _zone_info(call: Call) -> Result:
    speaker = call.speaker
    return {
        "SerialNumber": speaker.serial,
        "SoftwareVersion": SOFTWARE_VERSION,
        "DisplaySoftwareVersion": DISPLAY_VERSION,
        "HardwareVersion": "1.20.1.6-2.1",
        "IPAddress": speaker.ip,
        "MACAddress": speaker.serial[:-2].replace("-", ":"),
        "CopyrightInfo": "© 2004-2025 Sonos, Inc. All Rights Reserved.",
        "ExtraInfo": "",
        "HTAudioIn": "0",
        "Flags": "0",
    }


def _led_state(call: Call) -> Result:
    return {"CurrentLEDState": "On" if call.speaker.status_light else "Off"}


def _set_led_state(call: Call) -> Result:
    value = call.text("DesiredLEDState")
    if value not in ("On", "Off"):
        raise UpnpError(402, "Invalid Args")
    call.speaker.status_light = value == "On"
    return {}


def _zone_group_state(call: Call) -> Result:
    return {"ZoneGroupState": call.system.groups.xml()}


def _zone_group_attributes(call: Call) -> Result:
    coordinator = call.coordinator
    members = call.system.groups.members_of(coordinator)
    name = coordinator.name + (f" + {len(members) - 1}" if len(members) > 1 else "")
    return {
        "CurrentZoneGroupName": name,
        "CurrentZoneGroupID": call.system.groups.group_id(coordinator),
        "CurrentZonePlayerUUIDsInGroup": ",".join(m.uid for m in members),
        "CurrentMuseHouseholdId": call.system.household_id,
    }


# --- RenderingControl (per speaker) and GroupRenderingControl (per group) -------------------


def _volume(call: Call) -> Result:
    # Balance channels report full scale: the simulation has one volume per speaker.
    volume = call.speaker.state.volume if call.channel() == "Master" else 100
    return {"CurrentVolume": str(volume)}


def _set_volume(call: Call) -> Result:
    volume = call.number("DesiredVolume", 0, 100)
    if call.channel() == "Master":
        call.speaker.state.volume = volume
    return {}


def _relative_volume(call: Call) -> Result:
    call.channel()
    state = call.speaker.state
    state.volume = max(0, min(100, state.volume + call.number("Adjustment", -100, 100)))
    return {"NewVolume": str(state.volume)}


def _mute(call: Call) -> Result:
    call.channel()
    return {"CurrentMute": "1" if call.speaker.state.muted else "0"}


def _set_mute(call: Call) -> Result:
    call.channel()
    call.speaker.state.muted = call.flag("DesiredMute")
    return {}


def _group(call: Call) -> list[SimSonos]:
    return call.system.groups.members_of(call.coordinator)


def _group_volume_of(members: list[SimSonos]) -> int:
    return round(sum(m.state.volume for m in members) / len(members))


def _group_volume(call: Call) -> Result:
    return {"CurrentVolume": str(_group_volume_of(_group(call)))}


def _shift_group_volume(members: list[SimSonos], delta: int) -> int:
    # Like Sonos, a group volume change moves every member by the same amount, clamped.
    for member in members:
        member.state.volume = max(0, min(100, member.state.volume + delta))
    return _group_volume_of(members)


def _set_group_volume(call: Call) -> Result:
    members = _group(call)
    _shift_group_volume(members, call.number("DesiredVolume", 0, 100) - _group_volume_of(members))
    return {}


def _relative_group_volume(call: Call) -> Result:
    new = _shift_group_volume(_group(call), call.number("Adjustment", -100, 100))
    return {"NewVolume": str(new)}


def _group_mute(call: Call) -> Result:
    return {"CurrentMute": "1" if all(m.state.muted for m in _group(call)) else "0"}


def _set_group_mute(call: Call) -> Result:
    muted = call.flag("DesiredMute")
    for member in _group(call):
        member.state.muted = muted
    return {}


def _nothing(call: Call) -> Result:
    return {}


# --- ContentDirectory -----------------------------------------------------------------------


def _browse(call: Call) -> Result:
    object_id, flag = call.text("ObjectID"), call.text("BrowseFlag")
    start = call.number("StartingIndex", 0, 1 << 31)
    count = call.number("RequestedCount", 0, 1 << 31) or 1 << 31
    if object_id not in ("FV:2", "Q:0"):
        raise UpnpError(701, "No such object")
    if flag != "BrowseDirectChildren":
        raise UpnpError(720, "Cannot process the request")
    if object_id == "FV:2":
        favourites = call.system.favorites
        page = favourites[start : start + count]
        result, returned, total = didl.favourites(page, start), len(page), len(favourites)
    else:
        queue = call.speaker.playback.queue
        tracks = queue[start : start + count]
        result, returned, total = didl.queue(tracks, start), len(tracks), len(queue)
    return {
        "Result": result,
        "NumberReturned": str(returned),
        "TotalMatches": str(total),
        "UpdateID": "1",
    }


_HANDLERS: dict[tuple[str, str], _Handler] = {
    ("DeviceProperties", "GetHouseholdID"): _household,
    ("DeviceProperties", "GetZoneAttributes"): _zone_attributes,
    ("DeviceProperties", "SetZoneAttributes"): _set_zone_attributes,
    ("DeviceProperties", "GetZoneInfo"): _zone_info,
    ("DeviceProperties", "GetLEDState"): _led_state,
    ("DeviceProperties", "SetLEDState"): _set_led_state,
    ("ZoneGroupTopology", "GetZoneGroupState"): _zone_group_state,
    ("ZoneGroupTopology", "GetZoneGroupAttributes"): _zone_group_attributes,
    ("RenderingControl", "GetVolume"): _volume,
    ("RenderingControl", "SetVolume"): _set_volume,
    ("RenderingControl", "SetRelativeVolume"): _relative_volume,
    ("RenderingControl", "GetMute"): _mute,
    ("RenderingControl", "SetMute"): _set_mute,
    ("GroupRenderingControl", "GetGroupVolume"): _group_volume,
    ("GroupRenderingControl", "SetGroupVolume"): _set_group_volume,
    ("GroupRenderingControl", "SetRelativeGroupVolume"): _relative_group_volume,
    ("GroupRenderingControl", "GetGroupMute"): _group_mute,
    ("GroupRenderingControl", "SetGroupMute"): _set_group_mute,
    ("GroupRenderingControl", "SnapshotGroupVolume"): _nothing,
    ("ContentDirectory", "Browse"): _browse,
    **TRANSPORT_HANDLERS,
}
HANDLED = frozenset(_HANDLERS)  # (service, action) pairs the simulation answers
