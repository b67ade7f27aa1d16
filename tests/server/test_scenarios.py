"""GET /v1/scenarios: every bundled scenario, with the policy it practises and whether that
policy is published yet; what it lists is what `POST /v1/sessions` accepts."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from policies import load_policy, pack_path
from tests.server.conftest import bearer
from tests.server.test_sessions import publish

PACK_SCENARIOS = {"pharma/gp_visit.yaml", "investment/client_two_year_horizon.yaml",
                  "service/complaint_escalation.yaml"}  # fmt: skip


def listed(client: TestClient, key: str) -> dict[str, dict[str, Any]]:
    response = client.get("/v1/scenarios", headers=bearer(key))
    assert response.status_code == 200, response.text
    return {item["name"]: item for item in response.json()}


def test_every_pack_scenario_is_listed_unpublished_until_an_officer_publishes(
    client: TestClient, app: FastAPI, keys: dict[str, str]
) -> None:
    before = listed(client, keys["learner"])
    assert set(before) == PACK_SCENARIOS
    gp_visit = before["pharma/gp_visit.yaml"]
    assert gp_visit["policy_id"] == "pharma-detailing-us"
    assert gp_visit["persona"].startswith("Dr ") and gp_visit["title"]
    assert all(item["published_version"] is None for item in before.values())

    policy_file = pack_path("pharma") / "policy.yaml"
    publish(app, policy_file.read_text(encoding="utf-8"))
    after = listed(client, keys["auditor"])
    assert after["pharma/gp_visit.yaml"]["published_version"] == load_policy(policy_file).version
    assert after["service/complaint_escalation.yaml"]["published_version"] is None

    # What the list says is what starting a session takes.
    started = client.post(
        "/v1/sessions",
        json={"policy_id": gp_visit["policy_id"], "scenario": gp_visit["name"]},
        headers=bearer(keys["learner"]),
    )
    assert started.status_code == 201, started.text
    assert started.json()["scenario"] == "gp-visit"  # the id inside that file
