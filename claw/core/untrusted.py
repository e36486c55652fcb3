"""Text Claw did not write and the owner did not type: cleaned where it enters, so it can inform but not steer."""

from __future__ import annotations

import re

CONTROL_TOKENS = re.compile(r"<\|[^|>]{1,40}\|>|</?(?:tool_call|tool_response|think|start_of_turn|end_of_turn)>")


def clean_untrusted(text: str) -> str:
    """Strip chat-template control strings that some Ollama templates would obey as real tokens."""
    return CONTROL_TOKENS.sub("", text)


# Control characters, line and paragraph separators, and the invisible format characters that reorder or hide
# text (bidi embeddings, overrides and isolates, directional marks, zero-width joiners, the BOM): a name with a
# right-to-left override reads differently to the owner than to the model.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]+")
NAME_CHARS = 64


def clean_name(text: str, limit: int = NAME_CHARS) -> str:
    """A name a device or a network announced: one line, no control characters, bounded, no template tokens."""
    flat = " ".join(_CONTROL.sub(" ", clean_untrusted(text)).split())
    return flat[:limit].rstrip()


# Marks a message the owner forwarded rather than wrote (Twilio's `Forwarded=true`); kept with the stored text,
# so a restart still knows. Such text may inform (the model reads it, labelled); it never acts by itself.
FORWARDED = "[Forwarded — not written by the owner] "


def forwarded(text: str) -> bool:
    return text.startswith(FORWARDED)
