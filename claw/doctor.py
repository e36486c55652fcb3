"""`claw doctor` checks what a running Claw needs; `claw init` writes a starter set-up."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path

import aiohttp

from claw.assistant.embedder import embedder_for
from claw.assistant.llm import Model
from claw.assistant.model_probe import context_size, round_trip
from claw.core import instance
from claw.core.config import Config, LLMConfig, missing_extras
from claw.core.errors import ConfigError, ModelMissing, ModelOffline, ModelUnavailable, StateError
from claw.core.secrets import secret
from claw.core.store import Store, backup
from claw.core.store.db import load_vectors, make_state_dir
from claw.core.store.driver import sqlite_driver
from claw.core.store.outbox import counts
from claw.daemon import load_config
from claw.web import mcp

DEFAULTS = Path(__file__).parent / "defaults"  # package data: in the wheel, and the repo root's copies equal it


class Report:
    def __init__(self) -> None:
        self.failures = 0

    def ok(self, text: str) -> None:
        print(f"  ok    {text}")

    def warn(self, text: str) -> None:
        print(f"  note  {text}")

    def fail(self, text: str) -> None:
        self.failures += 1
        print(f"  FAIL  {text}")


async def doctor(path: Path) -> int:
    """Print one line per check; exit 0 when nothing failed, 78 for a bad config."""
    print(f"Claw doctor — {path}")
    report = Report()
    if not path.exists():
        report.fail(f"no config at {path}: `claw init --config {path}` writes a starter one (or pass --config FILE)")
        return ConfigError.exit_code
    try:
        config = load_config(path)
    except ConfigError as exc:
        report.fail(f"config: {exc}")
        return ConfigError.exit_code
    report.ok(f"config is valid ({config.source})")
    for problem in missing_extras(config):
        report.fail(str(problem))
    if not _check_state(config, report):
        print("1 problem to fix.")
        return StateError.exit_code
    if damage := _check_database(config, report):
        print(damage)  # the one thing to fix first: nothing below can be trusted on a damaged database
        return StateError.exit_code
    await _check_model(config, report)
    await _check_model_in_use(config, report)
    await _check_memory(config, report)
    await _check_listeners(config, report)
    await _check_mcp(config, report)
    _check_whatsapp(config, report)
    await _check_telegram(config, report)
    await _check_public_url(config, report)
    await _check_outbox(config, report)
    await _check_cameras(config, report)
    print("All good." if not report.failures else f"{report.failures} problem(s) to fix.")
    return 0 if not report.failures else 1


async def _check_memory(config: Config, report: Report) -> None:
    """Recall by meaning needs sqlite-vec and an embedding model; without either, say that it uses words only."""
    conn = sqlite_driver().connect(":memory:")
    try:
        why = load_vectors(conn)
    finally:
        conn.close()
    if why:
        report.warn(f"vector search is OFF: {why}; memory recall uses words only (FTS5)")
    model = config.memory.embed_model
    if not model:
        report.warn(
            "[memory] embed_model is empty: memory recall uses words only (FTS5); name an embedding model the "
            "[llm] server serves (e.g. nomic-embed-text) to find facts by meaning too"
        )
        return
    embedder = embedder_for(config.llm, model)
    if embedder is None:
        return
    try:
        vectors = await embedder.embed(["doctor"])
        report.ok(f"[memory] embed_model {model} answers ({len(vectors[0])} dimensions): recall by words and meaning")
    except ModelUnavailable as exc:
        report.warn(f"[memory] embed_model: {exc}; memory recall uses words only until it answers")
    finally:
        await embedder.close()


def _check_state(config: Config, report: Report) -> bool:
    """Whether the state dir can be used (`claw run` would stop at once otherwise)."""
    state = config.state_path
    try:
        make_state_dir(state)
        probe = state / ".doctor-probe"
        probe.write_text("ok")
        probe.unlink()
        report.ok(f"state dir {state} is writable")
    except StateError as exc:
        report.fail(str(exc))
        return False
    except OSError as exc:
        report.fail(f"state dir {state} is not writable ({exc.strerror}): fix its permissions or state_dir")
        return False
    if not config.soul_path.is_file():
        report.warn(f"no {config.soul_path}: the built-in personality is used (claw init writes one)")
    return True


async def _check_model(config: Config, report: Report) -> None:
    if config.llm.api == "openai":
        await _check_openai_model(config, report)
        return
    model = Model(config.llm)
    try:
        names = await asyncio.wait_for(model.models(), 10)
    except (ModelUnavailable, TimeoutError) as exc:
        report.fail(f"model server: {exc or 'no answer in 10 s'} — start Ollama or fix [llm] host")
        return
    report.ok(f"model server at {config.llm.host} answers ({len(names)} models)")
    for key, wanted in (("model", config.llm.model), ("vision_model", config.llm.vision_model)):
        if wanted in names or f"{wanted}:latest" in names:
            report.ok(f"[llm] {key} {wanted} is present")
        else:
            report.fail(f"[llm] {key} {wanted} is missing: run `ollama pull {wanted}`")


async def _check_openai_model(config: Config, report: Report) -> None:
    """An OpenAI-compatible server ([llm] api = "openai"): reachable, key accepted, both models answer."""
    llm = config.llm
    if llm.api_key_env and not secret("llm_api_key", env=llm.api_key_env):
        report.warn(f"[llm] api_key_env names {llm.api_key_env}, which is not set: no API key is sent")
    model = Model(llm)
    try:
        await _check_openai_models(model, llm, report)
    finally:
        await model.close()


async def _check_openai_models(model: Model, llm: LLMConfig, report: Report) -> None:
    try:
        names = await asyncio.wait_for(model.models(), 10)
    except ModelOffline as exc:
        report.fail(f"model server: {exc} — start it (llama-server, vllm serve, LM Studio…) or fix [llm] base_url")
        return
    except (ModelUnavailable, TimeoutError) as exc:
        report.fail(f"model server: {exc or f'no answer from {llm.base_url} in 10 s'}")
        return
    report.ok(f"OpenAI-compatible model server at {llm.base_url} answers (serves: {', '.join(names) or 'nothing'})")
    for key, wanted in (("model", llm.model), ("vision_model", llm.vision_model)):
        if wanted in names:
            report.ok(f"[llm] {key} {wanted} is served")
            continue
        try:  # llama.cpp answers to any name: ask it once rather than trust the list
            await asyncio.wait_for(model.warm(wanted), 60)
        except ModelMissing as exc:
            report.fail(f"[llm] {key} {wanted} is missing: {exc}")
        except (ModelUnavailable, TimeoutError) as exc:
            report.fail(f"[llm] {key} {wanted} did not answer: {exc or 'no answer in 60 s'}")
        else:
            report.ok(f"[llm] {key} {wanted} answers (though the server lists it under another name)")


def _check_database(config: Config, report: Report) -> str:
    """The integrity check `claw run` makes at start-up; the FAIL line when the database is damaged."""
    db_path = config.state_path / "claw.db"
    if found := backup.problem(db_path):
        report.fail(
            f"{db_path} is damaged ({found}): `claw run` restores the newest good backup from "
            f"{backup.folder_for(db_path)}, or `claw restore FILE` puts back the copy you choose"
        )
        return "1 problem to fix."
    if db_path.exists():
        found_backups = backup.backups(backup.folder_for(db_path))
        if found_backups:
            report.ok(f"database {db_path} passes its integrity check; newest backup {found_backups[-1].name}")
        else:
            report.warn(f"database {db_path} has no backup yet: `claw backup` takes one (Claw takes one each night)")
    return ""


async def _check_model_in_use(config: Config, report: Report) -> None:
    """The model Claw talks to: its context size by the server's word, the decision mode, a measured round trip."""
    llm = config.llm
    try:
        trip = await round_trip(llm, llm.model, timeout=60)
    except ModelUnavailable:
        return  # the server check above said why
    report.ok(
        f"model in use: {llm.model} at {llm.address}; a one-token answer took {trip.seconds:.2f} s "
        f"({trip.prompt_tokens} prompt tokens by the server's count)"
    )
    size = await context_size(llm, llm.model)
    need = config.memory.budget_tokens + llm.reply_tokens  # the longest prompt Claw sends, and its answer
    if size.tokens is None:
        report.warn(
            f"the server does not say its context size: start it with at least {need} tokens "
            f"([memory] budget_tokens {config.memory.budget_tokens} + [llm] reply_tokens {llm.reply_tokens}; "
            f"llama.cpp: --ctx-size / --n_ctx {need})"
        )
    elif size.tokens < need:
        report.fail(
            f"context: {size.tokens} tokens ({size.source}), but Claw's prompts and answers take up to {need}: "
            f"lower [memory] budget_tokens to {max(size.tokens - llm.reply_tokens, 1000)} or serve more context"
        )
    else:
        report.ok(f"context: {size.tokens} tokens ({size.source}); Claw's prompts and answers take up to {need}")
    model = Model(llm)
    try:
        if llm.decisions == "auto":  # one structured request shows whether the server takes a JSON schema
            with contextlib.suppress(ModelUnavailable):
                await model.chat([{"role": "user", "content": "Say OK."}], format=_PROBE_SCHEMA, purpose="decision")
        mode = model.decision_mode
        report.ok(f"decisions: {_DECISION_MODES.get(mode, mode)} ([llm] decisions = {llm.decisions})")
    finally:
        await model.close()


_PROBE_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
_DECISION_MODES = {
    "structured": "structured (a JSON schema of the live home's actions and names)",
    "tools": "native tool calls",
    "text": "tool calls repaired from the model's text",
}


async def _check_listeners(config: Config, report: Report) -> None:
    running = instance.find([config.state_path])
    if running is not None:  # where the daemon on this state dir said it listens, whatever the config says now
        url = f"{running.url}/api/health"
    else:
        url = f"http://{config.private.host}:{config.private.port}/api/health"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session,
            session.get(url) as r,
        ):
            report.ok(f"a Claw daemon answers at {url} ({r.status})")
    except (aiohttp.ClientError, TimeoutError):
        report.warn(f"no daemon answers at {url} (fine if it is not started yet)")


async def _check_mcp(config: Config, report: Report) -> None:
    """The MCP server for agents: /mcp on the private listener (the token always) and `claw mcp` over stdio."""
    if not mcp.available():
        report.warn("MCP is off: `pip install 'claw-home[mcp]'` lets agents (Claude Desktop, OpenClaw) use Claw")
        return
    host = config.private.host if config.private.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    running = instance.find([config.state_path])  # the running daemon's own address beats the config's
    url = f"{running.url if running else f'http://{host}:{config.private.port}'}{mcp.PATH}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session,
            session.post(url, json={}) as r,  # no token: a 401 says the endpoint is there
        ):
            if r.status == 404:
                report.warn(f"the running daemon has no {url}: restart it now that the [mcp] extra is installed")
                return
    except (aiohttp.ClientError, TimeoutError):
        pass  # the listener check above already said whether a daemon answers
    token = "Authorization: Bearer <an agent's token from `claw mcp token`>"
    report.ok(f"MCP is available at {url} ({token}) and over stdio: `claw mcp`")


def _check_whatsapp(config: Config, report: Report) -> None:
    wa = config.whatsapp
    if not wa.enabled:
        report.warn("WhatsApp is off ([whatsapp] enabled = false): only the dashboard and `claw chat` reach Claw")
        return
    for name in ("twilio_account_sid", "twilio_auth_token"):
        if secret(name):
            report.ok(f"secret {name} is set")
        else:
            report.fail(f"secret {name} is missing: set {name.upper()} or a systemd credential")
    if not wa.sender.startswith("whatsapp:+"):
        report.fail('[whatsapp] sender must look like "whatsapp:+14155238886"')
    if not config.owners:
        report.fail("no [[owners]]: nobody may talk to Claw over WhatsApp")
    if not wa.public_url:
        report.warn("[whatsapp] public_url is empty: Twilio cannot reach the webhook and pictures go out as text")
    elif not wa.public_url.startswith("https://"):
        report.fail("[whatsapp] public_url must be https:// (Twilio fetches media only over HTTPS)")
    else:
        report.ok(f"webhook URL for Twilio: {wa.public_url.rstrip('/')}/twilio/whatsapp")
    if not wa.template_sid:
        report.warn("[whatsapp] template_sid is empty: alerts outside the 24 h window wait until you write first")
    if wa.api_base:
        report.warn(f"[whatsapp] api_base is {wa.api_base}: messages go there instead of Twilio")


async def _check_telegram(config: Config, report: Report) -> None:
    """The bot token is set and the Bot API (at `[telegram] api_base`) accepts it: getMe answers."""
    tg = config.telegram
    if not tg.enabled:
        report.warn("Telegram is off ([telegram] enabled = false)")
        return
    token = secret("telegram_bot_token", env=tg.token_env)
    if not token:
        report.fail(f"the Telegram bot token is missing: set {tg.token_env} or a systemd credential telegram_bot_token")
        return
    report.ok(f"Telegram bot token is set ({tg.token_env})")
    base = (tg.api_base or "https://api.telegram.org").rstrip("/")
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.get(f"{base}/bot{token}/getMe") as response,
        ):
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        why = type(exc).__name__ if token in str(exc) else (str(exc) or type(exc).__name__)  # never print the token
        report.fail(f"the Telegram Bot API at {base} does not answer ({why})")
        return
    if not isinstance(body, dict) or not body.get("ok"):
        detail = body.get("description", "") if isinstance(body, dict) else ""
        report.fail(f"Telegram refused the bot token ({response.status} {detail}): copy it again from @BotFather")
        return
    username = body.get("result", {}).get("username", "?")
    report.ok(f"Telegram answers as @{username}: message it to talk to Claw")
    if not any(o.telegram for o in config.owners):
        report.fail("no owner has a telegram user id: add telegram = <your id> to your [[owners]] entry")
    if tg.api_base:
        report.warn(f"[telegram] api_base is {tg.api_base}: messages go there instead of Telegram")


async def _check_public_url(config: Config, report: Report) -> None:
    """Through the tunnel: the public listener must answer, and the dashboard must not."""
    wa = config.whatsapp
    if not wa.enabled or not wa.public_url:
        return
    base = wa.public_url.rstrip("/")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async with session.get(f"{base}/media/doctor-probe", allow_redirects=False) as probe:
                ours = probe.status == 404 and probe.headers.get("Server") == "claw"
            async with session.get(f"{base}/api/health", allow_redirects=False) as health:
                exposed = health.status == 200
    except (aiohttp.ClientError, TimeoutError) as exc:
        report.fail(f"{base} is not reachable ({exc or 'no answer in 10 s'}): start the tunnel or reverse proxy")
        return
    if exposed:
        report.fail(
            f"{base} exposes the dashboard API: point the tunnel at the public listener (port {config.public.port})"
        )
    elif ours:
        report.ok(f"{base} reaches Claw's public listener (and only it)")
    else:
        report.fail(f"{base} answers, but not as Claw's public listener: point it at port {config.public.port}")


async def _check_outbox(config: Config, report: Report) -> None:
    db_path = config.state_path / "claw.db"
    if not db_path.exists():
        return
    store = Store(db_path, recover=False)  # looking is all the doctor does; `claw run` recovers
    await store.open()
    try:
        by_status = await store.run(counts)
        dead = by_status.get("dead", 0)
        if dead:
            report.fail(f"{dead} message(s) dead-lettered in the outbox: see the dashboard's Outbox panel")
        else:
            report.ok("no dead-lettered messages")
        waiting = sum(by_status.get(s, 0) for s in ("queued", "sending", "unknown"))
        if waiting or by_status.get("held"):
            report.warn(
                f"outbox: {waiting} message(s) waiting to send, {by_status.get('held', 0)} held until an owner "
                "writes (outside WhatsApp's 24 h window)"
            )
    finally:
        await store.close()


async def _check_cameras(config: Config, report: Report) -> None:
    if not config.cameras:
        report.warn("no cameras configured")
        return
    if missing_extras(config, "cameras"):
        return  # said above, with the install command
    from claw.eyes.probe import probe_camera  # noqa: PLC0415 -- needs the [eyes] extra, checked just above

    for camera in config.cameras:
        problem = await asyncio.to_thread(probe_camera, camera.url, 8.0)
        if problem:
            report.fail(f"camera {camera.name}: {problem}")
        else:
            report.ok(f"camera {camera.name} delivers frames")


def init(state_dir: Path, config_path: Path) -> int:
    """Write config, SOUL.md and a skills folder, never overwriting what the owner already has."""
    print(f"Setting up Claw: the config at {config_path}, its state (SOUL.md, skills, the database) in {state_dir}.")
    print("  (--config FILE and --state-dir DIR put them elsewhere.)")
    make_state_dir(state_dir)
    (state_dir / "skills").mkdir(exist_ok=True)
    soul = state_dir / "SOUL.md"
    if soul.exists():
        print(f"kept your {soul}")
    else:
        shutil.copyfile(DEFAULTS / "SOUL.md", soul)
        print(f"wrote {soul}")
    if config_path.exists():
        print(f"kept your {config_path}")
    else:
        config_path.parent.mkdir(parents=True, exist_ok=True)
        text = (DEFAULTS / "config.example.toml").read_text(encoding="utf-8")
        text = text.replace('state_dir = "~/.local/share/claw"', f'state_dir = "{state_dir}"', 1)
        config_path.write_text(text, encoding="utf-8")
        config_path.chmod(0o640)
        print(f"wrote {config_path}")
    print(
        "It can turn on, each in its own section: WhatsApp [whatsapp] or Telegram [telegram] (no public URL needed); "
        "your hubs [mqtt] (Zigbee2MQTT, Tasmota, ESPHome), [home_assistant] and [frigate]; "
        'a model server other than Ollama ([llm] api = "openai"); agents connect with `claw mcp`.'
    )
    print(f"Next: edit {config_path}, then `claw doctor --config {config_path}` and `claw run --config {config_path}`.")
    return 0
