"""`proctor serve` runs the service; `proctor keys` issues and revokes its API keys."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cli.audit_keys_cmd import rotate_audit_key
from cli.home import ProctorHome
from server.auth import ApiKeyStore, Role
from server.config import ServerConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000)
    _add_database_argument(parser)
    parser.add_argument(
        "--webhooks",
        metavar="FILE",
        type=Path,
        help="YAML file of escalation webhook endpoints by channel (see docs/webhooks.md)",
    )
    parser.add_argument(
        "--audit-writer",
        choices=["process", "in-process"],
        default="process",
        help="who signs and commits audit records: a child process of their own (default), "
        "or the sessions' threads in this process",
    )


def run(args: argparse.Namespace) -> int:
    from audit import AuditError
    from policies.documents import DocumentError
    from server import create_app
    from server.service_db import ServiceDatabaseError
    from server.serving import serve
    from server.webhook_config import load_webhooks

    try:
        webhooks = load_webhooks(args.webhooks, os.environ) if args.webhooks else {}
        config = ServerConfig(
            ProctorHome.from_environment().root,
            webhooks=webhooks,
            database_url=args.database,
            audit_writer=args.audit_writer,
        )
        app = create_app(config)
    except (DocumentError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (AuditError, ServiceDatabaseError) as error:
        print(f"error: cannot open the service's databases: {error}", file=sys.stderr)
        return 2
    where = "PostgreSQL" if config.database_url else str(config.root)
    channels = ", ".join(sorted(webhooks)) or "none"
    print(
        f"Proctor on http://{args.host}:{args.port} (API docs at /docs); data in {where}; "
        f"webhook channels: {channels}"
    )
    serve(app, args.host, args.port)
    return 0


def _add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        metavar="URL",
        default=os.environ.get("PROCTOR_DATABASE_URL"),
        help="postgresql://... for the audit log, outbox, API keys and policies "
        "(default: SQLite files in the Proctor home; env PROCTOR_DATABASE_URL)",
    )


def add_key_arguments(parser: argparse.ArgumentParser) -> None:
    _add_database_argument(parser)
    commands = parser.add_subparsers(dest="keys_command", required=True)
    create = commands.add_parser("create", help="issue an API key (shown once)")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--subject", required=True, help="pseudonymous learner or staff id")
    create.add_argument(
        "--team", help="the learner's team, for trends per team (moves them from any other)"
    )
    revoke = commands.add_parser("revoke", help="revoke an API key by its id")
    revoke.add_argument("key_id")
    commands.add_parser(
        "rotate-audit-key",
        help="replace the audit signing key; its public key is kept so old records verify",
    )


def _assign_team(config: ServerConfig, role: Role, learner: str, team: str) -> str | None:
    """Put a learner in a team before their key is issued; the reason it cannot, if not."""
    from server.teams import TeamDirectory

    if role is not Role.learner:
        return "--team is for learners: trends are per team of learners"
    directory = TeamDirectory.open(config.service_location)
    try:
        directory.assign(learner, team)
    except ValueError as error:
        return str(error)
    finally:
        directory.close()
    return None


def run_keys(args: argparse.Namespace) -> int:
    from server.service_db import ServiceDatabaseError

    if args.keys_command == "rotate-audit-key":
        return rotate_audit_key(ProctorHome.from_environment().root)
    try:
        config = ServerConfig(ProctorHome.from_environment().root, database_url=args.database)
        store = ApiKeyStore.open(config.ensure().service_location)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ServiceDatabaseError as error:
        print(f"error: cannot open the service database: {error}", file=sys.stderr)
        return 2
    try:
        if args.keys_command == "create":
            if args.team is not None:
                refused = _assign_team(config, Role(args.role), args.subject, args.team)
                if refused:
                    print(f"error: {refused}", file=sys.stderr)
                    return 2
            principal, key = store.create(Role(args.role), args.subject)
            print(key)
            print(
                f"key {principal.key_id}: {principal.role.value} {principal.subject!r} "
                "(shown once; only its hash is kept)",
                file=sys.stderr,
            )
            return 0
        if store.revoke(args.key_id):
            print(f"revoked {args.key_id}")
            return 0
        print(f"error: no active key with id {args.key_id!r}", file=sys.stderr)
        return 2
    finally:
        store.close()
