"""YAML documents validated against pydantic models, with errors that point at file:line:column.

Compliance officers edit YAML by hand, so an error must name the place to fix: the file, the
line and column, and the field path (`guardrails[2].match.phrases`). Policies and scenarios are
both loaded through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

FieldPath = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class DocumentIssue:
    """One problem in a document, located as precisely as the YAML allows (1-based)."""

    source: str
    line: int
    column: int
    path: FieldPath
    message: str

    @property
    def field(self) -> str:
        return format_field_path(self.path)

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}" if self.line else self.source
        return f"{where}: {self.field}: {self.message}" if self.path else f"{where}: {self.message}"


class DocumentError(Exception):
    """A document that cannot be accepted; carries every issue found, in document order."""

    def __init__(self, issues: Sequence[DocumentIssue]) -> None:
        self.issues = sorted(issues, key=lambda issue: (issue.line, issue.column))
        super().__init__("\n".join(str(issue) for issue in self.issues))


def too_deep(source: str) -> DocumentIssue:
    """A document nested past what the YAML reader can follow (it raised RecursionError)."""
    return DocumentIssue(source, 1, 1, (), "the YAML is nested too deeply to read")


def format_field_path(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML that still knows where each value came from."""

    source: str
    tree: Any

    def plain(self) -> Any:
        return _to_plain(self.tree)

    def locate(self, path: Sequence[str | int], at_key: bool = False) -> tuple[int, int, FieldPath]:
        """Line, column (1-based) and the part of `path` present in the document.

        Path elements not found in the tree (pydantic's union tags, or a missing field) are
        skipped; a missing field is located at the mapping that should hold it. With `at_key`,
        the last element is located at its key rather than its value (for unknown fields).
        """
        node = self.tree
        line, column = _start_of(node)
        found: list[str | int] = []
        for index, part in enumerate(path):
            last = index == len(path) - 1
            position = _child_position(node, part, at_key and last)
            if position is None:
                continue
            line, column = position
            node = node[part]
            found.append(part)
        return line + 1, column + 1, tuple(found)


def _start_of(node: Any) -> tuple[int, int]:
    if isinstance(node, CommentedMap | CommentedSeq):
        return node.lc.line, node.lc.col
    return 0, 0


def _child_position(node: Any, part: str | int, at_key: bool) -> tuple[int, int] | None:
    if isinstance(node, CommentedMap) and part in node:
        value = node[part]
        if at_key:
            key_line, key_column = node.lc.key(part)
            return key_line, key_column
        if isinstance(value, CommentedMap | CommentedSeq) and len(value) > 0:
            line, column = node.lc.value(part)
            return (line, column) if isinstance(value, CommentedSeq) else node.lc.key(part)
        value_line, value_column = node.lc.value(part)
        return value_line, value_column
    if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
        line, column = node.lc.item(part)
        return line, column
    return None


def _to_plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(key): _to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_to_plain(item) for item in node]
    return node


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Parse one YAML document; syntax errors and duplicate keys become a DocumentError."""
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = error.problem or error.context or "invalid YAML"
        raise DocumentError([DocumentIssue(source, line, column, (), f"YAML: {problem}")]) from None
    except YAMLError as error:
        raise DocumentError([DocumentIssue(source, 1, 1, (), f"YAML: {error}")]) from None
    if not isinstance(tree, CommentedMap):
        found = "an empty file" if tree is None else _yaml_kind(tree)
        issue = DocumentIssue(source, 1, 1, (), f"expected a mapping at the top, found {found}")
        raise DocumentError([issue])
    return YamlDocument(source=source, tree=tree)


def _yaml_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    return f"a single value ({value!r:.40})"


def read_yaml(path: Path) -> YamlDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentError([DocumentIssue(str(path), 0, 0, (), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DocumentError([DocumentIssue(str(path), 0, 0, (), f"cannot read: {error}")]) from None
    return parse_yaml(text, str(path))


def validate_document(model: type[ModelT], document: YamlDocument) -> ModelT:
    """Validate against `model`, turning pydantic's errors into located DocumentIssues."""
    try:
        return model.model_validate(document.plain())
    except ValidationError as error:
        raise DocumentError(list(_issues_from(error, document))) from None


def _issues_from(error: ValidationError, document: YamlDocument) -> Iterable[DocumentIssue]:
    seen: set[tuple[int, int, str]] = set()
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        if detail["type"] == "unknown_rule_kind":
            loc = (*loc, "kind")
        line, column, path = document.locate(loc, at_key=detail["type"] == "extra_forbidden")
        message = describe_error(detail)
        if (line, column, message) in seen:
            continue
        seen.add((line, column, message))
        yield DocumentIssue(document.source, line, column, path, message)


def issues_without_lines(error: ValidationError, data: Any, source: str) -> list[DocumentIssue]:
    """For data that did not come from a file (an API body): field paths, no lines."""
    return [
        DocumentIssue(source, 0, 0, _present_path(data, detail["loc"]), describe_error(detail))
        for detail in error.errors(include_url=False)
    ]


def _present_path(data: Any, loc: Sequence[str | int]) -> FieldPath:
    """The path without pydantic's union tags: elements absent from the data are dropped,
    except a last element (the missing or unknown field itself)."""
    kept: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if present:
            node = node[part]
            kept.append(part)
        elif index == len(loc) - 1:
            kept.append(part)
    return tuple(kept)


def describe_error(detail: Any) -> str:
    kind = detail["type"]
    loc = detail["loc"]
    if kind == "missing":
        return f"required field `{loc[-1]}` is missing"
    if kind == "extra_forbidden":
        return f"unknown field `{loc[-1]}`"
    if kind == "unknown_rule_kind":
        found = detail["input"].get("kind") if isinstance(detail["input"], dict) else None
        return f"unknown rule kind {found!r}; {detail['msg'].removeprefix('unknown rule kind; ')}"
    message: str = detail["msg"]
    return message.removeprefix("Value error, ")


def located_issue(document: YamlDocument, path: FieldPath, message: str) -> DocumentIssue:
    line, column, found = document.locate(path)
    return DocumentIssue(document.source, line, column, found, message)
