"""The zone group topology of a simulated Sonos household: who plays with whom, and who leads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from claw_sim import sonos_didl as didl
from claw_sim import sonos_upnp as upnp
from claw_sim.sonos_upnp import SOFTWARE_VERSION

if TYPE_CHECKING:
    from claw_sim.sonos import SimSonos


class ZoneGroups:
    """Groups of speakers, each led by a coordinator whose playback its members follow.

    Membership lives in each speaker's `state.group_coordinator_uid`, so tests may also set it directly.
    """

    def __init__(self, speakers: Sequence[SimSonos]) -> None:
        self._speakers = speakers
        self._group_seq: dict[str, int] = {}
        self._seq = 0

    def by_uid(self, uid: str) -> SimSonos | None:
        """The speaker with this RINCON uid, if any."""
        return next((s for s in self._speakers if s.uid == uid), None)

    def coordinator_of(self, speaker: SimSonos) -> SimSonos:
        """The coordinator of the speaker's group (itself when standalone)."""
        coordinator = self.by_uid(speaker.state.group_coordinator_uid)
        return speaker if coordinator is None else coordinator

    def members_of(self, coordinator: SimSonos) -> list[SimSonos]:
        """The coordinator's group, coordinator first."""
        others = [
            s for s in self._speakers if s is not coordinator and s.state.group_coordinator_uid == coordinator.uid
        ]
        return [coordinator, *others]

    def group_id(self, coordinator: SimSonos) -> str:
        """The group's ID as the topology shows it (`RINCON_...:N`)."""
        return f"{coordinator.uid}:{self._group_seq.get(coordinator.uid, 0)}"

    def _regrouped(self, coordinator: SimSonos) -> None:
        self._seq += 1
        self._group_seq[coordinator.uid] = self._seq

    def join(self, member: SimSonos, target_uid: str) -> None:
        """Make `member` follow the group of the speaker `target_uid` (x-rincon:<uid>)."""
        target = self.by_uid(target_uid)
        if target is None:
            raise upnp.UpnpError(701, "Transition not available")
        coordinator = self.coordinator_of(target)
        if coordinator is member or self.coordinator_of(member) is coordinator:
            return
        self.leave(member)
        member.state.group_coordinator_uid = coordinator.uid
        member.playback.source = didl.Track(f"x-rincon:{coordinator.uid}")
        self._regrouped(coordinator)
        self.sync_group(coordinator)

    def leave(self, speaker: SimSonos) -> str:
        """Make `speaker` standalone and stopped; return the uid now leading the group it left ("" if none)."""
        old = self.coordinator_of(speaker)
        others = [s for s in self.members_of(old) if s is not speaker]
        if not others:
            return ""
        if old is speaker:
            # The rest of the group plays on: the first member takes over the coordinator's playback.
            heir = others[0]
            heir.playback = replace(speaker.playback, queue=list(speaker.playback.queue))
            if heir.playback.on_queue:
                heir.playback.source = didl.Track(f"x-rincon-queue:{heir.uid}#0")
            was, now = speaker.state, heir.state
            now.transport, now.uri, now.title, now.artist = was.transport, was.uri, was.title, was.artist
            for member in others:
                member.state.group_coordinator_uid = heir.uid
                if member is not heir:
                    member.playback.source = didl.Track(f"x-rincon:{heir.uid}")
            self._regrouped(heir)
            self.sync_group(heir)
            delegate = heir
        else:
            speaker.state.group_coordinator_uid = speaker.uid
            speaker.playback.source = didl.Track(f"x-rincon-queue:{speaker.uid}#0")
            speaker.playback.track_nr = 1 if speaker.playback.queue else 0
            self.load_current(speaker)
            self._regrouped(old)
            self.sync_group(old)
            delegate = old
        speaker.state.transport = "STOPPED"
        self._regrouped(speaker)
        self.sync_group(speaker)
        return delegate.uid

    def load_current(self, coordinator: SimSonos) -> None:
        """Load the track the coordinator's source points at into its state, then its group's."""
        track = coordinator.playback.current()
        info = didl.describe(track) if track.uri else didl.TrackInfo("", "", radio=False)
        coordinator.state.uri, coordinator.state.title, coordinator.state.artist = (
            track.uri,
            info.title,
            info.artist,
        )
        self.sync_group(coordinator)

    def sync_group(self, coordinator: SimSonos) -> None:
        """Members show what their coordinator plays."""
        for member in self.members_of(coordinator)[1:]:
            member.state.transport = coordinator.state.transport
            member.state.uri = coordinator.state.uri
            member.state.title = coordinator.state.title
            member.state.artist = coordinator.state.artist

    def xml(self) -> str:
        """The ZoneGroupState XML every speaker answers, each member located at its own ip:port."""
        groups = []
        for coordinator in self._speakers:
            if self.coordinator_of(coordinator) is not coordinator:
                continue
            members = "".join(_member_xml(s) for s in self.members_of(coordinator))
            groups.append(
                f"<ZoneGroup Coordinator={upnp.attr(coordinator.uid)} "
                f"ID={upnp.attr(self.group_id(coordinator))}>{members}</ZoneGroup>"
            )
        return f"<ZoneGroupState><ZoneGroups>{''.join(groups)}</ZoneGroups><VanishedDevices/></ZoneGroupState>"


def _member_xml(speaker: SimSonos) -> str:
    attributes = {
        "UUID": speaker.uid,
        "Location": speaker.location,
        "ZoneName": speaker.name,
        "Icon": speaker.icon,
        "Configuration": "1",
        "SoftwareVersion": SOFTWARE_VERSION,
        "SWGen": "2",
        "MinCompatibleVersion": "69.0-00000",
        "LegacyCompatibleVersion": "58.0-00000",
        "BootSeq": str(speaker.boot_seq),
        "TVConfigurationError": "0",
        "HdmiCecAvailable": "0",
        "WirelessMode": "0",
        "WirelessLeafOnly": "0",
        "ChannelFreq": "2437",
        "BehindWifiExtender": "0",
        "WifiEnabled": "1",
        "EthLink": "0",
        "Orientation": "0",
        "RoomCalibrationState": "4",
        "SecureRegState": "3",
        "VoiceConfigState": "0",
        "MicEnabled": "0",
        "AirPlayEnabled": "1",
        "IdleState": "1",
        "MoreInfo": "",
        "SSLPort": "1443",
        "HHSSLPort": "1843",
    }
    return "<ZoneGroupMember " + " ".join(f"{k}={upnp.attr(v)}" for k, v in attributes.items()) + "/>"
