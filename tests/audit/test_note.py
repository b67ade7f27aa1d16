"""C2SP signed notes: Go's published examples, the spec's rules, and random notes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import (
    AuditError,
    NoteError,
    NoteSigner,
    NoteVerifier,
    SigningKey,
    open_note,
    sign_note,
)

EM = "\u2014"

# Published in the documentation and tests of golang.org/x/mod/sumdb/note (note.go,
# note_test.go): a signer key, its verifier key, a text, and the signature lines of two
# keys over that text.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    f"{EM} PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    f"{EM} EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)
GO_NOTE = GO_TEXT + "\n" + PETER_SIG


def go_signer() -> NoteSigner:
    """The PeterNeumann signer from Go's private key string (0x01 || Ed25519 seed)."""
    material = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert material[0] == 0x01
    private = Ed25519PrivateKey.from_private_bytes(material[1:])
    return NoteSigner("PeterNeumann", SigningKey(private))


PETER = NoteVerifier.from_vkey(PETER_VKEY)
ENOCH = NoteVerifier.from_vkey(ENOCH_VKEY)


# --- published examples -------------------------------------------------------------------


def test_go_verifier_key_parses_and_round_trips() -> None:
    assert PETER.name == "PeterNeumann"
    assert PETER.key_hash == 0xC74F20A3
    assert PETER.vkey == PETER_VKEY
    assert ENOCH.key_hash == 0xAF0CFE78
    assert ENOCH.vkey == ENOCH_VKEY


def test_go_signer_reproduces_published_note_exactly() -> None:
    signer = go_signer()
    assert signer.verifier.vkey == PETER_VKEY
    assert sign_note(GO_TEXT, [signer]) == GO_NOTE


def test_go_note_verifies() -> None:
    assert open_note(GO_NOTE, [PETER]) == (GO_TEXT, ("PeterNeumann",))
    assert open_note(GO_NOTE.encode("utf-8"), [PETER]) == (GO_TEXT, ("PeterNeumann",))


def test_go_note_with_one_byte_changed_fails() -> None:
    with pytest.raises(NoteError) as info:
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [PETER])
    assert info.value.reason == "bad-signature"


def test_go_doubly_signed_note_verifies_each_known_key_and_ignores_the_other() -> None:
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [PETER]) == (GO_TEXT, ("PeterNeumann",))
    assert open_note(note, [ENOCH]) == (GO_TEXT, ("EnochRoot",))
    assert open_note(note, [ENOCH, PETER]) == (GO_TEXT, ("PeterNeumann", "EnochRoot"))


def test_go_note_rejected_without_its_verifier() -> None:
    with pytest.raises(NoteError) as info:
        open_note(GO_NOTE, [ENOCH])
    assert info.value.reason == "unverified"
    assert isinstance(info.value, AuditError)


def test_c2sp_spec_example_note_is_well_formed() -> None:
    # The spec's example (c2sp.org/signed-note) publishes no verifier key, so it can only
    # be checked for syntax: the parser gets as far as "no known key" and no further.
    note = (
        "Ognuno sta solo sul cuor della terra\n"
        "trafitto da un raggio di sole:\n"
        "\n"
        "ed è subito sera.\n"
        "\n"
        f"{EM} quasimodo.example/salvatore "
        "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
    )
    with pytest.raises(NoteError) as info:
        open_note(note, [PETER])
    assert info.value.reason == "unverified"
    assert "quasimodo.example/salvatore" in str(info.value)


# --- keys -----------------------------------------------------------------------------------


def test_key_hash_is_sha256_of_name_newline_type_key() -> None:
    import hashlib

    key = SigningKey.generate()
    verifier = NoteVerifier("example.com/log", key.public_key)
    digest = hashlib.sha256(b"example.com/log\n\x01" + key.public_key.raw).digest()
    assert verifier.key_hash == int.from_bytes(digest[:4], "big")
    assert NoteVerifier.from_vkey(verifier.vkey) == verifier


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong hash
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper hex
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # 7 digits
        "PeterNeumanN+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # other name
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # bad base64
        "PeterNeumann+c74f20a3+"  # signature type 0x02 (ECDSA), same key bytes
        + base64.b64encode(b"\x02" + base64.b64decode(PETER_VKEY[22:])[1:]).decode(),
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWAA==",  # 34 bytes
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # empty name
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError) as info:
        NoteVerifier.from_vkey(vkey)
    assert info.value.reason == "verifier-key"


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\u00a0b", "a\u2003b", "a\nb"])
def test_invalid_key_names_are_refused(name: str) -> None:
    with pytest.raises(NoteError):
        NoteSigner(name, SigningKey.generate())


# --- signing and opening ----------------------------------------------------------------------


def test_signing_refuses_text_without_final_newline_or_with_controls() -> None:
    signer = NoteSigner("a", SigningKey.generate())
    for text in ["no newline", "", "tab\there\n", "cr\r\n", "nul\x00\n"]:
        with pytest.raises(NoteError):
            sign_note(text, [signer])


def test_signing_needs_distinct_signers() -> None:
    signer = NoteSigner("a", SigningKey.generate())
    with pytest.raises(NoteError):
        sign_note("x\n", [])
    with pytest.raises(NoteError):
        sign_note("x\n", [signer, signer])


def test_same_name_other_key_is_not_accepted() -> None:
    impostor = NoteSigner("PeterNeumann", SigningKey.generate())
    note = sign_note(GO_TEXT, [impostor])
    with pytest.raises(NoteError) as info:
        open_note(note, [PETER])
    assert info.value.reason == "unverified"


def test_forged_signature_under_known_name_and_id_rejects_the_note() -> None:
    # Another key's signature carried under Peter's name and key ID must fail, and it
    # poisons the note even though Enoch's genuine signature is there too.
    forger = SigningKey.generate()
    blob = (0xC74F20A3).to_bytes(4, "big") + forger.sign(GO_TEXT.encode())
    forged = f"{EM} PeterNeumann {base64.b64encode(blob).decode()}\n"
    with pytest.raises(NoteError) as info:
        open_note(GO_TEXT + "\n" + ENOCH_SIG + forged, [PETER, ENOCH])
    assert info.value.reason == "bad-signature"


def test_unknown_signers_are_ignored() -> None:
    known = NoteSigner("example.com/log", SigningKey.generate())
    stranger = NoteSigner("witness.example/w1", SigningKey.generate())
    same_name = NoteSigner("example.com/log", SigningKey.generate())
    text = "hello\n"
    note = sign_note(text, [stranger, known])
    assert open_note(note, [known.verifier]) == (text, ("example.com/log",))
    # Same name, another key (so another ID): ignored as unknown, not a failure.
    note = sign_note(text, [known]) + same_name.signature_line(text)
    assert open_note(note, [known.verifier]) == (text, ("example.com/log",))


def test_garbage_signature_of_unknown_key_still_must_be_well_formed() -> None:
    with pytest.raises(NoteError) as info:
        open_note(GO_NOTE + f"{EM} Unknown !!!!\n", [PETER])
    assert info.value.reason == "malformed"


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT + PETER_SIG,  # no blank line
        GO_TEXT + "\n",  # no signatures
        GO_TEXT + "\n" + PETER_SIG.rstrip("\n"),  # last line without newline
        GO_TEXT + "\n" + PETER_SIG + "\n",  # trailing blank line
        GO_TEXT + "\n" + PETER_SIG.replace(EM, "-"),  # hyphen, not em dash
        GO_TEXT + "\n" + PETER_SIG.replace(EM + " ", EM),  # no space after dash
        GO_TEXT + "\n" + PETER_SIG.replace(" x08go", "  x08go"),  # double space
        GO_TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),  # non-canonical base64
        GO_TEXT + "\n" + PETER_SIG.replace("JnAM=", "JnAM"),  # missing padding
        GO_TEXT + "\n" + f"{EM} PeterNeumann x08gow==\n",  # key ID only
        GO_TEXT + "\n" + PETER_SIG + PETER_SIG,  # the same signature twice
        GO_TEXT.replace("\n", "\r\n", 1) + "\n" + PETER_SIG,  # control character
        "tab\there\n\n" + PETER_SIG,
        "\n" + PETER_SIG,  # empty text
    ],
)
def test_malformed_notes_are_rejected(note: str) -> None:
    with pytest.raises(NoteError) as info:
        open_note(note, [PETER])
    assert info.value.reason == "malformed"


def test_non_utf8_notes_are_rejected() -> None:
    with pytest.raises(NoteError):
        open_note(GO_NOTE.encode().replace(b"cryptography", b"crypt\xffgraphy"), [PETER])
    with pytest.raises(NoteError):
        open_note(GO_NOTE.replace("cryptography", "crypt\ud800graphy"), [PETER])


def test_too_many_signatures_are_rejected() -> None:
    strangers = [NoteSigner(f"w{i}", SigningKey.generate()) for i in range(100)]
    signer = go_signer()
    note = sign_note(GO_TEXT, [signer, *strangers[:99]])
    assert open_note(note, [PETER])[1] == ("PeterNeumann",)
    with pytest.raises(NoteError):
        open_note(note + strangers[99].signature_line(GO_TEXT), [PETER])


# --- properties --------------------------------------------------------------------------------

_LINE_CHARS = st.characters(min_codepoint=0x20, exclude_categories=["Cs"])
note_texts = st.lists(st.text(_LINE_CHARS, max_size=30), min_size=1, max_size=6).map(
    lambda lines: "".join(line + "\n" for line in lines)
)
key_names = st.text(
    st.characters(min_codepoint=0x21, exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
    min_size=1,
    max_size=20,
).filter(lambda name: "+" not in name and not any(ch.isspace() for ch in name))

KEYS = [SigningKey.generate() for _ in range(2)]
SIGNERS = [NoteSigner(f"example.com/key{i}", key) for i, key in enumerate(KEYS)]


@settings(max_examples=200, deadline=None)
@given(text=note_texts, name=key_names)
def test_random_notes_round_trip(text: str, name: str) -> None:
    signer = NoteSigner(name, KEYS[0])
    note = sign_note(text, [signer, SIGNERS[1]])
    assert open_note(note, [signer.verifier]) == (text, (name,))
    assert open_note(note, [SIGNERS[1].verifier, signer.verifier]) == (
        text,
        (name, SIGNERS[1].name),
    )
    assert NoteVerifier.from_vkey(signer.verifier.vkey) == signer.verifier


@settings(max_examples=300, deadline=None)
@given(text=note_texts, data=st.data())
def test_any_byte_mutation_is_rejected(text: str, data: st.DataObject) -> None:
    note = sign_note(text, [SIGNERS[0]]).encode("utf-8")
    position = data.draw(st.integers(0, len(note) - 1), label="position")
    flip = data.draw(st.integers(1, 255), label="xor")
    mutated = bytearray(note)
    mutated[position] ^= flip
    with pytest.raises(NoteError):
        open_note(bytes(mutated), [SIGNERS[0].verifier])


@settings(max_examples=100, deadline=None)
@given(text=note_texts, other=note_texts)
def test_signature_lines_do_not_transfer_to_other_texts(text: str, other: str) -> None:
    note = sign_note(text, [SIGNERS[0]])
    signature_block = note[len(text) + 1 :]
    if other == text:
        return
    with pytest.raises(NoteError) as info:
        open_note(other + "\n" + signature_block, [SIGNERS[0].verifier])
    assert info.value.reason == "bad-signature"
