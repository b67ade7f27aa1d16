"""Load a policy from YAML: parse, validate, check cross-references, all with located errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from policies.documents import (
    DocumentError,
    DocumentIssue,
    YamlDocument,
    issues_without_lines,
    located_issue,
    parse_yaml,
    read_yaml,
    validate_document,
)
from policies.models import Policy
from policies.references import reference_problems


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; raises DocumentError naming file, line and field."""
    return policy_from_document(read_yaml(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    return policy_from_document(parse_yaml(text, source))


def policy_from_document(document: YamlDocument) -> Policy:
    policy = validate_document(Policy, document)
    issues = [located_issue(document, path, msg) for path, msg in reference_problems(policy)]
    if issues:
        raise DocumentError(issues)
    return policy


def policy_from_mapping(data: dict[str, Any], source: str = "<policy>") -> Policy:
    """Validate already-parsed data (an API body); errors carry field paths but no lines."""
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        raise DocumentError(issues_without_lines(error, data, source)) from None
    problems = list(reference_problems(policy))
    if problems:
        raise DocumentError([DocumentIssue(source, 0, 0, path, msg) for path, msg in problems])
    return policy
