"""Sessions and evidence over HTTP: who practised what, and a verifiable export of it.

The session list is derived from the audit log itself, not from a separate table: each
session's `session.started` record names the learner and the pinned policy version, and its
`session.ended` record the end. What an auditor lists is therefore exactly what an export
of the same filter contains. The index is built once and then extended with the records
appended since, so listing does not re-read the whole log.

An export is a signed bundle (see `audit.bundle`) sent as one zip file that
`proctor audit verify FILE.zip` checks offline. Without filters it is the whole log; with
filters it holds the complete record chains of the matching sessions, and its manifest
says which sessions and which filters.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from audit import BundleError, KeyFileError, RecordStore, export_bundle, format_timestamp
from audit.bundle import zip_bundle
from audit.keyring import load_retired_keys
from server.auth import Principal, Role
from server.errors import ApiError, ErrorBody
from server.security import require, service_state
from server.state import ServiceState

router = APIRouter(prefix="/v1", tags=["audit"])

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


class SessionFilter(BaseModel):
    """Which sessions: all conditions given must hold. Times without a zone are UTC;
    `since` is inclusive, `until` exclusive, both compared with the session's start."""

    learner: str | None = Field(default=None, min_length=1, max_length=200)
    policy_id: str | None = Field(default=None, min_length=1, max_length=200)
    policy_version: int | None = Field(default=None, ge=1)
    since: datetime | None = None
    until: datetime | None = None

    def is_empty(self) -> bool:
        return all(value is None for value in self.model_dump().values())

    def matches(self, session: AuditedSession) -> bool:
        started = datetime.fromisoformat(session.started_at)
        return (
            (self.learner is None or session.learner == self.learner)
            and (self.policy_id is None or session.policy.id == self.policy_id)
            and (self.policy_version is None or session.policy.version == self.policy_version)
            and (self.since is None or started >= _utc(self.since))
            and (self.until is None or started < _utc(self.until))
        )

    def as_manifest_filters(self) -> dict[str, str | int]:
        """The filters as the bundle manifest records them."""
        chosen: dict[str, str | int] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, datetime):
                chosen[name] = format_timestamp(_utc(value))
            elif value is not None:
                chosen[name] = value
        return chosen


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC (a naive time is taken as UTC); clamped at the ends of the calendar."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if moment.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


@dataclass
class SessionIndex:
    """Sessions seen in the audit log up to `head`, extended on demand."""

    head: int = 0
    sessions: dict[str, AuditedSession] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, store: RecordStore) -> tuple[int, list[AuditedSession]]:
        """Read the records appended since the last call; the head and every session."""
        with self.lock:
            for record in store.records(self.head + 1):
                self._add(record.session_id, record.line, record.recorded_at)
                self.head = record.seq
            return self.head, list(self.sessions.values())

    def _add(self, session_id: str, line: bytes, recorded_at: str) -> None:
        payload = _payload(line)
        event = payload.get("event") or {}
        known = self.sessions.get(session_id)
        if known is None:
            policy = payload.get("policy") or {}
            known = AuditedSession(
                session_id=session_id,
                learner=None,
                policy=PolicyPin(
                    id=str(policy.get("id", "")),
                    version=int(policy.get("version", 0)),
                    digest=str(policy.get("digest", "")),
                ),
                scenario=None,
                started_at=recorded_at,
                ended_at=None,
                end_reason=None,
                records=0,
            )
            self.sessions[session_id] = known
        known.records += 1
        kind = event.get("type")
        if kind == "session.started":
            learner, scenario = event.get("learner"), event.get("scenario")
            known.learner = learner if isinstance(learner, str) else None
            known.scenario = scenario if isinstance(scenario, str) else None
        elif kind == "session.ended":
            reason = event.get("reason")
            known.ended_at = recorded_at
            known.end_reason = reason if isinstance(reason, str) else None


def _payload(line: bytes) -> dict[str, Any]:
    """The payload of one of the service's own record lines (already verified on write)."""
    try:
        payload = json.loads(base64.b64decode(json.loads(line)["payload"]))
    except (ValueError, KeyError, TypeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _index(request: Request) -> SessionIndex:
    """The app's session index, made on first use."""
    app_state = request.app.state
    index = getattr(app_state, "session_index", None)
    if index is None:
        index = app_state.session_index = SessionIndex()
    assert isinstance(index, SessionIndex)
    return index


def _matching(
    request: Request, state: ServiceState, chosen: SessionFilter
) -> tuple[int, list[AuditedSession]]:
    head, sessions = _index(request).refresh(state.audit_store)
    found = [session.model_copy() for session in sessions if chosen.matches(session)]
    return head, sorted(found, key=lambda session: (session.started_at, session.session_id))


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
    chosen: Annotated[SessionFilter, Query()],
) -> list[AuditedSession]:
    """Sessions in the order they started. Officers and auditors see every session; a
    learner sees only their own (asking for another learner's is refused)."""
    if principal.role is Role.learner:
        if chosen.learner not in (None, principal.subject):
            raise ApiError(403, "forbidden", "a learner may list only their own sessions")
        chosen = chosen.model_copy(update={"learner": principal.subject})
    return _matching(request, state, chosen)[1]


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
    chosen: Annotated[SessionFilter, Body()],
) -> FileResponse:
    """Without filters: the whole log, every seq. With filters: the complete record chain
    of every matching session, and a manifest naming them and the filters."""
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
