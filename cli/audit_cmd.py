"""`proctor audit verify|export|erase`: what an auditor runs, offline; and erasure."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from audit import verify_bundle
from audit.problems import ExitStatus
from cli.audit_erase import add_erase_arguments, run_erase
from cli.audit_export import add_export_arguments, run_export

EXIT_FAILED = 1

VERIFY_EXIT_CODES = """\
exit status (one per class of failure; with several, the first in this list wins):
  1  records altered, missing, duplicated, reordered or forged; session chains cut
     (record-*, seq-gap, session-chain, range-mismatch, sessions-mismatch, ...)
  6  history rewritten: the bundle's log forks from, rolls back or does not extend
     the trusted checkpoint (checkpoint-fork, checkpoint-rollback,
     checkpoint-inconsistent)
  5  the log's own evidence: checkpoints or proofs missing, unsigned, or not matching
     the records (checkpoint-missing/-malformed/-signature/-mismatch, proof-*)
  4  keys: a key file malformed, misnamed or not trusted (key-*)
  3  the bundle: not a bundle, manifest missing or not validly signed, files missing,
     altered or added (bundle-missing, manifest-*, file-*)
  7  the trusted checkpoint is unreadable, of another log, or not signed by a key of
     the bundle (trusted-checkpoint-invalid)
  8  the verifier itself failed (verify-error)
  0  everything verified; 2 is a usage error

Keep log/checkpoints/<size>.note of the largest size from each bundle you verify and
pass it as --trusted-checkpoint next time: a later bundle must extend that history.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="audit_command", required=True)
    verify = commands.add_parser(
        "verify",
        help="verify an evidence bundle offline",
        epilog=VERIFY_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    verify.add_argument(
        "--trusted-checkpoint",
        type=Path,
        metavar="FILE",
        help="a checkpoint of the log (signed note) saved from an earlier bundle: the "
        "bundle's log must extend it (same size, same root; larger, consistent)",
    )
    add_export_arguments(commands)
    add_erase_arguments(commands)


def run(args: argparse.Namespace) -> int:
    if args.audit_command == "erase":
        return run_erase(args)
    if args.audit_command == "export":
        return run_export(args)
    trusted_checkpoint = None
    if args.trusted_checkpoint is not None:
        try:
            trusted_checkpoint = args.trusted_checkpoint.read_bytes()
        except OSError as exc:
            print(
                f"{args.trusted_checkpoint}: cannot read the trusted checkpoint: "
                f"{exc.strerror or exc}",
                file=sys.stderr,
            )
            return ExitStatus.TRUSTED_CHECKPOINT
    report = verify_bundle(
        args.bundle, trusted_keyids=args.trusted_key, trusted_checkpoint=trusted_checkpoint
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif report.ok:
        print(
            f"{args.bundle}: OK — {report.records_checked} records, {report.sessions} sessions, "
            "every signature, sequence number, session chain and checkpoint verified"
        )
    else:
        for problem in report.problems:
            print(f"{args.bundle}: {problem}", file=sys.stderr)
        print(f"{args.bundle}: FAILED — {len(report.problems)} problem(s)", file=sys.stderr)
    return int(report.exit_status)
