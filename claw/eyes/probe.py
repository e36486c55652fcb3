"""`claw doctor`'s camera check: does this URL deliver a picture, and if not, what is wrong in plain words."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from claw.eyes.reader import Capture, kind_of, redact


def probe_camera(url: str, timeout: float) -> str | None:
    """None when `url` delivers a frame within `timeout` seconds; else what is wrong (blocking: run in a thread)."""
    kind = kind_of(url)
    shown = redact(url)
    if kind == "file":
        path = Path(url.removeprefix("file://")).expanduser()
        if not path.is_file():
            return f"no video file at {path}"
    elif kind == "usb":
        index = url.removeprefix("usb:")
        if not index.isdigit():
            return f'"{url}" is not a USB camera; write usb:0, usb:1 ...'
        if not Path(f"/dev/video{index}").exists():
            return f"no USB camera /dev/video{index} (is it plugged in, and may Claw's user read it?)"
    else:
        problem = _reach(url, kind, timeout)
        if problem:
            return problem
    try:
        capture = Capture(url, timeout=timeout)
    except OSError as exc:
        return f"{exc} (is the path right, and is it a camera stream?)"
    try:
        frame = capture.read()
    finally:
        capture.close()
    if frame is None:
        return f"{shown} answers but sent no picture within {timeout:.0f} s"
    return None


def _reach(url: str, kind: str, timeout: float) -> str | None:
    """A network camera's address, port and (for HTTP) answer, checked before OpenCV's vaguer errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    default = {"rtsp": 554, "rtsps": 322, "rtmp": 1935, "https": 443}.get(parts.scheme.lower(), 80)
    try:
        port = parts.port or default
    except ValueError:
        return f"{redact(url)} has a bad port number"
    if not host:
        return f"{redact(url)} names no host"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror:
        return f"cannot find the host {host} (a typo, or is it on another network?)"
    except TimeoutError:
        return f"{host}:{port} does not answer within {timeout:.0f} s (wrong address, or the camera is off)"
    except OSError as exc:
        return f"cannot connect to {host}:{port} ({exc.strerror or exc})"
    if kind not in ("snapshot", "mjpeg"):
        return None
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            kind_said = response.headers.get_content_type()
            if not kind_said.startswith(("image/", "multipart/", "video/", "application/octet-stream")):
                return f"{redact(url)} answers with {kind_said}, not pictures (is it the camera's web page?)"
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return (
                f"{redact(url)} refuses access (HTTP {exc.code}): name the user in the URL (http://admin@…) and give "
                "the password as CLAW_CAMERA_<NAME>_PASSWORD"
            )
        return f"{redact(url)} answers HTTP {exc.code} ({exc.reason})"
    except (OSError, urllib.error.URLError) as exc:
        return f"{redact(url)} did not answer properly ({exc})"
    return None
