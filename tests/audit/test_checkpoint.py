"""C2SP tlog checkpoints: strict parsing, signing, and rollback/fork detection."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import (
    EMPTY_ROOT,
    AuditError,
    Checkpoint,
    CheckpointError,
    NoteError,
    NoteSigner,
    SigningKey,
    check_consistent,
    consistency_proof,
    open_checkpoint,
    parse_checkpoint,
    root,
    sign_checkpoint,
)

ORIGIN = "proctor.example/audit-log"
LOG_KEY = SigningKey.generate()
SIGNER = NoteSigner(ORIGIN, LOG_KEY)
ROOT = hashlib.sha256(b"some root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# ROOT in base64 with one of the two unused low bits of the last character set.
PADDING_BITS_ROOT = ROOT_B64[:-2] + _B64[_B64.index(ROOT_B64[-2]) ^ 1] + "="

# The example body of c2sp.org/tlog-checkpoint (its signature has no published key).
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_spec_example_body_parses_and_round_trips() -> None:
    checkpoint = parse_checkpoint(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == SPEC_BODY


def test_body_layout() -> None:
    checkpoint = Checkpoint(ORIGIN, 7, ROOT, ("ext one", "ext two"))
    assert checkpoint.body() == f"{ORIGIN}\n7\n{ROOT_B64}\next one\next two\n"
    assert parse_checkpoint(checkpoint.body()) == checkpoint


def test_empty_tree() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert parse_checkpoint(checkpoint.body()) == checkpoint
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 0, ROOT)


@pytest.mark.parametrize(
    "size",
    [
        "",
        "00",
        "01",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1_000",
        "1e3",
        "0x10",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: int() would accept it
        "\uff11",  # FULLWIDTH DIGIT ONE
        "18446744073709551616",  # 2**64
    ],
)
def test_parser_rejects_malformed_sizes(size: str) -> None:
    with pytest.raises(CheckpointError) as info:
        parse_checkpoint(f"{ORIGIN}\n{size}\n{ROOT_B64}\n")
    assert info.value.reason == "malformed"


@pytest.mark.parametrize(
    "root_text",
    [
        "",
        base64.b64encode(ROOT[:31]).decode(),
        base64.b64encode(ROOT + b"\x00").decode(),
        ROOT_B64.rstrip("="),  # no padding
        base64.urlsafe_b64encode(b"\xff" * 32).decode(),  # URL alphabet
        PADDING_BITS_ROOT,
        ROOT.hex(),
        " " + ROOT_B64,
    ],
)
def test_parser_rejects_malformed_roots(root_text: str) -> None:
    if root_text == PADDING_BITS_ROOT:
        # Another spelling of ROOT that lenient decoders accept: the test must mean it.
        assert base64.b64decode(root_text) == ROOT
    with pytest.raises(CheckpointError) as info:
        parse_checkpoint(f"{ORIGIN}\n5\n{root_text}\n")
    assert info.value.reason == "malformed"


@pytest.mark.parametrize(
    "text",
    [
        f"\n5\n{ROOT_B64}\n",  # empty origin
        f"{ORIGIN}\n5\n{ROOT_B64}",  # no final newline
        f"{ORIGIN}\n5\n",  # two lines
        f"{ORIGIN}\n5\n{ROOT_B64}\n\n",  # empty extension line
        f"{ORIGIN}\n5\n{ROOT_B64}\next\n\n",
        f"{ORIGIN}\r\n5\n{ROOT_B64}\n",  # CR in the origin
        f"{ORIGIN}\n5\r\n{ROOT_B64}\n",
        "",
    ],
)
def test_parser_rejects_malformed_texts(text: str) -> None:
    with pytest.raises(CheckpointError) as info:
        parse_checkpoint(text)
    assert info.value.reason == "malformed"


@pytest.mark.parametrize(
    ("origin", "size", "root_hash", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, 2**64, ROOT, ()),
        (ORIGIN, True, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("a\nb",)),
    ],
)
def test_constructor_validates(
    origin: str, size: int, root_hash: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root_hash, extensions)


# --- signed checkpoints --------------------------------------------------------------------------


def test_sign_and_open() -> None:
    checkpoint = Checkpoint(ORIGIN, 42, ROOT)
    note = sign_checkpoint(checkpoint, SIGNER)
    assert note.startswith(checkpoint.body() + "\n\u2014 " + ORIGIN + " ")
    assert open_checkpoint(note, [SIGNER.verifier], ORIGIN) == checkpoint


def test_signer_must_be_named_after_the_origin() -> None:
    with pytest.raises(CheckpointError) as info:
        sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), NoteSigner("other.example/log", LOG_KEY))
    assert info.value.reason == "origin"


def test_open_checks_the_origin() -> None:
    other = NoteSigner("other.example/log", LOG_KEY)
    note = sign_checkpoint(Checkpoint("other.example/log", 1, ROOT), other)
    assert open_checkpoint(note, [other.verifier], "other.example/log").size == 1
    with pytest.raises(CheckpointError) as info:
        open_checkpoint(note, [other.verifier, SIGNER.verifier], ORIGIN)
    assert info.value.reason == "origin"


def test_open_rejects_other_keys_and_tampering() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), SIGNER)
    impostor = NoteSigner(ORIGIN, SigningKey.generate())
    with pytest.raises(NoteError):
        open_checkpoint(note, [impostor.verifier], ORIGIN)
    with pytest.raises(NoteError):
        open_checkpoint(note.replace("\n42\n", "\n43\n"), [SIGNER.verifier], ORIGIN)


def test_signed_malformed_body_is_rejected_after_verification() -> None:
    from audit import sign_note

    note = sign_note(f"{ORIGIN}\n042\n{ROOT_B64}\n", [SIGNER])
    with pytest.raises(CheckpointError) as info:
        open_checkpoint(note, [SIGNER.verifier], ORIGIN)
    assert info.value.reason == "malformed"


_LINE = st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1)
checkpoints = st.builds(
    Checkpoint,
    origin=_LINE,
    size=st.integers(1, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(_LINE, max_size=3).map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(checkpoints)
def test_random_checkpoints_round_trip(checkpoint: Checkpoint) -> None:
    assert parse_checkpoint(checkpoint.body()) == checkpoint


@settings(max_examples=100, deadline=None)
@given(checkpoint=checkpoints, data=st.data())
def test_random_signed_checkpoints_reject_any_mutation(
    checkpoint: Checkpoint, data: st.DataObject
) -> None:
    signer = NoteSigner("log.example/a", LOG_KEY)
    checkpoint = Checkpoint(
        "log.example/a", checkpoint.size, checkpoint.root, checkpoint.extensions
    )
    note = sign_checkpoint(checkpoint, signer)
    assert open_checkpoint(note, [signer.verifier], "log.example/a") == checkpoint
    raw = bytearray(note.encode())
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    raw[position] ^= data.draw(st.integers(1, 255), label="xor")
    with pytest.raises(AuditError):
        open_checkpoint(bytes(raw), [signer.verifier], "log.example/a")


# --- consistency ---------------------------------------------------------------------------------


def leaves(n: int, tag: bytes = b"") -> list[bytes]:
    return [tag + f"record {i}".encode() for i in range(n)]


def head(lines: list[bytes], size: int, origin: str = ORIGIN) -> Checkpoint:
    return Checkpoint(origin, size, root(lines[:size]))


def test_consistent_checkpoints_pass() -> None:
    log = leaves(13)
    for old in range(1, 14):
        for new in range(old, 14):
            check_consistent(head(log, old), head(log, new), consistency_proof(log, old, new))


def test_from_the_empty_tree() -> None:
    log = leaves(5)
    check_consistent(head(log, 0), head(log, 5), [])
    with pytest.raises(CheckpointError):
        check_consistent(head(log, 0), head(log, 5), [ROOT])


def test_rollback_is_reported() -> None:
    log = leaves(9)
    with pytest.raises(CheckpointError) as info:
        check_consistent(head(log, 8), head(log, 5), consistency_proof(log, 5, 8))
    assert info.value.reason == "rollback"
    assert "rollback" in str(info.value)


def test_fork_is_reported() -> None:
    log, forked = leaves(9), leaves(9, b"x")
    with pytest.raises(CheckpointError) as info:
        check_consistent(head(log, 9), head(forked, 9), [])
    assert info.value.reason == "fork"
    assert "fork" in str(info.value)


def test_rewritten_history_is_inconsistent() -> None:
    log = leaves(9)
    rewritten = [*log[:3], b"changed", *log[4:]]
    with pytest.raises(CheckpointError) as info:
        check_consistent(head(log, 5), head(rewritten, 9), consistency_proof(rewritten, 5, 9))
    assert info.value.reason == "inconsistent"


def test_other_log_is_refused() -> None:
    log = leaves(4)
    with pytest.raises(CheckpointError) as info:
        check_consistent(
            head(log, 2), head(log, 4, "other.example/log"), consistency_proof(log, 2, 4)
        )
    assert info.value.reason == "origin"


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_logs_and_mutated_proofs(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 40), label="n")
    old = data.draw(st.integers(1, n - 1), label="old")
    new = data.draw(st.integers(old + 1, n), label="new")
    log = leaves(n)
    proof = consistency_proof(log, old, new)
    check_consistent(head(log, old), head(log, new), proof)
    kind = data.draw(st.sampled_from(["flip", "drop", "extra", "swap-heads"]), label="kind")
    mutated = list(proof)
    old_head, new_head = head(log, old), head(log, new)
    if kind == "flip":
        i = data.draw(st.integers(0, len(proof) - 1), label="i")
        mutated[i] = bytes([mutated[i][0] ^ 1]) + mutated[i][1:]
    elif kind == "drop":
        del mutated[data.draw(st.integers(0, len(proof) - 1), label="i")]
    elif kind == "extra":
        mutated.append(ROOT)
    else:
        old_head, new_head = new_head, old_head
    with pytest.raises(CheckpointError):
        check_consistent(old_head, new_head, mutated)
