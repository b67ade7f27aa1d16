"""The payload of a record line the store already holds, read without verifying it again.

Lines reach the store only through `AuditLog`, which signs what it writes, so readers that
merely index the log (the session index, erasure finding a learner's sessions) decode the
payload without checking signatures; the verifier is what re-checks them, on exports.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def stored_payload(line: bytes) -> dict[str, Any]:
    """The payload object of `line`; empty for a line that has none (never raises)."""
    try:
        payload = json.loads(base64.b64decode(json.loads(line)["payload"]))
    except (ValueError, KeyError, TypeError):  # binascii.Error is a ValueError
        return {}
    return payload if isinstance(payload, dict) else {}
