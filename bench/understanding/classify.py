"""What happened to one message, as one of: correct, deferred, asked, wrong, dead_end, error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from understanding.cases import Case
from understanding.house import effects_match

CLASSES = ("correct", "deferred", "asked", "wrong", "dead_end", "error")
CODE = re.compile(r"\bOK [A-Z0-9]{4}\b")
ERROR = re.compile(r"something went wrong|traceback|internal server error", re.I)
DEAD = re.compile(
    r"I don't know '|I'm not sure what to do|can't reason about that|model server .* offline|don't understand"
    r"|I couldn't schedule|has no favourite like|can't find a speaker|no such pending",
    re.I,
)
QUESTION = re.compile(r"\?\s*$|\b(which one|which of|do you mean|did you mean)\b", re.I)


@dataclass(slots=True)
class Outcome:
    status: int = 200
    reply: str = ""
    changes: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    after_raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_jobs: list[dict[str, Any]] = field(default_factory=list)
    model_calls: int = 0
    exception: str = ""


def classify(case: Case, o: Outcome) -> tuple[str, str]:
    """(class, why)."""
    if o.exception:
        return "error", o.exception
    if o.status >= 500 or o.status == 0:
        return "error", f"HTTP {o.status}"
    if o.status >= 400:
        return "error", f"HTTP {o.status}: {o.reply[:120]}"
    if ERROR.search(o.reply):
        return "error", "the reply reports a failure"
    deferred = o.model_calls > 0
    code = bool(CODE.search(o.reply))
    question = bool(QUESTION.search(o.reply))
    dead = bool(DEAD.search(o.reply)) and not deferred
    jobs = [str(j.get("description") or j.get("what") or j.get("id")) for j in o.new_jobs]

    def lower_contains() -> list[str]:
        return [s for s in case.contains if s.lower() not in o.reply.lower()]

    def otherwise(why: str = "") -> tuple[str, str]:
        """No change, not what was expected: the model got it, a question, or a dead end."""
        if deferred:
            return _alt(case, "deferred", "went to the model")
        if question and (case.expect == "ask" or not dead):
            return _alt(case, "asked", "asked a question")
        return "dead_end", why or "answered without acting or asking, and without the model"

    if o.changes and case.expect != "act":
        return "wrong", "changed devices: " + _said(o.changes)
    if case.expect == "act":
        if o.changes:
            problems = effects_match(case.effects, o.changes, o.after_raw)
            problems += [f"the reply lacks {s!r}" for s in lower_contains()]
            return ("correct", "") if not problems else ("wrong", "; ".join(problems))
        if code:
            return "wrong", "asked for a code for something not asked"
        if jobs:
            return "wrong", "scheduled instead of acting now: " + ", ".join(jobs)
        return otherwise()
    if jobs and case.expect != "schedule":
        return "wrong", "scheduled a job: " + ", ".join(jobs)
    if case.expect == "code":
        if code:
            missing = lower_contains()
            return ("correct", "") if not missing else ("wrong", f"a code, but the reply lacks {missing}")
        return otherwise()
    if code:
        return "wrong", "asked for a code for something not asked"
    if case.expect == "ask":
        if deferred:
            return _alt(case, "deferred", "went to the model")
        if question:
            missing = lower_contains()
            return ("correct", "") if not missing else ("asked", f"asked, but the question lacks {missing}")
        return "dead_end", "neither acted nor asked"
    if case.expect == "defer":
        if deferred:
            return "correct", ""
        return otherwise("answered by the fast path instead of the model")
    if case.expect == "answer":
        if deferred:
            return _alt(case, "deferred", "went to the model")
        if dead:
            return "dead_end", "no answer"
        missing = lower_contains()
        if not missing:
            return "correct", ""
        if question:
            return _alt(case, "asked", "asked a question")
        return "wrong", f"answer lacks {missing}"
    if case.expect == "schedule":
        if jobs:
            missing = [s for s in case.job_contains if not any(s.lower() in j.lower() for j in jobs)]
            return ("correct", "") if not missing else ("wrong", f"a job, but not {missing}: {jobs}")
        return otherwise()
    raise AssertionError(case.expect)


def _alt(case: Case, cls: str, why: str) -> tuple[str, str]:
    """An outcome the case accepts (`also:`) counts as correct."""
    short = {"deferred": "defer", "asked": "ask"}[cls]
    if cls in case.also or short in case.also:
        return "correct", f"{why} (accepted)"
    return cls, why


def _said(changes: dict[str, dict[str, list[Any]]]) -> str:
    return "; ".join(f"{n}: " + ", ".join(f"{k} {v[0]!r}->{v[1]!r}" for k, v in c.items()) for n, c in changes.items())
