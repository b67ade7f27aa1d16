"""A locally installed guardrails-ai validator, run as the check of a `guardrails_ai` rule.

The rule names the validator class by import path and gives its keyword arguments. Everything
that can be wrong with that is found when the check is built, so that a policy naming a missing
or misconfigured validator is refused before a session starts (ValidatorUnavailableError). On
an utterance the validator runs in a worker thread with the rule's time limit: a validator that
raises, answers with something that is not a verdict, or runs out of time raises
ValidatorFailedError, and the rule's `on_error` decides what that means.

Validators run locally only: the adapter switches remote inference off for the process, and a
rule may not pass the arguments that would switch it back on.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from evaluators.adapters.guardrails_ai.errors import ValidatorFailedError, ValidatorUnavailableError
from evaluators.adapters.guardrails_ai.offline import (
    GuardrailsUnavailableError,
    configure_guardrails_offline,
)
from policies.models import GuardrailsValidatorRule

RESERVED_ARGUMENTS = {
    "on_fail": "what a failure does is the rule's on_violation and on_error",
    "use_local": "validators run locally only",
    "validation_endpoint": "validators run locally only",
}

T = TypeVar("T")


@dataclass(frozen=True)
class ValidatorBreach:
    """Where the validator says the text fails, [start, end) in the text, and why."""

    start: int
    end: int
    detail: str


class ValidatorCheck:
    """The validator of one `guardrails_ai` rule, built once and run on each final utterance."""

    def __init__(self, rule: GuardrailsValidatorRule) -> None:
        self.rule = rule
        try:
            configure_guardrails_offline()
        except GuardrailsUnavailableError as error:
            raise ValidatorUnavailableError(rule.id, str(error)) from error
        from guardrails_ai.types import FailResult, PassResult

        self._fail_result: type[Any] = FailResult
        self._pass_result: type[Any] = PassResult
        self._validator = _instantiate(rule, _validator_class(rule))
        self._validator.use_local = True

    @property
    def timeout_seconds(self) -> float:
        return self.rule.timeout_ms / 1000

    def check(self, text: str) -> list[ValidatorBreach]:
        """The breaches in `text`, none when the validator passes it; a failing validator that
        gives no error spans is one breach over the whole text."""
        try:
            result = _call_with_timeout(
                lambda: self._validator.validate(text, {}),
                self.timeout_seconds,
                f"guardrails-ai {self.rule.id}",
            )
        except _Overran:
            raise ValidatorFailedError(
                self.rule.id, f"no verdict within timeout_ms={self.rule.timeout_ms}"
            ) from None
        except Exception as error:
            raise ValidatorFailedError(
                self.rule.id, f"the validator raised {type(error).__name__}: {error}"
            ) from error
        if isinstance(result, self._pass_result):
            return []
        if not isinstance(result, self._fail_result):
            raise ValidatorFailedError(
                self.rule.id,
                f"the validator returned {type(result).__name__}, not a PassResult or FailResult",
            )
        return self._breaches(text, result)

    def _breaches(self, text: str, result: Any) -> list[ValidatorBreach]:
        message = str(result.error_message or "the validator failed the text")
        if not result.error_spans:
            return [ValidatorBreach(0, len(text), message)]
        breaches = []
        for span in result.error_spans:
            if not 0 <= span.start < span.end <= len(text):
                raise ValidatorFailedError(
                    self.rule.id,
                    f"error span [{span.start}, {span.end}) is not inside the "
                    f"{len(text)}-character text",
                )
            breaches.append(ValidatorBreach(span.start, span.end, span.reason or message))
        return breaches


def _validator_class(rule: GuardrailsValidatorRule) -> type[Any]:
    from guardrails.validator_base import Validator, validators_registry

    module_name, _, class_name = rule.validator.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        reason = f"cannot import module {module_name!r}: {type(error).__name__}: {error}"
        raise ValidatorUnavailableError(rule.id, reason) from error
    found: object = getattr(module, class_name, None)
    if found is None:
        raise ValidatorUnavailableError(
            rule.id, f"module {module_name!r} has no attribute {class_name!r}"
        )
    if not isinstance(found, type) or not issubclass(found, Validator):
        raise ValidatorUnavailableError(
            rule.id, f"{rule.validator} is not a guardrails-ai Validator subclass"
        )
    if validators_registry.get(getattr(found, "rail_alias", None)) is not found:
        raise ValidatorUnavailableError(
            rule.id,
            f"{rule.validator} is not registered; decorate it with "
            "@register_validator(name=..., data_type='string')",
        )
    needed = list(getattr(found, "required_metadata_keys", []) or [])
    if needed:
        raise ValidatorUnavailableError(
            rule.id, f"{rule.validator} needs metadata {needed}, which a rule cannot supply"
        )
    validator_class: type[Any] = found
    return validator_class


def _instantiate(rule: GuardrailsValidatorRule, validator_class: type[Any]) -> Any:
    for name, why in RESERVED_ARGUMENTS.items():
        if name in rule.arguments:
            raise ValidatorUnavailableError(rule.id, f"argument {name!r} is not allowed: {why}")
    try:
        return validator_class(**rule.arguments)
    except Exception as error:
        reason = f"{rule.validator} rejected its arguments: {type(error).__name__}: {error}"
        raise ValidatorUnavailableError(rule.id, reason) from error


class _Overran(Exception):
    """The call gave no answer in time (kept apart from a TimeoutError the call raised)."""


def _call_with_timeout(call: Callable[[], T], timeout: float, name: str) -> T:
    """Run `call` in a daemon thread and wait at most `timeout` seconds, else raise _Overran.
    A call that overruns is abandoned, not stopped (Python cannot stop a thread); being a
    daemon, it never holds up the process's exit."""
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(call())
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, name=name, daemon=True).start()
    try:
        return future.result(timeout)
    except TimeoutError:
        if not future.done():
            raise _Overran from None
    return future.result()  # the call raised TimeoutError itself, or finished just then
