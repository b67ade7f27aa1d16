from __future__ import annotations

import pytest

from evaluators import SessionEvaluator, find_pii
from evaluators.pii import mask
from policies import PiiEntity

ALL = list(PiiEntity)


def found(text: str, region: str = "US") -> list[tuple[str, str]]:
    return [(hit.entity.value, hit.text) for hit in find_pii(text, ALL, region)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my SSN is 536-22-1234.", [("US_SSN", "536-22-1234")]),
        ("social security number 536221234", [("US_SSN", "536221234")]),
        ("card 4111 1111 1111 1111 please", [("CREDIT_CARD", "4111 1111 1111 1111")]),
        ("amex 3782-822463-10005 ok", [("CREDIT_CARD", "3782-822463-10005")]),
        (
            "write to jane.doe+rx@clinic.example.org today",
            [("EMAIL", "jane.doe+rx@clinic.example.org")],
        ),
        ("call (212) 555-0143 after five", [("PHONE", "(212) 555-0143")]),
        ("IBAN GB82 WEST 1234 5698 7654 32.", [("IBAN", "GB82 WEST 1234 5698 7654 32")]),
        ("she was born on 14 March 1985", [("DATE_OF_BIRTH", "14 March 1985")]),
        ("DOB: 03/14/1985", [("DATE_OF_BIRTH", "03/14/1985")]),
    ],
)
def test_personal_data_is_found(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "SSN 000-12-3456",  # area 000 is never issued
        "SSN 666-12-3456",  # area 666 is never issued
        "SSN 912-12-3456",  # 9xx areas are not SSNs
        "SSN 123-00-4567",  # group 00
        "SSN 123-45-0000",  # serial 0000
        "card 4111 1111 1111 1112",  # fails the Luhn check
        "order 0000 0000 0000 0000",  # one repeated digit
        "IBAN GB82 WEST 1234 5698 7654 33",  # wrong check digits
        "the trial ran 03/14/2019 to 06/30/2020",  # dates without birth context
        "lowered systolic by 11 mmHg at 80 mg in 1,842 adults",
        "reference 536221234",  # nine digits without SSN context
        "batch 555-0100 expired",  # a possible local number, but nothing says it is a phone
    ],
)
def test_look_alikes_do_not_fire(text: str) -> None:
    assert found(text) == []


def test_card_number_is_not_also_reported_as_phone() -> None:
    assert [entity for entity, _ in found("4111-1111-1111-1111")] == ["CREDIT_CARD"]


def test_possible_number_needs_context_or_international_prefix() -> None:
    assert found("call me on 555-0100") == [("PHONE", "555-0100")]
    assert found("dial +44 7700 900123 now") == [("PHONE", "+44 7700 900123")]


def test_region_decides_national_phone_numbers() -> None:
    assert found("ring 020 7946 0018 tomorrow", region="GB") == [("PHONE", "020 7946 0018")]
    assert found("ring 020 7946 0018 tomorrow", region="US") == []


def test_only_requested_entities_are_returned() -> None:
    text = "mail a@b.co or call (212) 555-0143"
    assert [h.entity for h in find_pii(text, [PiiEntity.EMAIL])] == [PiiEntity.EMAIL]


def test_mask_keeps_separators_and_last_two() -> None:
    assert mask("536-22-1234") == "\u2022\u2022\u2022-\u2022\u2022-\u2022\u202234"


def test_partial_waits_for_number_to_finish_then_final_redacts(pharma_plan) -> None:  # type: ignore[no-untyped-def]
    evaluator = SessionEvaluator(pharma_plan)
    assert evaluator.partial("u", 0, "her number is (212) 555-01") == []
    assert evaluator.partial("u", 1, "her number is (212) 555-0143") == []
    (finding,) = evaluator.partial("u", 2, "her number is (212) 555-0143 ok")
    assert finding.rule_id == "no-patient-data"
    assert finding.quote is not None and "555" not in finding.quote
    outcome = evaluator.final("u", "her number is (212) 555-0143 ok")
    assert outcome.new_findings == []
    assert "555" not in outcome.recordable_text
    assert len(outcome.recordable_text) == len("her number is (212) 555-0143 ok")
    assert [(s.start, s.end) for s in outcome.redacted_spans] == [(14, 28)]
