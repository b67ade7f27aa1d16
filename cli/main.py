"""The `proctor` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from cli import audit_cmd, demo, evaluate_cmd, kb_cmd, policy_cmd, practice_cmd, serve_cmd

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="proctor",
        description="Compliance guardrails, scoring and signed evidence for role-play training.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, module, text in (
        ("demo", demo, "stream a sample role-play through the live loop and verify its evidence"),
        ("policy", policy_cmd, "lint or test a policy, or print the policy JSON Schema"),
        ("practice", practice_cmd, "practise a scenario against the persona in the terminal"),
        ("kb", kb_cmd, "ingest documents into a knowledge base, or search it"),
        ("evaluate", evaluate_cmd, "evaluate a recorded transcript; findings and score as JSON"),
        ("audit", audit_cmd, "verify or export signed evidence bundles"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    serve = commands.add_parser("serve", help="run the Proctor service (REST, WebSocket, SSE)")
    serve_cmd.add_arguments(serve)
    serve.set_defaults(handler=serve_cmd.run)
    keys = commands.add_parser("keys", help="issue or revoke API keys for the service")
    serve_cmd.add_key_arguments(keys)
    keys.set_defaults(handler=serve_cmd.run_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
