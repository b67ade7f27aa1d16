"""A self-contained HTML page per session, for an auditor who does not run Proctor.

The page is one file with inline CSS, no script and no external resource (a Content
Security Policy in the page forbids both, so even a browser that opened it from a hostile
place would load nothing), and plain semantic markup: headings, definition lists, tables
with header cells, `<mark>` for the flagged words. It shows what the records say and
nothing else: metadata, transcript with flags on the exact character spans, findings with
their evidence, the scorecard (blockers first) and how the records were verified.

Every value from a record is escaped on the way out (`_e`); no record text is ever
written into markup unescaped, which the tests check with arbitrary text.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from audit.content import ERASED_TEXT
from audit.report_model import (
    FindingEntry,
    ReportRecord,
    SessionView,
    Utterance,
    integer,
    number,
    span,
    strings,
    summarise,
    text,
)

_SEVERITIES: Final = ("info", "warning", "violation", "critical")

_STYLE: Final = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#111;background:#fff;
margin:0 auto;max-width:60rem;padding:1.5rem;line-height:1.5}
h1,h2,h3{line-height:1.25}
a{color:#0b4f9c}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #767676;padding:.3rem .5rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{background:#e8eef5}
caption{text-align:left;font-weight:600;padding:.25rem 0}
code{font-family:ui-monospace,monospace;font-size:.9em;overflow-wrap:anywhere}
mark{background:#fde68a;color:#111;padding:0 .1em}
mark.sev-critical,mark.sev-violation{background:#fecaca}
.turn{border-left:4px solid #767676;padding:.25rem .75rem;margin:.75rem 0}
.turn.persona{border-left-color:#0b4f9c}
.said{white-space:pre-wrap;margin:.25rem 0}
.meta{color:#333;font-size:.9em;margin:0}
.verdict-passed{color:#0a5c2b;font-weight:700}
.verdict-failed{color:#9b1c1c;font-weight:700}
.finding{border:1px solid #767676;padding:.5rem 1rem;margin:.75rem 0}
blockquote{margin:.25rem 0;padding-left:.75rem;border-left:3px solid #767676}
"""


def render_session_report(
    records: Sequence[ReportRecord],
    *,
    origin: str,
    exported_by: str,
    xapi_link: str | None = None,
    xapi_note: str | None = None,
) -> str:
    """The HTML report of one session from its verified records, in record order.

    `origin` names the log; `exported_by` is the key id that signed the export's manifest
    after every record signature was checked. `xapi_link` is the relative path of the
    session's xAPI statements in the bundle, or `xapi_note` says why there are none.
    Raises `ValueError` if `records` is empty or mixes sessions.
    """
    view = summarise(records)
    return html_page(
        f"Proctor session report: {view.session_id}",
        [
            *_metadata(view, origin, xapi_link, xapi_note),
            *_transcript(view),
            *_findings(view),
            *_scores(view),
            *_objectives_and_checks(view),
            *_verification(view, origin, exported_by),
        ],
    )


def html_page(title: str, body: Sequence[str]) -> str:
    """A complete page: `title` (escaped here) as the title and first heading, then
    `body`, markup the caller has already escaped."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{escape(title)}</h1>",
        *body,
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def escape(value: object) -> str:
    """Escape any value for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


_e = escape


def _or_dash(value: object) -> str:
    return "—" if value is None or value == "" else _e(value)


def _dl(rows: Iterable[tuple[str, str]]) -> list[str]:
    """A definition list; the values are markup the caller has already escaped."""
    return ["<dl>", *(f"<dt>{_e(name)}</dt><dd>{value}</dd>" for name, value in rows), "</dl>"]


def _severity_class(severity: str) -> str:
    return severity if severity in _SEVERITIES else "unknown"


# -- metadata ------------------------------------------------------------------------------


def _metadata(
    view: SessionView, origin: str, xapi_link: str | None, xapi_note: str | None
) -> list[str]:
    rows = [
        ("Session", f"<code>{_e(view.session_id)}</code>"),
        ("Learner (pseudonym)", _or_dash(view.learner)),
        ("Scenario", _or_dash(view.scenario)),
        ("Policy", f"{_or_dash(view.policy_id)}, version {_or_dash(view.policy_version)}"),
        ("Policy digest (SHA-256)", f"<code>{_or_dash(view.policy_digest)}</code>"),
    ]
    if view.knowledge_base is not None:
        digest = view.knowledge_base_digest
        suffix = f" (digest <code>{_e(digest)}</code>)" if digest else ""
        rows.append(("Knowledge base", _e(view.knowledge_base) + suffix))
    rows += [
        ("Started", _or_dash(view.started_at)),
        ("Ended", _or_dash(view.ended_at) if view.ended_at else "not ended in this bundle"),
        ("Outcome", _outcome(view)),
        ("Log origin", _e(origin)),
    ]
    if xapi_link is not None:
        rows.append(("xAPI statements", f'<a href="{_e(xapi_link)}">{_e(xapi_link)}</a>'))
    elif xapi_note is not None:
        rows.append(("xAPI statements", f"none: {_e(xapi_note)}"))
    return [
        '<section aria-labelledby="h-meta">',
        '<h2 id="h-meta">Session</h2>',
        *_dl(rows),
        "</section>",
    ]


def _outcome(view: SessionView) -> str:
    ended = {
        "completed": "completed by the learner",
        "ended_by_policy": "ended by the policy",
        "abandoned": "abandoned",
    }.get(view.end_reason or "", view.end_reason or "still running at export")
    card = view.scorecard
    if card is None:
        return _e(f"{ended}; not scored")
    passed = card.get("passed")
    score, mark = number(card, "score"), number(card, "pass_mark")
    verdict = (
        '<span class="verdict-passed">PASSED</span>'
        if passed is True
        else '<span class="verdict-failed">FAILED</span>'
    )
    return f"{_e(ended)}; {verdict} with score {_score(score)} (pass mark {_score(mark)})"


def _score(value: float | None) -> str:
    return "—" if value is None else _e(f"{value:.2f}")


# -- transcript ------------------------------------------------------------------------------


def _anchors(view: SessionView) -> dict[str, str]:
    """utterance id -> the element id of its turn (record data never becomes an id)."""
    anchors: dict[str, str] = {}
    for index, utterance in enumerate(view.utterances):
        anchors.setdefault(utterance.utterance_id, f"turn-{index + 1}")
    return anchors


def _transcript(view: SessionView) -> list[str]:
    parts = ['<section aria-labelledby="h-transcript">', '<h2 id="h-transcript">Transcript</h2>']
    if not view.utterances:
        parts.append("<p>No utterance was recorded.</p>")
    parts.append(
        "<p>Flagged words are highlighted; the number after them links to the finding.</p>"
    )
    for index, utterance in enumerate(view.utterances):
        parts.append(
            _turn(utterance, f"turn-{index + 1}", view.findings_on(utterance.utterance_id))
        )
    parts.append("</section>")
    return parts


def _turn(utterance: Utterance, anchor: str, findings: list[FindingEntry]) -> str:
    speaker = "persona" if utterance.speaker == "persona" else "learner"
    turn = f"turn {utterance.turn}" if utterance.turn is not None else "turn —"
    details = [turn, f"record seq {utterance.seq}"]
    if utterance.at:
        details.append(utterance.at)
    if utterance.redactions:
        details.append(f"{utterance.redactions} span(s) of personal data masked before recording")
    if utterance.text == ERASED_TEXT:
        details.append("text erased since it was recorded; the record keeps its commitment")
    if utterance.passages:
        details.append("knowledge-base passages used: " + ", ".join(utterance.passages))
    return (
        f'<div class="turn {speaker}" id="{anchor}">'
        f'<p class="meta"><strong>{_e(utterance.speaker.capitalize())}</strong> · '
        f"{_e(' · '.join(details))}</p>"
        f'<p class="said">{_marked(utterance.text, findings)}</p>'
        "</div>"
    )


def _fits(finding: FindingEntry, length: int) -> bool:
    return finding.span is not None and finding.span[0] < finding.span[1] <= length


def _marked(said: str, findings: list[FindingEntry]) -> str:
    """`said` escaped, with each finding's span in `<mark>` and a numbered link after it.

    Spans may overlap (two rules on the same words): the text is cut at every span
    boundary and each piece is marked if any finding covers it, so no markup nests badly.
    """
    if said == ERASED_TEXT:  # spans indexed the erased words; they would mark the marker
        return _e(said)
    usable = [f for f in findings if _fits(f, len(said))]
    cuts = sorted({0, len(said)} | {edge for f in usable if f.span for edge in f.span})
    out: list[str] = []
    for start, end in itertools.pairwise(cuts):
        covering = [f for f in usable if f.span and f.span[0] <= start and end <= f.span[1]]
        piece = _e(said[start:end])
        if covering:
            worst = max(covering, key=lambda f: _rank(f.severity))
            label = ", ".join(f"finding {f.number}: {f.rule_id}" for f in covering)
            out.append(
                f'<mark class="sev-{_severity_class(worst.severity)}" title="{_e(label)}">'
                f"{piece}</mark>"
            )
        else:
            out.append(piece)
        for finding in usable:
            if finding.span and finding.span[1] == end:
                out.append(
                    f'<sup><a href="#finding-{finding.number}" '
                    f'aria-label="finding {finding.number}">[{finding.number}]</a></sup>'
                )
    return "".join(out)


def _rank(severity: str) -> int:
    return _SEVERITIES.index(severity) if severity in _SEVERITIES else -1


# -- findings --------------------------------------------------------------------------------


def _findings(view: SessionView) -> list[str]:
    parts = ['<section aria-labelledby="h-findings">', '<h2 id="h-findings">Findings</h2>']
    if not view.findings:
        parts.append("<p>No rule was breached: no flag was raised in this session.</p>")
    anchors = _anchors(view)
    lengths = {u.utterance_id: len(u.text) for u in view.utterances}
    parts.append("<ol>")
    for finding in view.findings:
        parts.append(_finding(finding, anchors, lengths))
    parts.append("</ol>")
    unlinked = [e for e in view.escalations if not strings(e.get("finding_ids"))]
    if unlinked:
        parts.append("<h3>Escalations not tied to a single finding</h3>")
        parts.append("<ul>" + "".join(f"<li>{_escalation(e)}</li>" for e in unlinked) + "</ul>")
    parts.append("</section>")
    return parts


def _finding(finding: FindingEntry, anchors: Mapping[str, str], lengths: Mapping[str, int]) -> str:
    where = f"turn {finding.turn}" if finding.turn is not None else "session level"
    anchor = anchors.get(finding.utterance_id or "")
    where = f'<a href="#{anchor}">{_e(where)}</a>' if anchor is not None else _e(where)
    status = "raised on the final transcript"
    if finding.provisional:
        status = f"raised on a partial transcript (revision {_or_dash(finding.revision)})"
    if finding.retracted is not None:
        status += f"; retracted: {finding.retracted}"
    rows: list[tuple[str, str]] = [
        (
            "Rule",
            f"<code>{_e(finding.rule_id)}</code>"
            + (f" ({_e(finding.rule_kind)})" if finding.rule_kind else ""),
        ),
        ("Severity", _e(finding.severity)),
        ("Where", where),
        ("Status", _e(status)),
        ("Matched text", _or_dash(finding.quote)),
        ("Why it matched", _or_dash(finding.detail)),
        ("Regulation cited", _or_dash(finding.cite)),
    ]
    length = lengths.get(finding.utterance_id or "")
    if finding.span is not None:
        start, end = finding.span
        note = f"characters {start} to {end}"
        if length is not None and not _fits(finding, length):
            note += f" (outside the recorded text of {length} characters: not highlighted)"
        rows.append(("Span", _e(note)))
    if finding.passage is not None:
        passage = finding.passage
        source = ", ".join(
            part
            for part in (
                passage.document,
                passage.section,
                passage.chunk_id and f"chunk {passage.chunk_id}",
            )
            if part
        )
        quote = f"<blockquote>{_e(passage.quote)}</blockquote>" if passage.quote else ""
        rows.append(("Knowledge-base passage", _or_dash(source) + quote))
    if finding.actions:
        rows.append(("Actions", _e(", ".join(finding.actions))))
    if finding.coaching:
        rows.append(("Coaching shown", "<br>".join(_e(hint) for hint in finding.coaching)))
    if finding.escalations:
        rows.append(("Escalations", "<br>".join(_escalation(e) for e in finding.escalations)))
    else:
        rows.append(("Escalations", "none"))
    rows.append(("Record", _e(f"seq {finding.seq}, finding id {finding.finding_id}")))
    return (
        f'<li id="finding-{finding.number}" class="finding">'
        f"<h3>Finding {finding.number}: {_e(finding.rule_id)} ({_e(finding.severity)})</h3>"
        + "".join(_dl(rows))
        + "</li>"
    )


def _escalation(event: Mapping[str, Any]) -> str:
    channels = ", ".join(strings(event.get("channels"))) or "no channel"
    parts = [
        f"{text(event, 'trigger') or 'escalation'}",
        f"severity {text(event, 'severity') or '—'}",
        f"notified: {channels}",
    ]
    if event.get("ends_session") is True:
        parts.append("ended the session")
    if event.get("review") is True:
        parts.append("sent for human review")
    if text(event, "at"):
        parts.append(f"at {text(event, 'at')}")
    return _e("; ".join(parts))


# -- scores ----------------------------------------------------------------------------------


_EVIDENCE_HEADERS: Final = ("Rule", "Outcome", "Turn", "Text", "Note")


def _scores(view: SessionView) -> list[str]:
    parts = ['<section aria-labelledby="h-scores">', '<h2 id="h-scores">Scores</h2>']
    card = view.scorecard
    if card is None:
        parts.append("<p>The session was not scored (no score.computed record).</p>")
        parts.append("</section>")
        return parts
    parts.append(f"<p>{_outcome(view)}.</p>")
    blockers = _items(card.get("blockers_breached"))
    parts.append("<h3>Blockers</h3>")
    if blockers:
        parts.append(
            "<p>A breach of a blocker rule fails the session whatever the score.</p>"
            + _evidence_table("Blocker rules breached", blockers)
        )
    else:
        parts.append("<p>No blocker rule was breached.</p>")
    parts.append("<h3>Criteria</h3>")
    criteria = _items(card.get("criteria"))
    parts.append(
        "<table><caption>Score per criterion</caption><thead><tr>"
        '<th scope="col">Criterion</th><th scope="col">Weight</th>'
        '<th scope="col">Score</th><th scope="col">Counted</th></tr></thead><tbody>'
    )
    for criterion in criteria:
        name = text(criterion, "id") or "—"
        title = text(criterion, "title")
        label = f"{name} ({title})" if title else name
        counted = "no (not evaluated)" if criterion.get("evaluated") is False else "yes"
        parts.append(
            f"<tr><td>{_e(label)}</td><td>{_score(number(criterion, 'weight'))}</td>"
            f"<td>{_score(number(criterion, 'score'))}</td><td>{counted}</td></tr>"
        )
    parts.append("</tbody></table>")
    for criterion in criteria:
        evidence = _items(criterion.get("evidence"))
        caption = f"Evidence for criterion {text(criterion, 'id') or '—'}"
        parts.append(
            _evidence_table(caption, evidence) if evidence else f"<p>{_e(caption)}: none.</p>"
        )
    reasons = card.get("not_evaluated_reasons")
    reasons = reasons if isinstance(reasons, Mapping) else {}
    not_evaluated = strings(card.get("not_evaluated"))
    if not_evaluated:
        parts.append("<h3>Rules that could not be checked</h3><ul>")
        for rule in not_evaluated:
            why = reasons.get(rule)
            reason = _or_dash(why if isinstance(why, str) else None)
            parts.append(f"<li><code>{_e(rule)}</code>: {reason}</li>")
        parts.append("</ul>")
    parts.append("</section>")
    return parts


def _items(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _evidence_table(caption: str, items: Sequence[Mapping[str, Any]]) -> str:
    head = "".join(f'<th scope="col">{name}</th>' for name in _EVIDENCE_HEADERS)
    rows = []
    for item in items:
        where = span(item.get("span"))
        quote = text(item, "quote")
        shown = quote if quote is not None else ""
        if where is not None:
            shown = f"{shown} (characters {where[0]} to {where[1]})".strip()
        cells = (
            text(item, "rule_id"),
            text(item, "outcome"),
            integer(item, "turn"),
            shown,
            text(item, "note"),
        )
        rows.append("<tr>" + "".join(f"<td>{_or_dash(cell)}</td>" for cell in cells) + "</tr>")
    return (
        f"<table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


# -- objectives and failed checks ------------------------------------------------------------


def _objectives_and_checks(view: SessionView) -> list[str]:
    if not view.objectives and not view.checks_failed:
        return []
    parts = [
        '<section aria-labelledby="h-progress">',
        '<h2 id="h-progress">Objectives and checks</h2>',
    ]
    if view.objectives:
        parts.append("<ul>")
        for event in view.objectives:
            state = "met" if event.get("satisfied") is True else "not met"
            missed = text(event, "missed")
            evidence = event.get("evidence")
            quote = text(evidence, "quote") if isinstance(evidence, Mapping) else None
            line = f"{text(event, 'objective_id') or '—'}: {state}"
            if quote:
                line += f", evidence “{quote}”"
            if missed:
                line += f" ({missed})"
            parts.append(f"<li>{_e(line)}</li>")
        parts.append("</ul>")
    if view.checks_failed:
        parts.append("<h3>Checks that could not run</h3><ul>")
        for event in view.checks_failed:
            blocked = "counted as breached" if event.get("blocked") is True else "not evaluated"
            line = f"{text(event, 'rule_id') or '—'}: {text(event, 'reason') or '—'} ({blocked})"
            parts.append(f"<li>{_e(line)}</li>")
        parts.append("</ul>")
    parts.append("</section>")
    return parts


# -- verification ----------------------------------------------------------------------------


def _verification(view: SessionView, origin: str, exported_by: str) -> list[str]:
    records = view.records
    signers = sorted({keyid for record in records for keyid in record.keyids})
    seqs = [record.payload.seq for record in records]
    session_seqs = [record.payload.session_seq for record in records]
    complete = session_seqs == list(range(len(records)))
    parts = [
        '<section aria-labelledby="h-verification">',
        '<h2 id="h-verification">Verification</h2>',
        *_dl(
            [
                ("Status", _e(f"verified at export by {exported_by}")),
                (
                    "What was checked",
                    _e(
                        "every record's DSSE signature (Ed25519), canonical form and payload, and "
                        "that each record names the SHA-256 digest of the session's previous record"
                    ),
                ),
                ("Signed by key(s)", "<br>".join(f"<code>{_e(k)}</code>" for k in signers)),
                (
                    "Records",
                    _e(
                        f"{len(records)} record(s), log seq {min(seqs)} to {max(seqs)}, "
                        f"session seq {min(session_seqs)} to {max(session_seqs)}"
                        + ("" if complete else " (not the complete session chain)")
                    ),
                ),
                ("Log origin", _e(origin)),
            ]
        ),
        "<p>This page is a view of the records. The evidence is the bundle itself: run "
        "<code>proctor audit verify</code> on it, or any DSSE/securesystemslib verifier with "
        "the public keys in <code>keys/</code>. The digest of a record is the SHA-256 of its "
        "line in <code>log/records.jsonl</code> without the newline.</p>",
        "<table><caption>Records of this session</caption><thead><tr>"
        '<th scope="col">Seq</th><th scope="col">Session seq</th><th scope="col">Event</th>'
        '<th scope="col">Key id</th><th scope="col">Record digest (SHA-256)</th>'
        "</tr></thead><tbody>",
    ]
    for record in records:
        payload = record.payload
        event_type = payload.event.get("type")
        parts.append(
            f"<tr><td>{payload.seq}</td><td>{payload.session_seq}</td>"
            f"<td>{_e(event_type)}</td><td><code>{_e(', '.join(record.keyids))}</code></td>"
            f"<td><code>{_e(record.digest)}</code></td></tr>"
        )
    parts += ["</tbody></table>", "</section>"]
    return parts
