"""`proctor audit export`: the whole log, or the chosen sessions, as a signed bundle.

The filters are the HTTP API's (`audit.session_filter`, matched against the same session
index), so an auditor working offline on a copy of the store gets exactly the bundle the
service would have given: with any filter, the complete record chains of the matching
sessions, and a manifest naming those sessions and the filters. A filter that matches
nothing is an error rather than an empty bundle, which could be mistaken for evidence that
nothing happened.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from pathlib import Path

from audit import AuditError, BundleSummary, RecordStore, SigningKey, export_bundle
from audit.bundle import zip_bundle
from audit.keyring import load_retired_keys, retired_keys_dir
from audit.session_filter import SessionFilter
from audit.session_index import SessionIndex
from cli.audit_store import add_database_argument, open_audit_store
from cli.filter_values import day_end, day_start, positive_int
from cli.home import ProctorHome

AUDIT_ORIGIN = "proctor.local/audit"
EXIT_USAGE = 2


class ExportRefused(Exception):
    """The export cannot be made as asked: the message is the whole explanation."""


def add_export_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export",
        help="export the audit log, or chosen sessions, to a bundle",
        description="Without filters, export the whole log. With any filter, export the "
        "complete record chains of the sessions matching all of them; the signed manifest "
        "lists those sessions and the filters. Dates compare with a session's start, in UTC.",
    )
    export.add_argument(
        "--out", type=Path, required=True, help="a new directory, or a file name ending in .zip"
    )
    export.add_argument(
        "--from",
        dest="since",
        type=day_start,
        metavar="DATE",
        help="sessions started at or after this: YYYY-MM-DD (from 00:00 UTC) or an RFC 3339 "
        "time (no zone means UTC)",
    )
    export.add_argument(
        "--to",
        dest="until",
        type=day_end,
        metavar="DATE",
        help="sessions started on or before this day (YYYY-MM-DD, the whole day, UTC), or "
        "before this RFC 3339 time (exclusive, as the API's `until`)",
    )
    export.add_argument("--learner", metavar="ID", help="the pseudonymous learner id")
    export.add_argument(
        "--session",
        dest="sessions",
        action="append",
        metavar="ID",
        help="a session id (repeatable: any of them); an id not in the log is an error",
    )
    export.add_argument("--policy", dest="policy_id", metavar="ID", help="the policy id")
    export.add_argument(
        "--policy-version", type=positive_int, metavar="N", help="the policy version"
    )
    add_database_argument(export)


def run_export(args: argparse.Namespace) -> int:
    chosen = SessionFilter(
        learner=args.learner,
        policy_id=args.policy_id,
        policy_version=args.policy_version,
        since=args.since,
        until=args.until,
        session_ids=None if args.sessions is None else frozenset(args.sessions),
    )
    home = ProctorHome.from_environment()
    out: Path = args.out
    try:
        since, until = chosen.since, chosen.until
        if since is not None and until is not None and since >= until:
            raise ExportRefused("--from must be before --to: no session can match")
        with open_audit_store(args.database, home) as store:
            summary = _export(store, home, chosen, out)
    except ExportRefused as refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return EXIT_USAGE
    except AuditError as error:  # an unusable key file, a store or bundle problem
        print(f"error: cannot export: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{out}: {summary.count} records of {summary.sessions} session(s) exported")
    return 0


def _export(
    store: RecordStore, home: ProctorHome, chosen: SessionFilter, out: Path
) -> BundleSummary:
    """Export what `chosen` selects, signed with the home's key, with the public keys of
    every earlier key that signed records (else the bundle could not be verified)."""
    head: int | None = None  # None: up to the store's head, as the export reads it
    sessions: list[str] | None = None  # None: the whole log, no selection in the manifest
    if not chosen.is_empty():
        head, sessions = _select(store, chosen)
    export = functools.partial(
        export_bundle,
        store,
        SigningKey.load_or_create(home.signing_key),
        origin=AUDIT_ORIGIN,
        last_seq=head,
        record_keys=load_retired_keys(retired_keys_dir(home.signing_key)),
        sessions=sessions,
        filters=None if sessions is None else chosen.as_manifest_filters(),
    )
    if out.suffix.lower() != ".zip":
        return export(out)
    with tempfile.TemporaryDirectory(prefix="proctor-export-") as folder:
        summary = export(Path(folder) / "bundle")
        zip_bundle(summary.path, out)
    return summary


def _select(store: RecordStore, chosen: SessionFilter) -> tuple[int, list[str]]:
    """The log's head and the ids of the sessions `chosen` matches, in the order they
    started; `ExportRefused` if a named session is not in the log or nothing matches."""
    index = SessionIndex()
    _, every = index.refresh(store)
    unknown = (chosen.session_ids or frozenset()) - {s.session_id for s in every}
    if unknown:
        raise ExportRefused(f"no session {', '.join(sorted(unknown))} in the audit log")
    head, found = index.matching(store, chosen)
    if not found:
        asked = ", ".join(f"{k}={v}" for k, v in chosen.as_manifest_filters().items())
        raise ExportRefused(f"no session matches the filters ({asked}); nothing exported")
    return head, [session.session_id for session in found]
