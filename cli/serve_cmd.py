"""`proctor serve` runs the service; `proctor keys` issues and revokes its API keys."""

from __future__ import annotations

import argparse
import sys

from cli.home import ProctorHome
from server.auth import ApiKeyStore, Role
from server.config import ServerConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from server import create_app

    config = ServerConfig(ProctorHome.from_environment().root)
    print(f"Proctor on http://{args.host}:{args.port} (API docs at /docs); data in {config.root}")
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning")
    return 0


def add_key_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="keys_command", required=True)
    create = commands.add_parser("create", help="issue an API key (shown once)")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--subject", required=True, help="pseudonymous learner or staff id")
    revoke = commands.add_parser("revoke", help="revoke an API key by its id")
    revoke.add_argument("key_id")


def run_keys(args: argparse.Namespace) -> int:
    config = ServerConfig(ProctorHome.from_environment().root).ensure()
    store = ApiKeyStore(config.service_db)
    try:
        if args.keys_command == "create":
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
