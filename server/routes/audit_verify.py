"""Verify an uploaded evidence bundle against this service's audit keys.

An auditor who received a bundle (from this service, a colleague or a regulator's request)
checks it here as `proctor audit verify` would, with one difference: only bundles signed
by this service's keys, current or retired, are accepted. Nothing is stored."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile
from pydantic import BaseModel, Field

from audit import KeyFileError, VerificationReport, verify_bundle
from audit.keyring import load_retired_keys
from server.auth import Principal, Role
from server.errors import ApiError, ErrorBody
from server.security import require, service_state
from server.state import ServiceState
from server.uploads import save_upload

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(require(Role.auditor))]
State = Annotated[ServiceState, Depends(service_state)]


class BundleProblem(BaseModel):
    code: str
    message: str
    seq: int | None = Field(description="The record's sequence number, where one is at fault.")


class Verification(BaseModel):
    ok: bool = Field(description="True exactly when no problem was found.")
    records_checked: int
    sessions: int
    keyids: list[str] = Field(description="This service's keys that signed the bundle.")
    problems: list[BundleProblem]

    @classmethod
    def of(cls, report: VerificationReport) -> Verification:
        return cls(
            ok=report.ok,
            records_checked=report.records_checked,
            sessions=report.sessions,
            keyids=report.keyids,
            problems=[
                BundleProblem(code=p.code, message=p.message, seq=p.seq) for p in report.problems
            ],
        )


@router.post(
    "/verifications",
    response_model=Verification,
    summary="Verify an uploaded evidence bundle",
    responses={
        401: {"model": ErrorBody, "description": "No or an unknown API key."},
        403: {"model": ErrorBody, "description": "The caller's role may not do this."},
        413: {"model": ErrorBody, "description": "The bundle exceeds the upload limit."},
    },
)
def verify_upload(
    bundle: Annotated[UploadFile, File(description="A bundle zip from `/v1/audit/exports`.")],
    principal: Auditor,
    state: State,
) -> Verification:
    """A damaged, altered or foreign bundle is a verification that failed, with its
    problems listed, not an error of the request."""
    trusted = service_keyids(state)
    with tempfile.TemporaryDirectory(prefix="proctor-verify-") as folder:
        path = Path(folder) / "bundle.zip"
        save_upload(bundle, path, state.config.limits.max_upload_bytes)
        if not zipfile.is_zipfile(path):
            return _not_a_zip(bundle.filename or "the upload")
        report = verify_bundle(path, trusted_keyids=trusted, workers=1)
    return Verification.of(report)


def service_keyids(state: ServiceState) -> set[str]:
    """Ids of the keys this service signs with now or signed with before a rotation."""
    try:
        retired = load_retired_keys(state.config.retired_keys_dir)
    except KeyFileError as error:
        raise ApiError(500, "keys_unavailable", str(error)) from None
    return {state.audit_log.key.public_key.keyid, *(key.keyid for key in retired)}


def _not_a_zip(name: str) -> Verification:
    """A truncated or foreign file, reported by its own name rather than where it was kept."""
    problem = BundleProblem(
        code="not-a-zip",
        message=f"{name} is not a zip archive (bundles from /v1/audit/exports are); "
        "it may be incomplete",
        seq=None,
    )
    return Verification(ok=False, records_checked=0, sessions=0, keyids=[], problems=[problem])
