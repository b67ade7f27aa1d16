"""From findings to actions: coaching hints, escalations, ending the session.

A rule's own `on_violation` acts on each of its findings. The policy's `escalation` rules act on
the session as a whole: each counts the findings that meet its `when`, and fires every time the
count reaches a multiple of `count` (so `count: 1` fires on every matching finding).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.clock import Clock
from engine.events import CoachingHint, EscalationTriggered
from evaluators.findings import Finding
from policies.models import Action, EscalationRule, Notify, Policy

DEFAULT_CHANNEL = "compliance"


@dataclass
class Reaction:
    """Events to emit, and the findings (if any) on whose account the session must end."""

    events: list[CoachingHint | EscalationTriggered] = field(default_factory=list)
    ending_findings: set[str] = field(default_factory=set)

    @property
    def end_session(self) -> bool:
        return bool(self.ending_findings)


def _matches(rule: EscalationRule, finding: Finding) -> bool:
    when = rule.when
    if when.rule is not None and finding.rule_id != when.rule:
        return False
    return when.severity is None or finding.severity.rank >= when.severity.rank


class Escalator:
    def __init__(self, policy: Policy, session_id: str, clock: Clock) -> None:
        self._policy = policy
        self._session_id = session_id
        self._clock = clock
        self._matched: list[list[str]] = [[] for _ in policy.escalation]

    def react(self, findings: Sequence[Finding]) -> Reaction:
        reaction = Reaction()
        for finding in findings:
            self._rule_actions(finding, reaction)
            self._escalation_rules(finding, reaction)
        return reaction

    def withdraw(self, finding_ids: set[str]) -> None:
        """Retracted findings no longer count towards any escalation rule."""
        self._matched = [[i for i in ids if i not in finding_ids] for ids in self._matched]

    def _rule_actions(self, finding: Finding, reaction: Reaction) -> None:
        if Action.coach in finding.actions:
            reaction.events.append(
                CoachingHint(
                    session_id=self._session_id,
                    at=self._clock(),
                    finding_id=finding.finding_id,
                    rule_id=finding.rule_id,
                    text=finding.coach or f"This breaches {finding.rule_id}: {finding.detail}.",
                )
            )
        if Action.escalate in finding.actions or Action.end_session in finding.actions:
            ends = Action.end_session in finding.actions
            reaction.events.append(
                self._escalation(
                    f"rule:{finding.rule_id}",
                    [finding],
                    (DEFAULT_CHANNEL,) if Action.escalate in finding.actions else (),
                    ends_session=ends,
                    review=False,
                )
            )
            if ends:
                reaction.ending_findings.add(finding.finding_id)

    def _escalation_rules(self, finding: Finding, reaction: Reaction) -> None:
        for index, rule in enumerate(self._policy.escalation):
            if not _matches(rule, finding):
                continue
            matched = self._matched[index]
            matched.append(finding.finding_id)
            if len(matched) % rule.when.count:
                continue
            channels = tuple(step.notify for step in rule.do if isinstance(step, Notify))
            ends = "end_session" in rule.do
            event = self._escalation(
                f"escalation[{index}]",
                [finding],
                channels,
                ends_session=ends,
                review="review" in rule.do,
                finding_ids=tuple(matched[-rule.when.count :]),
            )
            reaction.events.append(event)
            if ends:
                reaction.ending_findings.update(event.finding_ids)

    def _escalation(
        self,
        trigger: str,
        findings: Sequence[Finding],
        channels: tuple[str, ...],
        *,
        ends_session: bool,
        review: bool,
        finding_ids: tuple[str, ...] | None = None,
    ) -> EscalationTriggered:
        return EscalationTriggered(
            session_id=self._session_id,
            at=self._clock(),
            trigger=trigger,
            finding_ids=finding_ids or tuple(finding.finding_id for finding in findings),
            severity=max(findings, key=lambda item: item.severity.rank).severity.value,
            channels=channels,
            ends_session=ends_session,
            review=review,
        )
