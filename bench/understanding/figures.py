"""The evaluation's figures from its records: classes, per language and per file, the goals, reply flaws."""

from __future__ import annotations

import collections
import re
import statistics
from collections.abc import Sequence
from typing import Any

from _figures import figure

from understanding.classify import CLASSES

# English words that no demo device name contains (and no es/de/fr word is): in such a reply, a mixed reply.
ENGLISH = re.compile(r"\b(the|were|already|turned|reply|valid|which|others|is|are|and|to|of|it|off)\b", re.IGNORECASE)
CODE_WORD = re.compile(r"\bOK ([A-Z0-9]{4})\b")


def reply_flaws(lang: str, reply: str, *, deferred: bool) -> list[str]:
    """What is wrong with the wording (not the outcome): English in another language, a code said twice."""
    flaws: list[str] = []
    if lang != "en" and not deferred:  # the scripted model answers in English by design
        words = sorted({m.group(0).lower() for m in ENGLISH.finditer(reply)})
        if words:
            flaws.append("English words: " + ", ".join(words))
    for code, times in collections.Counter(CODE_WORD.findall(reply)).items():  # one code, said once
        if times > 1:
            flaws.append(f"the code {code} said {times} times")
    return flaws


def rate(counts: collections.Counter[str]) -> float:
    total = sum(v for k, v in counts.items() if k in CLASSES)
    return 100.0 * counts["correct"] / total if total else float("nan")


# Issue 20's goals for every language: no wrong actions, no dead ends, commands right, questions answered here.
GOALS = {"wrong": 0, "dead_end": 0, "commands_correct_pct": 95.0, "state_answered_without_model_pct": 80.0}
COMMANDS = ("act", "code", "schedule")  # a command: the house (or a job) should change, or a code be asked


def outcomes(records: list[dict[str, Any]]) -> dict[str, Any]:
    """correct / to the model / asked / wrong / dead end (and errors), commands and state questions, for a group."""
    counts = collections.Counter(r["cls"] for r in records)
    commands = [r for r in records if r["expect"] in COMMANDS]
    # a state question asks about the house: greetings, thanks and chatter are the model's to answer
    questions = [r for r in records if r["expect"] == "answer" and not r.get("small_talk")]
    # answered without the model: correct, and the model was not asked (an accepted deferral does not count)
    answered = [r for r in questions if r["cls"] == "correct" and not r.get("model_calls")]
    out: dict[str, Any] = {
        "cases": len(records),
        "correct": counts["correct"],
        "to_model": counts["deferred"],
        "asked": counts["asked"],
        "wrong": counts["wrong"],
        "dead_end": counts["dead_end"],
        "error": counts["error"],
        "commands": len(commands),
        "commands_correct": sum(1 for r in commands if r["cls"] == "correct"),
        "state_questions": len(questions),
        "state_answered_without_model": len(answered),
    }
    out["correct_pct"] = round(100 * out["correct"] / max(1, len(records)), 1)
    out["commands_correct_pct"] = round(100 * out["commands_correct"] / max(1, len(commands)), 1)
    out["state_answered_without_model_pct"] = round(100 * len(answered) / max(1, len(questions)), 1)
    out["goals_met"] = {
        "wrong": out["wrong"] <= GOALS["wrong"],
        "dead_end": out["dead_end"] <= GOALS["dead_end"],
        "commands_correct_pct": out["commands_correct_pct"] >= GOALS["commands_correct_pct"],
        "state_answered_without_model_pct": out["state_answered_without_model_pct"]
        >= GOALS["state_answered_without_model_pct"],
    }
    return out


def report_figures(records: list[dict[str, Any]], elapsed: float, skipped: int, not_run: Sequence[str] = ()) -> None:
    scored = [r for r in records if r["cls"] in CLASSES]
    overall = collections.Counter(r["cls"] for r in scored)
    classes = {c: overall[c] for c in CLASSES}
    figure("understanding cases", len(scored), "cases", classes=classes, not_run=skipped, seconds=round(elapsed, 1))
    figure("understanding correct", rate(overall), "%", classes=classes)
    for c in CLASSES:
        figure(f"understanding {c}", overall[c], "cases", share_pct=round(100 * overall[c] / max(1, len(scored)), 1))
    grammar = collections.Counter(r["cls"] for r in scored if r["grammar"])
    figure(
        "understanding correct over grammar cases",
        rate(grammar),
        "%",
        cases=sum(grammar.values()),
        classes={c: grammar[c] for c in CLASSES},
        target=90,
    )
    all_out = outcomes(scored)
    figure("understanding goals", all_out["correct_pct"], "%", goals=GOALS, **all_out, not_run=list(not_run))
    for key in ("lang", "file"):  # the evaluation's table: one line per language, and per case file
        groups: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        for r in scored:
            groups[str(r.get(key, "?"))].append(r)
        for name in sorted(groups):
            out = outcomes(groups[name])
            figure(f"understanding outcomes [{key}={name}]", out["correct_pct"], "%", **out)
    for key in ("lang", "theme", "expect"):
        counters: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for r in scored:
            counters[r[key]][r["cls"]] += 1
        for name in sorted(counters):
            counts = counters[name]
            figure(
                f"understanding correct [{key}={name}]",
                rate(counts),
                "%",
                cases=sum(counts.values()),
                classes={c: counts[c] for c in CLASSES if counts[c]},
            )
    for lang in sorted({r["lang"] for r in scored}):  # issue 20: replies in the message's language, the code once
        flawed = [r for r in scored if r["lang"] == lang and r.get("reply_flaws")]
        figure(
            f"understanding reply flaws [lang={lang}]",
            len(flawed),
            "cases",
            examples=[{k: r[k] for k in ("id", "text", "reply", "reply_flaws")} for r in flawed[:40]],
        )
    times = [r["ms"] for r in scored if "ms" in r]
    if times:
        figure("understanding reply time median", statistics.median(times), "ms", max=max(times))
    for cls in ("wrong", "dead_end", "error"):
        bad = [r for r in scored if r["cls"] == cls]
        figure(
            f"understanding {cls} cases",
            len(bad),
            "cases",
            cases=[{"id": r["id"], "text": r["text"], "reply": r.get("reply", ""), "why": r["why"]} for r in bad],
        )
    harness = [r for r in records if r["cls"] == "harness"]
    drift = [r for r in records if r.get("drift")]
    figure(
        "understanding harness problems",
        len(harness) + len(drift),
        "cases",
        reset_failed=[{"id": r["id"], "why": r["why"]} for r in harness],
        registry_drift=[{"id": r["id"], "drift": r["drift"]} for r in drift],
    )
