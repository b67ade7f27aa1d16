from __future__ import annotations

import pytest

from evaluators.behaviours import detect


def kinds(text: str) -> list[tuple[str, str]]:
    """(kind, question text) for every question found, in order."""
    found = [
        (hit.start, kind, text[hit.start : hit.end])
        for kind in ("open", "closed")
        for hit in detect(f"{kind}_question", text)
    ]
    return [(kind, quoted) for _, kind, quoted in sorted(found)]


@pytest.mark.parametrize(
    "text",
    [
        "What brings you in today?",
        "How has the new dose been for you?",
        "So, um, why did you stop taking it?",
        "Tell me more about that.",
        "Can you walk me through a typical morning?",
        "Could you describe what happened next?",
        "I'm wondering what you'd like to be different?",
        "what do you make of that",  # no punctuation: the word order says it is a question
        "Okay. And wh-what would make it worth it for you?",  # a spoken stutter
        "What about your partner, how does she see it?",  # the last question clause decides
    ],
)
def test_open_questions(text: str) -> None:
    assert [kind for kind, _ in kinds(text)] == ["open"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Do you take it every day?", "yes/no"),
        ("Would you prefer mornings or evenings?", "either/or"),
        ("You stopped last week?", "statement with a question mark"),
        ("That was hard, wasn't it?", "tag question"),
        ("You want to keep going, right?", "tag question"),
        ("When did you start?", "one fact"),
        ("How many do you smoke a day?", "one fact"),
        ("On a scale of 0 to 10, how important is it to you?", "scaling"),
        ("How confident are you?", "degree"),
        ("Can you tell me if it hurts?", "yes/no"),  # "tell me if" asks for yes or no
        ("What about the baby's father, is he any help?", "yes/no"),
        ("do you want to book a slot", "yes/no"),
    ],
)
def test_closed_questions_say_which_kind(text: str, reason: str) -> None:
    hits = detect("closed_question", text)
    assert len(hits) == 1
    assert reason in hits[0].detail
    assert detect("open_question", text) == []


def test_one_hit_per_question_with_the_question_as_span() -> None:
    text = "Thanks for coming. What's on your mind? Is it the new job?"
    assert kinds(text) == [
        ("open", "What's on your mind?"),
        ("closed", "Is it the new job?"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "I think the plan works.",
        "What you said yesterday is important.",  # a free relative, not a question
        "What a day.",
        "Really?",  # a backchannel
        "Yeah? Okay?",
        'She asked me "why now?" and I had no answer.',  # a reported question
        "Had I known, I would have called.",  # conditional inversion
    ],
)
def test_not_questions(text: str) -> None:
    assert kinds(text) == []


def test_curly_apostrophes_work_like_straight_ones() -> None:
    straight = "What's worrying you? That's hard, isn't it?"
    curly = straight.replace("'", "\u2019")
    assert kinds(curly) == [
        ("open", "What\u2019s worrying you?"),
        ("closed", "That\u2019s hard, isn\u2019t it?"),
    ]
    assert [k for k, _ in kinds(curly)] == [k for k, _ in kinds(straight)]


def test_detail_names_the_wh_word() -> None:
    (hit,) = detect("open_question", "Why is that important to you?")
    assert hit.detail == "open question: starts with 'why'"
