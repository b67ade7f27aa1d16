"""How session events read on a terminal."""

from __future__ import annotations

from engine.events import CoachingHint, EscalationTriggered, FlagRaised, FlagRetracted
from evaluators.findings import Finding, Scorecard

_SEVERITY_MARK = {"info": "i", "warning": "!", "violation": "!!", "critical": "!!!"}


def finding_line(finding: Finding) -> str:
    where = (
        f'"{finding.quote}" at chars {finding.span.start}-{finding.span.end}'
        if finding.span is not None
        else "(session-level)"
    )
    cite = f" — {finding.cite}" if finding.cite else ""
    actions = ", ".join(action.value for action in finding.actions) or "record"
    return (
        f"[{_SEVERITY_MARK[finding.severity.value]} {finding.severity.value}] {finding.rule_id}: "
        f"{where}; {finding.detail}{cite}; actions: {actions}"
    )


def flag_line(event: FlagRaised) -> str:
    finding = event.finding
    when = (
        f"live, word {finding.revision + 1}"
        if finding.revision is not None
        else f"turn {finding.turn}"
    )
    return f"  FLAG ({when}) {finding_line(finding)}"


def retraction_line(event: FlagRetracted) -> str:
    return f"  FLAG WITHDRAWN {event.finding_id}: {event.reason}"


def coaching_line(event: CoachingHint) -> str:
    return f"  COACH {event.text}"


def escalation_line(event: EscalationTriggered) -> str:
    steps = [f"notify {channel}" for channel in event.channels]
    if event.review:
        steps.append("queue for review")
    if event.ends_session:
        steps.append("end session")
    return f"  ESCALATE ({event.trigger}, {event.severity}): {', '.join(steps) or 'record'}"


def scorecard_lines(card: Scorecard) -> list[str]:
    verdict = "PASSED" if card.passed else "FAILED"
    lines = [
        f"Scorecard: {card.score:.2f} (pass mark {card.pass_mark:.2f}) — {verdict}"
        f" over {card.learner_turns} learner turns"
    ]
    if card.blockers_breached:
        lines.append("  Blockers breached (fail the session whatever the score):")
        lines += [
            f"    - {item.rule_id} at turn {item.turn}: {item.quote or ''} ({item.note})"
            for item in card.blockers_breached
        ]
    if card.not_evaluated:
        lines.append(f"  Not evaluated (no knowledge base): {', '.join(card.not_evaluated)}")
    for criterion in card.criteria:
        title = criterion.title or criterion.id
        lines.append(
            f"  {criterion.id} ({title}): {criterion.score:.2f} x weight {criterion.weight}"
        )
        for item in criterion.evidence:
            where = f"turn {item.turn}, " if item.turn is not None else ""
            quote = f' "{item.quote}"' if item.quote else ""
            outcome = item.outcome.replace("_", " ")
            lines.append(f"    {outcome:13} {item.rule_id}: {where}{item.note}{quote}")
    return lines
