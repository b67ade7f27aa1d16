"""A Proctor policy as a guardrails-ai validator, for teams that already run Guards.

`Guard().use(ProctorPolicyValidator("policy.yaml"))` checks text against the policy's rules
the way Proctor checks one final learner utterance: each finding becomes an error span with
the rule id, what matched and the regulation cited. Only rules that can be judged on one text
take part (see single_text_rules); `skipped` lists the others with the reason.

The fix value is the text with personal data masked, offered only when masking repairs every
finding: a fix that left a breach in the text would let `on_fail="fix"` pass it. A rule whose
check could not run and whose `on_error` is `flag` is named in the result's metadata under
`not_evaluated`; with `block` it fails the text, as in a session.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from guardrails.validator_base import Validator, register_validator
from guardrails_ai.types import ErrorSpan, FailResult, PassResult

from evaluators.adapters.guardrails_ai.offline import configure_guardrails_offline
from evaluators.adapters.guardrails_ai.single_text_rules import select_rules
from evaluators.findings import Finding
from evaluators.plan import PolicyPlan, compile_policy
from evaluators.semantic import SentenceEmbedder
from evaluators.session import FinalOutcome, SessionEvaluator
from policies.loading import load_policy
from policies.models import Guardrail, Policy, Speaker

configure_guardrails_offline()

VALIDATOR_NAME = "proctor/policy"


@register_validator(name=VALIDATOR_NAME, data_type="string")
class ProctorPolicyValidator(Validator):
    """Fails text that breaches the policy: every rule that can be judged on one learner
    utterance, or the `rules` named. `policy` is a Policy or the path of a policy file;
    `embedder` (e.g. knowledge_base.default_embedder()) lets semantic rules take part."""

    def __init__(
        self,
        policy: Policy | str | Path,
        rules: Sequence[str] | None = None,
        embedder: SentenceEmbedder | None = None,
        on_fail: Any = None,
    ) -> None:
        if not isinstance(policy, Policy | str | Path):
            raise TypeError(
                f"policy must be a Policy or the path of a policy file, not {type(policy).__name__}"
            )
        loaded = policy if isinstance(policy, Policy) else load_policy(Path(policy))
        selection = select_rules(loaded, rules, can_embed=embedder is not None)
        self.skipped = dict(selection.skipped)
        self._plan = self._compile(loaded, selection.rules, embedder, named=rules is not None)
        self.policy = loaded
        self.rule_ids = tuple(self._plan.rules)
        super().__init__(
            on_fail=on_fail,
            policy=policy if isinstance(policy, Policy) else str(policy),
            rules=list(self.rule_ids),
        )

    def _compile(
        self,
        policy: Policy,
        rules: list[Guardrail],
        embedder: SentenceEmbedder | None,
        named: bool,
    ) -> PolicyPlan:
        """A plan that can run every one of its rules: a rule that does not load (a
        guardrails-ai validator missing, say) is refused if named, else skipped."""
        plan = _plan_for(policy, rules, embedder)
        if not plan.unavailable:
            return plan
        problems = {
            rule_id: f"cannot be evaluated: {why}" for rule_id, why in plan.unavailable.items()
        }
        if named:
            raise ValueError(
                "; ".join(f"rule {rule_id!r} {why}" for rule_id, why in problems.items())
            )
        self.skipped.update(problems)
        remaining = [rule for rule in rules if rule.id not in problems]
        if not remaining:
            raise ValueError(f"policy {policy.policy!r} has no rule that can be evaluated here")
        return _plan_for(policy, remaining, embedder)

    def to_prompt(self, with_keywords: bool = True) -> str:
        """guardrails renders this on every call; the default would print the whole policy."""
        policy, rules = f"{self.policy.policy}@{self.policy.version}", ",".join(self.rule_ids)
        if with_keywords:
            return f"{VALIDATOR_NAME}: policy={policy} rules={rules}"
        return f"{VALIDATOR_NAME}: {policy} {rules}"

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        if not isinstance(value, str):
            return FailResult(
                error_message=f"{VALIDATOR_NAME} checks text, not {type(value).__name__}"
            )
        outcome = SessionEvaluator(self._plan).final("guardrails-value", value, Speaker.learner)
        findings = [item for item in outcome.new_findings if item.rule_id in self.rule_ids]
        details = _not_evaluated(outcome)
        if not findings:
            return PassResult(metadata=details)
        reasons = [_reason(finding) for finding in findings]
        masks_everything = all(finding.span in outcome.redacted_spans for finding in findings)
        return FailResult(
            error_message="; ".join(reasons),
            error_spans=[
                _error_span(finding, reason, len(value))
                for finding, reason in zip(findings, reasons, strict=True)
            ],
            fix_value=outcome.recordable_text if masks_everything else None,
            metadata=details,
        )


def _plan_for(
    policy: Policy, rules: list[Guardrail], embedder: SentenceEmbedder | None
) -> PolicyPlan:
    """Compile only the chosen rules, so that neither their findings nor their masking can
    come from another rule. The rubric, objectives and escalation refer to the whole policy
    and play no part in judging one text, so they are left out."""
    subset = policy.model_copy(
        update={"guardrails": rules, "rubric": None, "objectives": [], "escalation": []}
    )
    return compile_policy(subset, embedder)


def _not_evaluated(outcome: FinalOutcome) -> dict[str, Any] | None:
    flagged = {f.rule_id: f.reason for f in outcome.check_failures if not f.blocked}
    return {"not_evaluated": flagged} if flagged else None


def _reason(finding: Finding) -> str:
    cited = f" [{finding.cite}]" if finding.cite else ""
    return f"{finding.rule_id}: {finding.detail}{cited}"


def _error_span(finding: Finding, reason: str, length: int) -> ErrorSpan:
    if finding.span is None:
        return ErrorSpan(start=0, end=length, reason=reason)
    return ErrorSpan(start=finding.span.start, end=finding.span.end, reason=reason)
