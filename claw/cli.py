"""The `claw` command: run, demo, chat, mcp, doctor, init, backup, restore, discover, skills."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from claw import __version__
from claw.core.errors import ClawError, ConfigError

if TYPE_CHECKING:
    from claw.core.config import Config

DEFAULT_CONFIG = Path(os.environ.get("CLAW_CONFIG", "~/.config/claw/config.toml")).expanduser()
DEFAULT_URL = "http://127.0.0.1:8765"


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # each model call is an HTTP request: httpx, httpx2 (openai's) and openai log one INFO line per call
    for noisy in ("aiohttp.access", "httpx", "httpx2", "openai", "soco", "zeroconf", "apscheduler", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="claw", description="Claw, the assistant that lives in the house.")
    p.add_argument("--version", action="version", version=f"claw {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the config file (default: %(default)s)")

    demo = sub.add_parser("demo", help="run the daemon on a simulated home, no set-up needed")
    demo.add_argument(
        "--state-dir", type=Path, default=Path(".claw-demo"), help="where it keeps its state (default: %(default)s)"
    )
    server = demo.add_mutually_exclusive_group()
    server.add_argument(
        "--llm-host",
        default=os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434"),
        help="the Ollama server (default: $OLLAMA_HOST, else %(default)s)",
    )
    server.add_argument(
        "--llm-base-url",
        default="",
        help="an OpenAI-compatible server's API root instead (llama.cpp, vLLM, LM Studio), e.g. http://127.0.0.1:8080/v1",
    )
    demo.add_argument(
        "--model",
        default=os.environ.get("CLAW_MODEL", ""),
        help="the chat model (default: $CLAW_MODEL, else qwen3:8b on Ollama, the one an --llm-base-url server serves)",
    )
    demo.add_argument(
        "--port", type=_listen_port, default=8765, help="dashboard/API port; public is port+1 (default: %(default)s)"
    )
    demo.add_argument(
        "--lights", type=int, default=0, help="extra simulated lights, for benchmarks (default: %(default)s)"
    )
    demo.add_argument("--no-cameras", action="store_true", help="skip the simulated cameras")
    demo.add_argument(
        "--subnet",
        type=int,
        default=0,
        help="simulated devices on 127.0.N.x, to run two demos at once (default: %(default)s)",
    )

    chat = sub.add_parser("chat", help="send a message to the running daemon and print the reply")
    chat.add_argument("text", nargs="*", help="the message; none for an interactive session")
    chat.add_argument(
        "--url",
        default="",
        help=f"the daemon's address (default: $CLAW_URL, else the running daemon's from its state dir, {DEFAULT_URL})",
    )
    chat.add_argument(
        "--token", default="", help="the dashboard token (default: $CLAW_TOKEN, else the found daemon's own)"
    )
    chat.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="the daemon's state dir (default: the config's, else .claw-demo, else ~/.local/share/claw)",
    )
    chat.add_argument(
        "--config", type=Path, default=None, help=f"its config, for the state dir (default: {DEFAULT_CONFIG})"
    )

    mcp = sub.add_parser(
        "mcp",
        help="an MCP server on stdin/stdout for agents (`claw mcp token [AGENT] [--rotate]`: an agent's own token)",
    )
    mcp.add_argument("action", nargs="?", choices=("serve", "token"), default="serve", help="default: serve")
    mcp.add_argument("agent", nargs="?", default="", help="an agent from [mcp] agents (default: the first)")
    mcp.add_argument("--rotate", action="store_true", help="with token: a new token; the old one stops working")
    mcp.add_argument("--url", default="", help="the daemon's private listener (default: CLAW_URL, the config, :8765)")
    mcp.add_argument("--token", default="", help="an agent token (default: CLAW_MCP_TOKEN, the state dir's)")
    mcp.add_argument("--state-dir", type=Path, default=None, help="the daemon's state dir (holds agent-tokens.json)")
    mcp.add_argument("--config", type=Path, default=DEFAULT_CONFIG)

    doctor = sub.add_parser("doctor", help="check config, state dir, model server, channels, cameras")
    doctor.add_argument("--config", type=Path, default=DEFAULT_CONFIG)

    init = sub.add_parser("init", help="write a starter config, SOUL.md and skills folder")
    init.add_argument(
        "--state-dir",
        type=Path,
        default=Path("~/.local/share/claw"),
        help="where SOUL.md, skills and the database go (default: %(default)s)",
    )
    init.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="where the config goes (default: %(default)s)"
    )

    backup = sub.add_parser("backup", help="copy the state database now (safe while Claw runs)")
    backup.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the config file (default: %(default)s)")
    backup.add_argument("--list", action="store_true", help="list the backups there are instead")

    restore = sub.add_parser("restore", help="put a backup back in place of the state database (Claw stopped)")
    restore.add_argument("file", type=Path, help="the backup, e.g. <state_dir>/backups/claw-20261207-033000.db")
    restore.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the config file (default: %(default)s)")

    discover = sub.add_parser("discover", help="list the devices on the network and what Claw would do")
    discover.add_argument("--config", type=Path, default=None)
    discover.add_argument("--interface", action="append", default=None, help="IP of the interface to use")
    discover.add_argument("--seconds", type=float, default=5.0)

    skills = sub.add_parser("skills", help="list, validate or create skills")
    skills_sub = skills.add_subparsers(dest="skills_command", required=True)
    sl = skills_sub.add_parser("list")
    sl.add_argument("--config", type=Path, default=None)
    sv = skills_sub.add_parser("validate")
    sv.add_argument("path", type=Path)
    sn = skills_sub.add_parser("new")
    sn.add_argument("name")
    sn.add_argument("--dir", type=Path, default=Path("skills"))
    return p


def _listen_port(text: str) -> int:
    """A port for `--port`, which also uses the port after it."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65534:
        raise argparse.ArgumentTypeError(f"{port} is not a port from 1 to 65534 (the public listener takes port+1)")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"claw: bad config: {exc}", file=sys.stderr)
        return ConfigError.exit_code
    except ClawError as exc:
        print(f"claw: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 1))  # a StateError: 78, like a bad config
    except KeyboardInterrupt:
        return 130


def _agent_token(args: argparse.Namespace) -> int:
    """`claw mcp token [AGENT] [--rotate]`: print an agent's own token (made on first use) for its MCP settings."""
    from claw.core.agent_tokens import AgentTokens
    from claw.core.config import McpConfig

    config = _config(args.config) if args.config.exists() and args.state_dir is None else None
    state = args.state_dir or (config.state_path if config is not None else Path("~/.local/share/claw").expanduser())
    agents = config.mcp.agents if config is not None else McpConfig().agents
    name = args.agent or (agents[0] if agents else "")
    token = AgentTokens(state, agents).token(name, rotate=args.rotate)
    print(token)
    said = "a new token: the old one no longer works" if args.rotate else "its token"
    hint = "give it as `Authorization: Bearer <token>` (or --token to `claw mcp`)"
    print(f"claw: agent '{name}', {said}; {hint}.", file=sys.stderr)
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "run":
        from claw.core.config import missing_extras

        config = _config(args.config)
        for problem in missing_extras(config):
            raise problem  # the first: a feature the config turns on whose extra is not installed
        setup_logging(config.log_level)
        return _run_daemon(config)
    if command in ("backup", "restore"):
        from claw.backup_cli import backup, restore

        config = _config(args.config)
        return backup(config, listing=args.list) if command == "backup" else restore(config, args.file)
    if command == "demo":
        from claw.demo import run_demo

        setup_logging("INFO")
        code = asyncio.run(run_demo(args))
        # Everything it started is stopped: skip tearing down the interpreter's large heap (over a second),
        # so Ctrl-C ends the demo within 2 s.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if command == "chat":
        from claw.chat import chat, find

        url, token = find(args.url, args.token, args.state_dir, args.config, DEFAULT_CONFIG)
        return asyncio.run(chat(" ".join(args.text), url=url, token=token))
    if command == "mcp" and args.action == "token":
        return _agent_token(args)
    if command == "mcp":
        from claw.web import mcp

        if not mcp.available():  # before importing the SDK: a clear line, not a traceback
            raise ClawError("`claw mcp` needs the [mcp] extra: pip install 'claw-home[mcp]'")
        from claw.mcp_stdio import main as serve_mcp

        setup_logging("WARNING")  # stderr only: stdout carries the protocol
        return serve_mcp(args.url, args.token, args.state_dir, args.config, args.agent)
    if command == "doctor":
        from claw.doctor import doctor

        setup_logging("ERROR")  # each check prints its own line; the parts' warnings would say it twice
        return asyncio.run(doctor(args.config))
    if command == "init":
        from claw.doctor import init

        return init(args.state_dir.expanduser(), args.config.expanduser())
    if command == "discover":
        from claw.discover import discover

        setup_logging("WARNING")
        return int(asyncio.run(discover(args)))
    if command == "skills":
        from claw.skills_cli import skills_command

        return int(skills_command(args))
    raise AssertionError(command)


def _config(path: Path) -> Config:
    """The config at `path`, or ConfigError saying how to get one."""
    from claw.daemon import load_config

    if not path.exists():
        raise ConfigError(str(path), "", "does not exist", f"`claw init --config {path}` writes one")
    return load_config(path)


def _run_daemon(config: object) -> int:
    from claw.core.config import Config
    from claw.daemon import build

    assert isinstance(config, Config)
    asyncio.run(build(config).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
