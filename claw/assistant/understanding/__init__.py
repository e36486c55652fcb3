"""The grammar fast path: turn a message into a complete command, a question to ask, or a hand-off to the LLM."""

from .matcher import Understanding
from .outcome import Ambiguous, Compound, NotUnderstood, Outcome, Pending, Understood
from .vocabulary import Area, CameraName, Entity, Floor, LastTouched, RoutineName, Vocabulary

__all__ = [
    "Ambiguous",
    "Area",
    "CameraName",
    "Compound",
    "Entity",
    "Floor",
    "LastTouched",
    "NotUnderstood",
    "Outcome",
    "Pending",
    "RoutineName",
    "Understanding",
    "Understood",
    "Vocabulary",
]
