from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import DocumentError, Policy, load_policy, pack_path, parse_policy, policy_digest
from policies.loading import policy_from_mapping

MINIMAL = """\
policy: demo
version: 1
guardrails:
  - id: no-guarantee
    match: {phrases: [guarantee]}
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        parse_policy(text, "p.yaml")
    return [str(issue) for issue in caught.value.issues]


def test_rule_without_kind_is_lexical_with_defaults() -> None:
    policy = parse_policy(MINIMAL)
    rule = policy.guardrails[0]
    assert rule.kind == "lexical"
    assert rule.severity.value == "violation"
    assert [a.value for a in rule.on_violation] == ["coach"]


@pytest.mark.parametrize("pack", ["pharma", "investment"])
def test_sample_packs_load(pack: str) -> None:
    policy = load_policy(pack_path(pack) / "policy.yaml")
    assert policy.rubric is not None
    assert {"lexical", "pii", "required_disclosure"} <= {rule.kind for rule in policy.guardrails}


def test_unknown_field_names_line_column_and_path() -> None:
    text = MINIMAL.replace("match: {phrases: [guarantee]}", "match: {phrase: [guarantee]}")
    assert _errors(text) == ["p.yaml:5:13: guardrails[0].match.phrase: unknown field `phrase`"]


def test_wrong_type_is_located_at_the_value() -> None:
    assert _errors(MINIMAL.replace("version: 1", "version: one")) == [
        "p.yaml:2:10: version: Input should be a valid integer"
    ]


def test_unknown_rule_kind_points_at_kind() -> None:
    text = MINIMAL + "  - id: tone\n    kind: sentiment\n"
    (error,) = _errors(text)
    assert error.startswith("p.yaml:7:11: guardrails[1].kind: unknown rule kind 'sentiment'")
    assert "lexical, pii, required_disclosure" in error


def test_missing_required_field() -> None:
    text = "policy: demo\nguardrails:\n  - id: x\n    match: {phrases: [a]}\n"
    assert _errors(text) == ["p.yaml:1:1: required field `version` is missing"]


def test_several_errors_are_all_reported_in_order() -> None:
    text = (
        MINIMAL.replace("version: 1", "version: 0")
        + "  - id: p\n    kind: pii\n    entities: [SSN]\n"
    )
    errors = _errors(text)
    assert len(errors) == 2
    assert errors[0].startswith("p.yaml:2:10: version:")
    assert errors[1].startswith("p.yaml:8:16: guardrails[1].entities[0]:")


def test_duplicate_rule_id_and_unknown_references() -> None:
    text = MINIMAL + (
        "  - id: no-guarantee\n    match: {phrases: [sure thing]}\n"
        "rubric:\n  pass_mark: 0.5\n  criteria:\n"
        "    - {id: c, weight: 1, from_guardrails: [no-guarantee, typo-rule]}\n"
        "  blockers: [ghost]\n"
    )
    assert _errors(text) == [
        "p.yaml:6:9: guardrails[1].id: duplicate rule id 'no-guarantee'",
        "p.yaml:11:58: rubric.criteria[0].from_guardrails[1]: unknown rule 'typo-rule'",
        "p.yaml:12:14: rubric.blockers[0]: unknown rule 'ghost'",
    ]


def test_yaml_syntax_error_and_duplicate_keys() -> None:
    assert _errors("policy: [demo\nversion: 1\n")[0].startswith("p.yaml:2:8: YAML:")
    assert _errors("policy: a\npolicy: b\n")[0].startswith("p.yaml:2:1: YAML:")


def test_non_mapping_documents_are_rejected() -> None:
    assert _errors("") == ["p.yaml:1:1: expected a mapping at the top, found an empty file"]
    assert _errors("- a\n- b\n") == ["p.yaml:1:1: expected a mapping at the top, found a list"]


def test_missing_file_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="file not found"):
        load_policy(tmp_path / "absent.yaml")


def test_mapping_errors_carry_field_paths() -> None:
    with pytest.raises(DocumentError) as caught:
        policy_from_mapping({"policy": "x", "version": 1, "guardrails": [{"id": "Bad Id"}]})
    fields = {issue.field for issue in caught.value.issues}
    assert "guardrails[0].id" in fields


def test_digest_ignores_key_order_yaml_style_and_spelled_out_defaults() -> None:
    reordered = """\
guardrails:
  - match:
      phrases: ["guarantee"]
    id: no-guarantee
    severity: violation
version: 1
policy: demo
"""
    assert policy_digest(parse_policy(MINIMAL)) == policy_digest(parse_policy(reordered))


def test_digest_changes_with_meaning() -> None:
    changed = MINIMAL.replace("[guarantee]", "[guarantee, risk-free]")
    assert policy_digest(parse_policy(MINIMAL)) != policy_digest(parse_policy(changed))
    assert re.fullmatch(r"[0-9a-f]{64}", policy_digest(parse_policy(MINIMAL)))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_loads_or_fails_with_located_errors(text: str) -> None:
    try:
        policy = parse_policy(text, "fuzz.yaml")
    except DocumentError as error:
        assert error.issues
        assert all(issue.source == "fuzz.yaml" and issue.line >= 1 for issue in error.issues)
    else:
        assert isinstance(policy, Policy)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["id", "match", "severity", "kind", "cite", "bogus", "entities", "by_turn"]
        ),
        min_size=1,
        max_size=5,
        unique=True,
    ),
    st.sampled_from(["x", "1", "[a]", "{phrases: [a]}", "critical", "pii"]),
)
def test_mutated_rules_never_escape_as_other_exceptions(keys: list[str], value: str) -> None:
    rule = "\n".join(f"    {key}: {value}" for key in keys)
    text = f"policy: demo\nversion: 1\nguardrails:\n  -\n{rule}\n"
    try:
        parse_policy(text, "m.yaml")
    except DocumentError as error:
        assert all(issue.line >= 1 for issue in error.issues)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("match: {phrases: ['*']}", "phrase '*' has no words to match"),
        ('match: {regex: ["\\bguarantee"]}', "contains the control character '\\x08'"),
        ("kind: pii\n    entities: [PHONE]\n    default_region: UK", "the United Kingdom is GB"),
        ("match: {phrases: [x], case_sensitive: 'yes'}", "Input should be a valid boolean"),
    ],
)
def test_values_that_would_silently_misbehave_are_errors(rule: str, message: str) -> None:
    text = f"policy: demo\nversion: 1\nguardrails:\n  - id: r\n    {rule}\n"
    assert any(message in error for error in _errors(text))


def test_quoted_numbers_are_not_versions() -> None:
    (error,) = _errors(MINIMAL.replace("version: 1", 'version: "1"'))
    assert "version: Input should be a valid integer" in error


def test_a_version_beyond_what_the_service_can_address_is_a_located_error() -> None:
    source = (
        "policy: p\nversion: 9007199254740993\n"
        "guardrails:\n  - {id: g, severity: violation, match: {phrases: [risk-free]}}\n"
    )
    with pytest.raises(DocumentError) as raised:
        parse_policy(source, "p.yaml")
    (issue,) = raised.value.issues
    assert issue.line == 2 and issue.field == "version"
    assert "2147483648" in issue.message
