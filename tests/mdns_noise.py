"""A LAN host's mDNS chatter on a non-loopback interface (run it only inside a network namespace of your own).

`python -m tests.mdns_noise IP SECONDS REPORT`: joins 224.0.0.251 on the interface holding IP (as avahi
would), then for SECONDS sends, out of that interface, legacy and unicast-response (QU) queries for the
service types the simulated home announces, and announcements of its own. Answers that come back by
unicast are counted; REPORT gets {"sent": n, "answered": n, "from": [...]} as JSON.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

from zeroconf import DNSPointer, DNSQuestion
from zeroconf._protocol.outgoing import DNSOutgoing
from zeroconf.const import _CLASS_IN, _CLASS_UNIQUE, _FLAGS_AA, _FLAGS_QR_QUERY, _FLAGS_QR_RESPONSE, _TYPE_PTR

GROUP = "224.0.0.251"
TYPES = (
    "_services._dns-sd._udp.local.",
    "_claw-http._tcp.local.",
    "_sonos._tcp.local.",
    "_home-assistant._tcp.local.",
    "_http._tcp.local.",
    "_hue._tcp.local.",
)


def query(name: str, *, unicast: bool) -> bytes:
    out = DNSOutgoing(_FLAGS_QR_QUERY)
    out.add_question(DNSQuestion(name, _TYPE_PTR, _CLASS_IN | (_CLASS_UNIQUE if unicast else 0)))
    return out.packets()[0]


def announcement(number: int) -> bytes:
    out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA)
    pointer = DNSPointer("_claw-http._tcp.local.", _TYPE_PTR, _CLASS_IN, 120, f"lan {number}._claw-http._tcp.local.")
    out.add_answer_at_time(pointer, 0)
    return out.packets()[0]


def main(ip: str, seconds: float, report: Path) -> None:
    member = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    member.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(GROUP) + socket.inet_aton(ip))
    legacy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # from a port other than 5353: a legacy query
    legacy.bind((ip, 0))
    legacy.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ip))
    legacy.settimeout(0.02)
    sent, answered, senders = 0, 0, set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for name in TYPES:
            legacy.sendto(query(name, unicast=sent % 2 == 0), (GROUP, 5353))
            sent += 1
        legacy.sendto(announcement(sent), (GROUP, 5353))
        sent += 1
        try:
            while True:
                _, sender = legacy.recvfrom(9000)
                answered += 1
                senders.add(sender[0])
        except TimeoutError:
            pass
        partial = report.with_suffix(".partial")  # whole or not at all: the test kills this process at any moment
        partial.write_text(json.dumps({"sent": sent, "answered": answered, "from": sorted(senders)}))
        partial.replace(report)
        time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), Path(sys.argv[3]))
