"""Ingesting every format, corrupt files, idempotent re-ingest and replacement, digests."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge_base import KnowledgeBase, KnowledgeBaseError, Passage, SkippedFile
from knowledge_base.loaders import load_document
from tests.knowledge_base.conftest import CountingEmbedder
from tests.knowledge_base.pdf_files import minimal_pdf

OpenKb = Callable[..., KnowledgeBase]

MARKDOWN = """# Zorvane (zorvanide) capsules

Zorvane is a fictional antihistamine used only in tests.

## Dosage

Adults take one 10 mg capsule each morning, with or without food.

## Interactions

Alcohol increases drowsiness; avoid driving until you know how Zorvane affects you.
"""
HTML = b"""<html><body><h1>Zorvane patient leaflet</h1>
<h2>Pregnancy</h2><p>Ask your doctor before taking Zorvane while breastfeeding.</p>
<script>document.write("tracking pixel")</script></body></html>"""
CSV = b"strength,pack size,price\n10 mg,30 capsules,4.20 GBP\n20 mg,30 capsules,6.80 GBP\n"
TEXT = b"Zorvane capsules are manufactured in Leeds by a fictional company.\n"
PDF_PAGES = [
    ["Storage and handling", "Keep Zorvane capsules in the original blister below 25 degrees."],
    ["Overdose", "In case of overdose, contact a poison information centre at once."],
]


def write_sources(folder: Path) -> Path:
    (folder / "leaflets").mkdir(parents=True)
    (folder / "zorvane.md").write_text(MARKDOWN)
    (folder / "leaflets" / "patient.html").write_bytes(HTML)
    (folder / "prices.csv").write_bytes(CSV)
    (folder / "about.txt").write_bytes(TEXT)
    (folder / "leaflets" / "storage.pdf").write_bytes(minimal_pdf(PDF_PAGES))
    (folder / ".hidden.md").write_text("# secret\n\nnot a document")
    return folder


def add_corrupt_files(folder: Path) -> None:
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n\x00garbage that is not a PDF at all\n%%EOF")
    (folder / "latin1.txt").write_bytes("Pr\u00fcfung".encode("latin-1"))
    (folder / "report.docx").write_bytes(b"PK\x03\x04 not really a docx")


def top(kb: KnowledgeBase, question: str) -> Passage:
    return kb.search(question, k=1)[0]


def test_every_format_is_ingested_and_searchable(tmp_path: Path, open_kb: OpenKb) -> None:
    source = write_sources(tmp_path / "src")
    kb = open_kb()
    report = kb.ingest(source)
    assert report.skipped == []
    assert (report.documents_added, report.documents_replaced) == (5, 0)
    documents = {passage.document for passage in kb.passages()}
    assert documents == {
        "about.txt",
        "leaflets/patient.html",
        "leaflets/storage.pdf",
        "prices.csv",
        "zorvane.md",
    }
    assert report.chunks_added == len(kb) == len(kb.passages())

    pdf = top(kb, "how should the capsules be stored?")
    assert (pdf.document, pdf.section) == ("leaflets/storage.pdf", "page 1")
    assert "below 25 degrees" in pdf.text
    assert top(kb, "what should I do after an overdose?").section == "page 2"
    html = top(kb, "can I take it when nursing my baby?")
    assert (html.document, html.section) == ("leaflets/patient.html", "Pregnancy")
    assert "tracking pixel" not in " ".join(p.text for p in kb.passages())
    price = top(kb, "what is the price of a pack?")
    assert (price.document, price.section) == ("prices.csv", "prices.csv")
    assert "price: 6.80 GBP" in price.text
    assert top(kb, "where is it made?").document == "about.txt"
    dose = top(kb, "what's the adult dose")
    assert (dose.document, dose.section) == ("zorvane.md", "Dosage")


def test_passages_carry_provenance_that_points_into_the_extracted_text(
    tmp_path: Path, open_kb: OpenKb
) -> None:
    import hashlib

    source = write_sources(tmp_path / "src")
    kb = open_kb()
    kb.ingest(source)
    passages = kb.passages()
    assert [(p.document, p.start) for p in passages] == sorted(
        (p.document, p.start) for p in passages
    )
    for passage in passages:
        extracted = load_document((source / passage.document).read_bytes(), passage.document)
        assert extracted.text[passage.start : passage.end] == passage.text
        assert passage.content_sha256 == hashlib.sha256(passage.text.encode()).hexdigest()
        document_id = hashlib.sha256(passage.document.encode()).hexdigest()
        assert passage.chunk_id.startswith(f"{document_id}#")
        assert passage.knowledge_base == "test-kb"
        assert passage.score == 0.0
    result = kb.search("Alcohol and driving", k=2)
    assert result[0].section == "Interactions"
    assert 1.0 >= result[0].score > result[1].score > 0.0


def test_corrupt_and_unsupported_files_are_reported_and_the_rest_ingested(
    tmp_path: Path, open_kb: OpenKb
) -> None:
    source = write_sources(tmp_path / "src")
    add_corrupt_files(source)
    report = open_kb().ingest(source)
    assert report.documents_added == 5
    skipped = {item.path: item.reason for item in report.skipped}
    assert set(skipped) == {"broken.pdf", "latin1.txt", "report.docx"}
    assert skipped["broken.pdf"].startswith("not a readable PDF")
    assert skipped["latin1.txt"] == "not valid utf-8 text (byte 0xfc at offset 2)"
    assert skipped["report.docx"].startswith("unsupported file type '.docx'")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files whatever their permissions")
def test_an_unreadable_file_is_reported(tmp_path: Path, open_kb: OpenKb) -> None:
    source = write_sources(tmp_path / "src")
    (source / "about.txt").chmod(0)
    report = open_kb().ingest(source)
    assert report.skipped == [SkippedFile("about.txt", "cannot read: Permission denied")]


def test_re_ingesting_unchanged_files_is_a_no_op_without_embedding(
    tmp_path: Path, open_kb: OpenKb, counting: CountingEmbedder
) -> None:
    source = write_sources(tmp_path / "src")
    kb = open_kb(embedder_=counting)
    first = kb.ingest(source)
    embedded = len(counting.texts)
    assert embedded == first.chunks_added > 0
    assert len(counting.calls) == first.documents_added

    again = open_kb(embedder_=counting).ingest(source)  # a fresh opening, same store
    assert (again.documents_added, again.documents_replaced, again.documents_unchanged) == (0, 0, 5)
    assert (again.chunks_added, again.chunks_removed) == (0, 0)
    assert again.digest == first.digest
    assert len(counting.texts) == embedded, "nothing may be embedded again"


def test_a_changed_file_replaces_its_chunks(
    tmp_path: Path, open_kb: OpenKb, counting: CountingEmbedder
) -> None:
    source = write_sources(tmp_path / "src")
    kb = open_kb(embedder_=counting)
    first = kb.ingest(source)
    before = {p.chunk_id: p for p in kb.passages() if p.document == "zorvane.md"}
    assert len(before) == 3

    (source / "zorvane.md").write_text(
        "# Zorvane\n\n## Dosage\n\nChildren over 12 take 5 mg at night.\n"
    )
    counting.calls.clear()
    report = kb.ingest(source)
    assert (report.documents_added, report.documents_replaced, report.documents_unchanged) == (
        0,
        1,
        4,
    )
    assert (report.chunks_removed, report.chunks_added) == (3, 1)
    assert len(counting.calls) == 1, "only the changed document is embedded"
    assert len(kb) == first.chunks_added - 3 + 1
    after = [p for p in kb.passages() if p.document == "zorvane.md"]
    assert [p.text for p in after] == [
        "# Zorvane\n\n## Dosage\n\nChildren over 12 take 5 mg at night."
    ]
    everything = " ".join(p.text for p in kb.passages())
    assert "10 mg capsule each morning" not in everything
    assert "Alcohol increases drowsiness" not in everything
    assert report.digest != first.digest
    assert top(kb, "dose for children").text == after[0].text

    (source / "zorvane.md").write_text(MARKDOWN)  # back to the original content
    restored = kb.ingest(source)
    assert restored.digest == first.digest


def test_digest_is_independent_of_ingest_order_and_of_the_knowledge_base_name(
    tmp_path: Path, open_kb: OpenKb
) -> None:
    source = write_sources(tmp_path / "src")
    whole = open_kb("whole").ingest(source)
    piecewise = open_kb("piecewise")
    piecewise.ingest(source / "zorvane.md")  # a single file is named by its file name
    piecewise.ingest(source)
    assert piecewise.digest == whole.digest
    empty = open_kb("never-ingested")
    assert empty.digest != whole.digest and len(empty) == 0 and empty.passages() == []


def test_a_single_file_can_be_ingested(tmp_path: Path, open_kb: OpenKb) -> None:
    source = write_sources(tmp_path / "src")
    report = open_kb().ingest(source / "leaflets" / "storage.pdf")
    assert report.documents_added == 1
    assert report.chunks_added == 2  # one chunk per page


def test_user_errors_are_knowledge_base_errors(tmp_path: Path, open_kb: OpenKb) -> None:
    with pytest.raises(KnowledgeBaseError, match="invalid knowledge-base name 'Velmora_Label'"):
        open_kb("Velmora_Label")
    for bad in ("ab", "-abc", "abc-", "a" * 64, "x y z"):
        with pytest.raises(KnowledgeBaseError, match="invalid knowledge-base name"):
            open_kb(bad)
    kb = open_kb("missing-kb")
    with pytest.raises(KnowledgeBaseError, match="'missing-kb' does not exist; create it with"):
        kb.search("anything")
    with pytest.raises(KnowledgeBaseError, match="no such file or directory"):
        kb.ingest(tmp_path / "nowhere")
    with pytest.raises(KnowledgeBaseError, match="empty"):
        kb.search("   ")
    with pytest.raises(KnowledgeBaseError, match="k must be at least 1"):
        kb.search("dose", k=0)


def test_a_dangling_symlink_is_reported_not_fatal(tmp_path: Path, open_kb: OpenKb) -> None:
    source = write_sources(tmp_path / "src")
    (source / "moved.md").symlink_to(source / "no-longer-here.md")
    report = open_kb().ingest(source)
    assert report.skipped == [SkippedFile("moved.md", "cannot read: No such file or directory")]
    assert report.documents_added == 5


def test_a_foreign_collection_of_the_same_name_is_refused(open_kb: OpenKb) -> None:
    kb = open_kb("shared-name")
    kb.store.client.create_collection("shared-name", embedding_function=None)
    with pytest.raises(KnowledgeBaseError, match="exists but is not a Proctor knowledge base"):
        kb.search("dose")
