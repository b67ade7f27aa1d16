from __future__ import annotations

from itertools import pairwise

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum import luhn

from evaluators import SessionEvaluator, find_pii
from evaluators.pii import mask
from evaluators.pii_cards import fits_issuer_range
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


# --- payment cards: issuer ranges, and context for the shortest numbers ---------------------


@pytest.mark.parametrize(
    "card",
    [
        "378282246310005",  # American Express, 15 digits, no separators
        "6011 1111 1111 1117",  # Discover
        "3530-1113-3330-0000",  # JCB
        "2223 0000 4840 0011",  # Mastercard 2-series
        "3056 9309 0259 04",  # Diners Club, 14 digits
        "6212345678901234569",  # UnionPay, 19 digits
    ],
)
def test_cards_of_every_major_network_are_found(card: str) -> None:
    assert found(f"put it on {card} thanks") == [("CREDIT_CARD", card)]


def test_twelve_digit_maestro_needs_the_word_card() -> None:
    assert found("my maestro card 6759 1234 5674") == [("CREDIT_CARD", "6759 1234 5674")]
    assert found("ref 675912345674") == []  # passes Luhn, but nothing says it is a card


def test_number_outside_issuer_ranges_needs_the_word_card() -> None:
    assert found("tracking 1904123456784") == []  # Luhn-valid, but no 13-digit range starts 1
    assert found("credit card 1904123456784") == [("CREDIT_CARD", "1904123456784")]


@pytest.mark.parametrize(
    "text",
    [
        "licence D4111111111111111",  # glued to a letter: an identifier, not a card
        "charge 4111 1111 1111 1111x",
    ],
)
def test_card_digits_inside_a_code_are_not_a_card(text: str) -> None:
    assert found(text) == []


def test_iban_digits_are_not_also_a_card() -> None:
    assert found("my IBAN is GB68WEST40404010000004") == [("IBAN", "GB68WEST40404010000004")]


_BRAND_PREFIXES = ("4", "34", "37", "51", "55", "2221", "2720", "35", "6011", "65", "62")


@st.composite
def issued_card_numbers(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(_BRAND_PREFIXES))
    rest = (15 if prefix in ("34", "37") else 16) - 1 - len(prefix)
    body = prefix + draw(st.text("0123456789", min_size=rest, max_size=rest))
    assume(len(set(body)) > 1)
    return body + luhn.calc_check_digit(body)


@given(issued_card_numbers(), st.sampled_from(["", " ", "-"]), st.integers(1, 9))
def test_any_issued_card_is_found_in_any_grouping_and_a_wrong_digit_is_not(
    digits: str, separator: str, change: int
) -> None:
    grouped = separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))
    text = f"charge it to {grouped} please"
    assert fits_issuer_range(digits)
    assert find_pii(text, [PiiEntity.CREDIT_CARD])[0].text == grouped
    wrong = digits[:-1] + str((int(digits[-1]) + change) % 10)
    assert find_pii(f"charge it to {wrong} please", [PiiEntity.CREDIT_CARD]) == []


# --- phone numbers: every way of writing one, and look-alikes said near "call" --------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("dial +44 (0)20 7946 0018 today", "+44 (0)20 7946 0018"),  # trunk 0 in parentheses
        ("dial 0044 20 7946 0018 today", "0044 20 7946 0018"),  # ITU prefix 00, not +
        ("she is on +46 (0)8 412 563 90 today", "+46 (0)8 412 563 90"),
        ("she is on 0046 (0)8 412 563 90 today", "0046 (0)8 412 563 90"),
        ("it's 415.555.0132 for the office", "415.555.0132"),  # dots
        ("try (415) 555-0132 ext. 204 after lunch", "(415) 555-0132 ext. 204"),  # extension
        ("or 415-555-0132x12", "415-555-0132x12"),
    ],
)
def test_numbers_valid_where_dialled_are_found_in_any_style(text: str, number: str) -> None:
    assert found(text) == [("PHONE", number)]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("call me on 612 345 678 tonight", "612 345 678"),  # 3-3-3, as in Spain
        ("mobile 71-42-93-58", "71-42-93-58"),  # pairs, as in Denmark
        ("text me at 0612 734 58 90 later", "0612 734 58 90"),  # trunk prefix 0
        ("my number is 03-5123987", "03-5123987"),
        ("they are not answering at 0961-4483921", "0961-4483921"),
        ("07700 900123 (mobile)", "07700 900123"),  # the label follows, as on a card
        ("Desk: 6812 3344", "6812 3344"),
    ],
)
def test_foreign_national_numbers_need_words_that_say_phone(text: str, number: str) -> None:
    assert found(text) == [("PHONE", number)]
    assert found(f"the value was {number} overall") == []  # not valid in the US plan


def test_north_american_layout_is_enough_even_for_an_unassigned_area_code() -> None:
    assert found("it's (977) 481-3306 for her") == [("PHONE", "(977) 481-3306")]
    assert found("the patient: (977) 481-3306") == [("PHONE", "(977) 481-3306")]


def test_unbroken_digit_run_needs_words_that_say_phone() -> None:
    assert found("the total was 4155550132 today") == []  # valid as a number, yet just digits
    assert found("reach me on 4155550132") == [("PHONE", "4155550132")]
    assert found("4155550132 text me") == [("PHONE", "4155550132")]
    assert found("the total was 415-555-0132 today") == [("PHONE", "415-555-0132")]


@pytest.mark.parametrize(
    "text",
    [
        "call me about order 4155550132",  # a valid US number, but named an order number
        "call support, the setup fails with error 80070005",
        "my licence number is 5830214",
        "call the pharmacy about NDC 0002-7510-01",
        "call me, the reference is 0002-7510-01",
        "I called them in 2019 2020 and 2021",  # years
        "we contacted 1 250 000 households",  # thousands grouped by spaces
        "call me after the 10 20 40 mg titration",  # doses with their unit
        "text me about 250 500 1000 mg",
        "text me the IP 192.168.10.254",
        "call me on 12.05.2024",  # dates
        "call me on 2024-05-12",
        "call me, doses were 1 2 3 4 5 6 7",
        "a $1 250 000 premium, call me",
        "we texted 1,842,000 members",
        "call me about the 2.5 10.5 20.5 ml syringes",
        "call me at 3 30",
    ],
)
def test_numbers_near_phone_words_that_are_something_else_do_not_fire(text: str) -> None:
    assert found(text) == []


@given(
    area=st.sampled_from(["212", "312", "415", "617", "702", "913"]),
    exchange=st.integers(200, 999),
    line=st.integers(0, 9999),
    style=st.sampled_from(["({a}) {e}-{l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "+1 {a} {e} {l}"]),
)
def test_any_valid_us_number_is_found_in_each_usual_style(
    area: str, exchange: int, line: int, style: str
) -> None:
    national = f"{area}{exchange}{line:04d}"
    assume(phonenumbers.is_valid_number(phonenumbers.parse(national, "US")))
    number = style.format(a=area, e=exchange, l=f"{line:04d}")
    assert found(f"the clinic is {number} for questions") == [("PHONE", number)]


@given(
    trunk=st.text("123456789", min_size=2, max_size=3),
    middle=st.lists(st.text("0123456789", min_size=3, max_size=3), max_size=2),
    last=st.text("0123456789", min_size=4, max_size=4),
    separator=st.sampled_from([" ", "-"]),
)
def test_any_grouped_national_number_after_reach_me_on_is_found(
    trunk: str, middle: list[str], last: str, separator: str
) -> None:
    number = separator.join(["0" + trunk, *middle, last])
    assert found(f"you can reach me on {number} today") == [("PHONE", number)]


@given(
    amount=st.integers(1_000, 10**9),
    unit=st.sampled_from(["mg", "patients", "dollars", "units", "people", "%"]),
    thousands=st.sampled_from([",", " "]),
)
def test_quantities_are_not_phone_numbers_even_after_call(
    amount: int, unit: str, thousands: str
) -> None:
    quantity = f"{amount:,}".replace(",", thousands)
    assert find_pii(f"call me about the {quantity} {unit}", [PiiEntity.PHONE]) == []


@given(st.text("0123456789 -.()+xabc@,:", max_size=60))
def test_hits_are_exact_non_overlapping_slices_of_the_text(tail: str) -> None:
    text = f"call me on {tail}"
    hits = find_pii(text, ALL, "US")
    assert all(text[hit.start : hit.end] == hit.text for hit in hits)
    assert all(first.end <= second.start for first, second in pairwise(hits))


def test_internationalised_email_domain_is_found_whole() -> None:
    assert found("email a@xn--d1acufc.xn--p1ai now") == [("EMAIL", "a@xn--d1acufc.xn--p1ai")]
