"""Policy test fixtures: an example conversation and the outcome the policy must give it.

A compliance officer proves a policy does what they mean before publishing it by writing one
YAML file per case in a `tests/` folder beside the policy: the conversation, line by line,
and what Proctor should conclude (the verdict, every finding by rule and learner turn, the
objectives met, whether the policy ends the session). The format is described in
docs/policy-tests.md. Files are validated like policies, so a mistake is reported as
FILE:LINE:COL: field.path: message, and checked against the policy they test (an expected
finding must name one of its rules, at a turn the transcript has).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from policies.documents import (
    DocumentError,
    DocumentIssue,
    FieldPath,
    YamlDocument,
    located_issue,
    parse_yaml,
    read_yaml,
    validate_document,
)
from policies.models import Policy, RuleId, Speaker, StrictModel

FIXTURES_FOLDER = "tests"
FIXTURE_SUFFIXES = (".yaml", ".yml")


MAX_LINE_CHARS = 10_000  # the session loop's limit for one utterance (engine.inputs)


def _spoken(text: str) -> str:
    if not text.strip():
        raise ValueError("the line is empty; write what was said")
    if len(text) > MAX_LINE_CHARS:
        raise ValueError(
            f"the line has {len(text)} characters; one utterance may have {MAX_LINE_CHARS}"
        )
    return text


SpokenText = Annotated[str, AfterValidator(_spoken)]


class FixtureLine(StrictModel):
    """One line of the conversation, `learner: text` or `persona: text`."""

    learner: SpokenText | None = None
    persona: SpokenText | None = None

    @model_validator(mode="after")
    def _one_speaker(self) -> FixtureLine:
        for name in ("learner", "persona"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"`{name}` has no text; write what was said")
        if (self.learner is None) == (self.persona is None):
            raise ValueError("a line has exactly one speaker: `learner: …` or `persona: …`")
        return self

    @property
    def speaker(self) -> Speaker:
        return Speaker.learner if self.learner is not None else Speaker.persona

    @property
    def text(self) -> str:
        text = self.learner if self.learner is not None else self.persona
        assert text is not None
        return text


class ExpectedFinding(StrictModel):
    """A finding the policy must raise: its rule, and optionally the learner turn it is raised
    at and the text it quotes (masked as on the scorecard for personal data)."""

    rule: RuleId
    turn: int | None = Field(default=None, ge=0, strict=True)
    quote: str | None = Field(default=None, min_length=1)

    def describe(self) -> str:
        where = f" at turn {self.turn}" if self.turn is not None else ""
        quoting = f' quoting "{self.quote}"' if self.quote is not None else ""
        return f"{self.rule}{where}{quoting}"


class Expectation(StrictModel):
    """The outcome the policy must give the conversation. Findings are complete: any finding
    not listed is as much a failure as a listed one that is not raised."""

    passed: bool = Field(strict=True, description="The session's scorecard verdict.")
    findings: list[ExpectedFinding] = Field(default_factory=list)
    objectives_met: list[RuleId] | None = Field(
        default=None, description="Exactly the objectives met; not checked when absent."
    )
    ended_by_policy: bool = Field(
        default=False, strict=True, description="Whether the policy ends the session early."
    )


class PolicyFixture(StrictModel):
    """One test case for a policy."""

    name: str = Field(min_length=1)
    description: str | None = None
    transcript: list[FixtureLine] = Field(min_length=1)
    expect: Expectation

    @property
    def learner_turns(self) -> int:
        return sum(line.speaker is Speaker.learner for line in self.transcript)


@dataclass(frozen=True)
class LoadedFixture:
    """A validated fixture, with its file and the YAML line of each transcript entry."""

    path: Path
    fixture: PolicyFixture
    line_numbers: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.fixture.name


def fixtures_folder(policy_path: Path) -> Path:
    """Where a policy's fixtures live: `tests/` beside the policy file."""
    return policy_path.parent / FIXTURES_FOLDER


def fixture_paths(location: Path) -> list[Path]:
    """The fixture files at `location`: the file itself, or every YAML file in the folder and
    its subfolders, in path order (hidden files and folders, such as editor backups, left
    out)."""
    if location.is_file():
        return [location]
    if not location.is_dir():
        return []
    return sorted(
        path
        for path in location.rglob("*")
        if path.is_file()
        and path.suffix in FIXTURE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(location).parts)
    )


def load_fixture(path: Path, policy: Policy) -> LoadedFixture:
    """Read, validate and check one fixture against `policy`; raises DocumentError."""
    return fixture_from_document(read_yaml(path), policy, path)


def parse_fixture(text: str, policy: Policy, source: str = "<fixture>") -> LoadedFixture:
    return fixture_from_document(parse_yaml(text, source), policy, Path(source))


def fixture_from_document(document: YamlDocument, policy: Policy, path: Path) -> LoadedFixture:
    fixture = validate_document(PolicyFixture, document)
    issues = [
        located_issue(document, field_path, message)
        for field_path, message in policy_problems(fixture, policy)
    ]
    if issues:
        raise DocumentError(issues)
    numbers = tuple(
        document.locate(("transcript", index))[0] for index in range(len(fixture.transcript))
    )
    return LoadedFixture(path=path, fixture=fixture, line_numbers=numbers)


def load_fixtures(
    paths: Iterable[Path], policy: Policy
) -> tuple[list[LoadedFixture], list[DocumentIssue]]:
    """Every fixture that loads, and every issue of those that do not (all files are read,
    so one run reports every mistake)."""
    loaded: list[LoadedFixture] = []
    issues: list[DocumentIssue] = []
    for path in paths:
        try:
            loaded.append(load_fixture(path, policy))
        except DocumentError as error:
            issues += error.issues
    return loaded, issues


def policy_problems(fixture: PolicyFixture, policy: Policy) -> Iterator[tuple[FieldPath, str]]:
    """What a valid fixture gets wrong about the policy it tests."""
    if fixture.learner_turns == 0:
        yield ("transcript",), "the transcript has no `learner` line: there is nothing to test"
    rules = [rule.id for rule in policy.guardrails]
    for index, expected in enumerate(fixture.expect.findings):
        where: FieldPath = ("expect", "findings", index)
        if expected.rule not in rules:
            yield (*where, "rule"), _unknown("rule", expected.rule, rules)
        if expected.turn is not None and expected.turn > fixture.learner_turns:
            turns = fixture.learner_turns
            yield (
                (*where, "turn"),
                (
                    f"turn {expected.turn} is beyond the transcript, which has {turns} learner "
                    f"turn{'s' if turns != 1 else ''}"
                ),
            )
    objectives = [objective.id for objective in policy.objectives]
    seen: set[str] = set()
    for index, objective_id in enumerate(fixture.expect.objectives_met or ()):
        where = ("expect", "objectives_met", index)
        if objective_id not in objectives:
            yield where, _unknown("objective", objective_id, objectives)
        elif objective_id in seen:
            yield where, f"objective {objective_id!r} is listed twice"
        seen.add(objective_id)


def _unknown(kind: str, name: str, known: Sequence[str]) -> str:
    if not known:
        return f"the policy defines no {kind}s (found {name!r})"
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f"; it has: {', '.join(known)}"
    return f"the policy has no {kind} {name!r}{hint}"
