"""Personal data in speech: candidates found by pattern, then confirmed by the entity's own rules.

A pattern alone over-fires (any nine digits look like an SSN), so every candidate must pass the
check the issuer defines: SSN area/group/serial ranges, the Luhn digit of payment cards, the
IBAN check digits, a valid phone number for its region, and for a date, words that say it is a
date of birth. What fails the check is not reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

from policies.models import PiiEntity


@dataclass(frozen=True)
class PiiHit:
    entity: PiiEntity
    start: int
    end: int
    text: str
    check: str


_SSN_FORMATTED = re.compile(r"(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])")
_SSN_BARE = re.compile(r"(?<![\d-])\d{9}(?![\d-])")
_SSN_CONTEXT = re.compile(r"\b(ssn|social security|social-security)\b", re.IGNORECASE)
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
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
_PHONE_CONTEXT = re.compile(
    r"\b(call|calls|called|phone|mobile|cell|tel|telephone|number|reach|text|fax|dial)\b",
    re.IGNORECASE,
)
PHONE_CONTEXT_CHARS = 40
BIRTH_CONTEXT_CHARS = 40
SSN_CONTEXT_CHARS = 40


def _ssn_hits(text: str, region: str) -> Iterator[PiiHit]:
    for match in _SSN_FORMATTED.finditer(text):
        if ssn.is_valid(match.group(1) + match.group(3) + match.group(4)):
            yield PiiHit(PiiEntity.US_SSN, match.start(), match.end(), match.group(), "SSN ranges")
    for match in _SSN_BARE.finditer(text):
        context = text[max(0, match.start() - SSN_CONTEXT_CHARS) : match.start()]
        if _SSN_CONTEXT.search(context) and ssn.is_valid(match.group()):
            yield PiiHit(
                PiiEntity.US_SSN, match.start(), match.end(), match.group(), "SSN ranges + context"
            )


def _card_hits(text: str, region: str) -> Iterator[PiiHit]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn.is_valid(digits):
            yield PiiHit(PiiEntity.CREDIT_CARD, match.start(), match.end(), match.group(), "Luhn")


def _email_hits(text: str, region: str) -> Iterator[PiiHit]:
    for match in _EMAIL.finditer(text):
        yield PiiHit(PiiEntity.EMAIL, match.start(), match.end(), match.group(), "address syntax")


def _iban_hits(text: str, region: str) -> Iterator[PiiHit]:
    for match in _IBAN.finditer(text):
        if iban.is_valid(match.group()):
            yield PiiHit(PiiEntity.IBAN, match.start(), match.end(), match.group(), "IBAN mod 97")


def _phone_hits(text: str, region: str) -> Iterator[PiiHit]:
    """Valid numbers for the region always; merely possible ones when the speaker says it is a
    number (context words before it) or dials it internationally (a leading +)."""
    lenient = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
    for match in lenient:
        if phonenumbers.is_valid_number(match.number):
            check = "valid number"
        elif match.raw_string.startswith("+"):
            check = "possible international number"
        elif _PHONE_CONTEXT.search(text[max(0, match.start - PHONE_CONTEXT_CHARS) : match.start]):
            check = "possible number + context"
        else:
            continue
        yield PiiHit(PiiEntity.PHONE, match.start, match.end, match.raw_string, check)


def _birth_date_hits(text: str, region: str) -> Iterator[PiiHit]:
    for match in _DATE.finditer(text):
        context = text[max(0, match.start() - BIRTH_CONTEXT_CHARS) : match.start()]
        if _BIRTH_CONTEXT.search(context):
            yield PiiHit(
                PiiEntity.DATE_OF_BIRTH, match.start(), match.end(), match.group(), "birth context"
            )


_FINDERS: dict[PiiEntity, Callable[[str, str], Iterator[PiiHit]]] = {
    PiiEntity.US_SSN: _ssn_hits,
    PiiEntity.CREDIT_CARD: _card_hits,
    PiiEntity.IBAN: _iban_hits,
    PiiEntity.EMAIL: _email_hits,
    PiiEntity.PHONE: _phone_hits,
    PiiEntity.DATE_OF_BIRTH: _birth_date_hits,
}
# Stronger checks first: a valid card number must not also be reported as a phone number.
_PRIORITY = list(_FINDERS)


def find_pii(text: str, entities: Iterable[PiiEntity], region: str = "US") -> list[PiiHit]:
    """Confirmed personal data in `text`, non-overlapping, in text order."""
    wanted = set(entities)
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
