"""An officer sees which rules fire most, reviews a flag as a false positive and sees the
rule's false-positive rate change, and reads the trends as plots with their numbers."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Served
from tests.e2e.test_accessibility import LOW_CONTRAST, UNLABELLED, UNNAMED_BUTTONS
from tests.e2e.test_auditor_page import practised_session

RULE = "no-safety-minimisation"  # "completely safe" in the practised session


def test_an_officer_reviews_a_flag_and_reads_the_trends(page: Any, served: Served) -> None:
    from playwright.sync_api import expect

    practised_session(served)
    practised_session(served)
    page.goto(served.url + "/analytics")
    page.get_by_label("Your API key (compliance officer or auditor)").fill(served.keys["officer"])
    page.get_by_role("button", name="Use this key").click()
    page.get_by_label("Policy id").fill("pharma-detailing-us")
    page.get_by_label("Trend periods").select_option("day")
    page.get_by_role("button", name="Show").click()

    row = page.locator("#rule-table tbody tr", has=page.get_by_role("rowheader", name=RULE))
    expect(row).to_have_count(1)
    flags = int(row.locator("td").nth(0).inner_text())
    assert flags >= 2
    reviewed_before = int(row.locator("td").nth(3).inner_text())

    page.get_by_role("button", name=f"Review flags of {RULE}").click()
    expect(page.locator("#review-title")).to_be_focused()
    first = page.locator("#flag-table tbody tr").first
    expect(first.get_by_role("rowheader")).to_have_text("completely safe")
    first.get_by_role("button", name="False positive", exact=False).click()
    expect(page.locator("#review-status")).to_contain_text("Marked false positive")
    expect(page.locator("#flag-table tbody tr").first.locator("td").nth(3)).to_have_text(
        "False positive"
    )
    expect(row.locator("td").nth(3)).to_have_text(str(reviewed_before + 1))
    rate = row.locator("td").nth(5).inner_text()
    assert rate.endswith("%") and 0 < int(rate.rstrip("%")) <= 100

    scores = page.locator("#chart-scores")
    expect(scores.locator("figcaption")).to_have_text("Mean score per team, by day")
    expect(scores.locator(".legend li")).to_contain_text(["north"])
    expect(page.locator("#chart-rules .legend")).to_contain_text(RULE)
    assert page.locator("#chart-violations svg.chart path").count() >= 1
    page.locator("#chart-rules summary").click()
    expect(page.locator("#chart-rules table")).to_contain_text(RULE)

    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(UNNAMED_BUTTONS) == 0
    assert page.evaluate(LOW_CONTRAST) == []
