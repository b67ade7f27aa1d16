"""`proctor audit export` with the API's filters: the bundle holds exactly the chosen
sessions' whole chains, verifies offline, and its signed manifest says what was chosen.

The sessions are real engine sessions recorded through `AuditLog` with a stepping clock, so
their start times are known to the second and the date boundaries can be tested exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from audit import RecordStore, SigningKey, open_record_store, verify_bundle
from cli.home import ProctorHome
from cli.main import main
from engine import SteppingClock
from policies.models import Speaker
from tests.audit.sessions import GOOD, POLICY, REPLY, record_session

OTHER_POLICY = POLICY.replace("policy: report-rules", "policy: other-rules").replace(
    "version: 2", "version: 1"
)
# id -> (learner, policy text, first record's time): recorded in this order.
SESSIONS: dict[str, tuple[str, str, datetime]] = {
    "s1": ("L-a", POLICY, datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
    "s2": ("L-b", POLICY, datetime(2026, 3, 2, 23, 59, 0, tzinfo=UTC)),
    "s3": ("L-a", POLICY.replace("version: 2", "version: 3"), datetime(2026, 3, 3, tzinfo=UTC)),
    "s4": ("L-b", OTHER_POLICY, datetime(2026, 3, 5, 8, 30, tzinfo=UTC)),
}


def record_all(store: RecordStore, key: SigningKey) -> None:
    for session_id, (learner, policy, start) in SESSIONS.items():
        record_session(
            store,
            key,
            [(Speaker.learner, GOOD), (Speaker.persona, REPLY)],
            session_id=session_id,
            learner=learner,
            policy=policy,
            log_clock=SteppingClock(start),
        )


@pytest.fixture
def home(proctor_home: Path) -> ProctorHome:
    """A Proctor home whose SQLite audit log holds the four SESSIONS."""
    made = ProctorHome.from_environment().ensure()
    with open_record_store(made.audit_db) as store:
        record_all(store, SigningKey.load_or_create(made.signing_key))
    return made


@dataclass(frozen=True)
class Exported:
    sessions: set[str]
    filters: dict[str, Any] | None  # the manifest's selection filters; None: whole log
    records: int
    stdout: str


def export(args: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> Exported:
    """Run the CLI export, verify the bundle offline and read its manifest."""
    assert main(["audit", "export", "--out", str(out), *args]) == 0, capsys.readouterr().err
    stdout = capsys.readouterr().out
    report = verify_bundle(out)
    assert report.ok, report.problems
    manifest = json.loads((out / "MANIFEST.json").read_text())
    selection = manifest.get("selection")
    assert report.sessions == len(manifest["sessions"])
    assert f"{report.records_checked} records of {report.sessions} session(s)" in stdout
    return Exported(
        set(manifest["sessions"]),
        None if selection is None else selection["filters"],
        report.records_checked,
        stdout,
    )


@pytest.mark.parametrize(
    ("args", "sessions", "filters"),
    [
        (["--learner", "L-a"], {"s1", "s3"}, {"learner": "L-a"}),
        (["--session", "s2"], {"s2"}, {"session_id": "s2"}),
        (["--session", "s4", "--session", "s1"], {"s1", "s4"}, {"session_id": "s1,s4"}),
        (["--policy", "report-rules"], {"s1", "s2", "s3"}, {"policy_id": "report-rules"}),
        (["--policy-version", "3"], {"s3"}, {"policy_version": 3}),
        (
            ["--policy", "report-rules", "--policy-version", "2", "--learner", "L-b"],
            {"s2"},
            {"policy_id": "report-rules", "policy_version": 2, "learner": "L-b"},
        ),
        (["--from", "2026-03-03"], {"s3", "s4"}, {"since": "2026-03-03T00:00:00.000000Z"}),
        (["--to", "2026-03-01"], {"s1"}, {"until": "2026-03-02T00:00:00.000000Z"}),
        (  # one whole day: 23:59 is in it, the next midnight is not
            ["--from", "2026-03-02", "--to", "2026-03-02"],
            {"s2"},
            {"since": "2026-03-02T00:00:00.000000Z", "until": "2026-03-03T00:00:00.000000Z"},
        ),
        (  # RFC 3339 times: an offset is converted, `--to` a time is exclusive
            ["--from", "2026-03-02T23:00:00+01:00", "--to", "2026-03-03T00:00:00Z"],
            {"s2"},
            {"since": "2026-03-02T22:00:00.000000Z", "until": "2026-03-03T00:00:00.000000Z"},
        ),
        (["--from", "2026-03-03T00:00:00"], {"s3", "s4"}, {"since": "2026-03-03T00:00:00.000000Z"}),
    ],
)
def test_each_filter_exports_exactly_the_matching_sessions(
    home: ProctorHome,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    sessions: set[str],
    filters: dict[str, object],
) -> None:
    exported = export(args, tmp_path / "bundle", capsys)
    assert exported.sessions == sessions
    assert exported.filters == filters


def test_a_filtered_bundle_holds_each_session_whole(
    home: ProctorHome, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = export([], tmp_path / "all", capsys)
    assert whole.filters is None and whole.sessions == set(SESSIONS)
    per_session = {
        session_id: export(["--session", session_id], tmp_path / session_id, capsys).records
        for session_id in SESSIONS
    }
    assert sum(per_session.values()) == whole.records
    both = export(["--learner", "L-b"], tmp_path / "learner", capsys)
    assert both.records == per_session["s2"] + per_session["s4"]
    assert f"{both.records} records of 2 session(s) exported" in both.stdout


def test_a_filtered_zip_verifies(
    home: ProctorHome, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "evidence.zip"
    assert main(["audit", "export", "--out", str(archive), "--learner", "L-a"]) == 0
    assert "of 2 session(s) exported" in capsys.readouterr().out
    report = verify_bundle(archive)
    assert report.ok, report.problems
    assert report.sessions == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--learner", "nobody"], "error: no session matches the filters (learner=nobody)"),
        (
            ["--learner", "L-a", "--policy", "other-rules"],
            "error: no session matches the filters (learner=L-a, policy_id=other-rules)",
        ),
        (["--from", "2026-04-01"], "error: no session matches the filters (since=2026-04-01"),
        (["--session", "s1", "--session", "nope"], "error: no session nope in the audit log"),
        (["--from", "2026-03-02", "--to", "2026-03-01"], "error: --from must be before --to"),
    ],
)
def test_no_match_is_a_one_line_error_and_no_bundle(
    home: ProctorHome,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    out = tmp_path / "bundle"
    assert main(["audit", "export", "--out", str(out), *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(message) and captured.err.count("\n") == 1
    assert captured.out == ""
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--from", "2026-13-01"], "--from"),
        (["--from", "yesterday"], "--from"),
        (["--to", "2026-02-30"], "--to"),
        (["--to", "2026-03-01T25:00:00Z"], "--to"),
        (["--to", "20260301"], "--to"),
        (["--policy-version", "0"], "--policy-version"),
    ],
)
def test_a_bad_value_names_its_flag_and_exits_2(
    home: ProctorHome,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    flag: str,
) -> None:
    out = tmp_path / "bundle"
    with pytest.raises(SystemExit) as stopped:
        main(["audit", "export", "--out", str(out), *args])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {flag}: '{args[1]}' is not" in err
    assert "Traceback" not in err and not out.exists()


def test_a_home_without_a_log_is_a_clear_error(
    proctor_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "export", "--out", str(tmp_path / "b"), "--learner", "L-a"]) == 2
    assert "error: cannot export: no audit log at" in capsys.readouterr().err


def test_database_url_exports_from_postgres(
    proctor_home: Path, postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ProctorHome.from_environment().ensure()
    with open_record_store(postgres_url) as store:
        record_all(store, SigningKey.load_or_create(home.signing_key))
    args = ["--database", postgres_url, "--learner", "L-b", "--to", "2026-03-04"]
    exported = export(args, tmp_path / "bundle", capsys)
    assert exported.sessions == {"s2"}
    assert not home.audit_db.exists()  # read from PostgreSQL, no SQLite log made
