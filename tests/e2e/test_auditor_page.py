"""An auditor lists a learner's sessions in the browser, exports their evidence, downloads
the bundle and has it verified; the same file also verifies offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from audit import verify_bundle
from tests.e2e.conftest import Served


def practised_session(served: Served) -> str:
    """A short finished session of learner-1 under the published pharma policy."""
    key = served.keys["learner"]
    created = httpx.post(
        f"{served.url}/v1/sessions",
        json={"policy_id": "pharma-detailing-us"},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    stream = served.url.replace("http", "ws") + f"{created['stream']}?access_token={key}"
    with connect(stream) as socket:
        socket.send(json.dumps({"type": "utterance.final", "utterance_id": "a1",
                                "text": "Velmora is completely safe."}))  # fmt: skip
        socket.send(json.dumps({"type": "session.end"}))
        while json.loads(socket.recv(timeout=30))["event"]["type"] != "session.ended":
            pass
    session_id: str = created["session_id"]
    return session_id


def test_an_auditor_lists_exports_and_verifies(page: Any, served: Served, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    session_id = practised_session(served)
    page.goto(served.url + "/auditor")
    page.get_by_label("Your API key (auditor)").fill(served.keys["auditor"])
    page.get_by_role("button", name="Use this key").click()
    page.get_by_label("Learner").fill("learner-1")
    page.get_by_role("button", name="List sessions").click()
    expect(page.locator("#session-table")).to_contain_text(session_id)

    page.get_by_role("button", name=f"Open session {session_id}").click()
    expect(page.locator("#session-view-title")).to_be_focused()
    expect(page.locator("#session-verdict")).to_contain_text("Records verified:")
    report = page.frame_locator("#session-report")
    expect(report.locator("mark").first).to_have_text("completely safe")
    expect(report.get_by_role("heading", name="Scores")).to_be_visible()
    expect(report.get_by_role("heading", name="Verification")).to_be_visible()

    page.get_by_role("button", name="Export these sessions").click()
    download_link = page.locator("#exported a")
    expect(download_link).to_contain_text("Download proctor-audit-")
    with page.expect_download() as downloading:
        download_link.click()
    bundle = tmp_path / "evidence.zip"
    downloading.value.save_as(bundle)
    assert verify_bundle(bundle).ok  # offline, on the downloaded file

    page.get_by_label("Bundle to verify (zip)").set_input_files(str(bundle))
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.locator("#verdict")).to_contain_text("Verified:")
    expect(page.locator("#problems li")).to_have_count(0)

    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bundle.read_bytes()[:-200])
    page.get_by_label("Bundle to verify (zip)").set_input_files(str(damaged))
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.locator("#verdict")).to_contain_text("Not valid evidence")
    expect(page.locator("#problems li").first).to_contain_text("damaged.zip is not a zip archive")
