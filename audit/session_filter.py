"""Which sessions an auditor asks for, and how a subset bundle's manifest records the choice.

One filter type serves the HTTP API and ``proctor audit export``, so that the same question
picks the same sessions and is written into the manifest the same way whichever way the
bundle was made. Times are compared with the session's start (its first record): `since`
is inclusive and `until` exclusive, so consecutive ranges never share a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from audit.timefmt import format_timestamp

if TYPE_CHECKING:
    from audit.session_index import IndexedSession

#: Several chosen session ids are recorded in the manifest joined by this separator; the
#: manifest's ``sessions`` lists exactly what was exported either way.
SESSION_ID_SEPARATOR = ","


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """All conditions given must hold; None means "any". Times without a zone are UTC."""

    learner: str | None = None
    policy_id: str | None = None
    policy_version: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    session_ids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        # Normalised once, so that matching and the manifest see the same instants.
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None:
                object.__setattr__(self, name, as_utc(moment))

    def is_empty(self) -> bool:
        """True when nothing is filtered: the export is the whole log, not a selection."""
        return all(
            value is None
            for value in (
                self.learner,
                self.policy_id,
                self.policy_version,
                self.since,
                self.until,
                self.session_ids,
            )
        )

    def matches(self, session: IndexedSession) -> bool:
        started = datetime.fromisoformat(session.started_at)
        return (
            (self.session_ids is None or session.session_id in self.session_ids)
            and (self.learner is None or session.learner == self.learner)
            and (self.policy_id is None or session.policy_id == self.policy_id)
            and (self.policy_version is None or session.policy_version == self.policy_version)
            and (self.since is None or started >= self.since)
            and (self.until is None or started < self.until)
        )

    def as_manifest_filters(self) -> dict[str, str | int]:
        """The filters as the bundle manifest records them (only those given)."""
        chosen: dict[str, str | int] = {}
        for name, value in (
            ("learner", self.learner),
            ("policy_id", self.policy_id),
            ("policy_version", self.policy_version),
        ):
            if value is not None:
                chosen[name] = value
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None:
                chosen[name] = format_timestamp(moment)
        if self.session_ids is not None:
            chosen["session_id"] = SESSION_ID_SEPARATOR.join(sorted(self.session_ids))
        return chosen


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC (a naive time is taken as UTC); clamped at the ends of the calendar,
    where converting a time with an offset would leave the range `datetime` can hold."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if moment.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)
