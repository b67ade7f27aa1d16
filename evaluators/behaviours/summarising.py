"""`summarising`: pulling together what has been said so far, announced as a summary.

A summary is recognised by the words that announce it ("so to summarise", "let me recap",
"what I'm hearing is", "so far we've covered"), not by its length: the announcement is what
tells the other person they are being listened to and lets them correct the picture.
"""

from __future__ import annotations

import re

from evaluators.behaviours.hit import BehaviourHit
from evaluators.behaviours.negation import is_negated
from evaluators.behaviours.text import inside, normalise, quotations, sentences

NAME = "summarising"

_ANNOUNCEMENT = re.compile(
    r"\b(?:(?:so\s+)?to\s+(?:sum(?:marise|marize)?)(?:\s+(?:it\s+)?up)?|"
    r"in\s+summary|in\s+short|to\s+recap|let\s+me\s+(?:just\s+)?(?:recap|summari[sz]e|sum\s+(?:it\s+|this\s+|that\s+)?up|"
    r"pull\s+(?:this|that|it|these)\s+together|make\s+sure\s+i(?:'ve)?\s+(?:got|understand)|"
    r"see\s+if\s+i(?:'ve)?\s+(?:got|understand))|"
    r"(?:let's|let\s+us)\s+(?:recap|summari[sz]e|sum\s+up)|"
    r"(?:if\s+i\s+)?(?:can\s+i|could\s+i|may\s+i)\s+(?:just\s+)?(?:summari[sz]e|recap|sum\s+up)|"
    r"what\s+i(?:'m|\s+am|'ve|\s+have)\s+(?:hearing|heard)|"
    r"so\s+far\s+(?:we've|we\s+have|you've|you\s+have)\s+(?:covered|talked|discussed|said|agreed)|"
    r"(?:we've|we\s+have)\s+(?:covered|talked\s+about|discussed)\s+(?:a\s+(?:lot|few\s+things)|"
    r"several|three|two|four)|"
    r"(?:just\s+)?to\s+(?:make\s+sure|check)\s+i(?:'ve)?\s+(?:got|understood|understand)|"
    r"(?:in\s+)?a\s+nutshell|putting\s+(?:it|this|that)\s+(?:all\s+)?together|"
    r"to\s+pull\s+(?:this|that|it)\s+together|"
    r"let\s+me\s+(?:play|read)\s+(?:that|this|it)\s+back|"
    r"the\s+(?:main|key)\s+(?:points|things)\s+(?:are|were|i\s+heard))\b",
    re.IGNORECASE,
)


def detect_summaries(text: str, previous: str | None = None) -> list[BehaviourHit]:
    """One hit per announced summary; the span is the announcing words."""
    normalised = normalise(text)
    quoted = quotations(normalised)
    hits = []
    for sentence in sentences(normalised):
        for match in _ANNOUNCEMENT.finditer(sentence.text):
            start, end = sentence.start + match.start(), sentence.start + match.end()
            if inside(quoted, start, end) or is_negated(normalised, start):
                continue
            cue = " ".join(match.group().lower().split())
            hits.append(BehaviourHit(NAME, start, end, f"summary: announced with '{cue}'"))
            break
    return hits
