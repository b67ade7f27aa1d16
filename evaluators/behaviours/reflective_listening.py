"""`reflective_listening`: saying back what the other person said, feels or means, as a statement.

A reflection is recognised three ways:

1. by its frame, the words that announce one: "it sounds like…", "it seems…", "so you feel…",
   "you're worried that…", "what I'm hearing…", "you said…", "on the one hand…";
2. as a statement about the other person ("you've been…", "your family matters to you"):
   saying what they do, think or feel is what a reflection is, as long as it is not advice or
   an offer ("you should…", "you can…", "you'll get…");
3. by content: a statement that reuses at least two of the content words they just said
   (`previous`), unless the speaker is talking about themselves ("I…", "we…", "let's…").

Questions asked by their form ("Do you…?", "What…?") are questions, not reflections; a
statement said with a question mark ("So you want to stop?") can be both. Quoted sentences
do not count.
"""

from __future__ import annotations

import re

from evaluators.behaviours.hit import BehaviourHit
from evaluators.behaviours.questions import classify, is_question, strip_fillers
from evaluators.behaviours.text import (
    Sentence,
    content_words,
    inside,
    normalise,
    quotations,
    sentences,
    stem,
    words,
)

NAME = "reflective_listening"
MIN_SHARED_WORDS = 2

_FEELING = (
    r"(?:worried|concerned|scared|afraid|frustrated|angry|upset|anxious|nervous|stressed|"
    r"overwhelmed|tired|exhausted|stuck|torn|unsure|uncertain|confused|disappointed|hurt|"
    r"annoyed|fed\s+up|sad|lonely|embarrassed|ashamed|guilty|relieved|excited|proud|happy|"
    r"hopeful|ready|determined|committed|ambivalent|conflicted|comfortable|uncomfortable|"
    r"not\s+sure|pretty\s+sure|really\s+sure|feeling|thinking|wondering|hoping|struggling)"
)
_FRAMES = re.compile(
    r"\b(?:it\s+(?:sounds|seems|looks|feels)\s+(?:like|as\s+(?:if|though)|that)|"
    r"(?:it\s+)?(?:doesn't|does\s+not)\s+(?:sound|seem)\s+like|"
    r"sounds\s+like|seems\s+like|"
    r"you\s+(?:seem|sound|feel|felt|'re\s+feeling|are\s+feeling|were\s+feeling)\b|"
    r"so\s+you(?:'re|'ve|'d|\s+are|\s+have|\s+were|\s+want|\s+think|\s+feel|\s+don't)?\b|"
    rf"you(?:'re|\s+are|'ve\s+been|\s+were|\s+have\s+been)\s+(?:really\s+|quite\s+|a\s+bit\s+|"
    rf"kind\s+of\s+|sort\s+of\s+|pretty\s+|so\s+|very\s+|a\s+little\s+)?{_FEELING}|"
    r"what\s+i(?:'m|\s+am)\s+hearing|i(?:'m|\s+am)\s+hearing|i\s+hear\s+(?:you|that)|"
    r"you(?:'re|\s+are)\s+saying|you\s+(?:said|mentioned|told\s+me|described)|"
    r"if\s+i\s+(?:understand|hear|'ve\s+got\s+(?:this|that|it))|"
    r"i\s+get\s+(?:the\s+)?(?:sense|feeling|impression)|i\s+can\s+see\s+(?:that|how)|"
    r"on\s+(?:the\s+)?one\s+hand|on\s+the\s+other\s+hand|part\s+of\s+you|"
    r"for\s+you,|in\s+other\s+words|you\s+(?:really\s+)?(?:want|wish|hope|need)\b|"
    r"you(?:'re|\s+are)\s+not\s+(?:sure|ready|convinced)|you\s+don't\s+(?:want|like|think|feel|"
    r"see|know))",
    re.IGNORECASE,
)
_ABOUT_THEM = re.compile(r"^(?:\W*[\w'-]+\W+){0,3}?(?:you|you're|you've|you'd|your)\b", re.I)
_OFFER = re.compile(
    r"^(?:\W*[\w'-]+\W+){0,3}?you(?:'ll|'d|\s+(?:can|could|will|would|should|must|need|"
    r"have\s+to|get|might|may))\b",
    re.IGNORECASE,
)
_ABOUT_SPEAKER = re.compile(r"^(?:i|i'm|i've|i'd|i'll|we|we're|we've|we'll|let's|let)\b", re.I)
_DIRECTIVE = re.compile(
    r"\b(?:you\s+(?:should|must|need\s+to|have\s+to|ought\s+to|could\s+try|might\s+want\s+to)|"
    r"i\s+(?:recommend|suggest|advise|would\s+suggest)|let\s+me|let's|i'll|i\s+will|"
    r"please)\b",
    re.IGNORECASE,
)


def detect_reflections(text: str, previous: str | None = None) -> list[BehaviourHit]:
    """One hit per reflecting sentence; the span is the sentence, the detail says why."""
    normalised = normalise(text)
    quoted = quotations(normalised)
    heard = content_words(previous) if previous else set()
    hits = []
    for sentence in sentences(normalised):
        if inside(quoted, sentence.start, sentence.end) or _DIRECTIVE.search(sentence.text):
            continue
        if is_question(sentence, quoted) and not classify(sentence).declarative:
            continue
        detail = _why(sentence, heard, quoted)
        if detail is not None:
            hits.append(BehaviourHit(NAME, sentence.start, sentence.end, f"reflection: {detail}"))
    return hits


def _why(sentence: Sentence, heard: set[str], quoted: list[tuple[int, int]]) -> str | None:
    for frame in _FRAMES.finditer(sentence.text):
        start = sentence.start + frame.start()
        if not inside(quoted, start, sentence.start + frame.end()):
            return f"'{' '.join(frame.group().lower().split())}…'"
    core = strip_fillers(sentence.text)
    if _ABOUT_SPEAKER.match(core):
        return None
    if _ABOUT_THEM.match(core) and not _OFFER.match(core):
        return "says what they do, think or feel"
    own_words = _unquoted(sentence, quoted)
    shared = content_words(own_words) & heard
    if len(shared) >= MIN_SHARED_WORDS:
        echoed = dict.fromkeys(w.text for w in words(own_words) if stem(w.text) in shared)
        return f"says back their words ({', '.join(list(echoed)[:4])})"
    return None


def _unquoted(sentence: Sentence, quoted: list[tuple[int, int]]) -> str:
    """The sentence with quoted passages blanked: words someone else said are not an echo."""
    chars = list(sentence.text)
    for left, right in quoted:
        for index in range(max(left, sentence.start), min(right, sentence.end)):
            chars[index - sentence.start] = " "
    return "".join(chars)
