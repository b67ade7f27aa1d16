from __future__ import annotations

import pytest

from evaluators.behaviours import detect


@pytest.mark.parametrize(
    "text",
    [
        "It sounds like the side effects have worn you down.",
        "So you feel stuck between the two options.",
        "You're worried that the price will go up again.",
        "What I'm hearing is that time matters more than cost.",
        "On the one hand you like the product, on the other you can't justify the cost.",
        "It sounds like you\u2019re worried about the cost.",
    ],
)
def test_reflections_by_their_frame(text: str) -> None:
    (hit,) = detect("reflective_listening", text)
    assert (hit.start, hit.end) == (0, len(text))


def test_reflection_by_echoing_the_other_persons_words() -> None:
    previous = "My manager keeps moving the deadlines and the team is exhausted."
    text = "Shifting deadlines, and a team running on empty."
    hits = detect("reflective_listening", text, previous)
    assert len(hits) == 1
    assert "deadline" in hits[0].detail
    # Without what they said, the same words are just a statement.
    assert detect("reflective_listening", text) == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "You should try the higher dose.",  # advice
        "You can get ten percent off if you sign today.",  # an offer
        "I think the product is great.",  # about the speaker
        "Do you feel stuck?",  # a question asked by its form
        'My customer said "it sounds like a scam" and hung up.',  # quoted
    ],
)
def test_not_reflections(text: str) -> None:
    assert detect("reflective_listening", text, "I feel stuck and it sounds like a scam.") == []


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("So to summarise, you want lower fees and fewer calls.", "so to summarise"),
        ("Let me recap what we agreed.", "let me recap"),
        ("What I\u2019m hearing is that cost matters most.", "what i'm hearing"),
        ("in a nutshell you need it by May", "in a nutshell"),
    ],
)
def test_summaries_report_the_announcing_words(text: str, cue: str) -> None:
    (hit,) = detect("summarising", text)
    assert cue in hit.detail
    assert text[hit.start : hit.end].lower().replace("\u2019", "'") == cue


@pytest.mark.parametrize(
    "text", ["", "I won't summarise now.", "The summary page is on the website."]
)
def test_not_summaries(text: str) -> None:
    assert detect("summarising", text) == []
