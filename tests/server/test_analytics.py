"""Rule analytics, officers' verdicts on past flags and trends, over real recorded sessions."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from engine import FinalUtterance, PartialUtterance, Session
from engine.planning import plan_policy
from engine.recording import AuditRecorder
from policies import parse_policy
from tests.server.conftest import bearer

POLICY = """\
policy: advice
version: 1
guardrails:
  - id: no-guarantee
    severity: violation
    match: {phrases: [guarantee*]}
  - id: no-absolutes
    severity: warning
    match: {phrases: [always]}
rubric:
  pass_mark: 0.5
  criteria:
    - {id: claims, weight: 1.0, from_guardrails: [no-guarantee, no-absolutes]}
"""


def practise(app: FastAPI, learner: str, *finals: str, withdrawn: str | None = None) -> str:
    """A finished session of `learner` saying `finals`; `withdrawn` is said as a partial
    transcript first and then replaced by a final without it."""
    plan = plan_policy(parse_policy(POLICY))
    session = Session(plan, learner=learner, recorder=AuditRecorder(app.state.service.audit_log))
    session.start()
    if withdrawn is not None:
        session.ingest(PartialUtterance(utterance_id="w", revision=1, text=withdrawn))
        session.ingest(FinalUtterance(utterance_id="w", text="Let me check that for you."))
    for n, text in enumerate(finals):
        session.ingest(FinalUtterance(utterance_id=f"u{n}", text=text))
    session.end()
    return session.session_id


def _get(client: TestClient, key: str, path: str, **params: str) -> object:
    response = client.get(path, params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


def _review(client: TestClient, key: str, flag: dict[str, object], verdict: str) -> int:
    body = {"session_id": flag["session_id"], "finding_id": flag["finding_id"], "verdict": verdict}
    return client.post("/v1/flag-reviews", json=body, headers=bearer(key)).status_code


def test_rules_are_ranked_by_flags_and_verdicts_give_the_false_positive_rate(
    app: FastAPI, client: TestClient, keys: dict[str, str]
) -> None:
    first = practise(app, "learner-1", "I guarantee it always works.")
    practise(app, "learner-2", "Returns are guaranteed.", withdrawn="I guarantee it and")
    officer, auditor = keys["officer"], keys["auditor"]

    rows = _get(client, auditor, "/v1/analytics/rules")
    assert isinstance(rows, list)
    assert [(r["rule_id"], r["fired"], r["sessions"], r["withdrawn"]) for r in rows] == [
        ("no-guarantee", 2, 2, 1),
        ("no-absolutes", 1, 1, 0),
    ]
    assert all(r["reviewed"] == 0 and r["false_positive_rate"] is None for r in rows)

    flags = _get(client, officer, "/v1/analytics/flags", rule_id="no-guarantee")
    assert isinstance(flags, list) and len(flags) == 2  # the withdrawn flag is not listed
    newest, oldest = flags
    assert oldest["session_id"] == first and oldest["learner"] == "learner-1"
    assert oldest["quote"] == "guarantee" and newest["quote"] == "guaranteed"
    assert oldest["verdict"] is None and oldest["severity"] == "violation"

    assert _review(client, officer, oldest, "false_positive") == 200
    assert _review(client, officer, newest, "confirmed") == 200
    (guarantee, _) = _get(client, officer, "/v1/analytics/rules")  # type: ignore[misc]
    assert (guarantee["reviewed"], guarantee["false_positives"]) == (2, 1)
    assert guarantee["false_positive_rate"] == 0.5

    assert _review(client, officer, newest, "false_positive") == 200  # a change of mind
    (guarantee, _) = _get(client, officer, "/v1/analytics/rules")  # type: ignore[misc]
    assert guarantee["false_positive_rate"] == 1.0 and guarantee["reviewed"] == 2
    relisted = _get(client, officer, "/v1/analytics/flags", rule_id="no-guarantee")
    assert [f["verdict"] for f in relisted] == ["false_positive", "false_positive"]  # type: ignore[union-attr, index]
    assert (
        _get(client, officer, "/v1/analytics/flags", unreviewed_only="true", rule_id="no-guarantee")
        == []
    )

    only_first = _get(client, officer, "/v1/analytics/rules", learner="learner-1")
    assert [(r["rule_id"], r["fired"]) for r in only_first] == [  # type: ignore[union-attr]
        ("no-absolutes", 1),
        ("no-guarantee", 1),
    ]


def test_a_verdict_needs_a_real_flag_and_a_known_verdict(
    app: FastAPI, client: TestClient, keys: dict[str, str]
) -> None:
    session_id = practise(app, "learner-1", "I guarantee it.")
    officer = bearer(keys["officer"])
    unknown = {"session_id": session_id, "finding_id": "no-such@u0#0", "verdict": "confirmed"}
    missing = client.post("/v1/flag-reviews", json=unknown, headers=officer)
    assert missing.status_code == 404 and "no-such@u0#0" in missing.json()["error"]["message"]
    (flag,) = _get(client, keys["officer"], "/v1/analytics/flags")  # type: ignore[misc]
    wrong = {**flag, "verdict": "maybe"}
    assert client.post("/v1/flag-reviews", json=wrong, headers=officer).status_code == 422
    assert _review(client, keys["auditor"], flag, "confirmed") == 403
    assert _review(client, keys["learner"], flag, "confirmed") == 403


def test_trends_give_one_point_per_bucket_per_team_and_flags_per_rule(
    app: FastAPI, client: TestClient, keys: dict[str, str]
) -> None:
    app.state.service.teams.assign("learner-1", "north")
    practise(app, "learner-1", "I guarantee it always works.")
    practise(app, "learner-1", "Let us look at the risks together.")
    practise(app, "learner-2", "It is guaranteed.")
    trends = _get(client, keys["officer"], "/v1/analytics/trends", bucket="day")
    assert isinstance(trends, dict)
    assert trends["bucket"] == "day" and len(trends["buckets"]) == 1
    (north,) = trends["teams"]["north"]
    (nobody,) = trends["teams"]["(no team)"]
    assert (north["sessions"], north["violations"]) == (2, 1)
    assert (nobody["sessions"], nobody["violations"]) == (1, 1)
    assert 0 <= north["mean_score"] <= 1 and 0 <= nobody["mean_score"] <= 1
    assert trends["rules"] == {"no-absolutes": [1], "no-guarantee": [2]}
    empty = _get(client, keys["auditor"], "/v1/analytics/trends", policy_id="other")
    assert empty == {"bucket": "week", "buckets": [], "teams": {}, "rules": {}}
