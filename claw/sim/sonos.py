"""Simulated Sonos speakers on loopback that real `soco` controls over HTTP/SOAP, SSDP and mDNS."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from claw.sim import sonos_didl as didl
from claw.sim import sonos_upnp as upnp
from claw.sim.sonos_actions import handle
from claw.sim.sonos_upnp import DISPLAY_VERSION, SERVER, SOFTWARE_VERSION
from claw.sim.ssdp import SsdpAdvert, SsdpResponder

if TYPE_CHECKING:
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

_LOG = logging.getLogger(__name__)

ZONE_PLAYER = "urn:schemas-upnp-org:device:ZonePlayer:1"
MDNS_TYPE = "_sonos._tcp.local."
DEFAULT_FAVORITES: tuple[tuple[str, str], ...] = (
    ("Jazz Classics", "x-sonosapi-radio:jazz"),
    ("Morning News", "x-sonosapi-stream:news"),
    ("Chill Mix", "x-sonosapi-radio:chill"),
    ("Rain Sounds", "http://127.0.0.1:8000/rain.mp3"),
)
_MODEL_NUMBERS = {
    "Sonos One": "S18",
    "Sonos One SL": "S38",
    "Sonos Era 100": "S39",
    "Sonos Beam": "S14",
    "Sonos Arc": "S19",
    "Sonos Move": "S17",
    "Sonos Roam": "S27",
    "Sonos Play:1": "S1",
}
_DEAD_POLL_S = 0.05


@dataclass(slots=True)
class SpeakerState:
    """What one simulated speaker is doing now; tests read it and may set it directly."""

    volume: int = 20
    muted: bool = False
    transport: str = "STOPPED"  # "PLAYING", "PAUSED_PLAYBACK" or "STOPPED"
    uri: str = ""  # the loaded track
    title: str = ""
    artist: str = ""
    group_coordinator_uid: str = ""  # own uid when standalone


@dataclass(slots=True)
class Playback:
    """A coordinator's media model: the AVTransport source, its queue and position in it."""

    source: didl.Track = field(default_factory=lambda: didl.Track(""))
    queue: list[didl.Track] = field(default_factory=list)
    track_nr: int = 0  # 1-based position in the queue (or 1 for a single stream), 0 when nothing
    play_mode: str = "NORMAL"

    @property
    def on_queue(self) -> bool:
        """True when the source is the speaker's own queue (x-rincon-queue:...#0)."""
        return self.source.uri.startswith("x-rincon-queue:")

    def current(self) -> didl.Track:
        """The track the source points at now."""
        if self.on_queue:
            ok = 1 <= self.track_nr <= len(self.queue)
            return self.queue[self.track_nr - 1] if ok else didl.Track("")
        if self.source.uri.startswith("x-rincon:"):
            return didl.Track("")
        return self.source


class SimSonos:
    """One simulated speaker: its identity, live state, failure knobs and its HTTP server."""

    def __init__(
        self,
        name: str,
        room: str,
        ip: str,
        *,
        uid: str | None = None,
        port: int = 1400,
        model: str = "Sonos One",
    ) -> None:
        if not ipaddress.ip_address(ip).is_loopback:
            raise ValueError(f"simulated speaker {name!r} must use a loopback address, not {ip}")
        self.name, self.room, self.ip, self.port, self.model = name, room, ip, port, model
        octets = [int(part) for part in ip.split(".")]
        # Sonos' OUI plus the address keeps every simulated speaker's MAC and uid unique and stable.
        self.mac = uid[7:19] if uid else "000E58" + "".join(f"{o:02X}" for o in octets[1:])
        self.uid = uid or f"RINCON_{self.mac}01400"
        self.state = SpeakerState(group_coordinator_uid=self.uid)
        self.playback = Playback()
        self.latency = 0.0
        self.dead = False
        self.status_light = True
        self.boot_seq = 8
        self.requests: list[tuple[str, str, str]] = []
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._system: SonosSystem | None = None

    def __repr__(self) -> str:
        return f"SimSonos({self.name!r}, {self.ip}:{self.port}, {self.uid})"

    @property
    def location(self) -> str:
        """The device description URL (what SSDP, mDNS and the topology advertise)."""
        return f"http://{self.ip}:{self.port}/xml/device_description.xml"

    @property
    def icon(self) -> str:
        """The Sonos room icon URI, from the room's first word."""
        word = "".join(ch for ch in self.room.split(" ")[0].lower() if ch.isalnum()) or "living"
        return f"x-rincon-roomicon:{word}"

    @property
    def serial(self) -> str:
        """The serial number soco derives the MAC address from."""
        return "-".join(self.mac[i : i + 2] for i in range(0, 12, 2)) + ":A"

    @property
    def system(self) -> SonosSystem:
        """The household this speaker belongs to."""
        if self._system is None:
            raise RuntimeError(f"{self!r} is not part of a SonosSystem")
        return self._system

    async def start(self) -> None:
        """Serve HTTP on ip:port."""
        self._closing = False
        app = web.Application(middlewares=[self._middleware()])
        app.router.add_get("/xml/device_description.xml", self._description)
        app.router.add_get("/xml/{name}", self._scpd)
        app.router.add_post("/{path:.+}/Control", self._control)
        # A short shutdown wait: dead speakers hold connections on purpose.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.ip, self.port, reuse_address=True).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        """Stop serving; connections held by a dead speaker are dropped."""
        self._closing = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _middleware(self) -> Middleware:
        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            if self.dead:
                return await self._play_dead(request)
            self.requests.append((request.method, request.path, _soap_action(request)))
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            if self.dead:
                return await self._play_dead(request)
            response = await handler(request)
            response.headers["Server"] = SERVER
            return response

        return middleware

    async def _play_dead(self, request: web.Request) -> web.StreamResponse:
        # Never answer: hold the connection until the client gives up, the speaker comes back or
        # the sim stops, then drop it (a rebooted speaker has forgotten the connection). Polling
        # keeps `dead` a plain attribute that any thread may set.
        while self.dead and not self._closing:
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            await asyncio.sleep(_DEAD_POLL_S)
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=503)

    async def _description(self, request: web.Request) -> web.Response:
        return web.Response(text=self.device_description(), content_type="text/xml", charset="utf-8")

    async def _scpd(self, request: web.Request) -> web.Response:
        service = upnp.SERVICE_BY_SCPD_URL.get(request.path)
        if service is None:
            raise web.HTTPNotFound()
        return web.Response(text=upnp.scpd(service), content_type="text/xml", charset="utf-8")

    async def _control(self, request: web.Request) -> web.Response:
        service = upnp.SERVICE_BY_CONTROL_URL.get(request.path)
        if service is None:
            raise web.HTTPNotFound()
        try:
            action, args = upnp.parse_request(await request.read())
            header = _soap_action(request)
            if header and header != f"{service.service_type}#{action}":
                raise upnp.UpnpError(401, "Invalid Action")
            values = handle(self.system, self, service, action, args)
        except upnp.UpnpError as err:
            _LOG.debug("%s answers %s to %s", self.name, err, request.path)
            return web.Response(status=500, text=upnp.fault(err), content_type="text/xml", charset="utf-8")
        body = upnp.response(service, action, values)
        return web.Response(text=body, content_type="text/xml", charset="utf-8")

    def device_description(self) -> str:
        """The `/xml/device_description.xml` soco reads for speaker info."""
        number = _MODEL_NUMBERS.get(self.model, "S18")
        display = self.model.removeprefix("Sonos ")
        sub_devices = "".join(
            f"<device><deviceType>urn:schemas-upnp-org:device:{kind}:1</deviceType>"
            f"<friendlyName>{_esc(self.name)} - {_esc(self.model)} {kind}</friendlyName>"
            f"<manufacturer>Sonos, Inc.</manufacturer><modelNumber>{number}</modelNumber>"
            f"<modelName>{_esc(self.model)}</modelName><UDN>uuid:{self.uid}_{suffix}</UDN>"
            f"{upnp.service_list(kind)}</device>"
            for kind, suffix in (("MediaServer", "MS"), ("MediaRenderer", "MR"))
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<root xmlns="urn:schemas-upnp-org:device-1-0">'
            "<specVersion><major>1</major><minor>0</minor></specVersion><device>"
            f"<deviceType>{ZONE_PLAYER}</deviceType>"
            f"<friendlyName>{self.ip} - {_esc(self.model)} - {self.uid}</friendlyName>"
            "<manufacturer>Sonos, Inc.</manufacturer><manufacturerURL>http://www.sonos.com</manufacturerURL>"
            f"<modelNumber>{number}</modelNumber><modelDescription>{_esc(self.model)}</modelDescription>"
            f"<modelName>{_esc(self.model)}</modelName>"
            f"<modelURL>http://www.sonos.com/products/zoneplayers/{number}</modelURL>"
            f"<softwareVersion>{SOFTWARE_VERSION}</softwareVersion><swGen>2</swGen>"
            "<hardwareVersion>1.20.1.6-2.1</hardwareVersion>"
            f"<serialNum>{self.serial}</serialNum><MACAddress>{self.serial[:-2].replace('-', ':')}</MACAddress>"
            f"<UDN>uuid:{self.uid}</UDN>"
            "<iconList><icon><id>0</id><mimetype>image/png</mimetype><width>48</width><height>48</height>"
            f"<depth>24</depth><url>/img/icon-{number}.png</url></icon></iconList>"
            "<minCompatibleVersion>69.0-00000</minCompatibleVersion>"
            "<legacyCompatibleVersion>58.0-00000</legacyCompatibleVersion>"
            f"<apiVersion>1.40.0</apiVersion><minApiVersion>1.1.0</minApiVersion>"
            f"<displayVersion>{DISPLAY_VERSION}</displayVersion><extraVersion/>"
            f"<roomName>{_esc(self.name)}</roomName><displayName>{_esc(display)}</displayName>"
            "<zoneType>23</zoneType><SSLPort>1443</SSLPort><securehhSSLPort>1843</securehhSSLPort>"
            f"{upnp.service_list('')}<deviceList>{sub_devices}</deviceList>"
            "</device></root>"
        )


class SonosSystem:
    """A household of simulated speakers sharing one zone group topology, favourites and discovery."""

    def __init__(
        self,
        speakers: list[SimSonos],
        *,
        favorites: Sequence[tuple[str, str]] = DEFAULT_FAVORITES,
        household_id: str | None = None,
    ) -> None:
        for attribute in ("name", "uid", "location"):
            values = [getattr(speaker, attribute) for speaker in speakers]
            if len(set(values)) != len(values):
                raise ValueError(f"simulated speakers need distinct {attribute}s: {values}")
        self.speakers = list(speakers)
        self.favorites = list(favorites)
        digest = hashlib.sha256(",".join(s.uid for s in speakers).encode()).hexdigest()[:22]
        self.household_id = household_id or f"Sonos_{digest}"
        self._group_seq: dict[str, int] = {}
        self._seq = 0
        self._ssdp: SsdpResponder | None = None
        self._zeroconf: AsyncZeroconf | None = None
        self._mdns: list[AsyncServiceInfo] = []
        for speaker in speakers:
            speaker._system = self

    @property
    def ssdp_port(self) -> int | None:
        """The port the SSDP responder listens on (1900 unless taken), None without SSDP."""
        return self._ssdp.port if self._ssdp is not None else None

    def speaker(self, name: str) -> SimSonos:
        """The speaker with this name; KeyError lists the names there are."""
        for speaker in self.speakers:
            if speaker.name == name:
                return speaker
        raise KeyError(f"no simulated speaker {name!r}; there are {[s.name for s in self.speakers]}")

    def by_uid(self, uid: str) -> SimSonos | None:
        """The speaker with this RINCON uid, if any."""
        return next((s for s in self.speakers if s.uid == uid), None)

    async def start(self, *, zeroconf: AsyncZeroconf | None = None, ssdp: bool = True) -> None:
        """Serve every speaker; answer SSDP and register `_sonos._tcp` on the given zeroconf if asked."""
        try:
            for speaker in self.speakers:
                await speaker.start()
            if ssdp:
                self._ssdp = SsdpResponder()
                for speaker in self.speakers:
                    self._ssdp.add(self._advert(speaker), alive=_alive(speaker))
                await self._ssdp.start()
            if zeroconf is not None:
                self._zeroconf = zeroconf
                self._mdns = [self._service_info(speaker) for speaker in self.speakers]
                await asyncio.gather(*(zeroconf.async_register_service(info) for info in self._mdns))
        except BaseException:
            await self.stop()
            raise
        _LOG.info("simulated Sonos household %s: %s", self.household_id, self.speakers)

    async def stop(self) -> None:
        """Unregister mDNS, stop SSDP and every HTTP server."""
        if self._zeroconf is not None and self._mdns:
            goodbyes = await asyncio.gather(
                *(self._zeroconf.async_unregister_service(info) for info in self._mdns),
                return_exceptions=True,
            )
            await asyncio.gather(
                *(g for g in goodbyes if not isinstance(g, BaseException)), return_exceptions=True
            )
        self._zeroconf, self._mdns = None, []
        if self._ssdp is not None:
            await self._ssdp.stop()
            self._ssdp = None
        for speaker in self.speakers:
            await speaker.stop()

    def _advert(self, speaker: SimSonos) -> SsdpAdvert:
        return SsdpAdvert(
            ip=speaker.ip,
            location=speaker.location,
            uuid=f"uuid:{speaker.uid}",
            search_targets=(ZONE_PLAYER, "upnp:rootdevice"),
            server=SERVER,
            headers=(
                ("X-RINCON-HOUSEHOLD", self.household_id),
                ("X-RINCON-BOOTSEQ", str(speaker.boot_seq)),
                ("X-RINCON-WIFIMODE", "0"),
                ("X-RINCON-VARIANT", "2"),
            ),
        )

    def _service_info(self, speaker: SimSonos) -> AsyncServiceInfo:
        from zeroconf.asyncio import AsyncServiceInfo

        properties = {
            "info": f"/api/v1/players/{speaker.uid}/info",
            "vers": "3",
            "protovers": "1.40.0",
            "bootseq": str(speaker.boot_seq),
            "hhid": self.household_id,
            "mhhid": f"{self.household_id}.{speaker.mac[-6:]}",
            "locationid": f"lc_{hashlib.sha256(self.household_id.encode()).hexdigest()[:32]}",
            "location": speaker.location,
            "sslport": "1443",
            "hhsslport": "1843",
            "variant": "2",
            "mdnssequence": "0",
        }
        return AsyncServiceInfo(
            MDNS_TYPE,
            f"Sonos-{speaker.mac}@{speaker.room}.{MDNS_TYPE}",
            port=speaker.port,
            properties=properties,
            server=f"Sonos-{speaker.mac}.local.",
            addresses=[socket.inet_aton(speaker.ip)],
        )

    # --- the zone group topology -------------------------------------------------------------

    def coordinator_of(self, speaker: SimSonos) -> SimSonos:
        """The coordinator of the speaker's group (itself when standalone)."""
        coordinator = self.by_uid(speaker.state.group_coordinator_uid)
        return speaker if coordinator is None else coordinator

    def members_of(self, coordinator: SimSonos) -> list[SimSonos]:
        """The coordinator's group, coordinator first."""
        others = [
            s
            for s in self.speakers
            if s is not coordinator and s.state.group_coordinator_uid == coordinator.uid
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
            heir.playback = Playback(
                source=speaker.playback.source,
                queue=list(speaker.playback.queue),
                track_nr=speaker.playback.track_nr,
                play_mode=speaker.playback.play_mode,
            )
            if heir.playback.on_queue:
                heir.playback.source = didl.Track(f"x-rincon-queue:{heir.uid}#0")
            heir.state.transport = speaker.state.transport
            for member in others:
                member.state.group_coordinator_uid = heir.uid
                if member is not heir:
                    member.playback.source = didl.Track(f"x-rincon:{heir.uid}")
            self.load_current(heir)
            self._regrouped(heir)
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

    def zone_group_state(self) -> str:
        """The ZoneGroupState XML every speaker answers, each member located at its own ip:port."""
        groups = []
        for coordinator in self.speakers:
            if self.coordinator_of(coordinator) is not coordinator:
                continue
            members = "".join(_member_xml(s) for s in self.members_of(coordinator))
            groups.append(
                f"<ZoneGroup Coordinator={upnp.attr(coordinator.uid)} "
                f"ID={upnp.attr(self.group_id(coordinator))}>{members}</ZoneGroup>"
            )
        return (
            f"<ZoneGroupState><ZoneGroups>{''.join(groups)}</ZoneGroups><VanishedDevices/></ZoneGroupState>"
        )


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


def _alive(speaker: SimSonos) -> Callable[[], bool]:
    return lambda: not speaker.dead


def _soap_action(request: web.Request) -> str:
    return request.headers.get("SOAPACTION", "").strip().strip('"')


def _esc(text: str) -> str:
    return escape(text)
