"""Payment card numbers: the Luhn digit, plus either an issuer's number range or the word "card".

One random digit run in ten passes Luhn, so Luhn alone would flag order numbers and lab values.
Issuers publish which prefixes (IIN ranges) and lengths they use, so a number with no card
words around it must also fit a range of a major network. When the speaker says it is a card
("my debit card is ..."), the Luhn digit is enough, down to the 12 digits of the shortest
Maestro numbers; that keeps working when a network opens a range this table does not know.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stdnum import luhn

from evaluators.pii_hit import PiiHit, words_before
from policies.models import PiiEntity

# 12 to 19 digits, optionally grouped by single spaces or dashes, and not glued to a word:
# "U62928788557186" is a licence number and "GB90YNTU6729..." an IBAN, not cards.
_CARD = re.compile(r"\d(?<![\w-]\d)(?:[ -]?\d){11,18}(?![\w-])")
_CARD_CONTEXT = re.compile(
    r"\b(?:cards?|credit|debit|visa|master ?card|amex|american express|discover|maestro|jcb"
    r"|diners|union ?pay|cvv|expir\w*)\b",
    re.IGNORECASE,
)
CARD_CONTEXT_CHARS = 40
# Twelve-digit Maestro numbers share their prefixes with too many other identifiers to be
# recognised by range alone; they need the speaker to say "card".
MIN_DIGITS_WITHOUT_CONTEXT = 13

_ANY_LENGTH = frozenset(range(12, 20))
_LONG = frozenset(range(14, 20))
_FROM_16 = frozenset(range(16, 20))
# (lowest prefix, highest prefix, lengths issued), from the networks' published IIN ranges.
ISSUER_RANGES: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("1", "1", frozenset({15})),  # UATP; JCB's older 1800 range
    ("2131", "2131", frozenset({15})),  # JCB, older range
    ("2200", "2205", _FROM_16),  # Mir, Borica
    ("2221", "2720", frozenset({16})),  # Mastercard 2-series
    ("30", "30", _LONG),  # Diners Club (300-305 Carte Blanche)
    ("34", "34", frozenset({15})),  # American Express
    ("35", "35", _FROM_16),  # JCB 3528-3589, RuPay/LankaPay co-brands
    ("36", "36", _LONG),  # Diners Club International
    ("37", "37", frozenset({15})),  # American Express
    ("38", "39", _LONG),  # Diners Club
    ("4", "4", frozenset({13, 16, 19})),  # Visa
    ("50", "50", _ANY_LENGTH),  # Maestro, Verve, RuPay
    ("51", "55", frozenset({16})),  # Mastercard
    ("56", "69", _ANY_LENGTH),  # Maestro, Discover, UnionPay, RuPay, InstaPayment, Troy
    ("81", "82", _FROM_16),  # UnionPay, RuPay
    ("8600", "8600", frozenset({16})),  # UzCard
    ("9792", "9792", frozenset({16})),  # Troy
    ("9860", "9860", frozenset({16})),  # Humo
)


def fits_issuer_range(digits: str) -> bool:
    """Whether some network issues numbers with this prefix at this length."""
    return any(
        low <= digits[: len(low)] <= high and len(digits) in lengths
        for low, high, lengths in ISSUER_RANGES
    )


def card_hits(text: str, region: str) -> Iterator[PiiHit]:
    for match in _CARD.finditer(text):
        digits = match.group().replace(" ", "").replace("-", "")
        if len(set(digits)) == 1 or not luhn.is_valid(digits):
            continue
        if len(digits) >= MIN_DIGITS_WITHOUT_CONTEXT and fits_issuer_range(digits):
            check = "Luhn + issuer range"
        elif _CARD_CONTEXT.search(words_before(text, match.start(), CARD_CONTEXT_CHARS)):
            check = "Luhn + card context"
        else:
            continue
        yield PiiHit(PiiEntity.CREDIT_CARD, match.start(), match.end(), match.group(), check)
