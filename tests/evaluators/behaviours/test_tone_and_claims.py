from __future__ import annotations

import pytest

from evaluators.behaviours import detect


def offending(text: str) -> list[str]:
    return [text[hit.start : hit.end] for hit in detect("disrespect", text)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Calm down, sir, it is only a form.", ["Calm down"]),
        ("As I already told you, the fee is fixed.", ["As I already told you"]),
        ("Honestly, that's a stupid question.", ["that's a stupid question"]),
        ("Don\u2019t be silly, nobody reads those.", ["Don\u2019t be silly"]),
        ("Listen, you idiot, it's in the contract.", ["idiot"]),
        ("You're useless at this.", ["You're useless"]),
        ("Get over it.", ["Get over it"]),
        ("what the fuck is this", ["fuck"]),
    ],
)
def test_disrespect_marks_the_offending_words(text: str, words: list[str]) -> None:
    assert offending(text) == words


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Take your time, there is no rush.",
        "You're not an idiot for asking.",  # negated: reassurance
        "I'm such an idiot, I forgot the form.",  # about the speaker
        'The customer told me "calm down" and hung up.',  # reported in quotes
        "Probably a silly question, but is the fee monthly?",  # self-deprecating
        "It helped me get over it.",  # not an imperative brush-off
        "We ran guinea pig trials on the new form.",
    ],
)
def test_not_disrespect(text: str) -> None:
    assert offending(text) == []


def test_slurs_are_flagged_even_when_quoted() -> None:
    text = 'He called them "retards" in the meeting.'
    (hit,) = detect("disrespect", text)
    assert text[hit.start : hit.end] == "retards"
    assert "slur" in hit.detail


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("Velmora cures migraine.", "cures"),
        ("It is clinically proven to lower blood pressure.", "clinically proven to"),
        ("We guarantee you'll see results.", "guarantee"),
        ("Velmora reduces systolic pressure by 11 mmHg.", "reduces"),
        ("The new plan lowers your costs.", "lowers"),
        ("This fund is effective against inflation.", "is effective"),
        ("Velmora does not cause drowsiness.", "cause"),  # a categorical safety claim
    ],
)
def test_overclaiming(text: str, cue: str) -> None:
    (hit,) = detect("overclaiming", text)
    assert text[hit.start : hit.end].lower() == cue


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Velmora may reduce systolic pressure.",
        "Velmora is associated with lower pressure.",
        "In some patients, Velmora reduces pressure.",
        "The data suggest that it lowers costs.",
        "I can't guarantee any result.",  # negated absolute
        "Does it reduce pressure?",  # a question claims nothing
        "Survival improved after surgery.",  # a change, not a cause
        "Patients had an increased risk of falls.",  # an adjective, not a verb
        'The leaflet says "cures everything", which is not true.',  # quoted
        "We'll lower the fee if you switch.",  # the speaker's own action
        "I'll drive you to the clinic.",
    ],
)
def test_not_overclaiming(text: str) -> None:
    assert detect("overclaiming", text) == []


@pytest.mark.parametrize(
    "text",
    [
        "That must have been really frustrating.",
        "I understand this has cost you time.",
        "I\u2019m so sorry you had to wait on hold.",
        "That can't have been easy.",  # a negated "easy" names a hardship
        "You must be exhausted.",
        "How stressful for you.",
    ],
)
def test_impact_naming(text: str) -> None:
    assert len(detect("impact_naming", text)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I don't understand why you did that.",
        "It's hard to say.",  # a general remark, not about them
        "The form is easy to fill in.",
        '"That must have been frustrating" is on the script.',
    ],
)
def test_not_impact_naming(text: str) -> None:
    assert detect("impact_naming", text) == []


@pytest.mark.parametrize(
    "text",
    [
        "The next step is a short trial.",
        "I'll send you the proposal by Friday.",
        "Shall we book a follow-up for next week?",
        "Let's schedule a call for Tuesday.",
        "I\u2019ll follow up with the details.",
    ],
)
def test_next_steps(text: str) -> None:
    assert len(detect("next_steps", text)) == 1


@pytest.mark.parametrize(
    "text",
    ["", "There is no next step.", "I won't send you anything.", "The last meeting went well."],
)
def test_not_next_steps(text: str) -> None:
    assert detect("next_steps", text) == []
