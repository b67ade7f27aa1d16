"""Scenario format v1: who the persona is and how they behave, written as YAML by a trainer.

A scenario names the policy the learner is held to and the knowledge base the persona draws
on, describes the persona (role, disposition, goals, opening line, what they know and reveal
only when asked), the intents the persona recognises in the learner's lines, the objections it
raises and what resolves them, and how it reacts when the learner breaches a rule. Loaded with
the same located errors as policies.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from policies.documents import (
    DocumentError,
    DocumentIssue,
    YamlDocument,
    located_issue,
    read_yaml,
    validate_document,
)
from policies.loading import load_policy
from policies.models import RULE_ID_PATTERN, Policy, StrictModel

ScenarioId = Annotated[str, Field(pattern=RULE_ID_PATTERN)]
Examples = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
Lines = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class Difficulty(StrEnum):
    easy = "easy"
    medium = "medium"
    hard = "hard"


class Persona(StrictModel):
    name: str = Field(min_length=1)
    role: str = Field(min_length=1, description="Who the persona is, in one line.")
    disposition: str = Field(min_length=1, description="Temperament: sceptical, rushed, ...")
    opening: str = Field(min_length=1, description="The persona's first line.")
    goals: list[str] = Field(
        default_factory=list,
        description="Questions the persona wants answered, asked in order when it has the floor.",
    )
    closing: str = Field(
        default="Thank you, that's all I have time for.",
        description="Said when the learner closes.",
    )


class Fact(StrictModel):
    """Something the persona knows and reveals when the learner asks about it."""

    about: Examples = Field(description="Questions that should reveal it.")
    says: str = Field(min_length=1)


class Intent(StrictModel):
    """Something the learner may do, recognised by meaning from examples."""

    id: ScenarioId
    examples: Examples
    replies: Lines = Field(description="Persona lines, used in turn so it does not repeat itself.")
    quote_knowledge: bool = Field(
        default=False,
        description="Answer by quoting the closest knowledge-base passage before the reply.",
    )
    closes: bool = Field(default=False, description="The learner is wrapping up the visit.")


class Objection(StrictModel):
    id: ScenarioId
    says: str = Field(min_length=1)
    after_intent: ScenarioId | None = Field(
        default=None, description="Raise it right after the learner does this intent."
    )
    after_turn: int | None = Field(
        default=None, ge=1, description="Raise it at this learner turn if not raised yet."
    )
    resolved_by: Examples = Field(description="What the learner could say to resolve it.")
    accepted: str = Field(
        default="All right, that answers it.", description="Said when it is resolved."
    )

    @model_validator(mode="after")
    def _has_a_trigger(self) -> Objection:
        if self.after_intent is None and self.after_turn is None:
            raise ValueError("an objection needs `after_intent` or `after_turn`")
        return self


class Scenario(StrictModel):
    format: int = Field(default=1, ge=1, le=1)
    scenario: ScenarioId
    title: str = Field(min_length=1)
    policy: str = Field(min_length=1, description="Policy file, relative to the scenario file.")
    knowledge_base: str | None = Field(default=None, description="Knowledge-base name.")
    documents: list[str] = Field(
        default_factory=list,
        description="Documents (relative paths) to ingest into the knowledge base if missing.",
    )
    knowledge_label: str = Field(
        default="Your own material",
        description='How the persona names the knowledge base when quoting it ("The label").',
    )
    difficulty: Difficulty = Difficulty.medium
    persona: Persona
    facts: list[Fact] = Field(default_factory=list)
    intents: list[Intent] = Field(min_length=1)
    objections: list[Objection] = Field(default_factory=list)
    reactions: dict[str, str] = Field(
        default_factory=dict, description="Rule id -> what the persona says when it fires."
    )
    max_turns: int = Field(default=12, ge=1, strict=True)


def _policy_mismatches(
    document: YamlDocument, scenario: Scenario, policy: Policy
) -> list[DocumentIssue]:
    """Reactions must name rules of the policy; both must mean the same knowledge base."""
    rule_ids = {rule.id for rule in policy.guardrails}
    issues = [
        located_issue(document, ("reactions", rule_id), f"the policy has no rule {rule_id!r}")
        for rule_id in scenario.reactions
        if rule_id not in rule_ids
    ]
    if (
        scenario.knowledge_base is not None
        and policy.knowledge_base is not None
        and scenario.knowledge_base != policy.knowledge_base
    ):
        issues.append(
            located_issue(
                document,
                ("knowledge_base",),
                f"the policy is grounded in {policy.knowledge_base!r}, "
                f"not {scenario.knowledge_base!r}",
            )
        )
    return issues


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario; raises DocumentError naming file, line and field."""
    document = read_yaml(path)
    scenario = validate_document(Scenario, document)
    intent_ids = {intent.id for intent in scenario.intents}
    issues = [
        located_issue(
            document,
            ("objections", index, "after_intent"),
            f"unknown intent {objection.after_intent!r}",
        )
        for index, objection in enumerate(scenario.objections)
        if objection.after_intent is not None and objection.after_intent not in intent_ids
    ]
    seen: set[str] = set()
    for index, intent in enumerate(scenario.intents):
        if intent.id in seen:
            issues.append(
                located_issue(document, ("intents", index, "id"), f"duplicate intent {intent.id!r}")
            )
        seen.add(intent.id)
    policy_path = path.parent / scenario.policy
    if not policy_path.is_file():
        issues.append(located_issue(document, ("policy",), f"no policy file {scenario.policy!r}"))
    else:
        issues += _policy_mismatches(document, scenario, load_policy(policy_path))
    issues += [
        located_issue(document, ("documents", index), f"no document {name!r}")
        for index, name in enumerate(scenario.documents)
        if not (path.parent / name).is_file()
    ]
    if issues:
        raise DocumentError(issues)
    return scenario
