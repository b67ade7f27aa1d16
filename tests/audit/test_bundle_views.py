"""Reports and xAPI statements inside export bundles: written, hashed, verified, withheld.

Sessions are real engine sessions recorded into the log (see tests/audit/sessions.py); the
`store` fixture runs each test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ralph.models.xapi.base.statements import BaseXapiStatement  # type: ignore[import-untyped]

from audit import (
    AuditLog,
    SigningKey,
    SQLiteRecordStore,
    export_bundle,
    session_statements,
    verify_bundle,
)
from audit.bundle_views import session_views
from audit.content import ERASED_TEXT
from audit.erasure import erase_learner_content
from audit.problems import Code
from audit.xapi_files import activity_id, session_file_stem, xapi_home_page
from policies.models import Speaker
from tests.audit.helpers import POLICY, AnyStore, event
from tests.audit.sessions import BREACH, GOOD, LEARNER, record_session, report_records
from tests.audit.test_report import Tree, definitions, section, walk

ORIGIN = "proctor.test/audit"
SESSION = "0b6f4a52-6f0e-4c1e-9a55-2f3c8d7e9a10"


def files_of(bundle: Path) -> list[str]:
    return sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())


def views_of(bundle: Path) -> list[str]:
    """The bundle's report and xAPI files (other parts of the layout are tested elsewhere)."""
    return [name for name in files_of(bundle) if name.startswith(("report/", "xapi/"))]


def test_export_writes_report_and_xapi_listed_in_the_manifest_and_verifies(
    store: AnyStore, key: SigningKey, tmp_path: Path
) -> None:
    record_session(
        store, key, [(Speaker.learner, GOOD), (Speaker.learner, BREACH)], session_id=SESSION
    )
    out = export_bundle(store, key, tmp_path / "out", ORIGIN).path
    files = files_of(out)
    assert {f"report/{SESSION}.html", f"xapi/{SESSION}.json", "report/index.html"} <= set(files)
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert set(manifest["files"]) == set(files) - {"MANIFEST.json"}
    report = verify_bundle(out)
    assert report.ok, report.problems

    statements = json.loads((out / f"xapi/{SESSION}.json").read_text())
    records = report_records(store, key, SESSION)
    home = "https://proctor.test/audit"
    assert statements == session_statements(
        [r.payload.event for r in records],
        actor_account=(home, LEARNER),
        activity_id=f"{home}/policies/report-rules/versions/2",
        record_digests=[r.digest for r in records],
    )
    assert [s["verb"]["display"]["en-US"] for s in statements] == [
        "initialized",
        "failed",
        "completed",
        "terminated",
    ]
    for statement in statements:
        BaseXapiStatement.model_validate(statement)

    page = Tree((out / f"report/{SESSION}.html").read_text())
    meta = definitions(section(page, "h-meta"))
    assert meta["xAPI statements"] == f"../xapi/{SESSION}.json"
    index = Tree((out / "report/index.html").read_text())
    links = {e.attrs["href"] for e in index.all("a")}
    assert links == {f"{SESSION}.html", f"../xapi/{SESSION}.json"}


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (
            lambda out: (out / f"report/{SESSION}.html").write_text("<p>all fine</p>"),
            Code.FILE_HASH,
        ),
        (lambda out: (out / f"xapi/{SESSION}.json").unlink(), Code.FILE_MISSING),
        (lambda out: (out / "report/extra.html").write_text("<p>x</p>"), Code.FILE_UNLISTED),
    ],
)
def test_verifier_notices_altered_missing_or_added_views(
    tmp_path: Path, key: SigningKey, damage: object, code: Code
) -> None:
    with SQLiteRecordStore(tmp_path / "a.sqlite3") as store:
        record_session(store, key, [(Speaker.learner, GOOD)], session_id=SESSION)
        out = export_bundle(store, key, tmp_path / "out", ORIGIN).path
    assert callable(damage)
    damage(out)
    report = verify_bundle(out)
    assert [problem.code for problem in report.problems] == [code.value]


def test_views_withheld_where_they_would_mislead(tmp_path: Path, key: SigningKey) -> None:
    """A learner id like an e-mail gets a report but no xAPI; an unended session gets a
    report saying so; a session whose start is before the exported range gets neither."""
    with SQLiteRecordStore(tmp_path / "a.sqlite3") as store:
        record_session(
            store, key, [(Speaker.learner, GOOD)], session_id="s-mail", learner="jane@example.com"
        )
        record_session(store, key, [(Speaker.learner, GOOD)], session_id="s-open", end=None)
        cut = store.head()
        record_session(store, key, [(Speaker.learner, BREACH)], session_id="s-late")
        whole = export_bundle(store, key, tmp_path / "whole", ORIGIN).path
        tail = export_bundle(store, key, tmp_path / "tail", ORIGIN, first_seq=cut).path
    assert verify_bundle(whole).ok and verify_bundle(tail).ok
    assert views_of(whole) == [
        "report/index.html",
        "report/s-late.html",
        "report/s-mail.html",
        "report/s-open.html",
        "xapi/s-late.json",
    ]
    mail = definitions(section(Tree((whole / "report/s-mail.html").read_text()), "h-meta"))
    assert mail["xAPI statements"] == (
        "none: actor account name looks like an e-mail; use a pseudonymous id"
    )
    opened = definitions(section(Tree((whole / "report/s-open.html").read_text()), "h-meta"))
    assert opened["xAPI statements"] == (
        "none: no session.ended event: statements need an ended session"
    )
    assert "report/s-open.html" not in files_of(tail)  # only its last record is in the range
    assert "report/s-late.html" in files_of(tail)
    index = Tree((tail / "report/index.html").read_text())
    rows = {row.children[0].text: row.children[-1].text for row in index.all("tr")[1:]}
    assert rows["s-open"] == "no report: the session's first records are not in this bundle"


def test_sessions_without_a_recorded_start_get_no_views(
    log: AuditLog, store: AnyStore, tmp_path: Path
) -> None:
    log.append("raw", POLICY, [event(1), event(2)])
    out = export_bundle(store, log.key, tmp_path / "out", ORIGIN).path
    assert not (out / "report").exists() and not (out / "xapi").exists()


def test_a_record_that_fails_verification_withholds_its_session(
    tmp_path: Path, key: SigningKey
) -> None:
    with SQLiteRecordStore(tmp_path / "a.sqlite3") as store:
        record_session(store, key, [(Speaker.learner, GOOD)], session_id="s-good")
        record_session(store, key, [(Speaker.learner, BREACH)], session_id="s-bad")
        lines = [row.line for row in store.records()]
    trusted = {key.public_key.keyid: key.public_key}
    bad_first = next(i for i, line in enumerate(lines) if b'"s-bad"' in _payload(line))
    forged = json.loads(lines[bad_first + 1])
    forged["signatures"][0]["sig"] = "A" * 86 + "=="
    lines[bad_first + 1] = json.dumps(forged, separators=(",", ":")).encode()
    views = dict(session_views(iter(lines), trusted, origin=ORIGIN, exported_by="k"))
    assert set(views) == {"report/s-good.html", "xapi/s-good.json", "report/index.html"}
    index = Tree(views["report/index.html"].decode())
    rows = {row.children[0].text: row.children[-1].text for row in index.all("tr")[1:]}
    assert rows["s-bad"] == "a record failed verification at export (bad-signature)"

    # A record left out of the chain (here: the line is dropped) breaks the chain.
    del lines[bad_first + 1]
    views = dict(session_views(iter(lines), trusted, origin=ORIGIN, exported_by="k"))
    assert "report/s-bad.html" not in views
    index = Tree(views["report/index.html"].decode())
    rows = {row.children[0].text: row.children[-1].text for row in index.all("tr")[1:]}
    assert rows["s-bad"].startswith("no report: the session's chain breaks at record seq")


def _payload(line: bytes) -> bytes:
    import base64

    return base64.b64decode(json.loads(line)["payload"])


@pytest.mark.parametrize(
    ("session_id", "kept"),
    [
        (SESSION, True),
        ("s-1.2", True),
        ("S-upper", False),  # would merge with "s-upper" on a case-insensitive disk
        ("a/b", False),
        ("..", False),
        ("a..b", False),
        (".hidden", False),
        ("trailing.", False),
        ("", False),
        ("x" * 129, False),
    ],
)
def test_session_file_names_are_safe_everywhere(session_id: str, kept: bool) -> None:
    stem = session_file_stem(session_id)
    assert (stem == session_id) is kept
    if not kept:
        assert stem.startswith("_") and len(stem) == 65
    assert session_file_stem("a/b") != session_file_stem("a\\b")


def test_home_page_and_activity_ids() -> None:
    assert xapi_home_page("proctor.local/audit") == "https://proctor.local/audit"
    assert xapi_home_page("https://lrs.example.com/log/") == "https://lrs.example.com/log"
    with pytest.raises(ValueError, match="origin is empty"):
        xapi_home_page(" ")
    assert (
        activity_id("https://h", "p/x", 3, "a b")
        == "https://h/policies/p%2Fx/versions/3/scenarios/a%20b"
    )
    assert activity_id("https://h", "p", 1, None) == "https://h/policies/p/versions/1"


def test_erased_text_is_shown_as_erased_and_never_highlighted(
    tmp_path: Path, key: SigningKey
) -> None:
    with SQLiteRecordStore(tmp_path / "a.sqlite3") as store:
        record_session(store, key, [(Speaker.learner, BREACH)], session_id="s-erased")
        erase_learner_content(store, key, LEARNER, reason="learner asked")
        out = export_bundle(store, key, tmp_path / "out", ORIGIN).path
    assert verify_bundle(out).ok
    page = Tree((out / "report/s-erased.html").read_text())
    (turn,) = page.all("p", **{"class": "said"})
    assert turn.own_text == ERASED_TEXT
    assert not [e for e in walk(turn) if e.tag in ("mark", "a")]
    (meta,) = [e for e in page.all("p", **{"class": "meta"}) if "erased" in e.text]
    assert "text erased since it was recorded" in meta.text
    first = definitions(page.by_id("finding-1"))
    assert first["Matched text"] == ERASED_TEXT and first["Rule"] == "no-guarantees (lexical)"
    assert BREACH not in (out / "report/s-erased.html").read_text()
