"""Secrets come from systemd credentials or the environment, never from the config file."""

from __future__ import annotations

import os
from pathlib import Path

# name -> environment variable; the systemd credential has the same name in lower case
KNOWN = {
    "dashboard_token": "CLAW_TOKEN",
    "mcp_token": "CLAW_MCP_TOKEN",  # an agent's token, for `claw mcp` (never the dashboard's)
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
}


def secret(name: str, env: str | None = None) -> str | None:
    """Return the secret from $CREDENTIALS_DIRECTORY/<name>, else from its environment variable."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds:
        path = Path(creds) / name
        if path.is_file():
            return path.read_text(encoding="utf-8").strip() or None
    value = os.environ.get(env or KNOWN.get(name, name.upper()), "")
    return value.strip() or None
