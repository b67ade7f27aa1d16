"""Bytes to text for the text-based formats, strictly.

Guessing an encoding would silently put mojibake into an approved knowledge base, where it
would then be quoted to learners as the label's wording; a file that is not UTF-8 is reported
instead. Line endings are normalised so offsets do not depend on the platform that wrote it.
"""

from __future__ import annotations

from knowledge_base.loaders.errors import UnreadableDocument


def decode_text(data: bytes, encoding: str = "utf-8") -> str:
    """Decode strictly (a UTF-8 BOM is dropped), refuse binary content, normalise newlines."""
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1].hex()
        raise UnreadableDocument(
            f"not valid {encoding} text (byte 0x{bad} at offset {error.start})"
        ) from None
    except LookupError:
        raise UnreadableDocument(f"unknown text encoding {encoding!r}") from None
    if "\x00" in text:
        raise UnreadableDocument("looks like a binary file (contains NUL bytes)")
    return text.replace("\r\n", "\n").replace("\r", "\n")
