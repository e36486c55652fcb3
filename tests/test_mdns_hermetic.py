"""mDNS stays on loopback in tests and in the demo, whatever the machine's other interfaces carry."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from zeroconf import ServiceInfo, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

from claw.home.mdns import IP_MULTICAST_ALL, zeroconf_on
from tests import mdns_noise
from tests.loopback_guard import LoopbackListener

ROOT = Path(__file__).resolve().parent.parent
LAN = "10.77.0.1"  # inside a network namespace made for the test: no real network is ever reached
NAMESPACE = (
    "ip link set lo up && ip link add lan0 type veth peer name lan1 && "
    f"ip addr add {LAN}/24 dev lan0 && ip link set lan0 up && ip link set lan1 up && sleep 0.3"
)
# The two tests that failed on a machine whose LAN carried mDNS (zeroconf answered a LAN host by unicast).
SUITE = (
    "tests/test_home.py::test_a_dead_light_is_reported_and_the_rest_still_goes_off",
    "tests/test_home.py::test_device_that_changes_ip_keeps_its_identity",
)


def own_network_namespace() -> str:
    """Why this machine can't give the test a network namespace of its own ("" when it can)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip (util-linux, iproute2)"
    probe = subprocess.run(["unshare", "-n", "ip", "link", "add", "x0", "type", "veth", "peer", "name", "x1"])
    return "" if probe.returncode == 0 else "not allowed to make a network namespace with a veth pair here"


async def test_a_query_from_beyond_loopback_is_not_answered_and_loopback_still_is() -> None:
    responder = AsyncZeroconf(interfaces=["127.0.0.1"])
    info = ServiceInfo(
        "_claw-http._tcp.local.",
        "hermetic._claw-http._tcp.local.",
        addresses=[socket.inet_aton("127.0.0.9")],
        port=80,
    )
    await responder.async_register_service(info)
    before = len(LoopbackListener.heard_beyond)
    try:
        listeners = responder.zeroconf.engine.protocols
        assert listeners and all(isinstance(p, LoopbackListener) for p in listeners)
        for listener in listeners:  # a LAN host's legacy query, as the shared 0.0.0.0:5353 socket would get it
            listener.datagram_received(mdns_noise.query("_claw-http._tcp.local.", unicast=True), ("192.0.2.50", 40000))
        assert LoopbackListener.heard_beyond[before:] == ["192.0.2.50"] * len(listeners)  # dropped, not answered
        found: asyncio.Queue[str] = asyncio.Queue()

        def added(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
            if state_change is ServiceStateChange.Added:
                found.put_nowait(name)

        browser_zc = AsyncZeroconf(interfaces=["127.0.0.1"])
        browser = AsyncServiceBrowser(browser_zc.zeroconf, ["_claw-http._tcp.local."], handlers=[added])
        try:
            assert await asyncio.wait_for(found.get(), 10) == "hermetic._claw-http._tcp.local."
        finally:
            await browser.async_cancel()
            await browser_zc.async_close()
    finally:
        await responder.async_close()


async def test_claws_own_zeroconf_on_named_interfaces_hears_only_their_groups() -> None:
    zc = await zeroconf_on(["127.0.0.1"])
    try:
        shared = [
            r.transport.get_extra_info("socket")
            for r in zc.zeroconf.engine.readers
            if r.transport.get_extra_info("sockname")[0] == "0.0.0.0"
        ]
        assert shared, "zeroconf no longer listens on a shared socket: revisit claw/home/mdns.py"
        assert all(s.getsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL) == 0 for s in shared)
    finally:
        await zc.async_close()


@pytest.mark.skipif(bool(own_network_namespace()), reason=own_network_namespace() or "")
def test_the_suite_passes_while_another_interface_carries_mdns(tmp_path: Path) -> None:
    report = tmp_path / "noise.json"
    noise = f"{sys.executable} -m tests.mdns_noise {LAN} 600 {report}"
    tests = f"{sys.executable} -m pytest -p no:cacheprovider {' '.join(SUITE)}"
    script = f"{NAMESPACE} && ({noise} & echo $! > {tmp_path}/noise.pid) && sleep 0.5 && {tests}; rc=$?; "
    script += f"kill $(cat {tmp_path}/noise.pid); exit $rc"
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=500
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
    chatter = json.loads(report.read_text())
    assert chatter["sent"] > 50  # the LAN really was busy while the tests ran
    assert chatter["answered"] == 0, chatter  # and nothing on loopback answered it


PROBE = """
import asyncio, socket, sys
from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf
from claw.home.mdns import zeroconf_on
from tests.mdns_noise import query

async def main(confined):
    zc = await zeroconf_on(["127.0.0.1"]) if confined else AsyncZeroconf(interfaces=["127.0.0.1"])
    info = ServiceInfo("_claw-http._tcp.local.", "probe._claw-http._tcp.local.",
                       addresses=[socket.inet_aton("127.0.0.9")], port=80)
    await zc.async_register_service(info)
    member = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the group joined on the LAN, as avahi would
    group = socket.inet_aton("224.0.0.251") + socket.inet_aton(sys.argv[1])
    member.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
    lan = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lan.bind((sys.argv[1], 0))
    lan.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
    lan.settimeout(1.0)
    answered = 0
    for _ in range(3):
        lan.sendto(query("_claw-http._tcp.local.", unicast=True), ("224.0.0.251", 5353))
        try:
            await asyncio.to_thread(lan.recvfrom, 9000)
            answered += 1
        except TimeoutError:
            pass
    await zc.async_close()
    print(("confined" if confined else "plain"), answered)

asyncio.run(main(False))
asyncio.run(main(True))
"""


@pytest.mark.skipif(bool(own_network_namespace()), reason=own_network_namespace() or "")
def test_claws_zeroconf_does_not_answer_the_lan_where_plain_zeroconf_does() -> None:
    script = f"{NAMESPACE} && {sys.executable} -c '{PROBE}' {LAN}"
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answers = dict(line.split() for line in result.stdout.splitlines())
    assert int(answers["plain"]) > 0  # the leak is real: zeroconf on 127.0.0.1 answers a LAN host by unicast
    assert answers["confined"] == "0"  # claw/home/mdns.py: the LAN is not even heard
