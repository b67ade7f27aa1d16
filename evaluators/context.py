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


def _negation_count(text: str) -> int:
    words = [_normalise(word) for word in _WORD.findall(text)]
    following: list[str | None] = [*words[1:], None]
    return sum(_is_negation_cue(word, after) for word, after in zip(words, following, strict=False))


def negation_differs(clause: str, example: str) -> bool:
    """True when the clause and the example it resembles differ in polarity ("it is not
    risk-free" against "it is risk-free"): embeddings barely see the difference."""
    return _negation_count(clause) % 2 != _negation_count(example) % 2


_REPORTING_FRAME = re.compile(
    r"^(?P<subject>(?:[\w'\u2019]+\s+){0,4}?)"
    r"(?:say|says|said|claim|claims|claimed|think|thinks|believe|believes|argue|argues"
    r"|suggest|suggests|assume|assumes|heard|hear|call\s+it|calls\s+it|tell\s+you|told\s+you"
    r"|is\s+a\s+myth|are\s+wrong)\b",
    re.IGNORECASE,
)
_FIRST_PERSON = frozenset({"i", "we", "let", "me", "us"})
_REBUTTAL = re.compile(
    r"^\W*(?:,\s*)?(?:but|however|although)?\s*(?:it|that|this|they|which)?\s*"
    r"(?:is|isn't|isn\u2019t|'s|\u2019s|are|aren't|aren\u2019t|does|doesn't|doesn\u2019t|was|wasn't)?"
    r"\s*(?:simply\s+|just\s+|really\s+)?"
    r"(?:not|n't|never|wrong|false|untrue|a\s+myth|incorrect|misleading|not\s+true)\b",
    re.IGNORECASE,
)


def is_attributed(clause: str) -> bool:
    """True when the clause reports what others say ("some reps say it's risk-free") rather
    than asserting it; "I'd say it's risk-free" is still the speaker's own claim."""
    frame = _REPORTING_FRAME.match(clause.strip())
    if frame is None:
        return False
    subject = {_normalise(word).split("'")[0] for word in _WORD.findall(frame.group("subject"))}
    return not subject & _FIRST_PERSON


def is_rebutted(text: str, clause_end: int) -> bool:
    """True when the words right after the clause deny it ("…, but it isn't")."""
    return _REBUTTAL.match(text[clause_end:]) is not None
