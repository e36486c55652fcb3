"""A simulated Frigate: its HTTP API's snapshots on loopback, and its review/event messages on the MQTT broker."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import aiomqtt
from aiohttp import web


class SimFrigate:
    """`detect()` does what Frigate does when it sees an object: a snapshot, then new/update/end messages."""

    def __init__(self, broker_host: str, broker_port: int, *, host: str = "127.0.0.1", prefix: str = "frigate") -> None:
        self.broker_host, self.broker_port, self.host, self.prefix = broker_host, broker_port, host, prefix
        self.snapshots: dict[str, bytes] = {}
        self.fetched: list[str] = []  # event ids whose snapshot was downloaded
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/events/{id}/snapshot.jpg", self._snapshot)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _version(self, _: web.Request) -> web.Response:
        return web.Response(text="0.14.1-sim")

    async def _snapshot(self, request: web.Request) -> web.Response:
        event_id = request.match_info["id"]
        picture = self.snapshots.get(event_id)
        if picture is None:
            return web.json_response({"success": False, "message": "Event not found"}, status=404)
        self.fetched.append(event_id)
        return web.Response(body=picture, content_type="image/jpeg")

    async def detect(self, camera: str, label: str, picture: bytes, *, updates: int = 2) -> str:
        """Publish a review item's life (new, updates, end) on `<prefix>/reviews`, and the detection's on
        `<prefix>/events`; returns the review id."""
        start = time.time()
        event_id = f"{start:.6f}-{secrets.token_hex(3)}"
        review_id = f"{start:.6f}-{secrets.token_hex(3)}"
        self.snapshots[event_id] = picture
        event: dict[str, Any] = {
            "id": event_id,
            "camera": camera,
            "label": label,
            "top_score": 0.86,
            "start_time": start,
            "end_time": None,
            "has_snapshot": True,
            "has_clip": True,
        }
        review: dict[str, Any] = {
            "id": review_id,
            "camera": camera,
            "start_time": start,
            "end_time": None,
            "severity": "alert",
            "thumb_path": f"/media/frigate/clips/review/thumb-{camera}-{review_id}.webp",
            "data": {"detections": [event_id], "objects": [label], "sub_labels": [], "zones": [], "audio": []},
        }
        async with aiomqtt.Client(
            self.broker_host, self.broker_port, identifier=f"sim-frigate-{secrets.token_hex(2)}", bind_address=self.host
        ) as client:
            steps = ["new"] + ["update"] * updates + ["end"]
            before: dict[str, Any] | None = None
            for step in steps:
                if step == "end":
                    review = {**review, "end_time": time.time()}
                    event = {**event, "end_time": time.time()}
                for topic, after in ((f"{self.prefix}/reviews", review), (f"{self.prefix}/events", event)):
                    body = {"type": step, "before": before or after, "after": after}
                    await client.publish(topic, json.dumps(body), qos=1)
                before = review
        return review_id
