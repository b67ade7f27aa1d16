"""`proctor policy lint|schema`: what a compliance officer runs while writing a policy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evaluators import PatternError, compile_policy
from policies import DocumentError, DocumentIssue, policy_digest, policy_json_schema_text
from policies.documents import YamlDocument, located_issue, read_yaml
from policies.loading import policy_from_document
from policies.models import Policy

EXIT_INVALID = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="policy_command", required=True)
    lint = commands.add_parser("lint", help="validate policy files; exit 2 on any error")
    lint.add_argument("files", nargs="+", type=Path)
    commands.add_parser("schema", help="print the policy JSON Schema")


def _pattern_issue(document: YamlDocument, policy: Policy, error: PatternError) -> DocumentIssue:
    index = next(i for i, rule in enumerate(policy.guardrails) if rule.id == error.pattern.rule_id)
    path = ("guardrails", index, "match", error.pattern.source, error.pattern.index)
    return located_issue(document, path, f"cannot compile: {error.reason}")


def lint_file(path: Path) -> tuple[Policy | None, list[DocumentIssue]]:
    """Validate one file completely: schema, references, and that every pattern compiles."""
    try:
        document = read_yaml(path)
        policy = policy_from_document(document)
    except DocumentError as error:
        return None, error.issues
    try:
        compile_policy(policy)
    except PatternError as error:
        return policy, [_pattern_issue(document, policy, error)]
    return policy, []


def run(args: argparse.Namespace) -> int:
    if args.policy_command == "schema":
        print(policy_json_schema_text())
        return 0
    failed = False
    for path in args.files:
        policy, issues = lint_file(path)
        for issue in issues:
            print(f"error: {issue}", file=sys.stderr)
        if issues or policy is None:
            failed = True
            continue
        print(
            f"{path}: ok — {policy.policy} v{policy.version}, {len(policy.guardrails)} rules, "
            f"digest {policy_digest(policy)}"
        )
    return EXIT_INVALID if failed else 0
