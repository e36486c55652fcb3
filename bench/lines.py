"""Lines and modules of the understanding code: printed as one JSON object (before/after figures).

Counts every file of claw/assistant/understanding/ (Python and templates, recursively) and the
old matcher, phrasebook and regex fast paths by name; a file that is gone counts as 0 and is listed
under "missing", so the same command gives the "after" figure once they are deleted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The files issue 20 names as the ways to understand a message (the old ones are meant to go).
NAMED = (
    "claw/assistant/home_understanding.py",
    "claw/assistant/home_intents.py",
    "claw/assistant/plain_commands.py",
    "claw/assistant/phrasebook.py",
    "claw/assistant/eyes_chat.py",
    "claw/assistant/jobs_fastpath.py",
    "claw/assistant/interpreter.py",
    "claw/home/targeting.py",
)
PACKAGE = "claw/assistant/understanding"


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def count(root: Path = ROOT) -> dict[str, object]:
    files: dict[str, int] = {}
    missing: list[str] = []
    for rel in NAMED:
        path = root / rel
        if path.is_file():
            files[rel] = _lines(path)
        else:
            missing.append(rel)
    package = root / PACKAGE
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
            files[str(path.relative_to(root))] = _lines(path)
    python = {k: v for k, v in files.items() if k.endswith(".py")}
    templates = {k: v for k, v in files.items() if k.endswith(".yaml")}
    return {
        "figure": "understanding_code",
        "python_lines": sum(python.values()),
        "python_modules": len(python),
        "template_lines": sum(templates.values()),
        "template_files": len(templates),
        "missing": missing,
        "files": files,
    }


def main() -> int:
    print(json.dumps(count(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
