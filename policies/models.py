"""Policy format v1: the pydantic models a compliance officer's YAML is validated against.

The models are the single source of truth for the policy language: the YAML loader validates
against them, `proctor policy schema` exports their JSON Schema for editors, and the canonical
digest is taken over their normalised dump. Every model forbids unknown fields so that a typo in
a field name is an error rather than a silently ignored rule.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
RuleId = Annotated[str, Field(pattern=RULE_ID_PATTERN, description="Lower-case rule id.")]


class StrictModel(BaseModel):
    """Frozen, and unknown fields are errors: a misspelt field must never be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Severity(StrEnum):
    """How serious a breach is; ordered from least to most serious."""

    info = "info"
    warning = "warning"
    violation = "violation"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.info: 0,
    Severity.warning: 1,
    Severity.violation: 2,
    Severity.critical: 3,
}


class Action(StrEnum):
    """What happens when a guardrail fires (see docs/policy-language.md)."""

    coach = "coach"
    redact = "redact"
    escalate = "escalate"
    end_session = "end_session"


class Negation(StrEnum):
    ignore_negated = "ignore_negated"
    flag_negated = "flag_negated"


class Quotation(StrEnum):
    ignore_quoted = "ignore_quoted"
    flag_quoted = "flag_quoted"


class PiiEntity(StrEnum):
    US_SSN = "US_SSN"
    CREDIT_CARD = "CREDIT_CARD"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    IBAN = "IBAN"
    DATE_OF_BIRTH = "DATE_OF_BIRTH"


class Speaker(StrEnum):
    learner = "learner"
    persona = "persona"


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _without_control_characters(pattern: str) -> str:
    """In a double-quoted YAML string `\b` is a backspace, not a word boundary: refuse it."""
    found = _CONTROL_CHARACTER.search(pattern)
    if found:
        raise ValueError(
            f"contains the control character {found.group()!r}; write patterns in single "
            "quotes ('\\bword') so that YAML keeps backslashes as they are"
        )
    return pattern


def _check_phrase(phrase: str) -> str:
    if not re.search(r"\w", phrase):
        raise ValueError(f"phrase {phrase!r} has no words to match")
    return _without_control_characters(phrase)


def _check_regex(expression: str) -> str:
    if not expression:
        raise ValueError("empty regex")
    return _without_control_characters(expression)


class Match(StrictModel):
    """Lexical patterns. Phrases match whole words, case-insensitively, with any run of white
    space between words; a trailing `*` matches any word ending (`guarantee*`). Regexes use
    Hyperscan syntax (PCRE without back-references or look-around)."""

    phrases: list[Annotated[str, AfterValidator(_check_phrase)]] = Field(default_factory=list)
    regex: list[Annotated[str, AfterValidator(_check_regex)]] = Field(default_factory=list)
    case_sensitive: bool = Field(default=False, strict=True)

    @model_validator(mode="after")
    def _has_a_pattern(self) -> Match:
        if not self.phrases and not self.regex:
            raise ValueError("match needs at least one entry in `phrases` or `regex`")
        return self


class _RuleBase(StrictModel):
    id: RuleId
    title: str | None = None
    description: str | None = None
    severity: Severity = Severity.violation
    cite: str | None = Field(default=None, description="Regulation or internal policy cited.")
    on_violation: list[Action] = Field(default_factory=lambda: [Action.coach])
    coach: str | None = Field(default=None, description="Hint shown to the learner on a breach.")
    applies_to: Speaker = Speaker.learner


class LexicalRule(_RuleBase):
    """Fires when the speaker says one of the phrases or regexes (the default kind)."""

    kind: Literal["lexical"] = "lexical"
    match: Match
    negation: Negation = Negation.ignore_negated
    quotation: Quotation = Quotation.ignore_quoted


def _check_region(region: str) -> str:
    if region not in phonenumbers.SUPPORTED_REGIONS:
        hint = " (the United Kingdom is GB)" if region == "UK" else ""
        raise ValueError(f"unknown phone region {region!r}{hint}; use an ISO 3166 code")
    return region


class PiiRule(_RuleBase):
    """Fires when the speaker discloses personal data of the listed kinds."""

    kind: Literal["pii"]
    entities: list[PiiEntity] = Field(min_length=1)
    default_region: Annotated[str, AfterValidator(_check_region)] = Field(
        default="US", description="ISO 3166 region for national phone numbers (US, GB, DE…)."
    )


class RequiredDisclosureRule(_RuleBase):
    """Fires when the speaker has NOT said one of the phrases by learner turn `by_turn`
    (1-based), or by the end of the session when `by_turn` is absent."""

    kind: Literal["required_disclosure"]
    match: Match
    by_turn: int | None = Field(default=None, ge=1, strict=True)
    negation: Negation = Negation.ignore_negated
    quotation: Quotation = Quotation.ignore_quoted


class GroundingRule(_RuleBase):
    """Fires when the speaker states a quantity (a dose, a percentage, mmHg, a duration) that
    the most similar knowledge-base passage states differently."""

    kind: Literal["grounding"]
    min_similarity: float = Field(
        default=0.45,
        ge=0,
        le=1,
        strict=True,
        description="How close (cosine) a passage must be to the statement to judge it.",
    )


RULE_KINDS = ("lexical", "pii", "required_disclosure", "grounding")


def _rule_kind(value: Any) -> str | None:
    """Rules without `kind` are lexical; an unknown kind is reported by name."""
    kind = value.get("kind", "lexical") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if kind in RULE_KINDS else None


Guardrail = Annotated[
    Annotated[LexicalRule, Tag("lexical")]
    | Annotated[PiiRule, Tag("pii")]
    | Annotated[RequiredDisclosureRule, Tag("required_disclosure")]
    | Annotated[GroundingRule, Tag("grounding")],
    Discriminator(
        _rule_kind,
        custom_error_type="unknown_rule_kind",
        custom_error_message=f"unknown rule kind; expected one of: {', '.join(RULE_KINDS)}",
    ),
]


class Criterion(StrictModel):
    """A rubric criterion scored from guardrails: the share of listed rules never breached."""

    id: RuleId
    title: str | None = None
    weight: float = Field(gt=0, strict=True)
    from_guardrails: list[RuleId] = Field(min_length=1)


class Rubric(StrictModel):
    pass_mark: float = Field(ge=0, le=1, strict=True)
    criteria: list[Criterion] = Field(min_length=1)
    blockers: list[RuleId] = Field(
        default_factory=list, description="Any breach of these fails the session."
    )


class EscalationWhen(StrictModel):
    """Condition over the findings of one session. `severity` matches findings at that
    severity or above; `rule` narrows to one rule; `count` is how many such findings trigger."""

    severity: Severity | None = None
    rule: RuleId | None = None
    count: int = Field(default=1, ge=1, strict=True)

    @model_validator(mode="after")
    def _has_a_condition(self) -> EscalationWhen:
        if self.severity is None and self.rule is None:
            raise ValueError("`when` needs `severity` or `rule`")
        return self


class Notify(StrictModel):
    notify: str = Field(min_length=1, description="Channel that receives the escalation.")


EscalationStep = Literal["end_session", "review"] | Notify


class EscalationRule(StrictModel):
    when: EscalationWhen
    do: list[EscalationStep] = Field(min_length=1)


class Policy(StrictModel):
    """A compliance policy, format v1."""

    format: Literal[1] = 1
    policy: RuleId = Field(description="Policy id, stable across versions.")
    version: int = Field(ge=1, strict=True)
    title: str | None = None
    jurisdiction: str | None = None
    citations: dict[str, str] = Field(
        default_factory=dict, description="Regulations this policy cites, by short name."
    )
    knowledge_base: str | None = None
    guardrails: list[Guardrail] = Field(min_length=1)
    rubric: Rubric | None = None
    escalation: list[EscalationRule] = Field(default_factory=list)

    def rule(self, rule_id: str) -> Guardrail:
        for rule in self.guardrails:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)
