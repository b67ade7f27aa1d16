"""`disrespect`: dismissive, condescending or insulting words towards the other person.

Three kinds of evidence, each reported with the offending words as the span:

- dismissive or condescending phrases: telling someone to calm down, reminding them they have
  been told already, belittling their question or feelings ("that's a stupid question",
  "you're overreacting", "it's not rocket science"), brushing them off ("not my problem");
- insults: an insulting noun ("idiot"), or an insulting word aimed at the person or what they
  said ("you're useless", "what a clown", "a ridiculous question");
- profanity and slurs from the lexicon in `offensive_words`.

A negation within three words before a cue clears it ("you're not an idiot" reassures), so a
negation further back does not ("I'm not saying you're an idiot" is still flagged). Quotation
marks clear a cue too (a learner may report what a customer said), except for slurs, which are
flagged wherever they appear. Calling oneself names ("I'm such an idiot", "probably a silly
question") is not disrespect towards the other person. Brush-offs that are imperatives ("get
over it", "relax", "whatever") count only where a clause starts, so "it helped me get over it"
is fine.
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
from evaluators.behaviours.prefilter import RegexPrefilter
from evaluators.behaviours.text import inside, normalise, quotations

NAME = "disrespect"


def _words(entries: tuple[str, ...]) -> str:
    return "(?:" + "|".join(entries) + ")"


_ADJ = _words(INSULT_ADJECTIVES)
_INTENSIFIER = r"(?:(?:so|such|really|very|totally|completely|utterly|just|absolutely|bloody|"
_INTENSIFIER += r"fucking|damn|a|an|the|most|complete|total|little|big|fat|stupid)\s+)*"
_AT_YOU = (
    r"(?:you(?:'re|\s+are|\s+were|\s+look|\s+sound|\s+seem|\s+must\s+be)|u\s+r|ur|"
    r"what\s+an?|such\s+an?|are\s+you|(?:he|she|they)(?:'s|\s+is|'re|\s+are))"
)
# Calling someone a name needs no verb: "you pig", "you idiot".
_VOCATIVE = r"(?:you|bunch\s+of)"

# (pattern, why, imperative): an imperative only counts where a clause starts, so "helped me
# get over it" or "you'd better deal with it soon" are not brush-offs.
_PHRASES: tuple[tuple[str, str, bool], ...] = (
    (r"calm\s+down|settle\s+down|chill\s+out|take\s+a\s+chill\s+pill|"
     r"don't\s+get\s+(?:so\s+)?(?:worked\s+up|hysterical|emotional|upset)",
     "tells them how to feel", False),
    (r"as\s+i\s+(?:already|just|have\s+already)\s+(?:said|told\s+you|explained|mentioned)|"
     r"as\s+i\s+told\s+you|like\s+i\s+(?:already\s+|just\s+)?told\s+you|"
     r"i(?:'ve|\s+have)\s+already\s+(?:told|explained|said)|i\s+already\s+told\s+you|"
     r"how\s+many\s+times\s+(?:do|have|must)\s+i|"
     r"for\s+the\s+(?:last|hundredth|third|tenth)\s+time|are\s+you\s+even\s+listening|"
     r"did\s+you\s+even\s+(?:read|listen|look|try)|what\s+part\s+of\b[^.?!]{1,40}\bdon't\s+you\s+"
     r"(?:understand|get)|try\s+to\s+keep\s+up|i'll\s+say\s+it\s+(?:again\s+)?(?:slowly|one\s+more)|"
     r"(?:maybe|perhaps)\s+you\s+should\s+(?:read|learn|try\s+reading|google)|"
     r"learn\s+(?:how\s+)?to\s+(?:read|google|search|spell)|google\s+it|rtfm",
     "makes them feel slow for asking", False),
    (r"(?:that's|that\s+is|what)\s+(?:an?\s+)?(?:stupid|dumb|silly|ridiculous|idiotic|pointless|"
     r"daft|absurd|moronic)\s+(?:question|thing\s+to\s+(?:say|ask)|idea|comment|request)",
     "belittles their question", False),
    (r"you(?:'re|\s+are)\s+(?:just\s+|being\s+|completely\s+|totally\s+)?(?:overreacting|"
     r"over-reacting|being\s+(?:ridiculous|dramatic|hysterical|emotional|paranoid|silly|"
     r"unreasonable|difficult|childish|sensitive|stupid))|don't\s+be\s+(?:so\s+)?(?:silly|"
     r"ridiculous|stupid|dramatic|sensitive|naive|childish|difficult)|"
     r"stop\s+(?:whining|complaining|moaning|crying)",
     "dismisses their feelings", False),
    (r"get\s+over\s+it|grow\s+up|man\s+up|toughen\s+up|deal\s+with\s+it|suck\s+it\s+up|"
     r"relax|whatever(?=\s*(?:[.!,]|$))|so\s+what(?=\s*(?:[?.!,]|$))",
     "dismisses their feelings", True),
    (r"it's\s+not\s+(?:that\s+hard|rocket\s+science|brain\s+surgery)|"
     r"even\s+a\s+(?:child|kid|five-year-old|monkey)\s+(?:could|can|would)|"
     r"(?:obviously|clearly)\s+you\s+(?:don't|didn't|haven't|can't)|"
     r"any\s+idiot\s+(?:could|can|knows)",
     "talks down to them", False),
    (r"not\s+my\s+(?:problem|fault|job|concern)|(?:that's|it's)\s+your\s+(?:problem|fault|"
     r"own\s+fault)|who\s+cares|i\s+don't\s+care|i\s+couldn't\s+care\s+less|"
     r"i\s+don't\s+have\s+time\s+for\s+(?:this|you)|take\s+it\s+or\s+leave\s+it|"
     r"you\s+people|people\s+like\s+you|with\s+all\s+due\s+respect|no\s+offen[cs]e,?\s+but",
     "brushes them off", False),
    (r"shut\s+up|shut\s+your\s+\w+|be\s+quiet|get\s+lost|go\s+away|piss\s+off|bugger\s+off|"
     r"sod\s+off|screw\s+you|bite\s+me|get\s+a\s+life|what's\s+wrong\s+with\s+you|"
     r"are\s+you\s+(?:stupid|deaf|blind|dumb|kidding\s+me|insane|crazy|mad)\b|"
     r"what\s+is\s+wrong\s+with\s+you|who\s+do\s+you\s+think\s+you\s+are|"
     r"nobody\s+asked\s+you|mind\s+your\s+own\s+business",
     "is rude to them", False),
)
_PHRASE = re.compile(
    "|".join(
        f"(?P<p{index}>\\b(?:{pattern})\\b)" for index, (pattern, _, _) in enumerate(_PHRASES)
    ),
    re.IGNORECASE,
)
_INSULT_NOUN = re.compile(rf"\b{_words(INSULT_NOUNS)}\b", re.IGNORECASE)
_AIMED = re.compile(
    rf"\b{_AT_YOU}\s+{_INTENSIFIER}(?:{_ADJ}|{_words(AIMED_NOUNS)})\b|"
    rf"\b{_VOCATIVE}\s+{_INTENSIFIER}{_words(AIMED_NOUNS)}\b|"
    rf"\b{_ADJ}\s+(?:question|idea|comment|answer|excuse|request|suggestion|person|people|"
    r"customer|man|woman|guy|girl|kid|boy|lady)s?\b",
    re.IGNORECASE,
)
# "Probably a stupid question, but…": the speaker belittles their own words, not the other's.
_SELF_DEPRECATING = re.compile(
    r"\b(?:sorry\s+if\s+this\s+is|probably|maybe|perhaps|might\s+be|may\s+be|my|i\s+have|"
    r"i\s+know\s+this\s+is|this\s+(?:is|may\s+be|might\s+be))\s+(?:a\s+|an\s+|such\s+a\s+)?"
    r"(?:\w+\s+)?$",
    re.IGNORECASE,
)
_CLAUSE_START = re.compile(r"(?:^|[.,;:!?\-]\s*|\b(?:just|so|now|oh|well|and|please)\s+)$", re.I)
_PROFANITY = re.compile(rf"\b{_words(PROFANITY)}\b", re.IGNORECASE)
_SLUR = re.compile(rf"\b{_words(SLURS)}\b", re.IGNORECASE)
_SELF = re.compile(
    r"\b(?:i'm|i\s+am|i\s+was|i\s+feel\s+like|i\s+felt\s+like|call\s+me|me,?\s+the|"
    r"made\s+me\s+(?:look|feel)\s+like|i\s+look(?:ed)?\s+like)\s+(?:\w+\s+){0,3}$",
    re.IGNORECASE,
)

# Partial transcripts run this detector on every word, and almost always nothing can match.
MAY_OFFEND = RegexPrefilter((_PHRASE, _AIMED, _INSULT_NOUN, _PROFANITY, _SLUR))


def _candidates(text: str) -> Iterator[tuple[int, int, str, bool]]:
    """(start, end, why, always) for every cue; `always` cues ignore quotes and negation."""
    for match in _PHRASE.finditer(text):
        _, why, imperative = _PHRASES[int((match.lastgroup or "p0")[1:])]
        if imperative and not _CLAUSE_START.search(text[: match.start()]):
            continue
        yield match.start(), match.end(), why, False
    for match in _AIMED.finditer(text):
        if _SELF_DEPRECATING.search(text[max(0, match.start() - 40) : match.start()]):
            continue
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
    if not MAY_OFFEND.may_match(normalised):
        return []
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
