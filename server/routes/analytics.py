"""Rule analytics and trends over past sessions, and officers' verdicts on past flags.

Everything here is read from the audit log through the app's session index (the same one
the session list uses), so the numbers an officer tunes a rule by count exactly the flags
an auditor can export. Sessions are chosen with the session list's filters. Officers and
auditors read; only an officer gives a verdict on a flag.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, Field

from audit.content_read import rehydrated, store_texts
from audit.session_index import IndexedFinding, IndexedSession
from server.auth import Principal, Role
from server.errors import ApiError, ErrorBody
from server.finding_reviews import Verdict
from server.routes.audit import SessionFilter, session_index
from server.rule_analytics import rule_stats
from server.security import require, service_state
from server.state import ServiceState
from server.trends import Bucket, TooManyBuckets, trends

router = APIRouter(prefix="/v1", tags=["analytics"])

Staff = Annotated[Principal, Depends(require(Role.officer, Role.auditor))]
Officer = Annotated[Principal, Depends(require(Role.officer))]
State = Annotated[ServiceState, Depends(service_state)]

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "No or an unknown API key."},
    403: {"model": ErrorBody, "description": "The caller's role may not do this."},
}


class RuleRow(BaseModel):
    rule_id: str
    fired: int = Field(description="Flags raised and not withdrawn.")
    sessions: int = Field(description="Sessions with at least one such flag.")
    withdrawn: int = Field(description="Flags on partial text the final text did not bear out.")
    reviewed: int = Field(description="Flags an officer gave a verdict on.")
    false_positives: int
    false_positive_rate: float | None = Field(
        description="False positives / reviewed; null while none is reviewed."
    )


class FlagQuery(SessionFilter):
    rule_id: str | None = Field(default=None, min_length=1, max_length=200)
    unreviewed_only: bool = False
    limit: int = Field(default=50, ge=1, le=500)


class PastFlag(BaseModel):
    session_id: str
    finding_id: str
    rule_id: str
    severity: str
    raised_at: str
    learner: str | None
    quote: str | None = Field(description="The flagged words; '[erased]' if they were erased.")
    detail: str | None = Field(description="Why the rule matched.")
    verdict: Verdict | None = Field(description="The latest officer verdict, if any.")


class TrendQuery(SessionFilter):
    bucket: Bucket = Bucket.week


class TeamPointOut(BaseModel):
    sessions: int
    mean_score: float | None
    violations: int = Field(description="Flags of severity violation or critical.")


class TrendsOut(BaseModel):
    bucket: Bucket
    buckets: list[str] = Field(description="First day (UTC) of each bucket, oldest first.")
    teams: dict[str, list[TeamPointOut]] = Field(description="Team -> one point per bucket.")
    rules: dict[str, list[int]] = Field(description="Rule id -> flags per bucket.")


class ReviewIn(BaseModel):
    session_id: str = Field(min_length=1, max_length=200)
    finding_id: str = Field(min_length=1, max_length=400)
    verdict: Verdict
    note: str | None = Field(default=None, max_length=2000)


class ReviewOut(BaseModel):
    session_id: str
    finding_id: str
    rule_id: str
    verdict: Verdict
    reviewer: str
    note: str | None
    reviewed_at: str


def _chosen(
    request: Request, state: ServiceState, query: SessionFilter
) -> tuple[list[IndexedSession], list[IndexedFinding]]:
    """The sessions the filter matches and every flag raised in them."""
    sessions, findings = session_index(request).flags(state.audit_store)
    chosen = query.as_filter()
    kept = [session for session in sessions if chosen.matches(session)]
    ids = {session.session_id for session in kept}
    return kept, [finding for finding in findings if finding.session_id in ids]


@router.get(
    "/analytics/rules",
    response_model=list[RuleRow],
    summary="Which rules fire most, and their false-positive rate",
    responses=_ERRORS,
)
def rule_analytics(
    request: Request, principal: Staff, state: State, query: Annotated[SessionFilter, Query()]
) -> list[RuleRow]:
    """One row per rule that raised a flag in the matching sessions, most fired first."""
    _, findings = _chosen(request, state, query)
    rows = rule_stats(findings, state.reviews.verdicts())
    return [RuleRow.model_validate(row, from_attributes=True) for row in rows]


@router.get(
    "/analytics/flags",
    response_model=list[PastFlag],
    summary="Past flags, newest first, with their words and verdicts",
    responses=_ERRORS,
)
def past_flags(
    request: Request, principal: Staff, state: State, query: Annotated[FlagQuery, Query()]
) -> list[PastFlag]:
    """Flags not withdrawn in the matching sessions, to review one by one."""
    sessions, findings = _chosen(request, state, query)
    learners = {session.session_id: session.learner for session in sessions}
    verdicts = state.reviews.verdicts()
    listed = [
        finding
        for finding in reversed(findings)
        if not finding.retracted
        and (query.rule_id is None or finding.rule_id == query.rule_id)
        and not (query.unreviewed_only and (finding.session_id, finding.finding_id) in verdicts)
    ][: query.limit]
    texts = store_texts(state.audit_store, {finding.session_id for finding in listed})
    flags = []
    for finding in listed:
        quote = rehydrated({"quote": finding.quote}, texts)["quote"]
        review = verdicts.get((finding.session_id, finding.finding_id))
        flags.append(
            PastFlag(
                session_id=finding.session_id,
                finding_id=finding.finding_id,
                rule_id=finding.rule_id,
                severity=finding.severity,
                raised_at=finding.raised_at,
                learner=learners.get(finding.session_id),
                quote=quote if isinstance(quote, str) else None,
                detail=finding.detail,
                verdict=None if review is None else review.verdict,
            )
        )
    return flags


@router.post(
    "/flag-reviews",
    response_model=ReviewOut,
    summary="Give a verdict on a past flag",
    responses={**_ERRORS, 404: {"model": ErrorBody, "description": "No such flag."}},
)
def review_flag(
    request: Request, principal: Officer, state: State, review: Annotated[ReviewIn, Body()]
) -> ReviewOut:
    """Confirm a flag or mark it a false positive; a later verdict replaces an earlier one."""
    flag = session_index(request).flag(state.audit_store, review.session_id, review.finding_id)
    if flag is None:
        raise ApiError(
            404, "not_found", f"no flag {review.finding_id!r} in session {review.session_id!r}"
        )
    stored = state.reviews.record(
        review.session_id, review.finding_id, review.verdict, principal.subject, review.note
    )
    return ReviewOut(
        session_id=stored.session_id,
        finding_id=stored.finding_id,
        rule_id=flag.rule_id,
        verdict=stored.verdict,
        reviewer=stored.reviewer,
        note=stored.note,
        reviewed_at=stored.reviewed_at,
    )


@router.get(
    "/analytics/trends",
    response_model=TrendsOut,
    summary="Score and violation trends per team, and flags per rule, over time",
    responses={
        **_ERRORS,
        422: {"model": ErrorBody, "description": "Too many buckets for one plot."},
    },
)
def score_trends(
    request: Request, principal: Staff, state: State, query: Annotated[TrendQuery, Query()]
) -> TrendsOut:
    """Calendar buckets (UTC) from the first with data to the last, with no gaps."""
    sessions, findings = _chosen(request, state, query)
    try:
        series = trends(sessions, findings, state.teams.teams(), query.bucket)
    except TooManyBuckets as error:
        raise ApiError(422, "too_many_buckets", str(error)) from None
    return TrendsOut(
        bucket=query.bucket,
        buckets=series.buckets,
        teams={
            team: [
                TeamPointOut(sessions=p.sessions, mean_score=p.mean_score, violations=p.violations)
                for p in points
            ]
            for team, points in series.teams.items()
        },
        rules=series.rules,
    )
