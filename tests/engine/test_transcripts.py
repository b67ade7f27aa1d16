from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.transcripts import TranscriptError, load_transcript
from policies import Speaker


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_plain_format_with_comments_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "t.txt", "# a call\n\ndoctor: Hi: there\nlearner:  Hello  \n")
    lines = load_transcript(path)
    assert [(line.speaker, line.name, line.text, line.line) for line in lines] == [
        (Speaker.persona, "doctor", "Hi: there", 3),
        (Speaker.learner, "learner", "Hello", 4),
    ]


def test_jsonl_format_and_custom_learner_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.jsonl",
        '{"speaker": "rep", "text": "Hi"}\n\n{"speaker": "doc", "text": "Yes"}\n',
    )
    lines = load_transcript(path, learner_speaker="REP")
    assert [line.speaker for line in lines] == [Speaker.learner, Speaker.persona]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("t.txt", "learner: ok\nthis line has no speaker\n", "t.txt:2: expected `speaker: text`"),
        ("t.jsonl", '{"speaker": "learner", "text": "ok"}\n{bad\n', "t.jsonl:2: invalid JSON"),
        ("t.jsonl", '{"speaker": "learner", "text": ""}\n', "t.jsonl:1: field `text` must be"),
        ("t.jsonl", '["learner", "hi"]\n', "t.jsonl:1: expected an object"),
        ("t.txt", "rep: hi\ndoctor: yes\n", "speakers found: doctor, rep"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(TranscriptError, match=message.replace("[", r"\[")):
        load_transcript(write(tmp_path, name, text))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["t.txt", "t.jsonl"]))
def test_any_file_parses_or_raises_transcript_error(
    tmp_path_factory: pytest.TempPathFactory, text: str, name: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_text(text, encoding="utf-8")
    try:
        lines = load_transcript(path)
    except TranscriptError as error:
        assert str(path) in str(error)
    else:
        assert any(line.speaker is Speaker.learner for line in lines)
        assert all(line.text == line.text.strip() and line.text for line in lines)
