"""One session's evidence, opened for reading: what an auditor sees when they open a session.

The view is made the way an auditor would make it by hand, so that it can show nothing the
evidence does not: the session's complete record chain is exported as a signed bundle, the
offline verifier (`audit.verify_bundle`) checks that bundle against this service's keys, and
the bundle's own report page (transcript with flags on the exact words, findings with their
citations and knowledge-base passages, scores with evidence) is returned with the verdict.
The bundle lives in a temporary folder for the length of the request; what is kept is the
log's Merkle tree (`audit.log_tree`), so that opening a session reads that session's records
and the records appended since the last opening, not the whole log.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from audit import BundleError, KeyFileError, export_bundle, verify_bundle
from audit.bundle_views import REPORT_DIR
from audit.keyring import load_retired_keys
from audit.log_tree import LogTreeCache
from audit.xapi_files import session_file_stem
from server.auth import Principal, Role
from server.errors import ApiError, ErrorBody
from server.routes.audit import AUDIT_ORIGIN, AuditedSession, app_owned, session_index
from server.routes.audit_verify import BundleProblem, Verification, service_keyids
from server.security import require, service_state
from server.state import ServiceState

router = APIRouter(prefix="/v1", tags=["audit"])

Reader = Annotated[Principal, Depends(require(Role.officer, Role.learner, Role.auditor))]
State = Annotated[ServiceState, Depends(service_state)]


class SessionEvidence(BaseModel):
    session: AuditedSession
    verification: Verification = Field(
        description="The offline verifier's verdict on a bundle of this session's records."
    )
    report_html: str = Field(
        description="The bundle's self-contained report page for the session (no script, "
        "no external resource): transcript, findings with citations, scores with evidence. "
        "Empty when the records could not be exported (see `verification`)."
    )


@router.get(
    "/sessions/{session_id}/evidence",
    response_model=SessionEvidence,
    summary="Open one session's verified evidence",
    responses={
        401: {"model": ErrorBody, "description": "No or an unknown API key."},
        403: {"model": ErrorBody, "description": "Another learner's session, to a learner."},
        404: {"model": ErrorBody, "description": "No session has this id."},
    },
)
def session_evidence(
    request: Request,
    session_id: Annotated[str, PathParam(min_length=1, max_length=200)],
    principal: Reader,
    state: State,
) -> SessionEvidence:
    """Officers and auditors may open any session, a learner only their own. A session
    still running is shown as far as it has been recorded."""
    found = session_index(request).session(state.audit_store, session_id)
    if found is None:
        raise ApiError(404, "not_found", f"no session {session_id!r}")
    if principal.role is Role.learner and found.learner != principal.subject:
        raise ApiError(403, "forbidden", "a learner may open only their own sessions")
    trusted = service_keyids(state)
    with tempfile.TemporaryDirectory(prefix="proctor-evidence-") as folder:
        bundle = Path(folder) / "bundle"
        try:
            with _log_tree(request).up_to_date(state.audit_store) as tree:
                export_bundle(
                    state.audit_store,
                    state.audit_log.key,
                    bundle,
                    AUDIT_ORIGIN,
                    last_seq=tree.index.size,
                    record_keys=load_retired_keys(state.config.retired_keys_dir),
                    sessions=[session_id],
                    filters={"session": session_id},
                    log_tree=tree,
                )
        except KeyFileError as error:
            raise ApiError(500, "keys_unavailable", str(error)) from None
        except BundleError as error:
            # The store no longer matches what it signed: that is the finding to show.
            return SessionEvidence(
                session=AuditedSession.of(found),
                verification=_refused(str(error)),
                report_html="",
            )
        report = verify_bundle(bundle, trusted_keyids=trusted, workers=1)
        page = bundle / REPORT_DIR / f"{session_file_stem(session_id)}.html"
        report_html = page.read_text(encoding="utf-8") if page.is_file() else ""
    return SessionEvidence(
        session=AuditedSession.of(found),
        verification=Verification.of(report),
        report_html=report_html,
    )


def _log_tree(request: Request) -> LogTreeCache:
    """The app's copy of the log's Merkle tree, made on first use."""
    return app_owned(request, "log_tree", LogTreeCache)


def _refused(reason: str) -> Verification:
    """The verdict when the records could not even be exported as evidence."""
    problem = BundleProblem(code="export-refused", message=reason, seq=None)
    return Verification(ok=False, records_checked=0, sessions=0, keyids=[], problems=[problem])
