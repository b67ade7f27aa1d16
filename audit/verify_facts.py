"""What checking one record line yields: the facts the sequential checks need, or why not.

Kept apart from `audit.linecheck` (which imports the pydantic model, OpenSSL and the rest of
the general line check) so that the verifier's worker processes can build and return these
values having imported almost nothing: a worker starts once per verification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from audit.content_verify import ContentFacts


class RecordFacts(NamedTuple):
    """What the chain checks need from a verified line."""

    seq: int
    session_id: str
    session_seq: int
    prev: str | None
    digest: str
    content: ContentFacts | None = None  # sealed references and erasures (audit.content)


class LineFailure(NamedTuple):
    """Why a line is not valid evidence, with whatever position it claims (unverified).

    The claimed fields let the chain checks keep their place after a bad line instead of
    reporting every following record as out of order; they are never trusted otherwise.
    """

    reason: str  # a RecordError reason, or "malformed"
    message: str
    claimed_seq: int | None = None
    claimed_session_id: str | None = None
    claimed_session_seq: int | None = None


LineOutcome = RecordFacts | LineFailure
