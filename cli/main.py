"""The `proctor` command.

Each subcommand's module is imported only when that subcommand runs: together they load
the engine, the evaluators, the model code and the service, about a second that
`proctor audit verify` on an auditor's machine has no use for.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

Command = Callable[[argparse.Namespace], int]


class Subcommand(NamedTuple):
    module: str
    help: str
    add_arguments: str = "add_arguments"
    run: str = "run"


SUBCOMMANDS: dict[str, Subcommand] = {
    "demo": Subcommand(
        "cli.demo", "stream a sample role-play through the live loop and verify its evidence"
    ),
    "policy": Subcommand(
        "cli.policy_cmd", "lint or test a policy, or print the policy JSON Schema"
    ),
    "practice": Subcommand(
        "cli.practice_cmd", "practise a scenario against the persona in the terminal"
    ),
    "kb": Subcommand("cli.kb_cmd", "ingest documents into a knowledge base, or search it"),
    "evaluate": Subcommand(
        "cli.evaluate_cmd", "evaluate a recorded transcript; findings and score as JSON"
    ),
    "audit": Subcommand("cli.audit_cmd", "verify or export signed evidence bundles"),
    "serve": Subcommand("cli.serve_cmd", "run the Proctor service (REST, WebSocket, SSE)"),
    "keys": Subcommand(
        "cli.serve_cmd",
        "issue or revoke API keys for the service",
        add_arguments="add_key_arguments",
        run="run_keys",
    ),
}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for `argv`: every subcommand is listed, and the one `argv` names (the
    first word that is not an option) gets its arguments and handler."""
    parser = argparse.ArgumentParser(
        prog="proctor",
        description="Compliance guardrails, scoring and signed evidence for role-play training.",
    )
    chosen = next((word for word in argv if not word.startswith("-")), None)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, subcommand in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=subcommand.help, description=subcommand.help)
        if name == chosen:
            module = importlib.import_module(subcommand.module)
            getattr(module, subcommand.add_arguments)(sub)
            sub.set_defaults(handler=getattr(module, subcommand.run))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(words).parse_args(words)
    handler: Command = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
