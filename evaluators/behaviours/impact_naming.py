"""`impact_naming`: naming what the other person went through before fixing it.

Saying "that must have been frustrating" or "I understand this has cost you time" shows the
other person their experience was heard; it is what service and coaching rubrics ask for before
a solution. Recognised:

- an emotion or hardship named as theirs or as the situation's: "that must have been
  frustrating", "that sounds really hard", "how stressful for you", "you must be exhausted"
  (a bare "it's hard to…" is a general remark, not about them, and does not count);
- understanding, solidarity or regret about their experience: "I understand how upsetting…",
  "I can imagine…", "I hear you", "you're not alone", "I'm (so) sorry you've had to…";
- the cost to them: "this has cost you time", "I know this has caused you a lot of hassle".

"I don't understand why…" or "that can't have been easy" are judged with the negation: the
first is not empathy, the second is (a negated *easy* names a hardship).
"""

from __future__ import annotations

import re

from evaluators.behaviours.hit import BehaviourHit
from evaluators.behaviours.negation import is_negated
from evaluators.behaviours.text import inside, normalise, quotations, sentences

NAME = "impact_naming"

_HARD = (
    r"(?:frustrat\w*|upsetting|upset|stressful|stressed|hard|difficult|tough|rough|painful|"
    r"awful|terrible|horrible|scary|frightening|worrying|worried|exhausting|exhausted|"
    r"overwhelming|overwhelmed|disappointing|disappointed|annoying|annoyed|infuriating|"
    r"confusing|inconvenient|unfair|heartbreaking|devastating|devastated|distressing|"
    r"lonely|isolating|draining|a\s+lot\s+to\s+(?:deal\s+with|handle|take\s+in|cope\s+with)|"
    r"a\s+nightmare|a\s+(?:real\s+)?pain|a\s+hassle|a\s+worry|a\s+shock|a\s+blow|"
    r"hurt\w*|sad|scared|anxious|angry|helpless|hopeless|miserable|crushing|brutal|"
    r"(?:a\s+)?struggle|struggling|suffering|grieving|heavy|unbearable)"
)
_EASY = r"(?:easy|fun|nice|pleasant|great)"
_DEGREE = (
    r"(?:(?:really|so|very|incredibly|pretty|quite|truly|such|extremely|a\s+bit|a\s+little)\s+)*"
)
_THAT = r"(?:that|this|which|all\s+(?:that|this))"
_IT = r"(?:it|that|this|which|all\s+(?:that|this))"
_SORRY_FOR = (
    r"(?:your|what|all|everything|the\s+(?:loss|pain|hurt|trouble|wait|delay|inconvenience|"
    r"confusion|frustration|hassle|mix-up|mess)|this|that)"
)
_EMPATHY = re.compile(
    # "that's frustrating", "that sounds really hard", "it must have been awful"
    rf"\b{_THAT}(?:'s|\s+is|\s+was|'s\s+been|\s+has\s+been)\s+"
    rf"(?:(?:such|quite|a\s+bit\s+of)\s+)?(?:an?\s+)?{_DEGREE}{_HARD}\b|"
    rf"\b{_IT}(?:\s+must\s+(?:have\s+been|be)|\s+(?:sounds|sounded|seems|seemed|looks)"
    rf"(?:\s+like)?|\s+(?:would|could|can|might)\s+(?:have\s+been|be|feel))\s+"
    rf"(?:(?:such|quite|a\s+bit\s+of)\s+)?(?:an?\s+)?{_DEGREE}{_HARD}\b|"
    rf"\b{_IT}(?:\s+can't|\s+cannot|\s+couldn't|\s+wouldn't)\s+have\s+been\s+{_DEGREE}{_EASY}\b|"
    rf"\b{_THAT}(?:'s|\s+is)\s+(?:not|never)\s+{_DEGREE}{_EASY}\b|"
    r"\b(?:that|this|it)\s+(?:really\s+|totally\s+|just\s+)?sucks\b|"
    # "you must be exhausted", "you've been through a lot"
    rf"\byou\s+must\s+(?:have\s+been|be|feel)\s+{_DEGREE}{_HARD}\b|"
    r"\byou(?:'ve|\s+have)\s+(?:really\s+)?been\s+through\s+(?:a\s+lot|so\s+much|it|hell|"
    r"the\s+wars?|a\s+(?:lot|rough|hard|tough|difficult))|"
    # "how frustrating", "what a nightmare"
    rf"^(?:oh\W+)?(?:how\s+{_DEGREE}{_HARD}|what\s+an?\s+{_DEGREE}(?:nightmare|ordeal|shame|"
    rf"pain|hassle|shock|{_HARD}\s+\w+))\b|"
    # "I understand how upsetting…", "I know exactly how you feel", "I can see this has been hard"
    r"\bi\s+(?:completely\s+|totally\s+|really\s+|fully\s+|can\s+|do\s+)?"
    r"(?:understand|appreciate|get|know|see|hear|imagine|recogni[sz]e)\s+"
    r"(?:exactly\s+|just\s+|fully\s+|completely\s+)?"
    rf"(?:how|that|why|what|it|this|your|you)\b[^.?!]{{0,60}}?\b(?:{_HARD}|feel\w*|cost|"
    r"impact\w*|affect\w*|inconvenience\w*|been\s+through|going\s+through|dealing\s+with|"
    r"put\s+(?:you\s+)?through|worr\w+|concern\w*)|"
    r"\bi\s+can\s+(?:only\s+)?imagine\b|\bi\s+(?:totally\s+|really\s+|completely\s+)?hear\s+you\b|"
    r"\bi\s+(?:know|understand)\s+(?:that|this|the)\s+(?:pain|feeling|struggle|frustration)|"
    r"\bi\s+feel\s+(?:for\s+you|your\s+pain)|\bmy\s+heart\s+(?:goes\s+out|breaks)|"
    r"\byou(?:'re|\s+are)\s+not\s+alone\b|"
    # "I'm so sorry you've had to deal with this", "sorry to hear that"
    r"\bi(?:'m|\s+am)\s+(?:so\s+|really\s+|very\s+|truly\s+|terribly\s+)?sorry\s+"
    rf"(?:(?:that\s+)?(?:you|this|that|it)\b|for\s+{_SORRY_FOR}|to\s+hear)|"
    rf"\bsorry\s+to\s+hear|\bsorry\s+(?:you|for\s+{_SORRY_FOR})\b|"
    # "this has cost you time", "caused you a lot of hassle"
    r"\b(?:cost|caused|put|given|left)\s+you\b[^.?!]{0,40}?\b(?:time|money|stress|hassle|"
    r"trouble|worry|grief|pain|sleep|inconvenience|frustration|day|week|hours?|nights?)\b|"
    r"\b(?:impact|effect|toll)\s+(?:this|that|it)\s+(?:has|had|is\s+having)\s+(?:had\s+)?on\s+you",
    re.IGNORECASE,
)


def detect_impact_naming(text: str, previous: str | None = None) -> list[BehaviourHit]:
    """One hit per sentence that names the other person's experience; span = those words."""
    normalised = normalise(text)
    quoted = quotations(normalised)
    hits = []
    for sentence in sentences(normalised):
        for match in _EMPATHY.finditer(sentence.text):
            start, end = sentence.start + match.start(), sentence.start + match.end()
            if inside(quoted, start, end) or _negated(normalised, start, match.group()):
                continue
            cue = " ".join(match.group().lower().split())
            hits.append(BehaviourHit(NAME, start, end, f"names their experience: '{cue}'"))
            break
    return hits


def _negated(text: str, start: int, matched: str) -> bool:
    """A negated cue is not empathy, except a negated *easy* ("that can't have been easy")."""
    if re.search(rf"\b{_EASY}$", matched, re.IGNORECASE):
        return False
    return is_negated(text, start)
