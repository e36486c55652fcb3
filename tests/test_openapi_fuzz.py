"""The private API against its own OpenAPI spec: schemathesis fuzzes every operation of a running daemon.

The spec is loaded from the live `/api/openapi.json`; each operation gets a bounded number of
generated requests (valid ones, and ones that break the schema) with the dashboard token. Every
answer must be documented: no 5xx, a status code the spec lists, its content type, and a body
that fits the spec's schema. The house is the simulated one on 127.0.N.x and the model is the
scripted one, so the state-changing endpoints act on nothing beyond loopback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from claw.web.dashboard import STATIC
from tests.dashboard_home import base_url, house
from tests.fakes.ollama_server import ScriptedOllama
from tests.test_hostile_input import raw_request

EXAMPLES = 40  # per operation and mode: 24 operations x 2 modes stays well under a minute on 2 cores
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# an endless server-sent event stream has no response to check; tests/test_api.py reads its frames
ENDLESS = {"GET /api/stream"}
SELF = "GET /api/openapi.json"  # schemathesis leaves out the document it was loaded from (that load is its test)


def fuzz(base: str, token: str, known: dict[str, list[str]]) -> tuple[dict[str, int], list[str]]:
    """Run schemathesis over every operation; requests sent per operation, and the failures found."""
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json", headers=auth, timeout=10)
    sent: dict[str, int] = {}
    failures: list[str] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            label = f"{operation.method.upper()} {operation.path}"
            if label in ENDLESS:
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                checks = CONFORMANCE + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])

                def call(case: Case, checks: list[Any] = checks, label: str = label) -> None:
                    sent[label] = sent.get(label, 0) + 1
                    case.call_and_validate(base_url=base, session=session, headers=auth, checks=checks, timeout=30)

                try:
                    run(strategy(operation, mode, known), call)
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE, label  # nothing to break: no parameters, no body
                except (AssertionError, FailureGroup) as exc:  # schemathesis found one failure, or several
                    failures.append(f"{label} ({mode.value}): {_short(exc)}")
    return sent, failures


def _short(exc: BaseException) -> str:
    """The failure's first lines: what was wrong and the curl line, without a megabyte of generated body."""
    text = "".join(traceback.format_exception_only(exc)).strip()
    return "\n".join(line[:300] for line in text.splitlines()[:40])


def strategy(operation: Any, mode: GenerationMode, known: dict[str, list[str]]) -> st.SearchStrategy[Case]:
    """Generated cases; path parameters are often a real device, routine or model, so the handlers run deep.

    Negative cases with a real path break the body instead, so validation past the lookup is fuzzed too.
    """
    plain = operation.as_strategy(generation_mode=mode)
    names = [p.name for p in operation.path_parameters] if operation.path_parameters else []
    real = [
        st.sampled_from(known[name]).flatmap(
            lambda value, name=name: operation.as_strategy(generation_mode=mode, path_parameters={name: value})
        )
        for name in names
        if known.get(name)
    ]
    if not real or (mode is GenerationMode.NEGATIVE and not len(operation.body)):
        return plain  # a negative case with a real path and no body would have nothing left to break
    return st.one_of(*real, plain)


def run(cases: st.SearchStrategy[Case], call: Callable[[Case], None]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def each(case: Case) -> None:
        call(case)

    each()


async def test_every_operation_answers_as_its_spec_says(tmp_path: Path, ollama: ScriptedOllama) -> None:
    async with house(tmp_path, llm_host=ollama.url) as (app, _sim):
        assert app.home is not None
        known = {
            "id": [d.id for d in app.home.registry.devices(include_ignored=True)],
            "name": [r.name for r in app.home.routines.all()],
            "model": ["claw"],
        }
        sent, failures = await asyncio.to_thread(fuzz, base_url(app), app.token, known)
    assert failures == [], "\n\n".join(failures)
    spec = json.loads((STATIC / "openapi.json").read_text())
    documented = {f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops}
    assert set(sent) == documented - ENDLESS - {SELF}  # every operation was really called
    assert sum(sent.values()) >= 10 * len(sent)


# -- bodies no generator writes: the documented 400/413, as JSON, with no traceback in the log ----------

MB = 1024 * 1024
# a bogus charset on a valid body may be answered (the bytes are UTF-8 JSON whatever the header says)
BROKEN = [
    ("deep arrays", b"[" * 20_000 + b"]" * 20_000, []),
    ("deep objects", b'{"a":' * 5_000 + b"1" + b"}" * 5_000, []),
    ("broken UTF-8", b'{"text": "\xff\xfe"}', []),
    ("bogus charset", b'{"text": "hi"}', [("Content-Type", "application/json; charset=utf-99")]),
    ("false gzip", b'{"text": "hi"}', [("Content-Encoding", "gzip")]),
    ("not JSON", b"\x00\x01garbage", []),
]


async def test_broken_json_bodies_are_documented_errors_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with house(tmp_path) as (app, _sim):
        assert app.home is not None
        lamp = app.home.registry.devices()[0].id
        port = app.config.private.port
        auth = [("Authorization", f"Bearer {app.token}")]
        with caplog.at_level(logging.DEBUG):
            for path in ("/api/chat", "/api/killswitch", f"/api/devices/{lamp}", f"/api/devices/{lamp}/ignore"):
                for what, body, headers in BROKEN:
                    sent = list({"Content-Type": "application/json", **dict(auth), **dict(headers)}.items())
                    status, answer = await raw_request(port, path, sent, body)
                    if (path, what) == ("/api/chat", "bogus charset"):
                        assert status == 200, answer[:200]
                        continue
                    assert status == 400, (path, what, status, answer[:200])
                    assert isinstance(json.loads(answer)["error"], str), (path, what)
                    status, answer = await raw_request(port, "/v1/chat/completions", sent, body)
                    assert status == 400, ("/v1/chat/completions", what, status, answer[:200])
                    assert json.loads(answer)["error"]["type"] == "invalid_request_error", what
            # over the listener's 8 MB: aiohttp's own 413, in the API's JSON shape
            status, answer = await raw_request(port, "/api/chat", auth, b'{"text": "' + b"a" * (9 * MB) + b'"}')
            assert status == 413 and "error" in json.loads(answer)
    troubles = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info or r.exc_text]
    assert troubles == [], [f"{r.name}: {r.getMessage()}" for r in troubles]
