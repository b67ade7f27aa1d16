"""Readable views in an export bundle: an HTML report and xAPI statements per session.

The bundle's evidence is ``log/records.jsonl``; the views are derived from it at export
time so that an auditor can read a session without Proctor (``report/<session>.html``, plus
``report/index.html`` listing every session) and an LMS can import its statements
(``xapi/<session>.json``). They are ordinary bundle files: the manifest lists their
SHA-256 like any other, so the verifier notices if one is altered, added or removed.

Each record line is decoded with the export's keys before it is shown, so a view never
presents a record whose signature did not check out. Lines are read once, in order, and a
session is rendered as soon as its ``session.ended`` record is read, so memory holds only
the sessions still open at that point of the log, not the whole export.

A session gets views only when its chain starts in the bundle with ``session.started``
(session seq 0): a report that began mid-session would lack the learner, the policy and
the earlier turns. Such sessions, and sessions with a record that failed to verify, are
listed in the index with the reason, but only if at least one session has a report: a
bundle without any Proctor session (a raw range of the log) gets no report folder.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from audit.content_read import rehydrated
from audit.dsse import parse_envelope
from audit.errors import RecordError
from audit.fsutil import fsync_dir, write_new_file
from audit.keys import PublicKey
from audit.manifest import RECORDS_PATH
from audit.records import decode_record, record_digest
from audit.report import render_session_report
from audit.report_index import IndexRow, render_index
from audit.report_model import ReportRecord
from audit.xapi_files import session_file_stem, statements_file

REPORT_DIR: Final = "report"
XAPI_DIR: Final = "xapi"
INDEX_PATH: Final = f"{REPORT_DIR}/index.html"


@dataclass(slots=True)
class _Open:
    """A session being collected until its end (or the end of the bundle)."""

    records: list[ReportRecord] = field(default_factory=list)

    def continues(self, session_seq: int, prev: str | None) -> bool:
        """True if a record at `session_seq` naming `prev` is the next link of the chain."""
        if not self.records:
            return session_seq == 0 and prev is None
        last = self.records[-1]
        return session_seq == last.payload.session_seq + 1 and prev == last.digest


def session_views(
    lines: Iterator[bytes],
    keys: Mapping[str, PublicKey],
    *,
    origin: str,
    exported_by: str,
    texts: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """(bundle path, bytes) of every view for the record lines of an export, in order.

    `lines` are the bundle's record lines (with or without the trailing newline); `keys`
    the public keys the export accepts; `texts` the sealed learner text of the export
    (commitment -> text, `audit.content`), shown in place of each sealed reference, or
    "[erased]" where it is absent. Yields ``xapi/<stem>.json`` before the
    ``report/<stem>.html`` that links to it, and ``report/index.html`` last if any report
    was made.
    """
    open_sessions: dict[str, _Open] = {}
    rows: dict[str, IndexRow] = {}  # every session seen, in order of first record
    reported = False
    for raw in lines:
        line = raw.rstrip(b"\n")
        try:
            payload = decode_record(line, keys)
        except RecordError as exc:
            # The verifier reports the bad line; no view may show the session it belongs to.
            session_id = _unverified_session_id(line)
            if session_id is not None:
                open_sessions.pop(session_id, None)
                failed = rows.setdefault(session_id, IndexRow(session_id=session_id))
                failed.note = f"a record failed verification at export ({exc.reason})"
            continue
        session_id = payload.session_id
        row = rows.get(session_id)
        if row is None:
            row = rows[session_id] = IndexRow(session_id=session_id)
            if payload.session_seq == 0 and payload.event.get("type") == "session.started":
                open_sessions[session_id] = _Open()
            else:
                row.note = (
                    "no report: the session's first records are not in this bundle"
                    if payload.session_seq
                    else "no report: the session does not begin with session.started"
                )
        collecting = open_sessions.get(session_id)
        if collecting is None:
            continue
        if not collecting.continues(payload.session_seq, payload.prev):
            del open_sessions[session_id]
            row.note = f"no report: the session's chain breaks at record seq {payload.seq}"
            continue
        keyids = tuple(sorted(_signer_ids(line) & keys.keys()))
        if texts is not None:
            payload = payload.model_copy(update={"event": rehydrated(payload.event, texts)})
        collecting.records.append(ReportRecord(payload, record_digest(line), keyids))
        if payload.event.get("type") == "session.ended":
            del open_sessions[session_id]
            yield from _render(row, collecting, origin, exported_by)
            reported = True
    for session_id, collecting in list(open_sessions.items()):
        yield from _render(rows[session_id], collecting, origin, exported_by)
        reported = True
    if reported:
        yield INDEX_PATH, render_index(list(rows.values()), origin=origin).encode("utf-8")


def write_session_views(
    out_dir: Path,
    keys: Mapping[str, PublicKey],
    *,
    origin: str,
    exported_by: str,
    texts: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Write the views of the bundle at `out_dir` (its records file already written).

    Returns bundle path -> SHA-256 for the manifest. Files are created exclusively and
    synced, like every other bundle file.
    """
    written: dict[str, str] = {}
    with (out_dir / RECORDS_PATH).open("rb") as handle:
        views = session_views(
            iter(handle), keys, origin=origin, exported_by=exported_by, texts=texts
        )
        for name, data in views:
            target = out_dir / name
            if not target.parent.is_dir():
                target.parent.mkdir()
            written[name] = write_new_file(target, data)
    for folder in {(out_dir / name).parent for name in written}:
        fsync_dir(folder)
    return written


def _render(
    row: IndexRow, collecting: _Open, origin: str, exported_by: str
) -> Iterator[tuple[str, bytes]]:
    records = collecting.records
    stem = session_file_stem(row.session_id)
    start = records[0].payload
    row.fill_from(records)
    xapi_link: str | None = None
    xapi_note: str | None = None
    try:
        data = statements_file(
            [record.payload.event for record in records],
            [record.digest for record in records],
            origin=origin,
            policy_id=start.policy.id,
            policy_version=start.policy.version,
        )
    except ValueError as exc:
        xapi_note = str(exc)
    else:
        xapi_path = f"{XAPI_DIR}/{stem}.json"
        xapi_link = f"../{xapi_path}"
        row.xapi = xapi_path
        yield xapi_path, data
    report_path = f"{REPORT_DIR}/{stem}.html"
    row.report = report_path
    page = render_session_report(
        records, origin=origin, exported_by=exported_by, xapi_link=xapi_link, xapi_note=xapi_note
    )
    yield report_path, page.encode("utf-8")


def _signer_ids(line: bytes) -> set[str]:
    """Key ids of the signatures on a record line that has just been decoded."""
    envelope = parse_envelope(json.loads(line))
    return {signature["keyid"] for signature in envelope["signatures"]}


def _unverified_session_id(line: bytes) -> str | None:
    """The session id a line claims, read without trusting it (only to withhold views)."""
    try:
        envelope = json.loads(line)
        payload = json.loads(base64.b64decode(envelope["payload"], validate=True))
        session_id = payload["session_id"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    return session_id if isinstance(session_id, str) else None
