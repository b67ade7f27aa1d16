"""guardrails-ai interoperability (the optional extra `proctor[guardrails]`).

Two directions: `ProctorPolicyValidator` puts a Proctor policy inside a guardrails-ai Guard, and
`ValidatorCheck` runs a locally installed guardrails-ai validator as the check of a policy rule
of kind `guardrails_ai`. guardrails-ai is imported only when one of them is used, and always
through `configure_guardrails_offline`, which switches off its metrics export and remote
inference first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evaluators.adapters.guardrails_ai.errors import ValidatorFailedError, ValidatorUnavailableError
from evaluators.adapters.guardrails_ai.offline import (
    GuardrailsUnavailableError,
    configure_guardrails_offline,
)
from evaluators.adapters.guardrails_ai.validator_check import ValidatorBreach, ValidatorCheck

if TYPE_CHECKING:
    from evaluators.adapters.guardrails_ai.policy_validator import ProctorPolicyValidator

__all__ = [
    "GuardrailsUnavailableError",
    "ProctorPolicyValidator",
    "ValidatorBreach",
    "ValidatorCheck",
    "ValidatorFailedError",
    "ValidatorUnavailableError",
    "configure_guardrails_offline",
]


def __getattr__(name: str) -> Any:
    """`ProctorPolicyValidator` subclasses guardrails' Validator: import it on first use."""
    if name == "ProctorPolicyValidator":
        configure_guardrails_offline()
        from evaluators.adapters.guardrails_ai.policy_validator import ProctorPolicyValidator

        return ProctorPolicyValidator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
