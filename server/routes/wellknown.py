"""The audit log's public keys at a well-known path, for verifiers who trust no export.

A bundle carries the keys that signed it, which proves only that the bundle is
consistent: whoever forged it would include their own key. An auditor needs the
organisation's keys from somewhere else, and ``/.well-known/proctor/audit-keys`` is that
place (RFC 8615): unauthenticated, read-only, the current signing key and every retired
one, each in securesystemslib JSON with its key id (what `proctor audit verify
--trusted-key` and securesystemslib take) and as a C2SP signed-note verifier key (what
checkpoint verifiers and witnesses take). A key served here and pinned once lets an
auditor check every bundle and checkpoint the log ever signs.

``/.well-known/proctor/checkpoint`` serves the log's latest signed checkpoint (a C2SP
signed note, as ``text/plain``), so that auditors and witnesses can keep the tree heads
they saw and later check that an export extends them instead of rewriting history.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from audit import KeyFileError, NoteVerifier, PublicKey, StoreError
from audit.keyring import load_retired_keys
from server.errors import ApiError, ErrorBody
from server.security import service_state
from server.state import ServiceState

router = APIRouter(prefix="/.well-known/proctor", tags=["well-known"])
State = Annotated[ServiceState, Depends(service_state)]

# Keys change rarely and a stale answer is harmless for a while (a retired key stays
# listed for good), so clients and proxies may reuse an answer for a few minutes.
CACHE_CONTROL = "public, max-age=300"


class SecureSystemsLibKey(BaseModel):
    """A public key exactly as securesystemslib serialises it (its key id is not inside)."""

    keytype: Literal["ed25519"]
    scheme: Literal["ed25519"]
    keyval: dict[str, str] = Field(description='{"public": 64 lower-case hex characters}')


class AuditKey(BaseModel):
    keyid: str = Field(description="securesystemslib key id: SHA-256 of the canonical key.")
    status: Literal["current", "retired"] = Field(
        description="current: signs new records; retired: signed earlier records only."
    )
    key: SecureSystemsLibKey
    note_verifier_key: str = Field(
        description="C2SP signed-note verifier key (name+hash+base64) for the log's checkpoints."
    )


class AuditKeys(BaseModel):
    origin: str = Field(description="The log's origin: the key name its checkpoints use.")
    keys: list[AuditKey]


@router.get(
    "/audit-keys",
    response_model=AuditKeys,
    summary="Public keys of the audit log (current and retired)",
    responses={500: {"model": ErrorBody, "description": "A retired key file is unusable."}},
)
def audit_keys(state: State, response: Response) -> AuditKeys:
    """Every key that has signed this service's audit records: the current one first,
    then the retired ones by key id. No API key is needed."""
    current = state.audit_log.key.public_key
    try:
        retired = load_retired_keys(state.config.retired_keys_dir)
    except KeyFileError as error:
        raise ApiError(500, "keys_unavailable", str(error)) from None
    origin = state.audit_log.origin
    listed = [_entry(current, "current", origin)]
    listed += [_entry(key, "retired", origin) for key in retired if key != current]
    response.headers["Cache-Control"] = CACHE_CONTROL
    return AuditKeys(origin=state.audit_log.origin, keys=listed)


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    summary="The audit log's latest signed checkpoint",
    responses={
        200: {
            "description": "A C2SP signed note: origin, tree size, base64 root hash, then "
            "signature lines; verify it with a note verifier key from audit-keys.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        404: {"model": ErrorBody, "description": "The log has not signed a checkpoint yet."},
        503: {"model": ErrorBody, "description": "The audit store cannot be read."},
    },
)
def checkpoint(state: State) -> PlainTextResponse:
    """The largest checkpoint the log has signed under its origin. No API key is needed.
    It changes as sessions end, so clients revalidate it on every use."""
    origin = state.audit_log.origin
    try:
        latest = state.audit_store.latest_checkpoint(origin)
    except StoreError as error:
        raise ApiError(503, "store_unavailable", f"cannot read checkpoints: {error}") from None
    if latest is None:
        raise ApiError(
            404,
            "no_checkpoint",
            f"the log {origin!r} has not signed a checkpoint yet; one is signed when a "
            "session ends",
        )
    return PlainTextResponse(latest.note, headers={"Cache-Control": "no-cache"})


def _entry(key: PublicKey, status: Literal["current", "retired"], origin: str) -> AuditKey:
    data: dict[str, Any] = key.to_securesystemslib_dict()
    return AuditKey(
        keyid=key.keyid,
        status=status,
        key=SecureSystemsLibKey.model_validate(data),
        note_verifier_key=NoteVerifier(origin, key).vkey,
    )
