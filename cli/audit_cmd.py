"""`proctor audit verify|export|erase`: what an auditor runs, offline; and erasure."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from audit import SigningKey, SQLiteRecordStore, export_bundle, verify_bundle
from audit.bundle import zip_bundle
from audit.keyring import load_retired_keys, retired_keys_dir
from cli.audit_erase import add_erase_arguments, run_erase
from cli.home import ProctorHome

EXIT_FAILED = 1
AUDIT_ORIGIN = "proctor.local/audit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="audit_command", required=True)
    verify = commands.add_parser("verify", help="verify an evidence bundle offline")
    verify.add_argument(
        "bundle", type=Path, help="a bundle directory, or a .zip of one (as the API exports)"
    )
    verify.add_argument("--json", action="store_true", help="machine-readable report")
    verify.add_argument(
        "--trusted-key",
        action="append",
        metavar="KEYID",
        help="accept only records signed by this key id (repeatable); without it a bundle "
        "is checked against the keys it carries, which proves integrity but not origin",
    )
    export = commands.add_parser("export", help="export the audit log to a bundle directory")
    export.add_argument(
        "--out", type=Path, required=True, help="a new directory, or a file name ending in .zip"
    )
    add_erase_arguments(commands)


def run(args: argparse.Namespace) -> int:
    if args.audit_command == "erase":
        return run_erase(args)
    if args.audit_command == "export":
        home = ProctorHome.from_environment().ensure()
        store = SQLiteRecordStore(home.audit_db)
        key = SigningKey.load_or_create(home.signing_key)
        retired = load_retired_keys(retired_keys_dir(home.signing_key))
        out: Path = args.out
        if out.suffix.lower() == ".zip":
            with tempfile.TemporaryDirectory(prefix="proctor-export-") as folder:
                summary = export_bundle(
                    store, key, Path(folder) / "bundle", AUDIT_ORIGIN, record_keys=retired
                )
                zip_bundle(summary.path, out)
        else:
            summary = export_bundle(store, key, out, AUDIT_ORIGIN, record_keys=retired)
        print(f"{out}: {summary.count} records exported")
        return 0
    report = verify_bundle(args.bundle, trusted_keyids=args.trusted_key)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif report.ok:
        print(
            f"{args.bundle}: OK — {report.records_checked} records, {report.sessions} sessions, "
            "every signature, sequence number and session chain verified"
        )
    else:
        for problem in report.problems:
            print(f"{args.bundle}: {problem}", file=sys.stderr)
        print(f"{args.bundle}: FAILED — {len(report.problems)} problem(s)", file=sys.stderr)
    return 0 if report.ok else EXIT_FAILED
