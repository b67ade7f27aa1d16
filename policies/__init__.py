"""The policy language: models, YAML loading with located errors, schema, canonical digest."""

from policies.digest import policy_digest, policy_json_schema, policy_json_schema_text
from policies.documents import DocumentError, DocumentIssue
from policies.loading import load_policy, parse_policy, policy_from_mapping
from policies.models import (
    Action,
    Guardrail,
    LexicalRule,
    PiiEntity,
    PiiRule,
    Policy,
    RequiredDisclosureRule,
    Severity,
    Speaker,
)
from policies.packs import pack_path

__all__ = [
    "Action",
    "DocumentError",
    "DocumentIssue",
    "Guardrail",
    "LexicalRule",
    "PiiEntity",
    "PiiRule",
    "Policy",
    "RequiredDisclosureRule",
    "Severity",
    "Speaker",
    "load_policy",
    "pack_path",
    "parse_policy",
    "policy_digest",
    "policy_from_mapping",
    "policy_json_schema",
    "policy_json_schema_text",
]
