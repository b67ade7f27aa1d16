"""`next_steps`: agreeing what happens next, who does it and when.

A conversation that ends with a next step has an outcome the other person can hold the
speaker to. Recognised: naming the next step ("the next step is…", "going forward"), a
commitment by the speaker with something to deliver ("I'll send you the summary by Friday"),
a proposal to meet or act ("shall we book…", "let's schedule…", "can we set up a call…"), and
a follow-up ("I'll follow up", "we'll check in next week"). A negated commitment ("I won't
send it") is not a step.
"""

from __future__ import annotations

import re

from evaluators.behaviours.hit import BehaviourHit
from evaluators.behaviours.negation import is_negated
from evaluators.behaviours.text import inside, normalise, quotations, sentences

NAME = "next_steps"

_WHEN = (
    r"(?:by|on|before|until|next|this|tomorrow|today|tonight|later|in\s+(?:a|an|two|three|\d+)|"
    r"within|end\s+of|first\s+thing|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
)
_DELIVER = (
    r"(?:send|email|e-mail|forward|share|call|ring|phone|text|book|schedule|arrange|set\s+up|"
    r"follow\s+up|check\s+in|get\s+back|confirm|prepare|draft|write\s+up|put\s+together|"
    r"look\s+into|find\s+out|organi[sz]e|order|review|update|reach\s+out|circle\s+back|"
    r"come\s+back|meet|see\s+you|talk|speak|touch\s+base)"
)
_NEXT_STEP = re.compile(
    r"\b(?:next\s+steps?|going\s+forward|moving\s+forward|action\s+items?|action\s+plan|"
    r"follow[\s-]up\s+(?:call|meeting|appointment|session|email|visit)|"
    r"(?:shall|should|can|could)\s+(?:we|i)\s+(?:go\s+ahead\s+and\s+)?"
    rf"(?:book|schedule|arrange|set\s+up|put\s+in|pencil\s+in|meet|plan|agree|{_DELIVER})|"
    r"(?:let's|let\s+us)\s+(?:go\s+ahead\s+and\s+)?(?:book|schedule|arrange|set\s+up|"
    rf"put\s+(?:something|a\s+time|a\s+date)|pencil|meet|plan|agree|{_DELIVER})|"
    rf"(?:i'll|i\s+will|i'm\s+going\s+to|i\s+am\s+going\s+to|we'll|we\s+will|"
    rf"we're\s+going\s+to|i\s+can)\s+(?:\w+\s+){{0,2}}?{_DELIVER}\b[^.?!]{{0,60}}?\b{_WHEN}\b|"
    r"(?:i'll|i\s+will|we'll|we\s+will)\s+(?:\w+\s+)?(?:follow\s+up|check\s+in|get\s+back\s+to\s+you|"
    r"be\s+in\s+touch|send\s+(?:you|that|this|it|over|the))|"
    r"(?:book|schedule|arrange)\s+(?:a|an|the|another|our|your)\s+(?:\w+\s+)?"
    r"(?:meeting|call|appointment|session|visit|review|demo)|"
    r"(?:see|speak\s+to|talk\s+to)\s+you\s+(?:next|on|tomorrow|in\s+(?:a|two|\d+)))\b",
    re.IGNORECASE,
)


def detect_next_steps(text: str, previous: str | None = None) -> list[BehaviourHit]:
    """One hit per sentence that agrees a next step; the span is the words that agree it."""
    normalised = normalise(text)
    quoted = quotations(normalised)
    hits = []
    for sentence in sentences(normalised):
        for match in _NEXT_STEP.finditer(sentence.text):
            start, end = sentence.start + match.start(), sentence.start + match.end()
            if inside(quoted, start, end) or is_negated(normalised, start):
                continue
            cue = " ".join(match.group().lower().split())
            hits.append(BehaviourHit(NAME, start, end, f"next step agreed: '{cue}'"))
            break
    return hits
