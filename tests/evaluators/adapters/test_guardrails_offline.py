"""guardrails-ai through the adapter makes no network connection: no metrics export, no remote
inference, no LiteLLM price list, whatever ~/.guardrailsrc says, from import on.

The last test is the control: the same harness, with guardrails-ai used directly, does catch
its metrics exporter, so an empty list of attempts above means something.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.network import BLOCK_SOCKETS

pytest.importorskip("guardrails")

from guardrails import Guard, settings
from guardrails.utils.hub_telemetry_utils import HubTelemetry

from evaluators.adapters.guardrails_ai import (
    ProctorPolicyValidator,
    configure_guardrails_offline,
)
from policies import pack_path
from tests.evaluators.adapters.validators import BannedWords

REPO = Path(__file__).resolve().parents[3]
RC_ASKING_FOR_EVERYTHING = "enable_metrics=true\nuse_remote_inferencing=true\nid=someone\n"


@pytest.fixture
def home_asking_for_metrics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".guardrailsrc").write_text(RC_ASKING_FOR_EVERYTHING)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.mark.usefixtures("home_asking_for_metrics")
def test_guards_and_validators_stay_offline_even_when_metrics_are_asked_for(
    no_network: list[str],
) -> None:
    configure_guardrails_offline()
    guard = Guard().use(
        ProctorPolicyValidator(pack_path("pharma") / "policy.yaml", on_fail="noop"),
        BannedWords(words=["Cardiozen"], on_fail="noop"),
    )
    guard.configure(allow_metrics_collection=True)
    outcome = guard.validate("Unlike Cardiozen it has no side effects.")
    assert outcome.validation_passed is False
    assert settings.rc.enable_metrics is False
    assert settings.rc.use_remote_inferencing is False
    assert settings.use_server is False
    telemetry = HubTelemetry()
    assert telemetry._tracer is None and telemetry._tracer_provider is None
    assert no_network == []


_FRESH_PROCESS = BLOCK_SOCKETS + """
import atexit, sys
# Registered first, so it runs last: after the exit hooks that flush span exporters.
atexit.register(lambda: print("attempts:", attempts, flush=True))

from evaluators.adapters.guardrails_ai import ProctorPolicyValidator, ValidatorCheck
from guardrails import Guard
from policies import pack_path, parse_policy
from tests.evaluators.adapters.validators import BannedWords

rule = parse_policy(sys.argv[1]).guardrails[0]
print("check:", [b.detail for b in ValidatorCheck(rule).check("Cardiozen is old news")])
guard = Guard().use(
    ProctorPolicyValidator(pack_path("pharma") / "policy.yaml", on_fail="noop"),
    BannedWords(words=["Cardiozen"], on_fail="noop"),
)
guard.configure(allow_metrics_collection=True)
for _ in range(3):
    outcome = guard.validate("Unlike Cardiozen it has no side effects.")
print("guard passed:", outcome.validation_passed)
import asyncio
print("event loop policy:", type(asyncio.get_event_loop_policy()).__module__)
import litellm  # with no local price list set, importing it fetches one
"""

_RULE = """\
format: 1
policy: fresh
version: 1
guardrails:
  - id: no-competitor-names
    kind: guardrails_ai
    validator: "tests.evaluators.adapters.validators:BannedWords"
    arguments: {words: [Cardiozen]}
"""


def _environment(home: Path) -> dict[str, str]:
    """This machine's environment with nothing that would switch anything off already."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LITELLM_", "GUARDRAILS_", "OTEL_"))
    }
    environment["HOME"] = str(home)
    return environment


def test_a_fresh_process_makes_no_connection_from_import_to_exit(tmp_path: Path) -> None:
    (tmp_path / ".guardrailsrc").write_text(RC_ASKING_FOR_EVERYTHING)
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, _RULE],
        cwd=REPO,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [
        "check: [\"banned word 'Cardiozen'\"]",
        "guard passed: False",
        "event loop policy: asyncio.unix_events",
        "attempts: []",
    ], result.stderr[-3000:]


_WITHOUT_THE_ADAPTER = BLOCK_SOCKETS + """
import os

from guardrails import Guard
from guardrails.utils.hub_telemetry_utils import HubTelemetry
from tests.evaluators.adapters.validators import BannedWords

Guard().use(BannedWords(words=["Cardiozen"], on_fail="noop")).validate("Cardiozen")
HubTelemetry()._tracer_provider.force_flush(2000)
print("attempts:", sorted(set(attempts)), flush=True)
os._exit(0)  # skip the exporter's retries at exit
"""


def test_control_the_same_harness_catches_guardrails_default_metrics_export(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_THE_ADAPTER],
        cwd=REPO,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "attempts: ['getaddrinfo']", result.stderr[-3000:]


def test_every_guard_keeps_metrics_off_after_the_rc_file_is_reread(
    home_asking_for_metrics: Path,
) -> None:
    configure_guardrails_offline()
    for _ in range(2):
        guard = Guard()
        assert guard._allow_metrics_collection is False
        assert settings.rc.enable_metrics is False


def test_proctor_and_the_adapter_package_import_no_guardrails_until_used() -> None:
    code = (
        "import sys, engine, evaluators, policies, evaluators.adapters.guardrails_ai\n"
        "from evaluators import compile_policy\n"
        "from policies import load_policy, pack_path\n"
        "compile_policy(load_policy(pack_path('pharma') / 'policy.yaml'))\n"
        "print(sorted(m for m in ('guardrails', 'guardrails_ai', 'litellm') if m in sys.modules))\n"
        "evaluators.adapters.guardrails_ai.ProctorPolicyValidator\n"
        "print('guardrails' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ["[]", "True"]
