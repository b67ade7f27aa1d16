"""`proctor keys rotate-audit-key`, and `proctor audit export` across the rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit import AuditLog, SigningKey, SQLiteRecordStore
from cli.main import main
from policies.models import Speaker
from server.config import ServerConfig
from tests.audit.sessions import BREACH, GOOD, record_session


def test_rotate_then_export_verifies_records_of_both_keys(
    proctor_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ServerConfig(proctor_home)
    assert main(["keys", "rotate-audit-key"]) == 2
    assert "nothing to rotate yet" in capsys.readouterr().err

    old = SigningKey.load_or_create(config.signing_key)
    with SQLiteRecordStore(config.audit_db) as store:
        record_session(store, old, [(Speaker.learner, GOOD)], session_id="before")
    assert main(["keys", "rotate-audit-key"]) == 0
    out = capsys.readouterr()
    new = SigningKey.load_or_create(config.signing_key)
    assert f"retired audit key {old.public_key.keyid}" in out.out
    assert f"new audit key     {new.public_key.keyid}" in out.out
    assert "Restart the service" in out.err
    assert (config.retired_keys_dir / f"{old.public_key.keyid}.pub.json").is_file()
    with SQLiteRecordStore(config.audit_db) as store:
        record_session(store, new, [(Speaker.learner, BREACH)], session_id="after")
        assert AuditLog(store, new).key is new

    bundle = tmp_path / "bundle"
    assert main(["audit", "export", "--out", str(bundle)]) == 0
    assert sorted(p.name for p in (bundle / "keys").glob("*.json")) == sorted(
        f"{k.public_key.keyid}.json" for k in (old, new)
    )
    capsys.readouterr()
    trusted = ["--trusted-key", old.public_key.keyid, "--trusted-key", new.public_key.keyid]
    assert main(["audit", "verify", str(bundle), *trusted]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["audit", "verify", str(bundle), "--trusted-key", new.public_key.keyid]) == 1


def test_export_names_an_unusable_retired_key_file_instead_of_failing_obscurely(
    proctor_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ServerConfig(proctor_home)
    key = SigningKey.load_or_create(config.signing_key)
    with SQLiteRecordStore(config.audit_db) as store:
        record_session(store, key, [], session_id="s")
    config.retired_keys_dir.mkdir(parents=True)
    broken = config.retired_keys_dir / f"{'a' * 64}.pub.json"
    broken.write_text("[]")
    assert main(["audit", "export", "--out", str(tmp_path / "bundle")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: cannot export: retired key file")
    assert str(broken) in error and "Traceback" not in error
