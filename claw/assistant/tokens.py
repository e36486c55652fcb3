"""Token estimates without a tokenizer: conservative, so a prompt we call small really is."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

CHARS_PER_TOKEN = 3.5  # English with JSON: real tokenizers give 3.5-4.5; lower is the safe side
MESSAGE_OVERHEAD = 4  # role markers and separators of a chat template


def count(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def message_tokens(message: Mapping[str, Any]) -> int:
    total = MESSAGE_OVERHEAD + count(str(message.get("content", "")))
    if message.get("tool_calls"):
        total += count(json.dumps(message["tool_calls"]))
    return total


def messages_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    return sum(message_tokens(m) for m in messages)


def tools_tokens(schemas: Iterable[Mapping[str, Any]]) -> int:
    return sum(count(json.dumps(s, separators=(",", ":"))) for s in schemas)
