"""The webhook endpoints file given to `proctor serve --webhooks FILE`.

One entry per channel a policy can `notify`: where its escalations are POSTed and the
Standard Webhooks secret that signs them. A secret can be written in the file or, better,
named as an environment variable (`secret_env`) so the file itself can be shared and kept in
version control. Every problem is reported with file, line and field, and the service does
not start with a half-read configuration.

```yaml
channels:
  compliance-team:
    url: https://compliance.example.com/hooks/proctor
    secret_env: PROCTOR_COMPLIANCE_WEBHOOK_SECRET
    timeout: 10        # seconds, optional
```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from policies.documents import (
    DocumentError,
    DocumentIssue,
    located_issue,
    read_yaml,
    validate_document,
)
from server.webhooks import WebhookEndpoint, url_problem

ChannelName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class ChannelEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    secret: str | None = Field(default=None, repr=False)
    secret_env: str | None = None
    timeout: float = Field(default=10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _one_secret(self) -> ChannelEndpoint:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError("give exactly one of secret and secret_env")
        return self


class WebhookFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: dict[ChannelName, ChannelEndpoint]


def load_webhooks(path: Path, environ: Mapping[str, str]) -> dict[str, WebhookEndpoint]:
    """The endpoints of `path` by channel; raises `DocumentError` naming every problem, a
    missing environment variable or an unusable URL or secret included."""
    document = read_yaml(path)
    parsed = validate_document(WebhookFile, document)
    endpoints: dict[str, WebhookEndpoint] = {}
    issues: list[DocumentIssue] = []
    for channel, entry in parsed.channels.items():
        secret = entry.secret
        if entry.secret_env is not None:
            secret = environ.get(entry.secret_env)
            if not secret:
                issues.append(
                    located_issue(
                        document,
                        ("channels", channel, "secret_env"),
                        f"environment variable {entry.secret_env} is not set",
                    )
                )
                continue
        assert secret is not None  # one of the two is given (checked by the model)
        where: tuple[str, ...] = ("channels", channel)
        problem = url_problem(entry.url)
        if problem is not None:
            issues.append(located_issue(document, (*where, "url"), problem))
            continue
        try:
            endpoints[channel] = WebhookEndpoint(entry.url, secret, entry.timeout)
        except ValueError as error:  # the URL is fine, so the secret is not
            field = "secret_env" if entry.secret_env is not None else "secret"
            issues.append(located_issue(document, (*where, field), str(error)))
    if issues:
        raise DocumentError(issues)
    return endpoints
