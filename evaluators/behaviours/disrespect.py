"""`disrespect`: dismissive, condescending or insulting words towards the other person.

Three kinds of evidence, each reported with the offending words as the span:

- dismissive or condescending phrases: telling someone to calm down, reminding them they have
  been told already, belittling their question or feelings ("that's a stupid question",
  "you're overreacting", "it's not rocket science"), brushing them off ("not my problem");
- insults: an insulting noun ("idiot"), or an insulting word aimed at the person or what they
  said ("you're useless", "what a clown", "a ridiculous question");
- profanity and slurs from the lexicon in `offensive_words`.

Negation clears a phrase or an insult ("I'm not saying you're an idiot" is still judged by the
words after it, but "you're not an idiot" reassures) and so do quotation marks (a learner may
report what a customer said), except for slurs, which are flagged wherever they appear. Calling
oneself names ("I'm such an idiot") is not disrespect towards the other person.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from evaluators.behaviours.hit import BehaviourHit
from evaluators.behaviours.negation import is_negated
from evaluators.behaviours.offensive_words import (
    AIMED_NOUNS,
    INSULT_ADJECTIVES,
    INSULT_NOUNS,
    PROFANITY,
    SLURS,
)
from evaluators.behaviours.text import inside, normalise, quotations

NAME = "disrespect"


def _words(entries: tuple[str, ...]) -> str:
    return "(?:" + "|".join(entries) + ")"


_ADJ = _words(INSULT_ADJECTIVES)
_INTENSIFIER = r"(?:(?:so|such|really|very|totally|completely|utterly|just|absolutely|bloody|"
_INTENSIFIER += r"fucking|damn|a|an|the|most|complete|total|little|big|fat|stupid)\s+)*"
_AT_YOU = (
    r"(?:you(?:'re|\s+are|\s+were|\s+look|\s+sound|\s+seem|\s+must\s+be|\s+been)?|u\s+r|ur|"
    r"what\s+an?|such\s+an?|bunch\s+of|are\s+you|(?:he|she|they)(?:'s|\s+is|'re|\s+are))"
)

_PHRASES: tuple[tuple[str, str], ...] = (
    (r"calm\s+down|settle\s+down|chill\s+out|relax,|take\s+a\s+chill\s+pill|"
     r"don't\s+get\s+(?:so\s+)?(?:worked\s+up|hysterical|emotional|upset)",
     "tells them how to feel"),
    (r"as\s+i\s+(?:already\s+|just\s+|have\s+already\s+)?(?:said|told\s+you|explained|mentioned)|"
     r"like\s+i\s+(?:already\s+|just\s+)?(?:said|told\s+you)|i(?:'ve|\s+have)\s+already\s+"
     r"(?:told|explained|said)|i\s+already\s+told\s+you|how\s+many\s+times\s+(?:do|have|must)\s+i|"
     r"for\s+the\s+(?:last|hundredth|third|tenth)\s+time|are\s+you\s+(?:even\s+)?listening|"
     r"did\s+you\s+(?:even\s+)?(?:read|listen|look)|what\s+part\s+of\b[^.?!]{1,40}\bdon't\s+you\s+"
     r"(?:understand|get)|try\s+to\s+keep\s+up|i'll\s+say\s+it\s+(?:again\s+)?(?:slowly|one\s+more)|"
     r"read\s+the\s+(?:manual|instructions|fine\s+print|faq|docs|documentation)|rtfm",
     "makes them feel slow for asking"),
    (r"(?:that's|that\s+is|what)\s+(?:an?\s+)?(?:stupid|dumb|silly|ridiculous|idiotic|pointless|"
     r"daft|absurd|moronic)\s+(?:question|thing\s+to\s+(?:say|ask)|idea|comment|request)|"
     r"(?:there's|there\s+is)\s+no\s+such\s+thing\s+as\s+a\s+stupid\s+question\s+but",
     "belittles their question"),
    (r"you(?:'re|\s+are)\s+(?:just\s+|being\s+|completely\s+|totally\s+)?(?:overreacting|"
     r"over-reacting|being\s+(?:ridiculous|dramatic|hysterical|emotional|paranoid|silly|"
     r"unreasonable|difficult|childish|sensitive|stupid))|don't\s+be\s+(?:so\s+)?(?:silly|"
     r"ridiculous|stupid|dramatic|sensitive|naive|childish|difficult|an?\s+\w+)|"
     r"stop\s+(?:whining|complaining|moaning|crying|being\s+(?:so\s+)?\w+)|"
     r"get\s+over\s+it|grow\s+up|man\s+up|toughen\s+up|deal\s+with\s+it|suck\s+it\s+up",
     "dismisses their feelings"),
    (r"it's\s+not\s+(?:that\s+hard|rocket\s+science|brain\s+surgery|complicated)|"
     r"even\s+a\s+(?:child|kid|five-year-old|monkey)\s+(?:could|can|would)|"
     r"(?:obviously|clearly)\s+you\s+(?:don't|didn't|haven't|can't)|"
     r"it's\s+(?:common\s+sense|obvious)|any\s+idiot\s+(?:could|can|knows)",
     "talks down to them"),
    (r"not\s+my\s+(?:problem|fault|job|concern)|(?:that's|it's)\s+your\s+(?:problem|fault|"
     r"own\s+fault)|who\s+cares|so\s+what\??|i\s+don't\s+care|i\s+couldn't\s+care\s+less|"
     r"i\s+don't\s+have\s+time\s+for\s+(?:this|you)|whatever,|take\s+it\s+or\s+leave\s+it|"
     r"you\s+people|people\s+like\s+you|with\s+all\s+due\s+respect|no\s+offen[cs]e,?\s+but",
     "brushes them off"),
    (r"shut\s+up|shut\s+your\s+\w+|be\s+quiet|get\s+lost|go\s+away|piss\s+off|bugger\s+off|"
     r"sod\s+off|screw\s+you|bite\s+me|get\s+a\s+life|what's\s+wrong\s+with\s+you|"
     r"are\s+you\s+(?:stupid|deaf|blind|dumb|serious|kidding\s+me|insane|crazy|mad)|"
     r"what\s+is\s+wrong\s+with\s+you|who\s+do\s+you\s+think\s+you\s+are|"
     r"nobody\s+asked\s+you|mind\s+your\s+own\s+business",
     "is rude to them"),
)
_PHRASE = re.compile(
    "|".join(f"(?P<p{index}>\\b(?:{pattern}))" for index, (pattern, _) in enumerate(_PHRASES)),
    re.IGNORECASE,
)
_INSULT_NOUN = re.compile(rf"\b{_words(INSULT_NOUNS)}\b", re.IGNORECASE)
_AIMED = re.compile(
    rf"\b{_AT_YOU}\s+{_INTENSIFIER}(?:{_ADJ}(?:\s+\w+)?|{_words(AIMED_NOUNS)})\b|"
    rf"\b{_ADJ}\s+(?:question|idea|comment|answer|excuse|request|suggestion|person|people|"
    r"customer|man|woman|guy|girl|kid|boy|lady)s?\b",
    re.IGNORECASE,
)
_PROFANITY = re.compile(rf"\b{_words(PROFANITY)}\b", re.IGNORECASE)
_SLUR = re.compile(rf"\b{_words(SLURS)}\b", re.IGNORECASE)
_SELF = re.compile(
    r"\b(?:i'm|i\s+am|i\s+was|i\s+feel\s+like|i\s+felt\s+like|call\s+me|me,?\s+the|"
    r"made\s+me\s+(?:look|feel)\s+like|i\s+look(?:ed)?\s+like)\s+(?:\w+\s+){0,3}$",
    re.IGNORECASE,
)


def _candidates(text: str) -> Iterator[tuple[int, int, str, bool]]:
    """(start, end, why, always) for every cue; `always` cues ignore quotes and negation."""
    for match in _PHRASE.finditer(text):
        index = int((match.lastgroup or "p0")[1:])
        yield match.start(), match.end(), _PHRASES[index][1], False
    for match in _AIMED.finditer(text):
        yield match.start(), match.end(), "insults them", False
    for match in _INSULT_NOUN.finditer(text):
        if not _SELF.search(text[max(0, match.start() - 40) : match.start()]):
            yield match.start(), match.end(), "an insult", False
    for match in _PROFANITY.finditer(text):
        yield match.start(), match.end(), "swearing", False
    for match in _SLUR.finditer(text):
        yield match.start(), match.end(), "a slur", True


def detect_disrespect(text: str, previous: str | None = None) -> list[BehaviourHit]:
    """One hit per offending expression (overlapping cues merged); span = offending words."""
    normalised = normalise(text)
    quoted = quotations(normalised)
    accepted: list[tuple[int, int, str]] = []
    for start, end, why, always in sorted(_candidates(normalised), key=lambda c: (c[0], -c[1])):
        if not always and (inside(quoted, start, end) or is_negated(normalised, start, 3)):
            continue
        if accepted and start < accepted[-1][1]:
            if end > accepted[-1][1]:
                accepted[-1] = (accepted[-1][0], end, accepted[-1][2])
            continue
        accepted.append((start, end, why))
    return [
        BehaviourHit(NAME, start, end, f"disrespect: {why} ('{' '.join(text[start:end].split())}')")
        for start, end, why in accepted
    ]
