"""An officer writes a policy in the browser, sees the error the service's checks find on its
line as they type, fixes it, runs fixture tests against the saved draft and publishes it."""

from __future__ import annotations

import re
from pathlib import Path
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
FLAGGED = """\
name: A promise of returns is flagged
transcript:
  - learner: You will get guaranteed returns.
expect:
  passed: false
  findings: [{rule: no-guarantees, turn: 1}]
"""
WRONG = """\
name: A greeting wrongly expected to be flagged
transcript:
  - learner: Hello there.
expect:
  passed: false
  findings: [{rule: no-guarantees, turn: 1}]
"""


def test_an_officer_fixes_the_error_the_editor_shows_tests_and_publishes(
    page: Any, served: Served, tmp_path: Path
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

    unfinished = tmp_path / "unfinished.yaml"
    unfinished.write_text(FLAGGED.replace("  passed: false\n", ""))
    fixture_input = page.get_by_label("Fixture files (YAML: a transcript and what it must produce)")
    fixture_input.set_input_files(str(unfinished))
    page.get_by_role("button", name="Run the fixture tests").click()
    expect(page.locator("#editor-error")).to_contain_text(
        "unfinished.yaml:4:1: expect: required field `passed` is missing"
    )

    fixtures = [tmp_path / "flagged.yaml", tmp_path / "wrong.yaml"]
    fixtures[0].write_text(FLAGGED)
    fixtures[1].write_text(WRONG)
    page.get_by_label(
        "Fixture files (YAML: a transcript and what it must produce)"
    ).set_input_files([str(path) for path in fixtures])
    page.get_by_role("button", name="Run the fixture tests").click()
    expect(page.locator("#fixtures-verdict")).to_have_text("1 of 2 fixture(s) failed.")
    results = page.locator("#fixture-results tbody tr")
    expect(results.filter(has_text="wrong.yaml")).to_contain_text("failed")
    expect(results.filter(has_text="wrong.yaml").locator("li")).not_to_have_count(0)
    expect(results.filter(has_text="flagged.yaml")).to_contain_text("passed")

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
