"""The simulated Sonos household, driven by real soco over HTTP/SOAP, SSDP and mDNS on loopback."""

from __future__ import annotations

import asyncio
import functools
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import pytest
import pytest_asyncio
import requests
import soco
from soco import SoCo, config
from soco.core import soco_reset
from soco.exceptions import SoCoSlaveException, SoCoUPnPException
from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

from claw_sim.sonos import DEFAULT_FAVORITES, MDNS_TYPE, SimSonos, SonosSystem
from claw_sim.sonos_actions import HANDLED
from claw_sim.sonos_upnp import SERVICES
from claw_sim.ssdp import SSDP_GROUP

# A random address block per run, so a demo or another run of this suite on the host cannot collide.
_BLOCK = f"127.{random.randint(64, 250)}.{random.randint(0, 255)}"
IPS = (f"{_BLOCK}.1", f"{_BLOCK}.2", f"{_BLOCK}.3")
ZONE_PLAYER = "urn:schemas-upnp-org:device:ZonePlayer:1"
T = TypeVar("T")


def speakers() -> list[SimSonos]:
    return [
        SimSonos("Living Room", "Living Room", IPS[0]),
        SimSonos("Kitchen", "Kitchen", IPS[1]),
        SimSonos("Bedroom", "Bedroom", IPS[2], model="Sonos Era 100"),
    ]


def household() -> str:
    return f"Sonos_test{uuid.uuid4().hex[:22]}"


@pytest.fixture(autouse=True)
def fresh_soco() -> Iterator[None]:
    # soco caches SoCo singletons and the topology per process; every test starts clean.
    soco_reset()
    SoCo.zone_group_states.clear()
    saved = config.REQUEST_TIMEOUT
    config.REQUEST_TIMEOUT = 3
    yield
    config.REQUEST_TIMEOUT = saved
    soco_reset()
    SoCo.zone_group_states.clear()


@pytest_asyncio.fixture
async def home() -> AsyncIterator[SonosSystem]:
    system = SonosSystem(speakers(), household_id=household())
    await system.start()
    try:
        yield system
    finally:
        await system.stop()


async def blocking(fn: Callable[[], T]) -> T:
    """Run a blocking soco call off the event loop the simulation runs on."""
    return await asyncio.to_thread(fn)


def test_every_described_action_has_a_handler() -> None:
    described = {(service.name, action.name) for service in SERVICES for action in service.actions}
    assert described == HANDLED


async def test_name_and_speaker_info(home: SonosSystem) -> None:
    living, bedroom = SoCo(IPS[0]), SoCo(IPS[2])
    assert await blocking(lambda: living.player_name) == "Living Room"
    assert await blocking(lambda: living.household_id) == home.household_id
    info = await blocking(bedroom.get_speaker_info)
    sim = home.speaker("Bedroom")
    assert info["zone_name"] == "Bedroom"
    assert info["uid"] == sim.uid
    assert info["model_name"] == "Sonos Era 100"
    assert info["mac_address"] == sim.serial.split(":")[0]
    assert ("GET", "/xml/device_description.xml", "") in sim.requests
    with pytest.raises(KeyError, match="Living Room"):
        home.speaker("Garage")


async def test_volume_and_mute(home: SonosSystem) -> None:
    kitchen, sim = SoCo(IPS[1]), home.speaker("Kitchen")

    def set_and_read() -> tuple[int, bool]:
        kitchen.volume = 35
        kitchen.mute = True
        return kitchen.volume, kitchen.mute

    assert await blocking(set_and_read) == (35, True)
    assert (sim.state.volume, sim.state.muted) == (35, True)
    assert sim.requests[-3][2].endswith("RenderingControl:1#SetMute")
    sim.state.volume = 12  # the speaker's own knob turned
    assert await blocking(lambda: kitchen.volume) == 12
    with pytest.raises(SoCoUPnPException) as fault:
        await blocking(
            lambda: kitchen.renderingControl.SetVolume(
                [("InstanceID", 0), ("Channel", "Master"), ("DesiredVolume", 150)]
            )
        )
    assert fault.value.error_code == "601"
    assert sim.state.volume == 12


async def test_play_pause_and_track_info(home: SonosSystem) -> None:
    living, sim = SoCo(IPS[0]), home.speaker("Living Room")
    with pytest.raises(SoCoUPnPException) as nothing_loaded:
        await blocking(living.play)
    assert nothing_loaded.value.error_code == "701"

    await blocking(lambda: living.play_uri("http://127.0.0.1:8000/jazz.mp3", title="Jazz Hour"))
    assert (sim.state.transport, sim.state.uri, sim.state.title) == (
        "PLAYING",
        "http://127.0.0.1:8000/jazz.mp3",
        "Jazz Hour",
    )
    track = await blocking(living.get_current_track_info)
    assert (track["title"], track["uri"]) == ("Jazz Hour", "http://127.0.0.1:8000/jazz.mp3")

    await blocking(living.pause)
    state = await blocking(living.get_current_transport_info)
    assert state["current_transport_state"] == "PAUSED_PLAYBACK" == sim.state.transport
    await blocking(living.stop)
    assert sim.state.transport == "STOPPED"


async def test_favourites_listed_and_played(home: SonosSystem) -> None:
    living, sim = SoCo(IPS[0]), home.speaker("Living Room")
    favourites = await blocking(living.music_library.get_sonos_favorites)
    assert [f.title for f in favourites] == [title for title, _ in DEFAULT_FAVORITES]
    jazz = favourites[0]
    assert jazz.reference.get_uri() == "x-sonosapi-radio:jazz"

    await blocking(lambda: living.play_uri(jazz.reference.get_uri(), jazz.resource_meta_data))
    assert (sim.state.transport, sim.state.uri, sim.state.title) == (
        "PLAYING",
        "x-sonosapi-radio:jazz",
        "Jazz Classics",
    )
    assert (await blocking(living.get_current_track_info))["title"] == "Jazz Classics"

    def queue_two_and_play_second() -> list[str]:
        living.clear_queue()
        living.add_to_queue(favourites[3].reference)
        living.add_to_queue(favourites[1].reference)
        living.play_from_queue(1)
        return [item.title for item in living.get_queue()]

    assert await blocking(queue_two_and_play_second) == ["Rain Sounds", "Morning News"]
    assert (sim.state.uri, sim.state.title, sim.state.transport) == (
        "x-sonosapi-stream:news",
        "Morning News",
        "PLAYING",
    )
    await blocking(living.previous)
    assert sim.state.title == "Rain Sounds"


async def test_join_and_unjoin(home: SonosSystem) -> None:
    living, kitchen, bedroom = (SoCo(ip) for ip in IPS)
    sim_living, sim_kitchen = home.speaker("Living Room"), home.speaker("Kitchen")
    await blocking(lambda: living.play_uri("x-sonosapi-radio:jazz", title="Jazz"))
    await blocking(lambda: kitchen.join(living))

    assert sim_kitchen.state.group_coordinator_uid == sim_living.uid
    group = await blocking(lambda: kitchen.group)
    assert group.coordinator is living
    assert group.members == {living, kitchen}
    assert await blocking(lambda: living.all_zones) == {living, kitchen, bedroom}
    assert await blocking(lambda: bedroom.group.members) == {bedroom}
    # Members follow the coordinator's playback.
    assert (sim_kitchen.state.transport, sim_kitchen.state.title) == ("PLAYING", "Jazz")
    info = await blocking(kitchen.get_current_transport_info)
    assert info["current_transport_state"] == "PLAYING"

    # soco refuses music commands on a member; the speaker itself refuses media changes with 800
    # and hands plain transport commands to its coordinator.
    with pytest.raises(SoCoSlaveException):
        await blocking(kitchen.pause)
    with pytest.raises(SoCoUPnPException) as fault:
        await blocking(lambda: kitchen.avTransport.RemoveAllTracksFromQueue([("InstanceID", 0)]))
    assert fault.value.error_code == "800"
    await blocking(lambda: kitchen.avTransport.Pause([("InstanceID", 0), ("Speed", 1)]))
    assert sim_living.state.transport == sim_kitchen.state.transport == "PAUSED_PLAYBACK"

    await blocking(kitchen.unjoin)
    assert sim_kitchen.state.group_coordinator_uid == sim_kitchen.uid
    assert sim_kitchen.state.transport == "STOPPED"
    assert await blocking(lambda: kitchen.group.members) == {kitchen}
    assert await blocking(lambda: living.group.members) == {living}


async def test_coordinator_leaving_hands_the_group_on(home: SonosSystem) -> None:
    living, kitchen, bedroom = (SoCo(ip) for ip in IPS)
    await blocking(lambda: living.play_uri("x-sonosapi-radio:chill", title="Chill"))
    await blocking(lambda: kitchen.join(living))
    await blocking(lambda: bedroom.join(living))
    await blocking(living.unjoin)
    group = await blocking(lambda: kitchen.group)
    assert group.coordinator is kitchen
    assert group.members == {kitchen, bedroom}
    sim_kitchen, sim_bedroom = home.speaker("Kitchen"), home.speaker("Bedroom")
    assert (sim_kitchen.state.transport, sim_kitchen.state.title) == ("PLAYING", "Chill")
    assert sim_bedroom.state.group_coordinator_uid == sim_kitchen.uid
    assert home.speaker("Living Room").state.transport == "STOPPED"


async def test_unknown_action_is_a_upnp_fault(home: SonosSystem) -> None:
    living = SoCo(IPS[0])
    with pytest.raises(SoCoUPnPException) as fault:
        await blocking(lambda: living.avTransport.Frobnicate([("InstanceID", 0)]))
    assert fault.value.error_code == "401"


def msearch(destination: tuple[str, int], search_target: str, wait: float = 0.6) -> list[tuple[str, dict[str, str]]]:
    """Send one M-SEARCH from 127.0.0.1 and collect (sender ip, headers) of the answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        request = (
            "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
            f'MAN: "ssdp:discover"\r\nMX: 1\r\nST: {search_target}\r\n\r\n'
        )
        sock.sendto(request.encode(), destination)
        answers = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, (ip, _) = sock.recvfrom(2048)
            except TimeoutError:
                break
            lines = data.decode().split("\r\n")
            headers = {k.strip().upper(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            answers.append((ip, {"STATUS": lines[0], **headers}))
        return [answer for answer in answers if answer[0] in IPS]
    finally:
        sock.close()


async def test_ssdp_answers_multicast_and_broadcast_from_each_speaker(home: SonosSystem) -> None:
    port = home.ssdp_port
    assert port is not None
    for destination in ((SSDP_GROUP, port), ("127.255.255.255", port)):
        answers = await blocking(functools.partial(msearch, destination, ZONE_PLAYER))
        assert sorted(ip for ip, _ in answers) == sorted(IPS)
        for ip, headers in answers:
            sim = next(s for s in home.speakers if s.ip == ip)
            assert headers["STATUS"] == "HTTP/1.1 200 OK"
            assert headers["LOCATION"] == f"http://{ip}:1400/xml/device_description.xml"
            assert headers["USN"] == f"uuid:{sim.uid}::{ZONE_PLAYER}"
            assert headers["SERVER"] == "Linux UPnP/1.0 Sonos/70.3-88200 (ZPS1)"
            assert headers["X-RINCON-HOUSEHOLD"] == home.household_id

    everything = await blocking(lambda: msearch((SSDP_GROUP, port), "ssdp:all"))
    assert {h["ST"] for _, h in everything} == {ZONE_PLAYER, "upnp:rootdevice"} | {
        f"uuid:{s.uid}" for s in home.speakers
    }
    assert await blocking(lambda: msearch((SSDP_GROUP, port), "urn:schemas-upnp-org:device:Basic:1")) == []

    home.speaker("Kitchen").dead = True
    answers = await blocking(lambda: msearch((SSDP_GROUP, port), ZONE_PLAYER))
    assert sorted(ip for ip, _ in answers) == [IPS[0], IPS[2]]


async def test_soco_discovers_the_household(home: SonosSystem) -> None:
    if home.ssdp_port != 1900:
        pytest.skip(f"SSDP port 1900 is taken on this host (responder fell back to {home.ssdp_port})")
    # household_id filters out any other simulated household answering on this host.
    found = await blocking(lambda: soco.discover(timeout=2, interface_addr="127.0.0.1", household_id=home.household_id))
    assert found is not None
    assert {zone.ip_address for zone in found} == set(IPS)
    names = await blocking(lambda: {zone.player_name for zone in found})
    assert names == {"Living Room", "Kitchen", "Bedroom"}


async def test_mdns_announces_each_speaker() -> None:
    system = SonosSystem(speakers(), household_id=household())
    announcer = AsyncZeroconf(interfaces=["127.0.0.1"])
    listener = AsyncZeroconf(interfaces=["127.0.0.1"])
    expected = {f"Sonos-{s.mac}@{s.room}.{MDNS_TYPE}": s for s in system.speakers}
    seen: dict[str, ServiceStateChange] = {}
    changed = asyncio.Event()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if name in expected:
            seen[name] = state_change
            changed.set()

    async def wait_for(state: ServiceStateChange) -> None:
        async with asyncio.timeout(5):
            while not (seen.keys() == expected.keys() and set(seen.values()) == {state}):
                changed.clear()
                await changed.wait()

    browser = AsyncServiceBrowser(listener.zeroconf, MDNS_TYPE, handlers=[on_change])
    try:
        await system.start(zeroconf=announcer, ssdp=False)
        await wait_for(ServiceStateChange.Added)
        name, sim = next(iter(expected.items()))
        info = await listener.async_get_service_info(MDNS_TYPE, name, 3000)
        assert info is not None
        assert info.parsed_addresses() == [sim.ip]
        assert info.port == 1400
        assert info.properties[b"info"] == f"/api/v1/players/{sim.uid}/info".encode()
        assert info.properties[b"hhid"] == system.household_id.encode()
        assert info.properties[b"sslport"] == b"1443"
        await system.stop()
        await wait_for(ServiceStateChange.Removed)
    finally:
        await system.stop()
        await browser.async_cancel()
        await listener.async_close()
        await announcer.async_close()


async def test_dead_speaker_times_out_then_recovers(home: SonosSystem) -> None:
    kitchen, sim = SoCo(IPS[1]), home.speaker("Kitchen")
    config.REQUEST_TIMEOUT = 0.5

    def volume_and_time() -> tuple[int, float]:
        start = time.monotonic()
        return kitchen.volume, time.monotonic() - start

    sim.dead = True
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        await blocking(volume_and_time)
    assert time.monotonic() - started < 2
    assert sim.requests == []  # a dead speaker hears nothing

    sim.dead = False
    sim.latency = 0.3
    volume, took = await blocking(volume_and_time)
    assert volume == sim.state.volume
    assert took >= 0.3
