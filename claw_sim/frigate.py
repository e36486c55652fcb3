"""A simulated Frigate: its HTTP API's snapshots on loopback, and its review/event messages on the MQTT broker."""

from __future__ import annotations

import asyncio
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
        self.requested: list[str] = []  # every request's raw path and query, whatever it asked for
        self.gate = asyncio.Event()  # cleared: snapshot answers wait (tests hold downloads in flight)
        self.gate.set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._log])
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

    @web.middleware
    async def _log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requested.append(request.raw_path)
        response: web.StreamResponse = await handler(request)
        return response

    async def _version(self, _: web.Request) -> web.Response:
        return web.Response(text="0.14.1-sim")

    async def _snapshot(self, request: web.Request) -> web.Response:
        event_id = request.match_info["id"]
        picture = self.snapshots.get(event_id)
        if picture is None:
            return web.json_response({"success": False, "message": "Event not found"}, status=404)
        self.fetched.append(event_id)
        await self.gate.wait()
        return web.Response(body=picture, content_type="image/jpeg")

    async def publish(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """Publish raw messages ((sub-topic, body)) as anyone on the broker could: hostile ones included."""
        async with aiomqtt.Client(
            self.broker_host, self.broker_port, identifier=f"sim-frigate-{secrets.token_hex(2)}", bind_address=self.host
        ) as client:
            for topic, body in messages:
                await client.publish(f"{self.prefix}/{topic}", json.dumps(body), qos=1)

    @staticmethod
    def review(review_id: str, camera: str, event_id: str, label: str = "person") -> dict[str, Any]:
        """A 'new' review message as Frigate 0.14+ publishes it (ids and names as given, unchecked)."""
        after = {
            "id": review_id,
            "camera": camera,
            "start_time": time.time(),
            "end_time": None,
            "severity": "alert",
            "data": {"detections": [event_id], "objects": [label], "sub_labels": [], "zones": [], "audio": []},
        }
        return {"type": "new", "before": after, "after": after}

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
