"""Understanding evaluation (issue 12): household messages against the real daemon and the demo house.

Starts a scripted Ollama stand-in and `claw demo` on loopback, then for each case in
bench/understanding/cases/*.yaml: resets the house, sends the case's earlier messages and its text
through `POST /api/chat`, reads `GET /api/devices` and `GET /api/jobs`, and classifies the outcome as
correct, deferred (went to the model), asked, wrong (acted on the wrong devices or values), dead_end
or error. Prints one JSON object per figure; `--report PATH` writes every case.

.venv/bin/python bench/understanding.py [--report out.json] [--only PATTERN] [--lang es,de] [--limit N]
                                        [--claw-root DIR]   # run the daemon from another checkout
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _figures import ROOT
from understanding.cases import Case, load, select
from understanding.classify import Outcome, classify
from understanding.daemon import Daemon
from understanding.figures import reply_flaws, report_figures
from understanding.house import House, diff, raw_states, snapshot
from understanding.model import FakeModel

from claw.assistant.speech import say_refusal
from claw.core.ratelimit import Refusal


def args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--report", type=Path, default=None, help="write every case's outcome here (JSON)")
    p.add_argument("--only", default="", help="glob or substring over case id, file, theme or text")
    p.add_argument("--lang", default="", help="only these languages (comma-separated: en,es,de,fr)")
    p.add_argument("--limit", type=int, default=0, help="at most N cases")
    p.add_argument("--claw-root", type=Path, default=None, help="run the daemon from this checkout (default: this one)")
    p.add_argument("--subnet", type=int, default=0, help="simulated devices on 127.0.N.x (default: random)")
    p.add_argument("--deadline", type=float, default=1800.0, help="stop starting cases after this many seconds")
    p.add_argument("--case-timeout", type=float, default=60.0, help="seconds to wait for one reply")
    p.add_argument("--keep", action="store_true", help="keep the temporary state dir (daemon log, database)")
    p.add_argument("--cameras", action="store_true", help="run the demo's driveway camera (cases that need it)")
    p.add_argument("--no-ground-truth", action="store_true", help="skip comparing the registry with the devices")
    return p


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def _limited(reply: str) -> bool:
    """The reply is the owner's command limit (3,000 a minute): the resets between cases can reach it on their own."""
    english = "That is over 3000 commands in a minute, so I paused: nothing changed; try again in a moment."
    per_minute = Refusal(reason="limit", who="owner", ceiling=3000, own=True, english=english)
    said = [say_refusal(per_minute, lang).split(":")[0] for lang in ("en", "es", "de", "fr")]
    return any(s and s in reply for s in said)


def run_case(case: Case, daemon: Daemon, house: House, model: FakeModel, timeout: float, check: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": case.id,
        "lang": case.lang,
        "theme": case.theme,
        "small_talk": case.small_talk,
        "text": case.text,
        "expect": case.expect,
        "grammar": case.grammar,
        "file": case.file,
    }
    t0 = time.perf_counter()
    problems = house.reset(case.given)
    if problems:
        record.update(cls="harness", why="reset failed: " + "; ".join(problems))
        return record
    jobs_before = {j["id"] for j in daemon.get("/api/jobs")}
    daemon.chat("/new")  # a fresh conversation: no earlier case leaks in
    record["before"] = [{"text": b, "reply": daemon.chat(b, timeout=timeout)[1]} for b in case.before]
    devices_before = house.devices()
    before = snapshot(devices_before)
    mark = model.mark()
    outcome = Outcome()
    t1 = time.perf_counter()
    try:
        outcome.status, outcome.reply = daemon.chat(case.text, timeout=timeout)
    except Exception as exc:  # a timeout or a dropped connection is the daemon's error
        outcome.status, outcome.exception = 0, f"{type(exc).__name__}: {exc}"
    record["ms"] = round((time.perf_counter() - t1) * 1000, 1)
    devices_after = house.devices()
    outcome.changes = diff(before, snapshot(devices_after))
    outcome.after_raw = raw_states(devices_after)
    jobs_after = daemon.get("/api/jobs")
    outcome.new_jobs = [j for j in jobs_after if j["id"] not in jobs_before]
    said = norm(case.text)
    outcome.model_calls = sum(1 for c in model.calls_since(mark) if said in norm(c.user_text))
    cls, why = classify(case, outcome)
    record.update(
        cls=cls,
        why=why,
        status=outcome.status,
        reply=outcome.reply,
        changes=outcome.changes,
        effects=case.effects,
        new_jobs=[{"id": j["id"], "what": j.get("description") or j.get("what")} for j in outcome.new_jobs],
        after_raw={n: outcome.after_raw.get(n, {}) for n in case.effects},  # for bench/understanding_rescore.py
        model_calls=outcome.model_calls,
    )
    record["reply_flaws"] = reply_flaws(case.lang, outcome.reply, deferred=outcome.model_calls > 0)
    for job in outcome.new_jobs:  # a job left behind would fire during a later case
        daemon.chat(f"/jobs delete {job['id']}")
    if check:
        drift = house.ground_truth()
        if drift:
            record["drift"] = drift
    record["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return record


def main(argv: list[str] | None = None) -> int:
    args = args_parser().parse_args(argv)
    cases = select(load(), only=args.only, lang=args.lang, limit=args.limit)
    # a case that needs the camera is not run without it (and said so), never scored as a failure
    not_run = [c.id for c in cases if "cameras" in c.needs and not args.cameras]
    cases = [c for c in cases if c.id not in set(not_run)]
    if not cases:
        print("no cases match", file=sys.stderr)
        return 2

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    tmp = Path(tempfile.mkdtemp(prefix="claw-understanding-"))
    model = FakeModel()
    daemon: Daemon | None = None
    records: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        url = model.start()
        subnet = args.subnet or random.randint(150, 249)
        daemon = Daemon(
            tmp / "state",
            llm_host=url,
            subnet=subnet,
            claw_root=(args.claw_root or ROOT).resolve(),  # this checkout's code, even if the venv's install is stale
            log_path=tmp / "daemon.log",
            cameras=args.cameras,
        )
        try:
            daemon.start()
        except RuntimeError:
            log = tmp / "daemon.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            print(f"claw demo did not come up:\n{tail}", file=sys.stderr)
            raise
        named = {n for c in load() for n in (*c.effects, *c.given)}
        devices = daemon.wait_named(named)  # HTTP, Sonos, Home Assistant and MQTT devices come at their own pace
        house = House(daemon, devices)
        missing = named - set(house.ids)
        if missing:
            raise RuntimeError(f"the demo house lacks {sorted(missing)}; devices: {sorted(house.ids)}")
        print(f"{len(cases)} cases, daemon at {daemon.url}, model at {url}, state in {tmp}", file=sys.stderr)
        for i, case in enumerate(cases):
            if time.monotonic() - started > args.deadline:
                print(f"deadline: stopped after {i} cases", file=sys.stderr)
                break
            try:
                record = run_case(case, daemon, house, model, args.case_timeout, not args.no_ground_truth)
                if _limited(str(record.get("reply", ""))):  # the harness's own resets filled the owner's minute
                    print("(the owner's command limit: waiting a minute, then the case again)", file=sys.stderr)
                    time.sleep(61)
                    record = run_case(case, daemon, house, model, args.case_timeout, not args.no_ground_truth)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # the harness itself failed on this case: said, not counted
                record = {"id": case.id, "lang": case.lang, "theme": case.theme, "text": case.text}
                record.update(
                    expect=case.expect, grammar=case.grammar, cls="harness", why=f"{type(exc).__name__}: {exc}"
                )
            records.append(record)
            mark = {"correct": ".", "deferred": "d", "asked": "?", "wrong": "W", "dead_end": "x", "error": "E"}
            print(mark.get(record["cls"], "H"), end="" if (i + 1) % 80 else "\n", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted; reporting what ran", file=sys.stderr)
    except RuntimeError as exc:
        print(f"understanding: {exc}", file=sys.stderr)
        return 1
    finally:
        if daemon is not None:
            daemon.stop()
        model.stop()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started
    report_figures(records, elapsed, len(cases) - len(records) + len(not_run), not_run)
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps({"cases": records}, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
