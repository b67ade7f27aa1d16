"""Reading a record payload of the usual shape without building the pydantic model.

Verification validates every record's payload against `audit.records.RecordPayload`;
pydantic's `model_validate_json` costs several times what parsing the JSON does (model and
nested-model construction, a Python validator per field and per model), once per record.
`plain_payload` parses with the same JSON parser pydantic uses (`pydantic_core.from_json`,
jiter) and applies the model's constraints directly, accepting only when each one holds
in its strictest reading:

- the top level is an object with exactly the model's seven fields, ``policy`` an object
  with exactly ``id``, ``version`` and ``digest`` (``extra="forbid"``);
- integers are JSON integers (``strict=True``: no floats, strings or booleans) within their
  bounds, strings are strings of the required length;
- hex digests match ``[0-9a-f]{64}`` as a full match (so no trailing newline slips past a
  ``$``), the timestamp passes `parse_timestamp` (the model's pattern and real-date check);
- ``prev`` is null exactly when ``session_seq`` is 0, ``event`` is an object whose
  ``type`` is a non-empty string (the model's own validator).

Anything else returns None, meaning "ask the model", never "invalid": the model remains
the only judge of a refusal and the only author of its message. Values that are accepted
are those the model would hold (tests/audit/test_payload_fast.py checks both claims with
generated and mutated payloads).
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

from pydantic_core import from_json

from audit.timefmt import parse_timestamp

_FIELDS: Final = frozenset(
    ("seq", "session_id", "session_seq", "prev", "policy", "timestamp", "event")
)
_POLICY_FIELDS: Final = frozenset(("id", "version", "digest"))
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")


class PayloadFields(NamedTuple):
    """The payload fields the line checks use, as `RecordPayload` would hold them."""

    seq: int
    session_id: str
    session_seq: int
    prev: str | None
    event: dict[str, Any]


def plain_payload(payload: bytes) -> PayloadFields | None:
    """The fields of `payload` if it certainly is a valid record payload (module doc);
    None when the pydantic model has to decide."""
    try:
        # NaN and Infinity are not JSON; refusing them here leaves such payloads to the model.
        data = from_json(payload, allow_inf_nan=False)
    except ValueError:
        return None
    if type(data) is not dict or data.keys() != _FIELDS:
        return None
    seq = data["seq"]
    session_id = data["session_id"]
    session_seq = data["session_seq"]
    prev = data["prev"]
    policy = data["policy"]
    timestamp = data["timestamp"]
    event = data["event"]
    if (
        type(seq) is not int
        or seq < 1
        or type(session_id) is not str
        or not session_id
        or type(session_seq) is not int
        or session_seq < 0
        or type(event) is not dict
        or type(timestamp) is not str
    ):
        return None
    if prev is None:
        if session_seq != 0:
            return None
    elif type(prev) is not str or session_seq == 0 or not _SHA256_HEX.fullmatch(prev):
        return None
    if not _plain_policy(policy):
        return None
    event_type = event.get("type")
    if type(event_type) is not str or not event_type:
        return None
    try:
        parse_timestamp(timestamp)
    except ValueError:
        return None
    return PayloadFields(seq, session_id, session_seq, prev, event)


def _plain_policy(policy: object) -> bool:
    """Whether `policy` certainly is a valid `PolicyRef`."""
    if type(policy) is not dict or policy.keys() != _POLICY_FIELDS:
        return False
    policy_id, version, digest = policy["id"], policy["version"], policy["digest"]
    return (
        type(policy_id) is str
        and bool(policy_id)
        and type(version) is int
        and version >= 1
        and type(digest) is str
        and _SHA256_HEX.fullmatch(digest) is not None
    )
