"""Is a cue negated? "I can't guarantee" is not a guarantee; "I won't send it" is not a step.

A cue counts as negated when a negator occurs shortly before it within the same clause (a
comma, semicolon, "but" or sentence end in between cancels the negation).
"""

from __future__ import annotations

import re

_NEGATOR = re.compile(
    r"\b(?:not|never|no|none|nobody|nothing|neither|nor|without|hardly|barely|"
    r"cannot|can't|won't|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|shouldn't|"
    r"wouldn't|couldn't|mustn't|haven't|hasn't|hadn't|ain't|cant|wont|dont|doesnt|didnt|"
    r"isnt|arent|wasnt|shouldnt|wouldnt|couldnt|havent|hasnt|failed to|fails to|fail to)\b",
    re.IGNORECASE,
)
_BARRIER = re.compile(r"[,;:.!?]|\bbut\b|\bhowever\b|\bthough\b", re.IGNORECASE)
WINDOW_WORDS = 4


def is_negated(text: str, start: int, window_words: int = WINDOW_WORDS) -> bool:
    """True if a negator is among the `window_words` words before `start` in the same clause."""
    before = text[max(0, start - 80) : start]
    barriers = list(_BARRIER.finditer(before))
    if barriers:
        before = before[barriers[-1].end() :]
    tail = " ".join(before.split()[-window_words:])
    return _NEGATOR.search(tail) is not None
