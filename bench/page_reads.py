"""How long the auditor's and officer's page reads take on a log of many past sessions.

Opening a session (`GET /v1/sessions/{id}/evidence`) exports that session's chain as a signed
bundle and runs the offline verifier on it (with the log's Merkle tree kept between openings,
`audit.log_tree`); rule analytics, past flags and trends are read from the session index over
the whole log. The peer, measured in the same run on the same
log, is the session list (`GET /v1/sessions`) the auditor's page has always made.

Set-up: a service on a temporary home (SQLite, the embedded defaults); sessions are run
through the engine (`engine.Session` with `AuditRecorder`, as the service records them) on a
two-rule policy, three learner lines each, started over 90 days, learners in four teams.
Requests go through the whole FastAPI stack with its test client (in process, no socket).
Each read is timed `--samples` times after one warm-up call (which also brings the index up
to date: the index reads new records once, then only what was appended since).

Run: `python -m bench.page_reads` (about 4 minutes); writes `bench/results/page_reads.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from audit import AuditLog, SigningKey, open_record_store
from bench.machine import machine, percentile, reference_work_ms
from engine import FinalUtterance, Session
from engine.planning import plan_policy
from engine.recording import AuditRecorder
from policies import parse_policy
from server import ServerConfig, create_app
from server.auth import Role

RESULTS = Path(__file__).parent / "results"
POLICY = """\
policy: advice
version: 1
guardrails:
  - id: no-guarantee
    severity: violation
    match: {phrases: [guarantee*]}
  - id: no-absolutes
    severity: warning
    match: {phrases: [always, never]}
rubric:
  pass_mark: 0.5
  criteria:
    - {id: claims, weight: 1.0, from_guardrails: [no-guarantee, no-absolutes]}
"""
LINES = (
    "I guarantee the returns.",
    "It always works for clients like you.",
    "Let us look at the risks together.",
    "What are you hoping to achieve?",
    "You will never lose money.",
)
START = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)


def _record_sessions(home: Path, sessions: int, seed: int) -> list[str]:
    """Run `sessions` sessions into the service's audit log before the service starts."""
    config = ServerConfig(home).ensure()
    chance = random.Random(seed)
    plan = plan_policy(parse_policy(POLICY))
    key = SigningKey.load_or_create(config.signing_key)
    moment = [START]
    ids = []
    with open_record_store(config.audit_location) as store:
        log = AuditLog(store, key, clock=lambda: moment[0])
        for n in range(sessions):
            moment[0] = START + timedelta(minutes=n * 90 * 24 * 60 // sessions)
            session = Session(plan, learner=f"L-{n % 40}", recorder=AuditRecorder(log))
            session.start()
            for turn in range(3):
                line = chance.choice(LINES)
                session.ingest(FinalUtterance(utterance_id=f"u{turn}", text=line))
            session.end()
            ids.append(session.session_id)
    return ids


def _timed(call: Callable[[], Any], samples: int) -> dict[str, float]:
    call()  # warm-up
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(percentile(times, 0.5), 1),
        "p90_ms": round(percentile(times, 0.9), 1),
        "max_ms": round(max(times), 1),
    }


def _measure(sessions: int, samples: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="proctor-bench-pages-") as folder:
        home = Path(folder) / "home"
        started = time.perf_counter()
        ids = _record_sessions(home, sessions, seed)
        recorded_s = time.perf_counter() - started
        app = create_app(ServerConfig(home))
        service = app.state.service
        for n in range(40):
            service.teams.assign(f"L-{n}", f"team-{n % 4}")
        officer = service.keys.create(Role.officer, "officer-1")[1]
        auditor = service.keys.create(Role.auditor, "auditor-1")[1]
        chance = random.Random(seed)

        with TestClient(app) as client:

            def get(key: str, path: str, **params: str) -> Callable[[], Any]:
                def call() -> Any:
                    response = client.get(
                        path, params=params, headers={"Authorization": f"Bearer {key}"}
                    )
                    assert response.status_code == 200, response.text
                    return response.json()

                return call

            def open_random() -> Any:
                evidence = get(auditor, f"/v1/sessions/{chance.choice(ids)}/evidence")()
                assert evidence["verification"]["ok"], evidence["verification"]
                return evidence

            records = sum(s["records"] for s in get(auditor, "/v1/sessions")())
            reads = {
                "session list (peer)": _timed(get(auditor, "/v1/sessions"), samples),
                "open one session": _timed(open_random, samples),
                "rule analytics": _timed(get(officer, "/v1/analytics/rules"), samples),
                "flags of a rule": _timed(
                    get(officer, "/v1/analytics/flags", rule_id="no-guarantee"), samples
                ),
                "trends by day": _timed(
                    get(officer, "/v1/analytics/trends", bucket="day"), samples
                ),
            }
    peer = reads["session list (peer)"]["p50_ms"]
    return {
        "sessions": sessions,
        "records": records,
        "recording_s": round(recorded_s, 1),
        "reads": reads,
        "p50_vs_session_list": {
            name: round(read["p50_ms"] / peer, 2) for name, read in reads.items() if peer
        },
    }


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Page reads on a log of past sessions",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"Python {report['machine']['python']}; reference work {report['reference_work_ms']} ms.",
        "",
        "| sessions | records | read | p50 ms | p90 ms | max ms | p50 / session list |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for run in report["runs"]:
        for name, read in run["reads"].items():
            lines.append(
                f"| {run['sessions']} | {run['records']} | {name} | {read['p50_ms']} | "
                f"{read['p90_ms']} | {read['max_ms']} | {run['p50_vs_session_list'][name]} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    report = {
        "machine": machine(),
        "reference_work_ms": reference_work_ms(),
        "runs": [_measure(n, args.samples, args.seed) for n in args.sessions],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "page_reads.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "page_reads.md").write_text(_markdown(report))
    print(_markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
