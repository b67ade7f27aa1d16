"""Each loader turns its format into text plus section starts; bad files become a reason."""

from __future__ import annotations

import io

import pytest

from knowledge_base.extracted import Heading
from knowledge_base.loaders import UnreadableDocument, load_document
from tests.knowledge_base.pdf_files import minimal_pdf


def titles(headings: tuple[Heading, ...]) -> list[tuple[int, str]]:
    return [(heading.level, heading.title) for heading in headings]


def test_markdown_keeps_the_file_text_and_finds_atx_and_setext_headings() -> None:
    source = (
        "# Guide\n\nIntro.\n\n## Risk ##\n\nText.\n\n```\n# not a heading\n```\n\n"
        "Currency\n--------\n\nFX text.\n\n- item\n---\n"
    )
    extracted = load_document(source.encode(), "guide.md")
    assert extracted.text == source
    assert titles(extracted.headings) == [(1, "Guide"), (2, "Risk"), (2, "Currency")]
    for heading in extracted.headings:
        assert heading.title in extracted.text[heading.start : heading.end]


def test_markdown_normalises_windows_line_endings_and_drops_a_bom() -> None:
    extracted = load_document(b"\xef\xbb\xbf# T\r\n\r\nBody\r\n", "a.md")
    assert extracted.text == "# T\n\nBody\n"


def test_text_is_strict_utf8() -> None:
    text = "Dosis: 40 mg \u2013 t\u00e4glich"
    assert load_document(text.encode(), "a.txt").text == text
    with pytest.raises(UnreadableDocument, match=r"not valid utf-8 text \(byte 0xff at offset 3\)"):
        load_document(b"abc\xff\xfe", "a.txt")
    with pytest.raises(UnreadableDocument, match="binary"):
        load_document(b"abc\x00def", "a.txt")


def test_html_text_headings_lists_tables_and_no_scripts() -> None:
    page = b"""<!doctype html><html><head><title>T</title><style>p{color:red}</style>
    <script>var secret = "do not index";</script></head><body>
    <h1>Zorvane</h1><p>Take   it
    <b>with</b> food.</p>
    <h2>Side &amp; effects</h2>
    <ul><li>nausea</li><li>headache</li></ul>
    <table><tr><th>dose</th><th>times</th></tr>
      <tr> <td>5 mg</td> <td>twice</td> </tr></table>
    <h3>Rare</h3><p>Rash.<br>Itching.</p>
    </body></html>"""
    extracted = load_document(page, "z.html")
    assert extracted.text == (
        "Zorvane\n\nTake it with food.\n\nSide & effects\n\nnausea\nheadache\n\n"
        "dose | times\n5 mg | twice\n\nRare\n\nRash.\nItching."
    )
    assert titles(extracted.headings) == [(1, "Zorvane"), (2, "Side & effects"), (3, "Rare")]
    for heading in extracted.headings:
        assert extracted.text[heading.start : heading.end] == heading.title


def test_html_honours_a_declared_charset() -> None:
    page = '<meta charset="iso-8859-1"><p>Prüfung</p>'.encode("latin-1")
    assert load_document(page, "a.htm").text == "Prüfung"


def test_pdf_pages_become_sections() -> None:
    data = minimal_pdf([["Storage", "Keep below 25 degrees."], ["Overdose", "Call a centre."]])
    extracted = load_document(data, "leaflet.pdf")
    assert extracted.text == "Storage\nKeep below 25 degrees.\n\nOverdose\nCall a centre."
    assert titles(extracted.headings) == [(1, "page 1"), (1, "page 2")]
    assert extracted.headings[1].start == extracted.text.index("Overdose")


def test_pdf_outline_entries_become_the_sections() -> None:
    from pypdf import PdfReader, PdfWriter

    data = minimal_pdf([["Storage", "Keep below 25 degrees."], ["Overdose", "Call a centre."]])
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(data)))
    parent = writer.add_outline_item(title="Handling", page_number=0)
    writer.add_outline_item(title="Storage", page_number=0, parent=parent)
    writer.add_outline_item(title="Overdose", page_number=1)
    buffer = io.BytesIO()
    writer.write(buffer)
    extracted = load_document(buffer.getvalue(), "leaflet.pdf")
    assert titles(extracted.headings) == [(1, "Handling"), (2, "Storage"), (1, "Overdose")]
    overdose = extracted.headings[2]
    assert extracted.text[overdose.start : overdose.end] == "Overdose"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.4\n this is not really a pdf \x00\x01", "not a readable PDF"),
        (b"", "not a readable PDF"),
        (minimal_pdf([[]]), "no extractable text"),
    ],
)
def test_bad_pdfs_are_reported(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocument, match=reason):
        load_document(data, "bad.pdf")


def test_csv_rows_become_labelled_lines_under_the_file_name() -> None:
    data = b'product,dose,note\nVelmora,40 mg,"start here,\n then titrate"\nVelmora,80 mg,\n'
    extracted = load_document(data, "tables/doses.csv")
    assert extracted.text == (
        "product: Velmora; dose: 40 mg; note: start here, then titrate\n"
        "product: Velmora; dose: 80 mg"
    )
    assert titles(extracted.headings) == [(1, "doses.csv")]


def test_csv_with_semicolons_is_sniffed() -> None:
    extracted = load_document(b"year;fund\n2021;14.2%\n2022;-11.8%\n", "perf.csv")
    assert extracted.text == "year: 2021; fund: 14.2%\nyear: 2022; fund: -11.8%"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("report.docx", b"PK\x03\x04", "unsupported file type '.docx'"),
        ("README", b"text", "unsupported file type '(none)'"),
        ("empty.md", b"  \n\n", "no text to ingest"),
        ("header-only.csv", b"a,b\n", "no text to ingest"),
    ],
)
def test_unsupported_and_empty_files_are_reported(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocument, match=reason.replace("(", r"\(").replace(")", r"\)")):
        load_document(data, name)
