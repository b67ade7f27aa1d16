"""An officer drafts, tests and publishes a policy over HTTP; a published version is frozen."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from server import ServerConfig, create_app
from server.auth import Role
from server.config import Limits
from tests.server.conftest import bearer

DRAFT = (
    "policy: demo\n"
    "version: 1\n"
    "guardrails:\n"
    "  - id: no-guarantee\n"
    "    severity: violation\n"
    "    match: {phrases: [guarantee*]}\n"
)

BREACH = """\
name: A guarantee is flagged
transcript:
  - learner: I guarantee you will like it.
expect:
  passed: false
  findings:
    - {rule: no-guarantee, turn: 1, quote: guarantee}
"""

CLEAN_BUT_WRONG = """\
name: Expects a finding that is not raised
transcript:
  - learner: Good morning.
expect:
  passed: true
  findings:
    - {rule: no-guarantee, turn: 1}
"""


def _draft(client: TestClient, key: str, source: str = DRAFT) -> dict[str, object]:
    response = client.post("/v1/policies", json={"source": source}, headers=bearer(key))
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_draft_test_publish_and_the_published_version_is_immutable(
    client: TestClient, keys: dict[str, str]
) -> None:
    officer = bearer(keys["officer"])
    draft = _draft(client, keys["officer"])
    assert (draft["policy_id"], draft["version"], draft["status"]) == ("demo", 1, "draft")
    assert draft["source"] == DRAFT and draft["author"] == "officer-1"

    tested = client.post(
        "/v1/policies/demo/versions/1/test",
        json={"fixtures": {"breach.yaml": BREACH, "wrong.yaml": CLEAN_BUT_WRONG}},
        headers=officer,
    )
    assert tested.status_code == 200, tested.text
    report = tested.json()
    assert report["passed"] is False and report["digest"] == draft["digest"]
    results = {result["file"]: result for result in report["fixtures"]}
    assert results["breach.yaml"]["passed"] is True
    assert results["breach.yaml"]["findings"][0]["rule"] == "no-guarantee"
    assert results["wrong.yaml"]["passed"] is False
    assert results["wrong.yaml"]["mismatches"][0]["kind"] == "missing_finding"

    published = client.post("/v1/policies/demo/versions/1/publish", headers=officer)
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert published.json()["published_by"] == "officer-1"

    edited = DRAFT.replace("guarantee*", "risk-free")
    refused = client.post("/v1/policies", json={"source": edited}, headers=officer)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "published"
    again = client.post("/v1/policies/demo/versions/1/publish", headers=officer)
    assert again.status_code == 409

    reader = bearer(keys["learner"])
    by_id = client.get("/v1/policies/demo/versions/1", headers=reader).json()
    assert by_id["source"] == DRAFT and by_id["digest"] == draft["digest"]
    by_digest = client.get(f"/v1/policies/by-digest/{draft['digest']}", headers=reader)
    assert by_digest.status_code == 200 and by_digest.json()["version"] == 1

    _draft(client, keys["officer"], DRAFT.replace("version: 1", "version: 2"))
    listed = client.get("/v1/policies", headers=bearer(keys["auditor"])).json()
    assert [(item["version"], item["status"]) for item in listed] == [
        (1, "published"),
        (2, "draft"),
    ]


def test_a_draft_can_be_replaced_until_published_but_only_a_published_digest_resolves(
    client: TestClient, keys: dict[str, str]
) -> None:
    first = _draft(client, keys["officer"])
    second = _draft(client, keys["officer"], DRAFT.replace("guarantee*", "risk-free"))
    assert first["digest"] != second["digest"]
    headers = bearer(keys["auditor"])
    missing = client.get(f"/v1/policies/by-digest/{second['digest']}", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_an_invalid_policy_is_422_with_located_issues(
    client: TestClient, keys: dict[str, str]
) -> None:
    broken = DRAFT.replace("severity: violation", "severity: dreadful").replace("match:", "mtch:")
    response = client.post("/v1/policies", json={"source": broken}, headers=bearer(keys["officer"]))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_document"
    located = {(issue["line"], issue["field"]) for issue in error["issues"]}
    assert (5, "guardrails[0].severity") in located
    assert any(line == 6 for line, _ in located)
    assert all(issue["message"] and issue["column"] >= 1 for issue in error["issues"])

    syntax = client.post(
        "/v1/policies", json={"source": "policy: [unclosed"}, headers=bearer(keys["officer"])
    )
    assert syntax.status_code == 422 and syntax.json()["error"]["issues"][0]["line"] == 1


def test_an_invalid_fixture_is_422_located_in_its_own_file(
    client: TestClient, keys: dict[str, str]
) -> None:
    _draft(client, keys["officer"])
    bad = BREACH.replace("no-guarantee, turn: 1", "no-guarante, turn: 1")
    response = client.post(
        "/v1/policies/demo/versions/1/test",
        json={"fixtures": {"good.yaml": BREACH, "bad.yaml": bad, "../escape.yaml": BREACH}},
        headers=bearer(keys["officer"]),
    )
    assert response.status_code == 422
    issues = response.json()["error"]["issues"]
    sources = {issue["source"] for issue in issues}
    assert sources == {"bad.yaml", "../escape.yaml"}
    [rule] = [issue for issue in issues if issue["source"] == "bad.yaml"]
    assert rule["line"] == 7 and "no-guarantee" in rule["message"]


def test_testing_or_publishing_an_unknown_version_is_404(
    client: TestClient, keys: dict[str, str]
) -> None:
    officer = bearer(keys["officer"])
    assert client.post("/v1/policies/nope/versions/1/publish", headers=officer).status_code == 404
    response = client.post(
        "/v1/policies/nope/versions/1/test", json={"fixtures": {"a.yaml": BREACH}}, headers=officer
    )
    assert response.status_code == 404
    assert client.get("/v1/policies/nope/versions/1", headers=officer).status_code == 404


def test_a_policy_text_over_the_upload_limit_is_413(tmp_path: Path) -> None:
    app = create_app(ServerConfig(tmp_path / "home", Limits(max_upload_bytes=len(DRAFT) + 10)))
    _, key = app.state.service.keys.create(Role.officer, "officer-1")
    with TestClient(app) as client:
        fits = client.post("/v1/policies", json={"source": DRAFT + "#" * 10}, headers=bearer(key))
        assert fits.status_code == 201
        response = client.post(
            "/v1/policies", json={"source": DRAFT + "#" * 11}, headers=bearer(key)
        )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_hostile_documents_are_422_not_a_server_error(
    client: TestClient, keys: dict[str, str]
) -> None:
    officer = bearer(keys["officer"])
    deep = client.post("/v1/policies", json={"source": "a: " + "[" * 5000}, headers=officer)
    assert deep.status_code == 422 and "nested too deeply" in deep.text
    _draft(client, keys["officer"])
    long_line = BREACH.replace("I guarantee you will like it.", "guarantee " * 2000)
    response = client.post(
        "/v1/policies/demo/versions/1/test",
        json={"fixtures": {"long.yaml": long_line}},
        headers=officer,
    )
    assert response.status_code == 422
    [issue] = response.json()["error"]["issues"]
    assert (issue["source"], issue["line"]) == ("long.yaml", 3)
    assert issue["field"] == "transcript[0].learner"
