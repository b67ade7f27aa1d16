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

from audit.timefmt import TIMESTAMP_PATTERN, parse_timestamp

_FIELDS: Final = frozenset(
    ("seq", "session_id", "session_seq", "prev", "policy", "timestamp", "event")
)
_POLICY_FIELDS: Final = frozenset(("id", "version", "digest"))
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP_RE: Final = re.compile(TIMESTAMP_PATTERN.removeprefix("^").removesuffix("$"))


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
    if not _plain_timestamp(timestamp):
        return None
    return PayloadFields(seq, session_id, session_seq, prev, event)


# Verdicts already reached, so that the records of a log, which share a few policies and
# whose timestamps share their second with their neighbours, do not repeat the same
# checks. A key holds everything its verdict depends on, with exact types (so 3 and 3.0,
# equal as dict keys, never share one); the sets are cleared when large.
_KNOWN_POLICIES: Final[set[tuple[str, int, str]]] = set()
_KNOWN_SECONDS: Final[set[str]] = set()  # "YYYY-MM-DDTHH:MM:SS" that exist
_KNOWN_LIMIT: Final = 4096


def _plain_policy(policy: object) -> bool:
    """Whether `policy` certainly is a valid `PolicyRef`."""
    if type(policy) is not dict or policy.keys() != _POLICY_FIELDS:
        return False
    policy_id, version, digest = policy["id"], policy["version"], policy["digest"]
    if type(policy_id) is not str or type(version) is not int or type(digest) is not str:
        return False
    key = (policy_id, version, digest)
    if key in _KNOWN_POLICIES:
        return True
    valid = bool(policy_id) and version >= 1 and _SHA256_HEX.fullmatch(digest) is not None
    if valid:
        _remember(_KNOWN_POLICIES, key)
    return valid


def _plain_timestamp(timestamp: str) -> bool:
    """Whether `parse_timestamp` accepts `timestamp`: its shape (a full match of the
    pattern), and its date and time to the second existing, which is all the rest of the
    text decides once the shape holds (six fraction digits and 'Z')."""
    if not _TIMESTAMP_RE.fullmatch(timestamp):
        return False
    second = timestamp[:19]
    if second in _KNOWN_SECONDS:
        return True
    try:
        parse_timestamp(timestamp)
    except ValueError:
        return False
    _remember(_KNOWN_SECONDS, second)
    return True


def _remember(known: set[Any], key: Any) -> None:
    if len(known) >= _KNOWN_LIMIT:
        known.clear()
    known.add(key)
