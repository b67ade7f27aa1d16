"""An exported bundle checked with securesystemslib alone: every record line of
log/records.jsonl is a DSSE envelope its verifier accepts under the key file in keys/,
whose name is the key id securesystemslib computes. Nothing of ours is used to check."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from securesystemslib.dsse import Envelope as SSlibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]  # not in its __all__

from audit import RECORD_PAYLOAD_TYPE


def _keys(bundle: Path) -> list[SSlibKey]:
    keys = []
    for path in sorted((bundle / "keys").glob("*.json")):
        key = SSlibKey.from_dict(path.stem, json.loads(path.read_text()))
        keys.append(key)
    return keys


def test_securesystemslib_verifies_every_record_of_a_bundle(pristine_bundle: Path) -> None:
    keys = _keys(pristine_bundle)
    assert len(keys) == 1
    [key] = keys
    # securesystemslib's own key id for this key dict is the one the file is named after.
    from securesystemslib.signer._key import compute_default_keyid

    assert compute_default_keyid(key.keytype, key.scheme, key.keyval) == key.keyid
    lines = (pristine_bundle / "log" / "records.jsonl").read_bytes().splitlines()
    assert lines
    for number, line in enumerate(lines, start=1):
        envelope = SSlibEnvelope.from_dict(json.loads(line))
        assert envelope.payload_type == RECORD_PAYLOAD_TYPE
        accepted = envelope.verify(keys, 1)
        assert list(accepted) == [key.keyid]
        payload = json.loads(envelope.payload)
        assert payload["seq"] == number


def test_securesystemslib_rejects_an_altered_record(pristine_bundle: Path) -> None:
    keys = _keys(pristine_bundle)
    line = (pristine_bundle / "log" / "records.jsonl").read_bytes().splitlines()[3]
    data = json.loads(line)
    payload = json.loads(base64.b64decode(data["payload"]))
    payload["event"]["text"] = "something the learner never said"
    data["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(VerificationError):
        SSlibEnvelope.from_dict(data).verify(keys, 1)
