"""Common base of the simulated HTTP devices: one aiohttp server on its own 127.0.0.N, announced over mDNS."""

from __future__ import annotations

import abc
import asyncio
import errno
import hashlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, ClassVar, Literal

from aiohttp import web
from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

_LOG = logging.getLogger(__name__)

# A long-running demo must not grow without bound; tests only look at recent requests.
_MAX_RECORDED_REQUESTS = 2000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def stable_mac(seed: str) -> str:
    """Return a stable 12-hex-digit upper-case MAC-like id derived from `seed`."""
    digest = hashlib.sha256(seed.encode()).hexdigest()[:12].upper()
    # Set the locally-administered bit so the id can never collide with a real vendor MAC.
    first = (int(digest[:2], 16) | 0x02) & 0xFE
    return f"{first:02X}{digest[2:]}"


def colon_mac(mac: str) -> str:
    """Return a 12-hex-digit MAC as AA:BB:CC:DD:EE:FF."""
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2)).upper()


class IpAllocator:
    """Hands out distinct loopback addresses 127.0.0.N, N counting up from `start` to `stop` (inclusive)."""

    def __init__(self, start: int = 20, stop: int = 254) -> None:
        if not 1 <= start <= stop <= 254:
            raise ValueError(f"IpAllocator needs 1 <= start <= stop <= 254, got {start}..{stop}")
        self._next = start
        self._stop = stop

    def next(self) -> str:
        """Return the next unused address; raises RuntimeError when the range is exhausted."""
        if self._next > self._stop:
            raise RuntimeError(f"IpAllocator exhausted: no 127.0.0.N left up to N={self._stop}")
        ip = f"127.0.0.{self._next}"
        self._next += 1
        return ip

    def __iter__(self) -> Iterator[str]:
        while self._next <= self._stop:
            yield self.next()


class SimDevice(abc.ABC):
    """A simulated device: a real HTTP server on its own loopback IP with live-settable faults.

    Faults apply to every request, in this order: `dead` (hang until the client gives up,
    or drop the connection when `dead_mode == "close"`), `flapping` (probability of dropping
    the connection), then `latency` seconds before the answer.
    """

    default_port: ClassVar[int] = 80

    def __init__(
        self,
        *,
        ip: str,
        name: str,
        room: str,
        device_id: str,
        port: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.ip = ip
        self.name = name
        self.room = room
        self.device_id = device_id
        self.port = self.default_port if port is None else port
        self.ssl_context = ssl_context
        self.latency = 0.0
        self.dead = False
        self.dead_mode: Literal["hang", "close"] = "hang"
        self.flapping = 0.0
        self.requests: list[tuple[str, str]] = []
        # Seeded per device so a flapping run is reproducible.
        self._rng = random.Random(device_id)
        self._runner: web.AppRunner | None = None
        self._zeroconf: AsyncZeroconf | None = None
        self._registered: list[ServiceInfo] = []
        self._announce_tasks: list[asyncio.Future[Any]] = []
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- subclass contract
    @abc.abstractmethod
    def add_routes(self, app: web.Application) -> None:
        """Register the device's HTTP routes on `app`."""

    @abc.abstractmethod
    def service_infos(self) -> list[ServiceInfo]:
        """Return the mDNS services this device announces at its current ip and port."""

    # ----------------------------------------------------------------- public API
    @property
    def running(self) -> bool:
        """True while the HTTP server is listening."""
        return self._runner is not None

    @property
    def scheme(self) -> str:
        """`https` when served with TLS, else `http`."""
        return "https" if self.ssl_context is not None else "http"

    @property
    def base_url(self) -> str:
        """The device's root URL, e.g. http://127.0.0.20:80."""
        return f"{self.scheme}://{self.ip}:{self.port}"

    async def start(self, zeroconf: AsyncZeroconf | None = None) -> None:
        """Start serving on `ip:port` and, given a zeroconf instance, announce over mDNS."""
        if self._runner is not None:
            raise RuntimeError(f"{self.name} is already running on {self.ip}:{self.port}")
        await self._serve()
        self._zeroconf = zeroconf
        await self._register()
        _LOG.info("sim device %s (%s) listening on %s", self.name, type(self).__name__, self.base_url)

    async def stop(self) -> None:
        """Withdraw the mDNS announcements (goodbye packets), stop serving and the device's tasks."""
        await self._unregister()
        await self._shutdown_server()
        await self.cancel_tasks()

    async def move_to(self, new_ip: str) -> None:
        """Serve from `new_ip` (same port if free) and re-announce; browsers see Removed, then Added."""
        was_running = self._runner is not None
        await self._unregister()
        await self._shutdown_server()
        old_ip, self.ip = self.ip, new_ip
        if was_running:
            await self._serve()
            await self._register()
        _LOG.info("sim device %s moved from %s to %s", self.name, old_ip, new_ip)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run `coro` as a task owned by this device; cancelled by `stop()` and `cancel_tasks()`."""
        task = asyncio.create_task(coro, name=f"{self.device_id}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_tasks(self) -> None:
        """Cancel and await every task this device spawned."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def set_faults(
        self, *, latency: float | None = None, dead: bool | None = None, flapping: float | None = None
    ) -> None:
        """Set several fault knobs at once; None leaves a knob as it is."""
        if latency is not None:
            self.latency = max(0.0, latency)
        if dead is not None:
            self.dead = dead
        if flapping is not None:
            self.flapping = min(1.0, max(0.0, flapping))

    # ----------------------------------------------------------------- server
    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._fault_middleware])
        self.add_routes(app)
        # A short shutdown timeout: hung requests are released by _stopping anyway.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        self._stopping = asyncio.Event()
        try:
            port = await self._bind(runner, self.port)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = port

    async def _bind(self, runner: web.AppRunner, port: int) -> int:
        try:
            site = web.TCPSite(runner, self.ip, port, ssl_context=self.ssl_context)
            await site.start()
        except OSError as exc:
            # Low ports need root, and a moved device may find its old port taken: use any free port.
            if port != 0 and exc.errno in {errno.EACCES, errno.EPERM, errno.EADDRINUSE}:
                _LOG.warning("sim device %s cannot bind %s:%d (%s); using a free port", self.name, self.ip, port, exc)
                return await self._bind(runner, 0)
            raise
        return int(runner.addresses[0][1])

    async def _shutdown_server(self) -> None:
        runner, self._runner = self._runner, None
        if self._stopping is not None:
            self._stopping.set()
        if runner is not None:
            await runner.cleanup()

    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        if len(self.requests) > _MAX_RECORDED_REQUESTS:
            del self.requests[: _MAX_RECORDED_REQUESTS // 2]
        if self.dead:
            if self.dead_mode == "hang" and self._stopping is not None:
                # A hung device accepts the connection and never answers; released only on stop.
                await self._stopping.wait()
            return self._drop(request)
        if self.flapping > 0 and self._rng.random() < self.flapping:
            return self._drop(request)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        return await handler(request)

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        # Abort (RST) like a crashing device; the response below is never written.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=503)

    # ----------------------------------------------------------------- mDNS
    async def _register(self) -> None:
        if self._zeroconf is None:
            return
        for info in self.service_infos():
            # Our names are unique by construction (one device id each), so probing would only add ~1.5 s.
            task = await self._zeroconf.async_register_service(info, cooperating_responders=True)
            self._registered.append(info)
            self._announce_tasks.append(asyncio.ensure_future(task))

    async def _unregister(self) -> None:
        announce, self._announce_tasks = self._announce_tasks, []
        for task in announce:
            task.cancel()
        await asyncio.gather(*announce, return_exceptions=True)
        registered, self._registered = self._registered, []
        if self._zeroconf is None or not registered:
            return
        # The goodbyes must be fully sent before any re-registration, or a late goodbye
        # would erase the fresh records from the browsers' caches.
        goodbyes = [await self._zeroconf.async_unregister_service(info) for info in registered]
        await asyncio.gather(*goodbyes, return_exceptions=True)


def service_info(
    *,
    service_type: str,
    instance: str,
    ip: str,
    port: int,
    server: str,
    properties: dict[str, str | None],
) -> ServiceInfo:
    """Build a ServiceInfo for `instance` of `service_type` at ip:port with the given TXT properties."""
    return ServiceInfo(
        service_type,
        f"{instance}.{service_type}",
        port=port,
        properties=dict(properties),
        server=server,
        parsed_addresses=[ip],
    )
