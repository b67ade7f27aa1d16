"""An officer writes a policy in the browser, sees the error the service's checks find on its
line as they type, fixes it and publishes the version."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.e2e.conftest import Served

POLICY = """\
policy: e2e-call-rules
version: 1
guardrails:
  - id: no-guarantees
    severity: critical
    match: {phrases: [guaranteed returns]}
    on_violation: [coach]
    coach: Say that capital is at risk.
"""
MISSPELT = POLICY.replace("    severity: critical", "    severty: critical")


def test_an_officer_fixes_the_error_the_editor_shows_and_publishes(
    page: Any, served: Served
) -> None:
    from playwright.sync_api import expect

    page.goto(served.url + "/officer")
    page.get_by_label("Your API key (compliance officer)").fill(served.keys["officer"])
    page.get_by_role("button", name="Use this key").click()

    editor = page.get_by_label("Policy (YAML), checked as you type")
    editor.fill(MISSPELT)
    status = page.locator("#check-status")
    expect(status).to_contain_text("to fix before saving")
    misspelt_line = MISSPELT.splitlines().index("    severty: critical") + 1
    problem = page.locator(f'#issues li.error[data-line="{misspelt_line}"]')
    expect(problem).to_contain_text("severty")
    expect(page.get_by_role("button", name="Save draft")).to_be_disabled()

    editor.fill(POLICY)
    expect(status).to_have_text("No errors: e2e-call-rules version 1 can be saved.")
    expect(page.locator("#issues li.error")).to_have_count(0)
    page.get_by_role("button", name="Save draft").click()
    saved = page.locator("#saved")
    expect(saved).to_have_text("Saved e2e-call-rules version 1 as a draft.")
    page.get_by_role("button", name="Publish this version").click()
    expect(saved).to_have_text(
        re.compile(r"^Published e2e-call-rules version 1, digest [0-9a-f]{64}\.")
    )

    stored = httpx.get(
        f"{served.url}/v1/policies/e2e-call-rules/versions/1",
        headers={"Authorization": f"Bearer {served.keys['auditor']}"},
    ).json()
    assert stored["status"] == "published"
    assert stored["digest"] in saved.text_content()
