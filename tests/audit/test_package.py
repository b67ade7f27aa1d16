"""The package boundary: public names, and no imports from the rest of the project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import audit

PROJECT_PACKAGES = {"engine", "policies", "knowledge_base", "evaluators", "server", "cli"}


def test_public_names_resolve() -> None:
    missing = [name for name in audit.__all__ if not hasattr(audit, name)]
    assert missing == []
    assert len(set(audit.__all__)) == len(audit.__all__)


def test_audit_imports_nothing_else_from_the_project() -> None:
    # A fresh interpreter, so modules other tests imported do not count.
    script = (
        "import json, sys, audit, audit.verify, audit.bundle\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=repo, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert loaded & PROJECT_PACKAGES == set()
    assert "audit" in loaded
