"""Reading one SKILL.md into a Skill, or into precise problems (file, line, field) when it is wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from hassil.expression import Expression, Group, ListReference, RuleReference, Sentence
from hassil.parse_expression import parse_sentence

from claw.home.routines import Routine, RoutineError, parse_routine
from claw.skills import parse_device
from claw.skills.check import Checker, FieldPath
from claw.skills.format import Auth, Http, MatchSpec, Pairing, Problem, Requirements, Skill
from claw.skills.source import FrontmatterError, Source, dotted, split, undotted

NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MDNS = re.compile(r"^_[A-Za-z0-9][\w-]*\._(?:tcp|udp)(?:\.local\.?)?$")
CLAW_KEYS = ("matchers", "http", "auth", "pairing", "device", "routines", "sentences", "driver", "module")
SENTENCE_LANGUAGES = ("en", "es", "de", "fr")
PAIR_ROOTS = frozenset({"device", "host", "port", "address", "name"})


class SkillInvalid(Exception):
    """A skill file has mistakes; `problems` lists each with file, line and field."""

    def __init__(self, problems: list[Problem], name: str = "") -> None:
        self.problems, self.name = problems, name
        super().__init__("; ".join(str(p) for p in problems))


def read_skill(path: Path, text: str | None = None) -> Skill:
    """Parse and validate a SKILL.md; raises SkillInvalid with every problem found."""
    file = str(path)
    try:
        source = split(path.read_text(encoding="utf-8") if text is None else text)
        data = source.data()
    except FrontmatterError as exc:
        raise SkillInvalid([Problem(file, exc.line, "", str(exc))], path.parent.name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SkillInvalid([Problem(file, 0, "", f"cannot read the file ({exc})")], path.parent.name) from None
    c, said = Checker(), Checker()  # `said`: sentence templates, each dropped alone when wrong
    skill = _skill(c, data, path, source, said)

    def located(checker: Checker) -> list[Problem]:
        return sorted(
            (
                Problem(file, source.line_of(where, key=at_key), dotted(where), message)
                for where, message, at_key in checker.problems
            ),
            key=lambda p: p.line,
        )

    if c.problems or skill is None:
        name = data.get("name") if isinstance(data, Mapping) and isinstance(data.get("name"), str) else ""
        problems = located(c) + located(said)
        raise SkillInvalid(problems or [Problem(file, 1, "", "not a skill")], name or path.parent.name)
    return replace(skill, warnings=tuple(located(said))) if said.problems else skill


def _skill(c: Checker, data: Any, path: Path, source: Source, said: Checker) -> Skill | None:
    if not isinstance(data, Mapping):
        c.error((), "the frontmatter must be a mapping with name and description")
        return None
    name = c.string(data.get("name"), ("name",), required=True)
    if name and (not NAME.match(name) or len(name) > 64):
        c.error(("name",), f"{name!r} must be lower case letters, digits and single hyphens (at most 64)")
    elif name and name != path.parent.name:
        c.error(("name",), f"{name!r} must match its folder's name {path.parent.name!r}")
    description = c.string(data.get("description"), ("description",), required=True)
    if len(description) > 1024:
        c.error(("description",), "must be at most 1024 characters (one line for the prompt)")
    requires = _requirements(c, data)
    raw = c.mapping(data.get("claw"), ("claw",), CLAW_KEYS)
    driver = c.choice(raw.get("driver"), ("claw", "driver"), ("declarative", "python"), "declarative")
    module = c.string(raw.get("module"), ("claw", "module"))
    if driver == "python":
        if not module:
            c.error(
                ("claw", "module"), "is required with driver: python (a file in the skill's folder, e.g. driver.py)"
            )
        elif "/" in module or "\\" in module or not module.endswith(".py"):
            c.error(("claw", "module"), f"{module!r} must be a .py file right in the skill's folder")
        elif not (path.parent / module).is_file():
            c.error(("claw", "module"), f"{module!r} is not in {path.parent}")
    elif module:
        c.error(("claw", "module"), "goes with driver: python")
    matchers = _matchers(c, raw.get("matchers"), ("claw", "matchers"))
    device = None
    if "device" in raw:
        device = parse_device.device(c, raw["device"], ("claw", "device"), python=driver == "python")
        if not matchers:
            c.error(
                ("claw", "matchers"), "a device needs at least one matcher: {mdns: ...}, {ssdp: ...} or {static: true}"
            )
    elif matchers:
        c.error(("claw", "device"), "is required with matchers: how an announcement becomes a device")
    if driver == "python" and device is None:
        c.error(("claw", "device"), "is required with driver: python (at least id and kind)")
    pairing = _pairing(c, raw.get("pairing"), ("claw", "pairing"))
    auth = _auth(c, raw.get("auth"), ("claw", "auth"), pairing)
    return Skill(
        name=name,
        description=description,
        path=path,
        body=source.body,
        requires=Requirements(
            env=tuple(dict.fromkeys((*requires.env, *auth.env_names()))), bins=requires.bins, python=requires.python
        ),
        matchers=matchers,
        http=_http(c, raw.get("http"), ("claw", "http")),
        auth=auth,
        pairing=pairing,
        device=device,
        routines=_routines(c, raw.get("routines"), path),
        sentences=_sentences(said, raw.get("sentences")),
        driver=driver,
        module=module,
    )


def _requirements(c: Checker, data: Mapping[str, Any]) -> Requirements:
    """`requires:` at the top, or under metadata (metadata.requires, metadata.claw/openclaw.requires)."""
    where: FieldPath = ("requires",)
    raw = data.get("requires")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), Mapping) else {}
    if raw is None and isinstance(metadata, Mapping):
        for key in ("claw", "openclaw"):
            block = metadata.get(key)
            if isinstance(block, Mapping) and block.get("requires") is not None:
                raw, where = block["requires"], ("metadata", key, "requires")
        if raw is None and metadata.get("requires") is not None:
            raw, where = metadata["requires"], ("metadata", "requires")
    req = c.mapping(raw, where, ("env", "bins", "python", "config"))
    return Requirements(
        env=c.env_names(req.get("env"), (*where, "env")),
        bins=c.strings(req.get("bins"), (*where, "bins")),
        python=c.strings(req.get("python"), (*where, "python")),
    )


def _matchers(c: Checker, data: Any, path: FieldPath) -> tuple[MatchSpec, ...]:
    out = []
    for i, item in enumerate(c.items(data, path)):
        where = (*path, i)
        raw = c.mapping(item, where, ("mdns", "name", "ssdp", "headers", "static"))
        given = [k for k in ("mdns", "ssdp", "static") if raw.get(k)]
        if len(given) != 1:
            c.error(where, "give exactly one of mdns (a service type), ssdp (a search target) or static: true")
            continue
        if "mdns" in raw:
            kind = c.string(raw["mdns"], (*where, "mdns"), required=True)
            if not _MDNS.match(kind):
                c.error((*where, "mdns"), f"{kind!r} is not an mDNS service type like _shelly._tcp")
            full = kind.removesuffix(".").removesuffix(".local") + ".local."
            service = full.split(".", 1)[0][1:]
            if len(service) > 15 or "--" in service or service.startswith("-") or service.endswith("-"):
                # RFC 6763: zeroconf refuses to browse such a type, which would stop discovery
                c.error((*where, "mdns"), f"{kind!r}: the service name must be 1-15 characters, no '--'")
            out.append(MatchSpec(mdns=full, name=c.string(raw.get("name"), (*where, "name"), default="*")))
            if raw.get("headers"):
                c.error((*where, "headers"), "goes with ssdp matchers")
        elif "ssdp" in raw:
            headers = {
                k.lower(): c.string(v, (*where, "headers", k), required=True)
                for k, v in c.mapping(raw.get("headers"), (*where, "headers")).items()
            }
            out.append(MatchSpec(ssdp=c.string(raw["ssdp"], (*where, "ssdp"), required=True), headers=headers))
        else:
            c.boolean(raw.get("static"), (*where, "static"), True)
            out.append(MatchSpec(static=True))
    return tuple(out)


def _http(c: Checker, data: Any, path: FieldPath) -> Http:
    raw = c.mapping(data, path, ("scheme", "port", "verify_tls", "errors"))
    port = c.number(raw.get("port"), (*path, "port"), 80.0)
    if not (1 <= port <= 65535 and float(port).is_integer()):
        c.error((*path, "port"), "must be a port number from 1 to 65535")
        port = 80
    errors = raw.get("errors")
    paths = [
        c.path(p, (*path, "errors", i))
        for i, p in enumerate([errors] if isinstance(errors, str) else c.items(errors, (*path, "errors")))
    ]
    return Http(
        scheme=c.choice(raw.get("scheme"), (*path, "scheme"), ("http", "https"), "http"),
        port=int(port),
        verify_tls=c.boolean(raw.get("verify_tls"), (*path, "verify_tls"), True),
        errors=tuple(p for p in paths if p is not None),
    )


def _auth(c: Checker, data: Any, path: FieldPath, pairing: Pairing | None) -> Auth:
    if data is None:
        return Auth()
    raw = c.mapping(data, path, ("type", "username_env", "password_env", "token_env", "token_from", "header", "param"))
    kind = c.choice(raw.get("type"), (*path, "type"), ("none", "basic", "bearer", "header", "query"), "none")
    if "type" not in raw:
        c.error((*path, "type"), "is required: none, basic, bearer, header or query")

    def env(key: str) -> str:
        names = c.env_names(raw.get(key), (*path, key))
        return names[0] if names else ""

    auth = Auth(
        type=kind,
        username_env=env("username_env"),
        password_env=env("password_env"),
        token_env=env("token_env"),
        token_from=c.choice(raw.get("token_from"), (*path, "token_from"), ("pairing",), ""),
        header=c.string(raw.get("header"), (*path, "header")),
        param=c.string(raw.get("param"), (*path, "param")),
    )
    if kind == "basic" and not (auth.username_env and auth.password_env):
        c.error(path, "basic auth needs username_env and password_env (names of environment variables)")
    if kind in ("bearer", "header", "query") and bool(auth.token_env) == bool(auth.token_from):
        c.error(path, f"{kind} auth needs one of token_env (an environment variable) or token_from: pairing")
    if kind == "header" and not auth.header:
        c.error((*path, "header"), "is required: the header that carries the token")
    if kind == "query" and not auth.param:
        c.error((*path, "param"), "is required: the query parameter that carries the token")
    if auth.token_from == "pairing" and (pairing is None or pairing.request is None or pairing.token is None):
        c.error((*path, "token_from"), "needs a pairing block with a request and the token's path")
    return auth


def _pairing(c: Checker, data: Any, path: FieldPath) -> Pairing | None:
    if data is None:
        return None
    raw = c.mapping(data, path, ("steps", "request", "token", "error", "every", "timeout"))
    steps = c.strings(raw.get("steps"), (*path, "steps"))
    if not steps:
        c.error((*path, "steps"), 'tell the owner what to do, e.g. ["Press the link button on the bridge."]')
    request = parse_device.request(c, raw["request"], (*path, "request"), PAIR_ROOTS) if "request" in raw else None
    token = c.path(raw.get("token"), (*path, "token"))
    if request is not None and token is None:
        c.error(
            (*path, "token"), "is required with a request: where the answer holds the token, like $[0].success.username"
        )
    return Pairing(
        steps=steps,
        request=request,
        token=token,
        error=c.path(raw.get("error"), (*path, "error")),
        every=c.number(raw.get("every"), (*path, "every"), 1.0, positive=True),
        timeout=c.number(raw.get("timeout"), (*path, "timeout"), 90.0, positive=True),
    )


def _routines(c: Checker, data: Any, path: Path) -> tuple[Routine, ...]:
    out = []
    for i, item in enumerate(c.items(data, ("claw", "routines"))):
        try:
            out.append(parse_routine(item, source=str(path), where=f"claw.routines[{i}]"))
        except RoutineError as exc:
            c.error(tuple(undotted(exc.field)), str(exc).split(": ", 1)[-1])
    return tuple(out)


# The slot an intent cannot do without, and what to write instead when a template lacks it.
NEEDED_SLOTS = {"ClawRunRoutine": "routine"}
NEEDED_WHY = {
    "routine": 'needs {routine} (which routine to run), e.g. "start [the] {routine}"; '
    "to give one routine another name, add it to that routine's triggers",
}


def template_references(expression: Expression | Sentence) -> tuple[frozenset[str], frozenset[str]]:
    """The slot lists ({name}) and expansion rules (<area>) a parsed hassil template refers to."""
    lists: set[str] = set()
    rules: set[str] = set()
    pending: list[Expression] = [expression.expression if isinstance(expression, Sentence) else expression]
    while pending:
        item = pending.pop()
        if isinstance(item, ListReference):
            lists.add(item.list_name)
        elif isinstance(item, RuleReference):
            rules.add(item.rule_name)
        elif isinstance(item, Group):
            pending.extend(item.items)
    return frozenset(lists), frozenset(rules)


def _sentences(c: Checker, data: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    """`sentences: {en: {HassTurnOff: ["kill [the] {name}"]}}`: hassil templates, checked here, used by the grammar."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for language, intents in c.mapping(data, ("claw", "sentences")).items():
        where = ("claw", "sentences", language)
        if language not in SENTENCE_LANGUAGES:
            c.error(where, f"{language!r} is not a language Claw understands ({', '.join(SENTENCE_LANGUAGES)})")
            continue
        for intent, sentences in c.mapping(intents, where).items():
            if not re.fullmatch(r"(Hass|Claw)[A-Za-z]+", str(intent)):
                c.error((*where, intent), "must name an intent such as HassTurnOn, HassTurnOff or ClawRunRoutine")
                continue
            kept: list[str] = []
            for i, sentence in enumerate(c.items(sentences, (*where, intent))):
                try:
                    parsed = parse_sentence(str(sentence))
                except Exception as exc:  # hassil's parse errors: say which template and why
                    c.error((*where, intent, i), f"is not a sentence template: {exc}")
                    continue
                slot = NEEDED_SLOTS.get(str(intent))
                if slot is not None and slot not in template_references(parsed)[0]:
                    c.error((*where, intent, i), NEEDED_WHY[slot])
                    continue
                kept.append(str(sentence))
            if kept:
                out.setdefault(language, {})[str(intent)] = tuple(kept)
    return out
