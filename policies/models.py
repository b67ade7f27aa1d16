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


def _check_example(example: str) -> str:
    if not re.search(r"\w", example):
        raise ValueError(f"example {example!r} has no words to compare with")
    return example


class SemanticMatch(StrictModel):
    """Matches a sentence close in meaning to one of the examples: cosine similarity of
    sentence embeddings at or above `threshold`, and closer to an example than to any of the
    `unlike` sentences (statements that look alike but are fine)."""

    examples: list[Annotated[str, AfterValidator(_check_example)]] = Field(min_length=1)
    unlike: list[Annotated[str, AfterValidator(_check_example)]] = Field(default_factory=list)
    threshold: float = Field(default=0.6, gt=0, le=1, strict=True)


class Match(StrictModel):
    """What a rule looks for. Phrases match whole words, case-insensitively, with any run of
    white space between words; a trailing `*` matches any word ending (`guarantee*`). Regexes
    use Hyperscan syntax (PCRE without back-references or look-around). `semantic` matches
    sentences by meaning; it is judged on final utterances, lexical patterns also on partials."""

    phrases: list[Annotated[str, AfterValidator(_check_phrase)]] = Field(default_factory=list)
    regex: list[Annotated[str, AfterValidator(_check_regex)]] = Field(default_factory=list)
    semantic: SemanticMatch | None = None
    case_sensitive: bool = Field(default=False, strict=True)

    @model_validator(mode="after")
    def _has_a_pattern(self) -> Match:
        if not self.phrases and not self.regex and self.semantic is None:
            raise ValueError("match needs at least one of `phrases`, `regex` or `semantic`")
        return self

    @property
    def is_lexical(self) -> bool:
        return bool(self.phrases or self.regex)


class OnError(StrEnum):
    """What a check that cannot run (model error, timeout) does: `block` fails closed and
    counts as a breach; `flag` records the failure and leaves the rule not evaluated."""

    block = "block"
    flag = "flag"


class _RuleBase(StrictModel):
    id: RuleId
    title: str | None = None
    description: str | None = None
    severity: Severity = Severity.violation
    cite: str | None = Field(default=None, description="Regulation or internal policy cited.")
    on_violation: list[Action] = Field(default_factory=lambda: [Action.coach])
    coach: str | None = Field(default=None, description="Hint shown to the learner on a breach.")
    applies_to: Speaker = Speaker.learner
    on_error: OnError | None = Field(
        default=None,
        description="When the check itself fails: block (default for critical rules) or flag.",
    )

    @property
    def error_handling(self) -> OnError:
        if self.on_error is not None:
            return self.on_error
        return OnError.block if self.severity is Severity.critical else OnError.flag


class GroundedIn(StrictModel):
    """An exception: the statement is supported by a knowledge-base passage."""

    grounded_in: Literal["knowledge_base"]
    min_similarity: float = Field(
        default=0.3,
        gt=0,
        le=1,
        strict=True,
        description="How close (cosine) a whole passage must be to the statement to support "
        "it; passages are long, so this is lower than a sentence-to-sentence similarity.",
    )


class LexicalRule(_RuleBase):
    """Fires when the speaker says one of the phrases or regexes (the default kind)."""

    kind: Literal["lexical"] = "lexical"
    match: Match
    unless: GroundedIn | None = Field(
        default=None, description="Do not fire on statements the knowledge base supports."
    )
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


class PairedDisclosureRule(_RuleBase):
    """Fires when the `trigger` (a benefit claim) is not balanced by the `require` (risk
    information) within `within_turns` learner turns either side, or by the end of the session
    when `within_turns` is absent."""

    kind: Literal["paired_disclosure"]
    trigger: Match
    require: Match
    within_turns: int | None = Field(default=None, ge=0, strict=True)
    negation: Negation = Negation.ignore_negated
    quotation: Quotation = Quotation.ignore_quoted


class SequenceRule(_RuleBase):
    """Fires when the speaker says `then` before they have said `first` (an identity check
    before account details; discovery questions before the pitch)."""

    kind: Literal["sequence"]
    first: Match
    then: Match
    negation: Negation = Negation.ignore_negated
    quotation: Quotation = Quotation.ignore_quoted


class CountRule(_RuleBase):
    """Fires when `match` occurs more than `max` times, or fewer than `min` times by the end
    of the session."""

    kind: Literal["count"]
    match: Match
    max: int | None = Field(default=None, ge=0, strict=True)
    min: int | None = Field(default=None, ge=1, strict=True)
    negation: Negation = Negation.ignore_negated
    quotation: Quotation = Quotation.ignore_quoted

    @model_validator(mode="after")
    def _has_a_bound(self) -> CountRule:
        if self.max is None and self.min is None:
            raise ValueError("a count rule needs `max` or `min`")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"`min` ({self.min}) is above `max` ({self.max})")
        return self


class Behaviour(StrEnum):
    """Conversation behaviours Proctor recognises (see docs/policy-language.md)."""

    open_question = "open_question"
    closed_question = "closed_question"
    reflective_listening = "reflective_listening"
    impact_naming = "impact_naming"
    summarising = "summarising"
    next_steps = "next_steps"
    disrespect = "disrespect"
    overclaiming = "overclaiming"


class BehaviourRule(_RuleBase):
    """Fires on each occurrence of a recognised behaviour, e.g. `disrespect` (tone) or
    `overclaiming`."""

    kind: Literal["behaviour"]
    detector: Behaviour


ValidatorArgument = str | int | float | bool | list[str] | list[int] | list[float]


class GuardrailsValidatorRule(_RuleBase):
    """A guardrails-ai validator installed locally, used as a rule: fires when it fails the
    speaker's final utterance. Needs the optional extra `proctor[guardrails]`."""

    kind: Literal["guardrails_ai"]
    validator: str = Field(
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="Import path of the validator class, `package.module:ClassName`.",
    )
    arguments: dict[str, ValidatorArgument] = Field(
        default_factory=dict, description="Keyword arguments for the validator."
    )
    timeout_ms: int = Field(default=200, ge=1, strict=True)


RULE_KINDS = (
    "lexical",
    "pii",
    "required_disclosure",
    "grounding",
    "paired_disclosure",
    "sequence",
    "count",
    "behaviour",
    "guardrails_ai",
)


def _rule_kind(value: Any) -> str | None:
    """Rules without `kind` are lexical; an unknown kind is reported by name."""
    kind = value.get("kind", "lexical") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if kind in RULE_KINDS else None


Guardrail = Annotated[
    Annotated[LexicalRule, Tag("lexical")]
    | Annotated[PiiRule, Tag("pii")]
    | Annotated[RequiredDisclosureRule, Tag("required_disclosure")]
    | Annotated[GroundingRule, Tag("grounding")]
    | Annotated[PairedDisclosureRule, Tag("paired_disclosure")]
    | Annotated[SequenceRule, Tag("sequence")]
    | Annotated[CountRule, Tag("count")]
    | Annotated[BehaviourRule, Tag("behaviour")]
    | Annotated[GuardrailsValidatorRule, Tag("guardrails_ai")],
    Discriminator(
        _rule_kind,
        custom_error_type="unknown_rule_kind",
        custom_error_message=f"unknown rule kind; expected one of: {', '.join(RULE_KINDS)}",
    ),
]


class Objective(StrictModel):
    """A behaviour the learner should show: at least `min_count` occurrences of the
    `detector` (or of `match`), optionally before `before` happens or by learner turn
    `by_turn`. Progress is reported as it happens, with the evidence spans."""

    id: RuleId
    title: str | None = None
    description: str | None = None
    detector: Behaviour | None = None
    match: Match | None = None
    min_count: int = Field(default=1, ge=1, strict=True)
    before: Match | None = None
    by_turn: int | None = Field(default=None, ge=1, strict=True)
    coach: str | None = Field(default=None, description="Hint shown while the objective is open.")

    @model_validator(mode="after")
    def _has_one_source(self) -> Objective:
        if (self.detector is None) == (self.match is None):
            raise ValueError("an objective needs exactly one of `detector` or `match`")
        return self


class JudgeQuestion(StrictModel):
    """A question an LLM judge answers about the whole transcript, off the real-time path.
    It must quote the transcript verbatim; an answer whose quote is not in the transcript
    is void."""

    question: str = Field(min_length=1)
    guidance: str | None = Field(default=None, description="What a good answer looks like.")


class Criterion(StrictModel):
    """A rubric criterion, scored from exactly one source: the share of `from_guardrails`
    never breached, the completion of `from_objective`, or an LLM judge's answer."""

    id: RuleId
    title: str | None = None
    weight: float = Field(gt=0, strict=True)
    from_guardrails: list[RuleId] | None = Field(default=None, min_length=1)
    from_objective: RuleId | None = None
    from_judge: JudgeQuestion | None = None

    @model_validator(mode="after")
    def _has_one_source(self) -> Criterion:
        sources = [self.from_guardrails, self.from_objective, self.from_judge]
        if sum(source is not None for source in sources) != 1:
            raise ValueError(
                "a criterion needs exactly one of `from_guardrails`, `from_objective` "
                "or `from_judge`"
            )
        return self


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
    version: int = Field(ge=1, le=2**31, strict=True)  # the API addresses versions up to 2**31
    title: str | None = None
    jurisdiction: str | None = None
    citations: dict[str, str] = Field(
        default_factory=dict, description="Regulations this policy cites, by short name."
    )
    knowledge_base: str | None = None
    guardrails: list[Guardrail] = Field(min_length=1)
    objectives: list[Objective] = Field(default_factory=list)
    rubric: Rubric | None = None
    escalation: list[EscalationRule] = Field(default_factory=list)

    def rule(self, rule_id: str) -> Guardrail:
        for rule in self.guardrails:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def objective(self, objective_id: str) -> Objective:
        for objective in self.objectives:
            if objective.id == objective_id:
                return objective
        raise KeyError(objective_id)
