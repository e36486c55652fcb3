"""Python drivers for protocols that need code: `driver: python` + `module: driver.py`, run only when allowed by name.

The module defines `create_driver(skill: Skill, context: DriverContext) -> Driver` (see claw.home.device.Driver).
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claw.home.device import Driver
from claw.skills.format import Problem, Skill
from claw.skills.pairing import Notify, TokenStore

NOT_ALLOWED = "Python drivers are off unless allowed in [skills] allow_python"
_counter = itertools.count()
DRIVER_METHODS = ("identify", "capabilities", "read", "write", "act")


@dataclass(frozen=True, slots=True)
class DriverContext:
    """What a Python driver gets from Claw: the device timeout, a folder of its own, tokens and the owner."""

    timeout: float
    data_dir: Path
    tokens: TokenStore
    notify: Notify | None = None


Factory = Callable[[Skill, DriverContext], Any]


class DriverModuleError(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def import_factory(skill: Skill) -> Factory:
    """Import the skill's module afresh (a changed file is re-read) and return its create_driver."""
    path = skill.folder / skill.module
    module_name = f"claw_skill_{skill.name.replace('-', '_')}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise DriverModuleError(Problem(str(path), 0, "", "cannot be imported"))
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise DriverModuleError(Problem(str(path), exc.lineno or 0, "", f"syntax error: {exc.msg}")) from None
    except Exception as exc:
        frames = reversed(traceback.extract_tb(exc.__traceback__))
        line = next((f.lineno or 0 for f in frames if f.filename == str(path)), 0)
        problem = Problem(str(path), line, "", f"failed on import: {type(exc).__name__}: {exc}")
        raise DriverModuleError(problem) from None
    finally:
        sys.modules.pop(module_name, None)
    factory = getattr(module, "create_driver", None)
    if not callable(factory):
        raise DriverModuleError(Problem(str(path), 0, "", "must define create_driver(skill, context) -> Driver"))
    return factory  # type: ignore[no-any-return]


def make_python_driver(skill: Skill, factory: Factory, context: DriverContext) -> Driver:
    """Call the module's factory and check the result speaks the Driver protocol."""
    driver = factory(skill, context)
    missing = [m for m in DRIVER_METHODS if not callable(getattr(driver, m, None))]
    if missing:
        raise TypeError(f"{skill.module}: create_driver returned an object without {', '.join(missing)}")
    driver.name = skill.name
    act = driver.act
    if "cleared" not in inspect.signature(act).parameters:  # written before Control said who released an action

        async def act_cleared(device: Any, action: str, params: Any, *, cleared: bool = False) -> Any:
            return await act(device, action, params)

        driver.act = act_cleared
    return driver  # type: ignore[no-any-return]
