"""Score a finished run again against the case files as they are now, without running the daemon again.

For when an expectation was wrong (a case file that had not caught up with the demo house): the observed
outcome of every case (reply, changes, jobs, model calls) is kept from the report and classified anew.
Records are matched to cases by file and message (ids shift when a file changes); a record whose message
no case has any more is dropped (and listed); a case whose effects need the after-state of untracked keys
keeps its class when the report did not keep that state.

    .venv/bin/python bench/understanding_rescore.py REPORT.json [--out RESCORED.json]   # prints the figures
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from _figures import ROOT  # noqa: F401 (puts the checkout on sys.path)
from understanding.cases import load
from understanding.classify import Outcome, classify
from understanding.figures import reply_flaws, report_figures
from understanding.house import TRACKED


def rescore(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    # by file and message, not by id: a case file that lost or gained a case shifts the ids after it
    every = load()
    cases = {(c.file, c.text, c.before): c for c in every}
    by_id = {c.id: c for c in every}
    changed: list[dict[str, str]] = []
    out: list[dict[str, Any]] = []
    for original in records:
        record = dict(original)
        if "reply" in record:  # the wording checks as they are now
            deferred = bool(record.get("model_calls"))
            record["reply_flaws"] = reply_flaws(record["lang"], record["reply"], deferred=deferred)
        before = tuple(b["text"] for b in record.get("before", []))
        same = by_id.get(record["id"])  # the same id with the same message first: cases may repeat a message
        if same is None or same.text != record["text"] or same.before != before:
            same = cases.get((str(record.get("file") or record["id"].split(":")[0] + ".yaml"), record["text"], before))
        case = same
        if case is None:  # the case is gone (or its message changed): what was observed is about no case now
            changed.append({"id": record["id"], "text": record["text"], "was": record["cls"], "now": "dropped"})
            continue
        if record.get("cls") == "harness":
            out.append(record)
            continue
        untracked = any(k not in TRACKED for e in case.effects.values() for k in e)
        if untracked and "after_raw" not in record:
            out.append(record)
            continue
        outcome = Outcome(
            status=int(record.get("status", 200)),
            reply=str(record.get("reply", "")),
            changes=record.get("changes") or {},
            after_raw=record.get("after_raw") or {},
            new_jobs=[{"id": j["id"], "description": j.get("what")} for j in record.get("new_jobs") or []],
            model_calls=int(record.get("model_calls", 0)),
        )
        cls, why = classify(case, outcome)
        if cls != record["cls"]:
            changed.append({"id": case.id, "text": case.text, "was": record["cls"], "now": cls, "why": why})
        out.append({**record, "id": case.id, "cls": cls, "why": why, "expect": case.expect, "effects": case.effects})
    return out, changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    records = json.loads(args.report.read_text(encoding="utf-8"))["cases"]
    rescored, changed = rescore(records)
    report_figures(rescored, 0.0, 0)
    print(json.dumps({"figure": "understanding rescored", "value": len(changed), "unit": "cases", "changed": changed}))
    if args.out is not None:
        args.out.write_text(json.dumps({"cases": rescored}, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
