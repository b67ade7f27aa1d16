"""`overclaiming`: stating a causal or efficacy claim more strongly than evidence allows.

Compliance rules for promotion (and good science writing) separate "X reduces Y" from "X may
reduce Y" and "X is associated with lower Y". Flagged:

- absolute efficacy words: *cures*, *guarantees*, *eliminates*, *eradicates*, *100% effective*,
  *proven to*, *clinically proven*, *works for everyone*, *no side effects*, *risk-free*;
- a direct causal verb stated as fact, with an object: "X reduces / prevents / improves /
  causes / doubles Y", "X leads to Y", "X is effective in…", "X has an effect on Y".

A hedge earlier in the sentence withdraws the claim: a modal ("may", "might", "could", "can"),
an epistemic verb ("suggests", "appears to", "is thought to") or a limit on whom it applies to
("in some patients", "in certain cases"); a sentence that states a correlation ("associated
with", "linked to", "correlated") makes no causal claim at all. What is not a claim: an -ed
form used as an adjective or passive ("an increased risk", "was reduced in"), a change without
a cause ("survival improved after surgery"), the speaker's own action ("we'll lower the fee"),
a question, and quoted words. A negated causal verb is still flagged: "it does not cause
drowsiness" is as categorical a safety claim as "it causes" is an efficacy claim. Absolute words
are flagged even when hedged ("may cure" still promises a cure) but not when negated ("I can't
guarantee…").
"""

from __future__ import annotations

import re

from evaluators.behaviours.hit import BehaviourHit
from evaluators.behaviours.negation import is_negated
from evaluators.behaviours.text import inside, iter_clauses, normalise, quotations, sentences

NAME = "overclaiming"

_ABSOLUTE = re.compile(
    r"\b(?:cures?|cured|curing|guarantee[sd]?|guaranteeing|eliminat(?:es?|ed|ing)|"
    r"eradicat(?:es?|ed|ing)|(?:clinically\s+|scientifically\s+)?proven\s+to|"
    r"clinically\s+proven|100\s*%\s+(?:effective|safe|success)|works\s+for\s+everyone|"
    r"works\s+every\s+time|no\s+side[\s-]effects|risk[\s-]free|completely\s+safe|"
    r"totally\s+safe|miracle|never\s+fails)\b",
    re.IGNORECASE,
)
_CAUSAL_VERBS = (
    "reduce", "decrease", "increase", "raise", "improve", "enhance", "prevent", "cause",
    "induce", "promote", "restore", "reverse", "relieve", "alleviate", "worsen", "accelerate",
    "lower", "boost", "inhibit", "halt", "slow", "shorten", "prolong", "trigger", "affect",
    "benefit", "heal", "double", "triple", "halve", "protect", "strengthen", "weaken",
    "suppress", "lessen", "cure", "eliminate",
)


def _forms(verb: str) -> str:
    """Base, -s, -ed and -ing forms of a regular verb, as one regex alternation."""
    stem = verb[:-1] if verb.endswith("e") else verb
    return "|".join(sorted({verb, f"{verb}s", f"{stem}ed", f"{stem}ing"}))


# Causal verbs in any finite or participle form; what follows must be their object, so
# "survival improved after surgery" (a change, not a cause) does not count.
_CAUSAL_VERB = re.compile(
    rf"\b(?P<verb>{'|'.join(_forms(verb) for verb in _CAUSAL_VERBS)})\b"
    r"(?=\s+(?P<next>[\w'%-]+))",
    re.IGNORECASE,
)
# Causal phrases that carry their own preposition or copula.
_CAUSAL_PHRASE = re.compile(
    r"\b(?:leads?\s+to|led\s+to|results?\s+in|resulted\s+in|contribut(?:es|ed)\s+to|"
    r"(?:is|are|was|were|remains?)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,3}?effective|"
    r"(?:is|are|was|were|remains?)\s+(?:an?\s+|the\s+|one\s+of\s+the\s+)?(?:[\w-]+\s+){0,3}?"
    r"(?:cause|driver)s?\s+of|provides?\s+(?:relief|protection)|"
    r"(?:has|have|had)\s+(?:an?\s+)?(?:[\w-]+\s+){0,2}?(?:effect|impact|influence)\s+on|"
    r"makes?\s+(?:you|people|patients)\s+\w+|"
    r"helps?\s+(?:to\s+)?(?:reduce|lower|prevent|improve|treat|fight|protect|boost|stop|"
    r"relieve|control|manage))\b",
    re.IGNORECASE,
)
# Before the verb these make it an adjective or a passive ("an increased risk", "was reduced
# in"), an infinitive or the speaker's own action ("we'll lower the fee"): a description or a
# plan, not a claim about what causes what.
_NOT_A_CLAIM_BEFORE = re.compile(
    r"(?:^|\b(?:a|an|the|of|with|and|or|in|to|by|for|from|on|at|showed|shows|show|had|have|"
    r"has|having|is|are|was|were|be|been|being|its|their|his|her|our|more|less|no|any|"
    r"will|would|should|must|cannot|can't|could|may|might|i|we|i'll|we'll|i'd|we'd|let's|"
    r"i'm\s+going\s+to|we're\s+going\s+to)\s+)$",
    re.IGNORECASE,
)
_OBJECTLESS_NEXT = re.compile(
    r"^(?:in|of|with|after|following|over|during|by|from|to|at|on|among|when|while|than|as|"
    r"and|or|but|compared|since|until|before|significantly|slightly|markedly|further)$",
    re.IGNORECASE,
)
# A sentence whose relation is a correlation makes no causal claim anywhere in it.
_CORRELATION = re.compile(
    r"\b(?:associat\w+|link(?:ed|s)?\s+(?:to|with)|correlat\w+|relat(?:ed|ionship)|"
    r"predict\w*|risk\s+factor)\b",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"\b(?:may|might|could|can|would|possibly|potentially|perhaps|probably|likely|unlikely|"
    r"suggests?|suggested|suggesting|appears?|appeared|seems?|seemed|is\s+thought|"
    r"are\s+thought|believed|hypothes\w+|speculat\w+|associat\w+|link(?:ed|s)?|correlat\w+|"
    r"relat(?:ed|ionship)|predict\w*|tend(?:s|ed)?\s+to|in\s+some|some\s+patients|"
    r"in\s+certain|in\s+(?:many|most)\s+(?:cases|patients|people)|for\s+some|if|whether|"
    r"indicat\w+|consistent\s+with|evidence\s+(?:that|for)|"
    r"partly|partially|modestly|slightly)\b",
    re.IGNORECASE,
)


def detect_overclaiming(text: str, previous: str | None = None) -> list[BehaviourHit]:
    """One hit per overstated clause; the span is the claiming word or phrase."""
    normalised = normalise(text)
    quoted = quotations(normalised)
    hits = []
    for sentence in sentences(normalised):
        if sentence.is_question or _CORRELATION.search(sentence.text):
            continue
        for offset, clause in iter_clauses(sentence):
            hit = _clause_claim(normalised, sentence.start, offset, clause)
            if hit is not None and not inside(quoted, hit.start, hit.end):
                hits.append(hit)
    return hits


def _clause_claim(text: str, sentence_start: int, offset: int, clause: str) -> BehaviourHit | None:
    absolute = _ABSOLUTE.search(clause)
    if absolute is not None and not is_negated(text, offset + absolute.start()):
        cue = " ".join(absolute.group().lower().split())
        return BehaviourHit(
            NAME, offset + absolute.start(), offset + absolute.end(),
            f"overclaiming: '{cue}' promises more than any evidence can show",
        )
    for start, end in _causal_candidates(clause):
        # A hedge anywhere earlier in the sentence governs the claim ("In some patients, X
        # reduces Y"); one after it does not ("X reduces Y, and may also help Z").
        if _HEDGE.search(text[sentence_start : offset + start]):
            return None
        cue = " ".join(clause[start:end].lower().split())
        return BehaviourHit(
            NAME, offset + start, offset + end,
            f"overclaiming: '{cue}' is stated as proven cause and effect, with no hedge",
        )
    return None


def _causal_candidates(clause: str) -> list[tuple[int, int]]:
    """Spans of causal verbs (used with an object) and causal phrases, in text order."""
    candidates = [(m.start(), m.end()) for m in _CAUSAL_PHRASE.finditer(clause)]
    for match in _CAUSAL_VERB.finditer(clause):
        before = clause[: match.start()]
        if _NOT_A_CLAIM_BEFORE.search(before) or _OBJECTLESS_NEXT.match(match.group("next")):
            continue
        candidates.append((match.start(), match.end()))
    return sorted(candidates)
