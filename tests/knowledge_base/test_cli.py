"""`proctor kb ingest` and `proctor kb search`, driven through their argument parser."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from cli import kb_cmd
from knowledge_base import Embedder
from tests.knowledge_base.test_ingest import add_corrupt_files, write_sources


def proctor_kb(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="proctor kb")
    kb_cmd.add_arguments(parser)
    code = kb_cmd.run(parser.parse_args(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def _model_loaded_once(embedder: Embedder) -> None:
    """The CLI opens its own embedder; the session fixture has already loaded the model."""


def test_ingest_reports_documents_chunks_skipped_files_and_digest(
    proctor_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_sources(tmp_path / "src")
    add_corrupt_files(source)
    code, out, err = proctor_kb(["ingest", str(source), "--name", "zorvane"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "zorvane: 5 documents (5 added, 0 replaced, 0 unchanged)"
    assert re.fullmatch(r"chunks: (\d+) added, 0 removed, \1 in the knowledge base", lines[1])
    assert lines[2] == "skipped 3:"
    assert lines[3].startswith("  broken.pdf: not a readable PDF")
    assert lines[4] == "  latin1.txt: not valid utf-8 text (byte 0xfc at offset 2)"
    assert lines[5].startswith("  report.docx: unsupported file type '.docx'")
    assert re.fullmatch(r"digest: [0-9a-f]{64}", lines[6])
    assert (proctor_home / "knowledge_bases" / "chroma").is_dir()
    assert err == "", "no progress bar when stderr is not a terminal"

    code, again, _ = proctor_kb(["ingest", str(source), "--name", "zorvane"], capsys)
    assert code == 0
    assert again.splitlines()[0] == "zorvane: 5 documents (0 added, 0 replaced, 5 unchanged)"
    assert again.splitlines()[-1] == lines[6], "same content, same digest"


def test_ingest_progress_bar_on_request(
    proctor_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_sources(tmp_path / "src")
    code, _, err = proctor_kb(["ingest", str(source), "--name", "zorvane", "--progress"], capsys)
    assert code == 0
    assert "ingesting" in err and "5/5" in err


def test_search_prints_rank_score_provenance_and_wrapped_text(
    proctor_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_sources(tmp_path / "src")
    long_paragraph = " ".join(["Zorvane may rarely cause a dry mouth or blurred vision."] * 4)
    (source / "zorvane.md").write_text(
        (source / "zorvane.md").read_text() + f"\n## Rare effects\n\n{long_paragraph}\n"
    )
    assert proctor_kb(["ingest", str(source), "--name", "zorvane"], capsys)[0] == 0
    code, out, err = proctor_kb(
        ["search", "zorvane", "does it cause a dry mouth?", "-k", "2"], capsys
    )
    assert code == 0, err
    lines = out.splitlines()
    header = re.fullmatch(
        r"1\. score (0\.\d{3})  zorvane\.md § Rare effects  \[chars (\d+)-(\d+)\]", lines[0]
    )
    assert header, lines[0]
    start, end = int(header.group(2)), int(header.group(3))
    assert (source / "zorvane.md").read_text()[start:end].startswith("## Rare effects")
    second = next(i for i, line in enumerate(lines) if line.startswith("2. score "))
    body = lines[1:second]
    assert body[:2] == ["   ## Rare effects", ""]
    paragraph = [line for line in body[2:] if line]
    assert len(paragraph) == 3  # ~230 characters re-wrapped to the terminal width
    assert all(len(line) <= 88 and line.startswith("   ") for line in paragraph)
    assert "   Zorvane may rarely cause a dry mouth or blurred vision. Zorvane may" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ingest", "SRC", "--name", "Bad_Name"], "invalid knowledge-base name 'Bad_Name'"),
        (["ingest", "MISSING", "--name", "zorvane"], "no such file or directory"),
        (["search", "no-such-kb", "dose"], "'no-such-kb' does not exist"),
        (["search", "zorvane", "dose", "-k", "0"], "-k must be at least 1"),
        (["search", "zorvane", "  "], "the search query is empty"),
        (["search", "zorvane", "dose", "--chroma-url", "localhost"], "invalid Chroma URL"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    argv: list[str],
    message: str,
    proctor_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = write_sources(tmp_path / "src")
    argv = [str(source) if a == "SRC" else str(tmp_path / a) if a == "MISSING" else a for a in argv]
    code, out, err = proctor_kb(argv, capsys)
    assert code == 2
    assert err.startswith("error: ") and message in err and out == ""
    assert "Traceback" not in err


def test_ingest_of_only_unreadable_files_exits_2(
    proctor_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad"
    source.mkdir()
    add_corrupt_files(source)
    code, out, err = proctor_kb(["ingest", str(source), "--name", "zorvane"], capsys)
    assert code == 2
    assert "skipped 3:" in out
    assert f"error: {source}: no file could be ingested" in err
