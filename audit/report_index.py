"""``report/index.html``: the table of contents of an export bundle's session reports.

An auditor opening a bundle starts here: one row per session in the bundle, in the order
its first record appears, with the learner pseudonym, policy, times and outcome, and a link
to the session's report and xAPI statements, or the reason there is none (the session
began before the exported range, or a record failed to verify at export).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from audit.report import escape, html_page
from audit.report_model import ReportRecord, number, summarise


@dataclass(slots=True)
class IndexRow:
    """What the index says about one session."""

    session_id: str
    learner: str | None = None
    policy: str | None = None
    started_at: str | None = None
    outcome: str | None = None
    report: str | None = None  # bundle path of the HTML report
    xapi: str | None = None  # bundle path of the xAPI statements
    note: str | None = None  # why there is no report

    def fill_from(self, records: Sequence[ReportRecord]) -> None:
        """Take learner, policy, start and outcome from the session's records."""
        view = summarise(records)
        self.learner = view.learner
        self.policy = f"{view.policy_id} v{view.policy_version}"
        self.started_at = view.started_at
        outcome = view.end_reason or "not ended in this bundle"
        card = view.scorecard
        if card is not None:
            verdict = "passed" if card.get("passed") is True else "failed"
            score = number(card, "score")
            outcome += f", {verdict}" + (f" ({score:.2f})" if score is not None else "")
        self.outcome = outcome


def render_index(rows: Sequence[IndexRow], *, origin: str) -> str:
    """The index page for `rows` (every session of the bundle)."""
    head = "".join(
        f'<th scope="col">{name}</th>'
        for name in ("Session", "Learner", "Policy", "Started", "Outcome", "Files")
    )
    body = []
    for row in rows:
        files = []
        if row.report is not None:
            files.append(f'<a href="{escape(_relative(row.report))}">report</a>')
        if row.xapi is not None:
            files.append(f'<a href="{escape(_relative(row.xapi))}">xAPI</a>')
        if row.note is not None:
            files.append(escape(row.note))
        cells = [
            f"<code>{escape(row.session_id)}</code>",
            *(escape(v) if v else "—" for v in (row.learner, row.policy, row.started_at)),
            escape(row.outcome) if row.outcome else "—",
            "<br>".join(files) or "—",
        ]
        body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return html_page(
        "Proctor evidence bundle: sessions",
        [
            f"<p>Log origin: {escape(origin)}. Each report is a view of the signed records "
            "in <code>log/records.jsonl</code>; verify the bundle with "
            "<code>proctor audit verify</code>.</p>",
            f"<table><caption>{len(rows)} session(s) in this bundle</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>",
        ],
    )


def _relative(bundle_path: str) -> str:
    """A bundle path as a link from report/index.html."""
    return (
        bundle_path.removeprefix("report/")
        if bundle_path.startswith("report/")
        else ("../" + bundle_path)
    )
