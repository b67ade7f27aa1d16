"""A learner practises in the browser: flags appear on the exact words while typing, and the
session ends with the scorecard, blockers first."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import Served

LINE = "Honestly Velmora is completely safe for your patients."
OFF_LABEL = "Many doctors use it for migraine prevention too."  # breaches a rubric blocker


def test_a_learner_sees_the_flag_on_their_words_and_the_scorecard(
    page: Any, served: Served
) -> None:
    from playwright.sync_api import expect

    page.goto(served.url + "/")
    page.get_by_label("Your API key").fill(served.keys["learner"])
    page.get_by_role("button", name="Show scenarios").click()
    scenario = page.get_by_label("Scenario", exact=True)
    expect(scenario).to_contain_text("Dr Amira Shah")
    scenario.select_option("pharma/gp_visit.yaml")
    page.get_by_role("button", name="Start practising").click()

    transcript = page.locator("#transcript")
    expect(transcript.locator("li.persona").first).not_to_be_empty()  # the doctor's opening
    line = page.get_by_label("What you say (Enter sends the line)")
    # "...completely safe for ": a phrase is confirmed on a partial once the next word shows
    # that it has ended (as a recogniser's partials arrive, word by word).
    line.press_sequentially(LINE[: LINE.index("your")])
    draft_flag = transcript.locator("li.learner.draft mark.flag")
    expect(draft_flag).to_have_text("completely safe")  # raised on the partial transcript
    expect(draft_flag).to_have_attribute("data-rule", "no-safety-minimisation")

    line.press_sequentially(LINE[LINE.index("your") :])
    line.press("Enter")
    final = transcript.locator("li.learner:not(.draft)").last
    expect(final).to_contain_text(LINE)
    expect(final.locator("mark.flag")).to_have_text("completely safe")
    expect(page.locator("#coaching li").first).to_contain_text("adverse reactions")
    expect(final.locator("mark.flag")).to_have_attribute("title", re.compile("adverse reactions"))
    expect(transcript.locator("li.persona")).to_have_count(2)  # the doctor has answered
    line.press_sequentially(OFF_LABEL)
    line.press("Enter")
    off_label = transcript.locator("li.learner:not(.draft)").last.locator(
        'mark.flag[data-rule="no-off-label"]'
    )
    expect(off_label).to_contain_text("migraine")

    page.get_by_role("button", name="End the session").click()
    scorecard = page.locator("#scorecard")
    expect(scorecard).to_be_visible()
    expect(page.locator("#verdict")).to_contain_text("Not passed")
    blockers = page.locator("#blockers")
    expect(blockers).to_contain_text("no-off-label")
    # Blockers come before the criteria table, and every criterion row shows its evidence.
    assert blockers.evaluate(
        "node => !!(node.compareDocumentPosition(document.getElementById('criteria'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    rows = page.locator("#criteria tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 2
