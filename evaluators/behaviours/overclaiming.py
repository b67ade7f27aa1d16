"""`overclaiming`: stating a causal or efficacy claim more strongly than evidence allows.

Compliance rules for promotion (and good science writing) separate "X reduces Y" from "X may
reduce Y" and "X is associated with lower Y". Flagged:

- absolute efficacy words: *cures*, *guarantees*, *eliminates*, *eradicates*, *100% effective*,
  *proven to*, *clinically proven*, *works for everyone*, *no side effects*, *risk-free*;
- a direct causal verb stated as fact: "X reduces / prevents / improves / causes /
  leads to / increases Y", "X is effective in…".

A hedge in the same clause before the verb withdraws the claim: a modal ("may", "might",
"could", "can"), an epistemic verb ("suggests", "appears to", "is thought to"), a correlation
("associated with", "linked to", "correlated"), or a limit on whom it applies to ("in some
patients", "in certain cases"). A negated verb ("did not reduce") claims nothing. Absolute words
are flagged even when hedged: "may cure" still promises a cure.
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
_CAUSAL = re.compile(
    r"\b(?:reduc(?:es|ed)|decreas(?:es|ed)|lower(?:s|ed)|increas(?:es|ed)|rais(?:es|ed)|"
    r"improv(?:es|ed)|enhanc(?:es|ed)|boost(?:s|ed)|prevent(?:s|ed)|protect(?:s|ed)\s+against|"
    r"caus(?:es|ed)|lead(?:s)?\s+to|led\s+to|result(?:s|ed)\s+in|trigger(?:s|ed)|induc(?:es|ed)|"
    r"inhibit(?:s|ed)|promot(?:es|ed)|restor(?:es|ed)|revers(?:es|ed)|slow(?:s|ed)|"
    r"halt(?:s|ed)|stop(?:s|ped)|relieve[sd]|alleviat(?:es|ed)|worsen(?:s|ed)|"
    r"shorten(?:s|ed)|extend(?:s|ed)|prolong(?:s|ed)|accelerat(?:es|ed)|"
    r"contribut(?:es|ed)\s+to|is\s+(?:highly\s+)?effective|are\s+(?:highly\s+)?effective|"
    r"was\s+(?:highly\s+)?effective|were\s+(?:highly\s+)?effective|"
    r"is\s+(?:a\s+)?(?:major\s+|key\s+)?(?:cause|driver)\s+of|"
    r"makes?\s+(?:you|people|patients)|helps?\s+(?:to\s+)?(?:reduce|lower|prevent|improve|"
    r"treat|fight|protect|boost|stop|relieve|control|manage))\b",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"\b(?:may|might|could|can|would|possibly|potentially|perhaps|probably|likely|unlikely|"
    r"suggests?|suggested|suggesting|appears?|appeared|seems?|seemed|is\s+thought|"
    r"are\s+thought|believed|hypothes\w+|speculat\w+|associat\w+|link(?:ed|s)?|correlat\w+|"
    r"relat(?:ed|ionship)|predict\w*|tend(?:s|ed)?\s+to|in\s+some|some\s+patients|"
    r"in\s+certain|in\s+(?:many|most)\s+(?:cases|patients|people)|for\s+some|if|whether|"
    r"indicat\w+|consistent\s+with|evidence\s+(?:that|for)|help(?:s|ed)?\s+to|"
    r"partly|partially|modestly|slightly)\b",
    re.IGNORECASE,
)


def detect_overclaiming(text: str, previous: str | None = None) -> list[BehaviourHit]:
    """One hit per overstated claim; the span is the claiming word or phrase."""
    normalised = normalise(text)
    quoted = quotations(normalised)
    hits = []
    for sentence in sentences(normalised):
        if sentence.is_question:
            continue
        for offset, clause in iter_clauses(sentence):
            hit = _clause_claim(normalised, offset, clause)
            if hit is not None and not inside(quoted, hit.start, hit.end):
                hits.append(hit)
    return hits


def _clause_claim(text: str, offset: int, clause: str) -> BehaviourHit | None:
    absolute = _ABSOLUTE.search(clause)
    if absolute is not None and not is_negated(text, offset + absolute.start()):
        cue = " ".join(absolute.group().lower().split())
        return BehaviourHit(
            NAME, offset + absolute.start(), offset + absolute.end(),
            f"overclaiming: '{cue}' promises more than any evidence can show",
        )
    causal = _CAUSAL.search(clause)
    if causal is None:
        return None
    before = clause[: causal.start()]
    if _HEDGE.search(before) or _HEDGE.search(causal.group()):
        return None
    if is_negated(text, offset + causal.start(), 3):
        return None
    cue = " ".join(causal.group().lower().split())
    return BehaviourHit(
        NAME, offset + causal.start(), offset + causal.end(),
        f"overclaiming: '{cue}' is stated as proven cause and effect, with no hedge",
    )
