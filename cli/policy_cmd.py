"""`proctor policy lint|test|schema`: what a compliance officer runs while writing a policy."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cli.home import ProctorHome
from cli.knowledge import knowledge_root, open_knowledge
from engine.planning import plan_policy, uses_semantic_matching
from engine.policy_check import checked_policy as checked_document
from engine.policy_check import lint_document
from engine.policy_test_knowledge import knowledge_from_documents
from engine.policy_test_report import FixtureResult, PolicyTestReport
from engine.policy_testing import GroundingKnowledge, run_policy_tests
from engine.scenarios import load_scenario
from evaluators import PolicyPlan
from knowledge_base import Embedder, KnowledgeBaseError, default_embedder
from knowledge_base.kb import EMBEDDING_CACHE_FOLDER
from policies import DocumentError, DocumentIssue, policy_digest, policy_json_schema_text
from policies.documents import YamlDocument, read_yaml
from policies.fixtures import fixture_paths, fixtures_folder, load_fixtures
from policies.lint import Level, LintIssue, ScenarioLimit
from policies.models import Policy

EXIT_MISMATCH = 1
EXIT_INVALID = 2
POLICY_FILE = "policy.yaml"
PASS, FAIL = "\u2713", "\u2717"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="policy_command", required=True)
    lint = commands.add_parser(
        "lint", help="validate policy files; exit 2 on any error (or warning, with --strict)"
    )
    lint.add_argument("files", nargs="+", type=Path)
    lint.add_argument("--strict", action="store_true", help="treat warnings as errors")
    test = commands.add_parser(
        "test",
        help="run a policy against its example conversations (tests/*.yaml beside it); "
        "exit 1 on any mismatch, 2 on invalid input",
    )
    test.add_argument(
        "policy", type=Path, metavar="POLICY", help="policy YAML, or the folder holding policy.yaml"
    )
    test.add_argument(
        "--kb-docs",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="file or folder of approved documents to check grounding rules against, ingested "
        "into a temporary knowledge base for this run (repeatable)",
    )
    test.add_argument(
        "--fixtures",
        type=Path,
        metavar="PATH",
        help="a fixture file or folder (default: tests/ beside the policy)",
    )
    test.add_argument("--json", action="store_true", help="print the report as JSON")
    commands.add_parser("schema", help="print the policy JSON Schema")


def run(args: argparse.Namespace) -> int:
    if args.policy_command == "schema":
        print(policy_json_schema_text())
        return 0
    if args.policy_command == "test":
        return _test(args)
    return _lint(args.files, args.strict)


# --- lint ---------------------------------------------------------------------------------


def checked_policy(path: Path) -> tuple[YamlDocument, Policy]:
    """Read and validate a policy, and compile its patterns (without loading any model);
    raises DocumentError with every issue located."""
    document = read_yaml(path)
    return document, checked_document(document)


def lint_file(path: Path) -> tuple[Policy | None, list[LintIssue]]:
    """Validate one file completely: schema, references, that every pattern compiles, and the
    settings that cannot take effect (policies/lint.py)."""
    try:
        document = read_yaml(path)
    except DocumentError as error:
        return None, [LintIssue(Level.error, issue) for issue in error.issues]
    return lint_document(document, scenario_limits(path))


def scenario_limits(policy_path: Path) -> list[ScenarioLimit]:
    """The scenarios beside the policy that are played under it, with their length. A scenario
    that does not load is skipped: its problems are `proctor practice`'s to report."""
    limits = []
    target = policy_path.resolve()
    for candidate in sorted(policy_path.parent.glob("*.y*ml")):
        if candidate.resolve() == target:
            continue
        try:
            plain = read_yaml(candidate).plain()
            if not isinstance(plain.get("scenario"), str) or not isinstance(
                plain.get("policy"), str
            ):
                continue
            if (candidate.parent / plain["policy"]).resolve() != target:
                continue
            scenario = load_scenario(candidate)
        except DocumentError:
            continue
        limits.append(ScenarioLimit(scenario.scenario, scenario.max_turns))
    return limits


def _lint(files: Sequence[Path], strict: bool) -> int:
    failed = False
    for path in files:
        policy, issues = lint_file(path)
        for issue in issues:
            print(issue, file=sys.stderr)
        errors = sum(issue.level is Level.error for issue in issues)
        warnings = len(issues) - errors
        if errors or policy is None or (strict and warnings):
            failed = True
            continue
        noted = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
        print(
            f"{path}: ok — {policy.policy} v{policy.version}, {len(policy.guardrails)} rules, "
            f"digest {policy_digest(policy)}{noted}"
        )
    return EXIT_INVALID if failed else 0


# --- test ---------------------------------------------------------------------------------


def _invalid(issues: Sequence[DocumentIssue]) -> int:
    for issue in issues:
        print(f"error: {issue}", file=sys.stderr)
    return EXIT_INVALID


def _test(args: argparse.Namespace) -> int:
    policy_path: Path = args.policy / POLICY_FILE if args.policy.is_dir() else args.policy
    location: Path = args.fixtures or fixtures_folder(policy_path)
    try:
        _, policy = checked_policy(policy_path)
    except DocumentError as error:
        return _invalid(error.issues)
    fixtures, issues = load_fixtures(fixture_paths(location), policy)
    if issues:
        return _invalid(issues)
    if not fixtures:
        problem = "no such file or folder" if not location.exists() else "no fixture files"
        print(
            f"error: {location}: {problem}; write one YAML file per example conversation in "
            f"{fixtures_folder(policy_path)} (see docs/policy-tests.md)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    try:
        plan = plan_policy(policy, _embedder() if uses_semantic_matching(policy) else None)
        with grounding_knowledge(plan, args.kb_docs) as grounding:
            report = run_policy_tests(plan, fixtures, grounding)
    except KnowledgeBaseError as error:
        print(f"error: {'--kb-docs: ' if args.kb_docs else ''}{error}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        base = location if location.is_dir() else location.parent
        for line in render_report(report, base):
            print(line)
    return 0 if report.passed else EXIT_MISMATCH


def _embedder() -> Embedder:
    """MiniLM with the Proctor home's embedding cache: a second run of the same fixtures
    embeds nothing and does not even load the model."""
    home = ProctorHome.from_environment().ensure()
    return default_embedder(knowledge_root(home) / EMBEDDING_CACHE_FOLDER)


@contextmanager
def grounding_knowledge(
    plan: PolicyPlan, documents: Sequence[Path]
) -> Iterator[GroundingKnowledge]:
    """The knowledge base rules that judge statements against approved documents use: built
    from `documents` for this run only, else the policy's named one in the Proctor home, as
    `proctor evaluate` uses; else none, and why."""
    if not any(True for _ in plan.knowledge_rules()):
        yield GroundingKnowledge(None, "no rule needs a knowledge base")
        return
    home = ProctorHome.from_environment()
    name = plan.policy.knowledge_base
    if documents:
        with tempfile.TemporaryDirectory(prefix="proctor-policy-test-") as root:
            knowledge = knowledge_from_documents(
                documents, Path(root), name=name, embedder=_embedder()
            )
            shown = ", ".join(str(document) for document in documents)
            yield GroundingKnowledge(
                knowledge, f"knowledge base {knowledge.name!r} built for this run from {shown}"
            )
        return
    if name is None:
        yield GroundingKnowledge(
            None, "the policy names no knowledge_base and no --kb-docs were given"
        )
        return
    knowledge = open_knowledge(home.ensure(), name)
    if len(knowledge) > 0:
        yield GroundingKnowledge(knowledge, f"knowledge base {name!r} from {knowledge_root(home)}")
        return
    yield GroundingKnowledge(
        None,
        f"knowledge base {name!r} is empty or missing (pass --kb-docs PATH, or run "
        f"`proctor kb ingest DIR --name {name}`)",
    )


def render_report(report: PolicyTestReport, base: Path) -> list[str]:
    """The report for a person: one line per fixture, each mismatch under it, the coverage,
    and a summary line."""
    count = len(report.fixtures)
    lines = [
        f"{report.policy} v{report.version}: {count} fixture{'s' if count != 1 else ''} "
        f"from {base}",
        f"knowledge: {report.knowledge}",
    ]
    skipped = sorted({rule for result in report.fixtures for rule in result.not_evaluated})
    if skipped:
        lines.append(f"not evaluated: {', '.join(skipped)}")
    lines.append("")
    for result in report.fixtures:
        lines += _fixture_lines(result, base)
    lines.append("")
    coverage = report.coverage
    if coverage.complete:
        lines.append("coverage: every rule and objective is expected to fire in some fixture")
    else:
        lines.append("coverage: never exercised (no fixture expects them to fire):")
        lines += [f"  rule {rule_id}" for rule_id in coverage.unexercised_rules]
        lines += [f"  objective {item}" for item in coverage.unexercised_objectives]
    failed = report.failed
    lines.append(
        f"{count} fixture{'s' if count != 1 else ''}: {count - failed} passed, {failed} failed"
    )
    return lines


def _fixture_lines(result: FixtureResult, base: Path) -> list[str]:
    path = Path(result.file)
    shown = path.relative_to(base) if path.is_relative_to(base) else path
    lines = [f"{PASS if result.passed else FAIL} {result.name}  ({shown})"]
    lines += [f"    {mismatch.message}" for mismatch in result.mismatches]
    return lines
