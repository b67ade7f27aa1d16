"""The verifier's block path: the fast line reading gives exactly `check_line`'s outcomes,
Merkle roots from aligned blocks are RFC 6962's, block summaries change nothing in the
report, and the worker processes are lean, report a tampered record exactly, and are
replaced by in-process checking when they cannot run."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audit.verify as verify_module
import audit.verify_pool as verify_pool
from audit import AuditLog, SigningKey, SQLiteRecordStore, export_bundle, verify_bundle
from audit.b64 import b64encode, decode_canonical
from audit.chain import ChainChecker
from audit.content_log import ERASED_EVENT
from audit.dsse import encode_envelope, sign_envelope
from audit.keys import PublicKey
from audit.linecheck import check_line
from audit.merkle import leaf_hash, root
from audit.merkle_blocks import AlignedRange, aligned_nodes
from audit.records import RECORD_PAYLOAD_TYPE
from audit.verify_block import ERASED_TYPE, RECORD_TYPE, BlockChecker, BlockConfig
from tests.audit.helpers import POLICY, StepClock, event

RECORDS = "log/records.jsonl"
BIG = 1500  # records in the bundle the worker tests split into many blocks
SMALL_BLOCK = 16 * 1024  # about 40 records per block in those tests


def test_constants_match_their_definitions() -> None:
    assert RECORD_TYPE == RECORD_PAYLOAD_TYPE
    assert ERASED_TYPE == ERASED_EVENT


# -- fast line reading == check_line ----------------------------------------------------

json_leaf = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=6)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["$content", "a", "text", "é"]) | st.text(max_size=4), inner
        )
    ),
    max_leaves=6,
)


def _payload(seq: int, session_seq: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": seq,
        "session_id": "s",
        "session_seq": session_seq,
        "prev": None if session_seq == 0 else "cd" * 32,
        "policy": {"id": POLICY.id, "version": POLICY.version, "digest": POLICY.digest},
        "timestamp": "2026-11-22T04:50:09.123456Z",
        "event": body,
    }


def _signed(payload: bytes, key: SigningKey) -> bytes:
    return encode_envelope(sign_envelope(RECORD_PAYLOAD_TYPE, payload, key)) + b"\n"


@settings(max_examples=200, deadline=None)
@given(
    extra=json_value,
    kind=st.sampled_from(["UtteranceFinal", ERASED_EVENT, ""]),
    session_seq=st.integers(0, 2),
    escape=st.sampled_from([None, b"$", b"e", b"t"]),
    flip=st.none() | st.tuples(st.integers(0, 10**6), st.integers(1, 255)),
    commitments=st.lists(st.sampled_from(["sha256:" + "ab" * 32, "x"]), max_size=2),
)
def test_fast_lines_give_check_line_outcomes(
    key: SigningKey,
    extra: object,
    kind: str,
    session_seq: int,
    escape: bytes | None,
    flip: tuple[int, int] | None,
    commitments: list[str],
) -> None:
    body: dict[str, Any] = {"type": kind, "x": extra}
    if kind == ERASED_EVENT:
        body["commitments"] = commitments
    raw = json.dumps(_payload(7, session_seq, body), sort_keys=True, separators=(",", ":"))
    payload = raw.encode()
    if escape is not None:  # the same JSON with one character spelt as an escape
        payload = payload.replace(escape, b"\\u%04x" % escape[0], 1)
    line = bytearray(_signed(payload, key))
    if flip is not None:
        index, delta = flip
        index %= len(line)
        line[index] = (line[index] + delta) % 256
    trusted = {key.public_key.keyid: key.public_key}
    config = BlockConfig(
        {key.public_key.keyid: key.public_key.raw}, summarise=False, leaves=True, tree=False
    )
    result = BlockChecker(config).check(bytes(line), 0)
    lines = io.BytesIO(bytes(line)).readlines()  # split at b'\n' only, as the file is read
    assert result.outcomes == [check_line(one, trusted) for one in lines]
    assert result.leaves == b"".join(leaf_hash(one.removesuffix(b"\n")) for one in lines)


def test_signature_by_another_key_and_two_signatures_take_the_general_path(
    key: SigningKey,
) -> None:
    other = SigningKey.generate()
    payload = json.dumps(_payload(1, 0, {"type": "t"}), sort_keys=True, separators=(",", ":"))
    envelope = sign_envelope(RECORD_PAYLOAD_TYPE, payload.encode(), key)
    foreign = encode_envelope(sign_envelope(RECORD_PAYLOAD_TYPE, payload.encode(), other))
    envelope["signatures"].insert(0, {"keyid": other.public_key.keyid, "sig": b64encode(b"x")})
    lines = [foreign + b"\n", encode_envelope(envelope) + b"\n", b"\n", b"{}"]
    trusted = {key.public_key.keyid: key.public_key}
    config = BlockConfig({key.public_key.keyid: key.public_key.raw}, False, False, False)
    result = BlockChecker(config).check(b"".join(lines), 0)
    assert result.outcomes == [check_line(one, trusted) for one in lines]
    assert [type(outcome).__name__ for outcome in result.outcomes or []] == [
        "LineFailure",
        "RecordFacts",
        "LineFailure",
        "LineFailure",
    ]


@given(st.binary(max_size=40))
def test_decode_canonical_accepts_the_canonical_spelling(data: bytes) -> None:
    assert decode_canonical(b64encode(data).encode()) == data


@given(st.binary(max_size=60) | st.text("ABCab+/=\n ", max_size=20).map(str.encode))
def test_decode_canonical_accepts_nothing_else(text: bytes) -> None:
    decoded = decode_canonical(text)
    assert decoded is None or b64encode(decoded).encode() == text


def test_non_zero_padding_bits_are_refused() -> None:
    assert decode_canonical(b"QQ==") == b"A"
    assert decode_canonical(b"QR==") is None
    assert decode_canonical(b"QUI=") == b"AB"
    assert decode_canonical(b"QUJ=") is None


# -- Merkle roots from aligned blocks -----------------------------------------------------


@given(st.lists(st.integers(1, 40), max_size=12), st.integers(0, 300))
def test_aligned_blocks_give_every_rfc6962_root(cuts: list[int], extra: int) -> None:
    total = sum(cuts) + extra % 7
    data = [b"leaf %d" % i for i in range(total)]
    hashes = [leaf_hash(item) for item in data]
    tree, position = AlignedRange(), 0
    for size in [*cuts, total - sum(cuts)]:
        block = hashes[position : position + size]
        for upto in range(1, len(block) + 1):
            partial = tree.copy()
            partial.add(aligned_nodes(position, block[:upto]))
            assert partial.root() == root(data[: position + upto])
        tree.add(aligned_nodes(position, block))
        position += len(block)
        assert tree.size == position
    assert tree.root() == root(data)


def test_misaligned_subtree_is_refused() -> None:
    tree = AlignedRange()
    tree.add([(0, leaf_hash(b"a"))])
    with pytest.raises(ValueError):
        tree.add([(1, leaf_hash(b"b"))])


# -- block summaries and workers ------------------------------------------------------


@pytest.fixture(scope="module")
def big_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of BIG records over 7 sessions, with a checkpoint inside the records."""
    base = tmp_path_factory.mktemp("big")
    key = SigningKey.generate()
    with SQLiteRecordStore(base / "audit.db") as store:
        log = AuditLog(store, key, clock=StepClock())
        for n in range(BIG // 10):
            log.append(f"session-{n % 7}", POLICY, [event(n * 10 + i) for i in range(10)])
        export_bundle(store, key, base / "bundle", "proctor.test/log")
    return base / "bundle"


def _copy(bundle: Path, target: Path) -> Path:
    subprocess.run(["cp", "-r", str(bundle), str(target)], check=True)
    return target


def test_big_bundle_is_ok_in_blocks_with_workers(
    big_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "_BLOCK_BYTES", SMALL_BLOCK)
    for workers in (1, 2):
        report = verify_bundle(big_bundle, workers=workers)
        assert report.ok, report.problems
        assert report.records_checked == BIG


def _tamper(bundle: Path, line: int) -> None:
    """Alter the signature of record line `line` (1-based)."""
    lines = (bundle / RECORDS).read_bytes().splitlines(keepends=True)
    envelope = json.loads(lines[line - 1])
    sig = envelope["signatures"][0]["sig"]
    envelope["signatures"][0]["sig"] = ("B" if sig[0] != "B" else "C") + sig[1:]
    lines[line - 1] = json.dumps(envelope, separators=(",", ":")).encode() + b"\n"
    (bundle / RECORDS).write_bytes(b"".join(lines))


def test_workers_name_the_tampered_record_in_the_middle(
    big_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "_BLOCK_BYTES", SMALL_BLOCK)
    bundle = _copy(big_bundle, tmp_path / "bundle")
    middle = BIG // 2 + 3
    _tamper(bundle, middle)
    parallel = verify_bundle(bundle, workers=2)
    signature = [p for p in parallel.problems if p.code == "record-signature"]
    assert [(p.line, p.seq) for p in signature] == [(middle, middle)]
    assert f"line {middle} (claims seq {middle})" in signature[0].message
    assert parallel == verify_bundle(bundle, workers=1)
    monkeypatch.setattr(verify_module, "_BLOCK_BYTES", 1 << 30)  # one block, line by line
    assert parallel == verify_bundle(bundle, workers=1)


@pytest.mark.parametrize("change", ["drop", "duplicate", "swap", "truncate", "garble"])
def test_block_summaries_change_nothing_in_the_report(
    big_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    bundle = _copy(big_bundle, tmp_path / "bundle")
    lines = (bundle / RECORDS).read_bytes().splitlines(keepends=True)
    at = 41 * 7  # well inside the file, near a small block's edge
    if change == "drop":
        del lines[at]
    elif change == "duplicate":
        lines.insert(at + 50, lines[at])
    elif change == "swap":
        lines[at], lines[at + 90] = lines[at + 90], lines[at]
    elif change == "truncate":
        lines[-1] = lines[-1][:-1]
    else:
        lines[at] = b"{garbage\n"
    (bundle / RECORDS).write_bytes(b"".join(lines))
    monkeypatch.setattr(verify_module, "_BLOCK_BYTES", SMALL_BLOCK)
    in_blocks = verify_bundle(bundle, workers=1)
    with_workers = verify_bundle(bundle, workers=2)
    monkeypatch.setattr(ChainChecker, "feed_run", lambda self, run, count: False)
    line_by_line = verify_bundle(bundle, workers=1)
    assert not in_blocks.ok
    assert in_blocks == line_by_line == with_workers


def test_workers_that_cannot_start_leave_the_checks_to_this_process(
    big_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "_BLOCK_BYTES", SMALL_BLOCK)
    bundle = _copy(big_bundle, tmp_path / "bundle")
    _tamper(bundle, 700)
    expected = verify_bundle(bundle, workers=1)
    monkeypatch.setattr(verify_pool.sys, "executable", str(tmp_path / "no-such-python"))
    assert verify_bundle(bundle, workers=2) == expected
    monkeypatch.undo()
    monkeypatch.setattr(verify_module, "_BLOCK_BYTES", SMALL_BLOCK)
    monkeypatch.setattr(verify_pool, "_BOOT", "import sys; sys.exit(3)")  # die at once
    assert verify_bundle(bundle, workers=2) == expected


def test_workers_that_die_midway_leave_the_rest_to_this_process(
    big_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "_BLOCK_BYTES", SMALL_BLOCK)
    bundle = _copy(big_bundle, tmp_path / "bundle")
    _tamper(bundle, 1200)
    expected = verify_bundle(bundle, workers=1)
    # A worker that answers three blocks, then exits.
    boot = verify_pool._BOOT.replace(
        "from audit.verify_worker import main; main()",
        "import audit.verify_worker as w; from audit.verify_block import BlockChecker\n"
        "n = [0]\n"
        "check = BlockChecker.check\n"
        "def limited(self, blob, first):\n"
        "    n[0] += 1\n"
        "    if n[0] > 3: sys.exit(0)\n"
        "    return check(self, blob, first)\n"
        "BlockChecker.check = limited\n"
        "w.main()",
    )
    monkeypatch.setattr(verify_pool, "_BOOT", boot)
    assert verify_bundle(bundle, workers=2) == expected


def test_worker_entry_imports_nothing_heavy() -> None:
    script = "import json, sys, audit.verify_worker\nprint(json.dumps(sorted(sys.modules)))"
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=repo, check=True
    ).stdout
    loaded = set(json.loads(out))
    heavy = {
        "psycopg",
        "fastapi",
        "chromadb",
        "torch",
        "numpy",
        "pydantic",  # the model is imported only for a line off the fast path
        "cryptography",
        "multiprocessing",
        "audit.records",
        "audit.linecheck",
        "audit.bundle",
        "audit.log",
        "engine",
        "server",
        "cli",
    }
    assert loaded & heavy == set()


def test_public_key_raw_round_trip_for_workers(key: SigningKey) -> None:
    # Workers get keys as raw bytes and rebuild them only for the general path.
    assert PublicKey(key.public_key.raw).keyid == key.public_key.keyid


def test_remembered_policies_and_seconds_keep_exact_verdicts() -> None:
    from audit.payload_fast import plain_payload

    def payload(version: object, timestamp: str) -> bytes:
        data = _payload(3, 0, {"type": "t"})
        data["policy"]["version"] = version
        data["timestamp"] = timestamp
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    good = "2026-11-22T04:50:09.123456Z"
    assert plain_payload(payload(3, good)) is not None  # now remembered
    assert plain_payload(payload(3, good.replace("123456", "654321"))) is not None
    # Equal as dict keys to the remembered (id, 3, digest), but not valid: the model decides.
    assert plain_payload(payload(3.0, good)) is None
    assert plain_payload(payload(True, good)) is None
    assert plain_payload(payload(3, good + "\n")) is None
    assert plain_payload(payload(3, good.replace(".123456", ".12345"))) is None
    assert plain_payload(payload(3, "2026-02-30T04:50:09.123456Z")) is None
    assert plain_payload(payload(3, "2026-02-30T04:50:09.123456Z")) is None  # not remembered
