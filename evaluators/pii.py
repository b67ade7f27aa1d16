"""Personal data in speech: candidates found by pattern, then confirmed by the entity's own rules.

A pattern alone over-fires (any nine digits look like an SSN), so every candidate must pass the
check the issuer defines: SSN area/group/serial ranges, the Luhn digit and issuer ranges of
payment cards (`pii_cards`), the IBAN check digits, a valid phone number for its region
(`pii_phones`), and for a date, words that say it is a date of birth. Where the issuer's check
cannot decide (a bare nine-digit SSN, a twelve-digit Maestro card, a foreign national phone
number) the speaker's own words must say what the number is. What fails is not reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from stdnum import iban
from stdnum.us import ssn

from evaluators.pii_cards import card_hits
from evaluators.pii_hit import PiiHit, words_before
from evaluators.pii_phones import phone_hits
from policies.models import PiiEntity

__all__ = ["PiiHit", "find_pii", "mask"]


# The look-behind follows the first digits so that the regex engine can skip to digits fast.
_SSN_FORMATTED = re.compile(r"(\d{3})(?<![\d-]\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])")
_SSN_BARE = re.compile(r"\d{9}(?<![\d-]\d{9})(?![\d-])")
_SSN_CONTEXT = re.compile(r"\b(ssn|social security|social-security)\b", re.IGNORECASE)
# The top-level domain is letters, or an internationalised one in its ASCII form ("xn--p1ai").
_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:xn--[A-Za-z0-9-]+|[A-Za-z]{2,})\b"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = re.compile(
    r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"
    r"|\d{4}-\d{2}-\d{2}"
    rf"|{_MONTHS} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)? (?:of )?{_MONTHS},? \d{{4}})\b",
    re.IGNORECASE,
)
_BIRTH_CONTEXT = re.compile(
    r"\b(born|birth|birthday|dob|d\.o\.b\.?|date of birth|birthdate)\b", re.IGNORECASE
)
BIRTH_CONTEXT_CHARS = 40
SSN_CONTEXT_CHARS = 40
# Substrings every context word above contains: a plain test that rules out most utterances
# before the case-insensitive word patterns (slow in Python's regex engine) run.
_SSN_WORDS = ("ssn", "social")
_BIRTH_WORDS = ("born", "birth", "dob", "d.o.b")


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in words)


def _ssn_hits(text: str, region: str) -> Iterator[PiiHit]:
    for match in _SSN_FORMATTED.finditer(text):
        if ssn.is_valid(match.group(1) + match.group(3) + match.group(4)):
            yield PiiHit(PiiEntity.US_SSN, match.start(), match.end(), match.group(), "SSN ranges")
    if not _mentions(text, _SSN_WORDS):
        return
    for match in _SSN_BARE.finditer(text):
        context = words_before(text, match.start(), SSN_CONTEXT_CHARS)
        if _SSN_CONTEXT.search(context) and ssn.is_valid(match.group()):
            yield PiiHit(
                PiiEntity.US_SSN, match.start(), match.end(), match.group(), "SSN ranges + context"
            )


def _email_hits(text: str, region: str) -> Iterator[PiiHit]:
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        yield PiiHit(PiiEntity.EMAIL, match.start(), match.end(), match.group(), "address syntax")


def _iban_hits(text: str, region: str) -> Iterator[PiiHit]:
    for match in _IBAN.finditer(text):
        if iban.is_valid(match.group()):
            yield PiiHit(PiiEntity.IBAN, match.start(), match.end(), match.group(), "IBAN mod 97")


def _birth_date_hits(text: str, region: str) -> Iterator[PiiHit]:
    if not _mentions(text, _BIRTH_WORDS):
        return
    for match in _DATE.finditer(text):
        context = words_before(text, match.start(), BIRTH_CONTEXT_CHARS)
        if _BIRTH_CONTEXT.search(context):
            yield PiiHit(
                PiiEntity.DATE_OF_BIRTH, match.start(), match.end(), match.group(), "birth context"
            )


_FINDERS: dict[PiiEntity, Callable[[str, str], Iterator[PiiHit]]] = {
    PiiEntity.US_SSN: _ssn_hits,
    PiiEntity.IBAN: _iban_hits,
    PiiEntity.CREDIT_CARD: card_hits,
    PiiEntity.EMAIL: _email_hits,
    PiiEntity.PHONE: phone_hits,
    PiiEntity.DATE_OF_BIRTH: _birth_date_hits,
}
# Stronger checks first: a valid card number must not also be reported as a phone number, and
# the digits of an IBAN (mod 97 over the whole code) must not be reported as a card.
_PRIORITY = list(_FINDERS)
# Most of what a learner says has no digits at all; those finders are then skipped outright.
_NEED_DIGITS = frozenset(_FINDERS) - {PiiEntity.EMAIL}
_DIGIT = re.compile(r"\d")


def find_pii(text: str, entities: Iterable[PiiEntity], region: str = "US") -> list[PiiHit]:
    """Confirmed personal data in `text`, non-overlapping, in text order."""
    wanted = set(entities)
    if _DIGIT.search(text) is None:
        wanted -= _NEED_DIGITS
    accepted: list[PiiHit] = []
    for entity in _PRIORITY:
        if entity not in wanted:
            continue
        for hit in _FINDERS[entity](text, region):
            if not any(hit.start < other.end and other.start < hit.end for other in accepted):
                accepted.append(hit)
    return sorted(accepted, key=lambda hit: hit.start)


def mask(text: str) -> str:
    """Evidence without the data: keep separators and the last two characters."""
    keep_from = len(text) - 2
    return "".join(
        char if (index >= keep_from or not char.isalnum()) else "\u2022"
        for index, char in enumerate(text)
    )
