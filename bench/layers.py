"""Lines of Python per layer of ../shared/DESIGN.md (figures for the README): `python bench/layers.py [ROOT]`."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

# Where each top-level part of the package sits in the layers (the first release's flat names included,
# so the same script measures an old checkout: `git archive <commit> | tar -x -C DIR; python bench/layers.py DIR`).
LAYERS = {
    "core": ("core", "store", "errors.py", "config.py", "secrets.py", "typed.py", "bus.py", "tasks.py",
             "supervisor.py", "systemd.py"),
    "domain": ("home", "skills", "eyes", "jobs"),
    "assistant": ("assistant", "brain", "router.py"),
    "edges": ("channels", "web"),
    "daemon": ("daemon.py", "app.py", "parts.py"),
    "faces": ("cli.py", "demo.py", "doctor.py", "chat.py", "discover.py", "skills_cli.py"),
}  # fmt: skip


def lines(path: Path) -> int:
    """Physical lines, as `wc -l` counts them."""
    return len(path.read_text(encoding="utf-8").splitlines())


def function_imports(path: Path) -> int:
    """Import statements inside functions: a layering smell unless it loads an optional extra."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            count += sum(1 for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))
    return count


def main(root: Path) -> None:
    package = root / "claw"
    totals = dict.fromkeys(LAYERS, 0)
    sim = 0
    inner_imports = 0
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        top = rel.parts[0]
        if top == "sim" or (rel.parts[:2] == ("skills", "contract.py")):
            sim += lines(path)  # the simulated home lived inside the package in the first release
            continue
        layer = next((name for name, tops in LAYERS.items() if top in tops), "domain" if top == "home" else None)
        if layer is None:  # __init__.py and anything unexpected: counted with the core
            layer = "core"
        if top in ("home", "eyes", "jobs") and rel.name in ("tools.py", "fastpath.py", "chat.py", "intents.py"):
            layer = "assistant"  # language adapters that lived in the domain folders
        totals[layer] += lines(path)
        if top != "cli.py":
            inner_imports += function_imports(path)
    if (root / "claw_sim").is_dir():
        sim += sum(lines(p) for p in (root / "claw_sim").rglob("*.py"))
    runtime = sum(totals.values())
    for name, count in totals.items():
        print(json.dumps({"figure": f"lines_{name}", "value": count, "unit": "lines"}))
    print(json.dumps({"figure": "lines_claw_sim", "value": sim, "unit": "lines"}))
    print(json.dumps({"figure": "lines_runtime_package", "value": runtime, "unit": "lines", "goal": "< 17000"}))
    core_assistant_daemon = totals["core"] + totals["assistant"] + totals["daemon"]
    print(json.dumps({"figure": "lines_core_assistant_daemon", "value": core_assistant_daemon, "unit": "lines"}))
    print(json.dumps({"figure": "function_level_imports_outside_cli", "value": inner_imports, "unit": "imports"}))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
