"""A policy version's identity: SHA-256 of the RFC 8785 canonical JSON of its normalised form.

Defaults are included in the normalised form, so two files that mean the same policy (one
spelling a default out, one not; different key order or YAML style) have the same digest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from policies.models import Policy


def policy_canonical_form(policy: Policy) -> dict[str, Any]:
    dumped: dict[str, Any] = policy.model_dump(mode="json")
    return dumped


def policy_digest(policy: Policy) -> str:
    canonical = rfc8785.dumps(policy_canonical_form(policy))
    return hashlib.sha256(canonical).hexdigest()


def policy_json_schema() -> dict[str, Any]:
    """JSON Schema of the policy language, for editors' completion and validation."""
    schema = Policy.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://proctor.invalid/schemas/policy-v1.json"
    schema["title"] = "Proctor policy (format 1)"
    return schema


def policy_json_schema_text() -> str:
    return json.dumps(policy_json_schema(), indent=2, sort_keys=True)
