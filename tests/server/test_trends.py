"""Calendar buckets and the trend series: nothing lost, nothing counted twice, no gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.session_index import IndexedFinding, IndexedSession
from server.teams import NO_TEAM
from server.trends import MAX_BUCKETS, Bucket, TooManyBuckets, bucket_range, bucket_start, trends

EPOCH = datetime(2025, 12, 1, tzinfo=UTC)


def _moment(minutes: int) -> str:
    return (EPOCH + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _session(n: int, minutes: int, learner: str, score: float | None) -> IndexedSession:
    return IndexedSession(
        session_id=f"s{n}",
        learner=learner,
        policy_id="p",
        policy_version=1,
        policy_digest="0" * 64,
        scenario=None,
        started_at=_moment(minutes),
        ended_at=None,
        end_reason=None,
        records=1,
        score=score,
    )


def test_bucket_starts_are_the_day_the_monday_and_the_first_of_the_month() -> None:
    moment = "2026-03-05T23:59:59.999999Z"  # a Thursday
    assert bucket_start(moment, Bucket.day) == date(2026, 3, 5)
    assert bucket_start(moment, Bucket.week) == date(2026, 3, 2)
    assert bucket_start(moment, Bucket.month) == date(2026, 3, 1)
    assert bucket_range(date(2026, 1, 1), date(2026, 3, 1), Bucket.month) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]


def test_a_range_too_long_for_one_plot_is_refused_with_the_reason() -> None:
    first = date(2020, 1, 1)
    with pytest.raises(TooManyBuckets, match="choose a longer bucket"):
        bucket_range(first, first + timedelta(days=MAX_BUCKETS), Bucket.day)
    assert len(bucket_range(first, first + timedelta(days=MAX_BUCKETS - 1), Bucket.day)) == (
        MAX_BUCKETS
    )


def test_mean_score_is_over_scored_sessions_and_violations_skip_milder_and_withdrawn() -> None:
    sessions = [
        _session(0, 0, "a", 0.5),
        _session(1, 10, "a", 1.0),
        _session(2, 20, "a", None),
        _session(3, 60 * 24 * 2, "b", 0.25),  # two days later, no team
    ]
    flags = [
        IndexedFinding("s0", "f0", "r1", "critical", _moment(1), 1),
        IndexedFinding("s0", "f1", "r2", "warning", _moment(2), 2),
        IndexedFinding("s1", "f2", "r1", "violation", _moment(11), 3, retracted=True),
    ]
    series = trends(sessions, flags, {"a": "north"}, Bucket.day)
    assert series.buckets == ["2025-12-01", "2025-12-02", "2025-12-03"]
    north, nobody = series.teams["north"], series.teams[NO_TEAM]
    assert [p.sessions for p in north] == [3, 0, 0]
    assert north[0].mean_score == 0.75 and north[1].mean_score is None
    assert [p.violations for p in north] == [1, 0, 0]
    assert [p.sessions for p in nobody] == [0, 0, 1] and nobody[2].mean_score == 0.25
    assert series.rules == {"r1": [1, 0, 0], "r2": [1, 0, 0]}


@given(
    sessions=st.lists(
        st.tuples(
            st.integers(0, 60 * 24 * 90),
            st.sampled_from(["a", "b", "c"]),
            st.none() | st.floats(0, 1),
        ),
        max_size=30,
    ),
    flags=st.lists(
        st.tuples(
            st.integers(0, 29),
            st.integers(0, 60 * 24 * 90),
            st.sampled_from(["r1", "r2"]),
            st.sampled_from(["info", "warning", "violation", "critical"]),
            st.booleans(),
        ),
        max_size=40,
    ),
    size=st.sampled_from(list(Bucket)),
)
def test_every_session_and_every_kept_flag_is_counted_once_in_contiguous_buckets(
    sessions: list[tuple[int, str, float | None]],
    flags: list[tuple[int, int, str, str, bool]],
    size: Bucket,
) -> None:
    indexed = [_session(n, at, learner, score) for n, (at, learner, score) in enumerate(sessions)]
    found = [
        IndexedFinding(f"s{s}", f"f{n}", rule, severity, _moment(at), n + 1, retracted=gone)
        for n, (s, at, rule, severity, gone) in enumerate(flags)
    ]
    series = trends(indexed, found, {"a": "north", "b": "north"}, size)
    kept = [f for f in found if not f.retracted and int(f.session_id[1:]) < len(sessions)]
    total_sessions = sum(p.sessions for points in series.teams.values() for p in points)
    assert total_sessions == len(indexed)
    assert sum(sum(counts) for counts in series.rules.values()) == len(kept)
    violations = sum(p.violations for points in series.teams.values() for p in points)
    assert violations == sum(f.severity in ("violation", "critical") for f in kept)
    starts = [date.fromisoformat(b) for b in series.buckets]
    assert starts == sorted(set(starts))
    assert starts == (bucket_range(starts[0], starts[-1], size) if starts else [])
    for points in [*series.teams.values(), *series.rules.values()]:
        assert len(points) == len(starts)
