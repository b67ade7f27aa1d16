"""`proctor audit erase --learner ID`: erase a learner's recorded words, keep the evidence.

Deletes the sealed text of every session of the learner from the audit store and appends a
signed ``content.erased`` record per session naming what was erased (`audit.erasure`). The
records, their chains and the Merkle log stay verifiable; exports declare the erasure.
Runs against the service's audit store: the SQLite file in the Proctor home, or PostgreSQL
with ``--database`` / ``PROCTOR_DATABASE_URL``, signed with the home's audit key.
"""

from __future__ import annotations

import argparse
import sys

from audit import AuditError, SigningKey
from audit.erasure import erase_learner_content
from cli.audit_store import add_database_argument, open_audit_store
from cli.home import ProctorHome

EXIT_FAILED = 1


def add_erase_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    erase = commands.add_parser(
        "erase",
        help="erase a learner's recorded words; the signed log records the erasure",
        description="Erase the learner's sealed text from every session of theirs and "
        "append a signed content.erased record per session; records stay verifiable.",
    )
    erase.add_argument("--learner", required=True, help="the pseudonymous learner id")
    erase.add_argument("--reason", help="why, recorded in the erasure record (no personal data)")
    add_database_argument(erase)


def run_erase(args: argparse.Namespace) -> int:
    home = ProctorHome.from_environment()
    learner: str = args.learner
    try:
        with open_audit_store(args.database, home) as store:
            key = SigningKey.load_or_create(home.signing_key)
            summary = erase_learner_content(store, key, learner, reason=args.reason)
    except AuditError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    sessions = len(summary.sessions)
    if not summary.records:
        print(f"learner {learner}: {sessions} session(s), no stored text left to erase")
        return 0
    seqs = ", ".join(map(str, summary.records))
    print(
        f"learner {learner}: erased {summary.commitments} text(s) in "
        f"{len(summary.erased)} of {sessions} session(s); erasure record seq {seqs}"
    )
    return 0
