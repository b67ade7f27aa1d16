"""Sessions and evidence over HTTP: who practised what, and a verifiable export of it.

The session list is derived from the audit log itself (`audit.session_index`), and the
filters are `audit.session_filter`'s, shared with ``proctor audit export``: what an auditor
lists is exactly what an export of the same filter contains, over HTTP or offline. This
module adds only HTTP: request validation, roles, the response models and the zip download.

An export is a signed bundle (see `audit.bundle`) sent as one zip file that
`proctor audit verify FILE.zip` checks offline. Without filters it is the whole log; with
filters it holds the complete record chains of the matching sessions, and its manifest
says which sessions and which filters.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from audit import BundleError, KeyFileError, export_bundle, format_timestamp
from audit.bundle import zip_bundle
from audit.keyring import load_retired_keys
from audit.session_filter import SessionFilter as AuditFilter
from audit.session_index import IndexedSession, SessionIndex
from server.auth import Principal, Role
from server.errors import ApiError, ErrorBody
from server.security import require, service_state
from server.state import ServiceState

router = APIRouter(prefix="/v1", tags=["audit"])
T = TypeVar("T")

Reader = Annotated[Principal, Depends(require(Role.officer, Role.learner, Role.auditor))]
Auditor = Annotated[Principal, Depends(require(Role.auditor))]
State = Annotated[ServiceState, Depends(service_state)]
AUDIT_ORIGIN = "proctor.local/audit"

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "No or an unknown API key."},
    403: {"model": ErrorBody, "description": "The caller's role may not do this."},
}


class PolicyPin(BaseModel):
    """The published policy version a session ran under."""

    id: str
    version: int
    digest: str


class AuditedSession(BaseModel):
    session_id: str
    learner: str | None = Field(description="Pseudonymous learner id; null if not recorded.")
    policy: PolicyPin
    scenario: str | None
    started_at: str = Field(description="RFC 3339 UTC time of the session's first record.")
    ended_at: str | None = Field(description="Time of `session.ended`; null while running.")
    end_reason: str | None
    records: int = Field(description="Audit records of the session so far.")

    @classmethod
    def of(cls, session: IndexedSession) -> AuditedSession:
        return cls(
            session_id=session.session_id,
            learner=session.learner,
            policy=PolicyPin(
                id=session.policy_id,
                version=session.policy_version,
                digest=session.policy_digest,
            ),
            scenario=session.scenario,
            started_at=session.started_at,
            ended_at=session.ended_at,
            end_reason=session.end_reason,
            records=session.records,
        )


class SessionFilter(BaseModel):
    """Which sessions: all conditions given must hold. Times without a zone are UTC;
    `since` is inclusive, `until` exclusive, both compared with the session's start."""

    learner: str | None = Field(default=None, min_length=1, max_length=200)
    policy_id: str | None = Field(default=None, min_length=1, max_length=200)
    policy_version: int | None = Field(default=None, ge=1)
    since: datetime | None = None
    until: datetime | None = None

    def as_filter(self) -> AuditFilter:
        """The request's conditions as the filter `audit` matches and records."""
        return AuditFilter(
            learner=self.learner,
            policy_id=self.policy_id,
            policy_version=self.policy_version,
            since=self.since,
            until=self.until,
        )


def app_owned(request: Request, name: str, make: Callable[[], T]) -> T:
    """The object the app keeps as `name` between requests, made by `make` on first use."""
    app_state = request.app.state
    if not hasattr(app_state, name):
        setattr(app_state, name, make())
    kept: T = getattr(app_state, name)
    return kept


def session_index(request: Request) -> SessionIndex:
    """The app's session index, made on first use."""
    return app_owned(request, "session_index", SessionIndex)


def _matching(
    request: Request, state: ServiceState, chosen: AuditFilter
) -> tuple[int, list[IndexedSession]]:
    return session_index(request).matching(state.audit_store, chosen)


@router.get(
    "/sessions",
    response_model=list[AuditedSession],
    summary="List practice sessions",
    responses=_ERRORS,
)
def list_sessions(
    request: Request,
    principal: Reader,
    state: State,
    query: Annotated[SessionFilter, Query()],
) -> list[AuditedSession]:
    """Sessions in the order they started. Officers and auditors see every session; a
    learner sees only their own (asking for another learner's is refused)."""
    if principal.role is Role.learner:
        if query.learner not in (None, principal.subject):
            raise ApiError(403, "forbidden", "a learner may list only their own sessions")
        query = query.model_copy(update={"learner": principal.subject})
    return [AuditedSession.of(s) for s in _matching(request, state, query.as_filter())[1]]


@router.post(
    "/audit/exports",
    response_class=FileResponse,
    summary="Export signed evidence as a zip bundle",
    responses={
        **_ERRORS,
        200: {
            "description": "The bundle as a zip; verify it with `proctor audit verify FILE`.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
        404: {"model": ErrorBody, "description": "No session matches the filters."},
    },
)
def export(
    request: Request,
    principal: Auditor,
    state: State,
    query: Annotated[SessionFilter, Body()],
) -> FileResponse:
    """Without filters: the whole log, every seq. With filters: the complete record chain
    of every matching session, and a manifest naming them and the filters."""
    chosen = query.as_filter()
    head, sessions = _matching(request, state, chosen)
    if not sessions:
        raise ApiError(404, "not_found", "no session matches the filters")
    folder = Path(tempfile.mkdtemp(prefix="proctor-export-"))
    try:
        summary = export_bundle(
            state.audit_store,
            state.audit_log.key,
            folder / "bundle",
            AUDIT_ORIGIN,
            last_seq=head,
            record_keys=load_retired_keys(state.config.retired_keys_dir),
            sessions=None if chosen.is_empty() else [s.session_id for s in sessions],
            filters=chosen.as_manifest_filters(),
        )
        archive = zip_bundle(summary.path, folder / "bundle.zip")
    except (BundleError, KeyFileError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise ApiError(500, "export_failed", str(error)) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    stamp = format_timestamp(datetime.now(UTC))[:19].replace(":", "").replace("-", "")
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=f"proctor-audit-{stamp}.zip",
        headers={
            "X-Proctor-Records": str(summary.count),
            "X-Proctor-Sessions": str(summary.sessions),
        },
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
