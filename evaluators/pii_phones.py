"""Phone numbers written in any country's style, confirmed one of three ways.

1. Dialled internationally ("+44 7700 900123", or "0044 ..." with the ITU prefix 00) and
   possible for the country dialled.
2. Written in groups and a valid number of the plan's region by its numbering plan
   (phonenumbers metadata), or in the layout only North American numbers use,
   "(977) 625-2661". An unbroken run of digits is not enough on its own.
3. Phone-shaped and said to be a phone number: 7 to 15 digits (E.164 allows at most 15),
   written in groups the way numbers are written, and the speaker says it is something you
   call, text or fax ("reach me on", "mobile:", "... (office)").

The third way is what finds a foreign national number in a US-region plan ("0688 872 49 99"),
or a number from a range the metadata does not know yet. Because context then does the
confirming, look-alikes are ruled out first whatever the route: dates, IPv4 addresses,
decimal lists, amounts, quantities followed by a unit, and numbers the speaker labels as
something else ("order number 4155550132", "licence number 6940579").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers

from evaluators.pii_hit import PiiHit, words_before
from policies.models import PiiEntity

# Groups of digits, optionally one in parentheses, joined by one space, dot or dash (or by
# nothing next to a parenthesis), an optional leading "+", an optional extension. The run must
# not continue a word, an amount, a decimal or a list ("1,842", "$1 500", "2.5").
_GROUP = r"(?:\(\d{1,5}\)|\d+)"
_SEPARATOR = r"(?:[ .-]|(?<=\)) ?|(?=\())"
_PHONE_SHAPE = re.compile(
    rf"(?<![\w$£€¥+.,/-])(?P<number>(?:\+ ?)?{_GROUP}(?:{_SEPARATOR}{_GROUP})*)"
    r"(?P<extension>\s?(?:x|ext\.?|extension)\s?\d{1,6})?"
    r"(?!\w|[.,:/]\d)",
    re.IGNORECASE,
)
# "(977) 625-2661": nothing but a North American phone number is written this way, so the
# layout confirms it even when the area code is not (yet) assigned, as in made-up numbers.
_NANP_LAYOUT = re.compile(r"\(\d{3}\) ?\d{3}[-.]\d{4}")
MIN_DIGITS = 7
MAX_DIGITS = 15

_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_YEAR_FIRST_DATE = re.compile(r"(?P<year>\d{4})([ .-])(?P<month>\d{1,2})\2(?P<day>\d{1,2})")
_YEAR_LAST_DATE = re.compile(r"(?P<first>\d{1,2})([ .-])(?P<second>\d{1,2})\2(?P<year>\d{4})")
_QUANTITY_AFTER = re.compile(
    r"\s?(?:%|percent\b|mg\b|mcg\b|µg|ml\b|g\b|kg\b|lbs?\b|mmhg\b|units?\b|iu\b|doses?\b"
    r"|tablets?\b|dollars?\b|euros?\b|pounds?\b|usd\b|eur\b|gbp\b|patients?\b|people\b"
    r"|adults?\b|children\b|subjects?\b|years?\b|months?\b|weeks?\b|days?\b|hours?\b"
    r"|minutes?\b|times\b)",
    re.IGNORECASE,
)
# Labels naming some other identifier, as the last word before the digits once fillers are
# dropped: "account number is 4155550132", "licence no. 6940579", "NDC 0002-7510-01".
_COMMERCE_LABELS = ("order", "account", "acct", "invoice", "transaction", "booking", "card", "sku")
_CASE_LABELS = ("policy", "reference", "ref", "case", "claim", "ticket", "confirmation", "tracking")
# Not "patient": "the patient's number is ..." is exactly the data to protect.
_HEALTH_LABELS = ("member", "membership", "npi", "ndc", "dea", "prescription", "rx")
_PRODUCT_LABELS = ("batch", "lot", "serial", "model", "part", "product")
_PERSON_LABELS = ("id", "license", "licence", "passport", "ssn", "security", "employee", "student")
_OFFICIAL_LABELS = ("tax", "vat", "badge", "routing", "iban", "swift", "sort", "error")
_ADDRESS_LABELS = ("zip", "postal", "postcode", "pin")
_OTHER_IDENTIFIERS = frozenset(
    _COMMERCE_LABELS
    + _CASE_LABELS
    + _HEALTH_LABELS
    + _PRODUCT_LABELS
    + _PERSON_LABELS
    + _OFFICIAL_LABELS
    + _ADDRESS_LABELS
)
_LABEL_FILLERS = frozenset({"is", "was", "of", "number", "no", "code", "#"})
_WORD = re.compile(r"[a-z#]+")
# Words that say a number is one you call, text or fax, anywhere shortly before it.
_PHONE_WORDS = re.compile(
    r"\b(?:call(?:s|ed|ing)?|phone[sd]?|mobile|cell(?:phone)?|tel|telephone|fax(?:ed)?"
    r"|dial(?:l?ed|l?ing)?|text(?:s|ed|ing)?|sms|whatsapp|voicemail|message[sd]?|messaging"
    r"|answer(?:s|ed|ing)?|reach|contact|landline|hotline|ext|extension"
    r"|(?:office|desk|home|work|direct|phone)\s+line"
    r"|(?:my|your|his|her|their|our)\s+(?:\w+\s+)?number)\b",
    re.IGNORECASE,
)
# Where a phone is tagged by place, as on a business card ("Desk: ...", "... (office)"), or
# followed by what to do with it ("... text me").
_PLACE_LABEL_BEFORE = re.compile(r"\b(?:office|desk|home|work)\s*[:.-]?\s*$", re.IGNORECASE)
_LABEL_AFTER = re.compile(
    r"\s?[-(,/;]?\s?(?:office|desk|home|work|mobile|cell|fax|landline|phone|tel"
    r"|call|text|dial|message|whatsapp)\b",
    re.IGNORECASE,
)
PHONE_CONTEXT_CHARS = 40
LABEL_CHARS = 30
_DIGIT_GROUP = re.compile(r"\d+")
_DIGIT = re.compile(r"\d")


def phone_hits(text: str, region: str) -> Iterator[PiiHit]:
    if _DIGIT.search(text) is None:
        return
    for match in _PHONE_SHAPE.finditer(text):
        number, international = _as_dialled(match.group("number"))
        groups = _DIGIT_GROUP.findall(number)
        digits = "".join(groups)
        if not MIN_DIGITS <= len(digits) <= MAX_DIGITS or _looks_like_something_else(
            text, match.start(), match.end(), number, groups
        ):
            continue
        check = _confirmation(text, match, number, digits, international, region)
        if check is not None:
            yield PiiHit(PiiEntity.PHONE, match.start(), match.end(), match.group(), check)


def _as_dialled(number: str) -> tuple[str, bool]:
    """The number as dialled, and whether from abroad: "0044 ..." is "+44 ...", and in
    "+44 (0)20 ..." the "(0)" is the trunk prefix that callers from abroad leave out."""
    if number.startswith("00") and number[2:3] not in ("", "0"):
        number = "+" + number[2:]
    if number.startswith("+"):
        return number.replace("(0)", ""), True
    return number, False


def _confirmation(
    text: str, match: re.Match[str], number: str, digits: str, international: bool, region: str
) -> str | None:
    """Which route confirms the number, if any. The speaker's words are checked first: they are
    cheap, while parsing and validating a number costs tens of microseconds."""
    before = words_before(text, match.start(), PHONE_CONTEXT_CHARS)
    if (
        _PHONE_WORDS.search(before)
        or _PLACE_LABEL_BEFORE.search(before)
        or _LABEL_AFTER.match(text, match.end())
    ):
        return "phone-shaped + context"
    if _NANP_LAYOUT.fullmatch(number):
        return "NANP layout"
    if international:
        parsed = _parse("+" + digits, region)
        if parsed is not None and phonenumbers.is_possible_number(parsed):
            if phonenumbers.is_valid_number(parsed):
                return "valid number"
            return "possible international number"
    elif not number.isdigit() and _could_be_national(digits, region):
        # An unbroken digit run is as likely a count, an amount or an ID ("2147483647"): like
        # a bare nine-digit SSN it needs the speaker to say what it is.
        parsed = _parse(digits, region)
        if parsed is not None and phonenumbers.is_valid_number(parsed):
            return "valid number"
    return None


def _could_be_national(digits: str, region: str) -> bool:
    """A cheap test that spares parsing digit runs the region's plan can never hold: the right
    length, bare or after the trunk prefix or country code, or dialled out (US "011 ...")."""
    plan = _national_plan(region)
    return any(
        len(digits) == len(prefix) + length and digits.startswith(prefix)
        for prefix in plan.prefixes
        for length in plan.lengths
    ) or (plan.dialling_out is not None and plan.dialling_out.match(digits) is not None)


@dataclass(frozen=True)
class _NationalPlan:
    lengths: tuple[int, ...]
    prefixes: tuple[str, ...]
    dialling_out: re.Pattern[str] | None


@functools.cache
def _national_plan(region: str) -> _NationalPlan:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None or metadata.general_desc is None:
        return _NationalPlan(tuple(range(MIN_DIGITS, MAX_DIGITS + 1)), ("",), None)
    prefixes = {"", metadata.national_prefix or "", str(metadata.country_code)}
    idd = metadata.international_prefix
    return _NationalPlan(
        tuple(metadata.general_desc.possible_length),
        tuple(sorted(prefixes)),
        re.compile(idd) if idd else None,
    )


def _parse(number: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None


def _looks_like_something_else(
    text: str, start: int, end: int, number: str, groups: list[str]
) -> bool:
    """Digit runs written like a phone number that are dates, addresses, decimals, years,
    amounts, quantities, or an identifier the speaker names as something else."""
    if "." in number and ("-" in number or " " in number.lstrip("+ ")):
        return True  # "2.5 10.5 20" lists decimals; a phone number keeps one separator style
    if _IPV4.fullmatch(number) or _is_date(number):
        return True
    if sum(len(group) == 1 for group in groups) > 1:
        return True  # "1 2 3 4 5 6 7" counts; phones have at most one one-digit group
    if len(groups) > 1 and all(len(group) == 4 and group[:2] in ("19", "20") for group in groups):
        return True  # "2019 2020 2021" lists years
    if _is_round_thousands(number, groups):
        return True
    if _QUANTITY_AFTER.match(text, end):
        return True
    return _labelled_as_other_identifier(words_before(text, start, LABEL_CHARS))


def _is_round_thousands(number: str, groups: list[str]) -> bool:
    """ "1 250 000" or "12.500.000": thousands grouped by spaces or dots, ending in hundreds.
    Phone numbers are grouped like this too ("612 345 678"), but rarely end in 00."""
    return (
        len(groups) > 1
        and "-" not in number
        and "(" not in number
        and not number.startswith("+")
        and len(groups[0]) <= 3
        and all(len(group) == 3 for group in groups[1:])
        and groups[-1].endswith("00")
    )


def _labelled_as_other_identifier(before: str) -> bool:
    words = _WORD.findall(before.lower())
    while words and words[-1] in _LABEL_FILLERS:
        words.pop()
    return bool(words) and words[-1] in _OTHER_IDENTIFIERS


def _is_date(number: str) -> bool:
    if match := _YEAR_FIRST_DATE.fullmatch(number):
        year, month, day = (int(match[name]) for name in ("year", "month", "day"))
        return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31
    if match := _YEAR_LAST_DATE.fullmatch(number):
        first, second, year = (int(match[name]) for name in ("first", "second", "year"))
        return 1900 <= year <= 2099 and 1 <= min(first, second) <= 12 and max(first, second) <= 31
    return False
