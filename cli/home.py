"""Proctor's home directory: keys, databases and bundles live under one folder.

`$PROCTOR_HOME` when set, else `~/.proctor`. Everything Proctor keeps between runs is here, so
one folder is what to back up, move or wipe.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class ProctorHome:
    root: Path

    @classmethod
    def from_environment(cls) -> ProctorHome:
        configured = os.environ.get("PROCTOR_HOME")
        root = Path(configured).expanduser() if configured else Path.home() / ".proctor"
        return cls(root)

    def ensure(self) -> ProctorHome:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    @property
    def signing_key(self) -> Path:
        return self.root / "keys" / "audit-signing.key"

    @property
    def audit_db(self) -> Path:
        return self.root / "audit.sqlite3"

    def new_bundle_dir(self, label: str) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return self.root / "bundles" / f"{stamp}-{label}"
