"""How an append carries sealed content and erasures into the store, in its transaction.

`AuditLog.append` takes a `ContentChange` next to its events: the text sealed in them
(`audit.content`) and, for a ``content.erased`` event, the commitments it erases. The log
checks here, for every append, that references and sealed text match exactly, and that an
erasure is exactly what its ``content.erased`` events say, so the store can never hold text
no record refers to, nor a record refer to text that was never stored, nor lose text
without a signed record saying so. The rows are written in the records' own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from audit.content import ContentError, SealedText, check_sealed, is_commitment, references
from audit.content_store import ContentRow, ContentTransaction, Erasure

ERASED_EVENT: Final = "content.erased"


@dataclass(frozen=True, slots=True)
class ContentChange:
    """Sealed text of an append's events, and commitments its ``content.erased`` events erase."""

    sealed: tuple[SealedText, ...] = ()
    erases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContentWrites:
    """The rows one append writes: content to keep and erasures to record."""

    rows: tuple[ContentRow, ...]
    erasures: tuple[Erasure, ...]


def plan_content(
    session_id: str,
    events: Sequence[Mapping[str, Any]],
    seqs: Sequence[int],
    change: ContentChange | None,
) -> ContentWrites | None:
    """The rows for `events` (appended at `seqs`); None when there is nothing to write.

    Raises `ContentError` if `change` does not fit the events exactly.
    """
    change = change or ContentChange()
    check_sealed(events, change.sealed)
    if not change.sealed and not change.erases and not _any_erasure(events):
        return None
    by_commitment = {item.commitment: item for item in change.sealed}
    rows: list[ContentRow] = []
    erasures: list[Erasure] = []
    for event, seq in zip(events, seqs, strict=True):
        for target in references(event):
            item = by_commitment[target]
            rows.append(ContentRow(target, session_id, seq, item.salt, item.text))
        if event.get("type") == ERASED_EVENT:
            erasures += [Erasure(c, session_id, seq) for c in erased_commitments(event)]
    announced = [erasure.commitment for erasure in erasures]
    if len(set(announced)) != len(announced):
        raise ContentError("a commitment is erased twice in one append")
    if set(announced) != set(change.erases) or len(change.erases) != len(set(change.erases)):
        raise ContentError(
            "the commitments erased must be exactly those the content.erased events list"
        )
    return ContentWrites(tuple(rows), tuple(erasures))


def erased_commitments(event: Mapping[str, Any]) -> list[str]:
    """The commitments a ``content.erased`` event lists; `ContentError` if malformed."""
    listed = event.get("commitments")
    if not isinstance(listed, list) or not listed:
        raise ContentError("a content.erased event lists its commitments (a non-empty list)")
    for commitment in listed:
        if not is_commitment(commitment):
            raise ContentError(f"content.erased lists {commitment!r}, not a commitment")
    return list(listed)


def write_content(tx: object, writes: ContentWrites) -> None:
    """Write `writes` in the store transaction `tx`."""
    if not isinstance(tx, ContentTransaction):
        raise ContentError(f"{type(tx).__name__} does not keep sealed content")
    if writes.rows:
        tx.put_content(writes.rows)
    if writes.erasures:
        tx.erase_content(writes.erasures)


def _any_erasure(events: Sequence[Mapping[str, Any]]) -> bool:
    return any(event.get("type") == ERASED_EVENT for event in events)
