"""What answering a message without the model produced: the reply's text, its pictures, its history."""

from __future__ import annotations

from dataclasses import dataclass

from claw.core.bus import Media
from claw.core.store.messages import Message


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer: text, and maybe pictures."""

    text: str
    media: tuple[Media, ...] = ()
    record: tuple[Message, ...] = ()  # what joins the history with it (stored by the channel, atomically)
