"""Turn a compliance officer's phrase into a Hyperscan expression.

Phrases are written the way people speak them, so matching is by whole words, any run of
white space or hyphens may separate words ("risk free" = "risk-free"), straight and curly
apostrophes are the same, and a trailing `*` accepts any word ending ("guarantee*").
"""

from __future__ import annotations

import re

_WORD_SEPARATOR = r"[\s\-]+"
_APOSTROPHE = "['\u2019]"
_WORD_CHAR = re.compile(r"\w")


def _escape_word(word: str) -> str:
    parts = re.split(r"['\u2019]", word)
    return _APOSTROPHE.join(re.escape(part) for part in parts)


def _phrase_end(last_word: str, open_ended: bool) -> str:
    if open_ended:
        return r"\w*"
    return r"\b" if _WORD_CHAR.match(last_word[-1]) else ""


def phrase_expression(phrase: str) -> str:
    """Hyperscan (PCRE-subset) expression for a phrase."""
    text = phrase.strip()
    open_ended = text.endswith("*")
    if open_ended:
        text = text[:-1].rstrip()
    words = [word for word in re.split(r"[\s\-]+", text) if word]
    if not words:
        raise ValueError(f"phrase {phrase!r} has no words")
    body = _WORD_SEPARATOR.join(_escape_word(word) for word in words)
    start = r"\b" if _WORD_CHAR.match(words[0][0]) else ""
    end = _phrase_end(words[-1], open_ended)
    return f"{start}{body}{end}"
