"""What the session loop needs from an audit log, whichever process does the writing.

`AuditLog` appends in the calling process; `AuditWriterProcess` hands appends to a child
process that owns the write path. Both sign with a key and name their log by an origin,
which the service also needs (for bundle manifests and its well-known checkpoint path).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any, Protocol, runtime_checkable

from audit.content_log import ContentChange
from audit.keys import SigningKey
from audit.log import AppendedRecord, AppendRequest
from audit.outbox import OutboxRequest
from audit.records import PolicyRef


class AuditAppender(Protocol):
    """Appends events durably (see `AuditLog.append` for the contract), or raises
    `AuditWriteError`."""

    @property
    def origin(self) -> str: ...

    @property
    def key(self) -> SigningKey: ...

    def append(
        self,
        session_id: str,
        policy: PolicyRef,
        events: Sequence[Mapping[str, Any]],
        outbox: Sequence[OutboxRequest] = (),
        content: ContentChange | None = None,
    ) -> list[AppendedRecord]: ...


@runtime_checkable
class AuditSubmitter(AuditAppender, Protocol):
    """An appender that can also take an append without blocking the caller (an event
    loop) while it is `running`: the future settles as `append` would return or raise."""

    @property
    def running(self) -> bool: ...

    def submit(self, request: AppendRequest) -> Future[list[AppendedRecord]]: ...
