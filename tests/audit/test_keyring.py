"""Audit key rotation: the old public key is kept, old records keep verifying, strangers don't.

Bundle tests use the `store` fixture, so they run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from audit import (
    AuditLog,
    BundleError,
    KeyFileError,
    PublicKey,
    SigningKey,
    export_bundle,
    verify_bundle,
)
from audit.keyring import (
    load_retired_keys,
    retire_public_key,
    retired_keys_dir,
    rotate_signing_key,
)
from audit.problems import Code
from policies.models import Speaker
from tests.audit.helpers import POLICY, AnyStore, event
from tests.audit.sessions import BREACH, GOOD, record_session
from tests.audit.test_report import Tree, definitions, section


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "keys" / "audit-signing.key"


def test_rotation_replaces_the_private_key_and_keeps_the_old_public_key(key_path: Path) -> None:
    old = SigningKey.load_or_create(key_path)
    first = rotate_signing_key(key_path)
    assert first.retired == old.public_key
    new = SigningKey.load_or_create(key_path)
    assert new.public_key == first.current != old.public_key
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    kept = retired_keys_dir(key_path) / f"{old.public_key.keyid}.pub.json"
    assert first.retired_file == kept
    assert json.loads(kept.read_text()) == {
        "keytype": "ed25519",
        "scheme": "ed25519",
        "keyval": {"public": old.public_key.raw.hex()},
    }
    second = rotate_signing_key(key_path)
    assert second.retired == new.public_key
    retired = load_retired_keys(retired_keys_dir(key_path))
    assert {k.keyid for k in retired} == {old.public_key.keyid, new.public_key.keyid}
    assert [p.name for p in key_path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_nothing_to_rotate_before_the_first_key(key_path: Path) -> None:
    with pytest.raises(KeyFileError, match=r"no audit signing key at .*nothing to rotate"):
        rotate_signing_key(key_path)
    assert not key_path.exists()


def test_retired_keys_that_are_not_what_their_name_says_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "retired"
    assert load_retired_keys(folder) == []  # no folder yet: no retired keys
    good, other = SigningKey.generate().public_key, SigningKey.generate().public_key
    retire_public_key(folder, good)
    retire_public_key(folder, good)  # again: harmless
    (folder / "notes.txt").write_text("not a key file, ignored")
    assert load_retired_keys(folder) == [good]
    wrong = folder / f"{other.keyid}.pub.json"
    wrong.write_text(json.dumps(good.to_securesystemslib_dict()))
    with pytest.raises(KeyFileError, match=f"holds key {good.keyid}, not {other.keyid}"):
        load_retired_keys(folder)
    wrong.write_text('{"keytype": "rsa"}')
    with pytest.raises(KeyFileError, match=f"{wrong.name} is not a usable public key"):
        load_retired_keys(folder)


def test_a_bundle_spanning_a_rotation_verifies_and_its_reports_name_each_signer(
    store: AnyStore, key_path: Path, tmp_path: Path
) -> None:
    old = SigningKey.load_or_create(key_path)
    record_session(store, old, [(Speaker.learner, GOOD)], session_id="before")
    AuditLog(store, old).append("raw", POLICY, [event(1)])
    rotate_signing_key(key_path)
    new = SigningKey.load_or_create(key_path)
    AuditLog(store, new).append("raw", POLICY, [event(2)])  # the chain goes on across keys
    record_session(store, new, [(Speaker.learner, BREACH)], session_id="after")

    retired = load_retired_keys(retired_keys_dir(key_path))
    with pytest.raises(BundleError, match=f"signed by key {old.public_key.keyid}"):
        export_bundle(store, new, tmp_path / "refused", "o")
    summary = export_bundle(store, new, tmp_path / "out", "o", record_keys=retired)
    assert set(summary.keyids) == {old.public_key.keyid, new.public_key.keyid}
    report = verify_bundle(summary.path)
    assert report.ok, report.problems
    assert verify_bundle(
        summary.path, trusted_keyids=[old.public_key.keyid, new.public_key.keyid]
    ).ok
    for session, signer in (("before", old), ("after", new)):
        page = Tree((summary.path / f"report/{session}.html").read_text())
        facts = definitions(section(page, "h-verification"))
        assert facts["Signed by key(s)"] == signer.public_key.keyid
        assert facts["Status"] == f"verified at export by {new.public_key.keyid}"


def test_records_signed_by_a_key_outside_the_bundle_are_rejected(
    store: AnyStore, key_path: Path, tmp_path: Path
) -> None:
    old = SigningKey.load_or_create(key_path)
    AuditLog(store, old).append("s", POLICY, [event(1), event(2)])
    rotate_signing_key(key_path)
    new = SigningKey.load_or_create(key_path)
    AuditLog(store, new).append("s", POLICY, [event(3)])
    stranger = SigningKey.generate()
    AuditLog(store, stranger).append("s", POLICY, [event(4)])

    retired = load_retired_keys(retired_keys_dir(key_path))
    with pytest.raises(BundleError, match=f"seq 4 is signed by key {stranger.public_key.keyid}"):
        export_bundle(store, new, tmp_path / "refused", "o", record_keys=retired)

    # A verifier holding only the current key (the old one removed from keys/) rejects
    # exactly the records the old key signed.
    summary = export_bundle(store, new, tmp_path / "out", "o", record_keys=retired, last_seq=3)
    (summary.path / f"keys/{old.public_key.keyid}.json").unlink()
    report = verify_bundle(summary.path)
    unknown = [p for p in report.problems if p.code == Code.RECORD_UNKNOWN_KEY.value]
    assert [p.seq for p in unknown] == [1, 2]


def test_keys_are_public_keys_not_key_files(tmp_path: Path) -> None:
    """A retired key file never holds the private key."""
    key_path = tmp_path / "keys" / "audit-signing.key"
    private = SigningKey.load_or_create(key_path)
    rotation = rotate_signing_key(key_path)
    text = rotation.retired_file.read_text()
    assert "PRIVATE" not in text and set(json.loads(text)) == {"keytype", "scheme", "keyval"}
    assert PublicKey.from_securesystemslib_dict(json.loads(text)) == private.public_key
