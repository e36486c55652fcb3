"""AVTransport of a simulated Sonos speaker: sources, queue and transport, following group rules.

A group member hands plain transport commands (play, pause, stop, next...) to its coordinator, as
real speakers do, but refuses to change the group's media with fault 800.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from claw_sim import sonos_didl as didl
from claw_sim.sonos_upnp import UpnpError

if TYPE_CHECKING:
    from claw_sim.sonos import SimSonos, SonosSystem
    from claw_sim.sonos_actions import Call, Result

PLAY_MODES = ("NORMAL", "REPEAT_ALL", "REPEAT_ONE", "SHUFFLE_NOREPEAT", "SHUFFLE", "SHUFFLE_REPEAT_ONE")
_TRACK_LENGTH = "0:03:30"


def _not_coordinator() -> UpnpError:
    return UpnpError(800, "Command not supported or not a coordinator")


def _set_uri(call: Call) -> Result:
    uri, metadata = call.text("CurrentURI"), call.args.get("CurrentURIMetaData", "")
    speaker, system = call.speaker, call.system
    if uri.startswith("x-rincon:"):
        system.groups.join(speaker, uri.removeprefix("x-rincon:"))
        return {}
    if call.is_member:
        raise _not_coordinator()
    playback = speaker.playback
    if uri.startswith("x-rincon-queue:"):
        if uri.removeprefix("x-rincon-queue:").partition("#")[0] != speaker.uid:
            raise UpnpError(714, "Illegal MIME-Type")
        playback.track_nr = 1 if playback.queue else 0
    else:
        playback.track_nr = 1 if uri else 0
    playback.source = didl.Track(uri, metadata)
    speaker.state.transport = "STOPPED"
    system.groups.load_current(speaker)
    return {}


def _transport(call: Call, change: Callable[[SimSonos], None]) -> Result:
    # Members pass plain transport commands on to their coordinator, as real speakers do.
    coordinator = call.coordinator
    change(coordinator)
    call.system.groups.sync_group(coordinator)
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
    system.groups.load_current(coordinator)


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
        raise _not_coordinator()
    speaker, playback = call.speaker, call.speaker.playback
    track = didl.Track(call.text("EnqueuedURI"), call.args.get("EnqueuedURIMetaData", ""))
    desired = call.number("DesiredFirstTrackNumberEnqueued", 0, 65535)
    position = desired if 1 <= desired <= len(playback.queue) else len(playback.queue) + 1
    playback.queue.insert(position - 1, track)
    if playback.on_queue and 0 < position <= playback.track_nr:
        playback.track_nr += 1
    elif playback.on_queue and playback.track_nr == 0:
        playback.track_nr = 1
        call.system.groups.load_current(speaker)
    return {
        "FirstTrackNumberEnqueued": str(position),
        "NumTracksAdded": "1",
        "NewQueueLength": str(len(playback.queue)),
    }


def _clear_queue(call: Call) -> Result:
    if call.is_member:
        raise _not_coordinator()
    speaker = call.speaker
    speaker.playback.queue.clear()
    if speaker.playback.on_queue:
        speaker.playback.track_nr = 0
        speaker.state.transport = "STOPPED"
        call.system.groups.load_current(speaker)
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
    delegate = call.system.groups.leave(call.speaker)
    return {
        "DelegatedGroupCoordinatorID": delegate,
        "NewGroupID": call.system.groups.group_id(call.speaker),
    }


TRANSPORT_HANDLERS: dict[tuple[str, str], Callable[[Call], Result]] = {
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
}
