"""What the distribution promises: every import declared, heavy parts as extras, pinned versions, defaults."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# Only these folders may import an extra's modules, and only when that feature is configured.
EXTRA_HOMES = {
    "eyes": ("claw/eyes/", "claw_sim/"),
    "whatsapp": ("claw/channels/whatsapp/",),
    "telegram": ("claw/channels/telegram/",),
    "mcp": ("claw/web/mcp/", "claw/mcp_stdio.py"),
}


def requirements(group: str | None = None) -> dict[str, Requirement]:
    lines = PROJECT["dependencies"] if group is None else PROJECT["optional-dependencies"][group]
    found = [Requirement(line) for line in lines]
    return {canonicalize_name(r.name): r for r in found if canonicalize_name(r.name) != "claw-home"}


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module imported -> the files importing it, for claw/ and claw_sim/."""
    local = {"claw", "claw_sim"}
    uses: dict[str, set[str]] = {}
    for folder in ("claw", "claw_sim"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in local:
                        uses.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return uses


def test_the_distribution_is_not_the_unrelated_claw_on_the_index() -> None:
    assert PROJECT["name"] == "claw-home"
    assert PROJECT["scripts"] == {"claw": "claw.cli:main"}
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]


def test_every_module_the_code_imports_is_declared_and_heavy_ones_are_extras() -> None:
    by_module = packages_distributions()
    declared = {None: requirements(), **{extra: requirements(extra) for extra in EXTRA_HOMES}}
    for module, files in third_party_imports().items():
        dists = {canonicalize_name(d) for d in by_module.get(module, [])}
        assert dists, f"{module} (imported by {sorted(files)}) is not installed"
        group = next((g for g, reqs in declared.items() if dists & reqs.keys()), "missing")
        assert group != "missing", f"{module} (imported by {sorted(files)}) is not declared in pyproject.toml"
        if group is not None:  # an extra's module: only inside the part that needs it
            strays = [f for f in files if not f.startswith(EXTRA_HOMES[group])]
            assert not strays, f"{module} is the [{group}] extra's, but {strays} import it"


def test_constraints_pin_every_declared_requirement_within_its_range() -> None:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    for group in (None, "eyes", "whatsapp", "telegram", "mcp"):  # a service install; the dev tools are pinned there too
        for name, requirement in requirements(group).items():
            assert name in pins, f"constraints.txt does not pin {name}"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {requirement}"
            )


def test_the_packaged_defaults_are_the_files_at_the_repository_root() -> None:
    for name in ("SOUL.md", "config.example.toml"):  # claw/defaults/ links to them; the wheel holds their text
        assert (ROOT / name).read_bytes() == (ROOT / "claw" / "defaults" / name).read_bytes(), (
            f"claw/defaults/{name} (what the wheel ships) differs from {name}: make it a link to ../../{name} again"
        )
