"""Scores and violations over time, per team and per rule: the series behind the trends plot.

Time is cut into calendar buckets (UTC day, ISO week starting Monday, or month) from the
first bucket with data to the last, with no gaps: a week without sessions is a point at
zero sessions, not a week that silently disappears from the line. A session belongs to the
bucket it started in, a flag to the bucket it was raised in. Violations are flags of
severity `violation` or `critical` that were not withdrawn; per rule, every flag that was
not withdrawn counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from audit.session_index import IndexedFinding, IndexedSession
from server.teams import NO_TEAM

VIOLATION_SEVERITIES: Final = frozenset({"violation", "critical"})
MAX_BUCKETS: Final = 400


class Bucket(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class TooManyBuckets(ValueError):
    """The range asked for is too long for the bucket size to be drawn as one plot."""


@dataclass(frozen=True)
class TeamPoint:
    sessions: int
    mean_score: float | None  # over the bucket's scored sessions; None if none was scored
    violations: int


@dataclass(frozen=True)
class Trends:
    buckets: list[str]  # the first day of each bucket, ISO 8601
    teams: dict[str, list[TeamPoint]]  # team -> one point per bucket
    rules: dict[str, list[int]]  # rule id -> flags per bucket


def bucket_start(moment: str, size: Bucket) -> date:
    """The first day of the bucket holding the RFC 3339 time `moment`."""
    day = datetime.fromisoformat(moment.replace("Z", "+00:00")).date()
    if size is Bucket.week:
        return day - timedelta(days=day.weekday())
    if size is Bucket.month:
        return day.replace(day=1)
    return day


def _following(start: date, size: Bucket) -> date:
    if size is Bucket.day:
        return start + timedelta(days=1)
    if size is Bucket.week:
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def bucket_range(first: date, last: date, size: Bucket) -> list[date]:
    """Every bucket from `first` to `last` inclusive; refuses more than `MAX_BUCKETS`."""
    starts = [first]
    while starts[-1] < last:
        if len(starts) >= MAX_BUCKETS:
            raise TooManyBuckets(
                f"more than {MAX_BUCKETS} {size.value}s from {first} to {last}: "
                "choose a longer bucket or a shorter date range"
            )
        starts.append(_following(starts[-1], size))
    return starts


def trends(
    sessions: Iterable[IndexedSession],
    findings: Iterable[IndexedFinding],
    teams: Mapping[str, str],
    size: Bucket,
) -> Trends:
    """The series for `sessions` and the flags raised in them; `teams` maps learner to team."""
    chosen = list(sessions)
    team_of = {s.session_id: teams.get(s.learner or "", NO_TEAM) for s in chosen}
    flags = [f for f in findings if f.session_id in team_of and not f.retracted]
    starts = [bucket_start(s.started_at, size) for s in chosen]
    starts += [bucket_start(f.raised_at, size) for f in flags]
    if not starts:
        return Trends(buckets=[], teams={}, rules={})
    buckets = bucket_range(min(starts), max(starts), size)
    index = {start: position for position, start in enumerate(buckets)}
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(buckets))
    scores: dict[str, list[list[float]]] = defaultdict(lambda: [[] for _ in buckets])
    violations: dict[str, list[int]] = defaultdict(lambda: [0] * len(buckets))
    for session in chosen:
        at, team = index[bucket_start(session.started_at, size)], team_of[session.session_id]
        counts[team][at] += 1
        if session.score is not None:
            scores[team][at].append(session.score)
    rules: dict[str, list[int]] = defaultdict(lambda: [0] * len(buckets))
    for flag in flags:
        at = index[bucket_start(flag.raised_at, size)]
        rules[flag.rule_id][at] += 1
        if flag.severity in VIOLATION_SEVERITIES:
            violations[team_of[flag.session_id]][at] += 1
    return Trends(
        buckets=[start.isoformat() for start in buckets],
        teams={
            team: [
                TeamPoint(
                    sessions=counts[team][at],
                    mean_score=sum(scores[team][at]) / len(scores[team][at])
                    if scores[team][at]
                    else None,
                    violations=violations[team][at],
                )
                for at in range(len(buckets))
            ]
            for team in sorted(counts)
        },
        rules={rule: rules[rule] for rule in sorted(rules)},
    )
