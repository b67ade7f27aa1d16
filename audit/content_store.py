"""What a record store keeps of sealed content, and the operations on it (`audit.content`).

Next to the append-only records, a store holds two tables:

- ``content``: one row per sealed string (commitment, session, the seq of the record that
  refers to it, salt, text). Rows are written in the transaction of their record and never
  changed; a row may be deleted, but only once its erasure is recorded (below).
- ``content_erased``: one row per erased commitment, naming the ``content.erased`` record
  that announced the erasure. It is append-only, and the store refuses to delete a content
  row whose commitment it does not list, so text can only leave the store by an erasure
  that the signed log itself records.

Both stores create these tables when they open a store that lacks them, so logs written
before sealed content existed gain them without a migration step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from audit.content import SealedText


@dataclass(frozen=True, slots=True)
class ContentRow:
    """One stored sealed string."""

    commitment: str
    session_id: str
    record_seq: int  # the record whose event refers to it
    salt: bytes
    text: str

    @property
    def sealed(self) -> SealedText:
        return SealedText(self.commitment, self.salt, self.text)


@dataclass(frozen=True, slots=True)
class Erasure:
    """One erased commitment and the ``content.erased`` record that announced it."""

    commitment: str
    session_id: str
    erased_by: int  # seq of the content.erased record


@runtime_checkable
class ContentStore(Protocol):
    """Reads of sealed content (the writes happen inside `StoreTransaction`)."""

    def content_rows(self, session_id: str) -> list[ContentRow]:
        """The content still held for `session_id`, by record seq."""
        ...

    def erasures(self, session_id: str) -> list[Erasure]:
        """The commitments of `session_id` erased so far, by erasing record."""
        ...


@runtime_checkable
class ContentTransaction(Protocol):
    """The content writes of a store transaction."""

    def put_content(self, rows: Sequence[ContentRow]) -> None:
        """Store sealed strings of records appended in this transaction."""
        ...

    def erase_content(self, erasures: Sequence[Erasure]) -> None:
        """Record `erasures` (their record is appended in this transaction) and delete the
        content rows they name."""
        ...
