"""Load and validate 200 generated skills, then reload after one file changes; prints JSON figures.

Run: .venv/bin/python bench/skills_load.py [--skills 200] [--rounds 5]
Each generated skill is a full device skill (matchers, identity, four capabilities, a state read,
three actions, one with JSON-schema params) or, one in four, a routine skill.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from claw.skills.loader import Loader

DEVICE = """---
name: {name}
description: Generated plug number {n} for the load benchmark.
claw:
  matchers:
    - {{mdns: _bench{n}._tcp, name: "plug-*"}}
    - {{static: true}}
  http: {{errors: [$.error]}}
  device:
    id: "{{txt.serial|info.serial}}"
    name: "{{info.name|name}}"
    room: "{{info.room}}"
    kind: switch
    model: "Bench Plug {n}"
    identify: {{path: /api/info}}
    capabilities:
      - {{use: power}}
      - {{use: brightness}}
      - {{key: watts, type: sensor, unit: W}}
      - {{key: mode, type: choice, options: [eco, normal, boost]}}
    state:
      request: {{path: /api/state}}
      values:
        on: {{at: $.relay.state, map: {{"ON": true, "OFF": false}}}}
        brightness: {{at: $.level, scale: [0, 255]}}
        watts: $.meter.watts
        mode: $.mode
    actions:
      on: {{method: PUT, path: /api/relay, body: {{state: "{{value}}"}}, values: {{true: "ON", false: "OFF"}}}}
      brightness: {{method: PUT, path: /api/level, body: {{level: "{{value}}"}}, scale: [0, 255]}}
      mode: {{method: PUT, path: /api/mode, query: {{m: "{{value}}"}}}}
      blink:
        method: POST
        path: /api/blink
        body: {{times: "{{params.times}}"}}
        params: {{times: {{type: integer, minimum: 1, maximum: 10}}}}
        required: [times]
---
# Plug {n}

Guidance for the model about plug {n}.
"""

ROUTINE = """---
name: {name}
description: Generated routine number {n}.
claw:
  routines:
    - name: scene {n}
      description: lights off and shades down, number {n}
      triggers: ["scene {n}", "do scene {n}"]
      actions:
        - {{kind: light, power: off}}
        - {{kind: shade, set: {{position: 0}}}}
        - {{room: kitchen, kind: light, power: on}}
---
Routine {n}.
"""


def write_skills(root: Path, count: int) -> None:
    for n in range(count):
        name = f"bench-{n:03d}"
        folder = root / name
        folder.mkdir(parents=True)
        text = (ROUTINE if n % 4 == 3 else DEVICE).format(name=name, n=n)
        (folder / "SKILL.md").write_text(text, encoding="utf-8")


def figure(name: str, value: float, unit: str) -> None:
    print(json.dumps({"figure": name, "value": round(value, 2), "unit": unit}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skills", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "skills"
        write_skills(root, args.skills)
        cold, reload_ms, check_ms = [], [], []
        for round_ in range(args.rounds):
            loader = Loader([root], builtin=0)
            t0 = time.perf_counter()
            entries = loader.load()
            cold.append((time.perf_counter() - t0) * 1000)
            bad = [p for e in entries for p in e.problems]
            if bad or len(entries) != args.skills:
                raise SystemExit(f"generated skills did not load cleanly: {bad[:3]}")
            t0 = time.perf_counter()
            loader.changed()
            check_ms.append((time.perf_counter() - t0) * 1000)
            target = root / "bench-000" / "SKILL.md"
            target.write_text(target.read_text(encoding="utf-8").replace("plug number", f"plug {round_} number"))
            stat = target.stat()
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
            t0 = time.perf_counter()
            if not loader.changed():
                raise SystemExit("the edit was not noticed")
            again = loader.load()
            reload_ms.append((time.perf_counter() - t0) * 1000)
            assert next(e for e in again if e.name == "bench-000").skill is not None
        figure(f"skills_load_validate_{args.skills}_ms", statistics.median(cold), "ms")
        figure(f"skills_load_validate_per_skill_{args.skills}_ms", statistics.median(cold) / args.skills, "ms")
        figure(f"skills_change_check_{args.skills}_ms", statistics.median(check_ms), "ms")
        figure(f"skills_reload_one_changed_of_{args.skills}_ms", statistics.median(reload_ms), "ms")


if __name__ == "__main__":
    main()
