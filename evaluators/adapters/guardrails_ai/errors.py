"""Why a guardrails-ai validator used as a Proctor rule could not give a verdict.

The two cases are kept apart because they are handled at different times: an unavailable
validator is a configuration problem found when the policy is loaded, a failed check happens on
one utterance and is settled by the rule's `on_error` (block or flag).
"""

from __future__ import annotations


class ValidatorUnavailableError(Exception):
    """The rule's validator cannot be set up: guardrails-ai missing, class not found or not a
    Validator, or its arguments rejected."""

    def __init__(self, rule_id: str, reason: str) -> None:
        super().__init__(f"rule {rule_id!r}: guardrails-ai validator unavailable: {reason}")
        self.rule_id = rule_id
        self.reason = reason


class ValidatorFailedError(Exception):
    """The validator raised, returned something that is not a verdict, or ran out of time."""

    def __init__(self, rule_id: str, reason: str) -> None:
        super().__init__(f"rule {rule_id!r}: guardrails-ai validator failed: {reason}")
        self.rule_id = rule_id
        self.reason = reason
