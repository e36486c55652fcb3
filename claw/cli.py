"""The `claw` command: run, demo, chat, mcp, doctor, init, discover, skills."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from claw import __version__
from claw.core.errors import ClawError, ConfigError

DEFAULT_CONFIG = Path(os.environ.get("CLAW_CONFIG", "~/.config/claw/config.toml")).expanduser()
DEFAULT_URL = "http://127.0.0.1:8765"


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("aiohttp.access", "httpx", "soco", "zeroconf", "apscheduler", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="claw", description="Claw, the assistant that lives in the house.")
    p.add_argument("--version", action="version", version=f"claw {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG)

    demo = sub.add_parser("demo", help="run the daemon on a simulated home, no set-up needed")
    demo.add_argument("--state-dir", type=Path, default=Path(".claw-demo"))
    demo.add_argument("--llm-host", default=os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434"))
    demo.add_argument("--model", default=os.environ.get("CLAW_MODEL", "qwen3:8b"))
    demo.add_argument("--port", type=_listen_port, default=8765, help="dashboard/API port (public is port+1)")
    demo.add_argument("--lights", type=int, default=0, help="extra simulated lights (benchmarks)")
    demo.add_argument("--no-cameras", action="store_true", help="skip the simulated cameras")
    demo.add_argument("--subnet", type=int, default=0, help="simulated devices on 127.0.N.x (run two demos at once)")

    chat = sub.add_parser("chat", help="send a message to the running daemon and print the reply")
    chat.add_argument("text", nargs="*", help="the message; none for an interactive session")
    chat.add_argument("--url", default=os.environ.get("CLAW_URL", DEFAULT_URL))
    chat.add_argument("--token", default=os.environ.get("CLAW_TOKEN", ""))

    mcp = sub.add_parser("mcp", help="an MCP server on stdin/stdout for agents, handing calls to the running daemon")
    mcp.add_argument("--url", default="", help="the daemon's private listener (default: CLAW_URL, the config, :8765)")
    mcp.add_argument("--token", default="", help="the dashboard token (default: CLAW_TOKEN, the state dir's)")
    mcp.add_argument("--state-dir", type=Path, default=None, help="the daemon's state dir (holds dashboard-token)")
    mcp.add_argument("--config", type=Path, default=DEFAULT_CONFIG)

    doctor = sub.add_parser("doctor", help="check config, state dir, model server, channels, cameras")
    doctor.add_argument("--config", type=Path, default=DEFAULT_CONFIG)

    init = sub.add_parser("init", help="write a starter config, SOUL.md and skills folder")
    init.add_argument("--state-dir", type=Path, default=Path("~/.local/share/claw"))
    init.add_argument("--config", type=Path, default=DEFAULT_CONFIG)

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
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "run":
        from claw.core.config import missing_extras
        from claw.daemon import load_config

        if not args.config.exists():
            raise ConfigError(str(args.config), "", "does not exist", f"`claw init --config {args.config}` writes one")
        config = load_config(args.config)
        for problem in missing_extras(config):
            raise problem  # the first: a feature the config turns on whose extra is not installed
        setup_logging(config.log_level)
        return _run_daemon(config)
    if command == "demo":
        from claw.demo import run_demo

        setup_logging("INFO")
        return asyncio.run(run_demo(args))
    if command == "chat":
        from claw.chat import chat

        return asyncio.run(chat(" ".join(args.text), url=args.url, token=args.token))
    if command == "mcp":
        from claw.web import mcp

        if not mcp.available():  # before importing the SDK: a clear line, not a traceback
            raise ClawError("`claw mcp` needs the [mcp] extra: pip install 'claw-home[mcp]'")
        from claw.mcp_stdio import main as serve_mcp

        setup_logging("WARNING")  # stderr only: stdout carries the protocol
        return serve_mcp(args.url, args.token, args.state_dir, args.config)
    if command == "doctor":
        from claw.doctor import doctor

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


def _run_daemon(config: object) -> int:
    from claw.core.config import Config
    from claw.daemon import build

    assert isinstance(config, Config)
    asyncio.run(build(config).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
