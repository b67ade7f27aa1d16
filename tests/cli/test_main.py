"""The `proctor` entry point loads only the subcommand it runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cli.main import SUBCOMMANDS, build_parser


def loaded_after(argv: list[str]) -> set[str]:
    """Module names imported by building the parser for `argv`, in a fresh interpreter."""
    script = (
        "import json, sys\n"
        "from cli.main import build_parser\n"
        f"build_parser({argv!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


def test_audit_commands_load_neither_the_service_nor_the_engine() -> None:
    loaded = loaded_after(["audit", "verify", "bundle"])
    assert "cli.audit_cmd" in loaded
    assert not {"fastapi", "server.app", "engine.session", "cli.demo", "torch"} & loaded


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_parses_its_own_arguments(name: str) -> None:
    parser = build_parser([name])
    with pytest.raises(SystemExit) as shown:
        parser.parse_args([name, "--help"])
    assert shown.value.code == 0


def test_an_unknown_subcommand_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as refused:
        build_parser(["nosuch"]).parse_args(["nosuch"])
    assert refused.value.code == 2
