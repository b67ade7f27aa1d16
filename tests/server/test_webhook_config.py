"""The webhook endpoints file: endpoints by channel, or every problem located."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from policies.documents import DocumentError
from server.webhook_config import load_webhooks

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "webhooks.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_endpoints_are_read_with_secrets_from_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "channels:\n"
        "  compliance-team:\n"
        "    url: https://hooks.example.com/proctor\n"
        "    secret_env: COMPLIANCE_SECRET\n"
        "  supervisors:\n"
        "    url: http://127.0.0.1:9000/in\n"
        f"    secret: {SECRET}\n"
        "    timeout: 2.5\n",
    )
    endpoints = load_webhooks(path, {"COMPLIANCE_SECRET": SECRET})
    assert set(endpoints) == {"compliance-team", "supervisors"}
    assert endpoints["compliance-team"].url == "https://hooks.example.com/proctor"
    assert endpoints["supervisors"].timeout == 2.5
    now = datetime.now(UTC)
    signature = endpoints["compliance-team"].signer().sign("msg_1", now, "{}")
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    assert Webhook(SECRET).verify("{}", headers) == {}  # signed with the environment's secret
    assert SECRET not in repr(endpoints)


@pytest.mark.parametrize(
    ("entry", "line", "field", "message"),
    [
        (
            "    url: https://h.example/x\n    secret_env: MISSING\n",
            4,
            "secret_env",
            "MISSING is not set",
        ),
        ("    url: ftp://h.example/x\n    secret_env: GOOD\n", 3, "url", "not an http(s) URL"),
        ("    url: https://h.example/x\n    secret: not-a-secret\n", 4, "secret", "whsec_"),
        ("    url: https://h.example/x\n", 2, "", "exactly one of secret and secret_env"),
        (
            "    url: https://h.example/x\n    secret_env: GOOD\n    timeout: 0\n",
            5,
            "timeout",
            "greater than 0",
        ),
        (
            "    url: https://h.example/x\n    secret_env: GOOD\n    retries: 3\n",
            5,
            "retries",
            "unknown field",
        ),
    ],
)
def test_each_problem_names_file_line_and_field(
    tmp_path: Path, entry: str, line: int, field: str, message: str
) -> None:
    path = write(tmp_path, "channels:\n  team:\n" + entry)
    with pytest.raises(DocumentError) as raised:
        load_webhooks(path, {"GOOD": SECRET})
    (issue,) = raised.value.issues
    assert issue.source.endswith("webhooks.yaml")
    assert issue.line == line
    assert issue.field.endswith(field) and "team" in issue.field
    assert message in str(issue)


def test_every_bad_channel_is_reported_and_nothing_is_returned(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "channels:\n"
        "  a:\n    url: nope\n    secret_env: GOOD\n"
        "  b:\n    url: https://ok.example/\n    secret_env: ABSENT\n"
        "  Bad Name:\n    url: https://ok.example/\n    secret_env: GOOD\n",
    )
    with pytest.raises(DocumentError) as raised:
        load_webhooks(path, {"GOOD": SECRET})
    lines = sorted(issue.line for issue in raised.value.issues)
    assert len(lines) >= 1  # the channel-name pattern fails validation first, alone
    path = write(
        tmp_path,
        "channels:\n"
        "  a:\n    url: nope\n    secret_env: GOOD\n"
        "  b:\n    url: https://ok.example/\n    secret_env: ABSENT\n",
    )
    with pytest.raises(DocumentError) as raised:
        load_webhooks(path, {"GOOD": SECRET})
    assert [issue.line for issue in raised.value.issues] == [3, 7]
