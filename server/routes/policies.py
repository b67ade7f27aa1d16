"""Policies over HTTP: an officer drafts, tests and publishes; everyone can read.

A draft is the YAML text as the officer wrote it, validated with located errors, so the
editor can underline the exact line. Publishing freezes (policy id, version): from then on it
is addressed by id and version or by its digest, and sessions pin it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from engine.planning import plan_policy, uses_semantic_matching
from engine.policy_test_report import PolicyTestReport
from engine.policy_testing import GroundingKnowledge, run_policy_tests
from evaluators import PatternError, PolicyPlan
from knowledge_base import KnowledgeBaseError, default_embedder, open_knowledge_base
from knowledge_base.kb import EMBEDDING_CACHE_FOLDER
from policies import DocumentError, DocumentIssue
from policies.documents import too_deep
from policies.fixtures import FIXTURE_SUFFIXES, LoadedFixture, parse_fixture
from server.auth import Principal, Role
from server.errors import ApiError, ErrorBody, error_body
from server.policy_registry import PolicyConflictError, PolicyNotFoundError, StoredPolicy
from server.security import require, service_state
from server.state import ServiceState

router = APIRouter(prefix="/v1/policies", tags=["policies"])

AnyRole = Annotated[Principal, Depends(require(Role.officer, Role.learner, Role.auditor))]
Officer = Annotated[Principal, Depends(require(Role.officer))]
State = Annotated[ServiceState, Depends(service_state)]
PolicyId = Annotated[str, Path(min_length=1, max_length=200)]
Version = Annotated[int, Path(ge=1, le=2**31)]
MAX_FIXTURES = 200


class Issue(BaseModel):
    """One located problem in a policy or fixture document (1-based line and column)."""

    source: str
    line: int
    column: int
    field: str = Field(description="Where in the document, e.g. `guardrails[0].match`.")
    message: str


class IssuesError(BaseModel):
    code: str
    message: str
    issues: list[Issue]


class IssuesBody(BaseModel):
    error: IssuesError


class DraftRequest(BaseModel):
    source: str = Field(description="The policy YAML, as written.", min_length=1)


class FixturesRequest(BaseModel):
    fixtures: dict[str, str] = Field(
        description="Fixture files by name (`name.yaml`), each the fixture's YAML text.",
        min_length=1,
        max_length=MAX_FIXTURES,
    )


class PolicySummary(BaseModel):
    policy_id: str
    version: int
    status: str = Field(description="`draft` or `published`.")
    digest: str = Field(description="SHA-256 of the policy's canonical form.")
    author: str
    saved_at: str
    published_by: str | None
    published_at: str | None

    @classmethod
    def of(cls, stored: StoredPolicy) -> PolicySummary:
        return cls(
            policy_id=stored.policy_id,
            version=stored.version,
            status=stored.status,
            digest=stored.digest,
            author=stored.author,
            saved_at=stored.saved_at,
            published_by=stored.published_by,
            published_at=stored.published_at,
        )


class PolicyDetail(PolicySummary):
    source: str = Field(description="The policy YAML exactly as saved.")

    @classmethod
    def of(cls, stored: StoredPolicy) -> PolicyDetail:
        return cls(**PolicySummary.of(stored).model_dump(), source=stored.source)


_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "No or an unknown API key."},
    403: {"model": ErrorBody, "description": "The caller's role may not do this."},
}
_NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such policy version."}
}


def _issues_response(message: str, issues: list[DocumentIssue]) -> JSONResponse:
    located = [
        Issue(
            source=issue.source,
            line=issue.line,
            column=issue.column,
            field=issue.field,
            message=issue.message,
        ).model_dump()
        for issue in issues
    ]
    return JSONResponse(error_body("invalid_document", message, issues=located), status_code=422)


def _found(state: ServiceState, policy_id: str, version: int) -> StoredPolicy:
    try:
        return state.policies.get(policy_id, version)
    except PolicyNotFoundError as error:
        raise ApiError(404, "not_found", str(error)) from None


@router.post(
    "",
    status_code=201,
    response_model=PolicyDetail,
    summary="Save a policy draft",
    responses={
        **_ERRORS,
        409: {"model": ErrorBody, "description": "That version is published and immutable."},
        413: {"model": ErrorBody, "description": "The policy text is too large."},
        422: {"model": IssuesBody, "description": "The policy is invalid; issues are located."},
    },
)
def save_draft(
    request: Annotated[DraftRequest, Body()], principal: Officer, state: State
) -> PolicyDetail | JSONResponse:
    """Validate the YAML and store it as the draft of its (policy, version)."""
    limit = state.config.limits.max_upload_bytes
    if len(request.source.encode("utf-8")) > limit:
        raise ApiError(413, "too_large", f"the policy text exceeds {limit} bytes")
    try:
        stored = state.policies.save_draft(request.source, principal.subject)
    except DocumentError as error:
        return _issues_response("the policy is invalid", error.issues)
    except RecursionError:
        return _issues_response("the policy is invalid", [too_deep("policy.yaml")])
    except PolicyConflictError as error:
        raise ApiError(409, "published", str(error)) from None
    return PolicyDetail.of(stored)


@router.get("", response_model=list[PolicySummary], summary="List policy versions")
def list_policies(principal: AnyRole, state: State) -> list[PolicySummary]:
    """Every draft and published version, by policy id and version."""
    return [PolicySummary.of(stored) for stored in state.policies.all()]


@router.get(
    "/by-digest/{digest}",
    response_model=PolicyDetail,
    summary="A published policy version by digest",
    responses={**_ERRORS, **_NOT_FOUND},
)
def by_digest(
    digest: Annotated[str, Path(pattern="^[0-9a-f]{64}$")], principal: AnyRole, state: State
) -> PolicyDetail:
    """The published version whose canonical form has this SHA-256 (what audit records name)."""
    try:
        return PolicyDetail.of(state.policies.by_digest(digest))
    except PolicyNotFoundError as error:
        raise ApiError(404, "not_found", str(error)) from None


@router.get(
    "/{policy_id}/versions/{version}",
    response_model=PolicyDetail,
    summary="A policy version",
    responses={**_ERRORS, **_NOT_FOUND},
)
def get_version(
    policy_id: PolicyId, version: Version, principal: AnyRole, state: State
) -> PolicyDetail:
    return PolicyDetail.of(_found(state, policy_id, version))


@router.post(
    "/{policy_id}/versions/{version}/publish",
    response_model=PolicyDetail,
    summary="Publish a draft",
    responses={
        **_ERRORS,
        **_NOT_FOUND,
        409: {"model": ErrorBody, "description": "Already published."},
    },
)
def publish(
    policy_id: PolicyId, version: Version, principal: Officer, state: State
) -> PolicyDetail:
    """Freeze the draft: the version becomes immutable, addressable by its digest."""
    try:
        return PolicyDetail.of(state.policies.publish(policy_id, version, principal.subject))
    except PolicyNotFoundError as error:
        raise ApiError(404, "not_found", str(error)) from None
    except PolicyConflictError as error:
        raise ApiError(409, "published", str(error)) from None


@router.post(
    "/{policy_id}/versions/{version}/test",
    response_model=PolicyTestReport,
    summary="Run fixture conversations against a policy version",
    responses={
        **_ERRORS,
        **_NOT_FOUND,
        422: {"model": IssuesBody, "description": "A fixture is invalid; issues are located."},
    },
)
def run_fixtures(
    policy_id: PolicyId,
    version: Version,
    request: Annotated[FixturesRequest, Body()],
    principal: Officer,
    state: State,
) -> PolicyTestReport | JSONResponse:
    """Replay each fixture through a real session under this version and compare the outcome
    with its expectation, as `proctor policy test` does (see docs/policy-tests.md). The
    report says, per fixture, whether it passed and every difference; a failing fixture is
    still a 200: the run worked, the policy did not."""
    stored = _found(state, policy_id, version)
    policy = stored.policy
    fixtures: list[LoadedFixture] = []
    issues: list[DocumentIssue] = []
    for name, text in sorted(request.fixtures.items()):
        if not _fixture_name(name):
            issue = DocumentIssue(name, 0, 0, (), "a fixture name is a file name ending in .yaml")
            issues.append(issue)
            continue
        try:
            loaded = parse_fixture(text, policy, name)
        except DocumentError as error:
            issues += error.issues
            continue
        except RecursionError:
            issues.append(too_deep(name))
            continue
        fixtures.append(loaded)
    if issues:
        return _issues_response("a fixture is invalid", issues)
    try:
        plan = _plan(state, stored)
        grounding = _grounding(state, plan)
        return run_policy_tests(plan, fixtures, grounding)
    except PatternError as error:
        raise ApiError(422, "invalid_policy", f"the policy does not compile: {error}") from None
    except ValidationError as error:  # a transcript line the session refuses as input
        raise ApiError(422, "invalid_fixture", f"a fixture cannot be replayed: {error}") from None
    except KnowledgeBaseError as error:
        raise ApiError(409, "knowledge_base", str(error)) from None


def _fixture_name(name: str) -> bool:
    return (
        0 < len(name) <= 200
        and "/" not in name
        and "\\" not in name
        and not name.startswith(".")
        and any(name.endswith(suffix) for suffix in FIXTURE_SUFFIXES)
    )


def _plan(state: ServiceState, stored: StoredPolicy) -> PolicyPlan:
    policy = stored.policy
    if not uses_semantic_matching(policy):
        return plan_policy(policy)
    cache = state.config.knowledge_root / EMBEDDING_CACHE_FOLDER
    return plan_policy(policy, default_embedder(cache))


def _grounding(state: ServiceState, plan: PolicyPlan) -> GroundingKnowledge:
    """The service's knowledge base the policy names, for rules that judge statements against
    approved documents; without one those rules are reported as not evaluated, and why."""
    if not any(True for _ in plan.knowledge_rules()):
        return GroundingKnowledge(None, "no rule needs a knowledge base")
    name = plan.policy.knowledge_base
    if name is None:
        return GroundingKnowledge(None, "the policy names no knowledge_base")
    knowledge = open_knowledge_base(name, state.config.knowledge_root)
    if len(knowledge) == 0:
        return GroundingKnowledge(
            None,
            f"knowledge base {name!r} is empty or missing (upload documents with "
            f"POST /v1/knowledge-bases/{name}/documents)",
        )
    return GroundingKnowledge(knowledge, f"knowledge base {name!r} of this service")
