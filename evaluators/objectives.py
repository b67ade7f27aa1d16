"""Objectives: behaviours a learner should show, tracked turn by turn with their evidence.

An objective counts occurrences of a recognised behaviour (an open question, naming the
customer's impact…) or of a `match`. It is met at `min_count`; it is missed when its `before`
step happens first or when learner turn `by_turn` passes without it. Met and missed are final:
what happens later does not change them, so progress shown to a learner never goes backwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evaluators.behaviours import detect
from evaluators.findings import Span
from evaluators.matching import MatchedSpan, Matches
from policies.models import Objective


@dataclass(frozen=True)
class ObjectiveEvidence:
    turn: int
    utterance_id: str
    span: Span
    quote: str
    detail: str


@dataclass
class ObjectiveStatus:
    """Where one objective stands; `missed` says why when it can no longer be met."""

    objective: Objective
    count: int = 0
    met_at: int | None = None
    missed: str | None = None
    evidence: list[ObjectiveEvidence] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.met_at is None and self.missed is None

    @property
    def score(self) -> float:
        """1 when met; otherwise the share of the required count reached in time."""
        if self.met_at is not None:
            return 1.0
        return round(min(self.count / self.objective.min_count, 1.0), 4)


class ObjectiveTracker:
    """Every objective of one session."""

    def __init__(self, objectives: Sequence[Objective]) -> None:
        self.statuses = {objective.id: ObjectiveStatus(objective) for objective in objectives}

    def observe(
        self, turn: int, utterance_id: str, text: str, previous: str | None, matches: Matches
    ) -> list[ObjectiveStatus]:
        """Feed one final learner utterance; returns the objectives it changed."""
        changed = []
        for status in self.statuses.values():
            if status.open and self._advance(status, turn, utterance_id, text, previous, matches):
                changed.append(status)
        return changed

    def end(self, turn: int) -> list[ObjectiveStatus]:
        """Objectives still open when the session ends are missed."""
        closing = [status for status in self.statuses.values() if status.open]
        for status in closing:
            status.missed = f"not shown {status.objective.min_count} time(s) by the end"
        return closing

    def _advance(
        self,
        status: ObjectiveStatus,
        turn: int,
        utterance_id: str,
        text: str,
        previous: str | None,
        matches: Matches,
    ) -> bool:
        objective = status.objective
        hits = _hits(objective, text, previous, matches)
        befores = matches.get((objective.id, "before"), [])
        deadline = min((span.start for span in befores), default=len(text) + 1)
        in_time = [hit for hit in hits if hit.start < deadline]
        for hit in in_time[: objective.min_count - status.count]:
            status.count += 1
            status.evidence.append(
                ObjectiveEvidence(
                    turn,
                    utterance_id,
                    Span(start=hit.start, end=hit.end),
                    text[hit.start : hit.end],
                    hit.detail,
                )
            )
        if status.count >= objective.min_count:
            status.met_at = turn
        elif befores:
            status.missed = f"{befores[0].detail} came at turn {turn} before the objective was met"
        elif objective.by_turn is not None and turn >= objective.by_turn:
            status.missed = f"not met by learner turn {objective.by_turn}"
        return bool(in_time) or not status.open


def _hits(
    objective: Objective, text: str, previous: str | None, matches: Matches
) -> list[MatchedSpan]:
    if objective.detector is not None:
        return [
            MatchedSpan(hit.start, hit.end, hit.detail)
            for hit in detect(objective.detector.value, text, previous)
        ]
    return matches.get((objective.id, "match"), [])
