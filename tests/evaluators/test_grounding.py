from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from evaluators.grounding import contradictions, quantities, sentence_around


@dataclass(frozen=True)
class P:
    chunk_id: str
    document: str
    section: str
    text: str
    score: float


LABEL = P(
    "label#4",
    "label.md",
    "Clinical studies",
    "In two 12-week trials Velmora 80 mg lowered systolic pressure by 11 mmHg. "
    "Dizziness occurred in 3.6% vs 1.9% on placebo.",
    0.8,
)


def test_quantities_with_units_and_qualifiers() -> None:
    found = quantities("within 2 working days, 12-week trials, 3.6% or 1.9 per cent, 1,842 adults")
    assert [(q.value, q.unit) for q in found] == [
        (2.0, "day"),
        (12.0, "week"),
        (3.6, "%"),
        (1.9, "%"),
        (1842.0, "patients"),
    ]


def test_a_different_figure_in_the_same_unit_contradicts() -> None:
    (found,) = contradictions("It lowered systolic pressure by 20 mmHg.", [LABEL], 0.5)
    assert found.claim.text == "20 mmHg"
    assert [q.text for q in found.stated] == ["11 mmHg"]
    assert "label.md \u00a7 Clinical studies says 11 mmHg" in found.describe()
    assert found.describe().startswith("unsubstantiated: ")


def test_matching_figures_units_not_stated_and_distant_passages_are_not_judged() -> None:
    assert contradictions("It lowered systolic pressure by 11 mmHg at 80 mg.", [LABEL], 0.5) == []
    assert contradictions("Patients lost 3 kg.", [LABEL], 0.5) == []
    assert contradictions("It lowered pressure by 20 mmHg.", [LABEL], 0.9) == []
    assert contradictions("In 2021 it launched.", [LABEL], 0.5) == []


def test_sentence_around_quotes_the_sentence_holding_the_offset() -> None:
    offset = LABEL.text.index("3.6%")
    assert sentence_around(LABEL.text, offset) == "Dizziness occurred in 3.6% vs 1.9% on placebo."
    assert sentence_around(LABEL.text, 0).startswith("In two 12-week trials")


@given(st.text(max_size=120))
def test_quantities_never_fail_and_spans_point_at_their_text(text: str) -> None:
    for quantity in quantities(text):
        assert text[quantity.start : quantity.end] == quantity.text
