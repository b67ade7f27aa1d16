"""Chunking by structure, and the provenance invariant every chunk must keep."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge_base.chunking import MAX_CHARS, chunk_document
from knowledge_base.extracted import ExtractedText
from knowledge_base.loaders.markdown import load_markdown


def chunks_of(markdown: str, max_chars: int = MAX_CHARS) -> list[tuple[str, str]]:
    extracted = load_markdown(markdown.encode(), "doc.md")
    return [(c.section, c.text) for c in chunk_document(extracted, max_chars)]


def test_sections_follow_the_heading_path_below_the_document_title() -> None:
    doc = (
        "# Fund facts\n\nAbout the fund.\n\n## Risk\n\nMarket risk.\n\n"
        "### Currency\n\nFX risk.\n\n## Charges\n\n0.85% a year.\n"
    )
    assert chunks_of(doc) == [
        ("Fund facts", "# Fund facts\n\nAbout the fund."),
        ("Risk", "## Risk\n\nMarket risk."),
        ("Risk > Currency", "### Currency\n\nFX risk."),
        ("Charges", "## Charges\n\n0.85% a year."),
    ]


def test_several_top_level_headings_are_all_sections_and_preamble_has_none() -> None:
    doc = "Preamble.\n\n# A\n\nalpha\n\n# B\n\nbeta\n"
    assert chunks_of(doc) == [("", "Preamble."), ("A", "# A\n\nalpha"), ("B", "# B\n\nbeta")]


def test_a_heading_with_nothing_under_it_joins_the_next_section() -> None:
    doc = "# Title\n\n## Risk\n\n### Currency\n\nFX risk.\n"
    assert chunks_of(doc) == [("Risk > Currency", doc.strip())]


def test_small_paragraphs_are_packed_and_sections_never_mixed() -> None:
    paragraphs = "\n\n".join(f"Paragraph {i} is short." for i in range(5))
    doc = f"## One\n\n{paragraphs}\n\n## Two\n\nOther.\n"
    chunks = chunks_of(doc)
    assert [section for section, _ in chunks] == ["One", "Two"]
    assert chunks[0][1] == f"## One\n\n{paragraphs}"


def test_long_sections_split_between_paragraphs_into_even_chunks() -> None:
    paragraph = "This sentence is about blood pressure. " * 6  # ~240 characters
    doc = "\n\n".join(paragraph.strip() for _ in range(5))  # ~1,200 characters
    chunks = chunks_of(doc)
    assert len(chunks) == 2
    lengths = [len(text) for _, text in chunks]
    assert max(lengths) <= MAX_CHARS
    assert min(lengths) > 400, lengths  # balanced, not 800 + 400
    assert all(text.endswith("pressure.") for _, text in chunks)


def test_a_long_paragraph_is_cut_between_sentences_not_inside_them() -> None:
    sentences = [f"Sentence number {i} talks about e.g. dosing in adults." for i in range(40)]
    doc = " ".join(sentences)
    chunks = chunks_of(doc)
    assert len(chunks) > 1
    for _, text in chunks:
        assert len(text) <= MAX_CHARS
        assert text.startswith("Sentence number") and text.endswith("adults.")


def test_table_rows_stay_with_their_table_and_are_never_cut() -> None:
    rows = "\n".join(f"| {2000 + i} | {i}.{i}% | {i + 1}.0% |" for i in range(60))
    doc = f"## Past performance\n\nIntro.\n\n| year | fund | benchmark |\n|---|---|---|\n{rows}\n"
    chunks = chunks_of(doc)
    assert len(chunks) > 1
    assert "| year | fund | benchmark |\n|---|---|---|\n| 2000 |" in chunks[0][1]
    for _, text in chunks:
        for line in text.splitlines():
            assert not line.startswith("|") or line.endswith("|"), line


def test_an_unbreakable_run_is_cut_hard_at_the_limit() -> None:
    doc = "x" * 2_000
    chunks = chunks_of(doc, max_chars=800)
    assert [len(text) for _, text in chunks] == [800, 800, 400]


def test_headings_outside_the_text_name_sections_without_appearing_in_them() -> None:
    text = "row one\nrow two"
    from knowledge_base.extracted import Heading

    extracted = ExtractedText(text, (Heading(0, 0, 1, "doses.csv"),))
    [chunk] = chunk_document(extracted)
    assert (chunk.section, chunk.text, chunk.embedding_text) == (
        "doses.csv",
        text,
        "doses.csv\nrow one\nrow two",
    )


# -- properties over random Markdown-ish documents -----------------------------------------------

_WORDS = st.sampled_from(
    ["dose", "Velmora", "mg", "risk", "e.g.", "No.", "fund", "12.5%", "(see", "label)", "vs"]
)
_SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(_WORDS, min_size=1, max_size=30),
    st.sampled_from([".", "!", "?", "", ":"]),
)
_LINE = st.one_of(
    st.builds(lambda s: " ".join(s), st.lists(_SENTENCE, min_size=1, max_size=8)),
    st.builds(lambda level, title: "#" * level + " " + title, st.integers(1, 4), _SENTENCE),
    st.builds(lambda cells: "| " + " | ".join(cells) + " |", st.lists(_SENTENCE, max_size=4)),
    st.builds(lambda item: f"- {item}", _SENTENCE),
    st.just("```"),
    st.just("---"),
    st.text(alphabet=" \t\n", max_size=3),
    st.text(alphabet="x", min_size=100, max_size=1_000),
)
_DOCUMENT = st.builds("\n".join, st.lists(_LINE, max_size=40))


@settings(max_examples=300, deadline=None)
@given(_DOCUMENT, st.sampled_from([80, 200, MAX_CHARS]))
def test_chunks_keep_offsets_cover_all_text_and_are_deterministic(doc: str, limit: int) -> None:
    extracted = load_markdown(doc.encode(), "doc.md")
    chunks = chunk_document(extracted, limit)
    covered = [False] * len(extracted.text)
    previous_end = 0
    for index, chunk in enumerate(chunks):
        assert chunk.index == index
        assert extracted.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert len(chunk.text) <= limit
        assert chunk.start >= previous_end  # in order, no overlap
        previous_end = chunk.end
        for offset in range(chunk.start, chunk.end):
            covered[offset] = True
    missed = [i for i, char in enumerate(extracted.text) if not char.isspace() and not covered[i]]
    assert missed == []
    assert chunk_document(load_markdown(doc.encode(), "doc.md"), limit) == chunks


_PLAIN_SENTENCE = st.builds(
    lambda words, end: " ".join(words).capitalize() + end,
    st.lists(
        st.sampled_from(["dose", "blood", "pressure", "fund", "risk", "12%"]),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([".", "!", "?"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PLAIN_SENTENCE, min_size=1, max_size=60))
def test_sentences_that_fit_are_never_split(sentences: list[str]) -> None:
    doc = " ".join(sentences)  # every sentence is at most ~260 characters
    offsets, position = [], 0
    for sentence in sentences:
        offsets.append((position, position + len(sentence)))
        position += len(sentence) + 1
    sentence_starts = {start for start, _ in offsets}
    sentence_ends = {end for _, end in offsets}
    for chunk in chunk_document(load_markdown(doc.encode(), "doc.md"), 300):
        assert chunk.start in sentence_starts and chunk.end in sentence_ends, chunk.text
