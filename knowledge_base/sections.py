"""Heading structure to section spans with a heading path.

A document's single top-level heading is its title, not a section: the label's
"## Adverse reactions" is the section "Adverse reactions", not "Velmora ... > Adverse
reactions". The title still names the text directly under it. A heading with nothing under it
before the next heading (a chapter heading straight above its first subsection) is folded into
the following section, so no chunk consists of a bare heading.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from knowledge_base.extracted import ExtractedText, Heading

PATH_SEPARATOR = " > "


@dataclass(frozen=True)
class Section:
    start: int
    end: int
    path: str
    heading_end: int  # end of the heading's own text; == start if it has none in the text


def sections(extracted: ExtractedText) -> list[Section]:
    text = extracted.text
    headings = sorted(extracted.headings, key=lambda heading: heading.start)
    title = _title(headings)
    spans: list[Section] = []
    first = headings[0].start if headings else len(text)
    if first > 0:
        spans.append(Section(0, first, "", 0))
    stack: list[Heading] = []
    for index, heading in enumerate(headings):
        end = headings[index + 1].start if index + 1 < len(headings) else len(text)
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        stack.append(heading)
        names = [h.title for h in stack if h is not title] or [heading.title]
        spans.append(Section(heading.start, end, PATH_SEPARATOR.join(names), heading.end))
    return _fold_bare_headings(text, spans)


def _title(headings: list[Heading]) -> Heading | None:
    """The first heading, if it is shallower than every other heading."""
    if headings and all(h.level > headings[0].level for h in headings[1:]):
        return headings[0]
    return None


def _fold_bare_headings(text: str, spans: list[Section]) -> list[Section]:
    folded: list[Section] = []
    carried: int | None = None
    for index, span in enumerate(spans):
        start = span.start if carried is None else carried
        bare = span.heading_end > span.start and not text[span.heading_end : span.end].strip()
        if bare and index + 1 < len(spans):
            carried = start
            continue
        carried = None
        folded.append(replace(span, start=start))
    return folded
