from __future__ import annotations

from pathlib import Path

import pytest

from evaluators import PolicyPlan, compile_policy
from policies import load_policy, pack_path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def pharma_plan() -> PolicyPlan:
    return compile_policy(load_policy(pack_path("pharma") / "policy.yaml"))


@pytest.fixture(scope="session")
def investment_plan() -> PolicyPlan:
    return compile_policy(load_policy(pack_path("investment") / "policy.yaml"))


@pytest.fixture
def proctor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("PROCTOR_HOME", str(home))
    return home
