"""POST /v1/policies/lint: the CLI's checks on a text, located by line, column and field,
without saving anything."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.server.conftest import bearer
from tests.server.test_sessions import POLICY

UNCOMPILABLE = POLICY.replace(
    "[guaranteed returns, risk-free]", "[guaranteed returns], regex: ['(unclosed']"
)


def linted(client: TestClient, key: str, source: str) -> dict[str, Any]:
    response = client.post("/v1/policies/lint", json={"source": source}, headers=bearer(key))
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def test_a_valid_policy_is_valid_and_nothing_is_saved(
    client: TestClient, keys: dict[str, str]
) -> None:
    report = linted(client, keys["officer"], POLICY)
    assert report["valid"] and report["policy_id"] == "call-rules" and report["version"] == 1
    assert [issue for issue in report["issues"] if issue["level"] == "error"] == []
    assert client.get("/v1/policies", headers=bearer(keys["officer"])).json() == []


def test_a_misspelt_field_is_located_on_its_line(client: TestClient, keys: dict[str, str]) -> None:
    source = POLICY.replace("    severity: critical\n", "    severty: critical\n", 1)
    report = linted(client, keys["officer"], source)
    assert not report["valid"] and report["policy_id"] is None
    lines = source.splitlines()
    located = {(issue["line"], issue["field"]) for issue in report["issues"]}
    misspelt = lines.index("    severty: critical") + 1
    assert any(line == misspelt and "severty" in field for line, field in located), located


def test_a_pattern_that_cannot_compile_is_located_on_its_own_line(
    client: TestClient, keys: dict[str, str]
) -> None:
    report = linted(client, keys["officer"], UNCOMPILABLE)
    assert not report["valid"]
    (issue,) = report["issues"]
    assert issue["level"] == "error" and "cannot compile" in issue["message"]
    assert "(unclosed" in UNCOMPILABLE.splitlines()[issue["line"] - 1]


def test_yaml_that_does_not_parse_is_an_issue_not_a_failure(
    client: TestClient, keys: dict[str, str]
) -> None:
    report = linted(client, keys["officer"], "policy: [unclosed\n")
    assert not report["valid"] and report["issues"][0]["line"] >= 1


def test_a_document_nested_too_deeply_is_an_issue_as_when_saving(
    client: TestClient, keys: dict[str, str]
) -> None:
    report = linted(client, keys["officer"], "a: " + "[" * 5000)
    assert not report["valid"]
    assert [issue["message"] for issue in report["issues"]] == [
        "the YAML is nested too deeply to read"
    ]
