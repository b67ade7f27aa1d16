"""One confirmed piece of personal data, shared by every PII finder."""

from __future__ import annotations

from dataclasses import dataclass

from policies.models import PiiEntity


@dataclass(frozen=True)
class PiiHit:
    """Where the data is, what it is, and which check confirmed it (kept as audit evidence)."""

    entity: PiiEntity
    start: int
    end: int
    text: str
    check: str


def words_before(text: str, start: int, chars: int) -> str:
    """The stretch of text a speaker uses to say what the number that follows is."""
    return text[max(0, start - chars) : start]
