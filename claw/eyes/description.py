"""What a camera event was, in words: the vision model's description or the plain fallback line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Description:
    """What the vision model said about an event (already cleaned), or the fallback line."""

    title: str
    sentence: str
    alert: bool
    what: str  # one of KINDS, or "unknown" for the fallback
    source: Literal["model", "fallback"] = "model"

    @property
    def notable(self) -> bool:
        """Worth telling the owner: the model said alert and saw something."""
        return self.alert and self.what != "nothing"

    @property
    def text(self) -> str:
        """Title and sentence as one message."""
        if not self.sentence or self.sentence.lower().rstrip(".") == self.title.lower().rstrip("."):
            return self.title if self.title.endswith((".", "!", "?")) else f"{self.title}."
        return f"{self.title.rstrip('.')}. {self.sentence}"


def camera_phrase(name: str) -> str:
    """ "driveway" -> "the driveway camera" (and no "camera camera")."""
    bare = name.strip()
    return f"the {bare}" if bare.lower().endswith(("camera", "cam")) else f"the {bare} camera"


def fallback(camera: str) -> Description:
    """What goes out when the vision model is down or talks nonsense: a plain line, still with the picture."""
    title = f"Something moved at {camera_phrase(camera)}"
    return Description(title, "", True, "unknown", "fallback")


class Describer(Protocol):
    """Puts camera pictures into words (the assistant's vision model); never raises for a model failure."""

    failures: int

    async def describe(
        self, camera: str, picture: bytes, strip: bytes | None, *, room: str = "", when: str = ""
    ) -> Description:
        """The event in a title and a sentence; the fallback line when the model can't say."""

    async def check(self, camera: str, condition: str, picture: bytes) -> tuple[bool, str] | None:
        """Whether `condition` holds in the picture now, and why; None when the model could not tell."""
