"""CSV: every row becomes one line of "column: value; column: value".

Repeating the column name next to each value keeps a row meaningful on its own once it is cut
into a chunk and embedded; a bare "40 mg,once daily" would not retrieve for "what is the dose".
The file name is the section, since a table has no headings of its own.
"""

from __future__ import annotations

import csv
import io
from pathlib import PurePosixPath

from knowledge_base.extracted import ExtractedText, Heading
from knowledge_base.loaders.decoding import decode_text
from knowledge_base.loaders.errors import UnreadableDocument


def load_csv(data: bytes, name: str) -> ExtractedText:
    text = decode_text(data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], ",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [
            [" ".join(cell.split()) for cell in row]
            for row in csv.reader(io.StringIO(text, newline=""), dialect)
        ]
    except csv.Error as error:
        raise UnreadableDocument(f"not a readable CSV file ({error})") from None
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return ExtractedText("")
    header = rows[0]
    lines = [_row_line(header, row) for row in rows[1:]]
    return ExtractedText("\n".join(lines), (Heading(0, 0, 1, PurePosixPath(name).name),))


def _row_line(header: list[str], row: list[str]) -> str:
    cells = []
    for index, value in enumerate(row):
        if value:
            column = header[index] if index < len(header) and header[index] else ""
            cells.append(f"{column or f'column {index + 1}'}: {value}")
    return "; ".join(cells)
