"""Find the questions in an utterance and tell open ones from closed ones.

Coaching frameworks (motivational interviewing's MITI code among them) call a question open when
it invites the other person to answer at length in their own words, and closed when it can be
answered with yes/no, a choice from the options offered, or one specific fact. So:

- open: a question led by *what*, *how* or *why* (but not *how many/much/long/often…* or
  *how confident are you*, which ask for a number or a degree), or a request to elaborate:
  *tell me*, *describe*, *walk me through*, *help me understand*, *I'm wondering what…*.
  An imperative request to elaborate is an open question without a question mark too
  ("Tell me more about that.").
- closed: every other question: yes/no (an auxiliary before the subject), either/or, tag
  ("…, right?"), declarative ("You stopped last week?"), scaling questions, and
  *when/where/who/which* questions, which ask for one fact.

Spoken questions often open with preamble ("what about your father, is he any help?"): the
last clause that has the form of a question decides the kind. Each question sentence gets
exactly one kind, so the open and closed detectors never both claim it. Unpunctuated speech
still counts when a sentence opens like a question ("what do you think"). Backchannels
("Really?", "They do?") and questions the speaker only reports inside quotation marks
('she asked "why now?"') are not the speaker's questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from evaluators.behaviours.text import Sentence, iter_clauses, normalise, quotations, sentences


class QuestionKind(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Question:
    """A question sentence: its span in the utterance, its kind, and why, in plain words."""

    start: int
    end: int
    kind: QuestionKind
    reason: str


_FILLER = (
    r"(?:so|and|but|or|okay|ok|well|um+|uh+|uhm|er|erm|hmm+|mm+|yeah|yes|right|alright|"
    r"all\s+right|now|then|oh|ah|great|good|sure|mm-hmm|uh-huh|I\s+see|I\s+mean|I\s+guess|"
    r"anyway|also|just|like|actually|basically|again)"
)
_LEADING_FILLERS = re.compile(rf"^(?:{_FILLER}\b[\s,.\-]*)+", re.IGNORECASE)

_AUX = (
    r"(?:do|does|did|is|are|was|were|am|have|has|had|can|could|will|would|shall|should|may|"
    r"might|must|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|haven't|hasn't|can't|"
    r"couldn't|won't|wouldn't|shouldn't)"
)
_SUBJECT = r"(?:i|you|we|he|she|it|they|that|this|there|these|those|anyone|anybody|someone)"
# Subject-auxiliary inversion: the auxiliary, then a pronoun or a determiner.
_INVERTED_SUBJECT = (
    rf"(?:{_SUBJECT}|the|a|an|any|some|your|my|his|her|our|their|its|all|every\w*|"
    r"any\w+|some\w+|no\w*)"
)
_STUTTER = r"(?:[a-z]{1,4}-)?"  # "wh-what", "ho-how": the wh-word still leads

_YES_NO = re.compile(
    rf"^{_STUTTER}{_AUX}(?:n't)?\s+(?:not\s+)?{_INVERTED_SUBJECT}\b", re.IGNORECASE
)
_FACT_WH = re.compile(
    rf"^{_STUTTER}(?:how\s+(?:many|much|long|often|old|far|soon|big|frequently)|"
    r"what\s+(?:time|year|day|date|age|number|percentage|dose|month|ones?)\b)",
    re.IGNORECASE,
)
_DEGREE_WH = re.compile(
    rf"^{_STUTTER}how\s+(?!{_AUX}\b|{_SUBJECT}\b|come\b|about\b|so\b|else\b|exactly\b)"
    r"[a-z]+(?:\s+(?:is|are|was|were|do|does|did|would|will|has|have)\b|\s*$)",
    re.IGNORECASE,
)
_OTHER_WH = re.compile(rf"^{_STUTTER}(?:when|where|who|whom|whose|which)\b", re.IGNORECASE)
_OPEN_WH = re.compile(rf"^{_STUTTER}(?:what|how|why)\b(?:-\w+)*(?P<next>\s*[\w']*)", re.I)
# "What you said is…" and "how you feel matters" name a thing; they do not ask.
_FREE_RELATIVE_NEXT = re.compile(
    r"^\s*(?:i|you|we|he|she|they|i'm|you're|we're|he's|she's|they're|i've|you've)$",
    re.IGNORECASE,
)
_COPULA_AFTER = re.compile(r"\b(?:is|was|are|were|means)\b", re.IGNORECASE)
_INVERTED_WH = re.compile(rf"\b(?:what|how|why)\s+(?:else\s+)?{_AUX}\s+{_SUBJECT}\b", re.I)

_ELABORATE = re.compile(
    r"\b(?:tell\s+me|tell\s+us|describe|walk\s+me\s+through|talk\s+me\s+through|"
    r"take\s+me\s+through|help\s+me\s+understand|say\s+(?:a\s+(?:bit|little)\s+)?more|"
    r"explain|elaborate|expand\s+on|share\s+(?:with\s+me\s+)?(?:more|a\s+bit|a\s+little|what|how)|"
    r"talk\s+(?:to\s+me\s+)?(?:(?:a\s+(?:bit|little)\s+)?more|a\s+(?:bit|little))\s+about)\b",
    re.IGNORECASE,
)
_YES_NO_COMPLEMENT = re.compile(r"^\s*(?:\w+\s+){0,2}(?:if|whether)\b", re.IGNORECASE)
_NEGATED_REQUEST = re.compile(r"\b(?:don't|do\s+not|never|no\s+need\s+to)\s*$", re.IGNORECASE)
_WONDERING = re.compile(
    r"\b(?:wonder(?:ing|ed)?|curious|interested\s+(?:in|to\s+(?:know|hear))|imagine|"
    r"ask(?:ing|ed)?(?:\s+you)?|(?:like|want|wanted|love)\s+to\s+(?:know|hear|understand))"
    r"\s+(?:about\s+)?(?:what|how|why)\b(?!\s+(?:many|much|long|often|old))",
    re.IGNORECASE,
)
_SCALE = re.compile(r"\b(?:on\s+a\s+scale|scale\s+(?:of|from)|what\s+number)\b", re.I)
_TAG = re.compile(
    rf",\s*(?:right|okay|ok|yeah|correct|no|yes|huh|eh|true|yeah|"
    rf"{_AUX}(?:n't)?\s+(?:not\s+)?{_SUBJECT})\s*\??$",
    re.IGNORECASE,
)
_EITHER_OR = re.compile(r"\bor\b", re.IGNORECASE)

_IMPERATIVE_OPENER = re.compile(
    r"^(?:please\s+)?(?:tell\s+me|describe|walk\s+me\s+through|talk\s+me\s+through|"
    r"take\s+me\s+through|help\s+me\s+understand|say\s+more|explain|elaborate)\b",
    re.IGNORECASE,
)
_INTERROGATIVE_OPENER = re.compile(
    rf"^(?:{_AUX}\s+{_SUBJECT}\b|(?:what|how|why|when|where|who|which)\s+{_AUX}\b)",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(r"^(?:had|should|were)\s", re.IGNORECASE)  # "Had I known, …"
_NOT_A_QUESTION = re.compile(
    rf"^(?:really|seriously|no\s+way|what|pardon|sorry|huh|excuse\s+me|come\s+again|"
    rf"(?:you\s+)?know\s+what(?:\s+i\s+mean)?|you\s+know|you\s+see|guess\s+what|"
    rf"{_AUX}(?:\s+(?:not\s+)?{_SUBJECT})?|{_SUBJECT}\s+{_AUX}(?:\s+not)?|oh\s+\w+)$",
    re.IGNORECASE,
)

@dataclass(frozen=True)
class Verdict:
    """How a question sentence asks: its kind, the reason, and whether it is a statement
    said as a question ("You stopped last week?", "…, right?") rather than asked by its form."""

    kind: QuestionKind
    reason: str
    declarative: bool = False


_EITHER_OR_REASON = "an either/or question: the answer is one of the options"
_TAG_REASON = "a tag question: it invites agreement, not an account"
_DECLARATIVE_REASON = "a statement with a question mark: it asks for yes or no"


def strip_fillers(clause: str) -> str:
    """The clause without its leading discourse fillers ("so, um, okay, …")."""
    return _LEADING_FILLERS.sub("", clause.lstrip(" \"'(-")).strip()


def _lead(core: str, count: int = 2) -> str:
    return " ".join(core.lower().split()[:count])


def _clause_verdict(core: str, is_last: bool, sentence: str) -> Verdict | None:
    """The kind of question a clause asks by its form, or None if it has no question form."""
    if _FACT_WH.match(core) or _OTHER_WH.match(core):
        return Verdict(QuestionKind.CLOSED, f"asks for one fact ('{_lead(core)}')")
    if _DEGREE_WH.match(core):
        return Verdict(QuestionKind.CLOSED, f"asks for a degree ('{_lead(core)}')")
    if _YES_NO.match(core):
        if _EITHER_OR.search(sentence):
            return Verdict(QuestionKind.CLOSED, _EITHER_OR_REASON)
        return Verdict(QuestionKind.CLOSED, f"a yes/no question ('{_lead(core)}')")
    match = _OPEN_WH.match(core)
    if match is None:
        return None
    if _FREE_RELATIVE_NEXT.match(match.group("next")) and (
        not is_last or _COPULA_AFTER.search(core[match.end() :])
    ):
        return None
    return Verdict(QuestionKind.OPEN, f"starts with '{core.split()[0].lower()}'")


def classify(sentence: Sentence) -> Verdict:
    """Open or closed, with the reason a learner would be given."""
    text = sentence.text
    if _SCALE.search(text):
        return Verdict(QuestionKind.CLOSED, "a scaling question: the answer is a number")
    if _TAG.search(text.rstrip("\"') ")):
        return Verdict(QuestionKind.CLOSED, _TAG_REASON, declarative=True)
    request = _ELABORATE.search(text)
    if (
        request is not None
        and not _NEGATED_REQUEST.search(text[: request.start()])
        and not _YES_NO_COMPLEMENT.match(text[request.end() :])
    ):
        return Verdict(
            QuestionKind.OPEN, f"asks them to '{' '.join(request.group().lower().split())}'"
        )
    clauses = [strip_fillers(clause) for _, clause in iter_clauses(sentence)]
    for position in range(len(clauses) - 1, -1, -1):
        verdict = _clause_verdict(clauses[position], position == len(clauses) - 1, text)
        if verdict is not None:
            return verdict
    inverted = _INVERTED_WH.search(text)
    if inverted is not None:
        return Verdict(QuestionKind.OPEN, f"asks '{_lead(inverted.group(), 3)}…'")
    wondering = _WONDERING.search(text)
    if wondering is not None:
        return Verdict(QuestionKind.OPEN, f"'{' '.join(wondering.group().lower().split())}…'")
    if _EITHER_OR.search(text):
        return Verdict(QuestionKind.CLOSED, _EITHER_OR_REASON)
    return Verdict(QuestionKind.CLOSED, _DECLARATIVE_REASON, declarative=True)


def is_question(sentence: Sentence, quoted: list[tuple[int, int]]) -> bool:
    """Does the sentence ask something, by its question mark or, failing that, its word order?"""
    text = sentence.text
    core = strip_fillers(text.rstrip("?!.,\"' "))
    if not core or _NOT_A_QUESTION.match(core):
        return False  # "Yeah?", "Really?", "They do?": a backchannel, not a question
    if sentence.is_question:
        mark = sentence.start + text.rfind("?")
        return not any(left <= mark < right and left > sentence.start for left, right in quoted)
    if _IMPERATIVE_OPENER.match(core):
        return True
    if text.rstrip("\"') ")[-1] in ".!":
        # Mis-punctuated speech ("What else can you tell me.") keeps a question's word order.
        return _INTERROGATIVE_OPENER.match(core) is not None and not _CONDITIONAL.match(core)
    # Unpunctuated or broken-off speech ("what do you think"): word order alone decides.
    if _INTERROGATIVE_OPENER.match(core):
        return True
    verdict = _clause_verdict(core, True, text)
    return verdict is not None and verdict.kind is QuestionKind.OPEN


@lru_cache(maxsize=4096)
def _questions(text: str) -> tuple[Question, ...]:
    normalised = normalise(text)
    quoted = quotations(normalised)
    found = []
    for sentence in sentences(normalised):
        if is_question(sentence, quoted):
            verdict = classify(sentence)
            found.append(Question(sentence.start, sentence.end, verdict.kind, verdict.reason))
    return tuple(found)


def find_questions(text: str) -> list[Question]:
    """Every question sentence of `text`, each classified once as open or closed."""
    return list(_questions(text))
