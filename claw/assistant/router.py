"""Routes each inbound message: codes and commands, then the grammar's one understanding path, then the brain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from claw.assistant.answer import Answer
from claw.assistant.loop import Brain
from claw.assistant.memory import FRESH_START
from claw.assistant.speech import say_pending
from claw.assistant.speech.small_talk import say_offline, say_small_talk
from claw.assistant.toolbox import CURRENT_REQUEST
from claw.core.authority import may, refusal
from claw.core.bus import Bus, Inbound, Outbound
from claw.core.errors import DiskFull, ModelMissing, ModelOffline, ModelUnavailable
from claw.core.request import Request
from claw.core.safety import Guard
from claw.core.store import Store
from claw.core.store import audit as audit_db
from claw.core.store import facts as facts_db
from claw.core.store import messages as log_db
from claw.core.store.messages import Answering, Message
from claw.core.untrusted import forwarded

log = logging.getLogger(__name__)


class Understands(Protocol):
    """The one path that answers without the model: the grammar claims a message and its handler acts."""

    async def answer(self, inbound: Inbound, turn: Request) -> Answer | None:
        """Return an answer, or None: the message is not understood completely, so the model reads it."""


MAX_TRIES = 10  # turns started on one message before it is given up (a message that crashes us must not loop)
OFFLINE_HINT = say_small_talk("offline_hint", "en")


def offline_reply(near: Sequence[str] = (), language: str = "en") -> str:
    """The one reply while the model is offline, first time or tenth: what failed, close names if any, what works."""
    return say_offline(near, language)


# What each chat command does, for /help (which lists every command registered, these or not).
COMMAND_HELP = {
    "/new": "starts a fresh conversation",
    "/compact": "folds it into my summary",
    "/status": "tells how I am and what I remember",
    "/help": "shows this",
    "/jobs": "lists the scheduled jobs (/jobs pause, resume or delete ID changes one)",
}
SHOWN_FACTS = 5  # /status lists this many facts, newest first


SUPERSEDED = "I set {quoted} aside: you sent something newer before I had an answer."


@dataclass(frozen=True, slots=True)
class _ToModel:
    """A message that only the model can answer, with its request."""

    request: Request


@dataclass(slots=True)
class _Thinking:
    """The model turn running for one message of a conversation."""

    inbound: Inbound
    started: float = 0.0  # monotonic
    waiting: bool = False  # it waits for the conversation's earlier model turn to finish
    task: asyncio.Task[None] | None = None
    acting: bool = False  # it has begun acting on the house: let it finish rather than supersede it
    answered: bool = False  # its answer is on the way out: too late to supersede
    superseded: bool = False
    prompted: asyncio.Event = field(default_factory=asyncio.Event)  # its prompt is built: later messages may follow


class Router:
    """Each conversation's messages are taken in order; a model turn runs beside them, so a plain command
    is answered while the model thinks, and a newer message for the model supersedes a turn not yet acting."""

    def __init__(self, bus: Bus, brain: Brain, store: Store, guard: Guard, *, ack_after: float = 8.0) -> None:
        self.bus, self.brain, self.store, self.guard = bus, brain, store, guard
        self.understanding: Understands | None = None  # set by the daemon: one path, so no order to get wrong
        self.ack_after = ack_after  # seconds before a slow turn gets "working on it"
        self.stale_after = ack_after  # seconds after which a newer message for the model supersedes a turn
        self._queues: dict[str, asyncio.Queue[Inbound]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._thinking: dict[str, _Thinking] = {}  # the latest model turn of each conversation
        self.commands: dict[str, Callable[[Inbound], Awaitable[str]]] = {
            "/new": self._cmd_new,
            "/compact": self._cmd_compact,
            "/status": self._cmd_status,
            "/help": self._cmd_help,
        }
        self.status_lines: list[Callable[[], Awaitable[str]]] = []
        self.session_listeners: list[Callable[[str], None]] = []  # told of /new: fast paths forget the context

    async def run(self) -> None:
        """Take messages off the bus forever (a supervised component)."""
        try:
            while True:
                inbound = await self.bus.inbound.get()
                queue = self._queues.setdefault(inbound.conversation, asyncio.Queue())
                await queue.put(inbound)
                worker = self._workers.get(inbound.conversation)
                if worker is None or worker.done():
                    self._workers[inbound.conversation] = asyncio.create_task(
                        self._work(inbound.conversation, queue), name=f"conversation {inbound.conversation}"
                    )
        finally:
            tasks = [*self._workers.values(), *(t.task for t in self._thinking.values() if t.task is not None)]
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _work(self, conversation: str, queue: asyncio.Queue[Inbound]) -> None:
        while True:
            try:
                inbound = await asyncio.wait_for(queue.get(), timeout=300)
            except TimeoutError:
                if queue.empty():  # idle conversations give their task back
                    return
                continue
            try:
                request, routed = await self._route(inbound)
                if isinstance(routed, _ToModel):
                    entry = self._hand_to_model(inbound, routed.request, request)
                    if not entry.waiting:  # the next message joins the history after this turn's prompt is built
                        prompted = asyncio.create_task(entry.prompted.wait())
                        assert entry.task is not None
                        await asyncio.wait({prompted, entry.task}, return_when=asyncio.FIRST_COMPLETED)
                        prompted.cancel()
                    continue
                answer = _receipted(routed, request)
            except DiskFull as exc:  # the message stays stored and unanswered: it is answered once there is room
                log.error("turn for %s stopped: %s", conversation, exc)
                answer = _said(inbound, Answer(f"I can't answer that now: {exc}."))
            except Exception:
                log.exception("turn failed for %s", conversation)
                answer = _said(inbound, Answer("Something went wrong on my side while handling that; it is in my log."))
            await self._send(inbound, answer)

    async def _send(self, inbound: Inbound, answer: Answer) -> None:
        """The answer to one message, with its "answered" mark (stored by the channel in one transaction)."""
        answering = None
        if inbound.message_id:
            answering = Answering(inbound.conversation, inbound.message_id, answer.record)
        elif answer.record:  # not from a stored message (tests, tools): only the history to keep
            await self.store.run(log_db.append, inbound.conversation, list(answer.record))
        await self.bus.send(
            Outbound(
                channel=inbound.channel,
                recipient=inbound.sender,
                text=answer.text,
                media=answer.media,
                in_reply_to=inbound.id,
                answering=answering,
            )
        )

    def _hand_to_model(self, inbound: Inbound, request: Request, asked: Request) -> _Thinking:
        """Start the model turn for `inbound` beside the conversation's queue; supersede a stale one."""
        previous = self._thinking.get(inbound.conversation)
        after: asyncio.Task[None] | None = None
        if previous is not None and previous.task is not None and not previous.task.done():
            if previous.acting or previous.answered or time.monotonic() - previous.started < self.stale_after:
                after = previous.task  # acting on the house, or not stale yet: the newer turn waits for it
            else:
                previous.superseded = True
                previous.task.cancel()  # closes its model stream: the server stops generating
        entry = _Thinking(inbound, time.monotonic(), waiting=after is not None)
        entry.task = asyncio.create_task(
            self._model_turn(entry, request, asked, after), name=f"model turn {inbound.conversation}"
        )
        self._thinking[inbound.conversation] = entry
        return entry

    async def _model_turn(
        self, entry: _Thinking, request: Request, asked: Request, after: asyncio.Task[None] | None
    ) -> None:
        inbound = entry.inbound
        try:
            if after is not None:
                if inbound.message_id:
                    await self.store.run(log_db.wait, inbound.message_id)
                await asyncio.wait({after})
                if inbound.message_id:  # its words come after the earlier turn's reply in the history
                    await self.store.run(log_db.requeue, inbound.message_id)
            answer = _receipted(await self._think(inbound, request, entry), asked)
        except asyncio.CancelledError:
            if not entry.superseded:
                raise  # shutting down: the message stays unanswered and is taken up again at start-up
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # superseded, not stopped: this task still sends the message's answer
            answer = _said(inbound, Answer(SUPERSEDED.format(quoted=_quote(inbound.text))))
        except DiskFull as exc:
            log.error("model turn for %s stopped: %s", inbound.conversation, exc)
            answer = _said(inbound, Answer(f"I can't answer that now: {exc}."))
        except Exception:
            log.exception("model turn failed for %s", inbound.conversation)
            answer = _said(inbound, Answer("Something went wrong on my side while handling that; it is in my log."))
        entry.answered = True
        await self._send(inbound, answer)

    async def handle(self, inbound: Inbound) -> Answer:
        """Answer one message; never raises for a model or device failure; codes issued are always shown.

        The answer's record (what joins the history) is not stored here: the channel stores it with the
        reply and the "answered" mark in one transaction, so a crash loses or repeats neither.
        """
        request, routed = await self._route(inbound)
        if isinstance(routed, _ToModel):
            return _receipted(await self._think(inbound, routed.request), request)
        return _receipted(routed, request)

    async def _route(self, inbound: Inbound) -> tuple[Request, Answer | _ToModel]:
        """The message's request, and its answer, or what the model needs to answer it."""
        request = Request(
            principal=inbound.principal,
            conversation=inbound.conversation,
            channel=inbound.channel,
            sender=inbound.sender,
            via="fast-path",
            own_words=not forwarded(inbound.text),
            message=inbound.message_id,
        )
        return request, await self._handle(inbound, request)

    async def _handle(self, inbound: Inbound, request: Request) -> Answer | _ToModel:
        if inbound.message_id:
            tries = await self.store.run(log_db.take, inbound.message_id)
            if inbound.resumed:
                resumed = await self._resume(inbound, tries)
                if resumed is not None:
                    return _said(inbound, resumed)
        text = inbound.text.strip()
        if not may(request.principal, "act"):  # nobody said who they are: nothing acts on it
            return _said(inbound, Answer(refusal(request.principal, "act")))
        if not request.own_words:  # forwarded text: no code, command or fast path acts on it; the model reads it
            return _ToModel(request)
        code = self.guard.code_in(text, request)
        if code is not None:  # the one place an owner's code is read: "OK <code>", or a code pending here
            return _said(inbound, Answer(await self.guard.confirm(code, request)))
        command = self.commands.get(text.split(" ", 1)[0].lower()) if text.startswith("/") else None
        if command is not None:
            return _said(inbound, Answer(await command(inbound)))
        answer = await self._fast(inbound, request)
        if answer is not None:
            return _said(inbound, answer)
        return _ToModel(request)

    async def _resume(self, inbound: Inbound, tries: int) -> Answer | None:
        """A turn a restart interrupted: say what it already did rather than do it again; give up on a
        message that keeps failing. None: nothing was done yet, so the turn runs again."""
        done = await self.store.run(audit_db.for_message, inbound.message_id)
        quoted = _quote(inbound.text)
        if done:
            said = "; ".join(f"{row['action']} {row['target']}".strip() + f" ({row['outcome']})" for row in done[-6:])
            return Answer(f"I was restarted while answering {quoted}. Before that I had done: {said}.")
        if tries > MAX_TRIES:
            log.error("message #%d failed %d times; given up", inbound.message_id, tries - 1)
            return Answer(f"Sorry — I could not finish {quoted}: it was interrupted {tries - 1} times. Try again?")
        return None

    async def _fast(self, inbound: Inbound, request: Request) -> Answer | None:
        if self.understanding is None:
            return None
        token = CURRENT_REQUEST.set(request)
        try:
            return await self.understanding.answer(inbound, request)
        finally:
            CURRENT_REQUEST.reset(token)

    async def act(self, text: str, request: Request) -> Answer | None:
        """Run text through the understanding path only (dashboard buttons); None if not understood."""
        inbound = Inbound(
            channel=request.channel,
            sender=request.sender,
            actor=request.principal.name,
            conversation=request.conversation,
            text=text,
            principal=request.principal,
        )
        return await self._fast(inbound, request)

    async def _think(self, inbound: Inbound, turn: Request, entry: _Thinking | None = None) -> Answer:
        def progress(stage: str) -> None:
            if entry is not None:
                entry.acting = entry.acting or stage == "acting"
                if stage == "prompt":
                    entry.prompted.set()

        thinking = asyncio.create_task(
            self.brain.turn(turn.using("llm"), inbound.images, keep=False, progress=progress)
        )
        try:
            done, _ = await asyncio.wait({thinking}, timeout=self.ack_after)
            if not done and inbound.channel != "local":
                await self.bus.send(
                    Outbound(inbound.channel, inbound.sender, "On it…", kind="notice", in_reply_to=inbound.id)
                )
            reply = await asyncio.shield(thinking)
        except asyncio.CancelledError:
            # shutting down or superseded: the turn (and its model stream) ends before the store it writes to
            thinking.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await thinking
            raise
        except ModelMissing as exc:
            return _said(inbound, Answer(f"I can't think right now: {exc}. {OFFLINE_HINT}"))
        except ModelOffline:  # the names the grammar found close, in the language it read the message in
            return _said(inbound, Answer(offline_reply(turn.receipt.near, turn.receipt.language or "en")))
        except ModelUnavailable as exc:
            return _said(inbound, Answer(f"Sorry — {exc}, so I can't answer that. {OFFLINE_HINT}"))
        return Answer(reply.text, record=reply.record)

    async def _cmd_new(self, inbound: Inbound) -> str:
        await self.store.run(log_db.new_session, inbound.conversation)
        for forget in self.session_listeners:
            forget(inbound.conversation)
        return FRESH_START

    async def _cmd_compact(self, inbound: Inbound) -> str:
        await self.brain.memory.compact(inbound.conversation, keep_share=0.0)
        return "I folded our conversation so far into my summary."

    async def _cmd_status(self, inbound: Inbound) -> str:
        prompt = await self.brain.memory.build(inbound.conversation)
        stored = await self.store.run(log_db.count, inbound.conversation)
        model = self.brain.model
        state = {True: "online", False: "OFFLINE", None: "not asked yet"}[model.online]
        lines = [
            f"Model {model.config.model} at {model.address}: {state}.",
            f"This conversation: {stored} messages stored; the next prompt uses ~{prompt.tokens} of "
            f"{self.brain.memory.config.budget_tokens} tokens.",
        ]
        lines.append(await self._facts_line(inbound.conversation))
        for extra in self.status_lines:
            lines.append(await extra())
        lines.append(time.strftime("As of %H:%M."))
        return "\n".join(lines)

    async def _facts_line(self, conversation: str) -> str:
        """What /new promises /status shows: the facts kept across fresh starts, newest first."""
        kept = await self.store.run(facts_db.facts, self.brain.memory.scopes(conversation))
        if not kept:
            return "I remember no facts yet; tell me one and I'll keep it."
        shown = "; ".join(f.text for f in kept[:SHOWN_FACTS]) + ("; …" if len(kept) > SHOWN_FACTS else "")
        return f"I remember {len(kept)} fact{'s' if len(kept) != 1 else ''}: {shown}"

    async def _cmd_help(self, inbound: Inbound) -> str:
        listed = ", ".join(f"{name} {COMMAND_HELP.get(name, '')}".rstrip() for name in self.commands)
        return f'Talk to me in plain words ("sleepy time", "play jazz in the study"). Commands: {listed}.'


def _receipted(answer: Answer, request: Request) -> Answer:
    """The answer with what the turn's receipt adds: codes issued and pictures shown are always sent.

    A held action's prompt is added, in the message's language, only when the answer lacks its code (an owner's
    chat), or lacks the note that the owners got the code (a requester who may not see codes).
    """
    receipt = request.receipt
    language = receipt.language or "en"
    missing = [
        said
        for p in receipt.held
        if (said := say_pending(p, language))
        and (p.code not in answer.text if p.with_code else said not in answer.text and p.shown not in answer.text)
    ]
    media = answer.media + tuple(m for m in receipt.pictures if m not in answer.media)
    if not missing:
        return Answer(answer.text, media, answer.record)
    text = " ".join([t for t in (answer.text, *missing) if t])
    last = answer.record[-1] if answer.record else None
    if last is not None and last.role == "assistant":  # the history says what the owner was sent
        record = (*answer.record[:-1], _replaced(last, text))
    else:
        record = answer.record
    return Answer(text, media, record)


def _said(inbound: Inbound, answer: Answer) -> Answer:
    """Fast answers join the history too, so the model later knows what already happened."""
    if answer.record:
        return answer
    return Answer(
        answer.text, answer.media, (Message("assistant", answer.text, channel=inbound.channel, sender="claw"),)
    )


def _replaced(message: Message, content: str) -> Message:
    return Message(message.role, content, tool_calls=message.tool_calls, channel=message.channel, sender=message.sender)


def _quote(text: str) -> str:
    short = " ".join(text.split())
    return f'"{short[:60]}…"' if len(short) > 60 else f'"{short}"'
