"""What a simulated Sonos speaker does for each SOAP action, following real speakers' group rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from claw.sim import sonos_didl as didl
from claw.sim.sonos_upnp import DISPLAY_VERSION, SOFTWARE_VERSION, Service, UpnpError

if TYPE_CHECKING:
    from claw.sim.sonos import SimSonos, SonosSystem

PLAY_MODES = ("NORMAL", "REPEAT_ALL", "REPEAT_ONE", "SHUFFLE_NOREPEAT", "SHUFFLE", "SHUFFLE_REPEAT_ONE")
_NOT_COORDINATOR = UpnpError(800, "Command not supported or not a coordinator")
_TRACK_LENGTH = "0:03:30"


@dataclass(frozen=True, slots=True)
class Call:
    """One SOAP action received by `speaker`, with its arguments."""

    system: SonosSystem
    speaker: SimSonos
    args: Mapping[str, str]

    @property
    def coordinator(self) -> SimSonos:
        """The coordinator of the receiving speaker's group; transport actions act on it."""
        return self.system.coordinator_of(self.speaker)

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


def handle(
    system: SonosSystem, speaker: SimSonos, service: Service, action: str, args: Mapping[str, str]
) -> Result:
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
    return {"ZoneGroupState": call.system.zone_group_state()}


def _zone_group_attributes(call: Call) -> Result:
    coordinator = call.coordinator
    members = call.system.members_of(coordinator)
    name = coordinator.name + (f" + {len(members) - 1}" if len(members) > 1 else "")
    return {
        "CurrentZoneGroupName": name,
        "CurrentZoneGroupID": call.system.group_id(coordinator),
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
    return call.system.members_of(call.coordinator)


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


# --- AVTransport ----------------------------------------------------------------------------


def _set_uri(call: Call) -> Result:
    uri, metadata = call.text("CurrentURI"), call.args.get("CurrentURIMetaData", "")
    speaker, system = call.speaker, call.system
    if uri.startswith("x-rincon:"):
        system.join(speaker, uri.removeprefix("x-rincon:"))
        return {}
    if call.is_member:
        raise _NOT_COORDINATOR
    playback = speaker.playback
    if uri.startswith("x-rincon-queue:"):
        if uri.removeprefix("x-rincon-queue:").partition("#")[0] != speaker.uid:
            raise UpnpError(714, "Illegal MIME-Type")
        playback.track_nr = 1 if playback.queue else 0
    else:
        playback.track_nr = 1 if uri else 0
    playback.source = didl.Track(uri, metadata)
    speaker.state.transport = "STOPPED"
    system.load_current(speaker)
    return {}


def _transport(call: Call, change: Callable[[SimSonos], None]) -> Result:
    # Members pass plain transport commands on to their coordinator, as real speakers do.
    coordinator = call.coordinator
    change(coordinator)
    call.system.sync_group(coordinator)
    return {}


def _play(call: Call) -> Result:
    def play(coordinator: SimSonos) -> None:
        if not coordinator.state.uri:
            raise UpnpError(701, "Transition not available")
        coordinator.state.transport = "PLAYING"

    return _transport(call, play)


def _pause(call: Call) -> Result:
    def pause(coordinator: SimSonos) -> None:
        if coordinator.state.transport == "STOPPED":
            raise UpnpError(701, "Transition not available")
        coordinator.state.transport = "PAUSED_PLAYBACK"

    return _transport(call, pause)


def _stop(call: Call) -> Result:
    def stop(coordinator: SimSonos) -> None:
        coordinator.state.transport = "STOPPED"

    return _transport(call, stop)


def _step(call: Call, delta: int) -> Result:
    coordinator = call.coordinator
    playback = coordinator.playback
    if not playback.on_queue:
        raise UpnpError(701, "Transition not available")
    _go_to_track(call.system, coordinator, playback.track_nr + delta)
    return {}


def _go_to_track(system: SonosSystem, coordinator: SimSonos, number: int) -> None:
    if not 1 <= number <= len(coordinator.playback.queue):
        raise UpnpError(711, "Illegal seek target")
    coordinator.playback.track_nr = number
    system.load_current(coordinator)


def _seek(call: Call) -> Result:
    unit, coordinator = call.text("Unit"), call.coordinator
    if unit == "TRACK_NR":
        if not coordinator.playback.on_queue:
            raise UpnpError(701, "Transition not available")
        _go_to_track(call.system, coordinator, call.number("Target", 0, 65535))
    elif unit in ("REL_TIME", "TIME_DELTA"):
        if not coordinator.state.uri:
            raise UpnpError(701, "Transition not available")
    else:
        raise UpnpError(710, "Seek mode not supported")
    return {}


def _add_to_queue(call: Call) -> Result:
    if call.is_member:
        raise _NOT_COORDINATOR
    speaker, playback = call.speaker, call.speaker.playback
    track = didl.Track(call.text("EnqueuedURI"), call.args.get("EnqueuedURIMetaData", ""))
    desired = call.number("DesiredFirstTrackNumberEnqueued", 0, 65535)
    position = desired if 1 <= desired <= len(playback.queue) else len(playback.queue) + 1
    playback.queue.insert(position - 1, track)
    if playback.on_queue and 0 < position <= playback.track_nr:
        playback.track_nr += 1
    elif playback.on_queue and playback.track_nr == 0:
        playback.track_nr = 1
        call.system.load_current(speaker)
    return {
        "FirstTrackNumberEnqueued": str(position),
        "NumTracksAdded": "1",
        "NewQueueLength": str(len(playback.queue)),
    }


def _clear_queue(call: Call) -> Result:
    if call.is_member:
        raise _NOT_COORDINATOR
    speaker = call.speaker
    speaker.playback.queue.clear()
    if speaker.playback.on_queue:
        speaker.playback.track_nr = 0
        speaker.state.transport = "STOPPED"
        call.system.load_current(speaker)
    return {}


def _transport_info(call: Call) -> Result:
    state = call.coordinator.state.transport
    return {"CurrentTransportState": state, "CurrentTransportStatus": "OK", "CurrentSpeed": "1"}


def _position_info(call: Call) -> Result:
    coordinator = call.coordinator
    state, source = coordinator.state, coordinator.playback.source
    metadata = source.metadata if source.uri == state.uri else ""
    radio = didl.is_radio(state.uri, metadata)
    loaded = bool(state.uri)
    track_metadata = didl.track_metadata(state.uri, state.title, state.artist, radio=radio)
    return {
        "Track": str(max(coordinator.playback.track_nr, 1) if loaded else 0),
        "TrackDuration": _TRACK_LENGTH if loaded and not radio else "0:00:00",
        "TrackMetaData": track_metadata,
        "TrackURI": state.uri,
        "RelTime": "0:00:00",
        "AbsTime": "NOT_IMPLEMENTED",
        "RelCount": "2147483647",
        "AbsCount": "2147483647",
    }


def _media_info(call: Call) -> Result:
    coordinator = call.coordinator
    playback = coordinator.playback
    if call.is_member:
        source = didl.Track(f"x-rincon:{coordinator.uid}")
        tracks = 1
    else:
        source = playback.source
        tracks = len(playback.queue) if playback.on_queue else int(bool(source.uri))
    return {
        "NrTracks": str(tracks),
        "MediaDuration": "NOT_IMPLEMENTED",
        "CurrentURI": source.uri,
        "CurrentURIMetaData": source.metadata,
        "NextURI": "",
        "NextURIMetaData": "",
        "PlayMedium": "NETWORK",
        "RecordMedium": "NOT_IMPLEMENTED",
        "WriteStatus": "NOT_IMPLEMENTED",
    }


def _transport_settings(call: Call) -> Result:
    return {"PlayMode": call.coordinator.playback.play_mode, "RecQualityMode": "NOT_IMPLEMENTED"}


def _set_play_mode(call: Call) -> Result:
    mode = call.text("NewPlayMode")
    if mode not in PLAY_MODES:
        raise UpnpError(712, "Play mode not supported")
    call.coordinator.playback.play_mode = mode
    return {}


def _transport_actions(call: Call) -> Result:
    coordinator = call.coordinator
    actions = ["Set", "Stop"]
    if coordinator.state.uri:
        actions += ["Pause", "Play", "X_DLNA_SeekTime"]
    if coordinator.playback.on_queue and coordinator.playback.queue:
        actions += ["Next", "Previous", "X_DLNA_SeekTrackNr"]
    return {"Actions": ", ".join(actions)}


def _standalone(call: Call) -> Result:
    delegate = call.system.leave(call.speaker)
    return {
        "DelegatedGroupCoordinatorID": delegate,
        "NewGroupID": call.system.group_id(call.speaker),
    }


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
    ("AVTransport", "SetAVTransportURI"): _set_uri,
    ("AVTransport", "AddURIToQueue"): _add_to_queue,
    ("AVTransport", "RemoveAllTracksFromQueue"): _clear_queue,
    ("AVTransport", "Play"): _play,
    ("AVTransport", "Pause"): _pause,
    ("AVTransport", "Stop"): _stop,
    ("AVTransport", "Next"): lambda call: _step(call, 1),
    ("AVTransport", "Previous"): lambda call: _step(call, -1),
    ("AVTransport", "Seek"): _seek,
    ("AVTransport", "GetTransportInfo"): _transport_info,
    ("AVTransport", "GetPositionInfo"): _position_info,
    ("AVTransport", "GetMediaInfo"): _media_info,
    ("AVTransport", "GetTransportSettings"): _transport_settings,
    ("AVTransport", "SetPlayMode"): _set_play_mode,
    ("AVTransport", "GetCurrentTransportActions"): _transport_actions,
    ("AVTransport", "BecomeCoordinatorOfStandaloneGroup"): _standalone,
    ("ContentDirectory", "Browse"): _browse,
}
