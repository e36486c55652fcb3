"""Camera sources: one thread per stream reads frames (RTSP, MJPEG, JPEG snapshots, files, USB) and samples them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Literal, TypeVar
from urllib.parse import quote, urlsplit

import cv2
import numpy as np
import numpy.typing as npt

from claw.core.backoff import DEFAULT_BACKOFF, Backoff
from claw.core.secrets import secret

log = logging.getLogger(__name__)

Frame = npt.NDArray[np.uint8]
Kind = Literal["rtsp", "mjpeg", "snapshot", "file", "usb"]
T = TypeVar("T")

_STILL_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def kind_of(url: str) -> Kind:
    """How a camera URL is read: a polled still, an FFmpeg stream, a file or a USB device."""
    if url.startswith("usb:"):
        return "usb"
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("rtsp", "rtsps", "rtmp"):
        return "rtsp"
    if scheme in ("http", "https"):
        parts = urlsplit(url)
        path, query = parts.path.lower(), parts.query.lower()
        # A URL that names a picture, or a CGI that says it makes one (…/snapshot.cgi, api.cgi?cmd=Snap,
        # …/channels/101/picture), is polled as a still.
        still = path.endswith(_STILL_SUFFIXES) or "snap" in path or "snap" in query or path.endswith("/picture")
        return "snapshot" if still else "mjpeg"
    return "file"


def with_password(url: str, camera: str) -> str:
    """A URL naming a user but no password gets the camera's secret (secrets never live in the config file).

    The secret is `camera_<name>_password` (systemd credential) or `CLAW_CAMERA_<NAME>_PASSWORD`.
    """
    parts = urlsplit(url)
    if not parts.username or parts.password is not None or not parts.hostname:
        return url
    key = re.sub(r"[^a-z0-9]+", "_", camera.lower()).strip("_")
    password = secret(f"camera_{key}_password", f"CLAW_CAMERA_{key.upper()}_PASSWORD")
    if not password:
        return url
    netloc = f"{parts.username}:{quote(password, safe='')}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def redact(url: str) -> str:
    """The URL without a password, fit for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


class Capture:
    """One open connection to a camera: `read()` gives the next frame or None when the source failed."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.kind = kind_of(url)
        self.timeout = timeout
        self.file_fps = 0.0
        self._cap: cv2.VideoCapture | None = None
        if self.kind == "snapshot":
            return
        if self.kind == "usb":
            index = url.removeprefix("usb:")
            if not index.isdigit():
                raise OSError(f'"{url}" is not a USB camera; write usb:0, usb:1 ...')
            cap = cv2.VideoCapture(int(index), cv2.CAP_V4L2)
        elif self.kind == "file":
            path = Path(url.removeprefix("file://")).expanduser()
            if not path.is_file():
                raise OSError(f"no video file at {path}")
            cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        else:
            if self.kind == "rtsp":
                # TCP survives lossy Wi-Fi where UDP smears frames; users can still override it.
                os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
            ms = int(timeout * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms, cv2.CAP_PROP_N_THREADS, 1]
            cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise OSError(f"cannot open {redact(url)}")
        self._cap = cap
        if self.kind == "file":
            self.file_fps = float(cap.get(cv2.CAP_PROP_FPS)) or 0.0

    def read(self) -> Frame | None:
        """The next frame (blocking up to the timeout); None when the source ended or failed."""
        if self._cap is None:
            return self._poll()
        ok, frame = self._cap.read()
        if not ok or frame is None:
            return None
        return np.asarray(frame, np.uint8)

    def skip(self) -> bool:
        """Pass over one frame without converting it (files read faster than they are sampled)."""
        return self._cap is not None and bool(self._cap.grab())

    def rewind(self) -> bool:
        """Start a file over; False for anything that is not a file."""
        if self._cap is None or self.kind != "file":
            return False
        return bool(self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0))

    def _poll(self) -> Frame | None:
        request = urllib.request.Request(self.url, headers={"Cache-Control": "no-cache"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(20 * 1024 * 1024)
        except (OSError, urllib.error.URLError, ValueError):
            return None
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        return None if image is None else np.asarray(image, np.uint8)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class Reader:
    """Reads one stream in its own thread: reconnects with backoff and hands on `fps` frames a second.

    `on_frame(ts, frame)` runs in the reader's thread (keep it short); `latest` holds the last frame.
    A file plays at `fps` in a loop, as a camera would; a live stream is read as fast as it comes and
    sampled, because inter-frame codecs must decode every frame anyway.
    """

    def __init__(
        self,
        name: str,
        url: str,
        fps: float,
        on_frame: Callable[[float, Frame], None] | None = None,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        timeout: float = 5.0,
    ) -> None:
        self.name, self.url, self.fps = name, url, fps
        self.on_frame = on_frame
        self.backoff = backoff
        self.timeout = timeout
        self.latest: tuple[float, Frame] | None = None
        self.last_frame = 0.0  # wall-clock time of the last frame read (0: none yet)
        self.frames = 0  # frames handed on
        self.connects = 0  # successful opens
        self.failed_frames = 0  # frames whose processing raised
        self.problem = ""  # why the last attempt failed, for status and logs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.alive:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"camera {self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the thread to end and wait up to `timeout` s (blocking); False if it is still blocked in a read."""
        self.request_stop()
        return self.join(timeout)

    def request_stop(self) -> None:
        """Ask the thread to end; returns at once."""
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` s for a stopped thread (blocking); False if it is still blocked in a read."""
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            # A daemon thread: it ends after its read times out, or with the process.
            log.info("camera %s: reader still in a read; it ends by itself within %.0f s", self.name, self.timeout)
            return False
        return True

    def _run(self) -> None:
        # The detector works on ~100-row images where OpenCV's thread pool only adds overhead.
        cv2.setNumThreads(1)
        delay = self.backoff.base
        while not self._stop.is_set():
            try:
                capture = Capture(self.url, timeout=self.timeout)
            except OSError as exc:
                self._failed(str(exc))
            else:
                self.connects += 1
                try:
                    if self._pump(capture):
                        delay = self.backoff.base  # it delivered: the next outage starts the backoff over
                finally:
                    capture.close()
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, self.backoff.cap)

    def _failed(self, problem: str) -> None:
        if problem != self.problem:
            log.debug("camera %s: %s", self.name, problem)
        self.problem = problem

    def _pump(self, capture: Capture) -> bool:
        """Read until the source fails or stop is asked; True if any frame came."""
        interval = 1.0 / self.fps
        step = max(1, round(capture.file_fps / self.fps)) if capture.file_fps else 1
        due = time.monotonic()
        got = False
        while not self._stop.is_set():
            if capture.kind in ("file", "snapshot"):
                # Files and stills come as fast as asked: pace them at the sampling rate.
                wait = due - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
            for _ in range(step - 1):
                capture.skip()
            frame = capture.read()
            if frame is None:
                if capture.kind == "file" and got and capture.rewind():
                    continue  # a file camera loops
                self._failed("stopped delivering pictures" if got else f"sent no picture from {redact(self.url)}")
                return got
            got = True
            self.problem = ""
            now_mono, ts = time.monotonic(), time.time()
            self.last_frame = ts
            self.latest = (ts, frame)
            if now_mono + 0.25 * interval < due:
                continue  # a live stream faster than the sampling rate: skip this one
            due += interval
            if due < now_mono - interval:
                due = now_mono + interval  # fell behind: carry on from now rather than burst
            self.frames += 1
            if self.on_frame is not None:
                try:
                    self.on_frame(ts, frame)
                except Exception:
                    self.failed_frames += 1
                    if self.failed_frames == 1:  # the first in full; the rest would repeat it 5 times a second
                        log.exception("camera %s: processing a frame failed", self.name)
        return got


class Handoff(Generic[T]):
    """Things from a thread into the event loop through a bounded queue that drops the oldest."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[T] = asyncio.Queue(size)
        self.dropped = 0

    def put(self, item: T) -> None:
        """From any thread; never blocks."""
        with contextlib.suppress(RuntimeError):  # the loop is closing: nobody will read it
            self._loop.call_soon_threadsafe(self._put, item)

    def _put(self, item: T) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)

    async def get(self) -> T:
        return await self._queue.get()

    def qsize(self) -> int:
        return self._queue.qsize()
