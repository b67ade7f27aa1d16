"""Erasure of a learner's sealed content, recorded in the log it leaves intact.

`erase_learner_content` finds the learner's sessions from the log itself (each session's
signed ``session.started`` record names its learner, as the service's session index reads
it), then, per session still holding sealed text, appends one signed ``content.erased``
record listing the commitments erased (never the text) and deletes their rows, in one
transaction (`audit.content_log`). Records, chains and Merkle hashes are untouched: they
cover commitments, not text. Exports then declare the commitments erased, and the verifier
accepts their absence only for that reason.

Finding the sessions reads the whole log once; erasure is a rare, deliberate operation.
Text a still-running session seals after the erasure is not covered: erase again after it
ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from audit.content_log import ERASED_EVENT, ContentChange
from audit.content_store import ContentStore
from audit.errors import AuditError
from audit.keys import SigningKey
from audit.log import AuditLog
from audit.records import PolicyRef
from audit.store import RecordStore
from audit.stored_payload import stored_payload
from audit.timefmt import format_timestamp, utc_now


class ErasureError(AuditError):
    """An erasure that cannot be carried out (unknown learner, store without content)."""


class ErasableStore(RecordStore, ContentStore, Protocol):
    """A record store that also keeps sealed content (both built-in stores do)."""


@dataclass(frozen=True, slots=True)
class ErasureSummary:
    """What one erasure did."""

    learner: str
    sessions: tuple[str, ...]  # every session of the learner
    erased: dict[str, int]  # session id -> commitments erased now (sessions with any)
    records: tuple[int, ...]  # seq of each content.erased record appended

    @property
    def commitments(self) -> int:
        return sum(self.erased.values())


def erase_learner_content(
    store: ErasableStore,
    key: SigningKey,
    learner_id: str,
    *,
    reason: str | None = None,
    clock: Callable[[], datetime] | None = None,
) -> ErasureSummary:
    """Erase the sealed text of every session of `learner_id`; record each erasure, signed
    with `key`.

    Raises `ErasureError` if the learner has no session in the log, and `AuditWriteError`
    (nothing erased in that session; sessions before it stay erased) if an erasure record
    cannot be written, e.g. because another erasure of the same text committed first.
    Sessions whose text was erased before are skipped, so repeating an erasure is harmless.
    """
    if not learner_id.strip():
        raise ErasureError("a learner id is needed to erase a learner's content")
    if not isinstance(store, ContentStore):
        raise ErasureError(f"{type(store).__name__} keeps no sealed content to erase")
    sessions = learner_sessions(store, learner_id)
    if not sessions:
        raise ErasureError(f"no session of learner {learner_id!r} is recorded in the audit log")
    now = clock or utc_now
    log = AuditLog(store, key, clock=now)
    erased: dict[str, int] = {}
    records: list[int] = []
    for session_id, policy in sessions.items():
        commitments = sorted({row.commitment for row in store.content_rows(session_id)})
        if not commitments:
            continue
        event: dict[str, Any] = {
            "type": ERASED_EVENT,
            "session_id": session_id,
            "at": format_timestamp(now()),
            "learner": learner_id,
            "commitments": commitments,
            "reason": reason,
        }
        (appended,) = log.append(
            session_id, policy, [event], content=ContentChange(erases=tuple(commitments))
        )
        erased[session_id] = len(commitments)
        records.append(appended.seq)
    return ErasureSummary(learner_id, tuple(sessions), erased, tuple(records))


def learner_sessions(store: RecordStore, learner_id: str) -> dict[str, PolicyRef]:
    """The sessions whose ``session.started`` record names `learner_id`, with their policy,
    in log order."""
    found: dict[str, PolicyRef] = {}
    for record in store.records():
        payload = stored_payload(record.line)
        event = payload.get("event")
        if not isinstance(event, dict) or event.get("type") != "session.started":
            continue
        if event.get("learner") == learner_id:
            try:
                found[record.session_id] = PolicyRef.model_validate(payload.get("policy"))
            except ValueError as exc:
                raise ErasureError(f"record seq {record.seq} names no valid policy: {exc}") from exc
    return found
