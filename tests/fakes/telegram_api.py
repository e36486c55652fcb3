"""A Telegram Bot API on loopback: the real `python-telegram-bot` client talks to it as to api.telegram.org.

It speaks the wire protocol of https://core.telegram.org/bots/api: `POST /bot<token>/<method>` with a
form-encoded body (values JSON-encoded) or a multipart body (uploads), answered with
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": ..., "description": ..., "parameters": ...}`;
files at `GET /file/bot<token>/<file_path>`. getUpdates long-polls with offset semantics (an offset confirms
every update below it; a newer getUpdates ends an older one with 409). Tests script it: owners write
(`message`), updates are delivered again (`redeliver`), 429 with retry_after and 5xx are injected
(`fail_next`), outages last a configurable time (`outage`), chats block the bot (`block`); everything
sent is recorded in order (`sent`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
TOKEN = "123456789:AAFakeTokenForTestsOnlyxxxxxxxxxxxxx"
BOT_ID = 123456789
BOT_USERNAME = "claw_test_bot"
CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096


@dataclass
class SentMessage:
    """One message the bot sent (sendMessage or sendPhoto), as the Bot API accepted it."""

    method: str
    chat_id: int
    message_id: int
    text: str = ""  # the text, or the photo's caption
    photo: bytes = b""
    photo_type: str = ""
    at: float = field(default_factory=time.monotonic)
    params: JSON = field(default_factory=dict)


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1


class FakeTelegram:
    """A Bot API server on 127.0.0.1 for one bot; records every request and every message sent."""

    def __init__(self, token: str = TOKEN, *, bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.bot_id = bot_id
        self.username = username
        self.url = ""
        self.sent: list[SentMessage] = []
        self.calls: list[tuple[str, float]] = []  # (method, monotonic time) of every request, failed or not
        self.refused: list[tuple[str, int, float]] = []  # (method, status, time) of every injected failure
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self.webhook_deleted = 0
        self.chat_actions: list[tuple[int, str]] = []
        self._updates: list[JSON] = []  # not yet confirmed, in update_id order
        self._history: dict[int, JSON] = {}  # every update ever made, for redelivery
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._failures: dict[str, list[Failure]] = {}
        self._blocked: set[int] = set()
        self._outage_until = 0.0
        self._outage_status = 502
        self._arrived = asyncio.Event()
        self._poll_generation = 0
        self._runner: web.AppRunner | None = None
        self.file_gate = asyncio.Event()  # cleared: file downloads wait (a slow download, held by a test)
        self.file_gate.set()
        self.files_served = 0
        self.answer_delay = 0.0  # seconds a sent message waits before its answer (taken, not yet confirmed)

    # --- lifetime --------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        self._poll_generation += 1
        self._arrived.set()  # long polls return at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- scripting -------------------------------------------------------------------------------

    def message(
        self,
        user_id: int,
        text: str = "",
        *,
        first_name: str = "Sam",
        photo: bytes | None = None,
        caption: str = "",
        voice: bool = False,
        chat_id: int | None = None,
        chat_type: str = "private",
        forwarded_from: str = "",
        via_bot: str = "",
    ) -> int:
        """Someone writes to the bot; returns the update_id of the update getUpdates will deliver.

        `forwarded_from`: the message is a forward of that person's (a hidden user's) message;
        `via_bot`: it was sent through that inline bot (@username).
        """
        sender = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: JSON = {"id": chat_id if chat_id is not None else user_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = "A group"
        message: JSON = {"message_id": next(self._message_ids), "from": sender, "chat": chat, "date": int(time.time())}
        if text:
            message["text"] = text
        if photo is not None:
            message["photo"] = self._photo_sizes(photo, "photos")
            if caption:
                message["caption"] = caption
        if forwarded_from:
            origin = {"type": "hidden_user", "date": int(time.time()) - 60, "sender_user_name": forwarded_from}
            message["forward_origin"] = origin
        if via_bot:
            message["via_bot"] = {"id": 777, "is_bot": True, "first_name": via_bot, "username": via_bot}
        if voice:
            file_id = self._store_file(b"OggS" + bytes(200), "voice")
            message["voice"] = {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "duration": 2,
                "mime_type": "audio/ogg",
                "file_size": 204,
            }
        update_id = next(self._update_ids)
        update = {"update_id": update_id, "message": message}
        self._history[update_id] = update
        self._updates.append(update)
        self._arrived.set()
        return update_id

    def redeliver(self, update_id: int) -> None:
        """Deliver an update again (as Telegram does when its confirmation never arrived)."""
        self._updates.append(self._history[update_id])
        self._updates.sort(key=lambda u: int(u["update_id"]))
        self._arrived.set()

    def fail_next(
        self, method: str, status: int = 500, *, retry_after: int | None = None, description: str = "", times: int = 1
    ) -> None:
        """The next `times` calls of `method` fail with `status` (429 carries retry_after)."""
        default = {429: f"Too Many Requests: retry after {retry_after}", 403: "Forbidden"}.get(
            status, "Internal Server Error"
        )
        failure = Failure(status, description or default, retry_after, times)
        self._failures.setdefault(method.lower(), []).append(failure)

    def outage(self, seconds: float, status: int = 502) -> None:
        """For `seconds` from now every call answers `status` (Telegram's gateway while it is down)."""
        self._outage_until = time.monotonic() + seconds
        self._outage_status = status

    def end_outage(self) -> None:
        self._outage_until = 0.0

    @property
    def down(self) -> bool:
        return time.monotonic() < self._outage_until

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sends to them answer 403."""
        self._blocked.add(chat_id)

    def texts(self, chat_id: int) -> list[str]:
        """Texts and captions sent to `chat_id`, in order."""
        return [m.text for m in self.sent if m.chat_id == chat_id]

    def photos(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id and m.method == "sendphoto"]

    def pending(self) -> list[int]:
        """Update ids not yet confirmed by an offset."""
        return [int(u["update_id"]) for u in self._updates]

    # --- the API ---------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"].lower()
        now = time.monotonic()
        self.calls.append((method, now))
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params = await _params(request)
        if now < self._outage_until:
            self.refused.append((method, self._outage_status, now))
            return _error(self._outage_status, "Bad Gateway")
        queued = self._failures.get(method)
        if queued:
            failure = queued[0]
            failure.times -= 1
            if failure.times <= 0:
                queued.pop(0)
            self.refused.append((method, failure.status, now))
            extra = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
            return _error(failure.status, failure.description, extra)
        handler = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
        }.get(method)
        if handler is None:
            return _error(404, "Not Found")
        return await handler(params)

    async def _get_me(self, _: JSON) -> web.Response:
        return _ok(
            {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "Claw",
                "username": self.username,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )

    async def _delete_webhook(self, _: JSON) -> web.Response:
        self.webhook_deleted += 1
        return _ok(True)

    async def _get_updates(self, params: JSON) -> web.Response:
        offset = _int(params.get("offset"), 0)
        limit = max(1, min(_int(params.get("limit"), 100), 100))
        timeout = max(0, _int(params.get("timeout"), 0))
        if offset:
            self._updates = [u for u in self._updates if int(u["update_id"]) >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._arrived.set()  # an older poll still waiting ends with 409
        deadline = time.monotonic() + timeout
        while not self._updates and time.monotonic() < deadline:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
            if generation != self._poll_generation:
                return _error(409, "Conflict: terminated by other getUpdates request")
            if self.down:
                return _error(self._outage_status, "Bad Gateway")
        return _ok(self._updates[:limit])

    async def _send_message(self, params: JSON) -> web.Response:
        chat_id = _int(params.get("chat_id"), 0)
        text = str(params.get("text", ""))
        if (refused := self._refuse(chat_id)) is not None:
            return refused
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            return _error(400, "Bad Request: message is too long")
        sent = SentMessage("sendmessage", chat_id, next(self._message_ids), text=text, params=params)
        self.sent.append(sent)
        await asyncio.sleep(self.answer_delay)
        return _ok(self._message(sent, {"text": text}))

    async def _send_photo(self, params: JSON) -> web.Response:
        chat_id = _int(params.get("chat_id"), 0)
        caption = str(params.get("caption", ""))
        if (refused := self._refuse(chat_id)) is not None:
            return refused
        photo = params.get("photo")
        if not isinstance(photo, _Upload) or not photo.data:
            return _error(400, "Bad Request: there is no photo in the request")
        if len(caption) > CAPTION_LIMIT:
            return _error(400, "Bad Request: message caption is too long")
        sent = SentMessage(
            "sendphoto", chat_id, next(self._message_ids), text=caption, photo=photo.data, photo_type=photo.content_type
        )
        self.sent.append(sent)
        extra: JSON = {"photo": self._photo_sizes(photo.data, "sent")}
        if caption:
            extra["caption"] = caption
        return _ok(self._message(sent, extra))

    async def _send_chat_action(self, params: JSON) -> web.Response:
        self.chat_actions.append((_int(params.get("chat_id"), 0), str(params.get("action", ""))))
        return _ok(True)

    async def _get_file(self, params: JSON) -> web.Response:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return _ok({"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data), "file_path": path})

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        await self.file_gate.wait()
        for stored_path, data in self.files.values():
            if stored_path == path:
                self.files_served += 1
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404)

    def _refuse(self, chat_id: int) -> web.Response | None:
        if not chat_id:
            return _error(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        return None

    def _message(self, sent: SentMessage, extra: JSON) -> JSON:
        bot = {"id": self.bot_id, "is_bot": True, "first_name": "Claw", "username": self.username}
        chat = {"id": sent.chat_id, "type": "private", "first_name": "Owner"}
        return {"message_id": sent.message_id, "from": bot, "chat": chat, "date": int(time.time()), **extra}

    def _store_file(self, data: bytes, folder: str) -> str:
        number = next(self._file_ids)
        file_id = f"F{number:06d}"
        self.files[file_id] = (f"{folder}/file_{number}", data)
        return file_id

    def _photo_sizes(self, data: bytes, folder: str) -> list[JSON]:
        """Telegram offers every photo in several sizes; the last is the largest."""
        small = self._store_file(data[: max(1, len(data) // 4)], folder)
        large = self._store_file(data, folder)
        return [
            {"file_id": small, "file_unique_id": f"u{small}", "width": 90, "height": 90, "file_size": len(data) // 4},
            {"file_id": large, "file_unique_id": f"u{large}", "width": 640, "height": 360, "file_size": len(data)},
        ]


@dataclass(frozen=True, slots=True)
class _Upload:
    filename: str
    content_type: str
    data: bytes


async def _params(request: web.Request) -> JSON:
    """The call's parameters: query, form or multipart (values JSON-decoded where they are JSON), or JSON."""
    params: JSON = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params
    if request.body_exists:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = value
            else:  # a multipart file part
                params[key] = _Upload(value.filename, value.content_type, value.file.read())
    return params


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: JSON | None = None) -> web.Response:
    body: JSON = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
