"""A simulated IP camera: plays video files in a loop as an MJPEG stream and JPEG snapshots over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
from aiohttp import web

log = logging.getLogger(__name__)

BOUNDARY = "frame"


def avi_jpeg_chunks(path: Path) -> list[tuple[int, int]]:
    """(offset, size) of every frame of an MJPG .avi file, found by walking its RIFF chunks."""
    found: list[tuple[int, int]] = []
    with path.open("rb") as f:
        end = f.seek(0, 2)

        def walk(pos: int, stop: int, in_movi: bool) -> None:
            while pos + 8 <= stop:
                f.seek(pos)
                head = f.read(12)
                kind, size = head[:4], int.from_bytes(head[4:8], "little")
                if kind in (b"RIFF", b"LIST"):
                    walk(pos + 12, min(stop, pos + 8 + size), in_movi or head[8:12] == b"movi")
                elif in_movi and kind[2:4] in (b"dc", b"db") and size > 0:
                    found.append((pos + 8, size))
                pos += 8 + size + (size & 1)  # chunks are padded to an even length

        walk(0, end, False)
    return found


class _AviFile:
    """Frames of an MJPG .avi file, read from the file as the JPEGs they already are."""

    def __init__(self, path: Path, chunks: list[tuple[int, int]]) -> None:
        self._path, self._chunks, self._next = path, chunks, 0

    def read(self) -> bytes | None:
        """The next frame's JPEG; None at the end (and the next read starts again)."""
        if self._next >= len(self._chunks):
            self._next = 0
            return None
        offset, size = self._chunks[self._next]
        self._next += 1
        with self._path.open("rb") as f:
            f.seek(offset)
            return f.read(size)

    def close(self) -> None:
        """Nothing to release."""


class _VideoFile:
    """Frames of any other video file, decoded and JPEG-encoded one at a time."""

    def __init__(self, path: Path, quality: int) -> None:
        self._cap = cv2.VideoCapture(str(path))
        self._quality = quality
        if not self._cap.isOpened() or not self._cap.read()[0]:
            self._cap.release()
            raise ValueError(f"sim camera: cannot read video {path}")
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def read(self) -> bytes | None:
        """The next frame's JPEG; None at the end (rewound: seeking, unlike opening, takes no lock)."""
        ok, frame = self._cap.read()
        if not ok:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            return None
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self._quality])
        return bytes(data) if ok else None

    def close(self) -> None:
        self._cap.release()


class _Frames:
    """The source files played one after another, in a loop.

    Every OpenCV capture is opened in `load`, never while playing: OpenCV serialises FFmpeg opens
    process-wide, so a camera opening a file while a client's cv2.VideoCapture was opening the
    camera's own stream would wait for that client, which waits for a frame, until it times out.
    """

    def __init__(self, sources: Sequence[Path], quality: int) -> None:
        self._sources = list(sources)
        self._quality = quality
        self._files: list[_AviFile | _VideoFile] = []
        self._current = 0
        self._lock = threading.Lock()  # a cancelled player's read may still be running in its thread
        self.fps = 0.0

    def load(self) -> None:
        self.close()
        for path in self._sources:
            chunks = avi_jpeg_chunks(path) if path.suffix.lower() == ".avi" and path.is_file() else []
            if chunks and self._is_jpeg(path, chunks[0]):
                self._files.append(_AviFile(path, chunks))
            else:
                self._files.append(_VideoFile(path, self._quality))
        cap = cv2.VideoCapture(str(self._sources[0]))
        self.fps = float(cap.get(cv2.CAP_PROP_FPS)) if cap.isOpened() else 0.0
        cap.release()

    def next_jpeg(self) -> bytes:
        """The next frame (blocking: file read, maybe decode and encode)."""
        with self._lock:
            for _ in range(2 * len(self._files) + 1):
                data = self._files[self._current].read()
                if data is not None:
                    return data
                self._current = (self._current + 1) % len(self._files)
        raise RuntimeError(f"sim camera: no frames in {[str(p) for p in self._sources]}")

    def close(self) -> None:
        with self._lock:
            for file in self._files:
                file.close()
            self._files, self._current = [], 0

    @staticmethod
    def _is_jpeg(path: Path, chunk: tuple[int, int]) -> bool:
        with path.open("rb") as f:
            f.seek(chunk[0])
            return f.read(2) == b"\xff\xd8"


class SimCamera:
    """Serves `GET /stream.mjpg` (multipart/x-mixed-replace) and `GET /snapshot.jpg` on ip:port."""

    def __init__(
        self,
        name: str,
        ip: str,
        port: int,
        source: Path | Sequence[Path],
        fps: float | None = None,
        *,
        jpeg_quality: int = 85,
    ) -> None:
        if not ipaddress.ip_address(ip).is_loopback:
            raise ValueError(f"sim camera {name}: {ip} is not a loopback address; simulations stay on 127/8")
        self.name = name
        self.ip = ip
        self.port = port
        self._sources = [source] if isinstance(source, Path) else list(source)
        if not self._sources:
            raise ValueError(f"sim camera {name}: no video files to play")
        self._fps = fps
        self._frames = _Frames(self._sources, jpeg_quality)
        self._runner: web.AppRunner | None = None
        self._player: asyncio.Task[None] | None = None
        self._latest: bytes | None = None
        self._seq = 0  # number of the latest frame
        self._fresh = asyncio.Event()  # never set while current: _wake() sets it and puts a new one in
        self._dead = False
        self._closing = False
        self.frames_played = 0  # frames taken from the video files
        self.frames_served = 0  # frames sent to stream clients, plus snapshots

    @property
    def stream_url(self) -> str:
        """What a client passes to cv2.VideoCapture."""
        return f"http://{self.ip}:{self.port}/stream.mjpg"

    @property
    def snapshot_url(self) -> str:
        """A single current JPEG."""
        return f"http://{self.ip}:{self.port}/snapshot.jpg"

    @property
    def dead(self) -> bool:
        """A dead camera answers 503 and ends open streams (set it from the event loop's thread)."""
        return self._dead

    @dead.setter
    def dead(self, value: bool) -> None:
        self._dead = value
        if value:
            self._wake()  # let open streams notice at once

    @property
    def fps(self) -> float:
        """Frames per second played (the first file's own rate unless given)."""
        return self._fps or 5.0

    async def start(self) -> None:
        """Open the files, start playing them and listen on ip:port."""
        self._closing = False
        await asyncio.to_thread(self._frames.load)
        if self._fps is None:
            self._fps = self._frames.fps or 5.0
        app = web.Application()
        app.router.add_get("/stream.mjpg", self._stream)
        app.router.add_get("/snapshot.jpg", self._snapshot)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.ip, self.port).start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        if self.port == 0:  # an ephemeral port was asked for: report the one bound
            self.port = int(self._runner.addresses[0][1])
        self._player = asyncio.create_task(self._play(), name=f"sim-camera-{self.name}")
        log.info("sim camera %s: %s at %.1f fps on %s", self.name, self._sources[0].name, self.fps, self.stream_url)

    async def stop(self) -> None:
        """End the streams, stop playing and close the listener."""
        self._closing = True
        self._wake()
        if self._player is not None:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._player
            self._player = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await asyncio.to_thread(self._frames.close)

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            self._latest = await asyncio.to_thread(self._frames.next_jpeg)
            self._seq += 1
            self.frames_played += 1
            self._wake()
            due += 1.0 / self.fps
            delay = due - loop.time()
            if delay < 0:
                due = loop.time()  # fell behind: carry on from now rather than burst
            await asyncio.sleep(max(0.0, delay))

    def _wake(self) -> None:
        fresh, self._fresh = self._fresh, asyncio.Event()
        fresh.set()

    async def _next_frame(self, seen: int) -> tuple[bytes, int] | None:
        """Wait for a frame newer than number `seen`; None when the camera is dead or stopping."""
        while self._seq == seen or self._latest is None:
            if self._dead or self._closing:
                return None
            await self._fresh.wait()
        if self._dead or self._closing:
            return None
        return self._latest, self._seq

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if self._dead:
            raise web.HTTPServiceUnavailable(text="camera offline")
        response = web.StreamResponse(
            headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        seen = self._seq - 1 if self._latest is not None else self._seq  # start with the current frame
        with contextlib.suppress(ConnectionError):
            while (got := await self._next_frame(seen)) is not None:
                jpeg, seen = got
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                await response.write(head.encode() + jpeg + b"\r\n")
                self.frames_served += 1
        return response

    async def _snapshot(self, request: web.Request) -> web.Response:
        if self._dead:
            raise web.HTTPServiceUnavailable(text="camera offline")
        got = (self._latest, self._seq) if self._latest is not None else await self._next_frame(self._seq)
        if got is None or got[0] is None:
            raise web.HTTPServiceUnavailable(text="camera offline")
        jpeg = got[0]
        self.frames_served += 1
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-cache"})
