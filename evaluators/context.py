"""Is a matched phrase asserted by the speaker, or negated or quoted?

"I can't guarantee returns" and "nobody should call it risk-free" mention a forbidden phrase
without asserting it. Both checks look only to the left of the match and within its clause, so
they give the same answer on a partial transcript as on the final one: the words that decide
have always arrived before the match completes.
"""

from __future__ import annotations

import re

NEGATION_WINDOW_WORDS = 5

_NEGATION_CUES = frozenset(
    {
        "not",
        "no",
        "never",
        "nobody",
        "nothing",
        "none",
        "neither",
        "nor",
        "cannot",
        "hardly",
        "without",
    }
)
_NEGATING_STEMS = ("avoid", "refus", "deny", "denie")
_CLAUSE_BREAK = re.compile(r"[.;:!?\u2026]|,|\bbut\b|\bhowever\b|\balthough\b", re.IGNORECASE)
_WORD = re.compile(r"[\w'\u2019]+")
_AFFIRMING_PAIRS = frozenset(
    {
        ("no", "doubt"),
        ("no", "question"),
        ("no", "worries"),
        ("not", "only"),
        ("without", "doubt"),
        ("don't", "worry"),
        ("can't", "believe"),
    }
)


def _normalise(word: str) -> str:
    return word.lower().replace("\u2019", "'")


def _is_negation_cue(word: str, following: str | None) -> bool:
    if (word, following) in _AFFIRMING_PAIRS:
        return False
    return word in _NEGATION_CUES or word.endswith("n't") or word.startswith(_NEGATING_STEMS)


def clause_before(text: str, start: int) -> str:
    """The part of the match's clause that precedes it."""
    prefix = text[:start]
    breaks = list(_CLAUSE_BREAK.finditer(prefix))
    return prefix[breaks[-1].end() :] if breaks else prefix


def is_negated(text: str, start: int) -> bool:
    """True when a negation word stands within a few words before the match, same clause."""
    words = [_normalise(word) for word in _WORD.findall(clause_before(text, start))]
    window = words[-NEGATION_WINDOW_WORDS:]
    following: list[str | None] = [*window[1:], None]
    return any(
        _is_negation_cue(word, after) for word, after in zip(window, following, strict=False)
    )


def is_quoted(text: str, start: int) -> bool:
    """True when the match lies inside an open quotation ("..." or “...”)."""
    prefix = text[:start]
    if prefix.count("\u201c") > prefix.count("\u201d"):
        return True
    return prefix.count('"') % 2 == 1
