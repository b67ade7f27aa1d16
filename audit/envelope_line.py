"""Reading a record line's DSSE envelope without a JSON parser, when that is provably exact.

A record line is valid only if it is the RFC 8785 canonical JSON of a DSSE envelope. The
general check parses the line, checks the envelope's shape and re-encodes it to compare
bytes (`audit.dsse`); per record that costs about as much as everything else the verifier
does apart from the signature. Lines as this project writes them have a fixed layout, which
one regular expression recognises:

    {"payload":"P","payloadType":"T","signatures":[{"keyid":"K","sig":"S"},...]}

with every string made only of printable ASCII other than ``"`` and ``\\``. Why a match is
exactly "canonical JSON of a well-formed envelope":

- such a string is its own JSON string value (there are no escapes to decode) and its own
  RFC 8785 serialisation (section 3.2.2.2 escapes only ``"``, ``\\`` and U+0000..U+001F;
  DEL and everything else printable is written as is);
- the member names are fixed, each once, in the order RFC 8785 sorts them (payload <
  payloadType < signatures; keyid < sig), with no whitespace anywhere;
- the shape is DSSE's: exactly the three fields, string values, a non-empty list of
  objects with exactly keyid and sig.

So `parse_envelope` would accept the parsed value and `encode_envelope` would give back the
line. A line that does not match is not necessarily invalid (a payloadType with an escape,
say); it takes the general path, which also words every refusal.
"""

from __future__ import annotations

import re
from typing import Final

from audit.dsse import Envelope, EnvelopeSignature

_TEXT: Final = rb"[\x20\x21\x23-\x5b\x5d-\x7e]*"  # printable ASCII but '"' and '\'
_SIGNATURE: Final = rb'\{"keyid":"(' + _TEXT + rb')","sig":"(' + _TEXT + rb')"\}'
_UNGROUPED_SIGNATURE: Final = _SIGNATURE.replace(b"(", b"(?:")
_PREFIX: Final = b'{"payload":"'
_REST_RE: Final = re.compile(  # the first signature's fields are groups: usually the only one
    rb'","payloadType":"('
    + _TEXT
    + rb')","signatures":\['
    + _SIGNATURE
    + rb"((?:,"
    + _UNGROUPED_SIGNATURE
    + rb")*)\]\}"
)
_SIGNATURE_RE: Final = re.compile(_SIGNATURE)
_BASE64_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def plain_envelope(line: bytes) -> Envelope | None:
    """The envelope `line` canonically encodes, if it has the plain layout (module doc);
    None means "use the general check", not "invalid".

    The payload, most of the line, is checked with a byte deletion rather than the regular
    expression (several times faster): it must consist of base64 characters, a subset of
    the plain ones, as it must be base64 anyway to be valid.
    """
    if not line.startswith(_PREFIX):
        return None
    end = line.find(b'"', len(_PREFIX))
    if end < 0:
        return None
    payload = line[len(_PREFIX) : end]
    if payload.translate(None, _BASE64_ALPHABET):
        return None  # something other than base64 characters is left
    match = _REST_RE.fullmatch(line, end)
    if match is None:
        return None
    payload_type, keyid, sig, more = match.groups()
    signatures: list[EnvelopeSignature] = [
        {"keyid": keyid.decode("ascii"), "sig": sig.decode("ascii")}
    ]
    signatures.extend(
        {"keyid": other_keyid.decode("ascii"), "sig": other_sig.decode("ascii")}
        for other_keyid, other_sig in _SIGNATURE_RE.findall(more)
    )
    return {
        "payload": payload.decode("ascii"),
        "payloadType": payload_type.decode("ascii"),
        "signatures": signatures,
    }
