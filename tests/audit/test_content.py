"""Sealed content format: commitments, sealing fields of an event, references, rehydration,
and the exact match between references and sealed text that every append must keep."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.content import (
    ANY_ITEM,
    ERASED_TEXT,
    SEALED_KEY,
    ContentError,
    SealedText,
    check_sealed,
    commit,
    reference,
    references,
    rehydrate,
    seal,
    seal_fields,
)
from audit.content_log import ContentChange, plan_content

texts = st.text(max_size=40)


def test_commitment_is_sha256_of_salt_then_utf8_text() -> None:
    salt = bytes(range(16))
    expected = hashlib.sha256(salt + "Grüße".encode()).hexdigest()
    assert commit(salt, "Grüße") == f"sha256:{expected}"
    assert seal("Grüße", salt) == SealedText(f"sha256:{expected}", salt, "Grüße")


@given(texts)
def test_fresh_salts_hide_equal_texts(text: str) -> None:
    first, second = seal(text), seal(text)
    assert first.matches() and second.matches()
    assert first.commitment != second.commitment  # 16 random bytes each


@given(texts, texts, st.binary(min_size=16, max_size=16))
def test_a_commitment_binds_its_text(text: str, other: str, salt: bytes) -> None:
    sealed = seal(text, salt)
    assert SealedText(sealed.commitment, salt, other).matches() == (other == text)


def test_short_salts_are_refused() -> None:
    with pytest.raises(ContentError, match="16 bytes"):
        seal("x", b"short")
    assert not SealedText(commit(b"short", "x"), b"short", "x").matches()


SCORE: dict[str, Any] = {
    "type": "score.computed",
    "scorecard": {
        "blockers_breached": [{"quote": "guaranteed", "note": "n"}, {"quote": None}],
        "criteria": [
            {"evidence": [{"quote": "what are you hoping"}, {"note": "no quote"}]},
            {"evidence": []},
        ],
    },
}
PATHS = (
    ("scorecard", "blockers_breached", ANY_ITEM, "quote"),
    ("scorecard", "criteria", ANY_ITEM, "evidence", ANY_ITEM, "quote"),
)


def test_seal_fields_replaces_strings_at_paths_and_leaves_the_rest() -> None:
    sealed_event, sealed = seal_fields(SCORE, PATHS)
    assert [item.text for item in sealed] == ["guaranteed", "what are you hoping"]
    blockers = sealed_event["scorecard"]["blockers_breached"]
    assert blockers[0] == {"quote": reference(sealed[0].commitment), "note": "n"}
    assert blockers[1] == {"quote": None}  # null stays null
    assert sealed_event["scorecard"]["criteria"][0]["evidence"][1] == {"note": "no quote"}
    assert "guaranteed" not in repr(sealed_event)
    assert SCORE["scorecard"]["blockers_breached"][0]["quote"] == "guaranteed"  # not mutated
    assert list(references(sealed_event)) == [item.commitment for item in sealed]
    check_sealed([sealed_event], sealed)


def test_missing_paths_seal_nothing() -> None:
    event = {"type": "flag.raised", "finding": {"rule_id": "r"}}
    assert seal_fields(event, [("finding", "quote"), ("nope", ANY_ITEM, "x")]) == (event, [])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(texts.filter(lambda key: key != SEALED_KEY), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), json_values, min_size=1))
def test_rehydrating_a_sealed_event_gives_it_back(event: dict[str, Any]) -> None:
    paths = [(key,) for key in event] + [(key, ANY_ITEM) for key in event]
    sealed_event, sealed = seal_fields(event, paths)
    check_sealed([sealed_event], sealed)
    texts_by = {item.commitment: item.text for item in sealed}
    assert rehydrate(sealed_event, texts_by) == _as_lists(event)
    erased = rehydrate(sealed_event, {})
    assert list(references(erased)) == []
    for item in sealed:
        assert reference(item.commitment) not in _flatten(erased)
    if sealed:
        assert ERASED_TEXT in _flatten(erased)


def _as_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_lists(v) for v in value]
    return value


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value] + [x for v in value.values() for x in _flatten(v)]
    if isinstance(value, list):
        return [value] + [x for v in value for x in _flatten(v)]
    return [value]


def test_check_sealed_refuses_every_mismatch() -> None:
    a, b = seal("a"), seal("b")
    event = {"type": "t", "x": reference(a.commitment), "y": reference(b.commitment)}
    check_sealed([event], [a, b])
    with pytest.raises(ContentError, match="referenced without text"):
        check_sealed([event], [a])
    with pytest.raises(ContentError, match="text without reference"):
        check_sealed([{"type": "t"}], [a])
    with pytest.raises(ContentError, match="does not match"):
        check_sealed([event], [a, SealedText(b.commitment, b.salt, "forged")])
    with pytest.raises(ContentError, match="twice"):
        check_sealed([event, event], [a, b])
    with pytest.raises(ContentError, match="sealed twice"):
        check_sealed([event], [a, a, b])
    with pytest.raises(ContentError, match="malformed"):
        check_sealed([{"type": "t", "x": {SEALED_KEY: "md5:00"}}], [])
    with pytest.raises(ContentError, match="malformed"):
        check_sealed([{"type": "t", "x": {SEALED_KEY: a.commitment, "extra": 1}}], [])


def test_plan_content_ties_rows_to_their_records_and_erasures_to_their_event() -> None:
    a, b = seal("a"), seal("b")
    events: list[dict[str, Any]] = [
        {"type": "t", "x": reference(a.commitment)},
        {"type": "t"},
        {"type": "t", "y": [reference(b.commitment)]},
    ]
    writes = plan_content("s", events, [7, 8, 9], ContentChange(sealed=(a, b)))
    assert writes is not None
    assert [(row.commitment, row.record_seq) for row in writes.rows] == [
        (a.commitment, 7),
        (b.commitment, 9),
    ]
    assert plan_content("s", [{"type": "t"}], [1], None) is None
    erasing = {"type": "content.erased", "commitments": [a.commitment, b.commitment]}
    writes = plan_content("s", [erasing], [12], ContentChange(erases=(b.commitment, a.commitment)))
    assert writes is not None and {(e.commitment, e.erased_by) for e in writes.erasures} == {
        (a.commitment, 12),
        (b.commitment, 12),
    }
    with pytest.raises(ContentError, match="exactly those"):
        plan_content("s", [erasing], [12], ContentChange(erases=(a.commitment,)))
    with pytest.raises(ContentError, match="exactly those"):
        plan_content("s", [erasing], [12], None)  # an erasure record must erase
    malformed: dict[str, Any] = {"type": "content.erased", "commitments": ["x"]}
    with pytest.raises(ContentError, match="lists"):
        plan_content("s", [malformed], [1], None)
