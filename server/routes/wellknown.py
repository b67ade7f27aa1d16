"""The audit log's public keys at a well-known path, for verifiers who trust no export.

A bundle carries the keys that signed it, which proves only that the bundle is
consistent: whoever forged it would include their own key. An auditor needs the
organisation's keys from somewhere else, and ``/.well-known/proctor/audit-keys`` is that
place (RFC 8615): unauthenticated, read-only, the current signing key and every retired
one, each in securesystemslib JSON with its key id (what `proctor audit verify
--trusted-key` and securesystemslib take) and as a C2SP signed-note verifier key (what
checkpoint verifiers and witnesses take). A key served here and pinned once lets an
auditor check every bundle and checkpoint the log ever signs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from audit import KeyFileError, NoteVerifier, PublicKey
from audit.keyring import load_retired_keys
from server.errors import ApiError, ErrorBody
from server.routes.audit import AUDIT_ORIGIN
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
    listed = [_entry(current, "current")]
    listed += [_entry(key, "retired") for key in retired if key != current]
    response.headers["Cache-Control"] = CACHE_CONTROL
    return AuditKeys(origin=AUDIT_ORIGIN, keys=listed)


def _entry(key: PublicKey, status: Literal["current", "retired"]) -> AuditKey:
    data: dict[str, Any] = key.to_securesystemslib_dict()
    return AuditKey(
        keyid=key.keyid,
        status=status,
        key=SecureSystemsLibKey.model_validate(data),
        note_verifier_key=NoteVerifier(AUDIT_ORIGIN, key).vkey,
    )
