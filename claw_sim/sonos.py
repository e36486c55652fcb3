"""Simulated Sonos speakers on loopback that real `soco` controls over HTTP/SOAP, SSDP and mDNS."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from claw_sim import sonos_didl as didl
from claw_sim import sonos_upnp as upnp
from claw_sim.sonos_actions import handle
from claw_sim.sonos_groups import ZoneGroups
from claw_sim.sonos_upnp import DISPLAY_VERSION, SERVER, SOFTWARE_VERSION
from claw_sim.ssdp import SsdpAdvert, SsdpResponder

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
_MAX_REQUESTS_KEPT = 10_000


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
        if uid is not None and not (uid.startswith("RINCON_") and len(uid) >= 19):
            raise ValueError(f"uid {uid!r} is not like RINCON_<12 hex digits of MAC>01400")
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
            if len(self.requests) > _MAX_REQUESTS_KEPT:  # a long demo must not grow without bound
                del self.requests[0]
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
            f"<friendlyName>{escape(self.name)} - {escape(self.model)} {kind}</friendlyName>"
            f"<manufacturer>Sonos, Inc.</manufacturer><modelNumber>{number}</modelNumber>"
            f"<modelName>{escape(self.model)}</modelName><UDN>uuid:{self.uid}_{suffix}</UDN>"
            f"{upnp.service_list(kind)}</device>"
            for kind, suffix in (("MediaServer", "MS"), ("MediaRenderer", "MR"))
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<root xmlns="urn:schemas-upnp-org:device-1-0">'
            "<specVersion><major>1</major><minor>0</minor></specVersion><device>"
            f"<deviceType>{ZONE_PLAYER}</deviceType>"
            f"<friendlyName>{self.ip} - {escape(self.model)} - {self.uid}</friendlyName>"
            "<manufacturer>Sonos, Inc.</manufacturer><manufacturerURL>http://www.sonos.com</manufacturerURL>"
            f"<modelNumber>{number}</modelNumber><modelDescription>{escape(self.model)}</modelDescription>"
            f"<modelName>{escape(self.model)}</modelName>"
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
            f"<roomName>{escape(self.name)}</roomName><displayName>{escape(display)}</displayName>"
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
        self.groups = ZoneGroups(self.speakers)
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
            await asyncio.gather(*(g for g in goodbyes if not isinstance(g, BaseException)), return_exceptions=True)
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


def _alive(speaker: SimSonos) -> Callable[[], bool]:
    return lambda: not speaker.dead


def _soap_action(request: web.Request) -> str:
    return request.headers.get("SOAPACTION", "").strip().strip('"')
