"""`proctor kb ingest|search`: build a knowledge base from approved documents, and query it
the way the persona and the grounding checks will."""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path

from cli.home import ProctorHome
from knowledge_base import IngestReport, KnowledgeBase, KnowledgeBaseError, open_knowledge_base

EXIT_INVALID = 2
KNOWLEDGE_BASES = "knowledge_bases"
WRAP = 88
_STRUCTURED_LINE = re.compile(r"\s*(?:[-*+]\s|\d{1,3}[.)]\s|\|)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="kb_command", required=True)
    ingest = commands.add_parser(
        "ingest",
        help="ingest a folder (recursively) or one file: Markdown, text, HTML, PDF, CSV",
    )
    ingest.add_argument("source", type=Path, metavar="DIR")
    ingest.add_argument("--name", required=True, help="knowledge-base name, e.g. velmora-label")
    ingest.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar even when stderr is not a terminal",
    )
    _chroma_option(ingest)
    search = commands.add_parser("search", help="print the passages that best match a question")
    search.add_argument("name", help="knowledge-base name")
    search.add_argument("query", help="the question, in quotes")
    search.add_argument("-k", type=int, default=3, help="number of passages (default 3)")
    _chroma_option(search)


def _chroma_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chroma-url",
        metavar="URL",
        help="use a Chroma server (e.g. http://127.0.0.1:8000) instead of the embedded store",
    )


def run(args: argparse.Namespace) -> int:
    try:
        if args.kb_command == "ingest":
            return _ingest(args)
        return _search(args)
    except KnowledgeBaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID


def _open(name: str, chroma_url: str | None) -> KnowledgeBase:
    home = ProctorHome.from_environment().ensure()
    return open_knowledge_base(name, home.root / KNOWLEDGE_BASES, chroma_url=chroma_url)


def _ingest(args: argparse.Namespace) -> int:
    kb = _open(args.name, args.chroma_url)
    report = kb.ingest(args.source, progress=args.progress or sys.stderr.isatty())
    for line in ingest_summary(kb.name, report, len(kb)):
        print(line)
    if report.documents_ingested == 0:
        found = "no file could be ingested" if report.skipped else "no files found"
        print(f"error: {args.source}: {found}", file=sys.stderr)
        return EXIT_INVALID
    return 0


def ingest_summary(name: str, report: IngestReport, total_chunks: int) -> list[str]:
    lines = [
        f"{name}: {report.documents_ingested} documents ({report.documents_added} added, "
        f"{report.documents_replaced} replaced, {report.documents_unchanged} unchanged)",
        f"chunks: {report.chunks_added} added, {report.chunks_removed} removed, "
        f"{total_chunks} in the knowledge base",
    ]
    if report.skipped:
        lines.append(f"skipped {len(report.skipped)}:")
        lines.extend(f"  {skipped.path}: {skipped.reason}" for skipped in report.skipped)
    lines.append(f"digest: {report.digest}")
    return lines


def _search(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise KnowledgeBaseError(f"-k must be at least 1, not {args.k}")
    if not args.query.strip():
        raise KnowledgeBaseError("the search query is empty")
    kb = _open(args.name, args.chroma_url)
    passages = kb.search(args.query, k=args.k)
    if not passages:
        print(f"{kb.name}: no passages")
    for rank, passage in enumerate(passages, 1):
        where = f"{passage.document} § {passage.section}" if passage.section else passage.document
        print(f"{rank}. score {passage.score:.3f}  {where}  [chars {passage.start}-{passage.end}]")
        print(_indented(passage.text))
        print()
    return 0


def _indented(text: str) -> str:
    """The passage reflowed for a terminal: paragraphs are re-wrapped, but list items and
    table rows keep their own lines."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if out:
            out.append("")
        lines = paragraph.splitlines()
        if not any(_STRUCTURED_LINE.match(line) for line in lines):
            lines = [" ".join(paragraph.split())]
        for line in lines:
            out.extend(textwrap.wrap(line, WRAP, initial_indent="   ", subsequent_indent="   "))
    return "\n".join(out)
