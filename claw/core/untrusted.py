"""Text Claw did not write and the owner did not type: cleaned where it enters, so it can inform but not steer."""

from __future__ import annotations

import re

CONTROL_TOKENS = re.compile(r"<\|[^|>]{1,40}\|>|</?(?:tool_call|tool_response|think|start_of_turn|end_of_turn)>")


def clean_untrusted(text: str) -> str:
    """Strip chat-template control strings that some Ollama templates would obey as real tokens."""
    return CONTROL_TOKENS.sub("", text)
