"""guardrails-ai validators written for the adapter tests, loaded by import path from policies.

`BannedWords` is what a team might write for a competitor-names rule; the others misbehave on
purpose, each in one way a real validator can.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from guardrails import Validator, register_validator
from guardrails_ai.types import ErrorSpan, FailResult, PassResult

RELEASE_STALLING = threading.Event()
"""Set by a test to let a stalled validator finish."""


@register_validator(name="proctor-tests/banned-words", data_type="string")
class BannedWords(Validator):
    """Fails text that contains one of `words` (whole words, any case), one span per use."""

    def __init__(self, words: list[str], on_fail: Any = None) -> None:
        if not words:
            raise ValueError("words must not be empty")
        super().__init__(on_fail=on_fail, words=words)
        alternatives = "|".join(re.escape(word) for word in words)
        self._pattern = re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        spans = [
            ErrorSpan(start=found.start(), end=found.end(), reason=f"banned word {found.group()!r}")
            for found in self._pattern.finditer(value)
        ]
        if not spans:
            return PassResult()
        return FailResult(error_message=f"{len(spans)} banned word(s)", error_spans=spans)


@register_validator(name="proctor-tests/max-words", data_type="string")
class MaxWords(Validator):
    """Fails text longer than `limit` words, without saying where."""

    def __init__(self, limit: int, on_fail: Any = None) -> None:
        super().__init__(on_fail=on_fail, limit=limit)
        self.limit = limit

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        count = len(value.split())
        if count <= self.limit:
            return PassResult()
        return FailResult(error_message=f"{count} words, more than {self.limit}")


@register_validator(name="proctor-tests/broken", data_type="string")
class Broken(Validator):
    """Raises instead of answering: a RuntimeError, or a TimeoutError of its own."""

    def __init__(self, error: str = "runtime", on_fail: Any = None) -> None:
        super().__init__(on_fail=on_fail, error=error)
        self.error = error

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        if self.error == "timeout":
            raise TimeoutError("upstream model did not answer")
        raise RuntimeError("model file is corrupt")


@register_validator(name="proctor-tests/stalling", data_type="string")
class Stalling(Validator):
    """Takes until a test sets RELEASE_STALLING (at most ten seconds), then passes."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        RELEASE_STALLING.wait(10)
        return PassResult()


@register_validator(name="proctor-tests/no-verdict", data_type="string")
class NoVerdict(Validator):
    """Answers with a string instead of a PassResult or FailResult."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        return "looks fine to me"


@register_validator(name="proctor-tests/wild-span", data_type="string")
class WildSpan(Validator):
    """Fails with an error span that ends past the end of the text."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        span = ErrorSpan(start=0, end=len(value) + 5, reason="somewhere")
        return FailResult(error_message="bad", error_spans=[span])


@register_validator(name="proctor-tests/inference", data_type="string")
class InferenceProbe(Validator):
    """Says where its model ran: a hub validator's `_inference` picks local or remote."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        where = self._inference(value)
        return FailResult(error_message=f"ran {where}")

    def _inference_local(self, model_input: Any) -> Any:
        return "locally"

    def _inference_remote(self, model_input: Any) -> Any:
        return "remotely"


@register_validator(name="proctor-tests/needs-metadata", data_type="string")
class NeedsMetadata(Validator):
    """Needs metadata a caller must pass with each value."""

    required_metadata_keys = ["sources"]  # noqa: RUF012 (guardrails' own convention)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        return PassResult()


class Unregistered(Validator):
    """A Validator subclass nobody registered."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        return PassResult()


class NotAValidator:
    """A class with a validate method, but not a guardrails-ai Validator."""

    def validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        return None
