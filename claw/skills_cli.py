"""`claw skills list | validate PATH | new NAME`: what is loaded, what is wrong (file:line: field), a template."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from claw.assistant.understanding.grammar import skill_template_problems
from claw.cli import DEFAULT_CONFIG
from claw.core.config import Config
from claw.daemon import load_config
from claw.skills.format import Problem, Skill
from claw.skills.loader import Loader, missing_requirements, skill_dirs
from claw.skills.parse import NAME, SkillInvalid, read_skill

TEMPLATE = """---
# The skill's name: lower case letters, digits and hyphens, the same as its folder's name.
name: {name}
# One line. The model sees it in every prompt, so say what the skill is for.
description: Control {name} devices on the local network (edit me).
# What the skill needs; without it the skill is listed as unavailable, with the reason.
# requires: {{env: [ACME_TOKEN], bins: [], python: []}}
claw:
  # How Claw recognises the device: an mDNS service type (name: a glob on the instance name),
  # an SSDP search target ({{ssdp: "urn:...", headers: {{server: "*Acme*"}}}}), or static: true
  # for hosts the owner lists in [[home.static]] with skill = "{name}".
  matchers:
    - {{mdns: _http._tcp, name: "{name}*"}}
    - {{static: true}}
  # Requests only ever go to the device that was found: paths, never URLs or other hosts.
  http: {{scheme: http, port: 80, errors: [$.error]}}
  # Secrets come from the environment or a systemd credential, never from this file:
  # auth: {{type: bearer, token_env: ACME_TOKEN}}        # or basic, header, query
  device:
    # A stable id (serial or MAC, never the IP) from the mDNS TXT records ({{txt.x}}), SSDP headers
    # ({{header.x}}) or the identify document ({{info.x}}). `a|b|'text'` takes the first that is set.
    id: "{{txt.id|info.id}}"
    name: "{{info.name|name}}"
    room: "{{info.room}}"
    kind: switch                    # light, switch, shade, thermostat, heater, lock, sensor, ...
    identify: {{path: /info}}         # read once when the device is found: `info` in the templates
    capabilities:
      - {{use: power}}                # common: power, brightness, position, setpoint, temperature, lock
      # - {{key: watts, type: sensor, unit: W}}
      # - {{key: mode, type: choice, options: [eco, normal, boost]}}
    state:
      request: {{path: /state}}
      values:
        on: $.on                    # a JSON path into the answer; add map, scale or as if needed:
        # on: {{at: $.relay, map: {{"ON": true, "OFF": false}}}}
    actions:
      # Setting a capability: {{value}} is the new value (after `values:` maps it, if given).
      on: {{method: POST, path: /state, body: {{on: "{{value}}"}}}}
      # A named action with JSON-schema params, used as {{params.x}}:
      # blink:
      #   method: POST
      #   path: /blink
      #   body: {{times: "{{params.times}}"}}
      #   params: {{times: {{type: integer, minimum: 1, maximum: 10}}}}
      #   required: [times]
  # Routines: a name, trigger phrases and actions on devices by name, room or kind.
  # routines:
  #   - name: movie night
  #     triggers: ["movie night", "movie time"]
  #     actions:
  #       - {{room: living room, kind: light, set: {{brightness: 20}}}}
---
# {name}

Guidance for the model, read only when this skill is relevant: what the device is, what its values
mean, and what to tell the owner when something fails.
"""


def skills_command(args: argparse.Namespace) -> int:
    """Dispatch `claw skills <list|validate|new>`; returns the exit status."""
    command = args.skills_command
    if command == "list":
        return list_skills(args.config)
    if command == "validate":
        return validate(Path(args.path))
    if command == "new":
        return new_skill(args.name, Path(args.dir))
    print(f"claw skills: unknown command {command!r}", file=sys.stderr)
    return 2


def list_skills(config_path: Path | None) -> int:
    if config_path is not None:
        config = load_config(config_path)
    elif DEFAULT_CONFIG.is_file():
        config = load_config(DEFAULT_CONFIG)
    else:
        config = Config()
    dirs = skill_dirs(config)
    entries = Loader(dirs, builtin=1, allow_python=config.skills.allow_python).load()
    width = max((len(e.name) for e in entries), default=4) + 2
    for entry in entries:
        status = "ok" if entry.available else ("error" if entry.problems else "unavailable")
        where = "built-in" if entry.builtin else str(entry.path.parent)
        detail = entry.skill.description if entry.available and entry.skill else entry.reason
        overrides = " (overrides the built-in)" if entry.overrides else ""
        print(f"{entry.name:<{width}}{status:<13}{where}{overrides}")
        if detail:
            print(f"{'':<{width}}{detail}")
        for problem in entry.problems:
            print(f"{'':<{width}}{problem}")
    if not entries:
        print("no skills found in " + ", ".join(str(d) for d in dirs))
    return 0


def validate(path: Path) -> int:
    """Check a SKILL.md, a skill folder or a folder of skill folders; 1 when anything is wrong."""
    files = _skill_files(path)
    if not files:
        print(f"{path}: no SKILL.md here (give a SKILL.md, a skill's folder or a folder of skills)", file=sys.stderr)
        return 1
    failed = 0
    for file in files:
        try:
            skill = read_skill(file)
        except SkillInvalid as exc:
            failed += 1
            for problem in exc.problems:
                print(problem)
            continue
        left_out = [*skill.warnings, *_check_sentences(skill)]
        problems = [*left_out, *_check_module(skill)]
        if problems:
            failed += 1
            for problem in problems:
                print(problem)
            if len(problems) == len(left_out):
                print(f"{file}: the rest of it works; the templates above are left out until you fix them")
            continue
        print(f"ok  {file}: {_summary(skill)}")
    if len(files) > 1:
        print(f"{len(files) - failed} of {len(files)} skills are valid")
    return 1 if failed else 0


def new_skill(name: str, folder: Path) -> int:
    if not NAME.match(name) or len(name) > 64:
        print(f"claw skills new: {name!r} must be lower case letters, digits and single hyphens", file=sys.stderr)
        return 1
    target = folder / name / "SKILL.md"
    if target.exists():
        print(f"claw skills new: {target} already exists", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(TEMPLATE.format(name=name), encoding="utf-8")
    print(f"wrote {target}")
    print(f"edit it, then check it with: claw skills validate {target.parent}")
    return 0


def _skill_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / "SKILL.md").is_file():
        return [path / "SKILL.md"]
    if path.is_dir():
        return sorted(p for p in path.glob("*/SKILL.md") if p.is_file())
    return []


def _check_sentences(skill: Skill) -> list[Problem]:
    """Templates that parse but that the grammar cannot take (an unknown {list} or <rule>), as the daemon sees them."""
    lines = skill.path.read_text(encoding="utf-8").splitlines()
    out = []
    for language, intents in skill.sentences.items():
        for intent, sentence, why in skill_template_problems(language, intents):
            line = next((n for n, text in enumerate(lines, 1) if sentence in text), 0)
            out.append(Problem(str(skill.path), line, f"claw.sentences.{language}.{intent}", why))
    return out


def _check_module(skill: Skill) -> list[Problem]:
    """A Python driver is compiled (never run) to catch syntax errors with their line."""
    if skill.driver != "python":
        return []
    module = skill.folder / skill.module
    try:
        compile(module.read_text(encoding="utf-8"), str(module), "exec")
    except SyntaxError as exc:
        return [Problem(str(module), exc.lineno or 0, "", f"syntax error: {exc.msg}")]
    except OSError as exc:
        return [Problem(str(module), 0, "", f"cannot be read ({exc.strerror})")]
    return []


def _summary(skill: Skill) -> str:
    parts = []
    if skill.device is not None:
        kinds = sorted({p.kind.text if p.kind.is_literal else "(kind from the device)" for p in skill.profiles()})
        bridge = " (a bridge)" if skill.device.expand is not None else ""
        parts.append(f"device {', '.join(kinds)}{bridge}")
    if skill.driver == "python":
        parts.append(f"Python driver {skill.module} (runs only if allowed in [skills] allow_python)")
    if skill.routines:
        parts.append(f"routines: {', '.join(r.name for r in skill.routines)}")
    if skill.sentences:
        count = sum(len(t) for intents in skill.sentences.values() for t in intents.values())
        parts.append(f"{count} sentence template{'s' if count != 1 else ''} ({', '.join(sorted(skill.sentences))})")
    missing = missing_requirements(skill)
    if missing:
        parts.append(f"unavailable here: {missing}")
    return "; ".join(parts) or "guidance only"
