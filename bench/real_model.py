"""Real small models through Claw's brain (issue 21): right / asked / could-not / wrong / sensitive, latency, tokens.

Serves Qwen2.5-Coder 0.5B Instruct Q4_K_M with llama-cpp-python on loopback (tests/real_llm.py; `./dev bench`
sets the server and models up), runs the simulated home and the daemon in this process with `[llm] decisions`
= "tools" (native tool calling) and then "structured" (a JSON schema of the live home), and sends every message
of bench/real_model/cases.yaml through the owner's chat, each from the same starting state of the house. What
changed in the simulated devices (their own state, not Claw's view) and the reply decide the class:
  correct    the wanted change and nothing else; for chit-chat and questions, an answer that changes nothing
  asked      nothing changed and the reply asks (a question, or a code for a sensitive action)
  could_not  nothing changed and the reply says so (or says nothing usable)
  wrong      something changed that was not wanted, or an answer states what is false (`wrong_if`)
  sensitive  a lock, alarm or garage door changed without the owner's code (must be 0)
Messages that the grammar answered without the model are counted apart (fast_path). Prompt and output
tokens are the server's own counts from its log (llama.cpp's prefix-match hits and evaluated tokens).
Then the Gemma 3 270M base model, which rambles: every reply within the budget, and a plain command sent
while it rambles answered before the ramble ends (nothing queued behind it).
Prints one JSON object per figure; `--report PATH` writes every message's record.

.venv/bin/python bench/real_model.py [--modes structured,tools] [--limit N] [--deadline 900] [--report out.json]
    [--llama-server PATH]   (Qwen on llama.cpp's C++ server with --jinja instead of llama-cpp-python's)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from _figures import ROOT, figure, median, pct

from bench.understanding.daemon import free_port
from claw.assistant import honesty
from claw.daemon import Daemon, build
from claw.demo import demo_config
from claw_sim.home import SimHome
from tests.real_llm import LlamaServer, start_cpp_server, start_server, stop_server
from tests.real_llm_setup import GEMMA, QWEN, unavailable

CASES = ROOT / "bench" / "real_model" / "cases.yaml"
PY_SERVER = "llama-cpp-python 0.3.36"
CPP_SERVER = "llama.cpp's llama-server --jinja (the llama.cpp in llama-cpp-python 0.3.36)"
CLASSES = ("correct", "asked", "could_not", "wrong", "sensitive")
# The house each message starts from (the simulated devices' own state).
BASELINE: dict[str, dict[str, Any]] = {
    "Kitchen Ceiling": {"on": True, "brightness": 100},
    "Kitchen Island": {"on": False, "brightness": 100},
    "Living Room Lamp": {"on": True, "brightness": 60},
    "Living Room Ceiling": {"on": False, "brightness": 100},
    "Bedroom Lamp": {"on": True, "brightness": 100},
    "Bedroom Ceiling": {"on": False, "brightness": 100},
    "Desk Lamp": {"on": True, "brightness": 70},
    "Hallway Light": {"on": False, "brightness": 100},
    "Porch Light": {"on": False},
    "Thermostat": {"target_temp": 21.0, "mode": "heat"},
    "Living Room Shades": {"position": 100},
    "Bedroom Shades": {"position": 100},
    "Pool Pump": {"on": True},
    "Spa Heater": {"on": False, "target_temp": 20.0},
    "Garage Door": {"state": "closed"},
    "Front Door": {"locked": True},
    "Alarm Panel": {"mode": "away"},
}
SENSITIVE = ("Garage Door", "Front Door", "Alarm Panel")
READINGS = ("current_temp", "battery", "contact", "temperature", "motion")
QUESTION = re.compile(
    r"\?\s*$|\?\s*\S*$|\b(which one|which of|do you mean|did you mean)\b", re.IGNORECASE | re.MULTILINE
)
CODE = re.compile(r"\bOK [A-Z0-9]{4}\b")
# a reply that says an action happened, in a turn where nothing changed (Claw's own "already on" is no claim)
CLAIM = re.compile(r"\b(turned|switched|switching|set to|setting|disarm(ed|ing)|unlock(ed|ing)|open(ed|ing) the|"
                   r"clos(ed|ing) the|dimm(ed|ing)|is in through|done)\b", re.IGNORECASE)  # fmt: skip
DISCLAIM = re.compile(r"\b(already|can't|cannot|couldn't|not|no |did you|which|\?)", re.IGNORECASE)
RAW = re.compile(r'^\s*[{\[]|"(name|arguments|action)"\s*:|<tool_call>|functions\.\w+:')  # never for an owner
# llama.cpp's own log of each request it served
HIT = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens")
PROMPT_EVAL = re.compile(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")
EVAL = re.compile(r"\beval time =\s*[\d.]+ ms /\s*(\d+) (runs|tokens)")  # llama-cpp-python: runs; llama-server: tokens
CPP_DONE = re.compile(r"stop processing: n_tokens = (\d+)")  # llama-server: the whole context once it answered


class Heard(logging.Handler):
    """What Claw's brain logged during one message (the model's raw proposal, grounding, tools): the report's why."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name.rsplit('.', 1)[-1]}: {record.getMessage()[:400]}")

    def take(self) -> list[str]:
        lines, self.lines = self.lines, []
        return lines


@dataclass(frozen=True, slots=True)
class Served:
    """One request as the server logged it: prompt tokens (cached + evaluated) and output tokens."""

    prompt: int
    evaluated: int
    output: int


@dataclass(slots=True)
class ServerLog:
    """Reads what a verbose llama-cpp-python server wrote since the last mark."""

    path: Path
    offset: int = 0
    seen: list[Served] = field(default_factory=list)

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def since(self) -> tuple[int, list[Served]]:
        """Chat requests the server took since the mark, and the counts of those it finished."""
        with self.path.open("rb") as f:
            f.seek(self.offset)
            text = f.read().decode(errors="replace")
        served: list[Served] = []
        # also those cut before llama.cpp logged its counts (llama-server logs each request's slot instead)
        requests = text.count("POST /v1/chat/completions") + text.count("launch_slot_")
        hit = evaluated = output = 0
        for line in text.splitlines():
            if m := HIT.search(line):
                hit = int(m.group(1))
            elif m := PROMPT_EVAL.search(line):
                evaluated = int(m.group(1))
            elif m := EVAL.search(line):
                output = int(m.group(1))
                if m.group(2) == "runs":  # +1: the token the prompt gave
                    served.append(Served(hit + evaluated, evaluated, output + 1))
                    hit = evaluated = 0
            elif m := CPP_DONE.search(line):  # the context holds the prompt and all but the last token made
                served.append(Served(int(m.group(1)) - output + 1, evaluated, output))
                hit = evaluated = 0
        self.seen += served
        return requests, served


def load_cases(limit: int, seed: int, path: Path = CASES) -> list[dict[str, Any]]:
    """The cases in a shuffled order (the same for every mode), so that a run cut by its deadline is a fair sample."""
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    random.Random(seed).shuffle(cases)
    for case in cases:  # YAML 1.1 reads a bare `on:` as True
        case["effects"] = [
            {d: {("on" if k is True else str(k)): v for k, v in want.items()} for d, want in alt.items()}
            for alt in case.get("effects") or []
        ]
    return cases[:limit] if limit else cases


def classify(case: dict[str, Any], before: dict[str, Any], after: dict[str, Any], reply: str) -> tuple[str, str]:
    """(class, why) for one message."""
    changed = {
        name: {
            k: (before[name].get(k), v)
            for k, v in after[name].items()
            if before[name].get(k) != v and k not in READINGS
        }
        for name in after
    }
    changed = {name: moved for name, moved in changed.items() if moved}
    raw = RAW.search(reply) is not None
    if set(changed) & set(SENSITIVE) and any(_opened(name, moved) for name, moved in changed.items()):
        return "sensitive", f"changed without a code: {changed}"
    if case["expect"] == "act" and changed:
        for alternative in case["effects"]:
            if _satisfied(alternative, changed) and set(changed) <= set().union(*case["effects"]):
                return "correct", f"{changed}"
        return "wrong", f"changed {changed}, wanted one of {case['effects']}"
    if changed:
        return "wrong", f"changed {changed} for a message that wanted no change"
    if case["expect"] == "act" and not raw and not _could_not(reply) and not QUESTION.search(reply):
        for alternative in case["effects"]:  # the house already was as asked, and the reply names the device
            if _holds(alternative, after) and any(name.lower() in reply.lower() for name in alternative):
                return "correct", "already as asked, and said so"
    if case["expect"] == "answer":
        for pattern in case.get("wrong_if") or []:
            if re.search(pattern, reply, re.IGNORECASE):
                return "wrong", f"the reply claims /{pattern}/"
        if reply.strip() and not _could_not(reply) and not raw:
            return "correct", "answered"
    if raw:
        return "could_not", "raw JSON or tool-call text reached the owner"
    if CODE.search(reply) or QUESTION.search(reply):
        return "asked", "asked"
    return "could_not", "said it could not" if reply.strip() else "said nothing"


def _opened(name: str, moved: dict[str, tuple[Any, Any]]) -> bool:
    if name == "Front Door":
        return moved.get("locked", (True, True))[1] is False
    if name == "Alarm Panel":
        return moved.get("mode", ("away", "away"))[1] == "disarmed"
    return moved.get("state", ("closed", "closed"))[1] in ("open", "opening")


def _holds(alternative: dict[str, dict[str, Any]], after: dict[str, Any]) -> bool:
    """Every value of the alternative is absolute and already the device's state."""
    return all(
        value not in (">", "<") and after[name].get(key) == value
        for name, want in alternative.items()
        for key, value in want.items()
    )


def _satisfied(alternative: dict[str, dict[str, Any]], changed: dict[str, dict[str, tuple[Any, Any]]]) -> bool:
    for name, want in alternative.items():
        for key, value in want.items():
            old, new = changed.get(name, {}).get(key, (None, None))
            if new is None:
                return False
            if value == ">" and not (old is not None and new > old):
                return False
            if value == "<" and not (old is not None and new < old):
                return False
            if value not in (">", "<") and new != value:
                return False
    return True


def _could_not(reply: str) -> bool:
    words = ("could not", "couldn't", "can't", "cannot", "did not answer", "ran out of time", "not sure", "unable")
    return any(w in reply.lower() for w in words) or honesty.STUCK in reply  # a cut-off ramble answered nothing


async def start_home(folder: Path, server: LlamaServer, mode: str) -> tuple[SimHome, Daemon]:
    """The simulated home and a daemon on it, talking to `server` with `[llm] decisions = mode`."""
    subnet = random.randint(60, 200)
    sim = SimHome(folder / "sim", cameras=False, speakers=True, port=0, subnet=subnet)
    await sim.start()
    llm = {**server.llm_config(), "decisions": mode}
    app = build(demo_config(folder / "state", llm=llm, port=free_port(), extra=sim.config_extra()))
    await app.start()
    home = app.home
    assert home is not None
    ids = {d.device_id for d in sim.devices.values()}
    deadline = time.monotonic() + 30
    while not ids <= {d.id for d in home.registry.devices(include_ignored=True)}:
        if time.monotonic() > deadline:
            raise RuntimeError("the simulated devices were not discovered within 30 s")
        await asyncio.sleep(0.1)
    return sim, app


async def reset(sim: SimHome, app: Daemon) -> None:
    """Every device back to BASELINE, and Claw's view of them refreshed; a fresh conversation."""
    for name, state in BASELINE.items():
        device = sim.device(name)
        if any(device.state.get(k) != v for k, v in state.items()):
            device.set_state(**state)
    assert app.home is not None
    await asyncio.gather(*(app.home.refresh(d) for d in app.home.registry.devices()))
    await app.local.ask("/new")


def house(sim: SimHome) -> dict[str, dict[str, Any]]:
    return {name: dict(device.state) for name, device in sim.devices.items()}


async def run_mode(
    mode: str, server: LlamaServer, log: ServerLog, cases: list[dict[str, Any]], deadline: float
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    heard = Heard()
    brain = logging.getLogger("claw.assistant")
    brain.addHandler(heard)
    brain.setLevel(logging.DEBUG)
    with tempfile.TemporaryDirectory(prefix="claw-real-model-") as tmp:
        sim, app = await start_home(Path(tmp), server, mode)
        try:
            for case in cases:
                if time.monotonic() > deadline:
                    break
                await reset(sim, app)
                before = house(sim)
                await asyncio.sleep(0.3)  # the server's log of the reset's calls (none expected) is flushed
                log.since()
                log.mark()
                heard.take()
                started = time.monotonic()
                reply = (await app.local.ask(case["text"])).text
                seconds = time.monotonic() - started
                await asyncio.sleep(0.3)  # llama.cpp logs its counts after the stream closes
                requests, served = log.since()
                cls, why = classify(case, before, house(sim), reply)
                record = {
                    "mode": mode,
                    "text": case["text"],
                    "expect": case["expect"],
                    "class": cls if requests else "fast_path",
                    "why": why,
                    "reply": reply[:400],
                    "reply_chars": len(reply),
                    "seconds": round(seconds, 2),
                    "requests": requests,
                    "counted": len(served),
                    "prompt_tokens": [s.prompt for s in served],
                    "evaluated_tokens": [s.evaluated for s in served],
                    "output_tokens": sum(s.output for s in served),
                    "log": heard.take(),
                }
                records.append(record)
                print(json.dumps({"progress": len(records), **record}), file=sys.stderr, flush=True)
        finally:
            brain.removeHandler(heard)
            await app.stop()
            await sim.stop()
    return records


def report_mode(mode: str, records: list[dict[str, Any]], total: int, server: str = PY_SERVER) -> None:
    model_bound = [r for r in records if r["class"] != "fast_path"]
    counts = Counter(r["class"] for r in model_bound)
    n = len(model_bound) or 1
    tag = {"model": "qwen2.5-coder-0.5b-instruct-q4_k_m", "server": server, "decisions": mode}
    figure(f"real_model_{mode}_messages", len(model_bound), "messages", sent=len(records), cases=total,
           fast_path=len(records) - len(model_bound), **tag)  # fmt: skip
    for cls in CLASSES:
        figure(f"real_model_{mode}_{cls}", 100 * counts[cls] / n, "%", count=counts[cls], of=len(model_bound), **tag)
    figure(f"real_model_{mode}_correct_or_asked", 100 * (counts["correct"] + counts["asked"]) / n, "%", **tag)
    seconds = [r["seconds"] for r in model_bound]
    if seconds:
        figure(f"real_model_{mode}_reply_p50", pct(seconds, 50), "s", **tag)
        figure(f"real_model_{mode}_reply_p95", pct(seconds, 95), "s", max=max(seconds), **tag)
    firsts = [r for r in model_bound if r["prompt_tokens"]]
    if firsts:
        cold = max((e, p) for r in firsts for e, p in zip(r["evaluated_tokens"], r["prompt_tokens"], strict=True))
        figure(f"real_model_{mode}_prompt_tokens_first_turn", firsts[0]["prompt_tokens"][0], "tokens",
               first_turn_seconds=model_bound[0]["seconds"], cold_evaluated=cold[0], cold_prompt=cold[1],
               **tag)  # fmt: skip
        warm = firsts[1:]
        if warm:
            figure(f"real_model_{mode}_prompt_tokens_warm_turn", median([r["prompt_tokens"][0] for r in warm]),
                   "tokens (median)", evaluated_median=median([r["evaluated_tokens"][0] for r in warm]),
                   evaluated_p95=pct([r["evaluated_tokens"][0] for r in warm], 95), **tag)  # fmt: skip
        calls = [len(r["prompt_tokens"]) for r in firsts]
        figure(f"real_model_{mode}_model_calls_per_turn", median(calls), "calls (median)", max=max(calls), **tag)
    raw = sum(1 for r in records if RAW.search(r["reply"]))
    figure(f"real_model_{mode}_raw_replies", raw, "replies", of=len(records), **tag)
    unchanged = ("could_not", "asked", "correct")  # for these, nothing changed unless an act case was correct
    claims = [
        r for r in model_bound if r["class"] in unchanged and not (r["class"] == "correct" and r["expect"] == "act")
    ]
    claims = [r for r in claims if CLAIM.search(r["reply"]) and not DISCLAIM.search(r["reply"])]
    figure(f"real_model_{mode}_claims_without_change", len(claims), "replies (by wording: a heuristic)",
           of=len(model_bound), examples=[r["reply"][:60] for r in claims[:3]], **tag)  # fmt: skip
    timed_out = sum(1 for r in model_bound if "did not answer within" in r["reply"])
    figure(f"real_model_{mode}_timed_out", timed_out, "replies", of=len(model_bound), **tag)
    outputs = [r["output_tokens"] for r in model_bound if r["counted"]]
    if outputs:
        figure(f"real_model_{mode}_output_tokens_per_turn", median(outputs), "tokens (median)",
               p95=pct(outputs, 95), max=max(outputs), **tag)  # fmt: skip


async def gemma(server: LlamaServer, messages: int) -> None:
    """The rambling base model: every reply within the budget; a plain command meanwhile is answered at once."""
    texts = ["tell me everything about the history of houses", "hello", "what is a roof?", "write me a long story",
             "why is the sky blue", "it is too dark in the bedroom", "describe the kitchen in detail",
             "what's on your mind", "list every light", "good night"][:messages]  # fmt: skip
    within, plain_first, plain_seconds, reply_seconds, chars = 0, 0, [], [], []
    with tempfile.TemporaryDirectory(prefix="claw-real-gemma-") as tmp:
        sim, app = await start_home(Path(tmp), server, "tools")
        try:
            budget = app.config.llm.turn_seconds
            for text in texts:
                await reset(sim, app)
                started = time.monotonic()
                turn = asyncio.create_task(app.local.ask(text))
                await asyncio.sleep(1.0)  # the model is reading its prompt
                plain_started = time.monotonic()
                await app.local.ask("turn on the hallway light")
                plain_seconds.append(time.monotonic() - plain_started)
                plain_first += not turn.done()
                reply = (await turn).text
                seconds = time.monotonic() - started
                reply_seconds.append(seconds)
                chars.append(len(reply))
                within += seconds <= budget + 5 and bool(reply.strip()) and reply.strip() != "Done."
        finally:
            await app.stop()
            await sim.stop()
    tag = {"model": "gemma-3-270m (base) q4_k_m", "server": PY_SERVER}
    figure("real_model_gemma_replies_within_budget", within, "replies", of=len(texts), budget_s=budget, **tag)
    figure(
        "real_model_gemma_reply_max", max(reply_seconds), "s", p50=pct(reply_seconds, 50), max_chars=max(chars), **tag
    )
    figure("real_model_gemma_plain_command_answered_first", plain_first, "commands", of=len(texts), **tag)
    figure("real_model_gemma_plain_command_p95", pct(plain_seconds, 95), "s", max=max(plain_seconds), **tag)


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--modes", default="structured,tools", help="[llm] decisions modes to run, in order")
    p.add_argument("--limit", type=int, default=0, help="at most N messages per mode")
    p.add_argument("--deadline", type=float, default=900.0, help="seconds per mode before it stops sending")
    p.add_argument("--gemma", type=int, default=6, help="messages for the rambling base model (0: none)")
    p.add_argument("--report", type=Path, default=None, help="write every message's record here (JSON)")
    p.add_argument("--seed", type=int, default=21, help="the order the cases are sent in")
    p.add_argument("--keep-log", type=Path, default=None, help="copy the Qwen server's log here")
    p.add_argument("--cases", type=Path, default=CASES, help="the messages (bench/real_model/holdout.yaml: hold-out)")
    p.add_argument(
        "--llama-server", type=Path, default=None, help="serve Qwen with this C++ llama-server binary (--jinja)"
    )
    args = p.parse_args()
    if reason := unavailable():
        figure("real_model_skipped", 0, "", reason=reason)
        return 0
    cases = load_cases(args.limit, args.seed, args.cases)
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="claw-llama-") as tmp:
        log_path = Path(tmp) / "qwen.log"
        if args.llama_server:
            server, process = start_cpp_server(args.llama_server, QWEN, "qwen2.5-coder-0.5b", log_path, n_ctx=8192)
        else:
            server, process = start_server(QWEN, "qwen2.5-coder-0.5b", log_path, n_ctx=8192, verbose=True)
        try:
            for mode in [m for m in args.modes.split(",") if m]:
                done = await run_mode(mode, server, ServerLog(log_path), cases, time.monotonic() + args.deadline)
                report_mode(mode, done, len(cases), CPP_SERVER if args.llama_server else PY_SERVER)
                records += done
        finally:
            stop_server(process)
            if args.keep_log:
                args.keep_log.write_bytes(log_path.read_bytes())
        if args.gemma:
            server, process = start_server(GEMMA, "gemma-3-270m", Path(tmp) / "gemma.log", n_ctx=8192)
            try:
                await gemma(server, args.gemma)
            finally:
                stop_server(process)
    if args.report:
        args.report.write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
