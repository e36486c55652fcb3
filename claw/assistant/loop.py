"""The bounded tool loop: prompt, model, tools, repeat at most N rounds, then answer."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from claw.assistant import announced, decisions, grounding
from claw.assistant.home_words import vocabulary
from claw.assistant.honesty import Reading, honest, refuses, results_of
from claw.assistant.llm import Answer, Mode, Model, ToolCall
from claw.assistant.memory import Memory
from claw.assistant.repair import tool_calls_in_text, written_arguments
from claw.assistant.speech.states import say_states
from claw.assistant.toolbox import CURRENT_REQUEST, UNTRUSTED_NOTE, Tools, is_error
from claw.assistant.understanding import Vocabulary
from claw.core.config import LLMConfig, RoomConfig
from claw.core.errors import ModelError
from claw.core.request import Request
from claw.core.store import Store
from claw.core.store import messages as log_db
from claw.core.store.messages import Message
from claw.core.untrusted import forwarded
from claw.home.device import Device

log = logging.getLogger(__name__)

GUIDANCE = (
    "Act through your tools; never claim you did something a tool did not confirm. If a tool reports an "
    "error, say so plainly and suggest what could work. Keep replies short enough for a phone."
)
TEXT_TOOLS = 'To use a tool, answer with only this JSON: {"name": "<tool>", "arguments": {...}}. Tools:\n'
LIVE_STATES = 8  # devices whose live state rides along with the owner's words (more: the model asks home_state)
_SAFE_VALUE = re.compile(r"^[a-z_]{1,20}$")  # state strings shown to the model: modes, not titles or labels
_FORMAT_REFUSED = re.compile(r"format|schema|grammar|response_format", re.IGNORECASE)
_TOOLS_REFUSED = re.compile(r"tool", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    rounds: int
    tool_calls: tuple[str, ...] = ()
    prompt_tokens: int = 0  # the server's own count for the turn's first call (Claw's estimate if it gave none)
    record: tuple[Message, ...] = ()  # what the turn adds to the history (stored by the caller with the reply)
    verdict: str = "answered"  # answered, acted, asked, rewritten, empty, stuck, slow: how the reply came about
    output_tokens: int = 0  # generated in the whole turn, by the server's count
    mode: Mode = "tools"  # how the model proposed actions in this turn


@dataclass(slots=True)
class _Run:
    """One turn's facts as it goes: tools called (name, effect, result), a question instead of an action."""

    deadline: float
    words: str | None = None  # the owner's words, when proposals must be grounded in them
    home: Vocabulary | None = None
    progress: Callable[[str], None] | None = None  # told "prompt" once built, "acting" before each action
    called: list[tuple[str, str, str]] = field(default_factory=list)
    question: str = ""
    prompt_tokens: list[int] = field(default_factory=list)
    output_tokens: int = 0
    read_live: bool = False
    answering: bool = False  # structured: the house was read, so the next decision may only reply
    named_by_hub: bool = False  # the receipt's `tainted_by` is an announced name (each held proposal names its own)
    proposed: set[str] = field(default_factory=set)  # the calls already run, as name + arguments

    def left(self) -> float:
        return self.deadline - time.monotonic()


class Brain:
    """Runs turns for conversations; the router decides which may run at once."""

    def __init__(
        self,
        *,
        model: Model,
        tools: Tools,
        memory: Memory,
        store: Store,
        config: LLMConfig,
        overview: Callable[[], str] = lambda: "",
    ) -> None:
        self.model, self.tools, self.memory, self.store, self.config = model, tools, memory, store, config
        self.overview = overview
        # The house, when there is one (the daemon wires it): grounding, live states, structured decisions.
        self.devices: Callable[[], Sequence[Device]] = tuple
        self.rooms: Sequence[RoomConfig] = ()
        self.routines: Callable[[], Sequence[Any]] = tuple

    @property
    def decision_mode(self) -> Mode:
        """How this brain's model proposes actions now (structured needs a house to build its schema from)."""
        mode = self.model.decision_mode
        return "tools" if mode == "structured" and not self.devices() else mode

    def home_words(self) -> Vocabulary | None:
        """The home's names as the owner uses them, or None without a house."""
        devices = self.devices()
        return vocabulary(devices, self.routines(), self.rooms) if devices else None

    async def turn(
        self,
        turn: Request,
        images: Sequence[bytes] = (),
        *,
        keep: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> Reply:
        """Answer the newest user message of `turn.conversation` (already persisted by its channel).

        `keep=False` leaves storing the turn to the caller (the router stores it with the reply, atomically).
        `progress` is told "prompt" once the prompt is built and "acting" before each action on the house.
        """
        run = _Run(deadline=time.monotonic() + self.config.turn_seconds, progress=progress)
        mode = self.decision_mode
        run.home = self.home_words()
        schemas = self.tools.schemas()
        prompt = await self.memory.build(
            turn.conversation,
            overview=self.overview(),
            tool_schemas=schemas if mode == "tools" else (),
            extra_system=self._guidance(mode, schemas),
            answering=turn.message,
        )
        if progress is not None:
            progress("prompt")
        if any(forwarded(m.get("content") or "") for m in prompt.messages if m.get("role") == "user"):
            turn.receipt.tainted = True  # forwarded text is in the prompt: it may inform, not act
            turn.receipt.tainted_by = "a forwarded message"
        messages = list(prompt.messages)
        at = next((i for i in range(len(messages) - 1, 0, -1) if messages[i].get("role") == "user"), None)
        run.words = str(messages[at].get("content") or "") if at is not None else None
        if at is not None and run.home is not None and run.words:
            live = self._live_states(run.words, run.home)
            if live:  # only the devices in question, after the stable prefix: the prompt cache keeps the rest
                messages[at] = {**messages[at], "content": f"{run.words}\n\n{live}"}
                run.read_live = True
        new: list[Message] = []
        answer, called = await self._loop(messages, schemas, turn, images=images, record=new, run=run, mode=mode)
        earlier = [str(m.get("content") or "") for m in prompt.messages if m.get("role") == "assistant"]
        names = [e.name for e in run.home.entities] + [a.name for a in run.home.areas] if run.home else []
        if run.question:
            text, verdict = run.question, "asked"
        else:
            known = [Reading(d.name, d.kind, d.state) for d in self.devices() if d.available]
            facts = results_of(run.called, read=run.read_live)
            asked = str(messages[at].get("content") or "") if at is not None else ""
            text, verdict = honest(answer, facts, earlier=earlier, names=names, known=known, asked=asked)
            if (verdict == "empty" or refuses(text)) and all(e == "reads" or is_error(r) for _, e, r in run.called):
                text, verdict = self._unanswered(answer, run, turn) or (text, verdict)
            if verdict == "answered" and any(effect != "reads" for _, effect, _ in run.called):
                verdict = "acted"
        new.append(Message("assistant", text))
        record = tuple(_stamped(self._kept(m), turn) for m in new)
        if keep:
            await self.store.run(log_db.append, turn.conversation, list(record))
        if self.memory.needs_compaction(prompt):
            self.memory.compact_soon(turn.conversation)
        rounds = min(len(called), self.config.max_rounds) + 1
        first = run.prompt_tokens[0] if run.prompt_tokens and run.prompt_tokens[0] else prompt.tokens
        log.info(  # the server's own counts: what a CPU pays per turn (first call) and in all
            "turn in %s: %s, %s decisions, %d calls, prompt %d tokens (first call; %d in all), output %d tokens",
            turn.conversation,
            verdict,
            mode,
            len(run.prompt_tokens),
            first,
            sum(run.prompt_tokens),
            run.output_tokens,
        )
        return Reply(text, rounds, tuple(called), first, record, verdict, run.output_tokens, mode)

    async def fresh(
        self,
        instruction: str,
        *,
        request: Request,
        system: str = "",
        format: Mapping[str, Any] | None = None,
        use_tools: bool = True,
    ) -> Answer:
        """A history-less run for jobs and the heartbeat: soul + instruction, optional tools, no memory."""
        messages: list[dict[str, Any]] = [
            {
                "role": "system",
                "content": "\n\n".join(p for p in (self.memory.soul.text, self.overview(), system) if p),
            },
            {"role": "user", "content": instruction},
        ]
        run = _Run(deadline=time.monotonic() + self.config.turn_seconds)
        mode: Mode = "text" if self.model.decision_mode == "text" else "tools"
        if mode == "text" and use_tools:
            messages[0]["content"] += "\n\n" + _text_tools(self.tools.schemas())
        answer, _ = await self._loop(messages, self.tools.schemas() if use_tools else [], request, run=run, mode=mode)
        if format is not None:
            messages.append({"role": "assistant", "content": answer.content})
            messages.append({"role": "user", "content": "Now answer only with the JSON decision."})
            answer = await self.model.chat(messages, format=format, purpose="decision", seconds=max(run.left(), 5.0))
        return answer

    async def _loop(
        self,
        messages: list[dict[str, Any]],
        schemas: list[dict[str, Any]],
        request: Request,
        *,
        run: _Run,
        mode: Mode,
        images: Sequence[bytes] = (),
        record: list[Message] | None = None,
    ) -> tuple[Answer, list[str]]:
        """The one tool loop: model, tools, repeat at most `max_rounds`; out of rounds, one last call without tools."""
        token = CURRENT_REQUEST.set(request)
        called: list[str] = []
        names = [n for n in self.tools.names() if schemas]
        try:
            for round_no in range(1, self.config.max_rounds + 1):
                if run.left() <= 0:
                    return Answer("", finish="time"), called
                pictures = images if round_no == 1 else ()
                answer, calls, mode = await self._decide(messages, schemas, names, run, mode, pictures)
                if mode == "tools" and schemas and not calls and _silent(answer) and run.left() > 1.0:
                    # No call and no words (llama-cpp-python's function-calling format leaves a chosen
                    # message empty): ask once more for words alone, rather than answer nothing.
                    log.info("model chose neither a tool nor words; asking once more without tools")
                    return await self._chat(messages, run, images=pictures), called
                if not calls or not schemas:
                    return answer, called
                said = {_said(c) for c in calls}
                again, run.proposed = said <= run.proposed, run.proposed | said
                if again:  # the same calls once more: a small model going round; what they did is the answer
                    log.info("model repeated %s; answering from what it did", ", ".join(c.name for c in calls))
                    return Answer("", prompt_tokens=0), called
                if run.words is not None and run.home is not None:
                    settled = []
                    for proposed in calls:
                        call, verdict = self._grounded(proposed, run)
                        verdict = verdict if not verdict.ok else self._copied(call, run)
                        if not verdict.ok and verdict.why == "unnamed" and mode == "structured" and run.left() > 0:
                            run.answering = True  # the words name nothing to act on: one more call, a reply only
                            answer, _, mode = await self._decide(messages, schemas, names, run, mode, ())
                            return answer, called
                        if not verdict.ok:
                            log.info("model proposal %s held as a question (%s)", call.name, verdict.why)
                            run.question = verdict.question
                            if verdict.why == "question":  # words that ask are answered from the house
                                run.question = self._states(run, [], request) or verdict.question
                            return answer, called
                        settled.append(call)
                    calls = tuple(settled)
                raw = [{"function": {"name": c.name, "arguments": dict(c.arguments)}} for c in calls]
                assistant = Message("assistant", "" if not answer.tool_calls else answer.content, tool_calls=tuple(raw))
                messages.append(assistant.as_chat())
                if record is not None:
                    record.append(assistant)
                for call in calls:
                    tool = self.tools.get(call.name)
                    effect = tool.effect if tool is not None else "reads"
                    if effect != "reads" and run.progress is not None:
                        run.progress("acting")
                    self._unpointed(call, run, messages, request)
                    result = await self._run_tool(call)
                    called.append(call.name)
                    run.called.append((call.name, effect, result))
                    tool_msg = Message("tool", result, tool_name=call.name)
                    messages.append(tool_msg.as_chat())
                    if record is not None:
                        record.append(tool_msg)
                if mode == "structured" and all(e != "reads" for _, e, _ in run.called[-len(calls) :]):
                    # the domain already said what happened: the reply is its words, not another model call
                    return Answer(_refusals(run.called[-len(calls) :]), prompt_tokens=0), called
                if mode == "structured" and all(name == "home_state" for name, _, _ in run.called[-len(calls) :]):
                    # the house was read: its state in the domain's words answers (a small model copies JSON)
                    spoken = self._states(run, [r for _, _, r in run.called[-len(calls) :]], request)
                    if spoken:
                        return Answer(spoken, prompt_tokens=0), called
                run.answering = mode == "structured"  # what was read is answered, never acted on in this turn
            # Out of rounds: one last call without tools so the owner hears where things stand.
            messages.append({"role": "system", "content": "Stop calling tools now and tell the owner the outcome."})
            if run.left() <= 0:
                return Answer("", finish="time"), called
            return await self._chat(messages, run), called
        finally:
            CURRENT_REQUEST.reset(token)

    async def _decide(
        self,
        messages: list[dict[str, Any]],
        schemas: list[dict[str, Any]],
        names: list[str],
        run: _Run,
        mode: Mode,
        images: Sequence[bytes],
    ) -> tuple[Answer, tuple[ToolCall, ...], Mode]:
        """One model call in the turn's mode; a mode the server refuses falls back to the next (auto only)."""
        while True:
            try:
                if mode == "structured" and run.home is not None and schemas:
                    shape = (
                        decisions.reply_only() if run.answering else decisions.schema(run.home, names, self._choices())
                    )
                    answer = await self._chat(messages, run, format=shape, images=images, purpose="decision")
                    log.debug("structured decision: %s", answer.content[:400])  # what the model proposed, raw
                    if answer.tool_calls:  # a server that answers with native calls anyway: take them, as such
                        return answer, () if run.answering else answer.tool_calls, "tools"
                    decision = decisions.read(answer.content, names)
                    if not decision.readable:
                        return answer, tuple(tool_calls_in_text(answer.content, names)), mode
                    if decision.wanted is not None and run.words is not None and not run.answering:
                        wanted = decision.wanted  # an action it could not say fully: ask which device, never claim it
                        verdict = grounding.ask(run.words, wanted.name, wanted.arguments, run.home)
                        log.info("model proposal %s unusable %s: %s", wanted.name, dict(wanted.arguments), verdict.why)
                        if verdict.why == "unnamed" and run.left() > 0:
                            run.answering = True  # the words name nothing to act on: one more call, a reply only
                            continue
                        run.question = verdict.question
                        return replace(answer, content=""), (), mode
                    return replace(answer, content=decision.text), () if run.answering else decision.calls, mode
                offered = schemas if mode == "tools" else []
                answer = await self._chat(messages, run, tools=offered, images=images)
                calls = answer.tool_calls or tuple(tool_calls_in_text(answer.content, names))
                parsed = [(c.name, dict(c.arguments)) for c in answer.tool_calls]  # as the server parsed them
                log.debug("%s decision: %s %s", mode, parsed, answer.content[:400])  # what the model proposed, raw
                return answer, calls, mode
            except ModelError as exc:
                refused = mode == "structured" and bool(_FORMAT_REFUSED.search(str(exc)))
                refused = refused or (mode == "tools" and bool(schemas) and bool(_TOOLS_REFUSED.search(str(exc))))
                if not refused or not self.model.fall_back(mode):
                    raise
                mode = self.model.decision_mode
                if mode == "text" and messages and messages[0].get("role") == "system":
                    messages[0] = {**messages[0], "content": f"{messages[0]['content']}\n\n{_text_tools(schemas)}"}

    async def _chat(
        self,
        messages: list[dict[str, Any]],
        run: _Run,
        *,
        tools: Sequence[Mapping[str, Any]] = (),
        format: Mapping[str, Any] | None = None,
        images: Sequence[bytes] = (),
        purpose: str = "reply",
    ) -> Answer:
        answer = await self.model.chat(
            messages,
            tools=tools,
            format=format,
            images=images,
            purpose="decision" if purpose == "decision" else "reply",
            seconds=max(run.left(), 1.0),
        )
        run.prompt_tokens.append(answer.prompt_tokens)
        run.output_tokens += answer.output_tokens
        return answer

    def _guidance(self, mode: Mode, schemas: Sequence[Mapping[str, Any]]) -> str:
        """The system prompt's last part for the mode; stable across turns, so the server's prompt cache holds."""
        if mode == "structured":
            return "\n\n".join(p for p in (GUIDANCE, decisions.GUIDANCE, decisions.tools_note(schemas)) if p)
        if mode == "text":
            return f"{GUIDANCE}\n\n{_text_tools(schemas)}"
        return GUIDANCE

    def _unanswered(self, answer: Answer, run: _Run, request: Request) -> tuple[str, str] | None:
        """The model gave nothing usable (a call to a tool that does not exist such as "is_spa_warm", the owner's
        words said back, a canned "I can't assist with that"), and nothing changed (reads may have run): a
        question about the house is answered from the devices its words name; otherwise, where the words name
        devices, what to do with them is asked (a value both the written call and the words hold is offered as a
        command). None: the words name no device."""
        if not run.words or run.home is None:
            return None
        if grounding.asking(run.words) and (spoken := self._states(run, [], request)):
            return spoken, "answered"
        verdict = grounding.written(run.words, written_arguments(answer.content), run.home)
        log.info("model gave nothing usable; %s", verdict.why)
        return (verdict.question, "asked") if verdict.why == "unusable" else None

    def _copied(self, call: ToolCall, run: _Run) -> grounding.Verdict:
        """A setting proposed at the value the device already has, a number the owner did not say: the model
        copied it from the live states; what value is meant is asked, rather than answered "already"."""
        value, setting = call.arguments.get("value"), str(call.arguments.get("setting") or "")
        if call.name != "set_value" or not isinstance(value, int | float) or isinstance(value, bool):
            return grounding.OK
        said = {float(n) for n in _NUMBER.findall(run.words or "")}
        if run.home is None or float(value) in said:
            return grounding.OK  # the owner's own number
        ids = {e.id for e in grounding.targets(call.arguments, run.home)}
        devices = [d for d in self.devices() if d.id in ids]
        if len(devices) != 1 or devices[0].state.get(setting) != value:
            return grounding.OK
        device = devices[0]
        label = next((c.label or c.key for c in device.capabilities if c.key == setting), setting.replace("_", " "))
        unit = next((c.unit for c in device.capabilities if c.key == setting), "")
        if len(said) == 1:  # the owner said one number: the question offers it, as a command to say
            offered = grounding.command(call.name, {**call.arguments, "value": next(iter(said))}, device.name)
            return grounding.Verdict(f'I\'d rather ask than guess: did you mean "{offered}"?', "unchanged")
        now = f"The {device.name}'s {label} is at {value:g}{unit} now."
        return grounding.Verdict(f"{now} I'd rather ask than guess: what should I set it to?", "unchanged")

    def _choices(self) -> list[str]:
        """The modes the home's settable choices take ("cool", "away"): the only words a setting's value may be."""
        return sorted(
            {
                o
                for d in self.devices()
                for c in d.capabilities
                if c.type == "choice" and c.key in decisions.SETTINGS
                for o in c.options
            }
        )

    def _states(self, run: _Run, results: Sequence[str], request: Request) -> str:
        """What was read, said: the devices the owner's words name (a few), else those the model read."""
        meant = grounding.mentioned(run.words, run.home) if run.words and run.home else None
        ids = {e.id for e in meant} if meant and len(meant) <= LIVE_STATES else set()
        if not ids:
            for result in results:
                with contextlib.suppress(ValueError):
                    read = json.loads(result)
                    names = (
                        {str(d.get("name")) for d in read if isinstance(d, dict)} if isinstance(read, list) else set()
                    )
                    ids |= {d.id for d in self.devices() if d.name in names}
        devices = [d for d in self.devices() if d.id in ids]
        return say_states(devices, request.receipt.language or "en") if devices else ""

    def _unpointed(self, call: ToolCall, run: _Run, messages: Sequence[Mapping[str, Any]], request: Request) -> None:
        """A change the owner's words do not point to, in a prompt carrying names the devices and hubs
        announced, waits for the owner's code; the code's prompt says which announced text it arose from."""
        tool = self.tools.get(call.name)
        devices = self.devices()
        if tool is None or tool.effect == "reads" or run.words is None or run.home is None:
            return
        if not announced.announced(devices):
            return
        said = [str(m.get("content") or "") for m in messages if m.get("role") == "user"][:-1]
        earlier = [s for s in said if not forwarded(s)]
        if not announced.pointed(run.words, earlier, call.name, call.arguments, run.home):
            log.info("model proposal %s names nothing the owner said: held for a code", call.name)
            receipt = request.receipt
            if not receipt.tainted_by or run.named_by_hub:  # each proposal its own name; other sources stay
                receipt.tainted_by, run.named_by_hub = announced.source(call.name, call.arguments, devices), True
            receipt.tainted = True

    def _grounded(self, call: ToolCall, run: _Run) -> tuple[ToolCall, grounding.Verdict]:
        """The call with the target the owner's words support, and whether it may go on or becomes a question."""
        tool = self.tools.get(call.name)
        if tool is None or tool.effect == "reads" or run.home is None or run.words is None:
            return call, grounding.OK
        arguments, verdict = grounding.settle(run.words, call.name, call.arguments, run.home)
        if arguments != dict(call.arguments):
            log.info("model proposal %s %s settled to %s", call.name, dict(call.arguments), arguments)
        return ToolCall(call.name, arguments), verdict

    def _live_states(self, words: str, home: Vocabulary) -> str:
        """The live state of the devices the owner's words name (a few at most), as one short block."""
        meant = grounding.mentioned(words, home)
        if not meant or len(meant) > LIVE_STATES:
            return ""
        ids = {e.id for e in meant}
        lines = []
        for device in self.devices():
            if device.id in ids:
                shown = {k: v for k, v in device.state.items() if _plain(v)}
                state = ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) or "no readings"
                offline = "" if device.available else " (offline)"
                lines.append(
                    f"- {device.name} ({device.kind.replace('_', ' ')}, {device.room or 'no room'}){offline}: {state}"
                )
        return "[Live state of the devices mentioned]\n" + "\n".join(lines) if lines else ""

    async def _run_tool(self, call: ToolCall) -> str:
        log.info("tool %s %s", call.name, json.dumps(dict(call.arguments), default=str)[:200])
        return await self.tools.call(call.name, call.arguments, by_model=True)

    def _kept(self, m: Message) -> Message:
        """What later turns see of this one: a result carrying text the owner did not write is not kept
        (it would be in every later prompt, able to steer turns that never read it)."""
        if m.role == "tool" and self.tools.untrusted(m.tool_name):
            return Message("tool", UNTRUSTED_NOTE, tool_name=m.tool_name)
        return m


def _plain(value: Any) -> bool:
    """A state value safe to show the model: numbers, booleans and short mode words (never free text)."""
    if isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and bool(_SAFE_VALUE.match(value))


def _refusals(called: Sequence[tuple[str, str, str]]) -> str:
    """What the acting tools refused, in their words ("no device called …"), when none of them acted: the
    owner hears why nothing changed, not that the model said nothing."""
    said = [results_of([c]).results for c in called]
    if any(said):
        return ""  # some acted or hold a code: the domain's words are the reply
    errors = []
    for _, _, result in called:
        try:
            data = json.loads(result)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            errors.append(str(data["error"]))
    return " ".join(f"I couldn't do that: {e.rstrip('.')}." for e in errors[:2])


def _said(call: ToolCall) -> str:
    return f"{call.name} {json.dumps(dict(call.arguments), sort_keys=True, default=str)}"


def _silent(answer: Answer) -> bool:
    """An answer that ended by itself with nothing in it: no words, no call (not one cut short or out of time)."""
    return not answer.cut and not answer.content.strip() and not answer.tool_calls


def _text_tools(schemas: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for s in schemas:
        function = s.get("function") or {}
        args = ", ".join((function.get("parameters") or {}).get("properties") or {})
        lines.append(f"- {function.get('name')}({args}): {str(function.get('description') or '')[:120]}")
    return TEXT_TOOLS + "\n".join(lines)


def _stamped(m: Message, turn: Request) -> Message:
    sender = "claw" if m.role == "assistant" else m.sender
    return Message(
        m.role, m.content, tool_calls=m.tool_calls, tool_name=m.tool_name, channel=turn.channel, sender=sender
    )
