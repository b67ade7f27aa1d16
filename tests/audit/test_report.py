"""The per-session HTML report: what it says, and that record text never becomes markup.

Pages are parsed with the standard library's `html.parser` and the tests look at the
parsed structure (which elements, which text inside them, which link targets exist), not
at substrings of the markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import PolicyRef, RecordPayload, SigningKey, SQLiteRecordStore
from audit.content import ERASED_TEXT
from audit.report import render_session_report
from audit.report_model import ReportRecord
from policies.models import Speaker
from tests.audit.sessions import BREACH, GOOD, LEARNER, REPLY, record_session, report_records

ORIGIN = "proctor.test/audit"


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""  # all text inside, including descendants
    own_text: str = ""  # text inside, leaving out <sup> descendants
    children: list[Element] = field(default_factory=list)


class Tree(HTMLParser):
    """Every element with its attributes and the text it contains."""

    VOID = frozenset({"meta", "br", "link", "img", "hr", "input"})

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.doctype: str | None = None
        self.feed(page)
        self.close()
        assert not self.stack, f"unclosed elements: {[e.tag for e in self.stack]}"

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if self.stack:
            self.stack[-1].children.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1].tag == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        in_sup = any(element.tag == "sup" for element in self.stack)
        for element in self.stack:
            element.text += data
            if not in_sup:
                element.own_text += data

    def all(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]

    def by_id(self, element_id: str) -> Element:
        (found,) = [e for e in self.elements if e.attrs.get("id") == element_id]
        return found

    def ids(self) -> set[str]:
        return {e.attrs["id"] or "" for e in self.elements if "id" in e.attrs}


def definitions(element: Element) -> dict[str, str]:
    """The dt -> dd texts of the first definition list inside `element`."""
    (dl,) = [child for child in walk(element) if child.tag == "dl"][:1]
    names = [child.text for child in dl.children if child.tag == "dt"]
    values = [child.text for child in dl.children if child.tag == "dd"]
    return dict(zip(names, values, strict=True))


def walk(element: Element) -> Iterator[Element]:
    yield element
    for child in element.children:
        yield from walk(child)


def section(tree: Tree, heading_id: str) -> Element:
    (found,) = tree.all("section", **{"aria-labelledby": heading_id})
    return found


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def recorded(
    tmp_path_factory: pytest.TempPathFactory, key: SigningKey
) -> Iterator[list[ReportRecord]]:
    path = tmp_path_factory.mktemp("report") / "audit.sqlite3"
    with SQLiteRecordStore(path) as store:
        record_session(
            store,
            key,
            [(Speaker.learner, GOOD), (Speaker.persona, REPLY), (Speaker.learner, BREACH)],
            session_id="s-report",
        )
        yield report_records(store, key, "s-report")


@pytest.fixture(scope="module")
def page(recorded: list[ReportRecord], key: SigningKey) -> Tree:
    return Tree(
        render_session_report(
            recorded,
            origin=ORIGIN,
            exported_by=key.public_key.keyid,
            xapi_link="../xapi/s-report.json",
        )
    )


def event_of(records: list[ReportRecord], event_type: str) -> dict[str, object]:
    (found,) = [r.payload.event for r in records if r.payload.event["type"] == event_type]
    return found


def test_page_is_self_contained_and_accessible(page: Tree) -> None:
    assert page.doctype is not None and page.doctype.lower() == "doctype html"
    (root,) = page.all("html")
    assert root.attrs["lang"] == "en"
    assert not page.all("script") and not page.all("link") and not page.all("img")
    (csp,) = page.all("meta", **{"http-equiv": "Content-Security-Policy"})
    assert "default-src 'none'" in (csp.attrs["content"] or "")
    assert [h.text for h in page.all("h1")] == ["Proctor session report: s-report"]
    assert [h.text for h in page.all("h2")] == [
        "Session",
        "Transcript",
        "Findings",
        "Scores",
        "Objectives and checks",
        "Verification",
    ]
    for table in page.all("table"):
        kinds = {e.tag for e in walk(table)}
        assert {"caption", "th"} <= kinds
        assert all(th.attrs.get("scope") == "col" for th in walk(table) if th.tag == "th")


def test_metadata_names_learner_policy_times_and_outcome(
    page: Tree, recorded: list[ReportRecord]
) -> None:
    started = event_of(recorded, "session.started")
    ended = event_of(recorded, "session.ended")
    policy = recorded[0].payload.policy
    meta = definitions(section(page, "h-meta"))
    assert meta["Session"] == "s-report"
    assert meta["Learner (pseudonym)"] == LEARNER
    assert meta["Policy"] == "report-rules, version 2"
    assert meta["Policy digest (SHA-256)"] == policy.digest
    assert meta["Started"] == started["at"]
    assert meta["Ended"] == ended["at"]
    assert meta["Outcome"].startswith("completed by the learner; FAILED with score")
    assert meta["xAPI statements"] == "../xapi/s-report.json"
    assert meta["Log origin"] == ORIGIN


def test_transcript_escapes_text_and_marks_the_exact_flagged_words(page: Tree) -> None:
    turns = page.all("p", **{"class": "said"})
    assert [t.own_text for t in turns] == [GOOD, REPLY, BREACH]
    assert not [e for e in walk(turns[0]) if e.tag == "b"]  # "<b>Dr</b>" stayed text
    marked = [e for e in walk(turns[2]) if e.tag == "mark"]
    # "guaranteed returns" is flagged by two rules (overlapping spans: "guaranteed" by
    # no-absolutes, the whole phrase by no-guarantees) and "risk-free" by one; the text
    # is cut at every span edge, so the pieces are marked without nesting.
    assert [m.text for m in marked] == ["guaranteed", " returns", "risk-free"]
    assert all(not [c for c in m.children if c.tag == "mark"] for m in marked)
    assert marked[0].attrs["class"] == "sev-critical"  # the worst severity covering it
    assert "no-absolutes" in (marked[0].attrs["title"] or "")
    links = [e.attrs["href"] for e in walk(turns[2]) if e.tag == "a"]
    assert sorted(links) == ["#finding-1", "#finding-2", "#finding-3"]
    assert {link.removeprefix("#") for link in links if link} <= page.ids()


def test_findings_give_rule_severity_citation_evidence_and_escalations(
    page: Tree, recorded: list[ReportRecord]
) -> None:
    flags = [
        r.payload.event["finding"] for r in recorded if r.payload.event["type"] == "flag.raised"
    ]
    assert len(flags) == 3
    for number, finding in enumerate(flags, start=1):
        assert isinstance(finding, dict)
        item = page.by_id(f"finding-{number}")
        facts = definitions(item)
        assert facts["Rule"].startswith(finding["rule_id"])
        assert facts["Severity"] == finding["severity"]
        assert facts["Regulation cited"] == finding["cite"]
        assert facts["Matched text"] == finding["quote"]
        assert facts["Why it matched"] == finding["detail"]
        span = finding["span"]
        assert facts["Span"] == f"characters {span['start']} to {span['end']}"
        assert BREACH[span["start"] : span["end"]] == finding["quote"]
        where = [e for e in walk(item) if e.tag == "a"]
        assert where[0].attrs["href"] == "#turn-3"  # back to the turn with the words
        if finding["severity"] == "critical":
            assert "compliance-team" in facts["Escalations"]
            assert "Say that capital is at risk" in facts["Coaching shown"]
        else:
            assert facts["Escalations"] == "none"


def test_scores_show_blockers_first_then_every_criterion_with_evidence(
    page: Tree, recorded: list[ReportRecord]
) -> None:
    scores = section(page, "h-scores")
    headings = [e.text for e in walk(scores) if e.tag == "h3"]
    assert headings == ["Blockers", "Criteria"]
    captions = [e.text for e in walk(scores) if e.tag == "caption"]
    assert captions == [
        "Blocker rules breached",
        "Score per criterion",
        "Evidence for criterion goals",
        "Evidence for criterion claims",
    ]
    scorecard = event_of(recorded, "score.computed")["scorecard"]
    assert isinstance(scorecard, dict)
    tables = [e for e in walk(scores) if e.tag == "table"]
    blocker_rows = [e for e in walk(tables[0]) if e.tag == "tr"][1:]
    assert len(blocker_rows) == len(scorecard["blockers_breached"]) > 0
    criterion_rows = [e for e in walk(tables[1]) if e.tag == "tr"][1:]
    assert [[c.text for c in row.children] for row in criterion_rows] == [
        [c["id"], f"{c['weight']:.2f}", f"{c['score']:.2f}", "yes"] for c in scorecard["criteria"]
    ]


def test_verification_names_keys_seq_range_and_every_record_digest(
    page: Tree, recorded: list[ReportRecord], key: SigningKey
) -> None:
    verification = section(page, "h-verification")
    facts = definitions(verification)
    keyid = key.public_key.keyid
    assert facts["Status"] == f"verified at export by {keyid}"
    assert facts["Signed by key(s)"] == keyid
    first, last = recorded[0].payload.seq, recorded[-1].payload.seq
    assert facts["Records"] == (
        f"{len(recorded)} record(s), log seq {first} to {last}, "
        f"session seq 0 to {len(recorded) - 1}"
    )
    (table,) = [e for e in walk(verification) if e.tag == "table"]
    rows = [[c.text for c in row.children] for row in walk(table) if row.tag == "tr"][1:]
    assert rows == [
        [
            str(r.payload.seq),
            str(r.payload.session_seq),
            r.payload.event["type"],
            keyid,
            r.digest,
        ]
        for r in recorded
    ]


def test_running_session_and_missing_scorecard_are_said_plainly(tmp_path: Path) -> None:
    key = SigningKey.generate()
    with SQLiteRecordStore(tmp_path / "a.sqlite3") as store:
        record_session(store, key, [(Speaker.learner, GOOD)], session_id="s-open", end=None)
        page = Tree(
            render_session_report(
                report_records(store, key, "s-open"),
                origin=ORIGIN,
                exported_by=key.public_key.keyid,
                xapi_note="the session has not ended",
            )
        )
    meta = definitions(section(page, "h-meta"))
    assert meta["Ended"] == "not ended in this bundle"
    assert meta["Outcome"] == "still running at export; not scored"
    assert meta["xAPI statements"] == "none: the session has not ended"
    assert "not scored" in section(page, "h-scores").text


def test_refuses_no_records_or_two_sessions(recorded: list[ReportRecord]) -> None:
    with pytest.raises(ValueError, match="no records"):
        render_session_report([], origin=ORIGIN, exported_by="k")
    other = ReportRecord(
        recorded[0].payload.model_copy(update={"session_id": "another"}), "00" * 32, ()
    )
    with pytest.raises(ValueError, match="several sessions"):
        render_session_report([recorded[0], other], origin=ORIGIN, exported_by="k")


# -- arbitrary text ------------------------------------------------------------------------

ALLOWED_TAGS = {
    *("html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "section"),
    *("dl", "dt", "dd", "code", "p", "div", "strong", "mark", "sup", "a", "ol", "ul", "li"),
    *("table", "caption", "thead", "tbody", "tr", "th", "td", "span", "br", "blockquote"),
}
POLICY = PolicyRef(id="p", version=1, digest="ab" * 32)
texts = st.text(max_size=60)


def payload(seq: int, event: dict[str, object]) -> ReportRecord:
    body = RecordPayload(
        seq=seq,
        session_id="s",
        session_seq=seq - 1,
        prev=None if seq == 1 else "cd" * 32,
        policy=POLICY,
        timestamp="2026-03-04T09:00:00.000000Z",
        event=event,
    )
    return ReportRecord(body, "ef" * 32, ("k" * 64,))


@settings(max_examples=150, deadline=None)
@given(
    said=texts,
    learner=texts,
    scenario=texts,
    detail=texts,
    cite=texts,
    bounds=st.tuples(st.integers(0, 70), st.integers(0, 70)),
)
def test_arbitrary_record_text_never_becomes_markup(
    said: str, learner: str, scenario: str, detail: str, cite: str, bounds: tuple[int, int]
) -> None:
    start, end = sorted(bounds)
    at = "2026-03-04T09:00:00Z"
    finding = {
        "finding_id": detail,
        "rule_id": cite,
        "severity": detail,
        "utterance_id": "u1",
        "turn": 1,
        "span": {"start": start, "end": end},
        "quote": said[start:end],
        "detail": detail,
        "cite": cite,
        "actions": [detail],
    }
    records = [
        payload(1, {"type": "session.started", "learner": learner, "scenario": scenario, "at": at}),
        payload(
            2,
            {
                "type": "utterance.final",
                "utterance_id": "u1",
                "speaker": learner,
                "turn": 1,
                "text": said,
                "at": at,
            },
        ),
        payload(3, {"type": "flag.raised", "finding": finding, "provisional": False, "at": at}),
        payload(
            4,
            {
                "type": "escalation.triggered",
                "finding_ids": [detail],
                "channels": [cite],
                "trigger": learner,
                "severity": cite,
                "at": at,
            },
        ),
    ]
    page = Tree(render_session_report(records, origin=learner, exported_by=cite))
    assert {e.tag for e in page.elements} <= ALLOWED_TAGS
    (turn,) = page.all("p", **{"class": "said"})
    assert turn.own_text == said
    marks = [e for e in walk(turn) if e.tag == "mark"]
    fits = start < end <= len(said)
    assert "".join(m.text for m in marks) == (said[start:end] if fits else "")
    meta = definitions(section(page, "h-meta"))
    assert meta["Learner (pseudonym)"] == (learner or "—")
    assert meta["Scenario"] == (scenario or "—")
    facts = definitions(page.by_id("finding-1"))
    assert facts["Why it matched"] == (detail or "—")
    assert facts["Regulation cited"] == (cite or "—")


def test_provisional_and_retracted_flags_are_listed_but_not_highlighted() -> None:
    at = "2026-03-04T09:00:00Z"
    said = "we guarantee it"

    def flag(finding_id: str, revision: int | None) -> dict[str, object]:
        return {
            "finding_id": finding_id,
            "rule_id": "no-guarantee",
            "severity": "violation",
            "utterance_id": "u1",
            "turn": 1,
            "revision": revision,
            "span": {"start": 3, "end": 12},
            "quote": "guarantee",
            "detail": 'phrase "guarantee"',
        }

    records = [
        payload(1, {"type": "session.started", "learner": "L", "at": at}),
        payload(2, {"type": "flag.raised", "finding": flag("p", 2), "provisional": True}),
        payload(3, {"type": "utterance.final", "utterance_id": "u1", "text": said, "turn": 1}),
        payload(4, {"type": "flag.raised", "finding": flag("f", None), "provisional": False}),
        payload(
            5,
            {
                "type": "flag.retracted",
                "finding_id": "f",
                "rule_id": "no-guarantee",
                "reason": "reviewed: quoting the client",
            },
        ),
    ]
    page = Tree(render_session_report(records, origin=ORIGIN, exported_by="k"))
    (turn,) = page.all("p", **{"class": "said"})
    assert turn.own_text == said and not [e for e in walk(turn) if e.tag == "mark"]
    first, second = definitions(page.by_id("finding-1")), definitions(page.by_id("finding-2"))
    assert first["Status"] == "raised on a partial transcript (revision 2)"
    assert second["Status"] == (
        "raised on the final transcript; retracted: reviewed: quoting the client"
    )


def test_spans_are_not_highlighted_on_erased_text() -> None:
    """After erasure the text reads "[erased]": a span into the erased words must not mark
    characters of the marker."""
    finding = {
        "finding_id": "f",
        "rule_id": "r",
        "severity": "critical",
        "utterance_id": "u1",
        "span": {"start": 1, "end": 6},
        "quote": ERASED_TEXT,
        "detail": "d",
    }
    records = [
        payload(1, {"type": "session.started", "learner": "L"}),
        payload(2, {"type": "utterance.final", "utterance_id": "u1", "text": ERASED_TEXT}),
        payload(3, {"type": "flag.raised", "finding": finding, "provisional": False}),
    ]
    page = Tree(render_session_report(records, origin=ORIGIN, exported_by="k"))
    (turn,) = page.all("p", **{"class": "said"})
    assert turn.own_text == ERASED_TEXT and not [e for e in walk(turn) if e.tag == "mark"]
    assert "text erased since it was recorded" in page.all("p", **{"class": "meta"})[0].text
