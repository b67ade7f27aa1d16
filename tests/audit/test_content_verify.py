"""The verifier's content checks: every sealed reference answered by matching text or a valid
erasure declaration, nothing else; on generated cases (hypothesis) and on altered bundles."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import SigningKey, SQLiteRecordStore, export_bundle, verify_bundle
from audit.canonical import canonical_json
from audit.content import SealedText, seal
from audit.content_bundle import ERASED_PATH, content_file
from audit.content_store import Erasure
from audit.content_verify import ContentChecker, ContentFacts
from audit.erasure import erase_learner_content
from audit.problems import Code, ProblemList
from policies.models import Speaker
from tests.audit.sessions import BREACH, GOOD, record_session

FATES = {
    # fate: the problem code it must cause (None: valid)
    "present": None,
    "erased-in-bundle": None,  # declared, and the content.erased record is in the bundle
    "erased-outside": None,  # declared, erased by a later record outside the bundle
    "tampered": Code.CONTENT_MISMATCH,
    "other-session": Code.CONTENT_MISMATCH,
    "present-and-erased": Code.CONTENT_MISMATCH,
    "missing": Code.CONTENT_MISSING,
    "erased-by-unlisting-record": Code.CONTENT_MISSING,
    "erased-before-sealed": Code.CONTENT_MISSING,
}


@given(
    fates=st.lists(st.sampled_from(sorted(FATES)), max_size=8),
    sessions=st.data(),
    stray_texts=st.integers(0, 2),
    stray_erasures=st.integers(0, 2),
)
def test_each_fault_is_reported_once_with_its_code(
    fates: list[str], sessions: st.DataObject, stray_texts: int, stray_erasures: int
) -> None:
    problems = ProblemList()
    checker = ContentChecker(problems)
    texts: dict[str, tuple[SealedText, str, str]] = {}
    erased: dict[str, tuple[Erasure, str]] = {}
    for index, fate in enumerate(fates):
        seq = 10 + index  # the sealing record
        session = sessions.draw(st.sampled_from(["s1", "s2"]))
        item = seal(f"words {index}")
        checker.note(seq, session, ContentFacts((item.commitment,), ()))
        where = f"line {index}"
        if fate in ("present", "present-and-erased"):
            texts[item.commitment] = (item, session, where)
        elif fate == "tampered":
            texts[item.commitment] = (
                SealedText(item.commitment, item.salt, "other"),
                session,
                where,
            )
        elif fate == "other-session":
            texts[item.commitment] = (item, "elsewhere", where)
        if fate in ("erased-in-bundle", "present-and-erased"):
            checker.note(100 + index, session, ContentFacts((), (item.commitment,)))
            erased[item.commitment] = (Erasure(item.commitment, session, 100 + index), where)
        elif fate == "erased-outside":
            erased[item.commitment] = (Erasure(item.commitment, session, 1000 + index), where)
        elif fate == "erased-by-unlisting-record":
            checker.note(200 + index, session, None)  # in the bundle, lists nothing
            erased[item.commitment] = (Erasure(item.commitment, session, 200 + index), where)
        elif fate == "erased-before-sealed":
            erased[item.commitment] = (Erasure(item.commitment, session, 5), where)
    for n in range(stray_texts):
        stray = seal(f"stray {n}")
        texts[stray.commitment] = (stray, "s1", f"stray line {n}")
    for n in range(stray_erasures):
        stray = seal(f"stray erased {n}")
        erased[stray.commitment] = (Erasure(stray.commitment, "s1", 2000 + n), f"erased {n}")

    checker.check_parsed(texts, erased)

    expected = [code for fate in fates if (code := FATES[fate]) is not None]
    expected += [Code.CONTENT_MISMATCH] * (stray_texts + stray_erasures)
    assert sorted(p.code for p in problems.items) == sorted(code.value for code in expected)


def test_references_must_be_commitments_and_unique() -> None:
    problems = ProblemList()
    checker = ContentChecker(problems)
    item = seal("x")
    checker.note(1, "s", ContentFacts(("md5:0",), ()))
    checker.note(2, "s", ContentFacts((item.commitment,), ()))
    checker.note(3, "s", ContentFacts((item.commitment,), ()))
    checker.check_parsed({item.commitment: (item, "s", "line 1")}, {})
    assert [(p.code, p.seq) for p in problems.items] == [
        (Code.CONTENT_MALFORMED.value, 1),
        (Code.CONTENT_MALFORMED.value, 3),
    ]


# -- whole bundles -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def erased_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of two sessions, one of them erased."""
    base = tmp_path_factory.mktemp("content")
    key = SigningKey.generate()
    with SQLiteRecordStore(base / "audit.db") as store:
        spoken = [(Speaker.learner, GOOD), (Speaker.learner, BREACH)]
        record_session(store, key, spoken, session_id="kept", learner="L-kept")
        record_session(store, key, spoken, session_id="gone", learner="L-gone")
        erase_learner_content(store, key, "L-gone")
        export_bundle(store, key, base / "bundle", "proctor.test/audit")
    return base / "bundle"


Edit = Callable[[Path], None]


def rewrite_lines(name: str, change: Callable[[list[dict[str, object]]], object]) -> Edit:
    def edit(bundle: Path) -> None:
        path = bundle / name
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        change(rows)
        path.write_bytes(b"".join(canonical_json(row) + b"\n" for row in rows))

    return edit


def _alter_text(rows: list[dict[str, object]]) -> None:
    rows[0]["text"] = "words the learner never said"


def _declare_kept_erased(bundle: Path) -> None:
    kept = bundle / content_file("kept")
    rows = [json.loads(line) for line in kept.read_text().splitlines()]
    declared = [json.loads(line) for line in (bundle / ERASED_PATH).read_text().splitlines()]
    first = declared[0]
    declared.append(
        {"commitment": rows[0]["commitment"], "erased_by": first["erased_by"], "session_id": "kept"}
    )
    kept.write_bytes(b"".join(canonical_json(row) + b"\n" for row in rows[1:]))
    (bundle / ERASED_PATH).write_bytes(b"".join(canonical_json(d) + b"\n" for d in declared))


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (rewrite_lines(content_file("kept"), _alter_text), Code.CONTENT_MISMATCH),
        (rewrite_lines(content_file("kept"), lambda rows: rows.pop()), Code.CONTENT_MISSING),
        (rewrite_lines(ERASED_PATH, lambda rows: rows.pop()), Code.CONTENT_MISSING),
        (_declare_kept_erased, Code.CONTENT_MISSING),  # "erased" by a record not listing it
        (lambda b: (b / content_file("kept")).write_text("{not json\n"), Code.CONTENT_MALFORMED),
        (lambda b: (b / content_file("kept")).unlink(), Code.CONTENT_MISSING),
    ],
)
def test_altered_content_is_caught(
    erased_bundle: Path, tmp_path: Path, edit: Edit, code: Code
) -> None:
    assert verify_bundle(erased_bundle).ok
    bundle = tmp_path / "bundle"
    shutil.copytree(erased_bundle, bundle)
    edit(bundle)
    report = verify_bundle(bundle)
    assert code.value in {problem.code for problem in report.problems}, report.problems
