"""Rules over the whole conversation: fair balance within N turns, order, and counts.

Each rule is a small state machine fed with the matches of every final utterance of its
speaker, in order. A breach is reported at the turn it becomes certain: a benefit claim when
its balancing window closes, a step taken too early when it is taken, a count when exceeded,
and anything still owed when the session ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evaluators.matching import MatchedSpan, Matches
from evaluators.plan import ConversationRule
from policies.models import CountRule, PairedDisclosureRule, SequenceRule


@dataclass(frozen=True)
class RuleBreach:
    """A conversation rule broken, anchored to the utterance that shows it (if any)."""

    rule_id: str
    turn: int
    utterance_id: str | None
    span: MatchedSpan | None
    quote: str | None
    detail: str
    ordinal: int = 0


@dataclass(frozen=True)
class _Sighting:
    turn: int
    utterance_id: str
    span: MatchedSpan
    quote: str
    ordinal: int


@dataclass
class _PairedState:
    rule: PairedDisclosureRule
    balanced_at: list[int] = field(default_factory=list)
    waiting: list[_Sighting] = field(default_factory=list)

    def observe(
        self, turn: int, utterance_id: str, text: str, matches: Matches
    ) -> list[RuleBreach]:
        if matches.get((self.rule.id, "require")):
            self.balanced_at.append(turn)
            self.waiting = [claim for claim in self.waiting if not self._balances(claim.turn, turn)]
        for ordinal, span in enumerate(matches.get((self.rule.id, "trigger"), [])):
            if not any(self._balances(turn, earlier) for earlier in self.balanced_at):
                quote = text[span.start : span.end]
                self.waiting.append(_Sighting(turn, utterance_id, span, quote, ordinal))
        window = self.rule.within_turns
        if window is None:
            return []
        overdue = [claim for claim in self.waiting if turn >= claim.turn + window]
        self.waiting = [claim for claim in self.waiting if claim not in overdue]
        return [self._breach(claim, turn, f"within {_turns(window)}") for claim in overdue]

    def end(self, turn: int) -> list[RuleBreach]:
        owed, self.waiting = self.waiting, []
        return [self._breach(claim, turn, "by the end of the session") for claim in owed]

    def _balances(self, claim_turn: int, balance_turn: int) -> bool:
        window = self.rule.within_turns
        return window is None or abs(balance_turn - claim_turn) <= window

    def _breach(self, claim: _Sighting, turn: int, deadline: str) -> RuleBreach:
        return RuleBreach(
            self.rule.id,
            turn,
            claim.utterance_id,
            claim.span,
            claim.quote,
            f"claim at turn {claim.turn} not balanced {deadline} ({claim.span.detail})",
            claim.ordinal,
        )


@dataclass
class _SequenceState:
    rule: SequenceRule
    first_at: int | None = None

    def observe(
        self, turn: int, utterance_id: str, text: str, matches: Matches
    ) -> list[RuleBreach]:
        firsts = matches.get((self.rule.id, "first"), [])
        breaches = []
        for ordinal, span in enumerate(matches.get((self.rule.id, "then"), [])):
            done_before = self.first_at is not None or any(f.start < span.start for f in firsts)
            if not done_before:
                breaches.append(
                    RuleBreach(
                        self.rule.id,
                        turn,
                        utterance_id,
                        span,
                        text[span.start : span.end],
                        f"came before the required earlier step ({span.detail})",
                        ordinal,
                    )
                )
        if firsts and self.first_at is None:
            self.first_at = turn
        return breaches

    def end(self, turn: int) -> list[RuleBreach]:
        return []


@dataclass
class _CountState:
    rule: CountRule
    seen: int = 0

    def observe(
        self, turn: int, utterance_id: str, text: str, matches: Matches
    ) -> list[RuleBreach]:
        breaches = []
        for ordinal, span in enumerate(matches.get((self.rule.id, "match"), [])):
            self.seen += 1
            if self.rule.max is not None and self.seen > self.rule.max:
                breaches.append(
                    RuleBreach(
                        self.rule.id,
                        turn,
                        utterance_id,
                        span,
                        text[span.start : span.end],
                        f"occurrence {self.seen}, more than the {self.rule.max} allowed "
                        f"({span.detail})",
                        ordinal,
                    )
                )
        return breaches

    def end(self, turn: int) -> list[RuleBreach]:
        if self.rule.min is None or self.seen >= self.rule.min:
            return []
        detail = f"occurred {self.seen} time{'s' if self.seen != 1 else ''}, fewer than the "
        return [
            RuleBreach(self.rule.id, turn, None, None, None, f"{detail}{self.rule.min} required")
        ]


_State = _PairedState | _SequenceState | _CountState


def _state_for(rule: ConversationRule) -> _State:
    if isinstance(rule, PairedDisclosureRule):
        return _PairedState(rule)
    if isinstance(rule, SequenceRule):
        return _SequenceState(rule)
    return _CountState(rule)


class ConversationTracker:
    """The state machines of one session's conversation rules."""

    def __init__(self, rules: Sequence[ConversationRule]) -> None:
        self._states = [_state_for(rule) for rule in rules]

    def observe(
        self, turn: int, utterance_id: str, text: str, matches: Matches, rule_ids: set[str]
    ) -> list[RuleBreach]:
        """Feed one final utterance to the rules in `rule_ids` (those of its speaker)."""
        return [
            breach
            for state in self._states
            if state.rule.id in rule_ids
            for breach in state.observe(turn, utterance_id, text, matches)
        ]

    def end(self, turn: int) -> list[RuleBreach]:
        return [breach for state in self._states for breach in state.end(turn)]


def _turns(count: int) -> str:
    return f"{count} turn{'s' if count != 1 else ''}"
