"""What a session report says, gathered from the session's recorded events.

The HTML report (`audit.report`) is a view of the records, never a second source of truth,
so everything it shows is read here from the decoded record payloads of one session: the
``session.started`` metadata, the transcript, each finding with what followed from it
(coaching, escalations, retraction), the scorecard and the end. Events are the JSON dicts
stored in the records (this package imports nothing from the engine), and a record holds
whatever the engine wrote, so every field is read defensively: a missing or oddly typed
field shows as absent in the report instead of stopping the export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit.records import RecordPayload


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """One verified record of the session: its payload, line digest and signing key ids."""

    payload: RecordPayload
    digest: str
    keyids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Passage:
    """The knowledge-base passage a finding was judged against."""

    chunk_id: str | None
    document: str | None
    section: str | None
    quote: str | None


@dataclass(slots=True)
class FindingEntry:
    """One flag of the session, numbered in the order it was raised (1, 2, ...)."""

    number: int
    finding_id: str
    rule_id: str
    rule_kind: str | None
    severity: str
    utterance_id: str | None
    turn: int | None
    span: tuple[int, int] | None
    quote: str | None
    detail: str | None
    cite: str | None
    actions: tuple[str, ...]
    passage: Passage | None
    provisional: bool
    revision: int | None
    seq: int
    coaching: list[str] = field(default_factory=list)
    escalations: list[Mapping[str, Any]] = field(default_factory=list)
    retracted: str | None = None  # the reason, if the flag was withdrawn


@dataclass(frozen=True, slots=True)
class Utterance:
    """One final turn of the transcript, as recorded (personal data already masked)."""

    utterance_id: str
    speaker: str
    turn: int | None
    text: str
    at: str | None
    seq: int
    passages: tuple[str, ...]
    redactions: int


@dataclass(slots=True)
class SessionView:
    """Everything the report shows about one session."""

    session_id: str
    learner: str | None = None
    scenario: str | None = None
    knowledge_base: str | None = None
    knowledge_base_digest: str | None = None
    policy_id: str | None = None
    policy_version: int | None = None
    policy_digest: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    end_reason: str | None = None
    utterances: list[Utterance] = field(default_factory=list)
    findings: list[FindingEntry] = field(default_factory=list)
    escalations: list[Mapping[str, Any]] = field(default_factory=list)
    objectives: list[Mapping[str, Any]] = field(default_factory=list)
    checks_failed: list[Mapping[str, Any]] = field(default_factory=list)
    scorecard: Mapping[str, Any] | None = None
    records: list[ReportRecord] = field(default_factory=list)

    def findings_on(self, utterance_id: str) -> list[FindingEntry]:
        """Findings standing on the final text of `utterance_id`: neither raised on a
        partial transcript (its spans index another text) nor withdrawn since."""
        return [
            f
            for f in self.findings
            if f.utterance_id == utterance_id and not f.provisional and f.retracted is None
        ]


def summarise(records: Sequence[ReportRecord]) -> SessionView:
    """Gather the report's content from one session's records, in record order.

    Raises `ValueError` if `records` is empty or mixes sessions: a report is about one
    session, and silently merging two would attribute one learner's flags to another.
    """
    if not records:
        raise ValueError("no records: a session report needs at least one record")
    session_ids = {record.payload.session_id for record in records}
    if len(session_ids) != 1:
        raise ValueError(f"records of several sessions: {sorted(session_ids)}")
    view = SessionView(session_id=records[0].payload.session_id)
    first_policy = records[0].payload.policy
    view.policy_id, view.policy_version = first_policy.id, first_policy.version
    view.policy_digest = first_policy.digest
    by_finding: dict[str, FindingEntry] = {}
    for record in records:
        view.records.append(record)
        _take(view, by_finding, record.payload.event, record.payload.seq)
    return view


def _take(
    view: SessionView, by_finding: dict[str, FindingEntry], event: Mapping[str, Any], seq: int
) -> None:
    kind = event.get("type")
    if kind == "session.started":
        view.learner = text(event, "learner")
        view.scenario = text(event, "scenario")
        view.knowledge_base = text(event, "knowledge_base")
        view.knowledge_base_digest = text(event, "knowledge_base_digest")
        view.started_at = text(event, "at")
    elif kind in ("utterance.final", "persona.final"):
        speaker = "persona" if kind == "persona.final" else text(event, "speaker") or "learner"
        redacted = event.get("redacted")
        view.utterances.append(
            Utterance(
                utterance_id=text(event, "utterance_id") or f"record-{seq}",
                speaker=speaker,
                turn=integer(event, "turn"),
                text=text(event, "text") or "",
                at=text(event, "at"),
                seq=seq,
                passages=strings(event.get("passages")),
                redactions=len(redacted) if isinstance(redacted, list) else 0,
            )
        )
    elif kind == "flag.raised":
        entry = _finding(event, len(view.findings) + 1, seq)
        if entry is not None:
            view.findings.append(entry)
            by_finding.setdefault(entry.finding_id, entry)
    elif kind == "flag.retracted":
        entry = by_finding.get(text(event, "finding_id") or "")
        if entry is not None:
            entry.retracted = text(event, "reason") or "retracted"
    elif kind == "coaching.hint":
        entry = by_finding.get(text(event, "finding_id") or "")
        hint = text(event, "text")
        if entry is not None and hint:
            entry.coaching.append(hint)
    elif kind == "escalation.triggered":
        view.escalations.append(event)
        for finding_id in strings(event.get("finding_ids")):
            if finding_id in by_finding:
                by_finding[finding_id].escalations.append(event)
    elif kind == "objective.progress":
        view.objectives.append(event)
    elif kind == "check.failed":
        view.checks_failed.append(event)
    elif kind == "score.computed":
        scorecard = event.get("scorecard")
        view.scorecard = scorecard if isinstance(scorecard, Mapping) else None
    elif kind == "session.ended":
        view.ended_at = text(event, "at")
        view.end_reason = text(event, "reason")


def _finding(event: Mapping[str, Any], number: int, seq: int) -> FindingEntry | None:
    finding = event.get("finding")
    if not isinstance(finding, Mapping):
        return None
    passage = finding.get("passage")
    return FindingEntry(
        number=number,
        finding_id=text(finding, "finding_id") or f"finding-{number}",
        rule_id=text(finding, "rule_id") or "(rule not recorded)",
        rule_kind=text(finding, "rule_kind"),
        severity=text(finding, "severity") or "unknown",
        utterance_id=text(finding, "utterance_id"),
        turn=integer(finding, "turn"),
        span=span(finding.get("span")),
        quote=text(finding, "quote"),
        detail=text(finding, "detail"),
        cite=text(finding, "cite"),
        actions=strings(finding.get("actions")),
        passage=(
            Passage(
                chunk_id=text(passage, "chunk_id"),
                document=text(passage, "document"),
                section=text(passage, "section"),
                quote=text(passage, "quote"),
            )
            if isinstance(passage, Mapping)
            else None
        ),
        provisional=event.get("provisional") is True,
        revision=integer(finding, "revision"),
        seq=seq,
    )


def text(data: Mapping[str, Any], name: str) -> str | None:
    """`data[name]` if it is a string, else None."""
    value = data.get(name)
    return value if isinstance(value, str) else None


def integer(data: Mapping[str, Any], name: str) -> int | None:
    """`data[name]` if it is an integer (not a bool), else None."""
    value = data.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(data: Mapping[str, Any], name: str) -> float | None:
    """`data[name]` if it is a real number (not a bool), else None."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def strings(value: object) -> tuple[str, ...]:
    """The strings of a JSON list (anything else gives an empty tuple)."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def span(value: object) -> tuple[int, int] | None:
    """A ``{"start", "end"}`` span as a pair, if both are integers with start <= end."""
    if not isinstance(value, Mapping):
        return None
    start, end = integer(value, "start"), integer(value, "end")
    if start is None or end is None or not 0 <= start <= end:
        return None
    return start, end
