"""Check a policy text without saving it: what an officer's editor shows as they type.

The same checks as `proctor policy lint` (`engine.policy_check`): schema, references,
patterns that must compile, and warnings about settings that cannot take effect. A policy
with problems is still a successful check, so the answer is 200 with the issues listed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field

from engine.policy_check import lint_document
from policies import DocumentError
from policies.documents import parse_yaml, too_deep
from policies.lint import Level, LintIssue
from server.auth import Principal, Role
from server.errors import ApiError, ErrorBody
from server.security import require, service_state
from server.state import ServiceState

router = APIRouter(prefix="/v1/policies", tags=["policies"])

Officer = Annotated[Principal, Depends(require(Role.officer))]
State = Annotated[ServiceState, Depends(service_state)]
SOURCE_NAME = "policy.yaml"


class LintRequest(BaseModel):
    source: str = Field(description="The policy YAML, as written so far.", min_length=1)


class LintFinding(BaseModel):
    level: Level
    line: int = Field(description="1-based.")
    column: int = Field(description="1-based.")
    field: str = Field(description="Where in the document, e.g. `guardrails[0].match`.")
    message: str


class LintReport(BaseModel):
    valid: bool = Field(description="No errors: the text can be saved as a draft.")
    policy_id: str | None
    version: int | None
    issues: list[LintFinding] = Field(description="Errors first, then in document order.")


@router.post(
    "/lint",
    response_model=LintReport,
    summary="Check a policy text without saving it",
    responses={
        401: {"model": ErrorBody, "description": "No or an unknown API key."},
        403: {"model": ErrorBody, "description": "The caller's role may not do this."},
        413: {"model": ErrorBody, "description": "The policy text is too large."},
    },
)
def lint(request: Annotated[LintRequest, Body()], principal: Officer, state: State) -> LintReport:
    limit = state.config.limits.max_upload_bytes
    if len(request.source.encode("utf-8")) > limit:
        raise ApiError(413, "too_large", f"the policy text exceeds {limit} bytes")
    try:
        policy, issues = lint_document(parse_yaml(request.source, SOURCE_NAME))
    except DocumentError as error:
        policy, issues = None, [LintIssue(Level.error, issue) for issue in error.issues]
    except RecursionError:  # as saving a draft reports it
        policy, issues = None, [LintIssue(Level.error, too_deep(SOURCE_NAME))]
    return LintReport(
        valid=policy is not None and all(item.level is not Level.error for item in issues),
        policy_id=policy.policy if policy else None,
        version=policy.version if policy else None,
        issues=[_finding(item) for item in issues],
    )


def _finding(item: LintIssue) -> LintFinding:
    issue = item.issue
    return LintFinding(
        level=item.level,
        line=issue.line,
        column=issue.column,
        field=issue.field,
        message=issue.message,
    )
