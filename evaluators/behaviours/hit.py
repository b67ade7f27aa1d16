"""What a behaviour detector reports: where the evidence is and, in plain words, why it counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BehaviourHit:
    """One piece of evidence that a behaviour occurred in an utterance.

    `start`/`end` are a half-open character span of the utterance text as given (curly
    apostrophes and all), so a front end can underline exactly the words that counted.
    """

    behaviour: str
    start: int
    end: int
    detail: str

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"{self.behaviour}: invalid span [{self.start}, {self.end})")


Detector = Callable[[str, str | None], list[BehaviourHit]]
"""(utterance, what the other party said just before or None) -> hits, in text order."""
